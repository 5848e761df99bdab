from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.spec_screen import may_create
from leaklint.rule import Rule
from leaklint.screen import SourceFacts


class ProcessNotJoined(Rule):
    """
    ## What it does
    Flags a `multiprocessing.Process` (or subclass instance) that is started and never
    joined, and a `subprocess.Popen` that is never `wait()`ed, `communicate()`d or managed by
    `with` - on every path - nor handed off. `kill()` or `terminate()` without a following
    wait still leaves a zombie.

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
    """

    CODE = "LK104"
    NAME = "process-not-joined"
    MESSAGE = "{detail}"
    TRIGGERS = ("Popen", "Process")

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
