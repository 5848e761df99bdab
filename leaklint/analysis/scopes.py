"""A light scope model: every function of a file, what it binds, and the nodes that are its own.

The reference and closure rules ask the same questions of every function: is this name one of
its locals, a parameter, a global, or a name of an enclosing function? Which nodes run in this
function's frame (and not in a nested def or class)? One read-only walk answers them for the
whole file, in place of libcst's ScopeProvider (several parses' worth of work).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from leaklint.context import Analysis, FileContext
from leaklint.walker import child_list

FunctionNode = Union[cst.FunctionDef, cst.Lambda]


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


def _params(parameters: cst.Parameters) -> list[str]:
    names = [p.name.value for p in (*parameters.posonly_params, *parameters.params)]
    if isinstance(parameters.star_arg, cst.Param):
        names.append(parameters.star_arg.name.value)
    names.extend(p.name.value for p in parameters.kwonly_params)
    if parameters.star_kwarg is not None:
        names.append(parameters.star_kwarg.name.value)
    return names


def target_names(target: cst.CSTNode) -> Iterator[str]:
    """Plain names bound by an assignment target (``a``, ``a, (b, *c)``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def _bound_names(node: cst.CSTNode) -> Iterator[str]:
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


class Scopes(Analysis):
    """Every function and lambda of the file, and the module's own nodes."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.functions: list[FunctionScope] = []
        self.by_node: dict[cst.CSTNode, FunctionScope] = {}
        # Nodes that run at import time: the module body and class bodies outside functions.
        self.module_nodes: list[cst.CSTNode] = []
        self.module_names: set[str] = set()
        self.classes: list[cst.ClassDef] = []
        self._fill(context.module, None, None, self.module_nodes)
        for node in self.module_nodes:
            if type(node) in _BINDING_TYPES:
                self.module_names.update(_bound_names(node))
        self.functions_by_name: dict[str, list[FunctionScope]] = {}
        for scope in self.functions:
            self.functions_by_name.setdefault(scope.name, []).append(scope)

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

    def _new_scope(
        self, node: FunctionNode, parent: Optional[FunctionScope], owner: Optional[cst.ClassDef]
    ) -> FunctionScope:
        name = node.name.value if isinstance(node, cst.FunctionDef) else "<lambda>"
        scope = FunctionScope(node, name, parent, owner, _params(node.params))
        self.functions.append(scope)
        self.by_node[node] = scope
        if parent is not None:
            parent.nested.append(scope)
        body = node.body
        self._fill(body, scope, None, scope.own_nodes)
        for own in scope.own_nodes:
            kind = type(own)
            if kind not in _BINDING_TYPES:
                continue
            scope.locals.update(_bound_names(own))
            if kind is cst.Global:
                scope.globals.update(n.name.value for n in own.names)  # type: ignore[attr-defined]
            elif kind is cst.Nonlocal:
                scope.nonlocals.update(n.name.value for n in own.names)  # type: ignore[attr-defined]
        return scope

    def _fill(
        self,
        root: cst.CSTNode,
        scope: Optional[FunctionScope],
        owner: Optional[cst.ClassDef],
        out: list[cst.CSTNode],
    ) -> None:
        """Collect the nodes of ``root`` that belong to ``scope``; open new scopes below."""
        stack: list[tuple[cst.CSTNode, Optional[cst.ClassDef]]] = [(root, owner)]
        while stack:
            node, current_owner = stack.pop()
            out.append(node)
            # `type(...) is` rather than isinstance: libcst's classes are ABCs, and abc's
            # isinstance is the main cost of walking every node of a file.
            kind = type(node)
            if kind is cst.FunctionDef:
                assert isinstance(node, cst.FunctionDef)
                for decorator in node.decorators:
                    stack.append((decorator, None))
                stack.extend((default, None) for default in _defaults(node.params))
                if node.returns is not None:
                    stack.append((node.returns, None))
                self._new_scope(node, scope, current_owner)
                continue
            if kind is cst.Lambda:
                assert isinstance(node, cst.Lambda)
                stack.extend((default, None) for default in _defaults(node.params))
                self._new_scope(node, scope, None)
                continue
            if kind is cst.ClassDef:
                assert isinstance(node, cst.ClassDef)
                self.classes.append(node)
                for decorator in node.decorators:
                    stack.append((decorator, None))
                for base in (*node.bases, *node.keywords):
                    stack.append((base, None))
                # A class body runs in the enclosing frame; its defs are methods of it.
                statements = child_list(node.body)
                statements.reverse()
                stack.extend([(statement, node) for statement in statements])
                continue
            found = child_list(node)
            if found:
                found.reverse()
                child_owner = current_owner if kind in _CLASS_BODY_BLOCKS else None
                stack.extend([(child, child_owner) for child in found])


# Blocks through which a def is still a method of the class (``if TYPE_CHECKING:`` in a body).
_CLASS_BODY_BLOCKS = frozenset(
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
_BINDING_TYPES = frozenset(
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


def _defaults(parameters: cst.Parameters) -> Iterator[cst.BaseExpression]:
    for param in (*parameters.posonly_params, *parameters.params, *parameters.kwonly_params):
        if param.default is not None:
            yield param.default
