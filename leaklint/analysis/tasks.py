"""Which calls create an asyncio task or future, and on which kind of object.

Shared by the task rules (LK105 dangling-task, LK106 task-never-awaited) and by the worker
resolution of LK102. A ``.create_task`` call counts only when its receiver is an event loop:
``asyncio`` itself, ``asyncio.get_running_loop()``, a name bound to one of the loop getters, or
an object whose name says it is a loop (``loop``, ``self._loop``, ``event_loop`` parameters).
``TaskGroup.create_task`` and a project's own ``create_task`` wrappers are not task leaks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import last_names
from leaklint.syntax import last_name

# Module-level functions whose result is a task/future the caller must keep.
TASK_FUNCTIONS = {
    "asyncio.create_task": "asyncio.create_task",
    "asyncio.ensure_future": "asyncio.ensure_future",
    "asyncio.gather": "asyncio.gather",
    "asyncio.run_coroutine_threadsafe": "asyncio.run_coroutine_threadsafe",
    "asyncio.tasks.create_task": "asyncio.create_task",
    "asyncio.tasks.ensure_future": "asyncio.ensure_future",
    "asyncio.tasks.gather": "asyncio.gather",
    # The Task constructor schedules the coroutine just like create_task.
    "asyncio.Task": "asyncio.Task",
    "asyncio.tasks.Task": "asyncio.Task",
}
LOOP_TASK_METHODS = frozenset({"create_task", "ensure_future"})
# Every task creation above spells one of these words: the task rules' text triggers.
TASK_CALL_WORDS = tuple(sorted(last_names(TASK_FUNCTIONS) | LOOP_TASK_METHODS))
_TASK_CALL_NAMES = frozenset(TASK_CALL_WORDS)
LOOP_GETTERS = frozenset(
    {"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop"}
)
# Calls known to return a future already, or that may (tornado's ``Event.wait()`` and
# ``Condition.wait()`` return futures, asyncio's are coroutines): ``ensure_future`` hands a
# future back as it is, so its result is not judged.
FUTURE_RETURNING = frozenset(
    {"create_future", "run_in_executor", "Future", "wrap_future", "gather", "shield",
     "create_task", "ensure_future", "run_coroutine_threadsafe", "submit", "maybe_future",
     "convert_yielded", "to_asyncio_future", "sock_connect", "sock_recv", "sock_sendall",
     "getaddrinfo", "Task", "as_future", "wait"}
)
TASK_GROUP_TYPES = frozenset({"asyncio.TaskGroup", "asyncio.taskgroups.TaskGroup"})


@dataclass(frozen=True)
class TaskCreation:
    call: cst.Call
    api: str  # what the user wrote, for messages: "asyncio.create_task", "loop.create_task"


def named_like_task_api(call: cst.Call) -> bool:
    """Whether the call is spelled like a task API (``loop.create_task``, ``gather``): a cheap
    test before :class:`TaskApis` reads the module."""
    return last_name(call.func) in _TASK_CALL_NAMES


@functools.cache
def _read() -> tuple[type, ...]:
    return (cst.FunctionDef, cst.Assign, cst.WithItem)


class TaskApis(Analysis):
    """Recognises task-creating calls in one file."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.loop_names: set[str] = set()
        self.task_group_names: set[str] = set()
        # `async def` functions and methods of the module, by name.
        self.coroutine_functions: set[str] = set()
        for node in context.analysis(Scopes).nodes_of_type(*_read()):
            if isinstance(node, cst.FunctionDef) and node.asynchronous is not None:
                self.coroutine_functions.add(node.name.value)
            elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
                if self.names.call_name(node.value) in LOOP_GETTERS:
                    for target in node.targets:
                        name = last_name(target.target)
                        if name:
                            self.loop_names.add(name)
            elif (
                isinstance(node, cst.WithItem)
                and isinstance(node.item, cst.Call)
                and self.names.call_name(node.item) in TASK_GROUP_TYPES
                and node.asname
            ):
                name = last_name(node.asname.name)
                if name:
                    self.task_group_names.add(name)

    def is_loop(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return self.names.call_name(receiver) in LOOP_GETTERS
        name = last_name(receiver)
        if name is None or name in self.task_group_names:
            return False
        return name in self.loop_names or "loop" in name.lower()

    def makes_new_task(self, creation: TaskCreation) -> bool:
        """``ensure_future(x)`` returns ``x`` itself when it already is a future (a
        ``loop.create_future()``, ``run_in_executor(...)``, a tornado ``gen.maybe_future``):
        only a coroutine makes a new task. Its result is judged when ``x`` is a call (of a
        coroutine function, a parameter, an imported function, a method) not known to return
        a future; a name may hold either."""
        if not creation.api.endswith("ensure_future"):
            return True
        callee = _called_for_ensure_future(creation)
        if callee is None:
            return False
        name = last_name(callee)
        if name in self.coroutine_functions:
            return True
        return name is not None and name not in FUTURE_RETURNING and not (
            self.names.qualified_name(callee) or ""
        ).startswith(("concurrent.", "tornado.concurrent."))

    def may_return_a_future(self, creation: TaskCreation) -> bool:
        """``ensure_future(obj.method())`` of a method this module does not define as
        ``async def``: many libraries' methods return futures (tornado's locks and queues:
        ``sem.acquire()``, ``q.get()``), which ``ensure_future`` returns unchanged."""
        if not creation.api.endswith("ensure_future"):
            return False
        callee = _called_for_ensure_future(creation)
        if not isinstance(callee, cst.Attribute) or callee.attr.value in self.coroutine_functions:
            return False
        root = callee.value
        while isinstance(root, cst.Attribute):
            root = root.value
        # `asyncio.sleep(...)`, `mod.fetch(...)`: a function of an imported module, not a method.
        return not (isinstance(root, cst.Name) and root.value in self.names.aliases)

    def creation(self, call: cst.Call) -> Optional[TaskCreation]:
        qualified = self.names.call_name(call)
        if qualified in TASK_FUNCTIONS:
            return TaskCreation(call, TASK_FUNCTIONS[qualified])
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in LOOP_TASK_METHODS
            and self.is_loop(func.value)
        ):
            return TaskCreation(call, f"loop.{func.attr.value}")
        return None


def _called_for_ensure_future(creation: TaskCreation) -> Optional[cst.BaseExpression]:
    """``f`` of ``ensure_future(f(...))``: what makes the object handed to it, None when the
    object is not made by a call there (a name may hold a task or a future already)."""
    args = [arg for arg in creation.call.args if arg.keyword is None]
    if not args or not isinstance(args[0].value, cst.Call):
        return None
    return args[0].value.func
