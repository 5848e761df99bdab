"""``# noqa`` and ``# leaklint: ignore[...]`` comments, with flake8's logical-line semantics.

A comment anywhere on a statement that spans several physical lines covers all of them, as in
flake8. A bare ``# noqa`` silences every code on its lines; ``# noqa: LK301,LK105`` only those.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from typing import Optional, Union

# flake8's own pattern, in spirit: codes separated by commas and/or whitespace.
_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_LEAKLINT_IGNORE = re.compile(r"#\s*leaklint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)

ALL = "ALL"
Codes = Union[frozenset[str], str]


def _parse_codes(text: Optional[str]) -> Codes:
    if not text:
        return ALL
    return frozenset(code.upper() for code in re.split(r"[,\s]+", text.strip()) if code)


def _merge(current: Optional[Codes], new: Codes) -> Codes:
    if current is None:
        return new
    if current == ALL or new == ALL:
        return ALL
    assert isinstance(current, frozenset) and isinstance(new, frozenset)
    return current | new


class Suppressions:
    """Which codes are silenced on which physical line."""

    def __init__(self, source: str, honor_noqa: bool = True) -> None:
        self.by_line: dict[int, Codes] = {}
        comments = list(self._comments(source))
        if not comments:
            return
        spans = self._logical_spans(source)
        for line, text in comments:
            for codes in self._codes_in(text, honor_noqa):
                first, last = spans.get(line, (line, line))
                for covered in range(first, last + 1):
                    self.by_line[covered] = _merge(self.by_line.get(covered), codes)

    @staticmethod
    def _codes_in(comment: str, honor_noqa: bool) -> Iterable[Codes]:
        if honor_noqa:
            match = _NOQA.search(comment)
            if match:
                yield _parse_codes(match.group("codes"))
        match = _LEAKLINT_IGNORE.search(comment)
        if match:
            yield _parse_codes(match.group("codes"))

    @staticmethod
    def _comments(source: str) -> Iterable[tuple[int, str]]:
        if "#" not in source:
            return
        try:
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.COMMENT:
                    yield token.start[0], token.string
        except (tokenize.TokenError, SyntaxError):
            # libcst accepted the file but this Python's tokenizer did not (newer syntax):
            # fall back to plain line matching, which is right for all but strings holding '#'.
            for number, line in enumerate(source.splitlines(), start=1):
                if "#" in line:
                    yield number, line[line.index("#") :]

    @staticmethod
    def _logical_spans(source: str) -> dict[int, tuple[int, int]]:
        spans: dict[int, tuple[int, int]] = {}
        start: Optional[int] = None
        try:
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type in (tokenize.NL, tokenize.COMMENT) and start is None:
                    continue
                if start is None:
                    start = token.start[0]
                if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                    end = token.end[0]
                    for line in range(start, end + 1):
                        spans[line] = (start, end)
                    start = None
        except (tokenize.TokenError, SyntaxError):
            pass
        return spans

    def is_suppressed(self, line: int, code: str) -> bool:
        codes = self.by_line.get(line)
        if codes is None:
            return False
        if codes == ALL:
            return True
        assert isinstance(codes, frozenset)
        return any(code.startswith(prefix) for prefix in codes)
