from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import concurrency_confidence
from leaklint.rule import Rule


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

    ## Not flagged
    Module-level or `self`-owned long-lived executors; `with` blocks; shut down on every
    path (`shutdown()`, `close()` and `join()`, `terminate()`); handed off.

    ## Confidence
    Medium: objects left behind by test code (files and folders named as pytest and unittest
    discover them, `conftest.py`: they live as long as the test run, which `pytest
    --leaklint` checks), and what a program's entry point holds (`main()` and the functions
    the `__main__` block calls).
    """

    CODE = "LK103"
    NAME = "executor-not-shutdown"
    SIMILAR_CHECKS = ("R1732", "consider-using-with")
    MESSAGE = "{detail}"
    TRIGGERS = ("Executor", "Pool")

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            self.report(
                verdict.resource.call,
                detail=describe(verdict, self.context),
                confidence=concurrency_confidence(verdict.resource, self.context),
            )
