"""The cheap first look for the container rules (LK201, LK206), on the stdlib ``ast``.

A module-level or class-level container is made by a ``dict``/``list``/``set`` literal or a call
of one of :data:`~leaklint.analysis.containers.CONTAINER_CALLS` bound at module or class level;
these predicates keep every file where :class:`~leaklint.analysis.containers.ContainerDefinitions`
could find one (they are broader: every branch of ``if``/``try``, every target).
"""

from __future__ import annotations

import ast
import re

from leaklint.analysis.containers import CONTAINER_CALLS, EVICT_METHODS, GROW_METHODS
from leaklint.screen import (
    ReadFields,
    SourceFacts,
    last_names,
    push_children,
    spelled_twice,
    top_level_bindings,
)

CONTAINER_CALL_NAMES = last_names(CONTAINER_CALLS)
# Containers that insert a key when it is read (`d[k].append(v)` grows a defaultdict).
INSERTING_ON_READ = last_names(
    name for name, kind in CONTAINER_CALLS.items() if kind.inserts_on_read
)
_LITERALS = (ast.Dict, ast.List, ast.Set)


def may_make_container(value: ast.expr, facts: SourceFacts) -> bool:
    if isinstance(value, _LITERALS):
        return True
    return isinstance(value, ast.Call) and facts.last_name(value.func) in CONTAINER_CALL_NAMES


def container_names(facts: SourceFacts) -> frozenset[str]:
    """Names bound at module or class level to something that may be a container."""
    return frozenset(
        name
        for name, value in top_level_bindings(facts.tree)
        if may_make_container(value, facts)
    )


def _inserting_on_read(facts: SourceFacts) -> frozenset[str]:
    """Names bound at module or class level to a call that may make a defaultdict."""
    return frozenset(
        name
        for name, value in top_level_bindings(facts.tree)
        if isinstance(value, ast.Call)
        and facts.last_name(value.func) in INSERTING_ON_READ
    )


def may_grow_container(facts: SourceFacts, text: str) -> bool:
    """Some module-level or class-level container may grow in a function: growing one at run
    time (by name, ``self.x``, ``Class.x``, through a local alias or a helper) spells its name
    in a function as the receiver of a growing method, the target of a store, an argument or
    an assigned value; reading ``x[k]`` grows only a defaultdict. A module-level alias
    (``alias = CACHE``) is followed too."""
    names = set(container_names(facts))
    bindings = top_level_bindings(facts.tree)
    grew = True
    while grew:
        before = len(names)
        names.update(
            name for name, value in bindings if isinstance(value, ast.Name) and value.id in names
        )
        grew = len(names) > before
    grown = _may_be_grown(facts) | facts.aliased
    read_grows = _inserting_on_read(facts)
    candidates = [
        name for name in names
        if (name in grown or (name in read_grows and name in facts.subscripted))
        and spelled_twice(name, text)
    ]
    if not candidates:
        return False
    # A container the module surely evicts is never reported, however it grows. The walk
    # that makes sure is paid only when the text spells an eviction of one of them.
    if not _spells_an_eviction(candidates, text):
        return True
    evicted = surely_evicted(facts.tree) - _class_level_names(facts.tree)
    return any(name not in evicted for name in candidates)


def _spells_an_eviction(names: list[str], text: str) -> bool:
    """Whether the text may evict one of ``names`` in a way :func:`surely_evicted` counts:
    ``N.pop``, ``del ... N[``, ``len(N)``, ``N[a:b]``. Only a shortcut: a shape it misses
    keeps the file."""
    either = "|".join(map(re.escape, names))
    methods = "|".join(sorted(EVICT_METHODS))
    pattern = (
        rf"\b(?:{either})\s*\.\s*(?:{methods})\b|\bdel\b[^\n]*\b(?:{either})\b"
        rf"|\blen\(\s*(?:{either})\s*\)|\b(?:{either})\s*\[[^\]\n]*:"
    )
    return re.search(pattern, text) is not None


def may_have_mutable_default(facts: SourceFacts) -> bool:
    """Some ``def`` has a default that is a container literal, a container call, or a name
    bound to a module-level container, for a parameter that the ``def`` itself may grow."""
    names = None
    grown = _may_be_grown(facts)
    for function, param, default in facts.defaults:
        if param not in grown or param not in facts.changed_in.get(function, ()):
            continue
        if may_make_container(default, facts):
            return True
        if isinstance(default, ast.Name):
            if names is None:
                names = container_names(facts)
            if default.id in names:
                return True
    return False


