"""The shared shape of the resource rules (LK301-LK306): report each leaked resource of the
rule's code from the ownership analysis, with the standard message."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.ownership import Ownership, leak_message
from leaklint.fixers.with_blocks import with_block_fix
from leaklint.model import Fix
from leaklint.rule import Report, Rule


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
            self.report(resource.call, leak_message(resource, self.context))

    def fix(self, report: Report) -> Optional[Fix]:
        assert isinstance(report.node, cst.Call)
        for resource in self.analysis(Ownership).at(report.node):
            if resource.spec.code == self.CODE and resource.fate.leaks:
                return with_block_fix(self.context, resource)
        return None
