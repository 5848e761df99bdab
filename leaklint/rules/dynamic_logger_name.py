from __future__ import annotations

import functools
from typing import Optional

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.containers import is_entity_name
from leaklint.analysis.enums import enum_class_named
from leaklint.analysis.names import ImportNames
from leaklint.analysis.registrations import LOGGER_FACTORIES
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Growth
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts, last_names
from leaklint.walker import children, iter_nodes

# Attributes that name code, not data: bounded by the number of classes and modules.
CODE_NAME_ATTRIBUTES = frozenset({"__name__", "__qualname__", "__module__", "__package__"})
# Functions that only pass a caller's name through (the caller is checked instead).
WRAPPER_WORDS = ("logger", "log")


@functools.cache
def _assigns() -> frozenset[type]:
    return frozenset({cst.Assign})


@functools.cache
def _loops() -> frozenset[type]:
    return frozenset({cst.For})


# What names an enum member: ``Kind.RED.name``, ``kind.value``.
MEMBER_ATTRIBUTES = frozenset({"name", "value"})


class DynamicLoggerName(Rule):
    """
    ## What it does
    Flags `logging.getLogger(x)` where `x` is built at run time from data: an f-string, `%`,
    `.format()`, `.join()` or `+` with a value that is not a constant, a class or module name,
    or a module-level name; also a plain parameter whose name says it is per-request data
    (`getLogger(job_id)`, `getLogger(request.path)`).

    A name built in `__init__` from the constructor's own arguments is `medium` (one logger per
    object made, and objects that own a logger are mostly made a few times, at start-up), as is
    everything in test code.

    ## Not flagged
    - constants, `__name__`, `__qualname__`, class names (`type(self).__name__`), module-level
      names and attributes of module-level objects (`settings.LOGGER`);
    - Enum members (`kind.name`, `Kind.RED.value`, `for kind in Kind:`) and other closed sets:
      loops over literal names, parameters annotated `Literal[...]`;
    - names passed through unchanged (`getLogger(name)`): the caller decides; helpers named
      like logger factories (`get_logger(...)`).

    ## Why is this bad?
    The logging module keeps every logger it ever created in `logging.Logger.manager.loggerDict`
    and never frees one. A logger named after a request, a job or a user id adds one object per
    distinct value for the life of the process.

    ## Example
    ```python
    def run(job_id):
        log = logging.getLogger(f"jobs.{job_id}")
        log.info("started")
    ```

    ## Use instead
    ```python
    log = logging.getLogger("jobs")

    def run(job_id):
        log.info("job %s started", job_id)   # or a LoggerAdapter with extra={"job": job_id}
    ```
    """

    CODE = "LK205"
    NAME = "dynamic-logger-name"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.LOGGER,), growth=Growth.LOGGERS)
    MESSAGE = (
        "logger name built from run-time data `{data}`: every distinct name creates a logger "
        "that logging keeps forever; log through one fixed-name logger and put `{data}` in the "
        "message or a `LoggerAdapter`'s `extra`"
    )
    CONSTRUCTOR_MESSAGE = (
        "logger name built from constructor arguments `{data}`: logging keeps one logger per "
        "distinct value forever, a leak if many objects are made with different values; use a "
        "fixed-name logger and a `LoggerAdapter` if they are"
    )
    TRIGGERS = ("getLogger",)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return facts.calls_any(last_names(LOGGER_FACTORIES))

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args or self.analysis(ImportNames).call_name(node) not in LOGGER_FACTORIES:
            return
        scope = self.analysis(Scopes).function_around(node)
        if scope is None or _is_wrapper(scope):
            return
        name = node.args[0].value
        entity = _entity_parameter(name, scope)
        if entity is not None:
            self.report(node, data=entity)
            return
        if isinstance(name, cst.Name):
            # `name = f"jobs.{job_id}"` then `getLogger(name)`: look through one local binding.
            bound = _single_binding(scope, name.value)
            if bound is None:
                return
            name = bound
        data = self._runtime_part(name, scope)
        if data is None:
            return
        if self._configuration_only(name, scope) or is_test_path(self.context.path):
            self.report(
                node,
                self.CONSTRUCTOR_MESSAGE.format(data=data),
                confidence=Confidence.MEDIUM,
            )
            return
        self.report(node, data=data)

    def _configuration_only(self, name: cst.BaseExpression, scope: FunctionScope) -> bool:
        """Built in ``__init__`` from its arguments only (``f"{root}.error.{appid}"``): one
        name per object made, and objects that own a logger are mostly made a few times."""
        if scope.name != "__init__":
            return False
        used = [part for part in _value_names(name) if not self._static(part, scope)]
        return bool(used) and all(
            part.value in scope.params and part.value not in scope.locals
            and part.value not in ("self", "cls")
            for part in used
        )

    def _runtime_part(self, name: cst.BaseExpression, scope: FunctionScope) -> Optional[str]:
        """The first piece of a *built* name that is run-time data, or None."""
        if isinstance(name, cst.FormattedString):
            pieces = [
                p.expression for p in name.parts if isinstance(p, cst.FormattedStringExpression)
            ]
        elif isinstance(name, cst.BinaryOperation) and isinstance(
            name.operator, (cst.Add, cst.Modulo)
        ):
            pieces = [name.left, name.right]
        elif (
            isinstance(name, cst.Call)
            and isinstance(name.func, cst.Attribute)
            and name.func.attr.value in ("format", "join")
        ):
            pieces = [name.func.value, *(arg.value for arg in name.args)]
        else:
            return None  # a constant, a plain name or attribute: the caller's choice
        for piece in pieces:
            if isinstance(piece, (cst.BinaryOperation, cst.FormattedString, cst.Call)):
                nested = self._runtime_part(piece, scope)
                if nested is not None:
                    return nested
                if not isinstance(piece, cst.Call) or self._static(piece, scope):
                    continue
                return self.context.code_of(piece)
            if not self._static(piece, scope):
                return self.context.code_of(piece)
        return None

    def _enum_member(self, expr: cst.BaseExpression, scope: FunctionScope) -> bool:
        """``Kind.RED``, or a name that holds a member (a parameter annotated ``Kind``, the
        target of ``for kind in Kind:``)."""
        names = self.analysis(ImportNames)
        module = self.context.module
        if isinstance(expr, cst.Attribute):
            return enum_class_named(expr.value, module, names) is not None
        if not isinstance(expr, cst.Name):
            return False
        annotation = _annotation(scope, expr.value)
        if annotation is not None and enum_class_named(annotation, module, names) is not None:
            return True
        return any(
            enum_class_named(loop.iter, module, names) is not None
            for loop in self._loops_binding(expr.value, scope)
        )

    def _closed_set(self, name: str, scope: FunctionScope) -> bool:
        """A name that takes its values from a closed set: the target of a loop over literal
        constants, or a parameter annotated ``Literal[...]``."""
        annotation = _annotation(scope, name)
        if isinstance(annotation, cst.Subscript) and (
            self.analysis(ImportNames).qualified_name(annotation.value)
            in ("typing.Literal", "typing_extensions.Literal")
        ):
            return True
        loops = self._loops_binding(name, scope)
        return bool(loops) and all(_constants(loop.iter) for loop in loops)

    @staticmethod
    def _loops_binding(name: str, scope: FunctionScope) -> list[cst.For]:
        return [
            node
            for node in scope.nodes_of(_loops())
            if isinstance(node, cst.For) and _is_name(node.target, name)
        ]

    def _static(self, expr: cst.BaseExpression, scope: FunctionScope) -> bool:
        """Constants, module and class names: a bounded set of values."""
        if isinstance(expr, (cst.Tuple, cst.List)):
            return all(self._static(e.value, scope) for e in expr.elements)
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer)):
            return True
        if isinstance(expr, cst.FormattedString):
            return self._runtime_part(expr, scope) is None
        if isinstance(expr, cst.BinaryOperation):
            return self._runtime_part(expr, scope) is None
        if isinstance(expr, cst.Attribute) and expr.attr.value in CODE_NAME_ATTRIBUTES:
            return True
        if (
            isinstance(expr, cst.Attribute)
            and expr.attr.value in MEMBER_ATTRIBUTES
            and self._enum_member(expr.value, scope)
        ):
            return True
        if isinstance(expr, cst.Name):
            if expr.value in CODE_NAME_ATTRIBUTES or self._closed_set(expr.value, scope):
                return True
            module_names = self.analysis(Scopes).module_names
            return scope.enclosing_binder(expr.value) is None and (
                expr.value in module_names or expr.value in self.analysis(ImportNames).aliases
            )
        if isinstance(expr, cst.Attribute):
            # `settings.LOGGER_PREFIX`, `config.name`: module-level objects' attributes.
            root = expr
            while isinstance(root, cst.Attribute):
                root = root.value  # type: ignore[assignment]
            return (
                isinstance(root, cst.Name)
                and root.value not in ("self", "cls")
                and (scope.enclosing_binder(root.value) is None)
            )
        if isinstance(expr, cst.Call):
            if (
                isinstance(expr.func, cst.Attribute)
                and self._static(expr.func.value, scope)
                and all(self._static(arg.value, scope) for arg in expr.args)
            ):
                return True  # `kind.name.lower()`: a method of a value from a closed set
            return any(
                isinstance(part, cst.Attribute) and part.attr.value in CODE_NAME_ATTRIBUTES
                for part in iter_nodes(expr)
            )
        return False


