"""The cheap first look for the rules of the resources in :mod:`leaklint.analysis.specs`.

Every resource (a file, a socket, a thread, an executor ...) is created by a call of one of its
factories, resolved the way the ownership analysis resolves it: a module-level factory by the
qualified name of the called expression through the file's imports (``open(p)``,
``io.open(p)``, ``from socket import socket as S``), a method of a typed object only when the
file names a constructor of that type (``Path(p).open()``), an instance of a class of the
module derived from a factory that runs once started (``class Worker(threading.Thread)``), or
a module helper whose body makes the call. A file with none of these cannot hold a finding of
the resource's rule. A call that is the item of a ``with`` releasing the resource
(``with open(p) as f:``) is managed and does not count.
"""

from __future__ import annotations

import functools
from typing import Optional

from leaklint.analysis import specs
from leaklint.screen import SourceFacts, last_names


@functools.cache
def factory_names(code: str) -> frozenset[str]:
    """The last names of every call that creates a resource reported under ``code``:
    ``open``, ``fdopen``, ``makefile`` ... for LK301."""
    return (
        last_names(name for name, made in specs.FACTORIES.items() if _reported(made, code))
        | last_names(key for key, made in specs.METHOD_FACTORIES.items() if _reported(made, code))
        | last_names(
            name for name, made in specs.DISTINCTIVE_METHODS.items() if _reported(made, code)
        )
    )


@functools.cache
def text_triggers(code: str) -> tuple[str, ...]:
    """Words one of which the text of a file must contain for it to create a resource reported
    under ``code``: for each factory, a word its every use spells. A module-level factory
    ``m.f`` is named ``f`` by any call (``f(...)``, ``m.f(...)``, ``from m import f as g``)
    and, unless it is a builtin, needs ``m`` spelled (imported or written out); the longer of
    the two is kept (the more telling). A method ``f`` of a typed object is spelled ``f``, and
    its receiver's type is known only from a call of one of the type's constructors (or an
    annotation), which spells the constructor's module."""
    words: set[str] = set()
    for name, made in specs.FACTORIES.items():
        if _reported(made, code):
            module, _, last = name.rpartition(".")
            top = module.split(".", 1)[0]
            words.add(top if top != "builtins" and len(top) >= len(last) else last)
    for (owner, method), made in specs.METHOD_FACTORIES.items():
        if _reported(made, code):
            modules = {
                constructor.split(".", 1)[0]
                for constructor, made_type in specs.TYPE_CONSTRUCTORS.items()
                if made_type == owner
            }
            if modules and "builtins" not in modules and min(map(len, modules)) >= len(method):
                words.update(modules)
            else:
                words.add(method)
    words.update(
        method for method, made in specs.DISTINCTIVE_METHODS.items() if _reported(made, code)
    )
    # A word that contains another adds nothing to a substring test (`open` finds `fdopen`).
    return tuple(sorted(
        word for word in words if not any(other != word and other in word for other in words)
    ))


def _reported(made: tuple[specs.ResourceSpec, ...], code: str) -> bool:
    return any(spec.code == code for spec in made)


def may_create(facts: SourceFacts, code: str) -> bool:
    """Whether the file may create a resource reported under ``code`` outside a ``with`` that
    releases it."""
    names = factory_names(code)
    return (
        any(
            (name in names or facts.aliases.get(name) in names)
            and _may_create_at(facts, name, dotted, in_with, code)
            for name, dotted, in_with in facts.calls
        )
        or not facts.class_bases.isdisjoint(_subclassable_names(code))
    )


def _may_create_at(facts: SourceFacts, name: str, dotted: Optional[str], in_with: bool,
                   code: str) -> bool:
    """Whether a call named ``name`` may create a resource of ``code``, the way the ownership
    analysis resolves calls: a module-level factory by the qualified name of the called
    expression (through the file's imports), a method of a typed object only when the file
    names a constructor of that type (a call or an annotation is how the analysis learns a
    receiver's type), a distinctive method or a task API by its name alone."""
    found: list[specs.ResourceSpec] = []
    if dotted is not None:
        for qualified in facts.qualified_names(dotted):
            found.extend(specs.FACTORIES.get(qualified, ()))
    if dotted is None or "." in dotted:
        for owner in _method_owners(code).get(name, ()):
            if facts.names_any(_constructor_names(owner)):
                found.extend(specs.METHOD_FACTORIES[owner, name])
        found.extend(specs.DISTINCTIVE_METHODS.get(name, ()))
    found.extend(_by_name_only(code))
    return any(spec.code == code and not (in_with and spec.with_releases) for spec in found)


@functools.cache
def _subclassable_names(code: str) -> frozenset[str]:
    """The last names of the factories of ``code`` whose subclasses in the module create it
    too (``class Worker(threading.Thread)``): the classes that run code once started."""
    return last_names(
        name for name, made in specs.FACTORIES.items()
        if _reported(made, code) and made[0].activation_methods
    )


@functools.cache
def _method_owners(code: str) -> dict[str, tuple[str, ...]]:
    """Method name -> the types whose method of that name creates a resource of ``code``."""
    owners: dict[str, list[str]] = {}
    for (owner, method), made in specs.METHOD_FACTORIES.items():
        if _reported(made, code):
            owners.setdefault(method, []).append(owner)
    return {method: tuple(types) for method, types in owners.items()}


@functools.cache
def _constructor_names(owner: str) -> frozenset[str]:
    """The last names of the calls and annotations that give an object the type ``owner``:
    every way to them spells one (in the call or in the import that binds it)."""
    return last_names(
        constructor for constructor, made in specs.TYPE_CONSTRUCTORS.items() if made == owner
    )


@functools.cache
def _by_name_only(code: str) -> tuple[specs.ResourceSpec, ...]:
    """The specs of ``code`` that a call of one of its factories' names creates whatever it
    is called on: tasks, made by a method of any event loop (``loop.create_task``) as by
    ``asyncio``'s functions."""
    return tuple(
        spec for made in specs.FACTORIES.values() for spec in made
        if spec.code == code and spec.kind is specs.Kind.TASK
    )
