"""Code that cannot run: what is found there is not reported.

A branch is dead when its test has the same value on every Python leaklint supports and in
every run of the module:

- ``if TYPE_CHECKING:`` (``typing.TYPE_CHECKING`` is false at run time);
- version checks for Pythons that are not supported (``sys.version_info < (3, 9)``,
  ``sys.version_info[0] == 2``, ``PY2 = sys.version_info[0] == 2`` then ``if PY2:``);
- a module-private flag bound once to a constant and never rebound (``_ASYNC_MODE = False``
  then ``if _ASYNC_MODE:``, as code generated from an async twin has); a public flag such as
  ``DEBUG = False`` is not constant: users set it from outside;
- ``if False:`` / ``if 0:``.

A module that replaces itself in ``sys.modules`` (``sys.modules[__name__] = _Module()``) leaves
its own top-level functions unreachable unless something in the module names them.

A module that unconditionally imports, at its top level, a module that no supported Python
has (``import stackless``, Python 2's ``import urllib2``) cannot be imported: none of it runs.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Optional

import libcst as cst

from leaklint.analysis.names import dotted_name
from leaklint.file_context import Analysis, FileContext
from leaklint.syntax import top_level_bindings
from leaklint.walker import iter_nodes, iter_statements

# The oldest supported Python, and a version newer than any that will exist for a long time:
# a test with the same value at both ends of the range is decided.
_OLDEST = (3, 9, 0, "final", 0)
_NEWEST = (3, 999, 0, "final", 0)
_VERSION = "sys.version_info"
_TYPE_CHECKING = frozenset(
    {"TYPE_CHECKING", "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING"}
)


@functools.cache
def _compare() -> dict[type, Callable[[Any, Any], bool]]:
    return {
        cst.LessThan: lambda a, b: a < b,
        cst.LessThanEqual: lambda a, b: a <= b,
        cst.GreaterThan: lambda a, b: a > b,
        cst.GreaterThanEqual: lambda a, b: a >= b,
        cst.Equal: lambda a, b: a == b,
        cst.NotEqual: lambda a, b: a != b,
    }


# Cheap text test: without one of these a file has no branch this module can decide.
# Top-level modules that no supported Python provides: Stackless Python's, and Python 2's
# standard modules that Python 3 renamed or removed.
UNAVAILABLE_MODULES = frozenset(
    {
        "stackless",
        "__builtin__",
        "urllib2",
        "urlparse",
        "cPickle",
        "cStringIO",
        "StringIO",
        "ConfigParser",
        "Queue",
        "SocketServer",
        "httplib",
        "cookielib",
        "Cookie",
        "xmlrpclib",
        "BaseHTTPServer",
        "SimpleHTTPServer",
        "CGIHTTPServer",
        "HTMLParser",
        "htmlentitydefs",
        "Tkinter",
        "commands",
        "exceptions",
        "sets",
        "dummy_thread",
        "anydbm",
        "dbhash",
    }
)
_MAYBE_DECIDED = re.compile(
    r"TYPE_CHECKING|version_info|\bif (?:False|0|_)|sys\.modules\["
    rf"|^(?:import|from) (?:{'|'.join(sorted(UNAVAILABLE_MODULES))})\b",
    re.MULTILINE,
)


class DeadCode(Analysis):
    """The nodes of a file that cannot run. Computed only for files with something to report."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self._dead: set[int] = set()
        if not _MAYBE_DECIDED.search(context.source):
            return
        self.constants = _module_constants(context.module)
        for node in iter_statements(context.module):
            if type(node) is cst.If:
                self._decide(node)
        if _replaces_itself(context.module):
            self._mark_unnamed_definitions(context)
        if _imports_unavailable_module(context.module):
            self._mark(context.module)

    def holds(self, node: cst.CSTNode) -> bool:
        return id(node) in self._dead

    def _decide(self, node: cst.If) -> None:
        value = self.evaluate(node.test)
        if value is False:
            self._mark(node.body)
        elif value is True and node.orelse is not None:
            self._mark(node.orelse)

    def _mark(self, root: cst.CSTNode) -> None:
        self._dead.update(id(found) for found in iter_nodes(root))

    def _mark_unnamed_definitions(self, context: FileContext) -> None:
        for statement in context.module.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                name = statement.name.value
                if len(re.findall(rf"\b{re.escape(name)}\b", context.source)) == 1:
                    self._mark(statement)

    def evaluate(self, test: cst.BaseExpression) -> Optional[object]:
        """The value of ``test`` if it is decided before the program runs, else None."""
        if isinstance(test, cst.Name):
            if test.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[test.value] or False
            if test.value in self.constants:
                return self.constants[test.value]
        if isinstance(test, cst.Integer):
            return int(test.value, 0) != 0
        name = dotted_name(test) if isinstance(test, (cst.Name, cst.Attribute)) else None
        if name in _TYPE_CHECKING:
            return False
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self.evaluate(test.expression)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            return _combine(test, self.evaluate(test.left), self.evaluate(test.right))
        if isinstance(test, cst.Comparison):
            return _version_comparison(test)
        return None


