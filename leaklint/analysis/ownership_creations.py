"""Where leakable objects are created, and what the expression around a creating call does.

A scope is the module body, a class body, a function or a lambda. For each scope this module
finds the calls that create a resource (resolving imports, local shadowing, ``Path`` and
``SSLContext`` receivers, keyword conditions) and classifies the creating call's immediate
use: dropped inline (``open(p).read()``), managed (``with open(p) as f``), handed off
(``return open(p)``), or bound to names whose fate the flow walk then settles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.ownership_calls import (
    STORE_METHODS,
    Effect,
    HelperSummary,
    is_constructor_like,
    is_library_function,
    is_managing_method,
    is_own_listener_address,
    passes_a_value,
    wraps_a_path,
)
from leaklint.analysis.ownership_model import Escape, Fate
from leaklint.analysis.scopes import Scope, Scopes
from leaklint.analysis.specs import ResourceSpec
from leaklint.syntax import code_of, target_names
from leaklint.walker import children


# The bindings `_infer_name_type` reads.
@functools.cache
def _typed_bindings() -> frozenset[type]:
    return frozenset({cst.Assign, cst.AnnAssign, cst.WithItem, cst.For, cst.CompFor})


@dataclass(frozen=True)
class Creation:
    call: cst.Call
    spec: ResourceSpec
    api: str


@dataclass(frozen=True)
class Placement:
    """The creating call's immediate use. Either a final ``fate``, or names to track."""

    fate: Optional[Fate] = None
    escape: Escape = Escape.NONE
    escape_node: Optional[cst.CSTNode] = None
    aliases: tuple[str, ...] = ()  # names that hold the object itself
    holders: tuple[str, ...] = ()  # local containers that hold it
    conditional: bool = False  # created in one branch of `x if c else y` / `a or b`
    returned: bool = False
    statement: Optional[cst.CSTNode] = None  # the With whose item creates it, if any


def _named_like_owner(method: cst.Attribute) -> bool:
    """``ssl_ctx.wrap_socket``, ``self._context.wrap_socket``, ``ssl.wrap_socket``: the
    receiver's name says it is the kind of object that has the distinctive method."""
    words = specs.DISTINCTIVE_RECEIVER_WORDS.get(method.attr.value, ())
    receiver = method.value
    if isinstance(receiver, cst.Call):
        receiver = receiver.func  # ssl.create_default_context().wrap_socket(...)
    if isinstance(receiver, cst.Attribute):
        name = receiver.attr.value
    elif isinstance(receiver, cst.Name):
        name = receiver.value
    else:
        return False
    return any(word in name.lower() for word in words)


