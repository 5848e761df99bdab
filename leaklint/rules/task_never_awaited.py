from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership_model import Fate, Resource
from leaklint.analysis.spec_screen import text_triggers
from leaklint.analysis.tasks import TASK_CALL_WORDS, TaskApis
from leaklint.file_context import FileContext
from leaklint.model import Confidence
from leaklint.rules.leak_rule import LeakRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class TaskNeverAwaited(LeakRule):
    """
    ## What it does
    Flags an asyncio task or future bound to a local name that, before the function ends, is
    never awaited, gathered, waited, cancelled, returned or stored somewhere long-lived on some
    path. Reading the task - `t.add_done_callback(...)`, `t.set_name(...)`, `print(t)`,
    logging it - does not keep it. A handle thrown away at once is LK105's; a task awaited
    on the normal path but not when an earlier call raises is not reported, and
    `ensure_future(x)` is judged only when `x` is a call of an `async def` of the module.

    ## Why is this bad?
    When the function returns, the local was the last strong reference: the event loop keeps
    tasks only weakly, so the task can be garbage-collected mid-run, and an exception it raises
    is never retrieved.

    ## Example
    ```python
    async def place_order(order):
        receipt = asyncio.create_task(send_receipt(order))
        receipt.add_done_callback(log_result)
        return "placed"
    ```

    ## Use instead
    ```python
    async def place_order(order):
        receipt = asyncio.create_task(send_receipt(order))
        background_tasks.add(receipt)
        receipt.add_done_callback(background_tasks.discard)
        return "placed"
    ```
    or await it before returning.

    ## Not flagged
    Tasks awaited, gathered, waited, cancelled, returned or stored on every path; a task
    whose `result()` or `exception()` is read (it is done on that path); a task kept in a
    local while the same function runs the loop until it ends (`run_forever()`,
    `run_until_complete(...)`, `reactor.run()`); a task whose done-callback sets an event
    the function awaits; a task awaited on the normal path but not when an earlier call
    raises.

    ## Confidence
    Medium: a task held by a program's entry point (`main()`, what the `__main__` block
    calls), and `ensure_future(obj.method())` of a method the module does not define as
    `async def` (it may return a future already, which `ensure_future` returns unchanged).
    """

    CODE = "LK106"
    NAME = "task-never-awaited"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.TASK,))
    SIMILAR_CHECKS = ("RUF006", "F841")
    # Tasks made by the factories of `specs` and by every call `TaskApis` knows.
    TRIGGERS = tuple(sorted(set(text_triggers(CODE)) | set(TASK_CALL_WORDS)))

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            resource = verdict.resource
            # Dropped handles are LK105's; a raise before the await does not make the task
            # "never awaited".
            if resource.label is not None and resource.fate is Fate.LEAKED:
                self.report(
                    resource.call,
                    self.leak_message(resource, started_inline=verdict.started_inline),
                    confidence=_confidence(resource, self.context),
                )


def _confidence(resource: Resource, context: FileContext) -> Confidence:
    """Medium also for ``ensure_future(obj.method())``: the method may return a future,
    which ``ensure_future`` hands back unchanged (see ``TaskApis.may_return_a_future``)."""
    tasks = context.analysis(TaskApis)
    creation = tasks.creation(resource.call)
    if creation is not None and tasks.may_return_a_future(creation):
        return Confidence.MEDIUM
    return resource_confidence(resource, context)
