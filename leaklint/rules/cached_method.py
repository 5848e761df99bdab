from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.decorators import CacheDecorators, may_hold_cached_methods
from leaklint.analysis.enums import is_enum_class
from leaklint.analysis.invocations import Invocations
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.scopes import Scopes
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Growth, Span
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts

# Decorators that make a function receive no instance.
NOT_INSTANCE_METHODS = frozenset({"staticmethod", "classmethod"})
# Immutable value classes: equal instances share one cache entry, and they own nothing.
VALUE_BASES = frozenset({"typing.NamedTuple", "builtins.tuple", "collections.namedtuple"})
# First parameters that mean the method is called on classes (metaclass methods).
CLASS_RECEIVERS = frozenset({"cls", "mcs", "mcls", "metacls"})


class CachedMethod(Rule):
    """
    ## What it does
    Flags `functools.cache`, `functools.lru_cache` and `async_lru.alru_cache` on an instance
    method, also through an alias (`memo = lru_cache(maxsize=None)`) and under `@property`.

    An unbounded cache (`functools.cache`, `maxsize=None`) is reported at `high`. It is
    `medium` when the cache is bounded (`lru_cache()`, `maxsize=128`: it pins at most that many
    instances), when the module empties it (`self.method.cache_clear()`), when the class is
    only instantiated by the module body (a process-lifetime singleton), and in test code.

    ## Not flagged
    - static methods, class methods and metaclass methods (no instance in the key);
    - methods of `Enum` classes (a fixed set of members);
    - methods of value classes: `NamedTuple`, classes that define `__hash__` (equal instances
      share one entry);
    - `functools.cached_property`, and per-instance caches built in `__init__`
      (`self.f = lru_cache(...)(self._f)`).

    ## Why is this bad?
    The cache lives on the function, which lives on the class: it keys every entry by `self`
    and so keeps every instance it has seen alive, with everything the instance owns (readers,
    sockets, buffers). An unbounded cache pins every instance for the life of the process; a
    bounded one pins up to `maxsize` of them until they are evicted.

    ## Example
    ```python
    class Report:
        @functools.lru_cache(maxsize=None)
        def totals(self, year):
            return compute(self.rows, year)
    ```

    ## Use instead
    ```python
    class Report:
        def __init__(self, rows):
            self.rows = rows
            self.totals = functools.lru_cache(maxsize=None)(self._totals)  # dies with self

        def _totals(self, year):
            return compute(self.rows, year)
    ```
    or `functools.cached_property` for an argument-free value.
    """

    CODE = "LK202"
    NAME = "cached-method"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.CACHE,), Span.STATEMENT_AND_LINE, growth=Growth.CACHED_METHOD)
    MESSAGE = (
        "`@{api}` on method `{name}` keeps every instance it is called on alive, with all it "
        "owns (`self` is part of the unbounded cache key); build the cache per instance in "
        "`__init__` or use `cached_property`"
    )
    BOUNDED_MESSAGE = (
        "`@{api}` on method `{name}` keeps up to {maxsize} instances alive until they are "
        "evicted (`self` is part of the cache key); build the cache per instance in `__init__` "
        "if the instances own much"
    )
    TRIGGERS = ("lru_cache", "cache", "alru_cache")

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_hold_cached_methods(facts)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        cached = self.analysis(CacheDecorators).cached_function(node)
        if cached is None:
            return
        scope = cached.scope
        if scope.owner is None or not scope.params:
            return
        if scope.params[0] in CLASS_RECEIVERS or _has_decorator(node, NOT_INSTANCE_METHODS):
            return
        names = self.analysis(ImportNames)
        classes = {c.name.value: c for c in self.analysis(Scopes).classes}
        if is_enum_class(scope.owner, names) or _is_value_class(scope.owner, names, classes):
            return
        decorator, spec, api = cached.decorator, cached.spec, cached.api_name
        name = node.name.value
        if not spec.unbounded:
            self.report(
                decorator,
                self.BOUNDED_MESSAGE.format(api=api, name=name, maxsize=spec.maxsize),
                confidence=Confidence.MEDIUM,
            )
            return
        confidence = Confidence.HIGH
        if (
            self._cleared(name)
            or self.analysis(Invocations).is_singleton(scope.owner)
            or is_test_path(self.context.path)
        ):
            confidence = Confidence.MEDIUM
        self.report(decorator, api=api, name=name, confidence=confidence)

    def _cleared(self, name: str) -> bool:
        """``self.get_models.cache_clear()`` somewhere in the module: the owner empties the
        cache when it must (and knows how long its entries live)."""
        return bool(re.search(rf"\b{re.escape(name)}\.cache_clear\(", self.context.source))


def _has_decorator(node: cst.FunctionDef, names: frozenset[str]) -> bool:
    for decorator in node.decorators:
        name: Optional[str] = dotted_name(decorator.decorator)
        if name is not None and name.rsplit(".", 1)[-1] in names:
            return True
    return False


def _is_value_class(
    owner: cst.ClassDef, names: ImportNames, classes: dict[str, cst.ClassDef], depth: int = 4
) -> bool:
    """NamedTuples, and classes (or same-module bases) that define ``__hash__``: instances
    hash by value, so equal ones share one cache entry - the cache holds values, not every
    object that ever asked."""
    if any(
        isinstance(statement, cst.FunctionDef) and statement.name.value == "__hash__"
        for statement in owner.body.body
    ):
        return True
    for base in owner.bases:
        value = base.value.func if isinstance(base.value, cst.Call) else base.value
        if names.qualified_name(value) in VALUE_BASES:
            return True
        parent = classes.get(dotted_name(value) or "")
        if (
            parent is not None
            and parent is not owner
            and depth > 0
            and _is_value_class(parent, names, classes, depth - 1)
        ):
            return True
    return False
