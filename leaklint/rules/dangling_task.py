from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.concurrency import ConcurrencyFates
from leaklint.analysis.ownership_model import Fate
from leaklint.analysis.specs import Kind as ResourceKind
from leaklint.analysis.tasks import TASK_CALL_WORDS, TaskApis
from leaklint.fixers.tasks import keep_task_fix
from leaklint.model import Applicability, Confidence, Fix
from leaklint.rule import Report, Rule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class DanglingTask(Rule):
    """
    ## What it does
    Flags an asyncio task or future whose handle is thrown away as soon as it is created:
    `asyncio.create_task(...)`, `asyncio.ensure_future(...)`, `loop.create_task(...)` on any
    event loop, `asyncio.gather(...)` and `asyncio.run_coroutine_threadsafe(...)` used as a bare
    statement, assigned to `_`, inside a conditional or comprehension statement or a display
    (`(create_task(a), create_task(b))`), as the test of a conditional expression, an `if`,
    a `while` or a comprehension's filter, or only used by one method call that does not
    keep it (`create_task(c).set_name("poller")`, `.add_done_callback(...)`).
    `asyncio.Task(coro)` counts too. Since `ensure_future(x)` returns `x` unchanged when it
    already is a future, it is judged when `x` is a call not known to return one (a
    coroutine function, a method, an imported function; not `loop.create_future()`,
    `run_in_executor(...)`, `.wait()`), `loop=` forms included.

    ## Why is this bad?
    The event loop keeps only a weak reference to a task. A task nobody references can be
    garbage-collected before it finishes, silently stopping its work half-way, and an exception
    it raises is never retrieved ("Task exception was never retrieved"). A done-callback does not
    keep the task alive.

    ## Example
    ```python
    async def handle(request):
        asyncio.create_task(audit_log(request))
    ```

    ## Use instead
    ```python
    background_tasks = set()

    async def handle(request):
        task = asyncio.create_task(audit_log(request))
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
    ```
    or await it, or create it in an `asyncio.TaskGroup`.

    ## Not flagged
    `await create_task(...)`; a task stored in a long-lived set and discarded by a done-
    callback; `TaskGroup.create_task`; a task handed off; `ensure_future(x)` of something
    that may already be a future, also when the code asks it for its state
    (`ensure_future(lock.acquire()).done()`); a project's own `.create_task` wrappers on
    objects that are not event loops.

    ## Confidence
    High: a dropped task can vanish mid-run wherever it is. Medium for
    `ensure_future(obj.method())` of a method the module does not define as `async def`: the
    method may return a future already (tornado's locks and queues do), which
    `ensure_future` returns unchanged.

    ## Autofix
    Safe (`--fix`): a task thrown away by a statement of its own (`create_task(...)`,
    `_ = create_task(...)`, `create_task(...).add_done_callback(cb)`) is kept in a
    module-level set until it is done, as the asyncio documentation shows; a module that
    already keeps one (`name = set()` emptied by `add_done_callback(name.discard)`) has it
    reused. Tasks dropped inside expressions and `run_coroutine_threadsafe` futures are left
    for you.
    """

    CODE = "LK105"
    AUTOFIX = Applicability.SAFE
    NAME = "dangling-task"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.TASK,))
    SIMILAR_CHECKS = ("RUF006",)
    MESSAGE = (
        "task from `{api}(...)` is {how}; the loop holds tasks only weakly, so it can vanish "
        "mid-run and its exception is lost (keep it in a set and discard it in a done-callback, "
        "or await it)"
    )
    TRIGGERS = TASK_CALL_WORDS

    def finish(self) -> None:
        tasks = self.analysis(TaskApis)
        for verdict in self.analysis(ConcurrencyFates).verdicts:
            resource = verdict.resource
            # Never bound: thrown away where it is made. A bound task the function then
            # loses is LK106's.
            if resource.spec.kind is not ResourceKind.TASK or resource.fate is not Fate.DROPPED:
                continue
            creation = tasks.creation(resource.call)
            if creation is None or not tasks.makes_new_task(creation):
                continue
            # `ensure_future(obj.method())`: the method may return a future already.
            doubtful = tasks.may_return_a_future(creation)
            peeked = isinstance(resource.escape_node, cst.Call)
            callback = _is_done_callback_call(resource.escape_node)
            if doubtful and peeked and not callback:
                # `ensure_future(sem.acquire()).done()`: asking it for its state treats it as
                # the future the method handed back (tornado's locks), not as a new task.
                continue
            how = "only given a done-callback and then dropped" if callback else "thrown away"
            self.report(creation.call, api=creation.api, how=how,
                        confidence=Confidence.MEDIUM if doubtful else Confidence.HIGH)

    def fix(self, report: Report) -> Optional[Fix]:
        assert isinstance(report.node, cst.Call)
        creation = self.analysis(TaskApis).creation(report.node)
        if creation is None:
            return None
        return keep_task_fix(self.context, report.node, creation.api)


def _is_done_callback_call(node: Optional[cst.CSTNode]) -> bool:
    """``task.add_done_callback(cb)``: where a task peeked at by a callback was dropped."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "add_done_callback"
    )