class Resolver:
    """Recognises creating calls in one scope and classifies their immediate use."""

    def __init__(self, names: ImportNames, index: Scopes,
                 helpers: dict[cst.FunctionDef, HelperSummary],
                 factories: dict[cst.FunctionDef, Creation]) -> None:
        self.names = names
        self.index = index
        self.helpers = helpers
        self.factories = factories

    # --- resolution ------------------------------------------------------------------------
    def qualified(self, func: cst.BaseExpression, scope: Scope) -> Optional[str]:
        dotted = dotted_name(func)
        if dotted is None:
            return None
        if scope.shadows(dotted.split(".", 1)[0]):
            return None
        return self.names.qualified_name(func)

    def creations(self, call: cst.Call, scope: Scope) -> list[Creation]:
        qualified = self.qualified(call.func, scope)
        found: tuple[ResourceSpec, ...] = ()
        api = dotted_name(call.func) or "..."
        if qualified in specs.FACTORIES:
            found = specs.FACTORIES[qualified]
        elif isinstance(call.func, cst.Attribute):
            receiver_type = self.type_of(call.func.value, scope)
            if receiver_type is not None:
                found = specs.METHOD_FACTORIES.get((receiver_type, call.func.attr.value), ())
                if found:
                    api = f"{receiver_type.rsplit('.', 1)[-1]}.{call.func.attr.value}"
            if not found and _named_like_owner(call.func):
                found = specs.DISTINCTIVE_METHODS.get(call.func.attr.value, ())
        if not found:
            helper = self.callee(call, scope)
            creation = self.factories.get(helper) if helper is not None else None
            if creation is not None:
                return [Creation(call, creation.spec, api)]
            return []
        return [
            Creation(call, spec, api) for spec in found
            if _condition_holds(spec, call)
            and not self._wraps_a_resource(spec, call, scope)
            and not self._over_memory_buffer(spec, call, scope)
        ]

    def _over_memory_buffer(self, spec: ResourceSpec, call: cst.Call, scope: Scope) -> bool:
        """``zipfile.ZipFile(io.BytesIO(data))``: an archive over an in-memory buffer holds
        no OS resource; closing it only finishes what was written into memory."""
        if spec.kind is not specs.Kind.FILE or not call.args:
            return False
        first = call.args[0]
        if first.keyword is not None and first.keyword.value not in spec.wrapper_keywords:
            return False
        return self.type_of(first.value, scope) in specs.MEMORY_BUFFERS

    def _wraps_a_resource(self, spec: ResourceSpec, call: cst.Call, scope: Scope) -> bool:
        """``zipfile.ZipFile(zipfp)`` over ``zipfp = open(...)`` of the same function: the
        file it reads is the resource, the archive object holds nothing of its own."""
        if not spec.wrapper_keywords or not call.args or call.args[0].keyword is not None:
            return False
        first = call.args[0].value
        return isinstance(first, cst.Name) and first.value in self._resource_names(scope)

    def _resource_names(self, scope: Scope) -> set[str]:
        if scope.resource_names is None:
            scope.resource_names = {
                target.target.value
                for node in scope.own_nodes
                if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call)
                and self.qualified(node.value.func, scope) in specs.FACTORIES
                for target in node.targets
                if isinstance(target.target, cst.Name)
            }
        return scope.resource_names

    def listener_addresses(self, scope: Scope) -> set[str]:
        """Names the scope assigns the address of a socket it bound
        (``address = s.getsockname()``)."""
        if scope.listener_addresses is None:
            scope.listener_addresses = {
                target.target.value
                for node in scope.own_nodes
                if type(node) is cst.Assign and is_own_listener_address(node.value)
                for target in node.targets
                if isinstance(target.target, cst.Name)
            }
        return scope.listener_addresses

    def callee(self, call: cst.Call, scope: Scope) -> Optional[cst.FunctionDef]:
        """The function of this module a call runs: ``helper(...)`` or ``self.helper(...)``."""
        func = call.func
        if isinstance(func, cst.Name):
            if scope.shadows(func.value) or func.value in self.names.aliases:
                return None
            return self.index.top_level_functions.get(func.value)
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ("self", "cls")
        ):
            method_scope: Optional[Scope] = scope
            while method_scope is not None and method_scope.owner is None:
                method_scope = method_scope.parent
            if method_scope is None or method_scope.owner is None:
                return None
            return self.index.methods.get(method_scope.owner, {}).get(func.attr.value)
        return None

    def type_of(self, node: cst.BaseExpression, scope: Scope) -> Optional[str]:
        if isinstance(node, cst.Call):
            qualified = self.qualified(node.func, scope)
            if qualified in specs.TYPE_CONSTRUCTORS:
                return specs.TYPE_CONSTRUCTORS[qualified]
            if isinstance(node.func, cst.Attribute):
                inner = self.type_of(node.func.value, scope)
                if inner and node.func.attr.value in specs.SAME_TYPE_METHODS.get(inner, ()):
                    return inner
            return None
        if isinstance(node, cst.Attribute):
            inner = self.type_of(node.value, scope)
            if inner and node.attr.value in specs.SAME_TYPE_METHODS.get(inner, ()):
                return inner
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            left = self.type_of(node.left, scope)
            return left if left == "pathlib.Path" else None
        if isinstance(node, cst.Name):
            return self._name_type(node.value, scope)
        return None

    def _name_type(self, name: str, scope: Scope) -> Optional[str]:
        if name not in scope.types:
            scope.types[name] = None  # no recursion through self-referencing assignments
            scope.types[name] = self._infer_name_type(name, scope)
        return scope.types[name]

    def _infer_name_type(self, name: str, scope: Scope) -> Optional[str]:
        """A name has a type when every binding of it in the scope gives that type."""
        if name in scope.params:
            annotation = scope.annotations.get(name)
            if annotation is None:
                return None
            return specs.TYPE_CONSTRUCTORS.get(self.qualified(annotation.annotation, scope) or "")
        seen: set[Optional[str]] = set()
        for node in scope.own_nodes:
            if type(node) not in _typed_bindings():  # exact types: an ABC's isinstance is slow
                continue
            value: Optional[cst.BaseExpression] = None
            if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets
            ):
                value = node.value
            elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and (
                node.target.value == name
            ):
                value = node.value
                annotated = self.qualified(node.annotation.annotation, scope)
                if annotated in specs.TYPE_CONSTRUCTORS:
                    seen.add(specs.TYPE_CONSTRUCTORS[annotated])
                    continue
            elif isinstance(node, cst.WithItem) and node.asname is not None and isinstance(
                node.asname.name, cst.Name
            ) and node.asname.name.value == name:
                value = node.item
            elif isinstance(node, (cst.For, cst.CompFor)) and name in target_names(node.target):
                seen.add(None)
                continue
            else:
                continue
            seen.add(self.type_of(value, scope) if value is not None else None)
        if len(seen) == 1:
            return next(iter(seen))
        if not seen and scope.parent is not None and name not in scope.params:
            return self._name_type(name, scope.parent)
        return None


