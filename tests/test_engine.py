"""The engine: one batched walk, rule isolation, internal errors, LK001, positions."""

from __future__ import annotations

import gc
from pathlib import Path

import libcst as cst
import pytest
from helpers import LEAKY_TASK, run_cli

from leaklint import registry
from leaklint.analysis.scopes import Scopes
from leaklint.engine import RuleSet, check_bytes
from leaklint.rule import Rule


class Exploding(Rule):
    """
    ## What it does
    Raises on every call, to prove that one broken rule cannot stop the others.
    ## Why is this bad?
    -
    ## Example
    -
    ## Use instead
    -
    """

    CODE = "LK998"
    NAME = "exploding"
    MESSAGE = "never"

    def visit_Call(self, node: cst.Call) -> None:
        raise ValueError("boom")


class Recorder(Rule):
    """
    ## What it does
    Records what the walk showed it.
    ## Why is this bad?
    -
    ## Example
    -
    ## Use instead
    -
    """

    CODE = "LK997"
    NAME = "recorder"
    MESSAGE = "call inside {parent}"
    TRIGGERS = ("needle",)

    def visit_Call(self, node: cst.Call) -> None:
        parent = type(self.analysis(Scopes).ancestors(node)[-1]).__name__
        self.report(node, parent=parent)


def test_a_failing_rule_is_isolated() -> None:
    dangling = registry.find_rule("LK105")
    result = check_bytes(LEAKY_TASK.encode(), "x.py", RuleSet((Exploding, dangling)))
    assert [f.code for f in result.findings] == ["LK105"]
    [error] = result.errors
    assert error.rule == "LK998 exploding" and error.path == "x.py"
    assert "ValueError: 'boom'" in error.summary and "Traceback" in error.traceback


class CollectorWatcher(Rule):
    """
    ## What it does
    Records whether the cyclic garbage collector runs while a file is checked.
    ## Why is this bad?
    -
    ## Example
    -
    ## Use instead
    -
    """

    CODE = "LK996"
    NAME = "collector-watcher"
    MESSAGE = "collector enabled: {enabled}"

    def visit_Call(self, node: cst.Call) -> None:
        self.report(node, enabled=gc.isenabled())


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_during_a_check_and_as_it_was_after(enabled: bool) -> None:
    # A check's objects live until the file is done: collections during it free nothing.
    (gc.enable if enabled else gc.disable)()
    try:
        result = check_bytes(b"f()\n", "x.py", RuleSet((CollectorWatcher,)))
        assert [f.message for f in result.findings] == ["collector enabled: False"]
        assert gc.isenabled() is enabled
        check_bytes(b"f(\n", "broken.py", RuleSet((CollectorWatcher,)))
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


class TooDeepOnce(CollectorWatcher):
    """
    ## What it does
    Fails as code nested too deeply would the first time, so the engine retries the file on
    a deep stack.
    ## Why is this bad?
    -
    ## Example
    -
    ## Use instead
    -
    """

    CODE = "LK995"
    NAME = "too-deep-once"
    raised = False

    def visit_Call(self, node: cst.Call) -> None:
        if not TooDeepOnce.raised:
            TooDeepOnce.raised = True
            raise RecursionError("nested too deeply")
        super().visit_Call(node)


def test_the_collector_stays_off_for_the_retry_on_a_deep_stack() -> None:
    result = check_bytes(b"f()\n", "x.py", RuleSet((TooDeepOnce,)))
    assert TooDeepOnce.raised
    assert [f.message for f in result.findings] == ["collector enabled: False"]
    assert gc.isenabled()


def test_triggers_skip_rules_and_ancestors_are_kept() -> None:
    assert check_bytes(b"f(x)\n", "a.py", RuleSet((Recorder,))).findings == ()
    [finding] = check_bytes(b"needle = 1\nf(needle)\n", "a.py", RuleSet((Recorder,))).findings
    assert (finding.line, finding.column, finding.message) == (2, 1, "call inside Expr")


def test_internal_error_exits_2_and_other_files_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "ALL_RULES", (*registry.ALL_RULES, Exploding))
    (tmp_path / "a.py").write_text(LEAKY_TASK)
    (tmp_path / "b.py").write_text(LEAKY_TASK)
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", ".", "--no-cache", "--jobs", "1")
    assert result.exit_code == 2
    assert result.stdout.count("LK105") == 2
    assert "a.py: internal error in LK998 exploding: ValueError: 'boom'" in result.stderr


def test_parse_error_positions_and_selection() -> None:
    everything = RuleSet(registry.select_rules())
    [finding] = check_bytes(b"x = 1\ndef f(:\n", "bad.py", everything).findings
    assert (finding.code, finding.line, finding.column) == ("LK001", 2, 7)
    assert finding.message == "cannot analyse this file: syntax error: invalid syntax"
    # LK001 is a rule like the others: not selected, not reported.
    only_tasks = RuleSet(registry.select_rules(["LK105"]))
    assert check_bytes(b"def f(:\n", "bad.py", only_tasks).findings == ()


def test_libcst_words_when_this_python_compiles_what_libcst_rejects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leaklint import engine

    monkeypatch.setattr(engine, "_python_syntax_error", lambda text, path: None)
    everything = RuleSet(registry.select_rules())
    [finding] = check_bytes(b"x = 1\ndef f(:\n", "bad.py", everything).findings
    assert (finding.code, finding.line) == ("LK001", 2)
    assert "syntax error: expected one of" in finding.message


def test_form_feed_opening_a_block_is_analysed_at_its_own_position() -> None:
    """CPython resets the indentation at a form feed; libcst rejects one that opens a block.
    The file is analysed anyway, and positions count the form feed like any character."""
    source = (
        b"import threading\n\ndef f():\n\x0c    t = threading.Thread(target=print)\n"
        b"    t.start()\n\n\nclass A:\n\x0c    def m(self):\n"
        b"        return open('x').read()\n"
    )
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(source.decode())
    findings = check_bytes(source, "paged.py", RuleSet(registry.select_rules())).findings
    assert [(f.code, f.line, f.column) for f in findings] == [
        ("LK101", 4, 10),  # after the form feed and four spaces
        ("LK301", 10, 16),  # a line without one keeps its columns
    ]


def test_newer_syntax_is_parsed_on_any_python() -> None:
    source = b"match x:\n    case 1:\n        pass\ntype A = int\n"
    assert check_bytes(source, "new.py", RuleSet(registry.select_rules())).findings == ()
