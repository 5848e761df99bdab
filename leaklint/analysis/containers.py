"""Module- and class-level containers: where functions grow them, and whether anything evicts.

Shared by LK201 (a long-lived container that only grows) and LK206 (a mutable default that the
function grows). Computed once per file:

* the containers: ``NAME = {}`` / ``dict()`` / ``[]`` / ``set()`` / ``defaultdict(...)`` /
  ``OrderedDict()`` / ``Counter()`` / ``deque()`` (no ``maxlen``) in the module body or in the
  body of a module-level class;
* which parameters each function grows, directly or by handing them to a helper of the same
  module that grows them (a fixed point over the module's functions);
* every place a function grows a container: by name (``global`` or free), through a local alias,
  through a helper, through ``ClassName.x`` / ``cls.x`` / ``self.__class__.x`` / ``type(self).x``
  or a ``self.x`` that no instance attribute shadows;
* every eviction or size bound anywhere in the module;
* which functions only ever run at import time: called from the module body, used as decorators
  there, ``__init_subclass__`` and metaclass hooks, registration functions and decorators.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.syntax import last_name, target_names
from leaklint.walker import children, iter_nodes, iter_with_parents


class Shape(enum.Enum):
    MAPPING = "dict"
    SEQUENCE = "list"
    SET = "set"


@dataclass(frozen=True)
class ContainerType:
    label: str
    shape: Shape
    # Reading a missing key inserts it (defaultdict) or `c[k] += 1` inserts it (Counter).
    inserts_on_read: bool = False
    inserts_on_augment: bool = False


# What creates a container, by qualified name of the call (literals are handled apart).
CONTAINER_CALLS: dict[str, ContainerType] = {
    "builtins.dict": ContainerType("dict", Shape.MAPPING),
    "builtins.list": ContainerType("list", Shape.SEQUENCE),
    "builtins.set": ContainerType("set", Shape.SET),
    "collections.defaultdict": ContainerType("defaultdict", Shape.MAPPING, True, True),
    "collections.OrderedDict": ContainerType("OrderedDict", Shape.MAPPING),
    "collections.Counter": ContainerType("Counter", Shape.MAPPING, False, True),
    "collections.deque": ContainerType("deque", Shape.SEQUENCE),
}


@functools.cache
def _literals() -> dict[type, ContainerType]:
    return {
        cst.Dict: ContainerType("dict", Shape.MAPPING),
        cst.List: ContainerType("list", Shape.SEQUENCE),
        cst.Set: ContainerType("set", Shape.SET),
    }


GROW_METHODS = frozenset(
    {
        "append",
        "add",
        "setdefault",
        "update",
        "extend",
        "insert",
        "appendleft",
        "extendleft",
        "__setitem__",
    }
)
SEQUENCE_GROW_METHODS = frozenset({"append", "extend", "insert", "appendleft", "extendleft"})
EVICT_METHODS = frozenset(
    {
        "pop",
        "popitem",
        "clear",
        "remove",
        "discard",
        "popleft",
        "__delitem__",
        "difference_update",
        "intersection_update",
    }
)
# Reordering an LRU cache (``OrderedDict.move_to_end``) evicts nothing: a cache that is
# reordered but never trimmed (no ``popitem``) only grows.
REORDER_METHODS = frozenset({"move_to_end"})
# Functions whose name says they are called once per registered thing, at set-up time.
REGISTRATION_WORDS = ("register", "install", "setup", "set_up", "configure", "declare")
ENTRY_POINT_NAMES = frozenset({"prepare", "bootstrap", "init", "initialize", "initialise"})
_ADD_NAME = re.compile(r"^add(_|[A-Z])")
# Hooks that run when a class statement executes (at import time for module-level classes).
CLASS_CREATION_HOOKS = frozenset({"__init_subclass__", "__set_name__", "__class_getitem__"})
METACLASS_HOOKS = frozenset({"__new__", "__init__", "__prepare__"})


# The node types each scan looks at, so the scans skip the rest of the tree cheaply.
@functools.cache
def _assigns() -> frozenset[type]:
    return frozenset({cst.Assign, cst.AnnAssign})


@functools.cache
def _effects() -> frozenset[type]:
    return frozenset(
        {
            cst.Call,
            cst.Assign,
            cst.AnnAssign,
            cst.AugAssign,
            cst.Attribute,
            cst.Del,
            cst.Comparison,
            cst.Subscript,
        }
    )


@functools.cache
def _escapes() -> frozenset[type]:
    return frozenset({cst.Assign, cst.Return, cst.FunctionDef})


@functools.cache
def _references() -> frozenset[type]:
    return frozenset({cst.Name, cst.Attribute})


@functools.cache
def _tests() -> frozenset[type]:
    return frozenset({cst.If, cst.While, cst.IfExp, cst.Comparison})


@functools.cache
def _returns() -> frozenset[type]:
    return frozenset({cst.Return})


@functools.cache
def _lookups() -> frozenset[type]:
    return frozenset({cst.Call, cst.Subscript})


LOOKUP_METHODS = frozenset({"get", "setdefault", "__getitem__", "__contains__"})


@dataclass(frozen=True)
class Container:
    """A long-lived container: ``CACHE`` in the module, or ``Registry.items`` in a class."""

    name: str
    attr: str
    owner: Optional[cst.ClassDef]
    type: ContainerType
    assignment: cst.CSTNode

    @property
    def where(self) -> str:
        return "class-level" if self.owner is not None else "module-level"


@dataclass(frozen=True)
class Growth:
    container: Container
    node: cst.CSTNode
    function: FunctionScope
    # The key or element added (None when unknown, e.g. ``update(other)``).
    key: Optional[cst.BaseExpression]


def container_type(value: cst.BaseExpression, names: ImportNames) -> Optional[ContainerType]:
    """The container ``value`` creates, or None (also for ``deque(maxlen=...)``, weak maps)."""
    literal = _literals().get(type(value))
    if literal is not None:
        return literal
    if isinstance(value, (cst.ListComp, cst.SetComp, cst.DictComp)):
        return None  # built from data at once; growth still counts via the name
    if not isinstance(value, cst.Call):
        return None
    kind = CONTAINER_CALLS.get(names.call_name(value) or "")
    if kind is None:
        return None
    if kind.label == "deque" and (
        len(value.args) >= 2 or any(_keyword(a) == "maxlen" for a in value.args)
    ):
        return None
    return kind


def _keyword(arg: cst.Arg) -> Optional[str]:
    return arg.keyword.value if arg.keyword is not None else None


Binding = tuple[str, "cst.CSTNode", "cst.BaseExpression"]


def _assignments(statements: Sequence[cst.CSTNode]) -> Iterator[Binding]:
    """``name = value`` statements directly in a body, also under module-level if/try."""
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        yield target.value, small, small.value
                elif (
                    isinstance(small, cst.AnnAssign)
                    and small.value is not None
                    and isinstance(small.target, cst.Name)
                ):
                    yield small.target.value, small, small.value
        elif isinstance(statement, (cst.If, cst.Try)):
            yield from _assignments(list(children(statement.body)))


def _param_index(scope: FunctionScope, expr: cst.BaseExpression) -> Optional[int]:
    """The position of the parameter ``expr`` names, if it still holds the caller's object."""
    if type(expr) is cst.Name and expr.value in scope.params:
        if expr.value in scope.locals:
            return None  # rebound somewhere: not the caller's object for sure
        return scope.params.index(expr.value)
    return None


