"""Fates of threads, executors, processes, timers and tasks, as the LK1 rules read them: the
shared ownership analysis's resources of those kinds, each with whether it is a daemon thread.
Read by LK101, LK103, LK104, LK106 and LK107.

Everything about the fate itself lives in the ownership analysis: the creations the factory
tables cannot name (the module's own Thread/Timer/Process subclasses, import aliases, tasks
created on any loop) are its resolver's (``concurrency_creations``), and the shapes that
exempt a leak of a kind (awaited at once, a task only peeked at, a key of a long-lived
mapping, ...) are settled with the fate (``ownership_exemptions``). This view adds daemon
threads: ``daemon=True``, ``t.daemon = True``, ``t.setDaemon(True)``, or a subclass that
makes itself a daemon.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from leaklint.analysis.daemons import DaemonClasses, any_sets_daemon, daemon_keyword
from leaklint.analysis.ownership import Ownership, first_of_each_defect
from leaklint.analysis.ownership_model import Resource
from leaklint.analysis.specs import Kind
from leaklint.file_context import Analysis, FileContext

CONCURRENCY_KINDS = frozenset({Kind.THREAD, Kind.EXECUTOR, Kind.PROCESS, Kind.TIMER, Kind.TASK})


@dataclass(frozen=True)
class Verdict:
    """One concurrency object created in the file, and what became of it."""

    resource: Resource
    daemon: bool = False

    @property
    def started_inline(self) -> bool:
        """``Thread(...).start()``: started with its handle dropped."""
        return self.resource.started_inline

    @property
    def leaks(self) -> bool:
        return self.resource.fate.leaks


class ConcurrencyFates(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        resources = [
            r for r in context.analysis(Ownership).resources if r.spec.kind in CONCURRENCY_KINDS
        ]
        threads = any(r.spec.kind is Kind.THREAD for r in resources)
        classes = context.analysis(DaemonClasses).names if threads else frozenset()
        self.verdicts = [Verdict(r, _is_daemon(r, classes)) for r in resources]

    def leaks(self, code: str) -> Iterator[Verdict]:
        """The leaked objects of one rule, one per defect (see ``ownership.defect_of``)."""
        leaked = [v for v in self.verdicts if v.resource.spec.code == code and v.leaks]
        yield from first_of_each_defect(leaked, self.context, lambda v: v.resource)


def _is_daemon(resource: Resource, classes: frozenset[str]) -> bool:
    if resource.spec.kind is not Kind.THREAD:
        return False
    call = resource.call
    if daemon_keyword(call):
        return True
    if isinstance(call.func, cst.Name) and call.func.value in classes:
        return True
    if "daemon" in resource.attributes_set:
        return True
    if resource.label is None:
        return False
    return any_sets_daemon(resource.scope, (resource.label,))
