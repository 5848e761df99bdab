"""What runs in the background: the functions of a file used as threads, jobs, timers or tasks.

Read by LK102 worker-loop-without-exit. A background entry point is resolved to its definition
in the same file:

* ``threading.Thread(target=f)``, ``multiprocessing.Process(target=f)`` (and subclasses of
  them defined here), ``threading.Timer(interval, f)``;
* ``run()`` of a ``Thread``/``Process`` subclass defined here;
* ``executor.submit(f, ...)`` on an executor or pool, ``loop.run_in_executor(executor, f)``;
* ``asyncio.create_task(f(...))``, ``ensure_future``, ``loop.create_task``.

``f`` may be a function of the module, a function nested in the enclosing one, ``self.method``
of the enclosing class, ``functools.partial(f, ...)`` or ``lambda: f(...)``.

For tasks, the analysis also notes whether the task is cancelled somewhere in the file: an
``await`` loop in a task that its owner cancels ends by ``CancelledError``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Union, cast

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.daemons import DaemonClasses, any_sets_daemon, daemon_keyword
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import Scopes
from leaklint.analysis.specs import Kind
from leaklint.analysis.tasks import TASK_CALL_WORDS, TaskApis
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import last_names
from leaklint.walker import iter_frame


def _factories(kind: Kind, started: bool = False) -> frozenset[str]:
    """The factories of ``kind`` in ``specs``; with ``started``, those whose object runs only
    once started (``Thread(target=f).start()``), not a ``Popen``."""
    return frozenset(
        name for name, made in specs.FACTORIES.items()
        if made[0].kind is kind and (not started or made[0].activation_methods)
    )


# What runs a function of this file in the background: `target=` or a subclass's `run()`.
THREAD_TYPES = (
    _factories(Kind.THREAD) | _factories(Kind.PROCESS, started=True) | specs.PROCESS_BASES
)
TIMER_TYPES = _factories(Kind.TIMER)
EXECUTOR_TYPES = _factories(Kind.EXECUTOR)
SUBMIT_METHODS = frozenset({"submit", "apply_async"})
LOOP_EXECUTOR_METHODS = frozenset({"run_in_executor"})
# Every way above of running a function in the background spells one of these words (a
# subclass spells its base): LK102's text triggers.
WORKER_CALL_WORDS = tuple(sorted(
    last_names(THREAD_TYPES | TIMER_TYPES) | SUBMIT_METHODS | LOOP_EXECUTOR_METHODS
    | set(TASK_CALL_WORDS)
))
PARTIALS = frozenset({"functools.partial"})
# Names that say a receiver of `.submit` is an executor when its creation is not in view.
_EXECUTOR_WORDS = ("executor", "pool", "workers")

Scope = Union["cst.FunctionDef", "cst.ClassDef"]


@dataclass(frozen=True)
class Worker:
    """A function of this file that runs in the background."""

    function: cst.FunctionDef
    role: str  # "thread target", "Timer callback", "executor job", "background task", ...
    # For tasks: is the task handle cancelled somewhere in the file?
    cancelled: bool = False
    # Runs on a daemon thread (dies with the process) on every use seen.
    daemon: bool = False


def _identifier(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return _identifier(node.value)
    return None


def _argument(call: cst.Call, keyword: str, index: int) -> Optional[cst.BaseExpression]:
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg.value
        elif not arg.star:
            if positional == index:
                return arg.value
            positional += 1
    return None


# The node types `_visit` reads, and those that open a scope.
@functools.cache
def _visited() -> frozenset[type]:
    return frozenset({cst.Call, cst.Assign, cst.For, cst.ClassDef})


@functools.cache
def _scopes() -> frozenset[type]:
    return frozenset({cst.FunctionDef, cst.ClassDef})


@functools.cache
def _frames() -> frozenset[type]:
    return frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


class BackgroundWorkers(Analysis):
    """Every function of the file that some code runs in the background."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.tasks = context.analysis(TaskApis)
        self.workers: dict[cst.FunctionDef, Worker] = {}
        self._module_functions = {
            s.name.value: s for s in context.module.body if isinstance(s, cst.FunctionDef)
        }
        self._classes = {
            s.name.value: s for s in context.module.body if isinstance(s, cst.ClassDef)
        }
        self._thread_classes = self._local_subclasses(context.module, THREAD_TYPES)
        self._timer_classes = self._local_subclasses(context.module, TIMER_TYPES)
        self._daemon_classes = context.analysis(DaemonClasses).names
        self._executor_names: set[str] = set()
        self._cancelled: set[str] = set()
        self._task_holders: list[tuple[cst.FunctionDef, frozenset[str]]] = []
        self._scan(context.analysis(Scopes))
        for function, holders in self._task_holders:
            cancelled = bool(holders & self._cancelled)
            self._add(Worker(function, "background task", cancelled))

    # --- collection -------------------------------------------------------------------------
    def _scan(self, scopes: Scopes) -> None:
        """Visit the nodes `_visit` reads, in the order of the shared walk, each with the
        defs and classes around it (outermost first)."""
        parents = scopes.parents
        # Exact types: libcst's classes are ABCs and their isinstance is slow; this loop sees
        # every node of the file.
        for node in scopes.nodes:
            if type(node) not in _visited():
                continue
            around: list[Scope] = []
            parent = parents.get(node)
            while parent is not None:
                if type(parent) in _scopes():
                    around.append(cast(Scope, parent))
                parent = parents.get(parent)
            around.reverse()
            self._visit(node, around)

    def _visit(self, node: cst.CSTNode, scopes: list[Scope]) -> None:
        if isinstance(node, cst.Call):
            self._visit_call(node, scopes)
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
            if self.names.call_name(node.value) in EXECUTOR_TYPES:
                for target in node.targets:
                    name = _identifier(target.target)
                    if name:
                        self._executor_names.add(name)
        elif isinstance(node, cst.For):
            self._note_cancel_loop(node)
        elif isinstance(node, cst.ClassDef) and node.name.value in self._thread_classes:
            run = _method(node, "run")
            if run is not None:
                daemon = node.name.value in self._daemon_classes
                self._add(Worker(run, "`run()` of a thread subclass", daemon=daemon))

    def _visit_call(self, call: cst.Call, scopes: list[Scope]) -> None:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "cancel":
            name = _identifier(func.value)
            if name:
                self._cancelled.add(name)
        qualified = self.names.call_name(call)
        local = func.value if isinstance(func, cst.Name) else None
        if qualified in THREAD_TYPES or local in self._thread_classes:
            daemon = self._starts_daemon(call, scopes)
            self._resolve(_argument(call, "target", 1), scopes, "thread target", daemon)
        elif qualified in TIMER_TYPES or local in self._timer_classes:
            daemon = self._starts_daemon(call, scopes)
            self._resolve(_argument(call, "function", 1), scopes, "Timer callback", daemon)
        elif isinstance(func, cst.Attribute) and func.attr.value in SUBMIT_METHODS:
            if self._is_executor(func.value):
                self._resolve(_argument(call, "fn", 0), scopes, "executor job")
        elif isinstance(func, cst.Attribute) and func.attr.value in LOOP_EXECUTOR_METHODS:
            self._resolve(_argument(call, "func", 1), scopes, "executor job")
        else:
            self._visit_task(call, scopes)

    def _visit_task(self, call: cst.Call, scopes: list[Scope]) -> None:
        if self.tasks.creation(call) is None or not call.args:
            return
        coroutine = call.args[0].value
        if not isinstance(coroutine, cst.Call):
            return
        function = self._definition(coroutine.func, scopes)
        if function is not None and function.asynchronous is not None:
            self._task_holders.append((function, self._holders(call, scopes)))

    def _holders(self, call: cst.Call, scopes: list[Scope]) -> frozenset[str]:
        """Names under which the task of ``call`` is kept: the assignment target, and the
        containers that target (or the call itself) is put into in the same function."""
        body: cst.CSTNode = scopes[-1] if scopes else self.context.module
        held: set[str] = set()
        # Listed once, read three times: the frame can be the whole module.
        nodes = list(iter_frame(body, _frames()))
        for node in nodes:
            if isinstance(node, cst.Assign) and node.value is call:
                held.update(filter(None, (_identifier(t.target) for t in node.targets)))
            elif isinstance(node, cst.AnnAssign) and node.value is call:
                held.update(filter(None, [_identifier(node.target)]))
        for node in nodes:
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
                continue
            if any(arg.value is call or _identifier(arg.value) in held for arg in node.args):
                container = _identifier(node.func.value)
                if container:
                    held.add(container)
        for node in nodes:
            # `self._tasks[key] = task`
            if isinstance(node, cst.Assign) and (
                node.value is call or _identifier(node.value) in held
            ):
                held.update(filter(None, (_identifier(t.target) for t in node.targets)))
        return frozenset(held)

    def _note_cancel_loop(self, loop: cst.For) -> None:
        """``for task in self._tasks: task.cancel()`` cancels what ``self._tasks`` holds."""
        variable = _identifier(loop.target)
        if variable is None:
            return
        for node in iter_frame(loop.body, _frames()):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "cancel"
                and _identifier(node.func.value) == variable
            ):
                container = _identifier(_strip_values_call(loop.iter))
                if container:
                    self._cancelled.add(container)
                return

    def _is_executor(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return self.names.call_name(receiver) in EXECUTOR_TYPES
        name = _identifier(receiver)
        if name is None:
            return False
        return name in self._executor_names or any(w in name.lower() for w in _EXECUTOR_WORDS)

    # --- resolution -------------------------------------------------------------------------
    def _starts_daemon(self, call: cst.Call, scopes: list[Scope]) -> bool:
        """``Thread(target=f, daemon=True)``, a daemon subclass, or ``t.daemon = True`` on
        the name the thread is kept under."""
        if daemon_keyword(call):
            return True
        if isinstance(call.func, cst.Name) and call.func.value in self._daemon_classes:
            return True
        body: cst.CSTNode = scopes[-1] if scopes else self.context.module
        holders = {
            name
            for node in iter_frame(body, _frames())
            if isinstance(node, cst.Assign) and node.value is call
            for name in filter(None, (_identifier(t.target) for t in node.targets))
        }
        return bool(holders) and any_sets_daemon(body, holders)

    def _resolve(
        self,
        target: Optional[cst.BaseExpression],
        scopes: list[Scope],
        role: str,
        daemon: bool = False,
    ) -> None:
        if target is None:
            return
        if isinstance(target, cst.Call) and self.names.call_name(target) in PARTIALS:
            target = target.args[0].value if target.args else None
        elif isinstance(target, cst.Lambda) and isinstance(target.body, cst.Call):
            target = target.body.func
        if target is None:
            return
        function = self._definition(target, scopes)
        if function is not None and function.asynchronous is None:
            self._add(Worker(function, role, daemon=daemon))

    def _definition(
        self, target: cst.BaseExpression, scopes: list[Scope]
    ) -> Optional[cst.FunctionDef]:
        if isinstance(target, cst.Name):
            for scope in reversed(scopes):
                if isinstance(scope, cst.FunctionDef):
                    nested = _nested_function(scope, target.value)
                    if nested is not None:
                        return nested
            return self._module_functions.get(target.value)
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in ("self", "cls")
        ):
            owner = next((s for s in reversed(scopes) if isinstance(s, cst.ClassDef)), None)
            if owner is not None:
                return self._inherited_method(owner, target.attr.value)
        return None

    def _inherited_method(self, owner: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
        """``name`` on ``owner`` or on its base classes defined in this module (in MRO-ish
        order: depth first, left to right, each class once)."""
        seen: set[str] = set()
        pending = [owner]
        while pending:
            cls = pending.pop(0)
            if cls.name.value in seen:
                continue
            seen.add(cls.name.value)
            found = _method(cls, name)
            if found is not None:
                return found
            pending.extend(
                self._classes[base.value.value]
                for base in cls.bases
                if isinstance(base.value, cst.Name) and base.value.value in self._classes
            )
        return None

    def _add(self, worker: Worker) -> None:
        known = self.workers.get(worker.function)
        # A function started both as a cancelled task and otherwise, or on a daemon thread and
        # on another, is judged by the worst use.
        if known is None or (known.cancelled and not worker.cancelled) or (
            known.daemon and not worker.daemon
        ):
            self.workers[worker.function] = worker

    def _local_subclasses(self, module: cst.Module, bases: frozenset[str]) -> frozenset[str]:
        found: set[str] = set()
        for statement in module.body:
            if isinstance(statement, cst.ClassDef) and any(
                self.names.qualified_name(base.value) in bases
                or _identifier(base.value) in found
                for base in statement.bases
            ):
                found.add(statement.name.value)
        return frozenset(found)


def _strip_values_call(node: cst.BaseExpression) -> cst.BaseExpression:
    """``self._tasks.values()`` / ``list(self._tasks)`` -> ``self._tasks``."""
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("values", "copy"):
            return node.func.value
        if node.args:
            return _strip_values_call(node.args[0].value)
    return node


def _method(owner: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    for statement in owner.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _nested_function(function: cst.FunctionDef, name: str) -> Optional[cst.FunctionDef]:
    for node in iter_frame(function.body, _frames()):
        if isinstance(node, cst.FunctionDef) and node.name.value == name:
            return node
    return None