def _add_param(found: set[int], scope: FunctionScope, expr: cst.BaseExpression) -> None:
    index = _param_index(scope, expr)
    if index is not None:
        found.add(index)


class ContainerDefinitions(Analysis):
    """The containers a module and its classes define: a read of the top-level statements,
    without scopes, so a file can be dismissed before the full analysis is paid for."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.module_containers: dict[str, Container] = {}
        self.class_containers: dict[tuple[str, str], Container] = {}
        self.classes_by_name: dict[str, cst.ClassDef] = {}
        self._collect(context.module)

    def _collect(self, module: cst.Module) -> None:
        for name, node, value in _assignments(list(module.body)):
            kind = container_type(value, self.names)
            if kind is not None and name not in self.module_containers:
                self.module_containers[name] = Container(name, name, None, kind, node)
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                self.classes_by_name[statement.name.value] = statement
                for name, node, value in _assignments(list(children(statement.body))):
                    kind = container_type(value, self.names)
                    key = (statement.name.value, name)
                    if kind is not None and key not in self.class_containers:
                        label = f"{statement.name.value}.{name}"
                        self.class_containers[key] = Container(label, name, statement, kind, node)

    def any_used_again(self) -> bool:
        """Whether the source spells the name of some container more than once. Anything
        that grows a container (by name, alias, ``self.x``, ``Class.x``) spells its name;
        a file whose containers are all named once (``__all__ = [...]``) cannot grow them."""
        source = self.context.source
        names = {c.attr for c in (*self.module_containers.values(),
                                   *self.class_containers.values())}
        for name in names:
            spelled = re.finditer(rf"\b{re.escape(name)}\b", source)
            if next(spelled, None) and next(spelled, None):
                return True
        return False


class Containers(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self.scopes = context.analysis(Scopes)
        self._module_by_types: dict[frozenset[type], list[cst.CSTNode]] = {}
        definitions = context.analysis(ContainerDefinitions)
        self.module_containers = definitions.module_containers
        self.class_containers = definitions.class_containers
        self.classes_by_name = definitions.classes_by_name
        self.functions_by_name = self.scopes.functions_by_name
        # Attributes assigned on instances (``self.x = ...``) shadow class attributes.
        self.instance_attrs: set[str] = set()
        for scope in self.scopes.functions:
            for node in scope.nodes_of(_assigns()):
                for target in _assign_targets(node):
                    if isinstance(target, cst.Attribute) and _is_name(target.value, "self"):
                        self.instance_attrs.add(target.attr.value)
        # Which positional parameters (by index) each function grows / evicts.
        self.param_growth: dict[FunctionScope, set[int]] = {}
        self.param_eviction: dict[FunctionScope, set[int]] = {}
        self._param_fixed_point()
        self.growths: list[Growth] = []
        self.aliases_of: dict[FunctionScope, dict[str, Container]] = {}
        self.evicted: set[Container] = set()
        # Containers kept in least-recently-used order (``move_to_end``): meant to be bounded.
        self.reordered: set[Container] = set()
        self._scan_uses()
        # Who refers to each function: None for the module body, else the calling function.
        self.references: dict[FunctionScope, list[Optional[FunctionScope]]] = {}
        self.import_time = self._import_time_functions()

    def _module_nodes(self, types: frozenset[type]) -> list[cst.CSTNode]:
        found = self._module_by_types.get(types)
        if found is None:
            found = [node for node in self.scopes.module_nodes if type(node) in types]
            self._module_by_types[types] = found
        return found

    # --- resolving an expression to a container --------------------------------------------
    def resolve(
        self,
        expr: cst.BaseExpression,
        scope: Optional[FunctionScope],
        aliases: dict[str, Container],
    ) -> Optional[Container]:
        if isinstance(expr, cst.Name):
            name = expr.value
            if scope is not None:
                if name in aliases:
                    return aliases[name]
                if scope.enclosing_binder(name) is not None:
                    return None
            return self.module_containers.get(name)
        if isinstance(expr, cst.Attribute):
            attr = expr.attr.value
            owner = self._class_of(expr.value, scope)
            if owner is not None:
                found = self.class_containers.get((owner.name.value, attr))
                if found is not None:
                    return found
            if (
                _is_name(expr.value, "self")
                and scope is not None
                and scope.owner is not None
                and attr not in self.instance_attrs
            ):
                return self.class_containers.get((scope.owner.name.value, attr))
        return None

    def _class_of(
        self, expr: cst.BaseExpression, scope: Optional[FunctionScope]
    ) -> Optional[cst.ClassDef]:
        """The module-level class ``expr`` denotes: ``C``, ``cls``, ``self.__class__``,
        ``type(self)``."""
        if isinstance(expr, cst.Name):
            if expr.value in self.classes_by_name and (
                scope is None or scope.enclosing_binder(expr.value) is None
            ):
                return self.classes_by_name[expr.value]
            if expr.value == "cls" and scope is not None and scope.owner is not None:
                return scope.owner
            return None
        owner = scope.owner if scope is not None else None
        if owner is None:
            return None
        if isinstance(expr, cst.Attribute) and expr.attr.value == "__class__":
            return owner if _is_name(expr.value, "self") else None
        if isinstance(expr, cst.Call) and _is_name(expr.func, "type") and len(expr.args) == 1:
            return owner if _is_name(expr.args[0].value, "self") else None
        return None

    # --- parameters grown by helpers -------------------------------------------------------
    def _param_fixed_point(self) -> None:
        """Which parameters each function grows or evicts: directly, then through the helpers
        it hands them to, until nothing changes. The direct effects and the hand-offs are read
        once; only the hand-offs are iterated."""
        handoffs: list[tuple[FunctionScope, list[tuple[FunctionScope, int, int]]]] = []
        for scope in self.scopes.functions:
            grown: set[int] = set()
            evicted: set[int] = set()
            passed: list[tuple[FunctionScope, int, int]] = []
            for node in scope.nodes_of(_effects()):
                for target in self.grown_targets(node):
                    _add_param(grown, scope, target)
                for target in self.evicted_targets(node):
                    _add_param(evicted, scope, target)
                if type(node) is cst.Call:
                    for callee, position, arg in self.helper_args(node, scope):
                        index = _param_index(scope, arg)
                        if index is not None:
                            passed.append((callee, position, index))
            self.param_growth[scope] = grown
            self.param_eviction[scope] = evicted
            if passed:
                handoffs.append((scope, passed))
        changed = True
        while changed:
            changed = False
            for scope, passed in handoffs:
                for effects in (self.param_growth, self.param_eviction):
                    mine = effects[scope]
                    for callee, position, index in passed:
                        if index not in mine and position in effects[callee]:
                            mine.add(index)
                            changed = True

    def helper_args(
        self, call: cst.Call, scope: Optional[FunctionScope]
    ) -> Iterator[tuple[FunctionScope, int, cst.BaseExpression]]:
        """(helper, parameter index, argument) for a call of a same-module function by name."""
        if not isinstance(call.func, cst.Name):
            return
        name = call.func.value
        if scope is not None and scope.enclosing_binder(name) is not None:
            candidates = [s for s in scope.nested if s.name == name] or [
                s for s in self.functions_by_name.get(name, ()) if s.parent is not None
            ]
        else:
            candidates = [
                s
                for s in self.functions_by_name.get(name, ())
                if s.parent is None and s.owner is None
            ]
        for callee in candidates[:1]:
            for position, arg in enumerate(call.args):
                if arg.keyword is not None:
                    if arg.keyword.value in callee.params:
                        yield callee, callee.params.index(arg.keyword.value), arg.value
                elif not arg.star:
                    yield callee, position, arg.value

    # --- growth and eviction shapes --------------------------------------------------------
    def grown_targets(self, node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
        """Expressions that ``node`` grows (before knowing what they refer to)."""
        # Exact types, not isinstance: libcst's node classes are ABCs, whose isinstance is
        # slow, and these run for every candidate node of every function.
        kind = type(node)
        if kind is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is cst.Attribute and func.attr.value in GROW_METHODS:
                yield func.value
        elif kind is cst.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                if type(target.target) is cst.Subscript and not _is_slice(target.target):
                    yield target.target.value
        elif kind is cst.AugAssign:
            assert isinstance(node, cst.AugAssign)
            if isinstance(node.target, cst.Subscript):
                yield node.target.value
            elif isinstance(node.operator, (cst.AddAssign, cst.BitOrAssign)):
                yield node.target

    def evicted_targets(self, node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
        kind = type(node)
        if kind is cst.Attribute:
            # Called or handed out as a callback (``finalize(obj, CACHE.pop, key)``).
            if node.attr.value in EVICT_METHODS:  # type: ignore[attr-defined]
                yield node.value  # type: ignore[attr-defined]
        elif kind is cst.Call or kind is cst.AugAssign:
            return
        elif isinstance(node, cst.Del):
            for target in _del_targets(node.target):
                if isinstance(target, cst.Subscript):
                    yield target.value
        elif isinstance(node, cst.Assign):
            for assigned in node.targets:
                if isinstance(assigned.target, cst.Subscript) and _is_slice(assigned.target):
                    yield assigned.target.value
        elif isinstance(node, cst.Comparison):
            for part in iter_nodes(node):
                if (
                    isinstance(part, cst.Call)
                    and _is_name(part.func, "len")
                    and len(part.args) == 1
                ):
                    yield part.args[0].value

    # --- scanning the module ---------------------------------------------------------------
    def _scan_uses(self) -> None:
        self._scan(None, self._module_nodes(_effects()))
        for scope in self.scopes.functions:
            self._scan(scope, scope.nodes_of(_effects()))
        self._scan_escapes(None, self._module_nodes(_escapes()))
        for scope in self.scopes.functions:
            self._scan_escapes(scope, scope.nodes_of(_escapes()))

    def _scan_escapes(self, scope: Optional[FunctionScope], nodes: list[cst.CSTNode]) -> None:
        """A container handed to another object (``self.table = _table``, a parameter default,
        a return value) can be evicted through that object: the module no longer sees every
        eviction, so it counts as evicted."""
        aliases = self.aliases_of.get(scope, {}) if scope is not None else {}
        for node in nodes:
            values: list[cst.BaseExpression] = []
            if _stores_elsewhere(node):
                values = [node.value]  # type: ignore[attr-defined]
            elif isinstance(node, cst.FunctionDef):
                params = node.params
                values = [
                    p.default
                    for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                    if p.default is not None
                ]
            for value in values:
                found = self.resolve(value, scope, aliases)
                if found is not None:
                    self.evicted.add(found)

    def _scan(self, scope: Optional[FunctionScope], nodes: list[cst.CSTNode]) -> None:
        aliases: dict[str, Container] = {}
        if scope is not None:
            for node in nodes:
                for name, value in _simple_bindings(node):
                    if name not in scope.globals:
                        found = self.resolve(value, scope, {})
                        if found is not None:
                            aliases[name] = found
            self.aliases_of[scope] = aliases
        for node in nodes:
            for target in self.evicted_targets(node):
                found = self._resolve_any(target, scope, aliases)
                if found is not None:
                    self.evicted.add(found)
            if isinstance(node, cst.Attribute) and node.attr.value in REORDER_METHODS:
                found = self._resolve_any(node.value, scope, aliases)
                if found is not None:
                    self.reordered.add(found)
            if scope is not None:
                self._rebinding(node, scope)
            if isinstance(node, cst.Call):
                for callee, position, arg in self.helper_args(node, scope):
                    found = self.resolve(arg, scope, aliases)
                    if found is None:
                        continue
                    if position in self.param_eviction.get(callee, ()):
                        self.evicted.add(found)
                    if scope is not None and position in self.param_growth.get(callee, ()):
                        self.growths.append(Growth(found, node, scope, _helper_key(node)))
            if scope is None:
                continue
            for target in self.grown_targets(node):
                found = self.resolve(target, scope, aliases)
                if found is not None and self._really_grows(found, node):
                    self.growths.append(Growth(found, node, scope, _key_of(node)))
            self._grows_on_read(node, scope, aliases)

    def _resolve_any(
        self,
        target: cst.BaseExpression,
        scope: Optional[FunctionScope],
        aliases: dict[str, Container],
    ) -> Optional[Container]:
        found = self.resolve(target, scope, aliases)
        if found is None and isinstance(target, cst.Attribute):
            # An eviction through any object of a class attribute's name: a subclass, an
            # instance, a module alias. Generous on purpose: LK201 must not flag a cleared cache.
            for (_, attr), container in self.class_containers.items():
                if attr == target.attr.value:
                    return container
            return self.module_containers.get(target.attr.value)
        return found

    def _really_grows(self, container: Container, node: cst.CSTNode) -> bool:
        shape = container.type.shape
        if isinstance(node, cst.Assign):
            return shape is Shape.MAPPING  # `lst[i] = v` replaces, it does not grow
        if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Subscript):
            return container.type.inserts_on_augment
        return True

    def _grows_on_read(
        self, node: cst.CSTNode, scope: FunctionScope, aliases: dict[str, Container]
    ) -> None:
        """``d[k].append(v)`` on a defaultdict inserts ``k``."""
        if not isinstance(node, cst.Subscript) or _is_slice(node):
            return
        found = self.resolve(node.value, scope, aliases)
        if found is not None and found.type.inserts_on_read:
            self.growths.append(Growth(found, node, scope, _subscript_key(node)))

    def _rebinding(self, node: cst.CSTNode, scope: FunctionScope) -> None:
        for target in _assign_targets(node):
            for name in target_names(target):
                if name in scope.globals and name in self.module_containers:
                    self.evicted.add(self.module_containers[name])
            if isinstance(target, cst.Attribute):
                owner = self._class_of(target.value, scope)
                if owner is not None:
                    found = self.class_containers.get((owner.name.value, target.attr.value))
                    if found is not None:
                        self.evicted.add(found)

    # --- import time -----------------------------------------------------------------------
    def _import_time_functions(self) -> set[FunctionScope]:
        """Functions that only ever run while the module (and its classes) are imported."""
        references = self.references
        for node in self._module_nodes(_references()):
            for callee in self.scopes.referenced_functions(node, None, methods_at_top=True):
                references.setdefault(callee, []).append(None)
        for scope in self.scopes.functions:
            for node in scope.nodes_of(_references()):
                for callee in self.scopes.referenced_functions(node, scope, methods_at_top=True):
                    if callee is not scope:
                        references.setdefault(callee, []).append(scope)
        # Class-creation hooks, and entry points named as such (``prepare``, ``bootstrap``):
        # they run once per process whoever calls them.
        import_time = {
            scope
            for scope in self.scopes.functions
            if _is_class_creation_hook(scope, self.names)
            or scope.name.lstrip("_").lower() in ENTRY_POINT_NAMES
        }
        changed = True
        while changed:
            changed = False
            for scope in self.scopes.functions:
                if scope in import_time or scope.name == "<lambda>":
                    continue
                users = references.get(scope, [])
                if users:
                    runs_at_import = all(user is None or user in import_time for user in users)
                else:
                    runs_at_import = _is_registration(scope)
                if runs_at_import:
                    import_time.add(scope)
                    changed = True
        return import_time

    def runtime_growths(self, container: Container) -> list[UnboundedGrowth]:
        """Growth at run time that nothing bounds, with why: one element per call, keys that
        are fresh per call (object identities, ids, request data), and - doubtful - keys
        whose range the code does not show (arguments, thread identities)."""
        found = []
        for growth in self.growths:
            if growth.container is not container or growth.function in self.import_time:
                continue
            if _inside_import_time(growth.function, self.import_time):
                continue
            why = self._unbounded_reason(growth)
            if why is not None:
                found.append(UnboundedGrowth(growth, why))
        # The surest first: a rule reports the first one.
        found.sort(key=lambda unbounded: unbounded.reason.doubtful)
        return found

    def _unbounded_reason(self, growth: Growth) -> Optional[KeyReason]:
        node = growth.node
        appends = (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in SEQUENCE_GROW_METHODS
        ) or (isinstance(node, cst.AugAssign) and not isinstance(node.target, cst.Subscript))
        key = growth.key
        if isinstance(key, cst.Name):
            # `oid = id(obj)` then `table[oid] = obj`: look through one local binding.
            key = _single_binding(growth.function, key.value) or key
        if key is not None and _is_module_object(key, self.names):
            return None  # modules exist once per process: a closed set
        if (
            growth.container.type.shape is Shape.SEQUENCE
            and appends
            and not self._tests_container(growth.function, growth.container)
        ):
            return KeyReason(Unbounded.ONE_PER_CALL)
        if growth.key is None or key is None:
            return None
        # What the key is bound from says more than its name (`traceback_id = id(tb)`).
        for candidate in (key, growth.key):
            why = fresh_key_reason(candidate, self.names)
            if why is not None:
                return why
        if growth.container in self.reordered:
            return KeyReason(Unbounded.REORDERED_NEVER_TRIMMED)
        argument = _argument_in(growth.key, growth.function)
        if argument is not None and self._looks_up(growth.function, growth.container):
            return KeyReason(Unbounded.ARGUMENT, argument)
        return None

    def _looks_up(self, scope: FunctionScope, container: Container) -> bool:
        """A memo: the function looks entries up (``c.get(k)``, ``k in c``, ``c[k]`` read,
        ``c.setdefault(k, v)``) besides adding them. A function that only adds (``register``)
        fills a registry whose entries its callers decide."""
        if self._tests_container(scope, container):
            return True
        aliases = self.aliases_of.get(scope, {})
        stored = {
            id(target.target)
            for node in scope.nodes_of(_assigns())
            if isinstance(node, cst.Assign)
            for target in node.targets
        }
        for node in scope.nodes_of(_lookups()):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value in LOOKUP_METHODS and (
                    self.resolve(node.func.value, scope, aliases) is container
                ):
                    return True
            elif (
                isinstance(node, cst.Subscript)
                and id(node) not in stored
                and self.resolve(node.value, scope, aliases) is container
            ):
                return True
        return False

    def _tests_container(self, scope: FunctionScope, container: Container) -> bool:
        """Whether the function looks at the container before growing it (``x not in c``,
        ``if not c:``, ``if c[2] != ...``): then it grows once per distinct value or state,
        not once per call."""
        aliases = self.aliases_of.get(scope, {})
        for node in scope.nodes_of(_tests()):
            if isinstance(node, (cst.If, cst.While, cst.IfExp)):
                tests: cst.CSTNode = node.test
            elif isinstance(node, cst.Comparison):
                tests = node
            else:
                continue
            for part in iter_nodes(tests):
                if isinstance(part, (cst.Name, cst.Attribute)) and (
                    self.resolve(part, scope, aliases) is container
                ):
                    return True
        return False


# Per-entity data: every request, session or job brings a new key.
_ENTITY_NAMES = frozenset(
    {
        "request",
        "req",
        "session",
        "conn",
        "connection",
        "client",
        "peer",
        "sock",
        "socket",
        "token",
        "job",
        "task",
        "user",
        "uid",
        "uuid",
        "ident",
        "id",
        # Data that arrives from outside: every message brings a new value.
        "url",
        "uri",
        "query",
        "payload",
        "body",
        "email",
        "ip",
        "remote_addr",
        "client_addr",
        "client_ip",
    }
)
_FRESH_CALLS = (
    "uuid.",
    "time.",
    "itertools.count",
    "builtins.next",
    "builtins.object",
    "datetime.",
)


def is_entity_name(name: str) -> bool:
    """Whether a variable's name says it holds per-request data (``user_id``, ``request``)."""
    word = name.lower().strip("_")
    return word in _ENTITY_NAMES or word.endswith("_id")


