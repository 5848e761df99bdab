from __future__ import annotations

from leaklint.rules.concurrency_rule import ConcurrencyRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class ExecutorNotShutdown(ConcurrencyRule):
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
    """

    CODE = "LK103"
    NAME = "executor-not-shutdown"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.EXECUTOR,))
    SIMILAR_CHECKS = ("R1732", "consider-using-with")
