from __future__ import annotations

from leaklint.rules.concurrency_rule import ConcurrencyRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class TimerNotCancelled(ConcurrencyRule):
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

    ## Not flagged
    Timers cancelled or joined on every path (in `finally`); timers handed off (`self._timer
    = ...`).
    """

    CODE = "LK107"
    NAME = "timer-not-cancelled"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.TIMER,))
