"""Every fixture, checked by the engine, the CLI and the flake8 plugin against its markers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from markers import FIXTURES, ROOT, fixture_files, read_markers, rule_code_of

from leaklint import registry
from leaklint.engine import check_path
from leaklint.model import Confidence

FILES = fixture_files()

OFF_BY_DEFAULT = registry.off_by_default()
EVERYTHING = registry.rule_set(["LK"], (), OFF_BY_DEFAULT, confidence=Confidence.MEDIUM)
EXTEND = [f"--extend-select={','.join(OFF_BY_DEFAULT)}"] if OFF_BY_DEFAULT else []


def _ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_fixture_markers(path: Path) -> None:
    markers = read_markers(path)
    result = check_path(str(path), EVERYTHING)
    assert not result.errors, result.errors
    found = {(f.line, f.code) for f in result.findings}
    assert found == markers.reported, (
        f"unexpected: {sorted(found - markers.reported)}; "
        f"not found: {sorted(markers.reported - found)}"
    )
    assert not (found & markers.miss), "a `# miss:` line is now found: turn it into `# expect:`"
    medium = {(f.line, f.code) for f in result.findings if f.confidence is Confidence.MEDIUM}
    assert medium == markers.medium, (
        f"found at medium but marked high: {sorted(medium - markers.medium)}; "
        f"marked [medium] but found at high: {sorted(markers.medium - medium)}"
    )


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_fixture_naming(path: Path) -> None:
    """leak_* files prove a leak of their folder's rule; ok_* twins report nothing real."""
    markers = read_markers(path)
    code = rule_code_of(path)
    if path.name.startswith("leak_"):
        assert any(c == code for _, c in markers.expect | markers.miss), "no marker for its rule"
    else:
        assert path.name.startswith("ok_"), "fixture names start with leak_ or ok_"
        assert not markers.expect and not markers.miss
    assert "def main(" in path.read_text(encoding="utf-8"), "fixtures define main()"


def test_every_rule_has_fixtures() -> None:
    folders = {folder.name.split("-", 1)[0]: folder for folder in FIXTURES.iterdir()}
    for rule in registry.ALL_RULES:
        if rule.CODE == "LK001":
            continue
        folder = folders.get(rule.CODE)
        assert folder is not None, f"{rule.CODE} has no fixtures folder"
        assert folder.name == f"{rule.CODE}-{rule.NAME}"
        names = [p.name for p in folder.glob("*.py")]
        assert sum(n.startswith("leak_") for n in names) >= 6, f"{rule.CODE}: < 6 leak files"
        assert sum(n.startswith("ok_") for n in names) >= 6, f"{rule.CODE}: < 6 ok twins"


def _expected_everywhere() -> dict[tuple[str, int, str], None]:
    """What the default (`high`) selection reports on every fixture."""
    expected: dict[tuple[str, int, str], None] = {}
    for path in FILES:
        relative = str(path.relative_to(ROOT))
        for line, code in read_markers(path).reported_by_default:
            expected[(relative, line, code)] = None
    return expected


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ}
    )


def test_cli_end_to_end_on_all_fixtures() -> None:
    completed = _run(
        [sys.executable, "-m", "leaklint", "check", "fixtures", "--format", "json", "--no-cache",
         "--select", "LK", "--jobs", "2", *EXTEND]
    )
    assert completed.returncode == 1, completed.stderr
    found = {(f["path"], f["line"], f["code"]) for f in json.loads(completed.stdout)}
    assert found == set(_expected_everywhere())


def test_flake8_end_to_end_matches_cli() -> None:
    """Parity at `medium`, so that the doubtful shapes are compared too."""
    flake8 = _run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=LK", *EXTEND,
         "--leaklint-confidence=medium", "--format=%(path)s:%(row)d:%(col)d:%(code)s", "fixtures"]
    )
    cli = _run(
        [sys.executable, "-m", "leaklint", "check", "fixtures", "--format", "json", "--no-cache",
         "--select", "LK", "--confidence", "medium", *EXTEND]
    )
    flake8_found = set()
    for line in flake8.stdout.splitlines():
        path, row, col, code = line.rsplit(":", 3)
        flake8_found.add((os.path.normpath(path), int(row), int(col), code))
    cli_found = {
        (os.path.normpath(f["path"]), f["line"], f["column"], f["code"])
        for f in json.loads(cli.stdout)
    }
    assert flake8_found == cli_found, (
        f"flake8 only: {sorted(flake8_found - cli_found)}; "
        f"cli only: {sorted(cli_found - flake8_found)}"
    )
    by_code: dict[str, int] = defaultdict(int)
    for _, _, _, code in cli_found:
        by_code[code] += 1
    assert by_code, "the fixtures produced no findings at all"