class Unbounded(enum.Enum):
    """Why what a container is keyed by (or holds) does not repeat, so that nothing bounds
    it. The rule words each reason (``UnboundedModuleCache.REASONS``)."""

    ONE_PER_CALL = "one element per call"
    FRESH_VALUE = "a fresh value from a call"  # subject: the call, `uuid.uuid4`
    INSTANCE = "the instance (`self`)"
    REQUEST_DATA = "per-request data"  # subject: the name, or `.id`
    REQUEST_IDENTITY = "the identity of per-request objects"  # subject: their name
    REORDERED_NEVER_TRIMMED = "least-recently-used order, never trimmed"
    # Doubtful: the keys may well repeat.
    THREAD_IDENTITY = "thread identity"  # recycled as threads end
    OBJECT_IDENTITY = "object identity"  # of objects that may live as long as the table
    ARGUMENT = "an argument"  # subject: the argument, whose range the code does not show

    @property
    def doubtful(self) -> bool:
        return self in _DOUBTFUL


_DOUBTFUL = frozenset({Unbounded.THREAD_IDENTITY, Unbounded.OBJECT_IDENTITY, Unbounded.ARGUMENT})


@dataclass(frozen=True)
class KeyReason:
    why: Unbounded
    subject: str = ""  # what the reason is about, where it names something

    @property
    def doubtful(self) -> bool:
        return self.why.doubtful


