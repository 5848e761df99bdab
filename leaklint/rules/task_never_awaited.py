from __future__ import annotations

from leaklint.analysis.concurrency import ConcurrencyFates, describe
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership_model import Fate
from leaklint.rule import Rule


class TaskNeverAwaited(Rule):
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
    calls).
    """

    CODE = "LK106"
    NAME = "task-never-awaited"
    SIMILAR_CHECKS = ("RUF006", "F841")
    MESSAGE = "{detail}"
    TRIGGERS = ("create_task", "ensure_future", "gather", "run_coroutine_threadsafe")

    def finish(self) -> None:
        for verdict in self.analysis(ConcurrencyFates).leaks(self.CODE):
            resource = verdict.resource
            # Dropped handles are LK105's; a raise before the await does not make the task
            # "never awaited".
            if resource.label is not None and resource.fate is Fate.LEAKED:
                self.report(
                resource.call,
                detail=describe(verdict, self.context),
                confidence=resource_confidence(verdict.resource, self.context),
            )
