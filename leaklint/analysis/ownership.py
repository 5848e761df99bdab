"""Ownership: for every leakable object created in a scope, its fate when the scope ends.

How a rule uses it::

    from leaklint.analysis.ownership import Ownership

    class FileNotClosed(LeakRule):
        def finish(self) -> None:
            ownership = self.analysis(Ownership)
            for resource in ownership.leaks("LK301"):
                self.report(resource.call, self.leak_message(resource))

- ``Ownership.resources`` is every :class:`Resource` of the file (a frozen record: the creating
  ``call`` node, its ``spec`` from ``specs.py`` with the ``kind`` and rule ``code``, the ``api``
  as written, the ``label`` (variable name), the :class:`Fate`, the :class:`Escape` path and the
  node it happens at, ``risky_call`` text for the exception path).
- ``Ownership.leaks(code)`` are the resources of one rule whose fate leaks (``Fate.leaks``:
  DROPPED, LEAKED, RELEASED_ON_NORMAL_PATH_ONLY); ``Ownership.of_kind(kind)`` all of one kind;
  ``Ownership.at(call)`` the resources a call creates.
- The words of the findings are the rules' (``leaklint.rules.leak_rule.LeakRule``).

To teach it a new resource, add a ``ResourceSpec`` to ``specs.FACTORIES`` (module-level callables)
or ``specs.METHOD_FACTORIES`` (methods of a typed receiver): kind, rule code, release methods or
functions, whether ``with`` releases it, activation methods (``start``), keyword conditions.

How it works (modules ``ownership_*``): the scopes of the file (module, classes, functions,
lambdas) come from the shared model in ``scopes``; ``ownership_creations`` resolves creating
calls (imports, local shadowing, ``Path``/``SSLContext`` receivers, in-module factory
functions) and places each one: what the expression around it does with the object (dropped
inline, managed, handed off, or bound to names);
``concurrency_creations`` extends that resolver to the creations no factory table names (the
module's own Thread/Timer/Process subclasses, tasks created on any event loop);
``ownership_flow`` walks the scope's paths for a bound object; ``ownership_calls`` holds the
named predicates deciding whether a call releases, takes or borrows what it is given;
``ownership_exemptions`` the shapes that exempt a leak of a kind, switched on by its spec
(``await_releases``, ``held_weakly``, ``exemptions``) and tried where the fate is settled.

Decisions that keep it quiet on correct code (each has a unit test in tests/test_ownership.py):
a name only binds the object on paths where it is live; an ``if`` whose test reads the object,
a boolean ownership flag, a name that decided its creation or a platform constant guards the
release in it; exception paths count only through operations on the object (any call for
threads and other work-running kinds: ``spec.any_call_can_raise``), not inside ``finally``,
and before a hand-off only for network resources (``spec.exception_before_handoff``); code in
``if __name__ == "__main__":`` and after ``sys.exit()``/``raise SystemExit`` leaks nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Callable, Optional, TypeVar

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.concurrency_creations import WorkResolver, local_subclass_specs
from leaklint.analysis.names import ImportNames
from leaklint.analysis.ownership_calls import summarize_helper
from leaklint.analysis.ownership_creations import (
    Creation,
    Placement,
    Placer,
    Resolver,
)
from leaklint.analysis.ownership_exemptions import exempted
from leaklint.analysis.ownership_flow import FlowWalk, Status
from leaklint.analysis.ownership_model import Escape, Fate, Resource, ScopeNode
from leaklint.analysis.scopes import Scope, Scopes
from leaklint.analysis.specs import Kind
from leaklint.analysis.tasks import TASK_CALL_WORDS
from leaklint.file_context import Analysis, FileContext
from leaklint.syntax import code_of, last_name

__all__ = ["Escape", "Fate", "Kind", "Ownership", "Resource"]

_FACTORY_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in specs.FACTORIES) | frozenset(
    method for _, method in specs.METHOD_FACTORIES
) | frozenset(specs.DISTINCTIVE_METHODS) | frozenset(TASK_CALL_WORDS)
_TEXT_TRIGGERS = frozenset(
    name.rsplit(".", 1)[-1] for name in (*specs.FACTORIES, *specs.TYPE_CONSTRUCTORS)
) | frozenset(specs.DISTINCTIVE_METHODS) | frozenset(TASK_CALL_WORDS)
_LEAKING_ESCAPES = frozenset(
    {Escape.NEVER_RELEASED, Escape.EARLY_RETURN, Escape.RAISE, Escape.REBOUND, Escape.LOOP,
     Escape.SOME_PATHS, Escape.WITH_DOES_NOT_RELEASE}
)
_NOT_FACTORY_DECORATORS = frozenset({"property", "contextmanager", "asynccontextmanager",
                                     "cached_property", "fixture"})


@functools.lru_cache(maxsize=32)
def _calls_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """Text that may be a call of one of ``names``: the name, then blanks, line continuations
    or comments, then ``(``. Broad on purpose (strings and comments match too)."""
    alternatives = "|".join(sorted(map(re.escape, names)))
    return re.compile(rf"\b(?:{alternatives})\b(?:\s|\\|#[^\n]*)*\(")


class Ownership(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.resources: tuple[Resource, ...] = ()
        self._by_call: dict[cst.Call, list[Resource]] = {}
        # Cheap text prefilter: some factory, typed receiver or task API must be named in the
        # file.
        if not any(name in context.source for name in _TEXT_TRIGGERS):
            return
        names = context.analysis(ImportNames)
        local_specs = local_subclass_specs(context.module, names)
        # Local names of imported factories: `from socket import socket as S`; the module's
        # own subclasses of Thread, Timer and Process.
        candidates = _FACTORY_NAMES | frozenset(local_specs) | frozenset(
            local for local, full in names.aliases.items()
            if full in specs.FACTORIES or full in specs.TYPE_CONSTRUCTORS
        )
        # Every resource is made by a call of one of these names; a file that never calls one
        # (most files: `open` or `get` named in a docstring) skips the scope index.
        if not _calls_pattern(candidates).search(context.source):
            return
        index = context.analysis(Scopes)
        resolver = WorkResolver(context, names, index, _LazySummaries(index, names), local_specs)
        resources = _analyse(index, resolver, candidates)
        factories = _factories(index, resources)
        if factories:
            resolver.factories = factories
            candidates = candidates | {node.name.value for node in factories}
            resources = _analyse(index, resolver, candidates)
        self.resources = tuple(resources)
        for resource in self.resources:
            self._by_call.setdefault(resource.call, []).append(resource)

    def at(self, call: cst.Call) -> list[Resource]:
        return self._by_call.get(call, [])

    def of_kind(self, kind: Kind) -> Iterator[Resource]:
        return (resource for resource in self.resources if resource.spec.kind is kind)

    def leaks(self, code: str) -> Iterator[Resource]:
        """The leaked resources of one rule, one per defect: the twins of an ``if``/``else``
        that create the same name and leak at the same place (``if tls: s = ctx.wrap_socket(
        ...) else: s = ctx.wrap_socket(...)``, then a call that can raise) are one gap."""
        leaked = [r for r in self.resources if r.spec.code == code and r.fate.leaks]
        yield from first_of_each_defect(leaked, self.context, lambda r: r)


T = TypeVar("T")


def first_of_each_defect(
    items: list[T], context: FileContext, resource_of: Callable[[T], Resource]
) -> Iterator[T]:
    """The item of each defect whose resource is created first in the file (the first of an
    ``if``/``else`` pair is where a reader looks), in the order of ``items``."""
    first: dict[tuple[object, ...], T] = {}
    for item in items:
        defect = defect_of(resource_of(item))
        known = first.get(defect)
        if known is None or _starts_before(resource_of(item), resource_of(known), context):
            first[defect] = item
    chosen = {id(item) for item in first.values()}
    return (item for item in items if id(item) in chosen)


def _starts_before(one: Resource, other: Resource, context: FileContext) -> bool:
    start, other_start = context.position(one.call).start, context.position(other.call).start
    return (start.line, start.column) < (other_start.line, other_start.column)


def defect_of(resource: Resource) -> tuple[object, ...]:
    """What makes two leaked resources one defect: the same creating call, or the same name
    of the same scope leaking at the same node."""
    if resource.label is not None and resource.escape_node is not None:
        return (id(resource.scope), resource.label, id(resource.escape_node))
    return (resource.call,)


class _LazySummaries(dict):  # type: ignore[type-arg]
    """Helper summaries computed on first use: most functions of a file are never called with
    a resource, and summarising each one walks its whole body."""

    def __init__(self, index: Scopes, names: ImportNames) -> None:
        super().__init__()
        self.names = names
        self.is_method = {node: False for node in index.top_level_functions.values()}
        for methods in index.methods.values():
            self.is_method.update({node: True for node in methods.values()})

    def get(self, node: object, default: object = None) -> object:
        if node in self:
            return super().__getitem__(node)
        if node not in self.is_method:
            return default
        assert isinstance(node, cst.FunctionDef)
        summary = summarize_helper(node, self.is_method[node], self.names)
        self[node] = summary
        return summary

    def __missing__(self, node: object) -> object:
        found = self.get(node)
        if found is None:
            raise KeyError(node)
        return found

    def __contains__(self, node: object) -> bool:
        return dict.__contains__(self, node)


def _analyse(index: Scopes, resolver: Resolver, candidates: frozenset[str]) -> list[Resource]:
    placer = Placer(resolver)
    found: list[Resource] = []
    for scope in index.scopes:
        for node in scope.own_nodes:
            # `type(...) is`: isinstance against libcst's ABCs is slow, and this sees every node.
            if type(node) is not cst.Call or last_name(node.func) not in candidates:
                continue
            for creation in resolver.creations(node, scope):
                found.append(_settle(creation, scope, placer, resolver))
    return found


def _settle(creation: Creation, scope: Scope, placer: Placer, resolver: Resolver) -> Resource:
    """The fate of one creation: what the expression around it and the path walk say, unless
    an exemption of its kind holds (``ownership_exemptions``)."""
    walked = _walk(creation, scope, placer, resolver)
    exemption = exempted(walked, resolver.index.parents, resolver.names)
    if exemption is None:
        return walked
    fate, escape = exemption
    return replace(walked, fate=fate, escape=escape)


def _walk(creation: Creation, scope: Scope, placer: Placer, resolver: Resolver) -> Resource:
    placement = placer.place(creation, scope)
    label = (placement.aliases or placement.holders or (None,))[0]
    if isinstance(scope.node, cst.Module) and _in_main_block(creation.call, resolver):
        # `if __name__ == "__main__":` code runs once and the process ends right after.
        return _resource(creation, scope.node, placement, Fate.HANDED_OFF, label)
    if _expected_to_fail(creation.call, resolver):
        # `with pytest.raises(OSError): socket.create_connection(dead)`: the constructor is
        # the call expected to raise, so nothing is created.
        return _resource(creation, scope.node, placement, Fate.HANDED_OFF, label)
    if placement.fate is not None:
        return _resource(creation, scope.node, placement, placement.fate, label)
    if not scope.is_function:
        return _resource(creation, scope.node, placement, Fate.HANDED_OFF, label)
    flow = FlowWalk(creation, placement, scope, resolver).run()
    if flow.escape in _LEAKING_ESCAPES:
        fate = Fate.LEAKED
    elif flow.escape is Escape.EXCEPTION and (
        creation.spec.exception_before_handoff or Status.ESCAPED not in flow.final
    ):
        fate = Fate.RELEASED_ON_NORMAL_PATH_ONLY
    elif Status.ESCAPED in flow.final or Status.LOST in flow.final:
        fate = Fate.HANDED_OFF
    elif Status.MANAGED in flow.final:
        fate = Fate.MANAGED
    elif Status.CLOSED in flow.final:
        fate = Fate.RELEASED
    elif Status.INERT in flow.final:
        fate = Fate.INACTIVE
    else:
        fate = Fate.HANDED_OFF
    risky = code_of(flow.escape_node) if flow.escape is Escape.EXCEPTION and (
        flow.escape_node is not None
    ) else None
    return Resource(
        call=creation.call, spec=creation.spec, api=creation.api, label=label, fate=fate,
        escape=flow.escape, scope=scope.node, escape_node=flow.escape_node, risky_call=risky,
        returned=flow.returned and fate is Fate.HANDED_OFF,
        attributes_set=flow.attributes_set,
        kept_on_success=Status.ESCAPED in flow.final,
        windows_only=_windows_only(creation.call, resolver),
    )


def _in_main_block(call: cst.Call, resolver: Resolver) -> bool:
    parents = resolver.index.parents
    node: Optional[cst.CSTNode] = call
    while node is not None:
        if isinstance(node, cst.If) and "__main__" in code_of(node.test):
            return True
        node = parents.get(node)
    return False


def _windows_only(call: cst.Call, resolver: Resolver) -> bool:
    """Whether ``call`` runs only on Windows: in the body of ``if sys.platform == "win32":``,
    ``if sys.platform.startswith("win")``, ``if sys.platform[:3] == "win"`` or
    ``if os.name == "nt":``."""
    parents = resolver.index.parents
    node: cst.CSTNode = call
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda)):
        if isinstance(parent, cst.If) and node is parent.body and _tests_for_windows(parent.test):
            return True
        node, parent = parent, parents.get(parent)
    return False


def _tests_for_windows(test: cst.BaseExpression) -> bool:
    text = code_of(test).replace("'", '"').replace(" ", "")
    return text in (
        'sys.platform=="win32"', 'sys.platform.startswith("win")', 'sys.platform[:3]=="win"',
        'os.name=="nt"', 'platform.system()=="Windows"',
    )


_RAISES_CONTEXTS = frozenset({"raises", "assertRaises", "assertRaisesRegex"})


def _expected_to_fail(call: cst.Call, resolver: Resolver) -> bool:
    """Whether ``call`` is in the last statement of a ``with pytest.raises(...)`` (or
    ``self.assertRaises(...)``) block: the statement the test expects to raise."""
    parents = resolver.index.parents
    node: cst.CSTNode = call
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda)):
        if isinstance(parent, cst.IndentedBlock) and isinstance(parents.get(parent), cst.With):
            block_owner = parents.get(parent)
            assert isinstance(block_owner, cst.With)
            last = parent.body[-1] if parent.body else None
            if node is last and any(
                isinstance(item.item, cst.Call) and last_name(item.item.func) in _RAISES_CONTEXTS
                for item in block_owner.items
            ):
                return True
        node, parent = parent, parents.get(parent)
    return False


def _resource(creation: Creation, scope: ScopeNode, placement: Placement, fate: Fate,
              label: Optional[str]) -> Resource:
    return Resource(
        call=creation.call, spec=creation.spec, api=creation.api, label=label, fate=fate,
        escape=placement.escape, scope=scope, escape_node=placement.escape_node,
        returned=placement.returned,
    )


def _factories(index: Scopes, resources: list[Resource]) -> dict[cst.FunctionDef, Creation]:
    """Functions of this module that return a resource they create: their callers own it."""
    found: dict[cst.FunctionDef, Creation] = {}
    for resource in resources:
        scope = resource.scope
        if not resource.returned or not isinstance(scope, cst.FunctionDef):
            continue
        if scope.name.value.startswith("__") or _is_generator(scope):
            continue
        decorators = {last_name(d.decorator) for d in scope.decorators}
        if decorators & _NOT_FACTORY_DECORATORS:
            continue
        if scope not in found and (
            scope in index.top_level_functions.values()
            or any(scope in methods.values() for methods in index.methods.values())
        ):
            found[scope] = Creation(resource.call, resource.spec, resource.api)
    return found


def _is_generator(node: cst.FunctionDef) -> bool:
    from leaklint.walker import iter_nodes

    return any(isinstance(inner, cst.Yield) for inner in iter_nodes(node.body))
