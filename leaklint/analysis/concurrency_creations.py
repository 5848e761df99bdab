"""Threads, timers, processes and tasks created in shapes the factory tables cannot name.

The ownership analysis resolves a creating call by its qualified name in ``specs.FACTORIES``.
These creations have no such name, and :class:`WorkResolver` recognises them too:

* instances of the module's own classes that subclass ``threading.Thread``/``Timer`` or
  ``multiprocessing.Process`` (or one another): threads, timers, processes whose release
  methods also include the class's own methods that release ``self``
  (``def stop(self): self._stopped.set(); self.join()``);
* every task creation the task rules know (``TaskApis``): ``loop.create_task`` on any event
  loop, ``asyncio.gather``, ``run_coroutine_threadsafe``, ``asyncio.Task``.

It also says when a task API creates nothing: ``ensure_future(x)`` of something that may be a
future already hands ``x`` back.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.ownership_calls import HelperSummary
from leaklint.analysis.ownership_creations import Creation, Resolver
from leaklint.analysis.scopes import Scope, Scopes
from leaklint.analysis.specs import Kind, ResourceSpec
from leaklint.analysis.tasks import TaskApis, named_like_task_api
from leaklint.file_context import FileContext
from leaklint.walker import iter_nodes

# Factories a subclass defined in the module inherits its spec from: the classes that run
# code once started (`Thread`, `Timer`, `multiprocessing.Process`).
SUBCLASSABLE = tuple(name for name, made in specs.FACTORIES.items() if made[0].activation_methods)
# The spec of every task, whichever API created it.
TASK_FACTORY = "asyncio.create_task"


def local_subclass_specs(module: cst.Module,
                         names: ImportNames) -> dict[str, tuple[ResourceSpec, ...]]:
    """The specs of the module-level classes that subclass a concurrency factory, by name."""
    found: dict[str, tuple[ResourceSpec, ...]] = {}
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        for base in statement.bases:
            qualified = names.qualified_name(base.value)
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


class WorkResolver(Resolver):
    """The ownership analysis's resolver: the factory tables first, then the module's own
    subclasses of the concurrency factories and the task creations on any loop."""

    def __init__(self, context: FileContext, names: ImportNames, index: Scopes,
                 helpers: dict[cst.FunctionDef, HelperSummary],
                 local_specs: dict[str, tuple[ResourceSpec, ...]]) -> None:
        super().__init__(names, index, helpers, {})
        self.context = context
        self.local_specs = local_specs

    @property
    def tasks(self) -> TaskApis:
        # Asked for on the first call named like a task API only: it reads the whole module.
        return self.context.analysis(TaskApis)

    def creations(self, call: cst.Call, scope: Scope) -> list[Creation]:
        found = super().creations(call, scope) or self._work_creations(call, scope)
        if any(c.spec.kind is Kind.TASK for c in found) and not self._makes_new(call):
            return []
        return found

    def _work_creations(self, call: cst.Call, scope: Scope) -> list[Creation]:
        func = call.func
        if isinstance(func, cst.Name) and func.value in self.local_specs:
            if scope.shadows(func.value):
                return []
            return [Creation(call, spec, func.value) for spec in self.local_specs[func.value]]
        if not named_like_task_api(call):
            return []
        creation = self.tasks.creation(call)
        if creation is None:
            return []
        return [Creation(call, spec, creation.api) for spec in specs.FACTORIES[TASK_FACTORY]]

    def _makes_new(self, call: cst.Call) -> bool:
        """``ensure_future(x)`` creates a task only when ``x`` is not a future already."""
        creation = self.tasks.creation(call)
        return creation is None or self.tasks.makes_new_task(creation)

