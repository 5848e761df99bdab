"""The scope model of a file: its scopes, what each binds, the nodes that are each one's own,
every node's parent, and the nodes of each type; built in one read-only walk, shared by every
analysis through ``context.analysis(Scopes)``.

Two views of the same scopes, because analyses ask two kinds of question:

- :class:`FunctionScope`, the *frame* view (functions and lambdas): which nodes run in this
  function's frame? A class body runs in the enclosing frame, so its nodes are the frame's
  own, and its defs are methods. The reference and closure rules read this view.
- :class:`Scope`, the *lexical* view (module, classes, functions, lambdas): which names does
  this scope bind, and which of its nodes can create a resource? A class body is a scope of
  its own; decorators, parameters and defaults belong to the enclosing one. The ownership
  analysis reads this view.

The walk replaces libcst's ScopeProvider and ParentProvider (several parses' worth of work);
analyses that need every node of some types read :meth:`Scopes.nodes_of_type` instead of
walking the tree again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional, Union, overload

import libcst as cst

from leaklint.analysis.ownership_model import ScopeNode
from leaklint.file_context import Analysis, FileContext
from leaklint.syntax import parameter_names, target_names
from leaklint.walker import child_list

FunctionNode = Union["cst.FunctionDef", "cst.Lambda"]


@dataclass(eq=False)
class FunctionScope:
    """One ``def`` (or lambda): its bindings and the statements that run in its frame."""

    node: FunctionNode
    name: str
    parent: Optional[FunctionScope]
    # The class whose body directly defines this function (a method), if any.
    owner: Optional[cst.ClassDef]
    params: list[str] = field(default_factory=list)
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    # Nodes evaluated in this frame, nested defs/lambdas/classes excluded (their decorators and
    # defaults included: they run here).
    own_nodes: list[cst.CSTNode] = field(default_factory=list)
    nested: list[FunctionScope] = field(default_factory=list)
    _by_types: dict[frozenset[type], list[cst.CSTNode]] = field(default_factory=dict, repr=False)

    def nodes_of(self, types: frozenset[type]) -> list[cst.CSTNode]:
        """The own nodes of the given exact types (cached per type set)."""
        found = self._by_types.get(types)
        if found is None:
            found = [node for node in self.own_nodes if type(node) in types]
            self._by_types[types] = found
        return found

    @property
    def is_method(self) -> bool:
        return self.owner is not None

    def binds(self, name: str) -> bool:
        """Whether ``name`` is local to this frame (a parameter or an assigned name)."""
        return (
            name not in self.globals
            and name not in self.nonlocals
            and (name in self.locals or name in self.params)
        )

    def enclosing_binder(self, name: str) -> Optional[FunctionScope]:
        """The innermost function (this one or an enclosing one) whose local ``name`` is."""
        scope: Optional[FunctionScope] = self
        while scope is not None:
            if name in scope.globals:
                return None
            if scope.binds(name):
                return scope
            scope = scope.parent
        return None

    def note_binding(self, node: cst.CSTNode) -> None:
        self.locals.update(bound_names(node))
        if type(node) is cst.Global:
            self.globals.update(n.name.value for n in node.names)
        elif type(node) is cst.Nonlocal:
            self.nonlocals.update(n.name.value for n in node.names)


@dataclass(eq=False)
class Scope:
    """One lexical scope: the module, a class body, a function or a lambda."""

    node: ScopeNode
    parent: Optional[Scope]
    owner: Optional[cst.ClassDef] = None  # the class of a method
    params: set[str] = field(default_factory=set)
    assigned: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)
    # Nodes evaluated in this scope (nested defs, lambdas and classes excluded; their
    # decorators, parameters and bases included).
    own_nodes: list[cst.CSTNode] = field(default_factory=list)
    local_containers: set[str] = field(default_factory=set)
    annotations: dict[str, Optional[cst.Annotation]] = field(default_factory=dict)
    # Names only ever assigned True/False: ownership flags (`close_source = True`).
    flag_assignments: set[str] = field(default_factory=set)
    other_assignments: set[str] = field(default_factory=set)
    # Caches of the ownership resolver, per scope: the inferred type of a name, the names
    # bound to a resource, the names assigned the address of a socket the scope bound.
    types: dict[str, Optional[str]] = field(default_factory=dict)
    resource_names: Optional[set[str]] = None
    listener_addresses: Optional[set[str]] = None

    @property
    def bool_flags(self) -> set[str]:
        return self.flag_assignments - self.other_assignments

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, (cst.FunctionDef, cst.Lambda))

    def is_local(self, name: str) -> bool:
        return self.is_function and name not in self.declared_global and (
            name in self.params or name in self.assigned
        )

    def shadows(self, name: str) -> bool:
        """Whether ``name`` is bound by this function or an enclosing one (a parameter or local
        called ``open`` is not the builtin)."""
        scope: Optional[Scope] = self
        while scope is not None:
            if scope.is_function and (name in scope.params or name in scope.assigned):
                return name not in scope.declared_global
            scope = scope.parent
        return False

    @property
    def body(self) -> list[cst.BaseStatement]:
        if isinstance(self.node, cst.Module):
            return list(self.node.body)
        if isinstance(self.node, (cst.FunctionDef, cst.ClassDef)):
            body = self.node.body
            if isinstance(body, cst.IndentedBlock):
                return list(body.body)
            return [cst.SimpleStatementLine(body=body.body)]  # type: ignore[arg-type]
        return []

    def note_binding(self, node: cst.CSTNode) -> None:
        """Record what a binding statement or expression of this scope binds."""
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            self.declared_global.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Assign):
            is_flag = isinstance(node.value, cst.Name) and node.value.value in ("True", "False")
            for target in node.targets:
                names = list(target_names(target.target))
                self.assigned.update(names)
                if isinstance(target.target, cst.Name):
                    (self.flag_assignments if is_flag else self.other_assignments).update(names)
                if len(names) == 1 and isinstance(target.target, cst.Name):
                    self._note_value(names[0], node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            self.assigned.update(target_names(node.target))
            if isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and (
                node.value is not None
            ):
                self._note_value(node.target.value, node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self.assigned.update(target_names(node.target))
        elif isinstance(node, cst.AsName):
            self.assigned.update(target_names(node.name))
        elif isinstance(node, cst.NamedExpr):
            self.assigned.update(target_names(node.target))
        elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(
            node.names, cst.ImportStar
        ):
            for alias in node.names:
                if alias.asname is not None:
                    self.assigned.update(target_names(alias.asname.name))
                else:
                    self.assigned.update(bound_names(alias))

    def _note_value(self, name: str, value: cst.BaseExpression) -> None:
        literal = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)
        factory = isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and (
            value.func.value in ("list", "dict", "set", "deque", "OrderedDict", "defaultdict")
        )
        if isinstance(value, literal) or factory:
            self.local_containers.add(name)


class ParentMap:
    """Each node's parent. Keyed by identity: libcst nodes hash through a Python method,
    ``id()`` in C, and this map gets an entry for every node of the file."""

    __slots__ = ("by_id",)

    def __init__(self) -> None:
        self.by_id: dict[int, cst.CSTNode] = {}

    @overload
    def get(self, node: cst.CSTNode) -> Optional[cst.CSTNode]: ...

    @overload
    def get(self, node: cst.CSTNode, default: cst.CSTNode) -> cst.CSTNode: ...

    def get(self, node: cst.CSTNode, default: Optional[cst.CSTNode] = None
            ) -> Optional[cst.CSTNode]:
        return self.by_id.get(id(node), default)


def bound_names(node: cst.CSTNode) -> Iterator[str]:
    """The names a statement or expression binds in the frame it runs in."""
    if isinstance(node, cst.Assign):
        for target in node.targets:
            yield from target_names(target.target)
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        if node.value is not None or isinstance(node, cst.AugAssign):
            yield from target_names(node.target)
    elif isinstance(node, (cst.For, cst.CompFor)):
        yield from target_names(node.target)
    elif isinstance(node, cst.AsName):
        yield from target_names(node.name)
    elif isinstance(node, cst.NamedExpr):
        yield from target_names(node.target)
    elif isinstance(node, cst.ImportAlias):
        if node.asname is None:
            name = node.name
            while isinstance(name, cst.Attribute):
                name = name.value  # type: ignore[assignment]
            if isinstance(name, cst.Name):
                yield name.value
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        yield node.name.value
    elif isinstance(node, cst.Del):
        yield from target_names(node.target)


# Where a node stands in the frame view: the list of the frame's own nodes it joins, the frame
# (None at module level) and the class whose body it is directly in (for methods).
_Frame = tuple[list["cst.CSTNode"], Optional[FunctionScope], Optional["cst.ClassDef"]]


class _DefaultsOnly:
    """The frame-view place of a def's or lambda's parameters: none of their nodes run
    anywhere except the defaults, which run in ``frame``."""

    __slots__ = ("frame",)

    def __init__(self, frame: _Frame) -> None:
        self.frame = frame


# Where a node stands in the lexical view: in a scope's own nodes with its bindings noted
# (_OWN), in them as part of a def's or class's header (_HEADER: no binding or nested scope of
# its own), or in none.
_OWN, _HEADER = 1, 2
_Place = tuple[
    "cst.CSTNode", "cst.CSTNode", Union[_Frame, _DefaultsOnly, None], Optional[Scope], int
]


class Scopes(Analysis):
    """Every scope of the file in both views, every node's parent, and the nodes by type."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        # The frame view.
        self.functions: list[FunctionScope] = []
        self.by_node: dict[cst.CSTNode, FunctionScope] = {}
        # Nodes that run at import time: the module body and class bodies outside functions.
        self.module_nodes: list[cst.CSTNode] = []
        self.module_names: set[str] = set()
        self.classes: list[cst.ClassDef] = []
        # The lexical view.
        self.scopes: list[Scope] = []
        self.methods: dict[cst.ClassDef, dict[str, cst.FunctionDef]] = {}
        self.parents = ParentMap()
        self._by_type: dict[type, list[cst.CSTNode]] = {}
        # Every node, parents before children (the order of the walk).
        self.nodes: list[cst.CSTNode] = []
        self._walk(context.module)
        self.functions_by_name: dict[str, list[FunctionScope]] = {}
        for scope in self.functions:
            self.functions_by_name.setdefault(scope.name, []).append(scope)
        self.top_level_functions = {
            statement.name.value: statement
            for statement in context.module.body
            if isinstance(statement, cst.FunctionDef)
        }

    def release(self) -> None:
        # A function scope and the scopes nested in it refer to each other.
        for function in self.functions:
            function.nested = []

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The nodes around ``node``, from the module down to its parent."""
        found: list[cst.CSTNode] = []
        parent = self.parents.get(node)
        while parent is not None:
            found.append(parent)
            parent = self.parents.get(parent)
        found.reverse()
        return found

    def function_around(self, node: cst.CSTNode) -> Optional[FunctionScope]:
        """The innermost function or lambda whose code ``node`` is part of, None at module
        level."""
        parent = self.parents.get(node)
        while parent is not None:
            if type(parent) is cst.FunctionDef or type(parent) is cst.Lambda:
                return self.by_node.get(parent)
            parent = self.parents.get(parent)
        return None

    def nodes_of_type(self, *types: type) -> list[cst.CSTNode]:
        """Every node of the file of the given exact types, type by type, each in the order
        of :attr:`nodes`."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        return [node for kind in types for node in self._by_type.get(kind, ())]

    def referenced_functions(
        self, node: cst.CSTNode, scope: Optional[FunctionScope], methods_at_top: bool = False
    ) -> Iterator[FunctionScope]:
        """The functions of this module that ``node`` names: ``f``, ``self.f``, ``C.f``. A
        bare name in a function means the function it binds, else a module-level function;
        with ``methods_at_top``, a bare name outside any function (a class body) may also be
        one of the class's methods."""
        if isinstance(node, cst.Name):
            binder = scope.enclosing_binder(node.value) if scope is not None else None
            for candidate in self.functions_by_name.get(node.value, ()):
                if binder is not None:
                    if candidate.parent is binder:
                        yield candidate
                elif candidate.parent is None and (
                    candidate.owner is None or (methods_at_top and scope is None)
                ):
                    yield candidate
        elif isinstance(node, cst.Attribute):
            for candidate in self.functions_by_name.get(node.attr.value, ()):
                if candidate.owner is not None:
                    yield candidate

    # --- the walk ---------------------------------------------------------------------------
    def _walk(self, module: cst.Module) -> None:
        """Visit every node once, parents before children: note its parent and type, and put
        it in its place in each view. Iterative: generated code nests thousands deep."""
        by_type = self._by_type
        by_type[cst.Module] = [module]
        every = self.nodes
        every.append(module)
        self.module_nodes.append(module)
        root = Scope(module, None)
        self.scopes.append(root)
        module_frame: _Frame = (self.module_nodes, None, None)
        stack: list[_Place] = []
        found = child_list(module)
        self._push(stack, module, found, module_frame, root, _OWN)
        parent_of = self.parents.by_id
        pop = stack.pop
        scope_types, frame_bindings = _scope_types(), _frame_bindings()
        class_body_blocks, scope_bindings = _class_body_blocks(), _scope_bindings()
        while stack:
            node, parent, frame, scope, place = pop()
            kind = type(node)
            parent_of[id(node)] = parent
            same_type = by_type.get(kind)
            if same_type is None:
                same_type = by_type[kind] = []
            same_type.append(node)
            every.append(node)
            found = child_list(node)
            # `type(...) is`/`in`: libcst's classes are ABCs, and abc's isinstance is the main
            # cost of walking every node of a file.
            if kind in scope_types and type(frame) is tuple and (
                place == _OWN or kind is cst.Lambda
            ):
                self._open(stack, node, found, frame, scope, place)
                continue
            if type(frame) is tuple:
                own, function, owner = frame
                own.append(node)
                if kind in frame_bindings:
                    if function is None:
                        self.module_names.update(bound_names(node))
                    else:
                        function.note_binding(node)
                if owner is not None and kind not in class_body_blocks:
                    frame = (own, function, None)
            elif frame is not None and kind is cst.Param:
                # Only a parameter's default runs (in the enclosing frame).
                default = node.default  # type: ignore[attr-defined]
                for child in reversed(found):
                    inner = frame.frame if child is default else None  # type: ignore[union-attr]
                    stack.append((child, node, inner, scope, place))
                if scope is not None:
                    scope.own_nodes.append(node)
                continue
            if scope is not None:
                scope.own_nodes.append(node)
                if place == _OWN and kind in scope_bindings:
                    scope.note_binding(node)
            if found:
                found.reverse()
                stack.extend([(child, node, frame, scope, place) for child in found])

    @staticmethod
    def _push(stack: list[_Place], parent: cst.CSTNode, found: list[cst.CSTNode],
              frame: Union[_Frame, _DefaultsOnly, None], scope: Optional[Scope],
              place: int) -> None:
        stack.extend([(child, parent, frame, scope, place) for child in reversed(found)])

    def _open(self, stack: list[_Place], node: cst.CSTNode, found: list[cst.CSTNode],
              frame: _Frame, scope: Optional[Scope], place: int) -> None:
        """Put a def, lambda or class in its place and open its scopes; its parts go to the
        enclosing scopes (decorators, defaults, bases) or to the new ones (its body)."""
        own, function, owner = frame
        own.append(node)
        outer: _Frame = (own, function, None)
        header = (scope, _HEADER) if scope is not None else (None, 0)
        if isinstance(node, cst.ClassDef):
            self.classes.append(node)
            self._note_frame_binding(function, node)
            inner_scope = self._open_scope(node, scope)
            inner_frame: _Frame = (own, function, node)
            body_frame: Optional[_Frame] = None
            parts = {id(part) for part in (*node.decorators, *node.bases, *node.keywords)}
        else:
            assert isinstance(node, (cst.FunctionDef, cst.Lambda))
            if place == _OWN:
                self._note_frame_binding(function, node)
                inner_scope = self._open_scope(node, scope)
            else:  # a lambda in a header: its nodes belong to the enclosing scope
                inner_scope = None
                if scope is not None:
                    scope.own_nodes.append(node)
            # A class body's defs are its methods; a lambda is never one.
            method_of = owner if isinstance(node, cst.FunctionDef) else None
            new = self._new_function(node, function, method_of)
            inner_frame = (new.own_nodes, new, None)
            body_frame = inner_frame
            parts = {id(part) for part in getattr(node, "decorators", ())}
            returns = getattr(node, "returns", None)
            if returns is not None:
                parts.add(id(returns))
        parents = self.parents.by_id
        for part in reversed(found):
            if part is node.body:
                if isinstance(node, cst.Lambda):
                    inside = (inner_scope, _OWN) if inner_scope is not None else header
                    stack.append((part, node, inner_frame, *inside))
                    continue
                # The block itself is in no scope's own nodes; its statements are.
                parents[id(part)] = node
                self._by_type.setdefault(type(part), []).append(part)
                self.nodes.append(part)
                if body_frame is not None:
                    body_frame[0].append(part)
                found = child_list(part)
                self._push(stack, part, found, inner_frame, inner_scope, _OWN)
            elif isinstance(part, cst.Parameters):
                stack.append((part, node, _DefaultsOnly(outer), *header))
            elif id(part) in parts:
                stack.append((part, node, outer, *header))
            else:  # the name, `async`: in no scope
                stack.append((part, node, None, None, 0))

    def _note_frame_binding(self, function: Optional[FunctionScope], node: cst.CSTNode) -> None:
        if function is None:
            self.module_names.update(bound_names(node))
        elif not isinstance(node, cst.Lambda):
            function.note_binding(node)

    def _new_function(self, node: FunctionNode, parent: Optional[FunctionScope],
                      owner: Optional[cst.ClassDef]) -> FunctionScope:
        name = node.name.value if isinstance(node, cst.FunctionDef) else "<lambda>"
        function = FunctionScope(node, name, parent, owner, parameter_names(node.params))
        self.functions.append(function)
        self.by_node[node] = function
        if parent is not None:
            parent.nested.append(function)
        return function

    def _open_scope(self, node: cst.CSTNode, parent: Optional[Scope]) -> Optional[Scope]:
        if parent is None:
            return None
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and parent.is_function:
            parent.assigned.add(node.name.value)
        owner = None
        if isinstance(node, cst.FunctionDef) and isinstance(parent.node, cst.ClassDef):
            owner = parent.node
            self.methods.setdefault(owner, {})[node.name.value] = node
        scope = Scope(node, parent, owner=owner)  # type: ignore[arg-type]
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            scope.params.update(parameter_names(node.params))
            if isinstance(node, cst.FunctionDef):
                every = (*node.params.posonly_params, *node.params.params,
                         *node.params.kwonly_params)
                scope.annotations.update({p.name.value: p.annotation for p in every})
        self.scopes.append(scope)
        return scope


