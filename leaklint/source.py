"""Reading a file's bytes into text, with a reason when that cannot be done."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Optional


class UnreadableSource(Exception):
    """The file is not Python text we can analyse; the message says why (it becomes LK001)."""

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str


def decode_source(data: bytes) -> SourceText:
    """Decode like the interpreter does: BOM, PEP 263 cookie, UTF-8 by default."""
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise UnreadableSource("file contains a NUL byte (binary file?)", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        first_lines = data.split(b"\n", 2)[:2]
        cookie = next((m for m in map(_COOKIE.search, first_lines) if m), None)
        if cookie is None:  # no declaration: the default, UTF-8, does not fit the bytes
            raise UnreadableSource(f"cannot decode as utf-8: {_first_bad_utf8(data)}") from None
        declared = cookie.group(1).decode("ascii", "replace")
        raise UnreadableSource(f"bad encoding declaration {declared!r}: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = _line_of_offset(data, getattr(exc, "start", None))
        raise UnreadableSource(f"cannot decode as {encoding}: {exc}", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceText(text, encoding)


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _first_bad_utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid byte {data[exc.start]:#04x} on line {_line_of_offset(data, exc.start)}"
    return "invalid encoding"


def _line_of_offset(data: bytes, offset: Optional[int]) -> int:
    return data[:offset].count(b"\n") + 1 if offset is not None else 1


def read_source(path: str) -> SourceText:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise UnreadableSource("is a directory, not a file") from None
    except OSError as exc:
        raise UnreadableSource(f"cannot read file: {exc.strerror or exc}") from None
    return decode_source(data)
