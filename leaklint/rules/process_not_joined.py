from __future__ import annotations

from leaklint.rules.concurrency_rule import ConcurrencyRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class ProcessNotJoined(ConcurrencyRule):
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
    Medium: a process launched detached on purpose (`start_new_session=True`,
    `preexec_fn=os.setsid`): it is meant to outlive the call; and a process started only on
    Windows (`if sys.platform == "win32":`), where an unwaited child leaves no zombie.
    """

    CODE = "LK104"
    NAME = "process-not-joined"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.PROCESS,))
    SIMILAR_CHECKS = ("R1732", "consider-using-with")
