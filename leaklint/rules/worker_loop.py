from __future__ import annotations

import libcst as cst

from leaklint.analysis.loops import endless_without_exit
from leaklint.analysis.names import ImportNames
from leaklint.analysis.workers import WORKER_CALL_WORDS, BackgroundWorkers
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Span
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts


class WorkerLoopWithoutExit(Rule):
    """
    ## What it does
    Flags a `while True:` (or `while 1:`) loop in a function that runs in the background - a
    thread or process target, a `run()` override of a `Thread` subclass, a `Timer` callback, an
    executor job, a background task - when the loop has no reachable `break`, `return` or
    `raise` and reads no stop signal (`Event.is_set()`/`.wait()`, a flag such as
    `self._running`, a sentinel that breaks). An `await` loop in a task is accepted when the
    task is cancelled somewhere.

    ## Why is this bad?
    Such a worker can never be asked to stop. Its thread (or process, or executor slot) lives
    until the interpreter dies, holding everything it references; a non-daemon one blocks
    shutdown for ever, and `executor.shutdown()` waits for it in vain.

    ## Example
    ```python
    def consume(jobs):
        while True:
            handle(jobs.get())

    threading.Thread(target=consume, args=(jobs,), daemon=True).start()
    ```

    ## Use instead
    ```python
    def consume(jobs):
        while True:
            job = jobs.get()
            if job is None:  # the owner puts None to stop the worker
                break
            handle(job)
    ```

    ## Not flagged
    Loops that can end: a reachable `break`, `return` or `raise`; a stop signal read in the
    loop (`Event.is_set()`/`.wait()`, a flag attribute, a sentinel taken from a queue);
    `await` loops in tasks that someone cancels; functions that nothing runs in the
    background.

    ## Confidence
    Medium: a loop run by a daemon thread (`daemon=True`, `t.daemon = True`, a subclass that
    makes itself a daemon). A daemon thread dies with its process, so its endless loop is the
    process's own lifetime unless such threads are started again and again; a non-daemon
    thread that cannot stop keeps the program from exiting, and is reported at `high`.
    """

    CODE = "LK102"
    NAME = "worker-loop-without-exit"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence(
        (Kind.THREAD, Kind.TASK, Kind.BLOCKED, Kind.EXECUTOR, Kind.TIMER), Span.LOOP,
        by_stack=True,
    )
    MESSAGE = (
        "endless loop in `{function}` ({role}) has no break/return/raise and reads no stop "
        "signal: the worker can never be stopped"
    )
    TRIGGERS = WORKER_CALL_WORDS

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return facts.endless_loop and facts.spells_any(cls.TRIGGERS)

    def visit_Module(self, node: cst.Module) -> None:
        if "while" not in self.context.source:
            return
        names = self.analysis(ImportNames)
        for worker in self.analysis(BackgroundWorkers).workers.values():
            for loop, awaits in endless_without_exit(worker.function, names):
                if awaits and worker.cancelled:
                    continue
                # A daemon thread dies with its process: an endless loop in one is the
                # process's own lifetime unless such threads are started again and again.
                confidence = Confidence.MEDIUM if worker.daemon else Confidence.HIGH
                self.report(
                    loop,
                    function=worker.function.name.value,
                    role=worker.role,
                    confidence=confidence,
                )
