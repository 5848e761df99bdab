"""LK401's closure analysis: constant folding, escapes, partial uses, and the size option."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from leaklint import registry
from leaklint.analysis.closures import Closures, LargeValues, Outliving, Route
from leaklint.config import ConfigError, settings_from_table
from leaklint.engine import check_bytes
from leaklint.file_context import FileContext


def _large_values(source: str) -> LargeValues:
    text = textwrap.dedent(source)
    return FileContext("snippet.py", text, cst.parse_module(text)).analysis(LargeValues)


def _lines(source: str, options: dict | None = None) -> list[int]:
    ruleset = registry.rule_set(["LK401"], options={"LK401": options or {}})
    result = check_bytes(textwrap.dedent(source).encode(), "snippet.py", ruleset)
    assert not result.errors, result.errors
    return [f.line for f in result.findings]


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("10**6", 10**6),
        ("1 << 20", 1 << 20),
        ("1024 * 1024", 1 << 20),
        ("SIZE // 2", 50),
        ("-(3 - 5)", 2),
        ("1_000", 1000),
    ],
)
def test_fold(expression: str, value: int) -> None:
    values = _large_values("SIZE = 100\n")
    assert values.fold(cst.parse_expression(expression)) == value


def test_fold_gives_up_on_unknowns() -> None:
    values = _large_values("SIZE = 100\nSIZE = 200\n")
    assert values.fold(cst.parse_expression("SIZE")) is None  # rebound: not a constant
    assert values.fold(cst.parse_expression("n * 2")) is None


@pytest.mark.parametrize(
    "allocation",
    [
        "bytearray(1 << 20)",
        "bytes(2 * MIB)",
        "b'x' * MIB",
        "[0] * 10**5",
        "list(range(200_000))",
        "f.read()",
        "json.load(f)",
        "pickle.loads(raw)",
        "pandas.read_csv(p)",
        "numpy.zeros((1000, 1000))",
    ],
)
def test_large_allocations_are_recognised(allocation: str) -> None:
    source = f"""
        import json, pickle, pandas, numpy
        MIB = 1024 * 1024
        def make(f, raw, p):
            data = {allocation}
            return lambda: data[0]
        """
    assert _lines(source) == [6]


@pytest.mark.parametrize("use", ["data[0]", "data[1:4]", "data.shape", "len(data)"])
def test_small_uses(use: str) -> None:
    source = f"""
        def make():
            data = bytearray(10**7)
            return lambda: {use}
        """
    assert _lines(source) == [4]


@pytest.mark.parametrize("use", ["data", "bytes(data)", "data.decode()", "sum(data)"])
def test_whole_uses(use: str) -> None:
    source = f"""
        def make():
            data = bytearray(10**7)
            return lambda: {use}
        """
    assert _lines(source) == []


@pytest.mark.parametrize(
    ("escape", "expected"),
    [
        ("return cb", [5]),
        ("return (cb, 1)", [5]),
        ("self.cb = cb", [5]),
        ("threading.Timer(1, cb)", [5]),
        ("loop.call_later(1, cb)", [5]),
        ("_registry[name] = cb", [5]),
        ("cb()", []),
        ("local = {}; local['x'] = cb", []),
    ],
)
def test_escapes(escape: str, expected: list[int]) -> None:
    source = f"""
        import threading
        def make(self, loop, name):
            data = bytearray(1 << 21)
            def cb():
                return data[0]
            {escape}
        """
    assert _lines(source) == expected


@pytest.mark.parametrize(
    ("escape", "outliving"),
    [
        ("return cb", Outliving(Route.RETURNED)),
        ("self.cb = cb", Outliving(Route.STORED, "self.cb")),
        ("threading.Timer(1, cb)", Outliving(Route.PASSED, "Timer()")),
    ],
)
def test_the_analysis_says_how_a_closure_outlives_its_frame(escape: str,
                                                             outliving: Outliving) -> None:
    source = textwrap.dedent(f"""
        import threading
        def make(self):
            data = bytearray(1 << 21)
            def cb():
                return data[0]
            {escape}
        """)
    context = FileContext("snippet.py", source, cst.parse_module(source))
    (capture,) = context.analysis(Closures).captures
    assert capture.escape == outliving


def test_the_rules_word_every_way_out_of_a_frame() -> None:
    from leaklint.rules.large_capture_closure import OUTLIVING_WORDS

    assert set(OUTLIVING_WORDS) == set(Route)


def test_threshold_option() -> None:
    source = """
        def make():
            data = bytearray(4096)
            return lambda: data[0]
        """
    assert _lines(source) == []
    assert _lines(source, {"min-bytes": 4096}) == [4]


def test_threshold_from_pyproject_table() -> None:
    settings = settings_from_table({"LK401": {"min-bytes": 10, "min-elements": 5}}, ".", "x")
    assert settings.rule_options["LK401"] == {"min-bytes": 10, "min-elements": 5}
    with pytest.raises(ConfigError):
        settings_from_table({"LK401": {"max-size": 10}}, ".", "x")


def test_rebound_local_is_not_large() -> None:
    source = """
        def make(f):
            data = f.read()
            data = data[:10]
            return lambda: data[0]
        """
    assert _lines(source) == []
