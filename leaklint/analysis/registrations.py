"""Registrations in process-wide registries made by functions that may run again and again.

``logger.addHandler(h)``, ``logger.addFilter(f)`` on a `logging` logger and
``atexit.register(f)`` add to a registry that lives as long as the process. For each such call
inside a function, computed once per file: whether the function is one-time set-up (named so,
run at import time, a module singleton's ``__init__``, start-up code that exits, or only
called from such code), whether the addition is undone or guarded, and the evidence, if any,
that the function runs again and again (:class:`Repetition`). What is left is
:attr:`Registrations.found`; how it is worded and how sure it is belong to the rule (LK204).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.containers import Containers, is_entity_name
from leaklint.analysis.invocations import Invocations, Use
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.screen import SourceFacts
from leaklint.walker import iter_nodes


@dataclass(frozen=True)
class Registry:
    """A process-wide registry: how things are added to it, taken off again, and the fix."""

    label: str
    removals: frozenset[str]  # method names or qualified functions that undo the add
    fix: str
    # logging ignores a handler or filter that is attached already.
    ignores_duplicates: bool = False
    # Callbacks run once, at exit: they may be the deliberate release of what a call made.
    runs_at_exit: bool = False


# Methods of `logging` loggers, and qualified module functions.
LOGGER_METHODS = {
    "addHandler": Registry(
        "logging handler",
        frozenset({"removeHandler"}),
        "add it once at start-up, or remove it in `finally`",
        ignores_duplicates=True,
    ),
    "addFilter": Registry(
        "logging filter",
        frozenset({"removeFilter"}),
        "add it once at start-up, or remove it in `finally`",
        ignores_duplicates=True,
    ),
}
REGISTRATION_FUNCTIONS = {
    "atexit.register": Registry(
        "atexit callback",
        frozenset({"atexit.unregister"}),
        "register it once at start-up, or `atexit.unregister` it when its work is done",
        runs_at_exit=True,
    ),
}
# What hands out a `logging` logger (the receivers `addHandler` counts on).
LOGGER_FACTORIES = frozenset({"logging.getLogger", "logging.Logger.manager.getLogger"})
LOGGER_OBJECTS = frozenset({"logging.root", "logging.Logger.root"})
# Functions meant to run once per process: entry points, set-up and convenience set-up
# (`set_stream_logger`, `enable_tracing`, `log_to_stderr`).
ONE_TIME_NAME = re.compile(
    r"^(main|setup|set_up|configure|config|init|install|create|start|bootstrap|daemoni[sz]e"
    r"|enable_|log_to_|set_\w*log|parse_(?:args|arguments|options|command_line))",
    re.IGNORECASE,
)
# Classes whose methods are configuration code (logging.config's DictConfigurator ...).
CONFIG_CLASS = re.compile(r"config", re.IGNORECASE)
# Tests that guard a registration: "is it configured yet?" (`logger.handlers`, the logging
# manager's `loggerDict`).
GUARD_ATTRIBUTES = frozenset({"handlers", "hasHandlers", "filters", "loggerDict"})
# Function names that say they run once per request, job or event.
HANDLER_PREFIXES = frozenset({"handle", "process", "dispatch", "on", "do", "respond"})
PER_CALL_WORDS = frozenset(
    {"request", "req", "job", "task", "message", "msg", "event", "item", "record", "packet"}
)
# Callbacks that release something at exit (``os.remove``, ``_stop_tunnel``, ``cleanup``).
CLEANUP_WORDS = (
    "remove", "unlink", "rmtree", "rmdir", "delete", "clean", "stop", "cancel", "close",
    "kill", "terminate", "release",
)


@functools.cache
def _tests() -> frozenset[type]:
    return frozenset({cst.If, cst.While})


@functools.cache
def _assigns() -> frozenset[type]:
    return frozenset({cst.Assign})


@functools.cache
def _calls() -> frozenset[type]:
    return frozenset({cst.Call})


class Why(Enum):
    """The evidence in the module that a function runs again and again."""

    NAMED_PER_EVENT = "named as a per-request or per-event handler"  # handle*, on_*, __call__
    NAMED_PER_WORD = "named for a per-call word"  # *_job, process_message (subject: the word)
    TAKES_ENTITY = "takes per-request data"  # (subject: the parameter)
    CALLBACK = "a callback"
    CALLED_IN_LOOP = "called in a loop"


@dataclass(frozen=True)
class Repetition:
    """Why a function runs many times: ``culprit`` is the function with the evidence (the one
    registering, or one of its callers)."""

    culprit: FunctionScope
    why: Why
    subject: str = ""


@dataclass(frozen=True)
class Registration:
    """An addition to a process-wide registry, in a function that is not one-time set-up,
    never undone and not guarded."""

    call: cst.Call
    registry: Registry
    spelled: str  # the call as messages name it: ``.addHandler()``, ``atexit.register()``
    function: FunctionScope
    # The evidence that the function runs again and again; None when the module shows none.
    repetition: Optional[Repetition]
    # ``atexit.register(os.remove, path)`` with ``path`` made by this call: the deliberate
    # release at exit of what the call made.
    cleans_up_at_exit: bool


def may_register(facts: SourceFacts) -> bool:
    """The file may add to a registry: it calls a logger method that does, or a registration
    function as its imports resolve it."""
    return facts.calls_any(frozenset(LOGGER_METHODS)) or facts.calls_qualified(
        frozenset(REGISTRATION_FUNCTIONS)
    )


class Registrations(Analysis):
    """The registrations of the file that nothing shows to be one-time, undone or guarded,
    in the order of the file."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self._flag_cache: Optional[set[str]] = None
        self._logger_names: Optional[set[str]] = None
        self.found: list[Registration] = []
        for node in context.analysis(Scopes).nodes_of_type(cst.Call):
            assert isinstance(node, cst.Call)
            registration = self._registration(node)
            if registration is not None:
                self.found.append(registration)

    def _registration(self, node: cst.Call) -> Optional[Registration]:
        if not self._names_a_registry(node):
            return None  # most calls: no need to find the function around them
        scope = self.context.analysis(Scopes).function_around(node)
        if scope is None:
            return None
        registry, call = self._registry(node, scope)
        if registry is None:
            return None
        if self._runs_once(scope, depth=4):
            return None
        if self._removed(scope, registry) or self._guarded(scope) or self._first_time_only(node):
            return None
        if self._only_called_when_guarded(scope, depth=3):
            return None
        if registry.ignores_duplicates and self._long_lived_argument(node, scope):
            return None
        return Registration(
            node, registry, call, scope, self._repeats(scope, depth=3),
            registry.runs_at_exit and _cleans_up_at_exit(node, scope),
        )

    # --- what is registered ----------------------------------------------------------------
    def _names_a_registry(self, node: cst.Call) -> bool:
        """What :meth:`_registry` asks first, before it needs the scope: a logger's method by
        name, or a registration function."""
        func = node.func
        if type(func) is cst.Attribute and func.attr.value in LOGGER_METHODS:
            return True
        return self.context.analysis(ImportNames).call_name(node) in REGISTRATION_FUNCTIONS

    def _registry(
        self, node: cst.Call, scope: FunctionScope
    ) -> tuple[Optional[Registry], str]:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in LOGGER_METHODS:
            if not self._is_logger(func.value, scope):
                return None, ""
            return LOGGER_METHODS[func.attr.value], f".{func.attr.value}()"
        name = self.context.analysis(ImportNames).call_name(node)
        if name in REGISTRATION_FUNCTIONS:
            return REGISTRATION_FUNCTIONS[name], f"{name}()"
        return None, ""

    def _is_logger(
        self, receiver: cst.BaseExpression, scope: FunctionScope, depth: int = 2
    ) -> bool:
        """Whether ``receiver`` is a `logging` logger: ``logging.getLogger(...)``,
        ``logging.root``, or a name or ``self`` attribute bound to one."""
        if self._makes_logger(receiver):
            return True
        if isinstance(receiver, cst.Name):
            binder = scope.enclosing_binder(receiver.value)
            if binder is None:
                return receiver.value in self._module_loggers()
            if receiver.value in binder.params and receiver.value not in binder.locals:
                return depth > 0 and self._given_loggers(binder, receiver.value, depth - 1)
            return any(
                self._makes_logger(value) or self._is_logger(value, binder, depth - 1)
                for value in _assigned_values(binder, lambda t: _is_name(t, receiver.value))
                if depth > 0 or self._makes_logger(value)
            )
        if isinstance(receiver, cst.Attribute) and _is_name(receiver.value, "self"):
            owner = scope.owner
            if owner is None and scope.parent is not None:
                owner = scope.parent.owner
            if owner is None:
                return False
            attr = receiver.attr.value
            for method in self.context.analysis(Scopes).functions:
                if method.owner is owner and any(
                    self._makes_logger(value)
                    for value in _assigned_values(method, lambda t: _is_self_attr(t, attr))
                ):
                    return True
        return False

    def _given_loggers(self, helper: FunctionScope, param: str, depth: int) -> bool:
        """``def _attach(logger): logger.addHandler(...)``: every call of the helper in the
        module passes a `logging` logger (and there is at least one)."""
        position = helper.params.index(param)
        containers = self.context.analysis(Containers)
        found = False
        callers: list[tuple[Optional[FunctionScope], list[cst.CSTNode]]] = [
            (caller, caller.nodes_of(_calls()))
            for caller in self.context.analysis(Scopes).functions
        ]
        for caller, calls in callers:
            for call in calls:
                assert isinstance(call, cst.Call)
                for callee, index, arg in containers.helper_args(call, caller):
                    if callee is not helper or index != position:
                        continue
                    if caller is None or not self._is_logger(arg, caller, depth):
                        return False
                    found = True
        return found

    def _makes_logger(self, expr: cst.BaseExpression) -> bool:
        names = self.context.analysis(ImportNames)
        if isinstance(expr, cst.Call):
            return names.call_name(expr) in LOGGER_FACTORIES
        return names.qualified_name(expr) in LOGGER_OBJECTS

    def _module_loggers(self) -> set[str]:
        """Module-level names bound to a logger (``log = logging.getLogger("jobs")``)."""
        if self._logger_names is None:
            found: set[str] = set()
            for node in self.context.analysis(Scopes).module_nodes:
                if isinstance(node, cst.Assign) and self._makes_logger(node.value):
                    for target in node.targets:
                        if isinstance(target.target, cst.Name):
                            found.add(target.target.value)
            self._logger_names = found
        return self._logger_names

    # --- how often the function runs -------------------------------------------------------
    def _runs_once(self, scope: FunctionScope, depth: int) -> bool:
        """Set-up code: named so, run at import time, ``__init__`` of a module singleton,
        command-line code that exits on error, or only ever called from such code."""
        if scope in self.context.analysis(Containers).import_time or _one_time_name(scope.name):
            return True
        if scope.owner is not None and CONFIG_CLASS.search(scope.owner.name.value):
            return True
        invocations = self.context.analysis(Invocations)
        if scope.name == "__init__" and invocations.is_singleton(scope.owner):
            return True
        if self._exits_process(scope):
            return True
        references = invocations.references_to(scope)
        if depth == 0 or any(ref.use is not Use.CALLED for ref in references):
            return False  # a callback, or called in a loop: it runs many times
        if references:
            return all(
                ref.user is None or self._runs_once(ref.user, depth - 1) for ref in references
            )
        # A nested function that is only called (never handed out) runs with its parent.
        return scope.parent is not None and self._runs_once(scope.parent, depth - 1)

    def _exits_process(self, scope: FunctionScope) -> bool:
        names = self.context.analysis(ImportNames)
        return any(
            isinstance(node, cst.Call) and (names.call_name(node) or "") in specs.PROCESS_EXITS
            for node in scope.nodes_of(_calls())
        )

    def _repeats(self, scope: FunctionScope, depth: int) -> Optional[Repetition]:
        """Evidence in the module that ``scope`` runs again and again, or None."""
        named = _per_call_name(scope)
        if named is not None:
            return named
        references = self.context.analysis(Invocations).references_to(scope)
        uses = {ref.use for ref in references}
        if Use.PASSED in uses:
            return Repetition(scope, Why.CALLBACK)
        if Use.CALLED_IN_LOOP in uses:
            return Repetition(scope, Why.CALLED_IN_LOOP)
        if depth == 0:
            return None
        for ref in references:
            if ref.user is not None and ref.use is Use.CALLED:
                found = self._repeats(ref.user, depth - 1)
                if found is not None:
                    return found
        return None

    # --- guards and removals ---------------------------------------------------------------
    def _only_called_when_guarded(self, scope: FunctionScope, depth: int) -> bool:
        """A helper whose every caller in the module checks first (`if not log.handlers:`)."""
        users = self.context.analysis(Invocations).references_to(scope)
        if not users or depth == 0:
            return False
        for ref in users:
            if ref.user is None or self._guarded(ref.user):
                continue
            if not self._only_called_when_guarded(ref.user, depth - 1):
                return False
        return True

    def _removed(self, scope: FunctionScope, registry: Registry) -> bool:
        """A matching removal in the function, or (for a method) anywhere in its class: called
        or handed on to run later (``stack.callback(atexit.unregister, f)``)."""
        names = self.context.analysis(ImportNames)
        root: cst.CSTNode = scope.owner if scope.owner is not None else scope.node
        for part in iter_nodes(root):
            if isinstance(part, cst.Attribute) and part.attr.value in registry.removals:
                return True
            if (
                isinstance(part, (cst.Name, cst.Attribute))
                and (names.qualified_name(part) or "") in registry.removals
            ):
                return True
        return False

    def _guarded(self, scope: FunctionScope) -> bool:
        """An ``if`` in the function that checks whether the work was done already: the
        logger's handlers (``if h not in log.handlers``), the logging manager's loggers, a
        module-level flag that some function sets, or an attribute the function sets after an
        early ``return`` (``if self._hooked: return``)."""
        flags = self._flags()
        assigned = _assigned_attributes(scope)
        for part in scope.nodes_of(_tests()):
            assert isinstance(part, (cst.If, cst.While))
            returns = isinstance(part, cst.If) and _only_returns(part.body)
            for piece in iter_nodes(part.test):
                if isinstance(piece, cst.Attribute) and piece.attr.value in GUARD_ATTRIBUTES:
                    return True
                if isinstance(piece, cst.Name) and piece.value in flags:
                    return True
                if isinstance(piece, cst.Attribute) and (
                    piece.attr.value in flags or (returns and piece.attr.value in assigned)
                ):
                    return True
        return False

    def _first_time_only(self, node: cst.Call) -> bool:
        """Registered in ``except LookupError:`` (``try: _state.get() except LookupError:``):
        the first lookup of a context variable fails once, then finds what was set."""
        for ancestor in reversed(self.context.analysis(Scopes).ancestors(node)):
            if isinstance(ancestor, cst.ExceptHandler) and ancestor.type is not None:
                for piece in iter_nodes(ancestor.type):
                    if isinstance(piece, cst.Name) and piece.value == "LookupError":
                        return True
        return False

    def _flags(self) -> set[str]:
        """Module globals that a function assigns (``global _configured; _configured = True``)
        and attributes set to ``True``/``False`` (``cls._registered = True``)."""
        if self._flag_cache is not None:
            return self._flag_cache
        flags: set[str] = set()
        for scope in self.context.analysis(Scopes).functions:
            flags.update(scope.globals & scope.locals)
            for node in scope.nodes_of(_assigns()):
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
            module_names = self.context.analysis(Scopes).module_names
            return arg.value in module_names and not scope.binds(arg.value)
        return isinstance(arg, cst.Attribute)



