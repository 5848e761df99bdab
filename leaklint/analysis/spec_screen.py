"""The cheap first look for the rules of the resources in :mod:`leaklint.analysis.specs`.

Every resource (a file, a socket, a thread, an executor ...) is created by a call of one of its
factories: by its own name (``open(p)``, ``io.open(p)``, ``Path(p).open()``), through an import
alias (``from socket import socket as S``), a name bound to it (``opener = io.open``), an
instance of a class of the module derived from it (``class Worker(threading.Thread)``), or a
module helper whose body makes the call. A file with none of these cannot hold a finding of
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
def unmanaged_factories(code: str) -> tuple[tuple[str, Optional[str]], ...]:
    """(last name, module) of the factories of ``code`` that ``with`` does not release:
    ``("open", "os")`` for ``os.open``; the module is None for a method of a typed object."""
    found: list[tuple[str, Optional[str]]] = []
    for name, made in specs.FACTORIES.items():
        if any(spec.code == code and not spec.with_releases for spec in made):
            module, _, last = name.rpartition(".")
            found.append((last, module))
    for methods in (specs.METHOD_FACTORIES, specs.DISTINCTIVE_METHODS):
        found.extend(
            (method, None)
            for method in last_names(
                key for key, made in methods.items()
                if any(spec.code == code and not spec.with_releases for spec in made)
            )
        )
    return tuple(found)


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


def _managed(facts: SourceFacts, name: str, head: Optional[str], code: str) -> bool:
    """Whether ``with <call of name>(...)`` surely releases what it makes: no factory of
    ``code`` with that name that ``with`` does not release can be the one called."""
    local = name
    name = facts.aliases.get(name, name) if head == local else name
    for last, module in unmanaged_factories(code):
        if last != name:
            continue
        if module is None or head is None:
            return False  # a method of an object of unknown type, or of an expression
        if head == local:  # a bare name: imported from that module?
            if any(
                imported == module and what in (last, local, "*")
                for imported, what in facts.from_imports
            ):
                return False
            continue
        target = facts.module_aliases.get(head, head)
        if target == module or module.startswith(target + ".") or target.startswith(module):
            return False
        if head not in facts.module_aliases:
            return False  # a name bound in the file, maybe to that module or factory
    return True


def _reported(made: tuple[specs.ResourceSpec, ...], code: str) -> bool:
    return any(spec.code == code for spec in made)


def may_create(facts: SourceFacts, code: str) -> bool:
    """Whether the file may create a resource reported under ``code`` outside a ``with``."""
    names = factory_names(code)
    return (
        facts.calls_any(names, inside_with=False)
        or any(
            facts.aliases.get(called, called) in names and not _managed(facts, called, head, code)
            for called, head in facts.with_calls
        )
        or facts.assigns_any(names)
        or not facts.class_bases.isdisjoint(names)
    )
