"""Fates of threads, executors, processes, timers and tasks: the shared ownership analysis,
plus what only concurrency needs. Read by LK101, LK103, LK104, LK106 and LK107.

On top of :class:`~leaklint.analysis.ownership.Ownership` this adds:

* more creating calls, settled by the same flow walk: classes defined in the module that
  subclass ``threading.Thread``/``Timer`` or ``multiprocessing.Process`` (their instances are
  threads, timers, processes), import aliases of the concurrency factories
  (``from threading import Thread as Worker``), and every task creation the task rules know
  (``loop.create_task`` on any loop, ``asyncio.gather``, ``run_coroutine_threadsafe``);
* activation inline: ``Thread(...).start()`` is a started thread whose handle is dropped;
* daemon threads: ``daemon=True``, ``t.daemon = True``, ``t.setDaemon(True)``, or a subclass
  that makes itself a daemon;
* a task awaited directly (``await start_job()``) is released, not dropped;
* the object's own methods (``child.poll()``, ``t.is_alive()``) before its release are not
  calls that can raise and skip the release.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Optional

import libcst as cst

from leaklint.analysis import ownership as ownership_module
from leaklint.analysis import specs
from leaklint.analysis.daemons import any_sets_daemon, daemon_classes, daemon_keyword
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.ownership import Ownership, first_of_each_defect
from leaklint.analysis.ownership_calls import HelperSummary
from leaklint.analysis.ownership_model import Escape, Fate, Resource
from leaklint.analysis.ownership_sites import Creation, Resolver
from leaklint.analysis.scopes import Scope, Scopes
from leaklint.analysis.specs import Kind, ResourceSpec
from leaklint.analysis.tasks import TaskApis
from leaklint.context import Analysis, FileContext
from leaklint.walker import iter_nodes, iter_with_parents

CONCURRENCY_KINDS = frozenset({Kind.THREAD, Kind.EXECUTOR, Kind.PROCESS, Kind.TIMER, Kind.TASK})
# Factories a subclass defined in the module inherits its spec from.
SUBCLASSABLE = ("threading.Thread", "threading.Timer", "multiprocessing.Process")
TASK_FACTORY = "asyncio.create_task"
_TASK_CALL_NAMES = frozenset(
    {"create_task", "ensure_future", "gather", "run_coroutine_threadsafe", "Task"}
)


@dataclass(frozen=True)
class Verdict:
    """One concurrency object created in the file, and what became of it."""

    resource: Resource
    daemon: bool = False
    started_inline: bool = False  # `Thread(...).start()`: started with its handle dropped

    @property
    def leaks(self) -> bool:
        return self.resource.fate.leaks


class ConcurrencyFates(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.verdicts: list[Verdict] = []
        resources = [
            r for r in context.analysis(Ownership).resources if r.spec.kind in CONCURRENCY_KINDS
        ]
        seen = {r.call for r in resources}
        resources += [r for r in self._extra_resources() if r.call not in seen]
        if not resources:
            return
        started, awaited = self._inline_uses()
        classes = daemon_classes(self.context.module)
        tasks = context.analysis(TaskApis)
        for resource in resources:
            creation = tasks.creation(resource.call)
            if creation is not None and not tasks.makes_new_task(creation):
                continue
            resource = self._adjust(resource, awaited)
            inline = resource.call in started and resource.label is None
            if inline and resource.fate is Fate.INACTIVE:
                resource = replace(resource, fate=Fate.DROPPED, escape=Escape.INLINE)
            self.verdicts.append(
                Verdict(resource, self._is_daemon(resource, classes), inline)
            )

    def leaks(self, code: str) -> Iterator[Verdict]:
        """The leaked objects of one rule, one per defect (see ``ownership.defect_of``)."""
        leaked = [v for v in self.verdicts if v.resource.spec.code == code and v.leaks]
        yield from first_of_each_defect(leaked, self.context, lambda v: v.resource)

    # --- extra creations --------------------------------------------------------------------
    def _extra_resources(self) -> list[Resource]:
        local_specs = self._local_subclass_specs()
        aliases = {
            local for local, full in self.names.aliases.items()
            if full in specs.FACTORIES and local != full.rsplit(".", 1)[-1]
        }
        candidates = frozenset(local_specs) | aliases
        source = self.context.source
        if any(name + "(" in source for name in _TASK_CALL_NAMES):
            candidates |= _TASK_CALL_NAMES
        if not candidates:
            return []
        index = self.context.analysis(Scopes)
        helpers = ownership_module._helper_summaries(index, self.names)
        resolver = _ExtraResolver(
            self.names, index, helpers, local_specs, self.context.analysis(TaskApis)
        )
        return ownership_module._analyse(index, resolver, candidates)

    def _local_subclass_specs(self) -> dict[str, tuple[ResourceSpec, ...]]:
        found: dict[str, tuple[ResourceSpec, ...]] = {}
        for statement in self.context.module.body:
            if not isinstance(statement, cst.ClassDef):
                continue
            for base in statement.bases:
                qualified = self.names.qualified_name(base.value)
                inherited = found.get(dotted_name(base.value) or "")
                if inherited is None and qualified in SUBCLASSABLE:
                    inherited = specs.FACTORIES[qualified]
                if inherited is not None:
                    found[statement.name.value] = tuple(
                        replace(spec, release_methods=_releasing_methods(statement, spec))
                        for spec in inherited
                    )
                    break
        return found

    # --- adjustments ------------------------------------------------------------------------
    def _inline_uses(self) -> tuple[set[cst.Call], set[cst.Call]]:
        """Calls immediately started (``X(...).start()``) and calls directly awaited."""
        started: set[cst.Call] = set()
        awaited: set[cst.Call] = set()
        for node in self.context.analysis(Scopes).nodes_of_type(cst.Call, cst.Await):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "start"
                and isinstance(node.func.value, cst.Call)
            ):
                started.add(node.func.value)
            elif isinstance(node, cst.Await) and isinstance(node.expression, cst.Call):
                awaited.add(node.expression)
        return started, awaited

    def _adjust(self, resource: Resource, awaited: set[cst.Call]) -> Resource:
        if resource.spec.await_releases and resource.call in awaited:
            # `await create_task(...)`, `x = await gather(...)`: the await consumes it.
            return replace(resource, fate=Fate.RELEASED, escape=Escape.NONE)
        if (
            resource.spec.kind is Kind.TASK
            and resource.fate is Fate.HANDED_OFF
            and resource.label is not None
            and not _task_kept(resource.label, resource.scope, self.names)
        ):
            return replace(resource, fate=Fate.LEAKED, escape=Escape.NEVER_RELEASED)
        if resource.fate.leaks and _stored_as_key(resource):
            return replace(resource, fate=Fate.HANDED_OFF, escape=Escape.NONE)
        if resource.escape is Escape.REBOUND and _rebound_when_done(resource):
            return replace(resource, fate=Fate.RELEASED, escape=Escape.NONE)
        if resource.fate is Fate.RELEASED_ON_NORMAL_PATH_ONLY and (
            _quiet_risk(resource, self.names) or _in_cleanup(resource)
        ):
            return replace(resource, fate=Fate.RELEASED, escape=Escape.NONE)
        if resource.fate.leaks and _followed_by_exit(resource, self.names):
            return replace(resource, fate=Fate.HANDED_OFF, escape=Escape.NONE)
        return resource

    def _is_daemon(self, resource: Resource, classes: frozenset[str]) -> bool:
        if resource.spec.kind is not Kind.THREAD:
            return False
        call = resource.call
        if daemon_keyword(call):
            return True
        if isinstance(call.func, cst.Name) and call.func.value in classes:
            return True
        if "daemon" in resource.attributes_set:
            return True
        if resource.label is None:
            return False
        return any_sets_daemon(resource.scope, (resource.label,))


def _releasing_methods(owner: cst.ClassDef, spec: ResourceSpec) -> frozenset[str]:
    """The release methods of ``spec`` plus the methods of ``owner`` that release ``self``
    (``def stop(self): self._stopped.set(); self.join()``), to a fixed point."""
    releases = set(spec.release_methods)
    methods = [m for m in owner.body.body if isinstance(m, cst.FunctionDef)]
    # The class's own way to end it (`def kill(self): self.killed = True`, read by its run
    # loop): how its author stops it, so calling it is the release.
    releases.update(
        m.name.value for m in methods if m.name.value in _STOP_METHOD_NAMES and _sets_self(m)
    )
    changed = True
    while changed:
        changed = False
        for method in methods:
            if method.name.value in releases or method.name.value.startswith("__"):
                continue
            if any(
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in releases
                and isinstance(node.func.value, cst.Name)
                and node.func.value.value == "self"
                for node in iter_nodes(method.body)
            ):
                releases.add(method.name.value)
                changed = True
    return frozenset(releases)


_STOP_METHOD_NAMES = frozenset({"stop", "kill", "shutdown", "terminate", "cancel", "close"})


def _sets_self(method: cst.FunctionDef) -> bool:
    """The method changes the object's state (``self.x = ...`` or ``self.event.set()``)."""
    for node in iter_nodes(method.body):
        if isinstance(node, cst.Assign) and any(
            isinstance(t.target, cst.Attribute) and dotted_name(t.target.value) == "self"
            for t in node.targets
        ):
            return True
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "set"
            and (dotted_name(node.func.value) or "").startswith("self.")
        ):
            return True
    return False


