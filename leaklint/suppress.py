"""``# noqa`` and ``# leaklint: ignore[...]`` comments, read exactly as flake8 reads ``noqa``.

The one rule, shared by ``leaklint check`` and (through flake8 itself) the flake8 plugin: a
comment applies to the line a finding is reported on. Lines joined into one token - a
triple-quoted string, a backslash continuation - count as one line, so the comment may be on
any of them. Inside brackets every physical line stands alone, as in flake8: for a call spread
over several lines, the comment goes on its first line, where the finding is reported.

``# noqa`` is matched with flake8's own pattern against the text of that line (so, as in flake8,
``# noqa: LK105`` needs the space after ``#``, codes are case-sensitive prefixes, and a
malformed code list such as ``# noqa:  LK105`` is a bare ``# noqa`` that silences everything).
``# leaklint: ignore[...]`` is leaklint's own and is honoured by both front ends.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Optional

# flake8's NOQA_INLINE_REGEXP (flake8/defaults.py), unchanged: agreement is the point.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_LEAKLINT_IGNORE = re.compile(r"#\s*leaklint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
# Every comment these read names one of these words (case aside).
_MAY_SUPPRESS = re.compile(r"#.*?(?:noqa|leaklint|pylint)", re.IGNORECASE)
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class Suppressions:
    """Which codes the comments silence on which reported line."""

    def __init__(self, source: str, honor_noqa: bool = True) -> None:
        self.honor_noqa = honor_noqa
        # Tokenizing the file (for the joined lines) is its own cost: paid only when some
        # comment may suppress or mark something.
        self.lines = _PHYSICAL_LINE.findall(source) if _MAY_SUPPRESS.search(source) else []
        self.joined = _joined_lines(source) if self.lines else {}

    def _text_of(self, line: int) -> str:
        first, last = self.joined.get(line, (line, line))
        return "".join(self.lines[first - 1 : last])

    def is_suppressed(self, line: int, code: str) -> bool:
        if not self.lines:
            return False
        text = self._text_of(line)
        if "#" not in text:
            return False
        if self.honor_noqa and _noqa_silences(text, code):
            return True
        return _leaklint_ignore_silences(text, code)


    def marks_deliberate(self, line: int, checks: tuple[str, ...]) -> bool:
        """Whether the line silences another linter's check of the same defect (``# noqa:
        RUF006``, ``# pylint: disable=consider-using-with``): its maintainers have looked at
        it and decided it is fine."""
        if not self.lines or not checks:
            return False
        text = self._text_of(line)
        if "#" not in text:
            return False
        listed: list[str] = []
        match = _NOQA.search(text)
        if match is not None and match.group("codes"):
            listed += re.split(r"[,\s]+", match.group("codes"))
        for disable in _PYLINT_DISABLE.finditer(text):
            listed += re.split(r"[,\s]+", disable.group("checks"))
        return any(item.strip() in checks for item in listed)


_PYLINT_DISABLE = re.compile(r"#\s*pylint:\s*disable\s*=\s*(?P<checks>[\w\-]+(?:\s*,\s*[\w\-]+)*)")


def _noqa_silences(text: str, code: str) -> bool:
    """flake8's decision (``Violation.is_inline_ignored``): the first ``# noqa`` on the line
    counts; without codes it silences everything, with codes those codes and their prefixes."""
    match = _NOQA.search(text)
    if match is None:
        return False
    listed = match.group("codes")
    if listed is None:
        return True
    codes = tuple(item for item in re.split(r"[,\s]", listed) if item)
    return code in codes or code.startswith(codes)


def _leaklint_ignore_silences(text: str, code: str) -> bool:
    for match in _LEAKLINT_IGNORE.finditer(text):
        listed = match.group("codes")
        if not listed or not listed.strip():
            return True
        codes = tuple(c.upper() for c in re.split(r"[,\s]+", listed.strip()) if c)
        if code.startswith(codes):
            return True
    return False


def _joined_lines(source: str) -> dict[int, tuple[int, int]]:
    """flake8's noqa line mapping (``FileProcessor._noqa_line_mapping``): the tokens between
    two NL/NEWLINE tokens make one line, spanning from the first token's start line to the last
    one's end line. A file this Python cannot tokenize maps every line to itself."""
    joined: dict[int, tuple[int, int]] = {}
    first: Optional[int] = None
    last = -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first = token.start[0] if first is None else min(first, token.start[0])
            last = max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                if last > first:
                    for line in range(first, last + 1):
                        joined[line] = (first, last)
                first, last = None, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return joined