@dataclass(frozen=True)
class UnboundedGrowth:
    growth: Growth
    reason: KeyReason


# Thread identities: recycled when threads end, so the keys repeat (a table keyed by them is
# bounded by the threads alive at once, though entries of dead threads linger).
_THREAD_IDENTITY_CALLS = frozenset(
    {
        "threading.get_ident",
        "threading.get_native_id",
        "threading.current_thread",
        "threading.currentThread",
        "_thread.get_ident",
        "os.getpid",
    }
)
_THREAD_IDENTITY_NAMES = frozenset({"ident", "native_id", "thread_id", "tid", "thread_ident"})


def fresh_key_reason(key: cst.BaseExpression, names: ImportNames) -> Optional[KeyReason]:
    """Why a key is new on (nearly) every call, or None when it may repeat."""
    for part, _, _ in iter_with_parents(key):
        if isinstance(part, cst.Call) and names.call_name(part) in _THREAD_IDENTITY_CALLS:
            return _THREAD_KEY
        if isinstance(part, (cst.Name, cst.Attribute)) and last_name(part) in (
            _THREAD_IDENTITY_NAMES
        ):
            return _THREAD_KEY
    for part, parent, _ in iter_with_parents(key):
        if isinstance(part, cst.Call):
            called = names.call_name(part) or ""
            if called == "builtins.id":
                return _identity_reason(part)
            if called.startswith(_FRESH_CALLS):
                short = called.replace("builtins.", "")
                return KeyReason(Unbounded.FRESH_VALUE, short)
        elif isinstance(part, cst.Name):
            if part.value == "self" and not isinstance(parent, cst.Attribute):
                return KeyReason(Unbounded.INSTANCE)
            if is_entity_name(part.value):
                return KeyReason(Unbounded.REQUEST_DATA, part.value)
        elif isinstance(part, cst.Attribute) and part.attr.value == "id":
            return KeyReason(Unbounded.REQUEST_DATA, ".id")
    return None


