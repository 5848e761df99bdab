"""The ast first look: which files libcst parses, and that no rule's screen drops a finding."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from markers import FIXTURES, read_markers

from leaklint import engine, registry, screen
from leaklint.engine import check_bytes
from leaklint.screen import Screen
from leaklint.source import UnreadableSource

EVERY_RULE = registry.rule_set(extend_select=registry.off_by_default())
FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    parse = engine._parse

    def counting(text: str, path: str) -> Any:
        parsed.append(path)
        return parse(text, path)

    monkeypatch.setattr(engine, "_parse", counting)
    return parsed


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_rule_with_a_finding_in_a_fixture_may_report_on_it(path: Path) -> None:
    """Soundness on the living examples: a rule that reports (or is known to miss) something
    in a fixture must never be screened out of it."""
    markers = read_markers(path)
    wanted = {code for _, code in markers.reported | markers.miss}
    first_look = Screen(path.read_text(encoding="utf-8"))
    screened_out = {
        rule.CODE for rule in registry.ALL_RULES
        if rule.CODE in wanted and not rule.may_report(first_look)
    }
    assert not screened_out


def test_a_file_no_rule_needs_is_not_parsed_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    source = b"# open(path) in a comment, and a docstring about threads\n\ndef add(a, b):\n" \
             b'    """Thread-safe: open to everyone."""\n    return a + b\n'
    result = check_bytes(source, "plain.py", EVERY_RULE)
    assert result.findings == () and not result.errors
    assert parsed == []


def test_a_file_a_rule_needs_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    source = b"def read(path):\n    return open(path).read()\n"
    result = check_bytes(source, "reader.py", EVERY_RULE)
    assert [f.code for f in result.findings] == ["LK301"]
    assert parsed == ["reader.py"]


def test_a_syntax_error_is_still_reported_with_libcsts_reason() -> None:
    source = "def broken(:\n    pass\n"
    with pytest.raises(UnreadableSource) as libcst_says:
        engine._parse(source, "broken.py")
    result = check_bytes(source.encode(), "broken.py", EVERY_RULE)
    [finding] = result.findings
    assert finding.code == "LK001"
    assert finding.message == f"cannot analyse this file: {libcst_says.value.reason}"
    assert (finding.line, finding.column) == (libcst_says.value.line, libcst_says.value.column)


def test_code_the_running_python_cannot_parse_falls_back_to_libcst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Newer syntax on an older Python: no ast facts, so every rule keeps its text triggers
    and libcst decides."""
    monkeypatch.setattr(screen, "parse_quietly", lambda text: None)
    parsed = _count_parses(monkeypatch)
    source = b"def read(path):\n    return open(path).read()\n"
    result = check_bytes(source, "newer.py", EVERY_RULE)
    assert [f.code for f in result.findings] == ["LK301"]
    assert parsed == ["newer.py"]


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("def f(p):\n    with open(p) as h:\n        return h.read()\n", False),
        ("def f(p):\n    h = open(p)\n    return h.read()\n", True),
        ("from io import open as o\ndef f(p):\n    return o(p).read()\n", True),
        ("import io\nopener = io.open\n", True),
    ],
)
def test_file_rule_screen(source: str, kept: bool) -> None:
    rule = registry.find_rule("LK301")
    assert rule.may_report(Screen(source)) is kept


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("CACHE = {}\ndef get(k):\n    return CACHE.get(k)\n", False),
        ("CACHE = {}\ndef get(k):\n    return k in CACHE or len(CACHE)\n", False),
        ("CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\n", True),
        ("CACHE = []\ndef put(v):\n    CACHE.append(v)\n", True),
        ("CACHE = []\ndef put(v):\n    remember(CACHE, v)\ndef remember(c, v):\n    c.append(v)\n",
         True),
        ("from collections import defaultdict\nD = defaultdict(list)\ndef f(k):\n    D[k]\n", True),
    ],
)
def test_container_rule_screen(source: str, kept: bool) -> None:
    rule = registry.find_rule("LK201")
    assert rule.may_report(Screen(source)) is kept


NUMPY_VIEWS = """
import numpy as np

def first_rows():
    table = np.zeros((1000, 1000))
    return table[:10]

def first_rows_copied():
    table = np.zeros((1000, 1000))
    return table[:10].copy()

def picked_rows():
    table = np.zeros((1000, 1000))
    return table[[1, 2, 3]]

def reshaped_part():
    table = np.ones(10**6)
    square = table.reshape(1000, 1000)
    return square[0:2]

def whole_reshaped():
    table = np.ones(10**6)
    return table.reshape(1000, 1000)
"""


def test_numpy_views_of_large_arrays() -> None:
    """Basic slicing and slices of `reshape` views escape; copies, fancy indexing and views
    of the whole array do not (numpy need not be installed: this is static)."""
    ruleset = registry.rule_set(["LK402"])
    result = check_bytes(textwrap.dedent(NUMPY_VIEWS).encode(), "tables.py", ruleset)
    assert not result.errors
    assert [(f.line, f.code) for f in result.findings] == [(6, "LK402"), (19, "LK402")]
    assert "table[:10].copy()" in result.findings[0].message
