"""The runtime's codes and the rules' declared evidence agree: a record reported under a rule
is one that rule's ``EVIDENCE`` accepts, and ``confirm`` reads the evidence from the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaklint import registry
from leaklint.runtime import confirm as confirming
from leaklint.runtime.evidence import Growth, Span
from leaklint.runtime.growth import Target
from leaklint.runtime.records import WORKER_LOOP_CODE, Kind, LeakRecord, Site


@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_the_rule_a_kind_is_reported_under_accepts_it(kind: Kind) -> None:
    evidence = registry.find_rule(kind.code).EVIDENCE
    assert evidence is not None and kind in evidence.kinds


def test_every_rule_but_the_parse_error_says_what_confirms_it() -> None:
    missing = [rule.CODE for rule in registry.ALL_RULES if rule.EVIDENCE is None]
    assert missing == ["LK001"]


def test_the_worker_loop_code_is_the_rule_confirmed_inside_its_loop() -> None:
    evidence = registry.find_rule(WORKER_LOOP_CODE).EVIDENCE
    assert evidence is not None and evidence.span is Span.LOOP and evidence.by_stack


def test_confirm_asks_the_rule_what_its_growth_probe_measures() -> None:
    finding = confirming.StaticFinding(3, "LK201", "")
    target = confirming._growth_target(finding)
    assert target == Target("LK201", 3, Growth.CONTAINER)
    assert Target.from_argument(target.to_argument()) == target
    assert confirming._growth_target(confirming.StaticFinding(3, "LK301", "")) is None
    measured = {rule.CODE: rule.EVIDENCE.growth for rule in registry.ALL_RULES
                if rule.EVIDENCE is not None and rule.EVIDENCE.growth is not None}
    # Every growth probe belongs to one rule, and every rule about memory has one.
    by_value = sorted(Growth, key=lambda growth: growth.value)
    assert sorted(measured.values(), key=lambda growth: growth.value) == by_value
    memory_rules = {code for code in registry.rules_by_code() if code[:3] in ("LK2", "LK4")}
    assert set(measured) == memory_rules


def test_only_the_retention_of_something_large_confirms_a_closure_or_view() -> None:
    assert Growth.CLOSURE_CELLS.min_bytes == Growth.VIEW_BUFFERS.min_bytes > 0
    assert Growth.CONTAINER.min_bytes == 0
    assert not Growth.REGISTRATIONS.retains and Growth.CONTAINER.retains


def test_a_record_without_a_code_is_reported_under_its_kinds() -> None:
    assert LeakRecord(Kind.FD, "fd 3").code == "LK301"
    assert LeakRecord.from_json(LeakRecord(Kind.TASK, "t").to_json()).code == "LK105"


SOURCE = """\
import threading

def start():
    worker = threading.Thread(target=print)
    worker.start()
"""


def _status(code: str, record: LeakRecord, path: Path) -> str:
    path.write_text(SOURCE)
    finding = confirming.StaticFinding(4, code, "")
    result = {"status": "ok", "records": [record.to_json()], "evidence": []}
    return str(confirming.judge(str(path), [finding], result).findings[0]["status"])


def test_confirm_asks_the_rule_which_records_prove_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    thread = LeakRecord(Kind.THREAD, "t", Site(str(path), 4))
    daemon = LeakRecord(Kind.THREAD, "t", Site(str(path), 4), code=WORKER_LOOP_CODE)
    assert _status("LK101", thread, path) == "confirmed"
    assert _status("LK101", daemon, path) == "unconfirmed"  # LK102's claim, not LK101's
    assert _status("LK301", thread, path) == "unconfirmed"
    assert _status("LK301", LeakRecord(Kind.FD, "fd 3", Site(str(path), 4)), path) == "confirmed"
    assert _status("LK301", LeakRecord(Kind.FD, "fd 3", Site(str(path), 5)), path) == "unconfirmed"
