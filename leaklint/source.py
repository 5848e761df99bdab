"""Reading a file's bytes into text, with a reason when that cannot be done."""

from __future__ import annotations

import io
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
        raise UnreadableSource(f"bad encoding declaration: {exc.msg}", exc.lineno or 1) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = _line_of_offset(data, getattr(exc, "start", None))
        raise UnreadableSource(f"cannot decode as {encoding}: {exc}", line) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceText(text, encoding)


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