class _ExtraResolver(Resolver):
    """Recognises only the creations the shared analysis does not: local subclasses of the
    concurrency factories, aliased imports of them, and task creations on any loop."""

    def __init__(
        self,
        names: ImportNames,
        index: Scopes,
        helpers: dict[cst.FunctionDef, HelperSummary],
        local_specs: dict[str, tuple[ResourceSpec, ...]],
        tasks: TaskApis,
    ) -> None:
        super().__init__(names, index, helpers, {})
        self.local_specs = local_specs
        self.tasks = tasks

    def creations(self, call: cst.Call, scope: Scope) -> list[Creation]:
        func = call.func
        if isinstance(func, cst.Name) and func.value in self.local_specs:
            if scope.shadows(func.value):
                return []
            return [Creation(call, spec, func.value) for spec in self.local_specs[func.value]]
        qualified = self.qualified(func, scope)
        if qualified in specs.FACTORIES:
            found = specs.FACTORIES[qualified]
            if found and found[0].kind in CONCURRENCY_KINDS:
                return [Creation(call, spec, dotted_name(func) or "...") for spec in found]
            return []
        creation = self.tasks.creation(call)
        if creation is not None:
            return [Creation(call, spec, creation.api) for spec in specs.FACTORIES[TASK_FACTORY]]
        return []