_THREAD_KEY = KeyReason(Unbounded.THREAD_IDENTITY)


def _identity_reason(call: cst.Call) -> KeyReason:
    """``id(conn)`` of a per-request object is fresh per call; ``id(frame)`` handed to a peer
    as a handle, or ``id(config)``, may name few objects, or objects that live anyway."""
    if call.args:
        root = call.args[0].value
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and (root.value == "self" or is_entity_name(root.value)):
            return KeyReason(Unbounded.REQUEST_IDENTITY, root.value)
    return KeyReason(Unbounded.OBJECT_IDENTITY)


def _is_module_object(value: cst.BaseExpression, names: ImportNames) -> bool:
    """``sys.modules[...]``: a module, which exists once per process."""
    return isinstance(value, cst.Subscript) and names.qualified_name(value.value) == "sys.modules"


def _argument_in(key: cst.BaseExpression, scope: FunctionScope) -> Optional[str]:
    """The first argument of the function the key is built from (``memo[text]``,
    ``table[(kind, name)]``), or None."""
    for part, _, _ in iter_with_parents(key):
        if (
            isinstance(part, cst.Name)
            and part.value in scope.params
            and part.value not in ("self", "cls")
            and part.value not in scope.locals
        ):
            return part.value
    return None


def _inside_import_time(scope: FunctionScope, import_time: set[FunctionScope]) -> bool:
    """A lambda (not referenced by name) runs when its enclosing function does."""
    while scope.name == "<lambda>" and scope.parent is not None:
        scope = scope.parent
        if scope in import_time:
            return True
    return False


