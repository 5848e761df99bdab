"""The shared shape of the rules for threads, executors, processes and timers (LK101, LK103,
LK104, LK107): report each leaked object of the rule's code from the concurrency verdicts."""

from __future__ import annotations

from typing import Any

from leaklint.analysis.concurrency import ConcurrencyFates, Verdict
from leaklint.analysis.confidence import concurrency_confidence
from leaklint.analysis.spec_screen import may_create, text_triggers
from leaklint.rules.leak_rule import LeakRule
from leaklint.screen import SourceFacts


class ConcurrencyRule(LeakRule):
    SHARED_DOCS = {
        "Confidence": (
            "Medium, as for every rule about threads, executors, processes and timers: objects "
            "left behind by test code (files and folders named as pytest and unittest discover "
            "them, `conftest.py`: they live as long as the test run, which `pytest --leaklint` "
            "checks); what a program's entry point holds (`main()` and the functions the "
            "`__main__` block calls); a line that silences another linter's check of the same "
            "defect; a module that declares itself obsolete or deprecated."
        ),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The words its factories in `specs` spell: a new factory needs no new trigger.
        cls.TRIGGERS = text_triggers(cls.CODE)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_create(facts, cls.CODE)

    def applies(self, verdict: Verdict) -> bool:
        """Whether this rule reports a leaked object (LK101 leaves daemon threads to LK102)."""
        return True

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            if self.applies(verdict):
                self.report(
                    verdict.resource.call,
                    self.leak_message(verdict.resource, started_inline=verdict.started_inline),
                    confidence=concurrency_confidence(verdict.resource, self.context),
                )
