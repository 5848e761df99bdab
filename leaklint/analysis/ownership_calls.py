"""What a call does to an object passed to it: release it, take ownership of it, or borrow it.

Each decision is a small named predicate with an example of the shape it recognises. The
principle: a callee whose body is in this module is judged by that body; an unknown callee
takes ownership when it looks like it keeps the object (a constructor, a method of some other
object, a registration), and borrows it when it is a plain library function (``json.load(f)``,
``shutil.copyfileobj(f, g)``, ``print(x, file=f)``), which never closes what it is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.syntax import code_of, held_values, is_docstring
from leaklint.walker import children

FunctionNode = Union["cst.FunctionDef", "cst.Lambda"]

# Every method that releases something in the spec table: a helper calling one of them on its
# parameter is a closer (``def _close_quietly(sock): sock.close()``).
_ANY_RELEASE_METHOD = frozenset(
    method
    for table in (specs.FACTORIES.values(), specs.METHOD_FACTORIES.values())
    for entry in table
    for spec in entry
    for method in spec.release_methods
) - {"read", "readlines", "text", "json", "result"}
_ANY_RELEASE_FUNCTION = frozenset(
    function
    for table in (specs.FACTORIES.values(), specs.METHOD_FACTORIES.values())
    for entry in table
    for spec in entry
    for function in spec.release_functions
) - {"json.load", "pickle.load", "shutil.copyfileobj"}  # readers that finish a response


# Methods of a container that put an element into it (``files.append(f)``).
STORE_METHODS = frozenset(
    {"append", "add", "insert", "extend", "appendleft", "setdefault", "update", "put",
     "put_nowait"}
)


class Effect(Enum):
    RELEASES = "releases"
    TAKES = "takes"
    MANAGES = "manages"
    BORROWS = "borrows"


@dataclass
class HelperSummary:
    """What a function of this module does with each of its parameters."""

    node: cst.FunctionDef
    params: list[str]
    is_method: bool
    releases: set[int] = field(default_factory=set)
    keeps: set[int] = field(default_factory=set)

    def effect_on(self, index: int) -> Effect:
        if index in self.releases:
            return Effect.RELEASES
        if index in self.keeps or self.is_method or self.is_stub:
            # A method may be overridden in a subclass that keeps what it is given.
            return Effect.TAKES
        return Effect.BORROWS

    @property
    def is_stub(self) -> bool:
        """``def f(x): raise NotImplementedError`` / ``...``: its body says nothing."""
        body = self.node.body.body
        statements = [s for s in body if not is_docstring(s)]
        if len(statements) != 1:
            return not statements
        only = statements[0]
        return isinstance(only, cst.SimpleStatementLine) and all(
            isinstance(small, cst.Pass)
            or (isinstance(small, cst.Raise) and "NotImplementedError" in code_of(small))
            or (isinstance(small, cst.Expr) and isinstance(small.value, cst.Ellipsis))
            for small in only.body
        )



def params_of(parameters: cst.Parameters) -> list[str]:
    return [p.name.value for p in (*parameters.posonly_params, *parameters.params)]


def _names_in(node: cst.CSTNode) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    for child in children(node):
        if not isinstance(child, (cst.FunctionDef, cst.ClassDef)):
            yield from _names_in(child)


def summarize_helper(node: cst.FunctionDef, is_method: bool, names: ImportNames) -> HelperSummary:
    """Which parameters ``node`` releases (``p.close()``, ``os.close(p)``) or keeps (stores on an
    attribute, in a container, returns or yields)."""
    params = params_of(node.params)
    summary = HelperSummary(node, params, is_method)
    index = {name: i for i, name in enumerate(params)}
    stack: list[cst.CSTNode] = [node.body]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            # A closure over a parameter keeps it.
            summary.keeps.update(index[n] for n in _names_in(current) if n in index)
            continue
        if isinstance(current, cst.WithItem):
            # `with contextlib.closing(p):` / `with p:` in the helper closes the parameter.
            item = current.item
            if isinstance(item, cst.Call) and item.args:
                item = item.args[0].value
            if isinstance(item, cst.Name) and item.value in index:
                summary.releases.add(index[item.value])
        if isinstance(current, cst.Call):
            func = current.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value in index
                and func.attr.value in _ANY_RELEASE_METHOD
            ):
                summary.releases.add(index[func.value.value])
            elif names.call_name(current) in _ANY_RELEASE_FUNCTION and current.args:
                first = current.args[0].value
                if isinstance(first, cst.Name) and first.value in index:
                    summary.releases.add(index[first.value])
            else:
                # `registry.append(p)`, `Wrapper(p)`: passed on to a callee that may keep it;
                # `json.dump(x, p)`, `print(x, file=p)` only use it.
                passed = [a.value.value for a in current.args
                          if isinstance(a.value, cst.Name) and a.value.value in index]
                if passed and not _only_uses(current, names):
                    summary.keeps.update(index[name] for name in passed)
        elif _keeps_value(current):
            value = current.value  # type: ignore[attr-defined]
            summary.keeps.update(index[n] for n in _value_names(value) if n in index)
        stack.extend(children(current))
    return summary


def _only_uses(call: cst.Call, names: ImportNames) -> bool:
    """Whether a call in a helper only uses the parameter it is given. It may keep it when it
    stores it (``reg.append(p)``), wraps it (``Wrapper(p)``), takes it (``setattr``) or hands
    it to some other object (``selector.register(p)``); a library function, a logger or a
    plain function (``log(NETWORK, "%s", sock)``) only uses it."""
    qualified = names.call_name(call)
    func = call.func
    if qualified in specs.BORROWING_CONSTRUCTORS or is_library_function(qualified, func, names):
        return True
    if isinstance(func, cst.Attribute) and func.attr.value in STORE_METHODS:
        return False
    if qualified in specs.TAKING_FUNCTIONS or is_constructor_like(qualified, func):
        return False
    return not is_method_of_other_object(func) or is_non_raising(qualified, func)


def _keeps_value(node: cst.CSTNode) -> bool:
    """``return p`` / ``yield p`` / ``self.p = p``: the statement's value outlives the call."""
    if isinstance(node, (cst.Return, cst.Yield)):
        return isinstance(node.value, cst.BaseExpression)
    return isinstance(node, cst.Assign) and any(
        not isinstance(t.target, cst.Name) for t in node.targets
    )