def _value_names(expr: cst.BaseExpression) -> list[cst.Name]:
    """The names ``expr`` reads values from (not attribute or keyword names)."""
    found: list[cst.Name] = []
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.append(node)
        elif isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append(node.value)
        else:
            stack.extend(children(node))
    return found


def _annotation(scope: FunctionScope, name: str) -> Optional[cst.BaseExpression]:
    node = scope.node
    if not isinstance(node, cst.FunctionDef):
        return None
    params = node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name and param.annotation is not None:
            return param.annotation.annotation
    return None


def _constants(expr: cst.BaseExpression) -> bool:
    """A literal tuple, list or set of string or number constants."""
    return isinstance(expr, (cst.Tuple, cst.List, cst.Set)) and all(
        isinstance(e.value, (cst.SimpleString, cst.Integer)) for e in expr.elements
    )


def _entity_parameter(name: cst.BaseExpression, scope: FunctionScope) -> Optional[str]:
    """``getLogger(job_id)`` or ``getLogger(request.path)`` with a parameter whose name says it
    is per-request data: the plain name is run-time data too."""
    parts: list[str] = []
    root = name
    while isinstance(root, cst.Attribute):
        parts.append(root.attr.value)
        root = root.value
    if not isinstance(root, cst.Name) or root.value not in scope.params:
        return None
    parts.append(root.value)
    if any(is_entity_name(part) for part in parts):
        return cst.Module([]).code_for_node(name)
    return None


def _single_binding(scope: FunctionScope, name: str) -> Optional[cst.BaseExpression]:
    """The value of the only ``name = value`` in the frame (None for parameters, rebinding)."""
    if name in scope.params:
        return None
    values = [
        node.value
        for node in scope.nodes_of(_assigns())
        if isinstance(node, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets)
    ]
    return values[0] if len(values) == 1 else None


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _is_wrapper(scope: FunctionScope) -> bool:
    return any(word in scope.name.lower() for word in WRAPPER_WORDS)
