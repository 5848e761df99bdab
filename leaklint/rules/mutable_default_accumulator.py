from __future__ import annotations

import enum
from typing import Any, Optional

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.container_screen import may_have_mutable_default
from leaklint.analysis.containers import ContainerDefinitions, Containers, container_type
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.fixers.defaults import none_default_fix
from leaklint.model import Applicability, Confidence, Fix
from leaklint.rule import Report, Rule
from leaklint.runtime.evidence import Evidence, Growth
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts
from leaklint.syntax import target_names
from leaklint.walker import iter_nodes

# Parameter names that say the shared default is the point (a deliberate memo).
INTENDED_WORDS = ("cache", "memo")


class _Removal(enum.Enum):
    NONE = "none"
    ON_SOME_PATHS = "on some paths"
    IN_FINALLY = "in finally"


class MutableDefaultAccumulator(Rule):
    """
    ## What it does
    Flags a mutable default argument (`[]`, `{}`, `set()`, `list()`, `dict()`, or a
    module-level mutable container) that the function grows (`append`, `[k] = v`, `update`,
    `add`, `+=`, also through a helper of the same module).

    A default that the function also takes entries off again on some paths (`seen.pop()`
    after the work, not in `finally`) is `medium`, as is everything in test code.

    ## Not flagged
    - defaults that are only read, copied or rebound before they are changed;
    - `None` sentinels; parameters named as a cache (`cache`, `memo`, `_cache`);
    - a default used as a re-entrancy guard: appended to, then popped in `finally`;
    - `x[i] += 1` on a default (the mutable-cell counter idiom); nested functions' defaults.

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

    ## Autofix
    Unsafe (`--unsafe-fixes`): the default becomes `None` and the function makes a new
    container at its start (`if seen is None: seen = []`); an annotation `list[int]` becomes
    `Optional[list[int]]`. Unsafe because callers may rely on the shared default. A default
    that names a module-level container is left for you.
    """

    CODE = "LK206"
    AUTOFIX = Applicability.UNSAFE
    NAME = "mutable-default-accumulator"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.DEFAULT,), growth=Growth.DEFAULT)
    SIMILAR_CHECKS = ("B006", "B008", "dangerous-default-value", "W0102")
    MESSAGE = (
        "default `{param}={default}` is created once and grown by `{function}()` on every "
        "call: the data piles up across calls; default to `None` and make a new one inside"
    )
    PARTLY_UNDONE_MESSAGE = (
        "default `{param}={default}` is created once and shared by every call of "
        "`{function}()`, which takes off what it adds only when it does not raise: entries "
        "of failed calls pile up; remove them in `finally`"
    )
    # Defaults can name a module-level container, so no narrower text test is safe; the
    # analysis only starts for a function that has a mutable default.
    TRIGGERS = ("def ",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The function and parameter of each reported default, for the fix.
        self._parameters: dict[cst.CSTNode, tuple[cst.FunctionDef, cst.Param]] = {}

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_have_mutable_default(facts)

    def fix(self, report: Report) -> Optional[Fix]:
        function, param = self._parameters[report.node]
        return none_default_fix(self.context, function, param)

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
            if not self._grown_before_rebound(scope, name):
                continue
            removal = self._removal(scope, name)
            if removal is _Removal.IN_FINALLY:
                continue  # a re-entrancy guard: what one call adds, it takes off again
            doubtful = removal is _Removal.ON_SOME_PATHS or is_test_path(self.context.path)
            template = (
                self.PARTLY_UNDONE_MESSAGE if removal is _Removal.ON_SOME_PATHS else self.MESSAGE
            )
            self._parameters[param.default] = (node, param)
            self.report(
                param.default,
                template.format(
                    param=name,
                    default=self.context.code_of(param.default),
                    function=node.name.value,
                ),
                confidence=Confidence.MEDIUM if doubtful else Confidence.HIGH,
            )

    def _removal(self, scope: FunctionScope, name: str) -> _Removal:
        """Whether the function takes off again what it adds: in ``finally`` (every path),
        somewhere (some paths), or nowhere."""
        analysis = self.analysis(Containers)
        found = _Removal.NONE
        for node in scope.own_nodes:
            if isinstance(node, cst.Try) and node.finalbody is not None:
                if self._evicts(node.finalbody, name, analysis):
                    return _Removal.IN_FINALLY
            elif any(_is_name(t, name) for t in analysis.evicted_targets(node)):
                found = _Removal.ON_SOME_PATHS
        return found

    @staticmethod
    def _evicts(root: cst.CSTNode, name: str, analysis: Containers) -> bool:
        return any(
            _is_name(target, name)
            for part in iter_nodes(root)
            for target in analysis.evicted_targets(part)
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