@functools.cache
def _scope_types() -> frozenset[type]:
    return frozenset({cst.FunctionDef, cst.Lambda, cst.ClassDef})


# Blocks through which a def is still a method of the class (``if TYPE_CHECKING:`` in a body).
@functools.cache
def _class_body_blocks() -> frozenset[type]:
    return frozenset(
        {
            cst.IndentedBlock,
            cst.SimpleStatementSuite,
            cst.If,
            cst.Else,
            cst.Try,
            cst.ExceptHandler,
            cst.Finally,
        }
    )


# Nodes that bind names in the frame they run in.
@functools.cache
def _frame_bindings() -> frozenset[type]:
    return frozenset(
        {
            cst.Assign,
            cst.AnnAssign,
            cst.AugAssign,
            cst.For,
            cst.CompFor,
            cst.AsName,
            cst.NamedExpr,
            cst.ImportAlias,
            cst.FunctionDef,
            cst.ClassDef,
            cst.Del,
            cst.Global,
            cst.Nonlocal,
        }
    )


# Nodes whose bindings the lexical view notes (see Scope.note_binding).
@functools.cache
def _scope_bindings() -> frozenset[type]:
    return frozenset(
        {cst.Global, cst.Nonlocal, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor,
         cst.AsName, cst.NamedExpr, cst.Import, cst.ImportFrom}
    )
