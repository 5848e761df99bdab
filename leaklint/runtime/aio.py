"""Running a coroutine the way ``asyncio.run`` does, but looking at leftovers before cancelling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

from leaklint.runtime.hooks import TRACKER, Tracker

T = TypeVar("T")


def run_checked(main: Callable[[], Awaitable[T]], tracker: Tracker = TRACKER) -> T:
    """Run ``main()`` on a fresh loop. Tasks still pending when it returns are recorded (as
    ``asyncio.run`` would silently cancel them), then cancelled and the loop is closed."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        result: T = loop.run_until_complete(main())  # type: ignore[arg-type,unused-ignore]
        tracker.note_pending_at_close(loop)
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        # Not ``shutdown_default_executor()``: it waits forever for a job that never ends. Busy
        # workers stay behind and are reported (at the ``run_in_executor`` line).
        executor = getattr(loop, "_default_executor", None)
        if executor is not None:
            executor.shutdown(wait=False)
        return result
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def pending_since(known: set[Any]) -> list[asyncio.Task[Any]]:
    """Tasks of the running loop that are pending and were not there at ``known`` time."""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done() and t not in known]
