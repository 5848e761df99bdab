"""The last step of settling a fate: shapes of code in which the path walk's verdict is wrong
for a kind, each a named predicate switched on by the kind's spec.

* ``spec.await_releases``: the creating call awaited at once (``await create_task(...)``,
  ``x = await gather(...)``) is consumed there: released.
* ``spec.held_weakly``: a task bound to a name that nothing keeps, awaits, cancels or hands
  off (only peeks: ``t.add_done_callback(cb)``, ``print(t)``) is leaked, not handed off.
* ``spec.exemptions`` (:class:`~leaklint.analysis.specs.Exemption`): a key of a long-lived
  mapping, rebound once done, a "risky" call that does not raise in practice or runs in
  ``finally`` itself, a creation followed by the end of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, Optional

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.ownership_model import Escape, Fate, Resource
from leaklint.analysis.scopes import ParentMap
from leaklint.analysis.specs import Exemption, Kind
from leaklint.walker import iter_nodes, iter_with_parents


def exempted(resource: Resource, parents: ParentMap,
             names: ImportNames) -> Optional[tuple[Fate, Escape]]:
    """The fate and escape the first exemption of ``resource``'s spec that holds gives it, or
    None when none holds (the walk's verdict stands)."""
    spec = resource.spec
    if not (spec.exemptions or spec.await_releases or spec.held_weakly):
        return None  # most kinds: files, sockets, connections, ...
    if spec.await_releases and awaited_at_creation(resource, parents):
        return Fate.RELEASED, Escape.NONE
    if (
        spec.held_weakly
        and resource.fate is Fate.HANDED_OFF
        and resource.label is not None
        and not task_kept(resource.label, resource.scope, names)
    ):
        return Fate.LEAKED, Escape.NEVER_RELEASED
    for exemption, (applies, fate) in _EXEMPTIONS.items():
        if exemption in spec.exemptions and applies(resource, names):
            return fate, Escape.NONE
    return None


def awaited_at_creation(resource: Resource, parents: ParentMap) -> bool:
    """``await create_task(...)``: the await consumes it."""
    parent = parents.get(resource.call)
    return isinstance(parent, cst.Await) and parent.expression is resource.call


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


def task_kept(label: str, scope: cst.CSTNode, names: ImportNames) -> bool:
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


def stored_as_key(resource: Resource, names: ImportNames) -> bool:
    """``self._pending[task] = info``: a key of a long-lived mapping is kept alive by it."""
    if not resource.fate.leaks or resource.label is None:
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


def rebound_when_done(resource: Resource, names: ImportNames) -> bool:
    """``if task.done(): task = None``: a finished task rebound is not lost."""
    rebinding = resource.escape_node
    if resource.escape is not Escape.REBOUND or rebinding is None or resource.label is None:
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


# Methods of a thread/process/timer/task that query or signal it and do not raise in
# practice: `if child.poll() is None: child.kill()` before `child.wait()` is no risk.
_QUIET_METHODS = frozenset(
    {"poll", "is_alive", "isAlive", "kill", "terminate", "send_signal", "cancel", "done",
     "cancelled", "getName", "setName", "exitcode"}
)
# Starting or joining the helper threads of a process (`t.start()` between `Popen` and
# `wait`) is part of running it, not a risk in practice.
_QUIET_ANY_RECEIVER = frozenset({"start", "join", "is_alive", "set", "clear"})


def quiet_risk(resource: Resource, names: ImportNames) -> bool:
    """The call that "can raise before the release" does not raise in practice: a quiet
    method of the object itself (``child.poll()`` before ``child.wait()``), starting or
    joining a helper thread, or creating one."""
    node = resource.escape_node
    if resource.fate is not Fate.RELEASED_ON_NORMAL_PATH_ONLY or not isinstance(node, cst.Call):
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


def risk_in_cleanup(resource: Resource, names: ImportNames) -> bool:
    """The call that can raise before the release runs in a ``finally`` clause itself
    (``finally: jobs.put(None); worker.join()``): the author did release on the exception
    path; only the clean-up code failing would skip it."""
    risky = resource.escape_node
    if resource.fate is not Fate.RELEASED_ON_NORMAL_PATH_ONLY or risky is None:
        return False
    for node in iter_nodes(resource.scope):
        if (
            isinstance(node, cst.Try)
            and node.finalbody is not None
            and any(inner is risky for inner in iter_nodes(node.finalbody))
        ):
            return True
    return False


def process_ends_after(resource: Resource, names: ImportNames) -> bool:
    """``subprocess.Popen(argv); os._exit(0)``: the creating statement is followed, in the
    same block, by a statement that ends the process."""
    if not resource.fate.leaks:
        return False
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
        isinstance(inner, cst.Call) and names.call_name(inner) in specs.PROCESS_EXITS
        for later in body[index + 1 :]
        if isinstance(later, cst.SimpleStatementLine)
        for inner in iter_nodes(later)
    )


Predicate = Callable[[Resource, ImportNames], bool]
# What each exemption tests, and the fate it gives. Tried in this order; the first that holds
# decides.
_EXEMPTIONS: dict[Exemption, tuple[Predicate, Fate]] = {
    Exemption.STORED_AS_KEY: (stored_as_key, Fate.HANDED_OFF),
    Exemption.REBOUND_WHEN_DONE: (rebound_when_done, Fate.RELEASED),
    Exemption.QUIET_RISK: (quiet_risk, Fate.RELEASED),
    Exemption.RISK_IN_CLEANUP: (risk_in_cleanup, Fate.RELEASED),
    Exemption.PROCESS_ENDS_AFTER: (process_ends_after, Fate.HANDED_OFF),
}
