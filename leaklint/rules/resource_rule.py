"""The shared shape of the resource rules (LK301-LK306): report each leaked resource of the
rule's code from the ownership analysis, with the standard message."""

from __future__ import annotations

import functools

from leaklint.analysis import specs
from leaklint.analysis.confidence import resource_confidence
from leaklint.analysis.ownership import Ownership, leak_message
from leaklint.rule import Rule
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


class ResourceRule(Rule):
    MESSAGE = "{message}"

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        """Every resource is created by a call of one of its factories (by name, through an
        import alias, or through a name bound to the factory), or by a module helper whose
        body makes that call; one created as the item of a `with` that releases it is
        managed."""
        names = factory_names(cls.CODE)
        managed = with_managed_names(cls.CODE)
        return (
            facts.calls_any(names - managed)
            or facts.calls_any(managed, inside_with=False)
            or facts.assigns_any(names)
        )

    def finish(self) -> None:
        ownership = self.analysis(Ownership)
        reported = set()
        for resource in ownership.leaks(self.CODE):
            # One finding per creating call (mkstemp's fd and path are one call).
            if resource.call in reported:
                continue
            reported.add(resource.call)
            self.report(
                resource.call,
                leak_message(resource, self.context),
                confidence=resource_confidence(resource, self.context.path),
            )
