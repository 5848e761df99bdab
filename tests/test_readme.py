"""The README's promises: its rule table matches the registry, its commands are the CI's."""

from __future__ import annotations

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
