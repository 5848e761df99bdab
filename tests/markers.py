"""Read the fixture protocol's markers (``# expect:``, ``# miss:``, ``# fp:``) from a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

_MARKER = re.compile(r"#\s*(expect|miss|fp):\s*(LK\d{3}(?:\s*,\s*LK\d{3})*)")


@dataclass
class Markers:
    expect: set[tuple[int, str]] = field(default_factory=set)
    miss: set[tuple[int, str]] = field(default_factory=set)
    fp: set[tuple[int, str]] = field(default_factory=set)

    @property
    def reported(self) -> set[tuple[int, str]]:
        """What leaklint is expected to report today: the real leaks it finds, and the
        recorded false positives."""
        return self.expect | self.fp


def read_markers(path: Path) -> Markers:
    markers = Markers()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for kind, codes in _MARKER.findall(line):
            for code in re.split(r"\s*,\s*", codes):
                getattr(markers, kind).add((number, code))
    return markers


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("LK*/*.py"))


def rule_code_of(path: Path) -> str:
    return path.parent.name.split("-", 1)[0]
