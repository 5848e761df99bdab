from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.spec_screen import may_create
from leaklint.rule import Rule
from leaklint.screen import SourceFacts


class ExecutorNotShutdown(Rule):
    """
    ## What it does
    Flags a `ThreadPoolExecutor`, `ProcessPoolExecutor`, `multiprocessing.Pool` or
    `multiprocessing.pool.ThreadPool` created in a function and neither managed by `with`,
    shut down on every path (`shutdown()`, `close()` and `join()`, `terminate()`), nor handed
    off - typically one executor per request.

    ## Why is this bad?
    Every executor owns worker threads or processes. An executor created per call and never
    shut down keeps its workers alive until the interpreter exits; under load they pile up
    into thousands of idle threads or processes.

    ## Example
    ```python
    def handle_thumbnails(sizes):
        pool = ThreadPoolExecutor(max_workers=4)
        return list(pool.map(resize, sizes))
    ```

    ## Use instead
    ```python
    def handle_thumbnails(sizes):
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(resize, sizes))
    ```
    or keep one long-lived executor at module level or on an object that shuts it down.
    """

    CODE = "LK103"
    NAME = "executor-not-shutdown"
    MESSAGE = "{detail}"
    TRIGGERS = ("Executor", "Pool")

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
