"""Views of a part of a large buffer that leave their function while the buffer is dropped.

A ``memoryview`` slice and a numpy view (basic slicing, ``.view()``, ``.reshape()``) share the
memory of the object they were made from: however small the part, the whole buffer lives as
long as the view (``view.obj`` / ``view.base``). For every function, computed once per file:

* which locals hold a large buffer (:class:`~leaklint.analysis.closures.LargeValues`, the same
  judgement and size folding as LK401) and whether it is a numpy array or bytes-like;
* which expressions make a view of a *part* of one (a slice somewhere in the chain), directly
  or through locals bound to a ``memoryview`` of the buffer or to a view;
* which of those views escape: returned, yielded, stored on ``self``, a parameter or a module
  global, or added to a container reached from one (``self.parts.append(view)``), while the
  buffer itself does not escape (when it does, the view pins nothing extra).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.closures import (
    NUMPY_ALLOCATORS,
    STORING_METHODS,
    LargeValue,
    LargeValues,
    Outliving,
    Route,
    data_sinks,
    may_be_large_in,
    outlives,
)
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import SourceFacts
from leaklint.syntax import code_of, held_values

# numpy methods that return a view of the same memory (not a copy).
VIEW_METHODS = frozenset({"view", "reshape"})


@functools.cache
def _statements() -> frozenset[type]:
    return frozenset({cst.Assign, cst.Return, cst.Expr, cst.Call, cst.Yield})


_NUMPY = frozenset({"numpy"})


def may_view_large_buffer(facts: SourceFacts) -> bool:
    """Whether a function may take a view of a buffer it allocates or loads: an imported
    numpy beside such a buffer, or ``memoryview`` called on such a buffer's name, or on a name
    it is first bound to (``alias = data``), the only ways :class:`BufferViews` follows."""
    large = {
        name
        for function, name, value in facts.assigned
        if function is not None and name is not None and may_be_large_in(value, facts)
    }
    if not large:
        return False
    if facts.names_any(_NUMPY):
        return True
    viewers = {name for name in facts.called if facts.aliases.get(name, name) == "memoryview"}
    return any(
        buffer in facts.aliased or (viewer, buffer) in facts.call_args
        for buffer in large
        for viewer in viewers
    )


@dataclass(frozen=True)
class PinnedView:
    node: cst.BaseExpression  # the expression that makes the view
    buffer: LargeValue
    escape: Outliving  # how it leaves the frame
    numpy: bool  # copy with `.copy()` (numpy) or `bytes(...)` (a memoryview)


@dataclass(frozen=True)
class _Ref:
    """What a local or an expression refers to: a buffer, whole or in part."""

    buffer: str
    partial: Optional[cst.BaseExpression]  # the expression that took the part, if any
    viewable: bool  # slicing it makes a view: a numpy array or a memoryview, not bytes
    numpy: bool = False


class BufferViews(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.values = context.analysis(LargeValues)
        self.views: list[PinnedView] = []
        for scope in context.analysis(Scopes).functions:
            large = self.values.large_locals(scope)
            if large:
                self._check(scope, large)

    def _check(self, scope: FunctionScope, large: dict[str, LargeValue]) -> None:
        numpy = self._numpy_buffers(scope, large)
        refs = {name: _Ref(name, None, name in numpy, name in numpy) for name in large}
        escaped: list[tuple[_Ref, Outliving]] = []
        for node in scope.nodes_of(_statements()):
            if isinstance(node, cst.Assign) and len(node.targets) == 1:
                target = node.targets[0].target
                ref = self._ref(node.value, refs)
                if isinstance(target, cst.Name) and target.value not in large:
                    if ref is not None:
                        refs[target.value] = ref
                    else:
                        refs.pop(target.value, None)
            for value, how in self._sinks(node, scope):
                for item in held_values(value):
                    ref = self._ref(item, refs)
                    if ref is not None:
                        escaped.append((ref, how))
        whole = {ref.buffer for ref, _ in escaped if ref.partial is None}
        reported: set[int] = set()
        for ref, how in escaped:
            if ref.partial is None or ref.buffer in whole or id(ref.partial) in reported:
                continue
            reported.add(id(ref.partial))
            self.views.append(PinnedView(ref.partial, large[ref.buffer], how, ref.numpy))

    def _numpy_buffers(self, scope: FunctionScope, large: dict[str, LargeValue]) -> set[str]:
        found = set()
        for node in scope.nodes_of(frozenset({cst.Assign})):
            if not isinstance(node, cst.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0].target
            value = node.value
            if (
                isinstance(target, cst.Name)
                and target.value in large
                and isinstance(value, cst.Call)
                and self.names.call_name(value) in NUMPY_ALLOCATORS
            ):
                found.add(target.value)
        return found

    def _ref(self, expr: cst.BaseExpression, refs: dict[str, _Ref]) -> Optional[_Ref]:
        """The buffer ``expr`` shares memory with, and the part taken, if any: ``data``,
        ``memoryview(data)``, ``memoryview(data)[:16]``, ``arr[2:5]``, ``arr.reshape(4, -1)``."""
        if isinstance(expr, cst.Name):
            return refs.get(expr.value)
        if isinstance(expr, cst.Call):
            func = expr.func
            if self.names.call_name(expr) == "builtins.memoryview" and len(expr.args) == 1:
                inner = self._ref(expr.args[0].value, refs)
                return _Ref(inner.buffer, inner.partial, True) if inner is not None else None
            if isinstance(func, cst.Attribute) and func.attr.value in VIEW_METHODS:
                inner = self._ref(func.value, refs)
                return inner if inner is not None and inner.numpy else None
            return None
        if isinstance(expr, cst.Subscript) and _basic_slice(expr):
            inner = self._ref(expr.value, refs)
            if inner is not None and inner.viewable:
                return _Ref(inner.buffer, inner.partial or expr, True, inner.numpy)
        return None

    def _sinks(
        self, node: cst.CSTNode, scope: FunctionScope
    ) -> Iterator[tuple[cst.BaseExpression, Outliving]]:
        """Expressions whose value outlives the frame, and how (``escaping`` in LK401's
        sense, without the callback registries: a view is data, not a callable)."""
        yield from data_sinks(node, scope)
        if isinstance(node, cst.Call):
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in STORING_METHODS
                and outlives(func.value, scope)
            ):
                receiver = code_of(func.value)
                for arg in node.args:
                    yield arg.value, Outliving(Route.ADDED, receiver)


def _basic_slice(expr: cst.Subscript) -> bool:
    """``x[a:b]``, ``x[::2]``, ``x[1:, :3]``: a slice, with at most constant indexes beside
    it. An index array (``x[[1, 2]]``, ``x[mask]``) copies."""
    has_slice = False
    for element in expr.slice:
        part = element.slice
        if isinstance(part, cst.Slice):
            has_slice = True
        elif not (isinstance(part, cst.Index) and isinstance(part.value, (cst.Integer,
                                                                           cst.Ellipsis))):
            return False
    return has_slice
