"""Closures that escape their frame while holding a large local alive.

For every function with nested functions or lambdas, computed once per file:

* which locals are bound to a large allocation or a loaded blob, with their size when the
  size is a constant expression (``10**6``, ``1 << 20``, ``1024 * 1024``, module constants);
* which nested functions escape the frame: returned or yielded, stored on ``self``, a module
  global or a parameter, or handed to something that calls back later (``Thread``, ``Timer``,
  ``call_later``, ``add_done_callback``, ``atexit.register``, ``signal.signal`` ...);
* which of those large locals each escaping closure captures, and whether it only ever uses a
  small part of them (an index, a slice, an attribute, ``len()``).

The size threshold is the rule's option, so the analysis keeps sizes and lets the rule decide.
"""

from __future__ import annotations

import ast
import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import SourceFacts, last_names
from leaklint.syntax import code_of, held_values, target_names, top_level_bindings
from leaklint.walker import iter_with_parents


class Unit(enum.Enum):
    BYTES = "bytes"
    ELEMENTS = "elements"
    UNKNOWN = "unknown"  # loaded from a file or stream: as large as the input


@dataclass(frozen=True)
class LargeValue:
    name: str
    source: str  # what made it, for messages: "bytearray(N)", "f.read()"
    unit: Unit
    size: Optional[int]  # None when the size is not a constant

    def is_large(self, min_bytes: int, min_elements: int) -> bool:
        """Against a rule's thresholds; loaded data and shapes that are not constants are."""
        if self.size is None:
            return True
        if self.unit is Unit.BYTES:
            return self.size >= min_bytes
        return self.size >= min_elements


class Route(enum.Enum):
    """How a value outlives the frame that made it."""

    RETURNED = "returned"
    YIELDED = "yielded"
    STORED = "stored"  # in a global, or an attribute or item of a long-lived object
    PASSED = "passed"  # to a callable that keeps it (`threading.Thread`, `atexit.register`)
    REGISTERED = "registered"  # by a decorator that keeps the function (`@app.route(...)`)
    ADDED = "added"  # to a long-lived container (`self.parts.append(view)`)


@dataclass(frozen=True)
class Outliving:
    """How a value leaves its frame, and what holds it from then on, as the code spells it
    (``self.header``, ``Timer()``, ``.connect()``; empty when it is returned or yielded)."""

    route: Route
    holder: str = ""


@dataclass(frozen=True)
class Capture:
    closure: cst.CSTNode  # the FunctionDef or Lambda
    label: str  # "inner" or "lambda"
    escape: Outliving  # how it leaves the frame
    value: LargeValue
    use: str  # the small part it uses: "data[0]"


# Calls that keep a callable beyond the frame (qualified functions and method names).
ESCAPE_FUNCTIONS = frozenset(
    {
        "threading.Thread",
        "threading.Timer",
        "atexit.register",
        "signal.signal",
        "weakref.finalize",
        "functools.partial",
        "multiprocessing.Process",
    }
)
ESCAPE_METHODS = frozenset(
    {
        "call_later",
        "call_at",
        "call_soon",
        "call_soon_threadsafe",
        "add_done_callback",
        "add_reader",
        "add_writer",
        "add_signal_handler",
        "register",
        "connect",
        "add_callback",
        "add_timeout",
        "subscribe",
        "add_listener",
        "addEventListener",
        "on",
        "submit",
        "run_in_executor",
        "after",
        "bind",
    }
)
# Decorator methods that keep the decorated function (`@app.route(...)`, `@signal.connect`).
REGISTERING_DECORATORS = ESCAPE_METHODS | {"route", "get", "post", "listens_for", "receiver"}
# Methods that store their argument in the receiver.
STORING_METHODS = frozenset({"append", "add", "setdefault", "insert", "extend", "update"})
BYTE_ALLOCATORS = frozenset({"builtins.bytearray", "builtins.bytes"})
NUMPY_ALLOCATORS = frozenset({"numpy.zeros", "numpy.ones", "numpy.empty", "numpy.full"})
LOADER_FUNCTIONS = frozenset({"json.load", "json.loads", "pickle.load", "pickle.loads"})
LOADER_METHODS = frozenset({"read", "readlines", "read_bytes", "read_text", "readall"})


# Node types each scan reads (see FunctionScope.nodes_of).
@functools.cache
def _bindings() -> frozenset[type]:
    return frozenset({cst.Assign, cst.AugAssign, cst.AnnAssign, cst.For, cst.Del})


@functools.cache
def _assignments() -> frozenset[type]:
    return frozenset({cst.Assign})


@functools.cache
def _sinks() -> frozenset[type]:
    return frozenset({cst.Return, cst.Yield, cst.Assign, cst.Call})


