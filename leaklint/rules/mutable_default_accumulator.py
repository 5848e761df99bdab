from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.container_screen import may_have_mutable_default
from leaklint.analysis.containers import ContainerDefinitions, Containers, container_type
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes, target_names
from leaklint.rule import Rule
from leaklint.screen import SourceFacts

# Parameter names that say the shared default is the point (a deliberate memo).
INTENDED_WORDS = ("cache", "memo")


class MutableDefaultAccumulator(Rule):
    """
    ## What it does
    Flags a mutable default argument (`[]`, `{}`, `set()`, `list()`, `dict()`, or a
    module-level mutable container) that the function grows (`append`, `[k] = v`, `update`,
    `add`, `+=`, also through a helper of the same module). Defaults that are only read,
    copied or rebound before they are changed, `None` sentinels and parameters named as a
    cache (`cache`, `memo`, `_cache`) are not flagged.

    ## Why is this bad?
    A default value is created once, when the `def` runs, and shared by every call that does
    not pass the argument. Whatever one call adds stays there for the next one: results pile
    up across calls, memory grows for the life of the process, and calls see each other's data.

    ## Example
    ```python
    def collect(row, seen=[]):
        seen.append(row.id)
        return seen
    ```

    ## Use instead
    ```python
    def collect(row, seen=None):
        if seen is None:
            seen = []
        seen.append(row.id)
        return seen
    ```
    """

    CODE = "LK206"
    NAME = "mutable-default-accumulator"
    MESSAGE = (
        "default `{param}={default}` is created once and grown by `{function}()` on every "
        "call: the data piles up across calls"
    )
    # Defaults can name a module-level container, so no narrower text test is safe; the
    # analysis only starts for a function that has a mutable default.
    TRIGGERS = ("def ",)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_have_mutable_default(facts)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is None or not self._mutable(param.default):
                continue
            scope = self.analysis(Scopes).by_node.get(node)
            if scope is None or scope.parent is not None:
                # A nested def's defaults are evaluated again each time the enclosing
                # function runs: the state lives as long as that one closure.
                return
            name = param.name.value
            if any(word in name.lower() for word in INTENDED_WORDS):
                continue
            if self._grown_before_rebound(scope, name):
                self.report(
                    param.default,
                    param=name,
                    default=self.context.code_of(param.default),
                    function=node.name.value,
                )

    def _mutable(self, default: cst.BaseExpression) -> bool:
        if isinstance(default, (cst.Dict, cst.List, cst.Set, cst.Call)):
            return container_type(default, self.analysis(ImportNames)) is not None
        if isinstance(default, cst.Name):  # `def f(x=None)` is common: no scopes needed here
            return default.value in self.analysis(ContainerDefinitions).module_containers
        return False

    def _grown_before_rebound(self, scope: FunctionScope, name: str) -> bool:
        """Whether the function grows the parameter while it still holds the default."""
        analysis = self.analysis(Containers)
        for node in scope.own_nodes:
            if _rebinds(node, name):
                return False
            for target in analysis.grown_targets(node):
                if _is_name(target, name) and _grows(node):
                    return True
            if isinstance(node, cst.Call):
                for callee, position, arg in analysis.helper_args(node, scope):
                    if _is_name(arg, name) and position in analysis.param_growth.get(callee, ()):
                        return True
        return False


def _grows(node: cst.CSTNode) -> bool:
    """``x[i] += 1`` changes an element in place (the mutable-cell idiom ``count=[0]``); it
    adds nothing."""
    return not (isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Subscript))


def _rebinds(node: cst.CSTNode, name: str) -> bool:
    targets: list[cst.CSTNode] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif (isinstance(node, cst.AnnAssign) and node.value is not None) or isinstance(
        node, (cst.For, cst.CompFor, cst.NamedExpr)
    ):
        targets = [node.target]
    return any(name in target_names(target) for target in targets)


def _is_name(node: Optional[cst.CSTNode], name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name
