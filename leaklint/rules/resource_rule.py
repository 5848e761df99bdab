"""The shared shape of the resource rules (LK301-LK306): report each leaked resource of the
rule's code from the ownership analysis, with the standard message."""

from __future__ import annotations

from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership import Ownership, leak_message
from leaklint.analysis.spec_screen import may_create
from leaklint.rule import Rule
from leaklint.screen import SourceFacts


class ResourceRule(Rule):
    MESSAGE = "{message}"

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
                leak_message(resource, self.context),
                confidence=resource_confidence(resource, self.context.path),
            )