def _is_registration(scope: FunctionScope) -> bool:
    """A registration API: named like one, a decorator that hands back what it stores, or a
    factory of such decorators. Other modules call these while they are imported."""
    name = scope.name.lstrip("_")
    if any(word in name.lower() for word in REGISTRATION_WORDS) or _ADD_NAME.match(name):
        return True
    for part in scope.nodes_of(_returns()):
        if isinstance(part, cst.Return) and isinstance(part.value, cst.Name):
            returned = part.value.value
            if returned in scope.params:
                return True
            if any(n.name == returned and _returns_param(n) for n in scope.nested):
                return True
    return False


def _returns_param(scope: FunctionScope) -> bool:
    return any(
        isinstance(part, cst.Return)
        and isinstance(part.value, cst.Name)
        and part.value.value in scope.params
        for part in scope.nodes_of(_returns())
    )


def _is_class_creation_hook(scope: FunctionScope, names: ImportNames) -> bool:
    if scope.name in CLASS_CREATION_HOOKS:
        return scope.owner is not None
    if scope.name in METACLASS_HOOKS and scope.owner is not None:
        for base in scope.owner.bases:
            if names.qualified_name(base.value) in (
                "builtins.type",
                "abc.ABCMeta",
                "enum.EnumMeta",
                "enum.EnumType",
            ):
                return True
            base_name = dotted_name(base.value) or ""
            if base_name.endswith("Meta") or base_name.endswith("Metaclass"):
                return True
    return False