def _cleans_up_at_exit(call: cst.Call, scope: FunctionScope) -> bool:
    """``atexit.register(os.remove, path)`` with ``path`` made by this call: the callback
    releases at exit what the call made to last until then (a temporary file, a tunnel). One
    small entry per call, the deliberate way to clean up: doubtful."""
    if not call.args:
        return False
    callback = dotted_name(call.args[0].value) or ""
    words = re.split(r"[._]+", callback.rsplit(".", 1)[-1].lower())
    if not any(word.startswith(CLEANUP_WORDS) for word in words):
        return False
    for arg in call.args[1:]:
        for part in iter_nodes(arg.value):
            if isinstance(part, cst.Name) and part.value in scope.locals:
                return True
    return False


def _per_call_name(scope: FunctionScope) -> Optional[Repetition]:
    """``handle(request)``, ``run_job(...)``, ``__call__``: named or shaped as per-request."""
    words = [w for w in re.split(r"_+|(?<=[a-z])(?=[A-Z])", scope.name.lower()) if w]
    if scope.name == "__call__" or (words and words[0] in HANDLER_PREFIXES):
        return Repetition(scope, Why.NAMED_PER_EVENT)
    for word in words:
        if word in PER_CALL_WORDS:
            return Repetition(scope, Why.NAMED_PER_WORD, word)
    for param in scope.params:
        if param not in ("self", "cls") and is_entity_name(param):
            return Repetition(scope, Why.TAKES_ENTITY, param)
    return None


