from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.containers import is_entity_name
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.rule import Rule
from leaklint.screen import SourceFacts, last_names
from leaklint.walker import iter_nodes

LOGGER_FACTORIES = frozenset({"logging.getLogger", "logging.Logger.manager.getLogger"})
# Attributes that name code, not data: bounded by the number of classes and modules.
CODE_NAME_ATTRIBUTES = frozenset({"__name__", "__qualname__", "__module__", "__package__"})
# Functions that only pass a caller's name through (the caller is checked instead).
WRAPPER_WORDS = ("logger", "log")


_ASSIGNS = frozenset({cst.Assign})


class DynamicLoggerName(Rule):
    """
    ## What it does
    Flags `logging.getLogger(x)` where `x` is built at run time from data: an f-string, `%`,
    `.format()` or `+` with a value other than a constant, `__name__`, a class name
    (`type(self).__name__`, `self.__class__.__qualname__`) or a module-level name.

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
    MESSAGE = (
        "logger name built from run-time data `{data}`: every distinct name creates a logger "
        "that logging keeps forever"
    )
    TRIGGERS = ("getLogger",)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return facts.calls_any(last_names(LOGGER_FACTORIES))

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args or self.analysis(ImportNames).call_name(node) not in LOGGER_FACTORIES:
            return
        scope = self._function_of()
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
        if data is not None:
            self.report(node, data=data)

    def _function_of(self) -> Optional[FunctionScope]:
        scopes = self.analysis(Scopes)
        for ancestor in reversed(self.context.ancestors):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return scopes.by_node.get(ancestor)
        return None

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
        if isinstance(expr, cst.Name):
            if expr.value in CODE_NAME_ATTRIBUTES:
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
            return any(
                isinstance(part, cst.Attribute) and part.attr.value in CODE_NAME_ATTRIBUTES
                for part in iter_nodes(expr)
            )
        return False


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
        for node in scope.nodes_of(_ASSIGNS)
        if isinstance(node, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets)
    ]
    return values[0] if len(values) == 1 else None


def _is_wrapper(scope: FunctionScope) -> bool:
    return any(word in scope.name.lower() for word in WRAPPER_WORDS)