def _value_names(node: cst.BaseExpression) -> Iterator[str]:
    """Names that ``node`` evaluates to (itself or as an element), not names merely read."""
    for value in held_values(node):
        if isinstance(value, cst.Name):
            yield value.value
        elif isinstance(value, cst.Call):
            # Wrapping a parameter in a constructor and keeping the result keeps the parameter.
            for arg in value.args:
                yield from _value_names(arg.value)


def is_managing_method(func: cst.BaseExpression) -> bool:
    """``stack.enter_context(f)``, ``stack.callback(f.close)``: an ExitStack owns it now."""
    return isinstance(func, cst.Attribute) and func.attr.value in specs.MANAGING_METHODS


def is_library_function(qualified: Optional[str], func: cst.BaseExpression,
                        names: ImportNames) -> bool:
    """``json.load(f)``, ``shutil.copyfileobj(f, g)``: a lower-case function reached through an
    import, or a builtin. Such functions use what they are given and leave it open."""
    if qualified is None:
        return False
    module, _, last = qualified.rpartition(".")
    if module == "builtins":
        return True
    head = (dotted_name(func) or "").split(".", 1)[0]
    return head in names.aliases and last[:1].islower() and (
        module in specs.BORROWING_MODULES or module.split(".", 1)[0] in specs.BORROWING_MODULES
    )


def is_constructor_like(qualified: Optional[str], func: cst.BaseExpression) -> bool:
    """``Wrapper(f)``, ``threading.Thread(target=serve, args=(conn,))``,
    ``super().__init__(path)``: a class call keeps what it is given."""
    if isinstance(func, cst.Attribute) and func.attr.value == "__init__":
        return True
    name = qualified or dotted_name(func) or ""
    return name.rsplit(".", 1)[-1][:1].isupper()