def _assign_targets(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        for target in node.targets:
            yield target.target
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        yield node.target


def _del_targets(target: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _del_targets(element.value)
    else:
        yield target


def _is_slice(node: cst.Subscript) -> bool:
    return any(isinstance(element.slice, cst.Slice) for element in node.slice)


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _stores_elsewhere(node: cst.CSTNode) -> bool:
    """``obj.attr = value``, ``table[k] = value`` or ``return value``."""
    if isinstance(node, cst.Return):
        return node.value is not None
    return isinstance(node, cst.Assign) and any(
        isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in node.targets
    )


def _single_binding(scope: FunctionScope, name: str) -> Optional[cst.BaseExpression]:
    """The value of ``name = value`` when that is the only binding of ``name`` in the frame."""
    found: list[cst.BaseExpression] = []
    for node in scope.nodes_of(_assigns()):
        for bound, value in _simple_bindings(node):
            if bound == name:
                found.append(value)
    return found[0] if len(found) == 1 else None


def _simple_bindings(node: cst.CSTNode) -> Iterator[tuple[str, cst.BaseExpression]]:
    """``a = x`` and ``a, b = x, y`` bindings of plain names."""
    if not isinstance(node, cst.Assign):
        return
    for target in node.targets:
        if isinstance(target.target, cst.Name):
            yield target.target.value, node.value
        elif isinstance(target.target, cst.Tuple) and isinstance(node.value, cst.Tuple):
            names, values = target.target.elements, node.value.elements
            if len(names) == len(values):
                for name, value in zip(names, values):
                    if isinstance(name.value, cst.Name) and not isinstance(
                        value, cst.StarredElement
                    ):
                        yield name.value.value, value.value


def _key_of(node: cst.CSTNode) -> Optional[cst.BaseExpression]:
    if isinstance(node, cst.Call):
        if node.args and node.func.attr.value != "update":  # type: ignore[attr-defined]
            return node.args[0].value
        return None
    if isinstance(node, cst.Assign):
        for target in node.targets:
            if isinstance(target.target, cst.Subscript):
                return _subscript_key(target.target)
    if isinstance(node, cst.AugAssign):
        if isinstance(node.target, cst.Subscript):
            return _subscript_key(node.target)
        return node.value
    return None


def _helper_key(call: cst.Call) -> Optional[cst.BaseExpression]:
    """What a helper adds: its arguments other than the container, as one tuple."""
    return cst.Tuple([cst.Element(arg.value) for arg in call.args])


def _subscript_key(node: cst.Subscript) -> Optional[cst.BaseExpression]:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return node.slice[0].slice.value
    return None
