from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.containers import Containers
from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.rule import Rule
from leaklint.screen import SourceFacts, last_names
from leaklint.walker import iter_nodes


@dataclass(frozen=True)
class Registry:
    """A process-wide registry: how things are added to it and taken off again."""

    label: str
    removals: frozenset[str]  # method names or qualified functions that undo the add


# Methods on any logger-like receiver, and qualified module functions.
REGISTRATION_METHODS = {
    "addHandler": Registry("logging handler", frozenset({"removeHandler"})),
    "addFilter": Registry("logging filter", frozenset({"removeFilter"})),
}
REGISTRATION_FUNCTIONS = {
    "atexit.register": Registry("atexit callback", frozenset({"atexit.unregister"})),
    # Installing a handler again is the removal: code that restores the previous one.
    "signal.signal": Registry("signal handler", frozenset({"signal.signal"})),
}
# Functions meant to run once per process.
ONE_TIME_NAME = re.compile(
    r"^(main|setup|set_up|configure|config|init|install|create|start|bootstrap|daemoni[sz]e)",
    re.IGNORECASE,
)
# Classes whose methods are configuration code (logging.config's DictConfigurator ...).
CONFIG_CLASS = re.compile(r"config", re.IGNORECASE)
# Tests that guard a registration: "is it configured yet?"
GUARD_ATTRIBUTES = frozenset({"handlers", "hasHandlers", "filters"})


_TESTS = frozenset({cst.If, cst.While})
_ASSIGNS = frozenset({cst.Assign})