def _condition_holds(spec: ResourceSpec, call: cst.Call) -> bool:
    """``requests.get(url, stream=True)`` is a streamed response; without the keyword (and
    without ``**kwargs`` that might carry it) it takes the spec's default."""
    if spec.wrapper_keywords and _wraps_an_object(spec, call):
        return False
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    if first is not None and code_of(first) in spec.inert_first_arguments:
        return False
    if spec.creating_first_arguments and (
        first is None or code_of(first) not in spec.creating_first_arguments
    ):
        return False
    if spec.opens_path_argument_only and not _visibly_a_path(first):
        return False
    if any(
        arg.keyword is not None
        and arg.keyword.value in spec.persistent_keywords | spec.adopting_keywords
        for arg in call.args
    ):
        return False
    condition = spec.condition
    if condition is None:
        return True
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == condition.keyword:
            return code_of(arg.value) == condition.value
    return condition.default


_PATH_BUILDERS = frozenset({"os.path.join", "Path", "pathlib.Path", "str", "os.fspath"})


def _visibly_a_path(node: Optional[cst.BaseExpression]) -> bool:
    """A string, an f-string, a ``/`` of paths or a call that builds a path: not a file object."""
    if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, (cst.Divide, cst.Add))
    return isinstance(node, cst.Call) and (dotted_name(node.func) or "") in _PATH_BUILDERS


def _wraps_an_object(spec: ResourceSpec, call: cst.Call) -> bool:
    """``gzip.GzipFile(fileobj=buf)``, ``ZipFile(self)``: a wrapper over an object the caller
    owns holds no OS resource of its own."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in spec.wrapper_keywords:
            return not (isinstance(arg.value, cst.Name) and arg.value.value == "None")
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    return isinstance(first, cst.Name) and first.value == "self"


def _leaves_early(loop: cst.For) -> bool:
    """Does the loop's body ``break`` or ``return`` (not in a loop or function of its own)?"""
    stack: list[cst.CSTNode] = [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Break, cst.Return)):
            return True
        if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(children(node))
    return False


