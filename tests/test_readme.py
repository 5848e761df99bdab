"""The README's promises: its rule table matches the registry, its commands are the CI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from markers import ROOT

from leaklint.docs import TABLE_END, TABLE_START, rules_section

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_registry() -> None:
    table = README.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert table == rules_section(), "run `python scripts/update_readme.py`"


def test_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:40])
    assert "leaklint check fixtures/" in first_screen
    assert "pip install -e '.[test]' && python -m pytest" in first_screen


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci and "'.[test]'" in ci


def _block_after(marker: str, fence: str) -> str:
    rest = README.split(marker, 1)[1]
    return rest.split(fence, 1)[1].split("\n```", 1)[0]


@pytest.mark.timeout(90)
def test_monitor_example_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(_block_after("<!-- monitor-example -->", "```python\n"), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("leak alarm: threads rose in each of the last 3 samples")
    assert "grew most at: service.py:13 in handle_request" in first
    assert "service.py:13 in handle_request" in done.stdout.split("CREATED AT", 1)[1]


def test_monitor_thresholds_table_shows_the_defaults() -> None:
    from dataclasses import fields

    from leaklint.runtime import Thresholds

    table = README.split("<!-- thresholds-table -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip()
            for line in table.splitlines()[2:]}
    defaults = Thresholds()
    assert set(rows) == {f.name for f in fields(Thresholds)}
    for name, shown in rows.items():
        assert float(shown.split()[0]) == getattr(defaults, name), name