# Reading a task this way neither keeps it alive nor retrieves its result.
_TASK_PEEKS = frozenset(
    {"add_done_callback", "remove_done_callback", "set_name", "get_name", "done", "cancelled",
     "get_coro", "get_stack", "print_stack"}
)
_PEEKING_FUNCTIONS = frozenset(
    {"builtins.print", "builtins.repr", "builtins.str", "builtins.id", "builtins.format",
     "builtins.isinstance", "builtins.hash", "builtins.type"}
)
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)


def _task_kept(label: str, scope: cst.CSTNode, names: ImportNames) -> bool:
    """Does any use of the task bound to ``label`` keep, await, cancel or hand it off?
    Conservative: every use that is not a known peek counts as keeping it."""
    for node, parent, grand in iter_with_parents(scope):
        if not (isinstance(node, cst.Name) and node.value == label):
            continue
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if parent.attr.value in _TASK_PEEKS and isinstance(grand, cst.Call):
                continue
            return True
        if isinstance(parent, (cst.AssignTarget, cst.Param)) or (
            isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node
        ):
            continue  # the binding itself
        if isinstance(parent, cst.FormattedStringExpression):
            continue
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            if names.call_name(grand) in _PEEKING_FUNCTIONS:
                continue
            func = grand.func
            if isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS:
                continue
        return True
    return False


# Methods of a thread/process/timer/task that query or signal it and do not raise in
# practice: `if child.poll() is None: child.kill()` before `child.wait()` is no risk.
_QUIET_METHODS = frozenset(
    {"poll", "is_alive", "isAlive", "kill", "terminate", "send_signal", "cancel", "done",
     "cancelled", "getName", "setName", "exitcode"}
)


# Starting or joining the helper threads of a process (`t.start()` between `Popen` and
# `wait`) is part of running it, not a risk in practice.
_QUIET_ANY_RECEIVER = frozenset({"start", "join", "is_alive", "set", "clear"})
# Calls that end the process: nothing created before them outlives it.
PROCESS_ENDS = frozenset(
    {"sys.exit", "os._exit", "os.abort", "builtins.exit", "builtins.quit", "os.execv",
     "os.execve", "os.execl", "os.execle", "os.execlp", "os.execlpe", "os.execvp",
     "os.execvpe"}
)