def is_method_of_other_object(func: cst.BaseExpression) -> bool:
    """``selector.register(sock, ...)``, ``self._conns.append(conn)``: an object that
    outlives the call may keep it."""
    return isinstance(func, cst.Attribute)


def is_non_raising(qualified: Optional[str], func: cst.BaseExpression) -> bool:
    """``len(x)``, ``logger.debug(...)``, ``items.append(x)``: calls that do not open an
    exception path worth reporting."""
    if qualified in specs.NON_RAISING_CALLS:
        return True
    if isinstance(func, cst.Attribute) and func.attr.value in STORE_METHODS:
        return True
    if isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Attribute):
            receiver = receiver.attr
        return isinstance(receiver, cst.Name) and receiver.value in specs.NON_RAISING_RECEIVERS
    return False


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "", "::1", "0.0.0.0", "::"})


def _local_host(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value in _LOCAL_HOSTS


def is_ephemeral_local_address(node: cst.BaseExpression) -> bool:
    """``("127.0.0.1", 0)``, ``("", 0)``: a port the OS picks on this machine."""
    if not isinstance(node, cst.Tuple) or len(node.elements) < 2:
        return False
    host, port = node.elements[0].value, node.elements[1].value
    return _local_host(host) and isinstance(port, cst.Integer) and port.value == "0"


def is_own_listener_address(node: cst.BaseExpression, bound: Collection[str] = ()) -> bool:
    """``listener.getsockname()`` or ``("127.0.0.1", listener.getsockname()[1])``, or a name
    in ``bound`` (names assigned such an address): the address of a socket this program
    just bound."""
    if isinstance(node, cst.Name):
        return node.value in bound
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value == "getsockname"
    if isinstance(node, cst.Tuple) and len(node.elements) == 2:
        host, port = node.elements[0].value, node.elements[1].value
        if isinstance(port, cst.Subscript):
            port = port.value
        return _local_host(host) and is_own_listener_address(port, bound)
    return False


def wraps_a_path(call: cst.Call, parent: Optional[cst.CSTNode]) -> bool:
    """``tmpdir = py.path.local(mkdtemp())``: a call given only the path, its result kept in a
    name: a path object over it, whose own methods (``tmpdir.remove()``) remove it."""
    return (
        len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
        and isinstance(parent, cst.Assign)
    )


def is_cleanup_call(call: cst.Call, qualified: Optional[str]) -> bool:
    """``os.close(fd)``, ``other.close()``: releasing something else is cleanup, not work that
    a release could be skipped by (a failing cleanup is not what the rules are about)."""
    if qualified in _ANY_RELEASE_FUNCTION:
        return True
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in _CLEANUP_METHODS


_CLEANUP_METHODS = frozenset({"close", "shutdown", "unlink", "rmdir", "cancel", "release",
                              "terminate", "kill", "join", "wait", "aclose", "quit", "logout"})


def passes_a_value(spec: specs.ResourceSpec, argument: cst.CSTNode) -> bool:
    """``work(tmpdir)``, ``use(tmp.name)``: a path is a value the callee reads; passing it on
    does not hand over the duty to remove it, returning or storing does. (A descriptor number
    given to an unknown callee may be adopted by it, so it is not a value here.)"""
    if spec.handle is specs.Handle.PATH:
        return True
    return spec.path_attribute is not None and isinstance(argument, cst.Attribute) and (
        argument.attr.value == spec.path_attribute
    )


_REMOVER_WORDS = ("unlink", "remove", "rmtree", "rmdir", "delete", "cleanup", "clean_up", "move",
                  "rename", "replace")


def is_remover(spec: specs.ResourceSpec, func: cst.BaseExpression) -> bool:
    """``util.unlink(name)``, ``self._cleanup(tmpdir)``: a function whose name says it removes
    what it is given releases a temporary path passed to it."""
    if spec.released_verb != "removed":
        return False
    name = (dotted_name(func) or "").rsplit(".", 1)[-1].lower()
    return any(word in name for word in _REMOVER_WORDS)
