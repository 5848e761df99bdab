from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import concurrency_confidence
from leaklint.rule import Rule


class ProcessNotJoined(Rule):
    """
    ## What it does
    Flags a `multiprocessing.Process` (or subclass instance) that is started and never
    joined, and a `subprocess.Popen` that is never `wait()`ed, `communicate()`d or managed by
    `with` - on every path - nor handed off. `kill()` or `terminate()` without a following
    wait still leaves a zombie. Also a `multiprocessing.get_context(...).Process`, a
    `multiprocessing.Manager()` (a server process) never `shutdown()` nor used in `with`, the
    pid of `os.posix_spawn`/`posix_spawnp`/`os.spawn*(os.P_NOWAIT, ...)` never given to
    `os.waitpid`, and a process whose only escape is a plain value such as `.pid`.

    ## Why is this bad?
    A child that exits stays in the process table as a zombie until its parent reaps it.
    Spawned per call and never waited for, zombies accumulate until the process hits its
    limit, and the child's exit status and errors are lost.

    ## Example
    ```python
    def probe(seconds):
        child = subprocess.Popen(["worker"])
        time.sleep(seconds)
        child.kill()
    ```

    ## Use instead
    ```python
    def probe(seconds):
        with subprocess.Popen(["worker"]) as child:
            time.sleep(seconds)
            child.kill()
    ```
    or use `subprocess.run(...)`, which waits for the child.

    ## Not flagged
    `subprocess.run`/`call`/`check_output`; processes waited for, communicated with, joined
    or handed off on every path; `with Popen(...)`; a process reaped by a loop that polls
    until it exits (`while p.poll() is None:`).

    ## Confidence
    Medium: objects left behind by test code (files and folders named as pytest and unittest
    discover them, `conftest.py`: they live as long as the test run, which `pytest
    --leaklint` checks), and what a program's entry point holds (`main()` and the functions
    the `__main__` block calls). Also a process launched detached on purpose
    (`start_new_session=True`, `preexec_fn=os.setsid`): it is meant to outlive the call; and a
    process started only on Windows (`if sys.platform == "win32":`), where an unwaited child
    leaves no zombie.
    """

    CODE = "LK104"
    NAME = "process-not-joined"
    SIMILAR_CHECKS = ("R1732", "consider-using-with")
    MESSAGE = "{detail}"
    TRIGGERS = ("Popen", "Process", "Manager", "spawn")

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            self.report(
                verdict.resource.call,
                detail=describe(verdict, self.context),
                confidence=concurrency_confidence(verdict.resource, self.context),
            )