def _quiet_risk(resource: Resource, names: ImportNames) -> bool:
    """The call that "can raise before the release" does not raise in practice: a quiet
    method of the object itself (``child.poll()`` before ``child.wait()``), starting or
    joining a helper thread, or creating one."""
    node = resource.escape_node
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    if isinstance(func, cst.Attribute):
        if func.attr.value in _QUIET_ANY_RECEIVER:
            return True
        if (
            func.attr.value in _QUIET_METHODS
            and isinstance(func.value, cst.Name)
            and func.value.value == resource.label
        ):
            return True
    found = specs.FACTORIES.get(names.call_name(node) or "", ())
    if found:
        return found[0].kind in (Kind.THREAD, Kind.TIMER)
    # `threading` may be bound to a fallback module (`import dummy_threading as threading`).
    return dotted_name(func) in ("threading.Thread", "threading.Timer")


def _followed_by_exit(resource: Resource, names: ImportNames) -> bool:
    """``subprocess.Popen(argv); os._exit(0)``: the creating statement is followed, in the
    same block, by a statement that ends the process."""
    innermost: Optional[tuple[Sequence[cst.BaseStatement], int]] = None
    for node in iter_nodes(resource.scope):
        if not isinstance(node, cst.IndentedBlock):
            continue
        for index, statement in enumerate(node.body):
            if any(inner is resource.call for inner in iter_nodes(statement)):
                innermost = (node.body, index)  # pre-order: deeper blocks come later
    if innermost is None:
        return False
    body, index = innermost
    return any(
        isinstance(inner, cst.Call) and names.call_name(inner) in PROCESS_ENDS
        for later in body[index + 1 :]
        if isinstance(later, cst.SimpleStatementLine)
        for inner in iter_nodes(later)
    )


def _stored_as_key(resource: Resource) -> bool:
    """``self._pending[task] = info``: a key of a long-lived mapping is kept alive by it."""
    if resource.label is None:
        return False
    for node in iter_nodes(resource.scope):
        if not isinstance(node, cst.Assign):
            continue
        for target in node.targets:
            subscript = target.target
            if (
                isinstance(subscript, cst.Subscript)
                and isinstance(subscript.value, cst.Attribute)
                and any(
                    isinstance(inner, cst.Name) and inner.value == resource.label
                    for element in subscript.slice
                    for inner in iter_nodes(element)
                )
            ):
                return True
    return False


def _rebound_when_done(resource: Resource) -> bool:
    """``if task.done(): task = None``: a finished task rebound is not lost."""
    rebinding = resource.escape_node
    if rebinding is None or resource.label is None:
        return False
    for node in iter_nodes(resource.scope):
        if not (isinstance(node, cst.If) and _calls_method(node.test, resource.label, "done")):
            continue
        if any(inner is rebinding for inner in iter_nodes(node.body)):
            return True
    return False


def _calls_method(test: cst.BaseExpression, holder: str, method: str) -> bool:
    return any(
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == method
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == holder
        for node in iter_nodes(test)
    )


def _in_cleanup(resource: Resource) -> bool:
    """The call that can raise before the release runs in a ``finally`` clause itself
    (``finally: jobs.put(None); worker.join()``): the author did release on the exception
    path; only the clean-up code failing would skip it."""
    risky = resource.escape_node
    if risky is None:
        return False
    for node in iter_nodes(resource.scope):
        if (
            isinstance(node, cst.Try)
            and node.finalbody is not None
            and any(inner is risky for inner in iter_nodes(node.finalbody))
        ):
            return True
    return False


def describe(verdict: Verdict, context: FileContext) -> str:
    """The message for a leaked concurrency object."""
    resource = verdict.resource
    if verdict.started_inline:
        spec = resource.spec
        return (
            f"{spec.noun} from `{resource.api}(...)` is started and its handle dropped; "
            f"it can never be {spec.released_verb} (keep the handle and "
            f"{_imperative(spec.released_verb)} it, or hand it to an owner that does)"
        )
    return ownership_module.leak_message(resource, context)


def _imperative(released_verb: str) -> str:
    """"joined" -> "join", "cancelled" -> "cancel", "shut down" -> "shut down"."""
    return {"joined": "join", "cancelled": "cancel", "waited for": "wait for",
            "awaited": "await", "closed": "close"}.get(released_verb, released_verb)
