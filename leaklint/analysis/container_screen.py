"""The cheap first look for the container rules (LK201, LK206), on the stdlib ``ast``.

A module-level or class-level container is made by a ``dict``/``list``/``set`` literal or a call
of one of :data:`~leaklint.analysis.containers.CONTAINER_CALLS` bound at module or class level;
these predicates keep every file where :class:`~leaklint.analysis.containers.ContainerDefinitions`
could find one (they are broader: every branch of ``if``/``try``, every target).
"""

from __future__ import annotations

import ast

from leaklint.analysis.containers import CONTAINER_CALLS, GROW_METHODS
from leaklint.screen import SourceFacts, last_names, spelled_twice, top_level_bindings

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
    return any(
        (name in grown or (name in read_grows and name in facts.subscripted))
        and spelled_twice(name, text)
        for name in names
    )


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
