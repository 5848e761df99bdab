"""The text report for people: one line a finding (``concise``), optionally the offending source
lines with a caret under the reported span (``full``), counts per code (``--statistics``), and
colour when a person is reading a terminal.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any, Callable

import click

from leaklint import registry
from leaklint.model import Finding

# Lines of a file, by path; an empty list when the file cannot be read any more.
SourceLines = Callable[[str], Sequence[str]]
_TAB_WIDTH = 4


def colour_wanted(stream: IO[Any], no_color_flag: bool) -> bool:
    """Colour only for a terminal, and never with ``--no-color`` or a non-empty ``NO_COLOR``
    (https://no-color.org)."""
    if no_color_flag or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


class Painter:
    """ANSI styles, or plain text when colour is off."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.colour else text

    def location(self, finding: Finding) -> str:
        separator = self(":", fg="cyan")
        return (
            f"{self(finding.path, bold=True)}{separator}{finding.line}{separator}"
            f"{finding.column}{separator}"
        )

    def code(self, code: str) -> str:
        return self(code, fg="red", bold=True)


def render_concise(findings: Sequence[Finding], paint: Painter) -> str:
    """``path:line:col: CODE message``: flake8's shape, which editors and problem matchers
    already read."""
    return "".join(
        f"{paint.location(f)} {paint.code(f.code)} {f.message}\n" for f in findings
    )


def render_full(findings: Sequence[Finding], paint: Painter, source_lines: SourceLines) -> str:
    """Each finding's line followed by the lines it spans, numbered, with carets under the
    reported columns, as Python shows a traceback's line."""
    blocks = []
    for finding in findings:
        head = f"{paint.location(finding)} {paint.code(finding.code)} {finding.message}\n"
        blocks.append(head + _excerpt(finding, paint, source_lines(finding.path)))
    return "\n".join(blocks)


# A long statement is shown by its first lines only: enough to recognise it.
_MAX_EXCERPT_LINES = 6


def _excerpt(finding: Finding, paint: Painter, lines: Sequence[str]) -> str:
    if not 1 <= finding.line <= len(lines):
        return ""
    last = min(max(finding.end_line, finding.line), len(lines))
    shown = list(range(finding.line, min(last, finding.line + _MAX_EXCERPT_LINES - 1) + 1))
    width = len(str(shown[-1]))
    gutter = paint("|", fg="blue", bold=True)
    out = []
    for number in shown:
        text = lines[number - 1].rstrip("\r\n").expandtabs(_TAB_WIDTH)
        out.append(f"{paint(str(number).rjust(width), fg='blue', bold=True)} {gutter} {text}\n")
        start, end = _underlined_columns(finding, number, lines[number - 1])
        if end > start:
            carets = " " * start + paint("^" * (end - start), fg="red", bold=True)
            out.append(f"{' ' * width} {gutter} {carets}\n")
    if shown[-1] < last:
        out.append(f"{' ' * width} {gutter} ...\n")
    return "".join(out)


def _underlined_columns(finding: Finding, number: int, raw_line: str) -> tuple[int, int]:
    """0-based display columns to underline on line ``number`` of the finding's span; tabs
    expanded as in the shown text. A span that ends where it starts gets one caret."""
    text = raw_line.rstrip("\r\n")
    start = finding.column - 1 if number == finding.line else len(text) - len(text.lstrip())
    end = finding.end_column - 1 if number == finding.end_line else len(text)
    if number == finding.line and (finding.end_line < finding.line or end <= start):
        end = start + 1
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if start == end == len(text):  # a position past the end of the line (a missing ')')
        return len(text.expandtabs(_TAB_WIDTH)), len(text.expandtabs(_TAB_WIDTH)) + 1
    return len(text[:start].expandtabs(_TAB_WIDTH)), len(text[:end].expandtabs(_TAB_WIDTH))


def statistics(findings: Sequence[Finding]) -> list[tuple[str, str, int]]:
    """(code, rule name, count), most frequent first, then by code."""
    counts = Counter(f.code for f in findings)
    names = {rule.CODE: rule.NAME for rule in registry.ALL_RULES}
    names.update({f.code: f.name for f in findings})
    return sorted(((code, names[code], n) for code, n in counts.items()),
                  key=lambda row: (-row[2], row[0]))


def render_statistics(findings: Sequence[Finding], paint: Painter) -> str:
    rows = statistics(findings)
    if not rows:
        return ""
    width = max(len(str(count)) for _, _, count in rows)
    return "".join(
        f"{str(count).rjust(width)}  {paint.code(code)}  {name}\n" for code, name, count in rows
    )


def statistics_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [{"code": code, "name": name, "count": n} for code, name, n in statistics(findings)]
