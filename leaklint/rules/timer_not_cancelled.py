from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.spec_screen import may_create
from leaklint.rule import Rule
from leaklint.screen import SourceFacts


class TimerNotCancelled(Rule):
    """
    ## What it does
    Flags a `threading.Timer` that is started with its handle dropped (it can never be
    cancelled), or kept in a local and neither cancelled, joined nor handed off on every path.

    ## Why is this bad?
    A timer is a thread that sleeps and then runs its callback. One that can no longer be
    cancelled fires even when the work it guarded has finished or failed - a watchdog that
    kills a healthy job, a retry of something that succeeded - and, not being a daemon, it
    keeps the interpreter alive until it fires.

    ## Example
    ```python
    def parse_guarded(raw):
        watchdog = threading.Timer(5, alarm)
        watchdog.start()
        data = json.loads(raw)
        watchdog.cancel()
        return data
    ```

    ## Use instead
    ```python
    def parse_guarded(raw):
        watchdog = threading.Timer(5, alarm)
        watchdog.start()
        try:
            return json.loads(raw)
        finally:
            watchdog.cancel()
    ```
    """

    CODE = "LK107"
    NAME = "timer-not-cancelled"
    MESSAGE = "{detail}"
    TRIGGERS = ("Timer",)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_create(facts, cls.CODE)

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            self.report(
                verdict.resource.call,
                detail=describe(verdict, self.context),
                confidence=resource_confidence(verdict.resource, self.context.path),
            )
