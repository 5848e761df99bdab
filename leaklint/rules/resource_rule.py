"""The shared shape of the resource rules (LK301-LK306): report each leaked resource of the
rule's code from the ownership analysis, in the words of :class:`LeakRule`."""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership import Ownership
from leaklint.analysis.spec_screen import may_create, text_triggers
from leaklint.fixers.with_blocks import with_block_fix
from leaklint.model import Fix
from leaklint.rule import Report
from leaklint.rules.leak_rule import LeakRule
from leaklint.screen import SourceFacts


class ResourceRule(LeakRule):
    SHARED_DOCS = {
        "Not flagged": (
            "Also, as for every resource rule: a resource released with `with`, "
            "`contextlib.closing` or an `ExitStack`, or in `finally`; handed off (returned, "
            "yielded, stored on an object or a container that outlives the call, passed to an "
            "owner that keeps or releases it); code that cannot run (`if TYPE_CHECKING:`, "
            "branches for Pythons leaklint does not support, a module-private constant flag); "
            "a call that `pytest.raises`/`assertRaises` expects to fail; code under "
            "`if __name__ == \"__main__\":`."
        ),
        "Confidence": (
            "Medium: a leak only on an exception path inside test code (files and folders "
            "named as pytest and unittest discover them, `conftest.py`); what a program's entry "
            "point holds (`main()` and the functions the `__main__` block calls run once, and "
            "the process ends after them); a line that silences another linter's check of the "
            "same defect (`# noqa: SIM115`, `# pylint: disable=consider-using-with`); a module "
            "that declares itself obsolete or deprecated."
        ),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The words its factories in `specs` spell: a new factory needs no new trigger.
        cls.TRIGGERS = text_triggers(cls.CODE)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        """Every resource is created by a call of one of its factories (by name, through an
        import alias, or through a name bound to the factory), or by a module helper whose
        body makes that call; one created as the item of a `with` that releases it is
        managed."""
        return may_create(facts, cls.CODE)

    def finish(self) -> None:
        ownership = self.analysis(Ownership)
        reported = set()
        for resource in ownership.leaks(self.CODE):
            # One finding per creating call (mkstemp's fd and path are one call).
            if resource.call in reported:
                continue
            reported.add(resource.call)
            self.report(
                resource.call,
                self.leak_message(resource),
                confidence=resource_confidence(resource, self.context),
            )

    def fix(self, report: Report) -> Optional[Fix]:
        assert isinstance(report.node, cst.Call)
        for resource in self.analysis(Ownership).at(report.node):
            if resource.spec.code == self.CODE and resource.fate.leaks:
                return with_block_fix(self.context, resource)
        return None
