"""Memoizing decorators: which decorator is a cache, and how many entries it keeps.

Shared by LK202 (a cache on a method pins the instances) and LK203 (an unbounded cache on a
module-level function). Resolves aliases made in the module body: ``memo = lru_cache(maxsize=None)``
then ``@memo``, and ``cached = functools.lru_cache`` then ``@cached(maxsize=32)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import SourceFacts, last_names
from leaklint.syntax import code_of, top_level_bindings

# API -> the maxsize it uses when called bare (None: unbounded).
CACHE_APIS: dict[str, Optional[int]] = {
    "functools.lru_cache": 128,
    "functools.cache": None,
    "async_lru.alru_cache": 128,
}
# Calling these returns the decorator; `functools.cache` takes the function directly.
CACHE_FACTORIES = frozenset({"functools.lru_cache", "async_lru.alru_cache"})
UNBOUNDED = "unbounded"


def may_hold_cache_decorators(facts: SourceFacts) -> bool:
    """A cache decorator names its API somewhere: in an import, at the decorator, or in a
    module-level alias (`memo = lru_cache(maxsize=None)`)."""
    return facts.decorated and facts.names_any(last_names(CACHE_APIS))


def may_hold_cached_methods(facts: SourceFacts) -> bool:
    """Some method's decorator may be a cache: it names a cache API (or an import alias of
    one) or a name the file binds (``memo = lru_cache(maxsize=None)``)."""
    apis = last_names(CACHE_APIS)
    return may_hold_cache_decorators(facts) and any(
        facts.aliases.get(name, name) in apis or name in facts.bound_names
        for name in facts.method_decorators
    )


@dataclass(frozen=True)
class CacheSpec:
    """A memoizing decorator: its API and its bound (``UNBOUNDED`` or the size as written)."""

    api: str
    maxsize: str

    @property
    def unbounded(self) -> bool:
        return self.maxsize == UNBOUNDED


def _maxsize(call: cst.Call) -> str:
    for position, arg in enumerate(call.args):
        if (arg.keyword is None and position == 0) or (
            arg.keyword is not None and arg.keyword.value == "maxsize"
        ):
            value = arg.value
            if isinstance(value, cst.Name) and value.value == "None":
                return UNBOUNDED
            if isinstance(value, cst.Integer):
                return value.value
            return code_of(value)
    return "128"


@dataclass(frozen=True)
class CachedFunction:
    """A function under a memoizing decorator."""

    decorator: cst.Decorator
    spec: CacheSpec
    scope: FunctionScope

    @property
    def api_name(self) -> str:
        """The decorator's own name: ``lru_cache`` of ``functools.lru_cache``."""
        return self.spec.api.rsplit(".", 1)[-1]


class CacheDecorators(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        # Module-level names bound to a cache decorator (`memo = lru_cache(maxsize=None)`) or to
        # a cache factory (`cached = functools.lru_cache`).
        self.decorator_aliases: dict[str, CacheSpec] = {}
        self.factory_aliases: dict[str, str] = {}
        for statement, name, value in top_level_bindings(context.module):
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                self._alias(name, value)

    def _alias(self, name: str, value: cst.BaseExpression) -> None:
        spec = self.spec(value)
        if spec is not None:
            self.decorator_aliases[name] = spec
        api = self.names.qualified_name(value)
        if api in CACHE_FACTORIES:
            self.factory_aliases[name] = api

    def spec(self, expr: cst.BaseExpression) -> Optional[CacheSpec]:
        """The cache ``expr`` applies when used as a decorator, or None."""
        if isinstance(expr, cst.Call):
            factory = self._factory(expr.func)
            if factory is None:
                return None
            return CacheSpec(factory, _maxsize(expr))
        if isinstance(expr, cst.Name) and expr.value in self.decorator_aliases:
            return self.decorator_aliases[expr.value]
        api = self.names.qualified_name(expr)
        if api is None and isinstance(expr, cst.Name):
            api = self.factory_aliases.get(expr.value)
        if api in CACHE_APIS:
            bare = CACHE_APIS[api]
            return CacheSpec(api, UNBOUNDED if bare is None else str(bare))
        return None

    def _factory(self, func: cst.BaseExpression) -> Optional[str]:
        if isinstance(func, cst.Name) and func.value in self.factory_aliases:
            return self.factory_aliases[func.value]
        api = self.names.qualified_name(func)
        return api if api in CACHE_FACTORIES else None

    def cached_function(self, node: cst.FunctionDef) -> Optional[CachedFunction]:
        """``node`` with its first cache decorator, or None if it has none."""
        for decorator in node.decorators:
            spec = self.spec(decorator.decorator)
            if spec is not None:
                scope = self.context.analysis(Scopes).by_node.get(node)
                return None if scope is None else CachedFunction(decorator, spec, scope)
        return None
