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
def with_managed_names(code: str) -> frozenset[str]:
    """The factories of ``code`` whose every resource ``with`` releases: a call that is the
    item of a ``with`` statement (``with open(p) as f:``) cannot leak."""
    unmanaged = last_names(
        name
        for name, made in (*specs.FACTORIES.items(), *specs.METHOD_FACTORIES.items(),
                           *specs.DISTINCTIVE_METHODS.items())
        if any(spec.code == code and not spec.with_releases for spec in made)
    )
    return factory_names(code) - unmanaged


def _reported(made: tuple[specs.ResourceSpec, ...], code: str) -> bool:
    return any(spec.code == code for spec in made)


def may_create(facts: SourceFacts, code: str) -> bool:
    """Whether the file may create a resource reported under ``code`` outside a ``with``."""
    names = factory_names(code)
    managed = with_managed_names(code)
    return (
        facts.calls_any(names - managed)
        or facts.calls_any(managed, inside_with=False)
        or facts.assigns_any(names)
        or not facts.class_bases.isdisjoint(names)
    )