class LargeValues(Analysis):
    """Which locals are bound to a large allocation or a loaded blob, and how large: shared by
    the rules about what a long-lived object keeps alive (LK401 closures, LK402 views)."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.constants = _module_constants(context.module)

    def fold(self, expr: cst.BaseExpression, seen: frozenset[str] = frozenset()) -> Optional[int]:
        """The value of a constant integer expression, or None."""
        if isinstance(expr, cst.Integer):
            return int(expr.value.replace("_", ""), 0)
        if isinstance(expr, cst.Name) and expr.value in self.constants and expr.value not in seen:
            return self.fold(self.constants[expr.value], seen | {expr.value})
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
            value = self.fold(expr.expression, seen)
            return -value if value is not None else None
        if isinstance(expr, cst.BinaryOperation):
            left, right = self.fold(expr.left, seen), self.fold(expr.right, seen)
            if left is None or right is None:
                return None
            return _apply(expr.operator, left, right)
        return None

    def large_value(self, name: str, value: cst.BaseExpression) -> Optional[LargeValue]:
        """What ``name = value`` allocates or loads, if it is an allocation at all."""
        if not may_be_large(value, self.names):
            return None
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Multiply):
            for item, count in ((value.left, value.right), (value.right, value.left)):
                found = self._repeated(name, item, count)
                if found is not None:
                    return found
            return None
        if not isinstance(value, cst.Call):
            return None
        called = self.names.call_name(value) or ""
        code = code_of(value)
        if called in BYTE_ALLOCATORS and len(value.args) == 1:
            size = self.fold(value.args[0].value)
            return LargeValue(name, code, Unit.BYTES, size) if size is not None else None
        if called == "builtins.list" and len(value.args) == 1:
            inner = value.args[0].value
            if isinstance(inner, cst.Call) and self.names.call_name(inner) == "builtins.range":
                bounds = [self.fold(arg.value) for arg in inner.args]
                if bounds and all(b is not None for b in bounds):
                    size = bounds[0] if len(bounds) == 1 else bounds[1] - bounds[0]  # type: ignore[operator]
                    return LargeValue(name, code, Unit.ELEMENTS, size)
            return None
        if called in NUMPY_ALLOCATORS and value.args:
            return LargeValue(name, code, Unit.ELEMENTS, self._elements(value.args[0].value))
        if called in LOADER_FUNCTIONS or called.startswith("pandas.read_"):
            return LargeValue(name, code, Unit.UNKNOWN, None)
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in LOADER_METHODS:
            if not value.args:
                return LargeValue(name, code, Unit.UNKNOWN, None)
            size = self.fold(value.args[0].value)
            if size is not None and size >= 0:
                return LargeValue(name, code, Unit.BYTES, size)
            return None if size is not None else LargeValue(name, code, Unit.UNKNOWN, None)
        return None

    def _repeated(
        self, name: str, item: cst.BaseExpression, count: cst.BaseExpression
    ) -> Optional[LargeValue]:
        times = self.fold(count)
        if times is None:
            return None
        code = f"{code_of(item)} * {code_of(count)}"
        if isinstance(item, cst.SimpleString):
            length = len(item.evaluated_value)
            return LargeValue(name, code, Unit.BYTES, length * times)
        if isinstance(item, cst.List):
            return LargeValue(name, code, Unit.ELEMENTS, len(item.elements) * times)
        return None

    def _elements(self, shape: cst.BaseExpression) -> Optional[int]:
        if isinstance(shape, (cst.Tuple, cst.List)):
            total = 1
            for element in shape.elements:
                size = self.fold(element.value)
                if size is None:
                    return None
                total *= size
            return total
        return self.fold(shape)

    def large_locals(self, scope: FunctionScope) -> dict[str, LargeValue]:
        """Locals bound once, to a large allocation (a name rebound to anything else is not)."""
        found: dict[str, LargeValue] = {}
        other: set[str] = set()
        for node in scope.nodes_of(_bindings()):
            if (
                isinstance(node, cst.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0].target, cst.Name)
            ):
                name = node.targets[0].target.value
                value = self.large_value(name, node.value)
                if value is not None and name not in found:
                    found[name] = value
                    continue
                other.add(name)
            elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.For, cst.Del)):
                targets = (
                    [t.target for t in node.targets]
                    if isinstance(node, cst.Assign)
                    else [node.target]
                )
                for target in targets:
                    other.update(target_names(target))
        return {name: value for name, value in found.items() if name not in other}



class Closures(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.scopes = context.analysis(Scopes)
        self.values = context.analysis(LargeValues)
        self.captures: list[Capture] = []
        for scope in self.scopes.functions:
            if scope.nested:
                self._check(scope)

    def _check(self, scope: FunctionScope) -> None:
        large = self.values.large_locals(scope)
        if not large:
            return
        for closure, escape in self._escaping(scope):
            label = closure.name if closure.name != "<lambda>" else "lambda"
            for value, use in self._partial_captures(closure, large):
                self.captures.append(Capture(closure.node, label, escape, value, use))

    def _escaping(self, scope: FunctionScope) -> Iterator[tuple[FunctionScope, Outliving]]:
        by_name: dict[str, FunctionScope] = {}
        for nested in scope.nested:
            if isinstance(nested.node, cst.FunctionDef):
                by_name[nested.name] = nested
        lambdas = {nested.node: nested for nested in scope.nested if nested.name == "<lambda>"}
        for node in scope.nodes_of(_assignments()):
            if isinstance(node, cst.Assign) and len(node.targets) == 1:
                target = node.targets[0].target
                if isinstance(target, cst.Name) and node.value in lambdas:
                    by_name[target.value] = lambdas[node.value]  # type: ignore[index]
        reported: set[FunctionScope] = set()
        for nested in scope.nested:
            keeper = self._registering_decorator(nested)
            if keeper is not None:
                reported.add(nested)
                yield nested, Outliving(Route.REGISTERED, keeper)
        for expr, how in self._sinks(scope):
            for value in held_values(expr):
                closure: Optional[FunctionScope] = None
                if isinstance(value, cst.Name):
                    closure = by_name.get(value.value)
                elif isinstance(value, cst.Lambda):
                    closure = lambdas.get(value)
                if closure is not None and closure not in reported:
                    reported.add(closure)
                    yield closure, how

    def _registering_decorator(self, nested: FunctionScope) -> Optional[str]:
        """``@atexit.register``, ``@app.route(...)``, ``@signal.connect``: the decorator keeps
        the function."""
        if not isinstance(nested.node, cst.FunctionDef):
            return None
        for decorator in nested.node.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            called = self.names.qualified_name(func) or ""
            last = called.rsplit(".", 1)[-1]
            if called in ESCAPE_FUNCTIONS or (
                isinstance(func, cst.Attribute) and last in REGISTERING_DECORATORS
            ):
                return code_of(func)
        return None

    def _sinks(self, scope: FunctionScope) -> Iterator[tuple[cst.BaseExpression, Outliving]]:
        """Expressions whose value outlives the frame, and how."""
        for node in scope.nodes_of(_sinks()):
            yield from data_sinks(node, scope)
            if isinstance(node, cst.Call):
                keeper = self._keeper(node, scope)
                if keeper is not None:
                    for arg in node.args:
                        yield arg.value, Outliving(Route.PASSED, keeper)

    def _keeper(self, call: cst.Call, scope: FunctionScope) -> Optional[str]:
        called = self.names.call_name(call) or ""
        if called in ESCAPE_FUNCTIONS:
            return f"{called.rsplit('.', 1)[-1]}()"
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in ESCAPE_METHODS:
                return f".{func.attr.value}()"
            if func.attr.value in STORING_METHODS and outlives(func.value, scope):
                return f"{code_of(func.value)}.{func.attr.value}()"
        return None

    def _partial_captures(
        self, closure: FunctionScope, large: dict[str, LargeValue]
    ) -> Iterator[tuple[LargeValue, str]]:
        uses: dict[str, list[Optional[str]]] = {}
        for node, parent, grandparent in iter_with_parents(closure.node.body, _argument()):
            if isinstance(node, cst.Name) and node.value in large and not closure.binds(node.value):
                uses.setdefault(node.value, []).append(_small_use(node, parent, grandparent))
        for name, kinds in uses.items():
            if kinds and all(kind is not None for kind in kinds):
                yield large[name], kinds[0]  # type: ignore[misc]


def outlives(container: cst.BaseExpression, scope: FunctionScope) -> bool:
    """Whether an object reached from ``container`` outlives the frame: ``self.x``, a
    parameter, a module global (anything not bound locally)."""
    root = container
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    return isinstance(root, cst.Name) and (
        root.value in scope.params or scope.enclosing_binder(root.value) is None
    )


def _small_use(
    node: cst.Name, parent: Optional[cst.CSTNode], grandparent: Optional[cst.CSTNode]
) -> Optional[str]:
    """``data[0]``, ``data[:8]``, ``arr.shape`` or ``len(data)``: a use of a small part.
    A method call (``data.decode()``) works on the whole object."""
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return code_of(parent)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        called = isinstance(grandparent, cst.Call) and grandparent.func is parent
        return None if called else code_of(parent)
    if (
        isinstance(parent, cst.Call)
        and isinstance(parent.func, cst.Name)
        and parent.func.value == "len"
        and len(parent.args) == 1
        and parent.args[0].value is node
    ):
        return code_of(parent)
    return None


# An argument is no parent: the value of `len(data)` has the call as its parent.
@functools.cache
def _argument() -> frozenset[type]:
    return frozenset({cst.Arg})


def may_be_large(value: cst.BaseExpression, names: ImportNames) -> bool:
    """Whether ``value`` has the shape of an allocation or a load ``Closures.large_value``
    judges: a repetition of a literal, or a call of an allocator or a loader. Cheap (no
    folding, no scopes), so a file without one never pays for the closure analysis."""
    if isinstance(value, cst.BinaryOperation):
        return isinstance(value.operator, cst.Multiply) and any(
            isinstance(side, (cst.SimpleString, cst.List)) for side in (value.left, value.right)
        )
    if not isinstance(value, cst.Call):
        return False
    if isinstance(value.func, cst.Attribute) and value.func.attr.value in LOADER_METHODS:
        return True
    called = names.call_name(value) or ""
    return (
        called in BYTE_ALLOCATORS
        or called == "builtins.list"
        or called in NUMPY_ALLOCATORS
        or called in LOADER_FUNCTIONS
        or called.startswith("pandas.read_")
    )


_LARGE_CALL_NAMES = last_names(
    BYTE_ALLOCATORS | NUMPY_ALLOCATORS | LOADER_FUNCTIONS | {"builtins.list"}
)


def may_be_large_in(value: ast.expr, facts: SourceFacts) -> bool:
    """:func:`may_be_large` on the stdlib ``ast`` of the cheap first look (see
    ``leaklint.screen``): broader (no qualified names), never narrower."""
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, ast.Mult) and any(
            isinstance(side, ast.List)
            or (isinstance(side, ast.Constant) and isinstance(side.value, (str, bytes)))
            for side in (value.left, value.right)
        )
    if not isinstance(value, ast.Call):
        return False
    if isinstance(value.func, ast.Attribute) and value.func.attr in LOADER_METHODS:
        return True
    called = facts.last_name(value.func) or ""
    return called in _LARGE_CALL_NAMES or called.startswith("read_")


def allocates_large_beside_closure(facts: SourceFacts) -> bool:
    """Whether some function that defines a nested function or lambda binds a name to
    something shaped like a large allocation or load, and a nested function or lambda spells
    that name: what :class:`Closures` needs to find a capture."""
    return any(
        function is not None
        and id(function) in facts.enclosing
        and name in facts.nested_names
        and may_be_large_in(value, facts)
        for function, name, value in facts.assigned
    )


def _module_constants(module: cst.Module) -> dict[str, cst.BaseExpression]:
    """Top-level names bound to one value: a name assigned twice is not a constant."""
    constants: dict[str, cst.BaseExpression] = {}
    assigned: set[str] = set()
    for statement, name, value in top_level_bindings(module):
        if isinstance(statement, cst.AnnAssign):
            constants[name] = value
            continue
        if len(statement.targets) != 1:
            continue
        if name in assigned:
            constants.pop(name, None)
        else:
            constants[name] = value
        assigned.add(name)
    return constants


def _apply(operator: cst.BaseBinaryOp, left: int, right: int) -> Optional[int]:
    if isinstance(operator, cst.Add):
        return left + right
    if isinstance(operator, cst.Subtract):
        return left - right
    if isinstance(operator, cst.Multiply):
        return left * right
    if isinstance(operator, cst.FloorDivide):
        return left // right if right else None
    if isinstance(operator, cst.Power):
        return left**right if 0 <= right <= 64 else None
    if isinstance(operator, cst.LeftShift):
        return left << right if 0 <= right <= 64 else None
    if isinstance(operator, cst.RightShift):
        return left >> right if right >= 0 else None
    return None


def data_sinks(
    node: cst.CSTNode, scope: FunctionScope
) -> Iterator[tuple[cst.BaseExpression, Outliving]]:
    """What ``node`` makes outlive the frame, and how: a returned or yielded value, a value
    stored where it outlives the call (a global, an attribute or item of a long-lived object)."""
    if isinstance(node, cst.Return) and node.value is not None:
        yield node.value, Outliving(Route.RETURNED)
    elif isinstance(node, cst.Yield) and isinstance(node.value, cst.BaseExpression):
        yield node.value, Outliving(Route.YIELDED)
    elif isinstance(node, cst.Assign):
        for target in node.targets:
            where = outliving_target(target.target, scope)
            if where is not None:
                yield node.value, Outliving(Route.STORED, where)


def outliving_target(target: cst.BaseExpression, scope: FunctionScope) -> Optional[str]:
    """The name of an assignment target that outlives the frame (a global, an attribute or an
    item of an object that does), or None."""
    if isinstance(target, cst.Name):
        return target.value if target.value in scope.globals else None
    if isinstance(target, (cst.Attribute, cst.Subscript)):
        return code_of(target) if outlives(target.value, scope) else None
    return None