def _may_be_grown(facts: SourceFacts) -> set[str]:
    """Last names a function may grow, as :meth:`Containers.grown_targets` and its helpers
    find growth: receivers of a growing method, containers of a subscript store, targets of an
    augmented assignment, and arguments passed to a name the file binds (a helper that may
    grow its parameter, a class, or an alias of either)."""
    grown = {receiver for receiver, method in facts.method_calls if method in GROW_METHODS}
    grown.update(facts.subscript_stores, facts.augmented)
    grown.update(passed for callee, passed in facts.call_args if callee in facts.bound_names)
    return grown


def surely_evicted(tree: ast.Module) -> frozenset[str]:
    """Module-level names that :class:`~leaklint.analysis.containers.Containers` surely finds
    evicted: a bare name evicted by an eviction method (``N.pop``, called or not), ``del
    N[k]``, a slice store ``N[a:b] = v`` or a comparison of ``len(N)``, where no function or
    lambda of the file binds the name (so every use resolves to the module's binding,
    whatever the scope). Annotations are left out: the analysis does not read them."""
    evictions: set[str] = set()
    bound_in_functions: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if in_function and type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                bound_in_functions.add(node.id)  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant or kind in _UNREAD:
            continue
        if in_function and kind in _BINDERS:
            bound_in_functions.update(_names_bound_by(node))
        if kind in _EVICTERS:
            _note_evictions(node, evictions)
        push_children(stack, node, in_function or kind in _FUNCTION_NODES, _READ_FIELDS)
    return frozenset(evictions - bound_in_functions)


_FUNCTION_NODES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
# Parts of the tree the analysis does not scan: annotations, type parameters, and ``type X =
# ...`` on Pythons that have it.
_READ_FIELDS = ReadFields(frozenset({"annotation", "returns", "type_params"}))
_UNREAD = frozenset(
    getattr(ast, name) for name in ("TypeAlias",) if hasattr(ast, name)
)
# Nodes other than names that bind a name, and the nodes that may evict.
_BINDERS = frozenset(
    getattr(ast, name)
    for name in (
        "arg", "FunctionDef", "AsyncFunctionDef", "ClassDef", "Import", "ImportFrom", "Global",
        "Nonlocal", "ExceptHandler", "MatchAs", "MatchStar", "MatchMapping",
    )
    if hasattr(ast, name)  # match statements: Python 3.10 and later
)
_EVICTERS = frozenset({ast.Attribute, ast.Delete, ast.Assign, ast.Compare})


def _names_bound_by(node: ast.AST) -> list[str]:
    """Names a node other than a ``Name`` binds in the function it is in: parameters,
    nested definitions, imports, ``except ... as``, match captures, and ``global`` or
    ``nonlocal`` declarations (counted as bindings: the screen need only err towards
    keeping a file)."""
    kind = type(node)
    if kind is ast.arg:
        return [node.arg]  # type: ignore[attr-defined]
    if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        return [node.name]  # type: ignore[attr-defined]
    if kind in (ast.Import, ast.ImportFrom):
        return [
            alias.asname or alias.name.split(".", 1)[0]
            for alias in node.names  # type: ignore[attr-defined]
        ]
    if kind in (ast.Global, ast.Nonlocal):
        return list(node.names)  # type: ignore[attr-defined]
    found = [getattr(node, field, None) for field in ("name", "rest")]
    return [name for name in found if type(name) is str]


def _note_evictions(node: ast.AST, evictions: set[str]) -> None:
    kind = type(node)
    if kind is ast.Attribute:
        value = node.value  # type: ignore[attr-defined]
        if node.attr in EVICT_METHODS and type(value) is ast.Name:  # type: ignore[attr-defined]
            evictions.add(value.id)
    elif kind is ast.Delete:
        targets: list[ast.expr] = list(node.targets)  # type: ignore[attr-defined]
        while targets:
            target = targets.pop()
            if isinstance(target, (ast.Tuple, ast.List)):
                targets.extend(target.elts)
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                evictions.add(target.value.id)
    elif kind is ast.Assign:
        for target in node.targets:  # type: ignore[attr-defined]
            if (
                type(target) is ast.Subscript
                and type(target.slice) is ast.Slice
                and type(target.value) is ast.Name
            ):
                evictions.add(target.value.id)
    elif kind is ast.Compare:
        for operand in (node.left, *node.comparators):  # type: ignore[attr-defined]
            if (
                type(operand) is ast.Call
                and type(operand.func) is ast.Name
                and operand.func.id == "len"
                and len(operand.args) == 1
                and not operand.keywords
                and type(operand.args[0]) is ast.Name
            ):
                evictions.add(operand.args[0].id)


def _class_level_names(tree: ast.Module) -> frozenset[str]:
    """Names bound in any class body outside functions (as :func:`top_level_bindings` finds
    them): a class attribute of the name may be a container of its own."""
    return frozenset(name for name, _ in top_level_bindings(tree, classes_only=True))