def _combine(
    test: cst.BooleanOperation, left: Optional[object], right: Optional[object]
) -> Optional[object]:
    if isinstance(test.operator, cst.And):
        if left is False or right is False:
            return False
        return True if left is True and right is True else None
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


def _version_comparison(test: cst.Comparison) -> Optional[bool]:
    """``sys.version_info < (3, 9)``, ``sys.version_info[0] == 2``, ``sys.version_info[:2] >=
    (3, 8)``: decided when the oldest and the newest supported Python agree."""
    if len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    compare = _compare().get(type(target.operator))
    version = _version_part(test.left)
    bound = _literal(target.comparator)
    if compare is None or version is None or bound is None:
        return None
    try:
        oldest, newest = (compare(version(v), bound) for v in (_OLDEST, _NEWEST))
    except TypeError:
        return None
    return oldest if oldest == newest else None


def _version_part(node: cst.BaseExpression) -> Optional[Callable[[tuple[object, ...]], object]]:
    """A function from a version tuple to the part ``node`` reads, if ``node`` reads one."""
    if isinstance(node, (cst.Attribute, cst.Name)) and dotted_name(node) == _VERSION:
        return lambda v: v
    if not isinstance(node, cst.Subscript) or dotted_name(node.value) != _VERSION:
        return None
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
        position = int(index.value.value)
        return lambda v: v[position]
    if isinstance(index, cst.Slice) and index.lower is None and index.step is None:
        upper = index.upper
        if isinstance(upper, cst.Integer):
            stop = int(upper.value)
            return lambda v: v[:stop]
    return None


def _literal(node: cst.BaseExpression) -> Optional[object]:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Tuple):
        parts = [_literal(element.value) for element in node.elements]
        return None if any(part is None for part in parts) else tuple(parts)
    return None


def _module_constants(module: cst.Module) -> dict[str, object]:
    """Module-private names bound exactly once, at the top level, to a decided value, and
    never declared ``global`` anywhere (a function could rebind them)."""
    bound: dict[str, list[cst.BaseExpression]] = {}
    rebound: set[str] = set()
    for node in iter_statements(module):
        if isinstance(node, cst.Global):
            rebound.update(name.name.value for name in node.names)
        elif isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name):
            rebound.add(node.target.value)
    for statement, name, value in top_level_bindings(module):
        bound.setdefault(name, []).append(value)
        if isinstance(statement, cst.AnnAssign):
            rebound.discard(name)
    constants: dict[str, object] = {}
    deciding = _Decider(constants)
    for name, values in bound.items():
        if len(values) != 1 or name in rebound:
            continue
        private_flag = name.startswith("_")
        version_flag = _version_comparison(values[0]) is not None if isinstance(
            values[0], cst.Comparison
        ) else False
        if not (private_flag or version_flag):
            continue
        decided = deciding.evaluate(values[0])
        if isinstance(decided, bool):
            constants[name] = decided
    return constants


class _Decider:
    """Evaluate an expression against constants found so far (``_PY2 = not _PY3``)."""

    def __init__(self, constants: dict[str, object]) -> None:
        self.constants = constants

    def evaluate(self, node: cst.BaseExpression) -> Optional[object]:
        if isinstance(node, cst.Name) and node.value in ("True", "False"):
            return node.value == "True"
        if isinstance(node, cst.Name):
            return self.constants.get(node.value)
        if isinstance(node, cst.Comparison):
            return _version_comparison(node)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            inner = self.evaluate(node.expression)
            return None if inner is None else not inner
        return None


def _replaces_itself(module: cst.Module) -> bool:
    """``sys.modules[__name__] = ...`` at the top level of the module."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign):
                continue
            for target in small.targets:
                node = target.target
                if (
                    isinstance(node, cst.Subscript)
                    and dotted_name(node.value) == "sys.modules"
                    and len(node.slice) == 1
                    and isinstance(node.slice[0].slice, cst.Index)
                    and isinstance(node.slice[0].slice.value, cst.Name)
                    and node.slice[0].slice.value.value == "__name__"
                ):
                    return True
    return False


def _imports_unavailable_module(module: cst.Module) -> bool:
    """``import stackless`` (not inside ``try``/``if``) at the top level of the module."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            imported: list[str] = []
            if isinstance(small, cst.Import):
                imported = [dotted_name(alias.name) or "" for alias in small.names]
            elif (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
            ):
                imported = [dotted_name(small.module) or ""]
            if any(name.split(".", 1)[0] in UNAVAILABLE_MODULES for name in imported):
                return True
    return False
