"""The shared shape of the resource rules (LK301-LK306): report each leaked resource of the
rule's code from the ownership analysis, with the standard message."""

from __future__ import annotations

from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership import Ownership, leak_message
from leaklint.rule import Rule


class ResourceRule(Rule):
    MESSAGE = "{message}"

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
                confidence=resource_confidence(resource, self.context),
            )