def _subscript_index(node: cst.Subscript) -> Optional[int]:
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
        return int(index.value.value)
    return None


def argument_index(call: cst.Call, arg: cst.Arg, helper: HelperSummary,
                   through_self: bool) -> Optional[int]:
    """The index in ``helper.params`` of the parameter that ``arg`` of ``call`` binds (a
    method called through ``self.`` has ``self`` first), None for ``*args``/unknown keywords."""
    if arg.keyword is not None:
        name = arg.keyword.value
        return helper.params.index(name) if name in helper.params else None
    if arg.star:
        return None
    position = [a for a in call.args if a.keyword is None and not a.star].index(arg)
    return position + 1 if through_self and helper.is_method else position


_DROPPED_INLINE = Placement(Fate.DROPPED, Escape.INLINE)


class _Climb:
    """State of the walk from a creating call up through the expression that uses it."""

    def __init__(self, creation: Creation) -> None:
        self.expr: cst.CSTNode = creation.call
        self.conditional = False
        self.container = False
        self.indexed = creation.spec.tuple_index is None
        self.element_index: Optional[int] = None
        self.closing = False


class Placer:
    """Classifies the immediate use of a creating call (see :class:`Placement`)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.parents = resolver.index.parents

    def place(self, creation: Creation, scope: Scope) -> Placement:
        spec = creation.spec
        climb = _Climb(creation)
        inert = Placement(Fate.INACTIVE) if spec.activation_methods else None
        while True:
            expr = climb.expr
            parent = self.parents.get(expr)
            if parent is None:
                return Placement(Fate.HANDED_OFF)
            if not climb.indexed and not isinstance(
                parent, (cst.Subscript, cst.Assign, cst.Expr, cst.Await)
            ):
                return Placement(Fate.HANDED_OFF)
            if isinstance(parent, cst.Await):
                climb.expr = parent
            elif isinstance(parent, cst.IfExp):
                if parent.test is expr:
                    return inert or _DROPPED_INLINE
                climb.conditional = True
                climb.expr = parent
            elif isinstance(parent, (cst.If, cst.While, cst.CompIf)) and parent.test is expr:
                # `if create_task(c):`, `[x for x in xs if open(p)]`: only its truth is read.
                return inert or _DROPPED_INLINE
            elif isinstance(parent, cst.UnaryOperation):
                # `not create_task(c)`: the result is a new value, the object is dropped.
                return inert or _DROPPED_INLINE
            elif isinstance(parent, cst.BooleanOperation):
                climb.conditional = True
                climb.expr = parent
            elif isinstance(parent, cst.Arg):
                call = self.parents.get(parent)
                if not isinstance(call, cst.Call) or call.func is expr:
                    return Placement(Fate.HANDED_OFF)
                placed = self._argument(creation, call, parent, scope, climb)
                if placed is not None:
                    return placed
                climb.expr = call
            elif isinstance(parent, cst.Attribute) and parent.value is expr:
                placed = self._attribute(creation, parent, climb)
                if placed is not None:
                    return placed
            elif isinstance(parent, cst.Subscript) and parent.value is expr:
                if not climb.indexed and _subscript_index(parent) == spec.tuple_index:
                    climb.indexed = True
                    climb.expr = parent
                else:
                    return inert or _DROPPED_INLINE
            elif isinstance(parent, (cst.Element, cst.StarredElement)):
                sequence = self.parents.get(parent)
                if not isinstance(sequence, (cst.Tuple, cst.List, cst.Set)):
                    return Placement(Fate.HANDED_OFF)
                climb.element_index = list(sequence.elements).index(parent)
                climb.container = True
                climb.expr = sequence
            elif isinstance(parent, cst.DictElement) and parent.value is expr:
                climb.container = True
                climb.expr = self.parents.get(parent, parent)
            elif (isinstance(parent, (cst.ListComp, cst.SetComp, cst.GeneratorExp)) and (
                parent.elt is expr
            )) or (isinstance(parent, cst.DictComp) and parent.value is expr):
                climb.container = True
                climb.element_index = None
                climb.expr = parent
            elif isinstance(parent, (cst.CompFor, cst.For)) and parent.iter is expr:
                if spec.closed_by_exhaustion and isinstance(parent, cst.For) and (
                    not _leaves_early(parent)
                ):
                    return Placement(Fate.RELEASED)
                return inert or Placement(Fate.DROPPED, Escape.INLINE)
            elif isinstance(parent, (cst.Return, cst.Yield)) and parent.value is expr:
                returned = isinstance(parent, cst.Return) and not climb.container
                return Placement(Fate.HANDED_OFF, returned=returned and not climb.conditional)
            elif isinstance(parent, cst.Lambda):
                return Placement(Fate.HANDED_OFF)
            elif isinstance(parent, cst.WithItem) and parent.item is expr:
                return self._with_item(creation, parent, climb)
            elif isinstance(parent, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                if getattr(parent, "value", None) is not expr:
                    return Placement(Fate.HANDED_OFF)
                return self._assigned(creation, parent, scope, climb)
            elif isinstance(parent, cst.NamedExpr) and parent.value is expr:
                if not scope.is_function or not isinstance(parent.target, cst.Name):
                    return Placement(Fate.HANDED_OFF)
                return Placement(aliases=(parent.target.value,), conditional=climb.conditional)
            elif isinstance(parent, cst.Expr):
                if climb.container:
                    return inert or _DROPPED_INLINE
                return inert or _DROPPED_INLINE
            else:
                return Placement(Fate.HANDED_OFF)

    def _argument(self, creation: Creation, call: cst.Call, arg: cst.Arg, scope: Scope,
                  climb: _Climb) -> Optional[Placement]:
        """None: the call wraps the object and the climb goes on through it."""
        resolver = self.resolver
        qualified = resolver.qualified(call.func, scope)
        if qualified in specs.TRANSPARENT_WRAPPERS:
            climb.closing = climb.closing or qualified == "contextlib.closing"
            return None
        if qualified in specs.PATH_TRANSFORMS and passes_a_value(creation.spec, climb.expr):
            return None
        if is_managing_method(call.func):
            return Placement(Fate.MANAGED)
        if qualified in creation.spec.release_functions:
            return Placement(Fate.RELEASED)
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in STORE_METHODS
            and isinstance(func.value, cst.Name)
            and scope.is_local(func.value.value)
            and func.value.value in scope.local_containers
        ):
            # `files.append(open(p))`: a frame-local container holds it.
            return Placement(holders=(func.value.value,), conditional=climb.conditional)
        helper_node = resolver.callee(call, scope)
        helper = resolver.helpers.get(helper_node) if helper_node is not None else None
        if helper is not None:
            through_self = isinstance(call.func, cst.Attribute)
            index = argument_index(call, arg, helper, through_self)
            effect = helper.effect_on(index) if index is not None else Effect.TAKES
            if effect is Effect.RELEASES:
                return Placement(Fate.RELEASED)
            if effect is Effect.TAKES:
                return Placement(Fate.HANDED_OFF)
            return Placement(Fate.DROPPED, Escape.PASSED, call)
        if qualified in specs.TAKING_FUNCTIONS:
            return Placement(Fate.HANDED_OFF)
        if qualified in specs.BORROWING_CONSTRUCTORS or is_library_function(
            qualified, call.func, resolver.names
        ):
            if creation.spec.activation_methods:
                return Placement(Fate.HANDED_OFF)
            return Placement(Fate.DROPPED, Escape.PASSED, call)
        if is_constructor_like(qualified, call.func):
            return Placement(Fate.HANDED_OFF)
        if passes_a_value(creation.spec, climb.expr):
            if wraps_a_path(call, self.parents.get(call)):
                # `tmpdir = py.path.local(mkdtemp())`: a path object over it, kept in a
                # name; the climb goes on so that `tmpdir.remove()` removes it.
                return None
            return Placement(Fate.DROPPED, Escape.PASSED, call)
        return Placement(Fate.HANDED_OFF)

    def _attribute(self, creation: Creation, attribute: cst.Attribute,
                   climb: _Climb) -> Optional[Placement]:
        spec = creation.spec
        grand = self.parents.get(attribute)
        name = attribute.attr.value
        if isinstance(grand, cst.Call) and grand.func is attribute:
            if name in spec.release_methods:
                return Placement(Fate.RELEASED)
            if name in spec.activation_methods:
                return Placement(Fate.DROPPED, Escape.INLINE, grand)
            if spec.activation_methods:
                return Placement(Fate.INACTIVE)
            return Placement(Fate.DROPPED, Escape.INLINE, grand)
        if name in spec.release_attributes:
            return Placement(Fate.RELEASED)
        if spec.path_attribute == name or name in specs.RESOURCE_PART_ATTRIBUTES:
            climb.expr = attribute
            return None
        if spec.activation_methods:
            return Placement(Fate.INACTIVE)
        return Placement(Fate.DROPPED, Escape.INLINE, attribute)

    def _with_item(self, creation: Creation, item: cst.WithItem, climb: _Climb) -> Placement:
        if creation.spec.with_releases or climb.closing:
            return Placement(Fate.MANAGED)
        statement = self.parents.get(item)
        names = tuple(target_names(item.asname.name)) if item.asname is not None else ()
        if not names:
            return Placement(Fate.LEAKED, Escape.WITH_DOES_NOT_RELEASE, statement)
        return Placement(aliases=names, statement=statement, conditional=climb.conditional)

    def _assigned(self, creation: Creation, statement: cst.CSTNode, scope: Scope,
                  climb: _Climb) -> Placement:
        if isinstance(statement, cst.Assign):
            targets = [target.target for target in statement.targets]
        else:
            targets = [statement.target]  # type: ignore[attr-defined]
        aliases: list[str] = []
        holders: list[str] = []
        for target_node in targets:
            target: cst.BaseExpression = target_node
            container = climb.container or isinstance(statement, cst.AugAssign)
            if not climb.indexed and isinstance(target, (cst.Tuple, cst.List)):
                index = creation.spec.tuple_index or 0
                if index >= len(target.elements) or any(
                    isinstance(e, cst.StarredElement) for e in target.elements
                ):
                    return Placement(Fate.HANDED_OFF)
                target = target.elements[index].value
            elif (
                climb.element_index is not None
                and isinstance(target, (cst.Tuple, cst.List))
                and isinstance(climb.expr, (cst.Tuple, cst.List))
                and len(target.elements) == len(climb.expr.elements)
                and climb.expr is statement.value  # type: ignore[attr-defined]
            ):
                target = target.elements[climb.element_index].value
                container = False
            elif not climb.indexed:
                return Placement(Fate.HANDED_OFF)
            if isinstance(target, cst.Name):
                name = target.value
                if name == "_" and not container:
                    return Placement(Fate.DROPPED, Escape.INLINE)
                if not scope.is_function or name in scope.declared_global:
                    return Placement(Fate.HANDED_OFF)
                (holders if container else aliases).append(name)
            elif (
                isinstance(target, cst.Subscript)
                and isinstance(target.value, cst.Name)
                and scope.is_local(target.value.value)
                and target.value.value in scope.local_containers
            ):
                holders.append(target.value.value)
            else:
                return Placement(Fate.HANDED_OFF)
        return Placement(aliases=tuple(aliases), holders=tuple(holders),
                         conditional=climb.conditional, statement=statement)