class HandlerAddedPerCall(Rule):
    """
    ## What it does
    Flags `logger.addHandler(...)`, `logger.addFilter(...)`, `atexit.register(...)` and
    `signal.signal(...)` inside a function that runs more than once, with no matching removal in
    the same function (`removeHandler`, `atexit.unregister`, restoring the old signal handler)
    and no guard (`if not logger.handlers`, a module-level "configured" flag). One-time setup
    (`main`, `setup*`, `configure*`, `init*`, functions only called at import time) is not
    flagged, nor is a class that registers in `__init__` and removes in another method.

    ## Why is this bad?
    These registries live as long as the process. A handler added per request stays attached
    to the logger forever (and every log line is written once more per call); an atexit
    callback registered per call keeps its arguments alive until exit.

    ## Example
    ```python
    def process(job):
        log = logging.getLogger("jobs")
        log.addHandler(logging.FileHandler(job.log_path))
        log.info("processing %s", job.id)
    ```

    ## Use instead
    ```python
    def process(job):
        log = logging.getLogger("jobs")
        handler = logging.FileHandler(job.log_path)
        log.addHandler(handler)
        try:
            log.info("processing %s", job.id)
        finally:
            log.removeHandler(handler)
            handler.close()
    ```
    """

    CODE = "LK204"
    NAME = "handler-added-per-call"
    MESSAGE = (
        "{label} registered by `{call}` in `{function}()` on every call and never removed: "
        "the process-wide registry keeps growing"
    )
    TRIGGERS = ("addHandler", "addFilter", "atexit", "signal")
    _flag_cache: Optional[set[str]] = None

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return facts.calls_any(frozenset(REGISTRATION_METHODS) | last_names(REGISTRATION_FUNCTIONS))

    def visit_Call(self, node: cst.Call) -> None:
        registry, call = self._registry(node)
        if registry is None:
            return
        scope = self._function_of()
        if scope is None or self._runs_once(scope):
            return
        if self._removed(scope, registry) or self._guarded(scope):
            return
        if isinstance(self.context.parent, (cst.Assign, cst.AnnAssign)):
            return  # the result (a previous handler) is kept: it can be put back
        if self._only_called_when_guarded(scope, depth=3):
            return
        if registry.label.startswith("logging") and self._long_lived_argument(node, scope):
            return
        if registry.label.startswith("signal") and not _pins_objects(node):
            return
        self.report(node, label=registry.label, call=call, function=scope.name)

    def _registry(self, node: cst.Call) -> tuple[Optional[Registry], str]:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in REGISTRATION_METHODS:
            return REGISTRATION_METHODS[func.attr.value], f".{func.attr.value}()"
        name = self.analysis(ImportNames).call_name(node)
        if name in REGISTRATION_FUNCTIONS:
            return REGISTRATION_FUNCTIONS[name], f"{name}()"
        return None, ""

    def _function_of(self) -> Optional[FunctionScope]:
        scopes = self.analysis(Scopes)
        for ancestor in reversed(self.context.ancestors):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return scopes.by_node.get(ancestor)
        return None

    def _runs_once(self, scope: FunctionScope) -> bool:
        import_time = self.analysis(Containers).import_time
        current: Optional[FunctionScope] = scope
        while current is not None:
            if current in import_time or _one_time_name(current.name):
                return True
            if current.owner is not None and CONFIG_CLASS.search(current.owner.name.value):
                return True
            current = current.parent
        return False

    def _only_called_when_guarded(self, scope: FunctionScope, depth: int) -> bool:
        """A helper whose every caller in the module checks first (`if not log.handlers:`)."""
        users = self.analysis(Containers).references.get(scope, [])
        if not users or depth == 0:
            return False
        for user in users:
            if user is None or self._guarded(user):
                continue
            if not self._only_called_when_guarded(user, depth - 1):
                return False
        return True

    def _removed(self, scope: FunctionScope, registry: Registry) -> bool:
        """A matching removal in the function, or (for ``__init__``) anywhere in its class."""
        names = self.analysis(ImportNames)
        roots: list[cst.CSTNode] = [scope.node]
        if scope.owner is not None:
            roots = [scope.owner]
        count = 0
        for root in roots:
            for part in iter_nodes(root):
                if not isinstance(part, cst.Call):
                    continue
                if (
                    isinstance(part.func, cst.Attribute)
                    and part.func.attr.value in registry.removals
                ):
                    return True
                if names.call_name(part) in registry.removals:
                    count += 1
        # For signal.signal the registration itself is one of the matches.
        return count > (1 if "signal.signal" in registry.removals else 0)

    def _guarded(self, scope: FunctionScope) -> bool:
        """An ``if`` in the function that checks whether the work was done already: the
        logger's handlers (``if h not in log.handlers``) or a module-level flag that some
        function sets."""
        flags = self._flags()
        for part in scope.nodes_of(_TESTS):
            assert isinstance(part, (cst.If, cst.While))
            for piece in iter_nodes(part.test):
                if isinstance(piece, cst.Attribute) and piece.attr.value in GUARD_ATTRIBUTES:
                    return True
                if isinstance(piece, cst.Name) and piece.value in flags:
                    return True
                if isinstance(piece, cst.Attribute) and piece.attr.value in flags:
                    return True
        return False

    def _flags(self) -> set[str]:
        """Module globals that a function assigns (``global _configured; _configured = True``)
        and attributes set to ``True``/``False`` (``cls._registered = True``)."""
        if self._flag_cache is not None:
            return self._flag_cache
        flags: set[str] = set()
        for scope in self.analysis(Scopes).functions:
            flags.update(scope.globals & scope.locals)
            for node in scope.nodes_of(_ASSIGNS):
                if isinstance(node, cst.Assign) and _is_bool(node.value):
                    for target in node.targets:
                        if isinstance(target.target, cst.Attribute):
                            flags.add(target.target.attr.value)
        self._flag_cache = flags
        return flags

    def _long_lived_argument(self, node: cst.Call, scope: FunctionScope) -> bool:
        """``logger.addHandler(_handler)`` with a module-level or ``self`` handler adds it once:
        logging ignores a handler that is attached already."""
        if not node.args:
            return False
        arg = node.args[0].value
        if isinstance(arg, cst.Name):
            return arg.value in self.analysis(Scopes).module_names and not scope.binds(arg.value)
        return isinstance(arg, cst.Attribute)


def _is_bool(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value in ("True", "False")


def _pins_objects(call: cst.Call) -> bool:
    """``signal.signal`` replaces the previous handler, so it never accumulates; it matters
    when the handler is a bound method of the object being set up, which it keeps alive (and
    re-binds on every new object)."""
    if len(call.args) < 2:
        return False
    handler = call.args[1].value
    if isinstance(handler, cst.Attribute):
        return isinstance(handler.value, cst.Name) and handler.value.value == "self"
    return False


def _one_time_name(name: str) -> bool:
    if name == "__init__":
        return False
    return bool(ONE_TIME_NAME.match(name.lstrip("_")))
