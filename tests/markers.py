"""Read the fixture protocol's markers (``# expect:``, ``# miss:``, ``# fp:``) from a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# A code may carry the confidence it is found at: `# expect: LK301[medium]` (no suffix: high).
_CODE = r"LK\d{3}(?:\[(?:high|medium)\])?"
_MARKER = re.compile(rf"#\s*(expect|miss|fp):\s*({_CODE}(?:\s*,\s*{_CODE})*)")
_CODE_AND_CONFIDENCE = re.compile(r"(LK\d{3})(?:\[(high|medium)\])?")


@dataclass
class Markers:
    expect: set[tuple[int, str]] = field(default_factory=set)
    miss: set[tuple[int, str]] = field(default_factory=set)
    fp: set[tuple[int, str]] = field(default_factory=set)
    # (line, code) of the expect/fp markers found only with `--confidence medium`
    medium: set[tuple[int, str]] = field(default_factory=set)

    @property
    def reported(self) -> set[tuple[int, str]]:
        """What leaklint is expected to report today with `--confidence medium`: the real
        leaks it finds, and the recorded false positives."""
        return self.expect | self.fp

    @property
    def reported_by_default(self) -> set[tuple[int, str]]:
        """What the default selection (`high` only) reports."""
        return self.reported - self.medium


def read_markers(path: Path) -> Markers:
    markers = Markers()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for kind, codes in _MARKER.findall(line):
            for code, confidence in _CODE_AND_CONFIDENCE.findall(codes):
                getattr(markers, kind).add((number, code))
                if confidence == "medium":
                    markers.medium.add((number, code))
    return markers


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("LK*/*.py"))


def rule_code_of(path: Path) -> str:
    return path.parent.name.split("-", 1)[0]