def _assigned_values(
    scope: FunctionScope, matches: Callable[[cst.BaseExpression], bool]
) -> list[cst.BaseExpression]:
    return [
        node.value
        for node in scope.nodes_of(_assigns())
        if isinstance(node, cst.Assign) and any(matches(t.target) for t in node.targets)
    ]


def _assigned_attributes(scope: FunctionScope) -> set[str]:
    found: set[str] = set()
    for node in scope.nodes_of(_assigns()):
        assert isinstance(node, cst.Assign)
        for target in node.targets:
            if isinstance(target.target, cst.Attribute):
                found.add(target.target.attr.value)
    return found


def _only_returns(body: cst.BaseSuite) -> bool:
    """``if ...: return`` (the body does nothing but leave)."""
    statements = list(body.body)
    if len(statements) != 1:
        return False
    statement = statements[0]
    small = statement.body if isinstance(statement, cst.SimpleStatementLine) else [statement]
    return len(small) == 1 and isinstance(small[0], cst.Return)


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _is_self_attr(node: cst.CSTNode, attr: str) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value == attr
        and _is_name(node.value, "self")
    )


def _is_bool(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value in ("True", "False")


def _one_time_name(name: str) -> bool:
    if name == "__init__":
        return False
    return bool(ONE_TIME_NAME.match(name.lstrip("_")))
