"""Network calls that can block forever: which calls take a timeout, and whether one is given.

Read by LK305 call-without-timeout. Three families, each judged by its own default:

* ``requests`` has no default timeout at all: a module function (``requests.get``) or a method
  of a ``requests.Session`` without ``timeout=``, with ``timeout=None`` or with a ``None`` in its
  ``(connect, read)`` tuple waits forever. ``session.timeout = N`` is ignored by requests.
* ``httpx`` has a finite default: only an explicit ``timeout=None`` disables it.
* ``urllib.request.urlopen`` and ``socket.create_connection`` fall back to the process-wide
  socket default, ``None`` unless someone calls ``socket.setdefaulttimeout``.
* ``urllib3`` pools fall back to that default too: ``request``/``urlopen`` on a
  ``PoolManager``/``HTTPConnectionPool`` built here (inline or bound to a name of the function
  or module) when neither the call nor the pool sets a timeout. ``urllib3.request(...)`` has a
  finite default (3 s): only an explicit ``timeout=None`` disables it.

Calls forwarding ``**kwargs`` (or ``*args`` where the timeout is positional) are the caller's
decision and never judged. A session method is only judged when its receiver is known to be a
``requests.Session``: a name or ``self`` attribute bound to ``requests.Session()`` (or to a
subclass defined in the module that does not override ``request``), a ``with`` target, or a
parameter annotated with the type; ``.get()`` on anything else is some other library's.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames, dotted_name
from leaklint.analysis.scopes import Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.syntax import last_name
from leaklint.walker import iter_nodes, iter_statements

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

# requests: no default timeout. Module functions take it as a keyword only.
REQUESTS_FUNCTIONS = frozenset(
    {f"requests.{verb}" for verb in HTTP_VERBS} | {f"requests.api.{verb}" for verb in HTTP_VERBS}
)
SESSION_TYPES = frozenset({"requests.Session", "requests.sessions.Session"})
SESSION_FACTORIES = SESSION_TYPES | {"requests.session", "requests.sessions.session"}
SESSION_METHODS = frozenset(HTTP_VERBS)
ADAPTER_TYPES = frozenset({"requests.adapters.HTTPAdapter", "requests.HTTPAdapter"})
# Session.request(method, url, params, data, headers, cookies, files, auth, timeout, ...)
SESSION_REQUEST_TIMEOUT_INDEX = 8

# httpx: finite default; only `timeout=None` (or `httpx.Timeout(None)`) disables it.
HTTPX_CALLS = frozenset(
    {f"httpx.{verb}" for verb in HTTP_VERBS} | {"httpx.stream", "httpx.Client", "httpx.AsyncClient"}
)
HTTPX_TIMEOUT_TYPES = frozenset({"httpx.Timeout"})

# Standard library calls whose timeout may also be passed by position: name -> its index.
POSITIONAL_TIMEOUT_CALLS = {
    "urllib.request.urlopen": 2,
    "socket.create_connection": 1,
}


# urllib3: a pool's requests wait as long as the socket default (None) unless the call or
# the pool sets a timeout; the module's `request()` defaults to 3 seconds.
URLLIB3_FUNCTIONS = frozenset({"urllib3.request"})
# Pool constructors, and where they take `timeout` by position (None: keyword only).
URLLIB3_POOLS: dict[str, Optional[int]] = {
    "urllib3.PoolManager": None, "urllib3.poolmanager.PoolManager": None,
    "urllib3.ProxyManager": None, "urllib3.poolmanager.ProxyManager": None,
    "urllib3.proxy_from_url": None, "urllib3.connection_from_url": None,
    "urllib3.HTTPConnectionPool": 2, "urllib3.connectionpool.HTTPConnectionPool": 2,
    "urllib3.HTTPSConnectionPool": 2, "urllib3.connectionpool.HTTPSConnectionPool": 2,
}
URLLIB3_METHODS = frozenset({"request", "urlopen", "request_encode_url", "request_encode_body"})


class Unbounded(enum.Enum):
    """Why a call's wait has no bound."""

    ABSENT = "no timeout given"
    NONE = "timeout=None"
    HTTPX_NONE = "httpx.Timeout(None)"
    TUPLE_WITH_NONE = "a (connect, read) tuple holding None"


@dataclass(frozen=True)
class MissingTimeout:
    """A call that can block forever, and why."""

    call: cst.Call
    api: str  # "requests.get", "session.post", "urllib.request.urlopen"
    why: Unbounded
    # No timeout at all on a call that falls back to `socket.getdefaulttimeout()` (urlopen,
    # create_connection), for an address the function only passes through (a parameter, an
    # attribute): a library facility that leaves the timeout to the program's default.
    defers_to_default: bool = False


def _canonical(qualified: Optional[str]) -> Optional[str]:
    """``pip._vendor.requests.get`` -> ``requests.get``: vendored copies behave the same."""
    if qualified is None:
        return None
    marker = "._vendor."
    index = qualified.rfind(marker)
    return qualified[index + len(marker) :] if index >= 0 else qualified


def _keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def _forwards_keywords(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def _forwards_positionals(call: cst.Call) -> bool:
    return any(arg.star == "*" for arg in call.args)


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


@functools.cache
def _built() -> tuple[type, ...]:
    return (cst.FormattedString, cst.BinaryOperation, cst.Tuple, cst.ConcatenatedString,
              cst.SimpleString)


def _built_here(target: cst.BaseExpression, function: Optional[cst.FunctionDef]) -> bool:
    """Whether the address is made by this code (``f"{base}/manifest.json"``, ``(host,
    port)``, ``Request(url)`` over such a url), directly or through a local name bound to it:
    a client of a known endpoint, not a facility fetching whatever it is given."""
    seen: set[str] = set()
    while True:
        if isinstance(target, _built()):
            return True
        if isinstance(target, cst.Call):
            func = target.func
            if isinstance(func, cst.Attribute) and func.attr.value == "format":
                return True  # "http://{}:{}/".format(host, port)
            name = dotted_name(func) or ""
            if not target.args or not name.rsplit(".", 1)[-1][:1].isupper():
                return False  # a call's result: where it came from is not known here
            target = target.args[0].value  # Request(url, ...)
            continue
        if not isinstance(target, cst.Name) or function is None or target.value in seen:
            return False
        seen.add(target.value)
        bound = _local_value(function, target.value)
        if bound is None:
            return False
        target = bound


def _local_value(function: cst.FunctionDef, name: str) -> Optional[cst.BaseExpression]:
    """The value of the one plain assignment of ``name`` in ``function``, if there is one."""
    values = [
        node.value
        for node in iter_statements(function)
        if isinstance(node, cst.Assign)
        for target in node.targets
        if isinstance(target.target, cst.Name) and target.target.value == name
    ]
    return values[0] if len(values) == 1 else None


def _module_value(module: cst.Module, name: str) -> Optional[cst.BaseExpression]:
    """The value of the one plain module-level assignment of ``name``, if there is one."""
    values = [
        small.value
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
        if isinstance(small, cst.Assign)
        for target in small.targets
        if isinstance(target.target, cst.Name) and target.target.value == name
    ]
    return values[0] if len(values) == 1 else None


class TimeoutCalls(Analysis):
    """Finds the calls in one file that can wait forever on the network."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names = context.analysis(ImportNames)
        self._session_classes = self._local_session_classes(context.module)
        self._adapted = self._sessions_with_timeout_adapter(context.module)
        self._scope_sessions: dict[cst.CSTNode, frozenset[str]] = {}
        self._class_sessions: dict[cst.CSTNode, frozenset[str]] = {}
        self._module_sessions = self._bound_sessions(
            node for stmt in context.module.body if not _is_definition(stmt)
            for node in iter_nodes(stmt)
        )

    # --- what the rule asks -----------------------------------------------------------------
    def missing_timeout(
        self, call: cst.Call, ancestors: Sequence[cst.CSTNode]
    ) -> Optional[MissingTimeout]:
        found = self._judge(call, ancestors)
        if found is None or _decided_by_timeout_branch(ancestors):
            return None
        return found

    def _judge(
        self, call: cst.Call, ancestors: Sequence[cst.CSTNode]
    ) -> Optional[MissingTimeout]:
        qualified = _canonical(self.names.call_name(call))
        if qualified in REQUESTS_FUNCTIONS:
            return self._requests_call(call, qualified, keyword_only=True)
        if qualified in HTTPX_CALLS:
            return self._httpx_call(call, qualified)
        if qualified in POSITIONAL_TIMEOUT_CALLS:
            index = POSITIONAL_TIMEOUT_CALLS[qualified]
            return self._positional_call(call, qualified, index, ancestors)
        if qualified in URLLIB3_FUNCTIONS:
            timeout = _keyword(call, "timeout")
            return self._unbounded(call, qualified, timeout.value) if timeout else None
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in URLLIB3_METHODS:
            pool = self._urllib3_pool(func.value, ancestors)
            if pool is not None:
                kind = (_canonical(self.names.call_name(pool)) or "").rsplit(".", 1)[-1]
                return self._urllib3_call(call, f"{kind}.{func.attr.value}", pool)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in SESSION_METHODS
            and self.is_session(func.value, ancestors)
            and last_name(func.value) not in self._adapted
        ):
            api = f"session.{func.attr.value}"
            return self._requests_call(call, api, keyword_only=func.attr.value != "request")
        return None

    def is_session(self, receiver: cst.BaseExpression, ancestors: Sequence[cst.CSTNode]) -> bool:
        """Is ``receiver`` known to be a ``requests.Session`` at this point of the file?"""
        if isinstance(receiver, cst.Call):
            return self._is_session_factory(receiver)
        if isinstance(receiver, cst.Name):
            if any(
                receiver.value in self._sessions_of_function(scope)
                for scope in ancestors
                if isinstance(scope, cst.FunctionDef)
            ):
                return True
            return receiver.value in self._module_sessions
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            if receiver.value.value not in ("self", "cls"):
                return False
            owner = next((a for a in reversed(ancestors) if isinstance(a, cst.ClassDef)), None)
            return owner is not None and receiver.attr.value in self._sessions_of_class(owner)
        return False

    # --- judging one call -------------------------------------------------------------------
    def _requests_call(
        self, call: cst.Call, api: str, keyword_only: bool
    ) -> Optional[MissingTimeout]:
        if _forwards_keywords(call):
            return None
        arg = _keyword(call, "timeout")
        if arg is None and not keyword_only:
            if _forwards_positionals(call):
                return None
            positional = _positional(call)
            if len(positional) > SESSION_REQUEST_TIMEOUT_INDEX:
                arg = positional[SESSION_REQUEST_TIMEOUT_INDEX]
        if arg is None:
            return MissingTimeout(call, api, Unbounded.ABSENT)
        return self._unbounded(call, api, arg.value)

    def _httpx_call(self, call: cst.Call, api: str) -> Optional[MissingTimeout]:
        arg = _keyword(call, "timeout")
        if arg is None:
            return None
        value = arg.value
        if (
            isinstance(value, cst.Call)
            and self.names.qualified_name(value.func) in HTTPX_TIMEOUT_TYPES
        ):
            positional = _positional(value)
            if positional and _is_none(positional[0].value) and len(value.args) == 1:
                return MissingTimeout(call, api, Unbounded.HTTPX_NONE)
            return None
        return self._unbounded(call, api, value)

    def _positional_call(
        self, call: cst.Call, api: str, index: int, ancestors: Sequence[cst.CSTNode]
    ) -> Optional[MissingTimeout]:
        if _forwards_keywords(call) or _forwards_positionals(call):
            return None
        arg = _keyword(call, "timeout")
        positional = _positional(call)
        if arg is None and len(positional) > index:
            arg = positional[index]
        if arg is None:
            target = positional[0].value if positional else None
            function = next((a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)),
                            None)
            passed_through = target is not None and not _built_here(target, function)
            return MissingTimeout(call, api, Unbounded.ABSENT, passed_through)
        return self._unbounded(call, api, arg.value)

    def _urllib3_pool(
        self, receiver: cst.BaseExpression, ancestors: Sequence[cst.CSTNode]
    ) -> Optional[cst.Call]:
        """The pool constructor call ``receiver`` is: inline, or the one value of a name in
        the enclosing function (else the module)."""
        if isinstance(receiver, cst.Name):
            function = next(
                (a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)), None
            )
            bound = _local_value(function, receiver.value) if function is not None else None
            if bound is None:
                bound = _module_value(self.context.module, receiver.value)
            if bound is None:
                return None
            receiver = bound
        if isinstance(receiver, cst.Call) and (
            _canonical(self.names.call_name(receiver)) in URLLIB3_POOLS
        ):
            return receiver
        return None

    def _urllib3_call(self, call: cst.Call, api: str, pool: cst.Call) -> Optional[MissingTimeout]:
        if _forwards_keywords(call):
            return None
        arg = _keyword(call, "timeout")
        if arg is not None:
            return self._unbounded(call, api, arg.value)
        if _forwards_keywords(pool) or _forwards_positionals(pool):
            return None
        pool_arg = _keyword(pool, "timeout")
        index = URLLIB3_POOLS.get(_canonical(self.names.call_name(pool)) or "")
        positional = _positional(pool)
        if pool_arg is None and index is not None and len(positional) > index:
            pool_arg = positional[index]
        if pool_arg is not None:
            return self._unbounded(call, api, pool_arg.value)
        return MissingTimeout(call, api, Unbounded.ABSENT)

    def _unbounded(
        self, call: cst.Call, api: str, value: cst.BaseExpression
    ) -> Optional[MissingTimeout]:
        if _is_none(value):
            return MissingTimeout(call, api, Unbounded.NONE)
        if isinstance(value, cst.Tuple) and any(
            isinstance(element, cst.Element) and _is_none(element.value)
            for element in value.elements
        ):
            return MissingTimeout(call, api, Unbounded.TUPLE_WITH_NONE)
        return None

    # --- where sessions live ----------------------------------------------------------------
    def _is_session_factory(self, call: cst.Call) -> bool:
        if _canonical(self.names.call_name(call)) in SESSION_FACTORIES:
            return True
        return isinstance(call.func, cst.Name) and call.func.value in self._session_classes

    def _is_session_annotation(self, annotation: cst.BaseExpression) -> bool:
        for node in iter_nodes(annotation):
            if isinstance(node, (cst.Name, cst.Attribute)):
                if _canonical(self.names.qualified_name(node)) in SESSION_TYPES:
                    return True
            elif isinstance(node, cst.SimpleString):
                # A quoted annotation: "requests.Session" or an imported "Session".
                text = node.evaluated_value
                if isinstance(text, str) and text.replace(".", "").isidentifier():
                    head, _, rest = text.partition(".")
                    full = self.names.aliases.get(head, head) + (f".{rest}" if rest else "")
                    if _canonical(full) in SESSION_TYPES:
                        return True
        return False

    def _bound_sessions(self, nodes: Iterable[cst.CSTNode]) -> frozenset[str]:
        """Plain names bound to a session among ``nodes``."""
        return frozenset(name for name in self._session_targets(nodes) if "." not in name)

    def _session_targets(self, nodes: Iterable[cst.CSTNode]) -> Iterator[str]:
        """Dotted targets (``s``, ``self.session``) bound to a new session among ``nodes``."""
        for node in nodes:
            if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call):
                if self._is_session_factory(node.value):
                    for target in node.targets:
                        name = dotted_name(target.target)
                        if name:
                            yield name
            elif isinstance(node, cst.AnnAssign):
                value = node.value
                if (isinstance(value, cst.Call) and self._is_session_factory(value)) or (
                    self._is_session_annotation(node.annotation.annotation)
                ):
                    name = dotted_name(node.target)
                    if name:
                        yield name
            elif isinstance(node, cst.WithItem) and isinstance(node.item, cst.Call):
                if self._is_session_factory(node.item) and node.asname is not None:
                    bound = node.asname.name
                    if isinstance(bound, (cst.Name, cst.Attribute)):
                        name = dotted_name(bound)
                        if name:
                            yield name
            elif (
                isinstance(node, cst.Param)
                and node.annotation is not None
                and self._is_session_annotation(node.annotation.annotation)
            ):
                yield node.name.value

    def _sessions_of_function(self, function: cst.FunctionDef) -> frozenset[str]:
        found = self._scope_sessions.get(function)
        if found is None:
            found = self._bound_sessions(iter_nodes(function))
            self._scope_sessions[function] = found
        return found

    def _sessions_of_class(self, owner: cst.ClassDef) -> frozenset[str]:
        found = self._class_sessions.get(owner)
        if found is None:
            attributes = set()
            for target in self._session_targets(iter_nodes(owner.body)):
                head, _, attribute = target.partition(".")
                if head in ("self", "cls") and attribute and "." not in attribute:
                    attributes.add(attribute)
            # Class-level `session = requests.Session()` is read as `self.session` too.
            for statement in owner.body.body:
                if isinstance(statement, cst.SimpleStatementLine):
                    attributes |= self._bound_sessions(statement.body)
            found = frozenset(attributes)
            self._class_sessions[owner] = found
        return found

    def _sessions_with_timeout_adapter(self, module: cst.Module) -> frozenset[str]:
        """Sessions (by name) that mount an adapter class of this module overriding ``send``:
        the usual way to give every request of a session a default timeout."""
        adapters: set[str] = set()
        for statement in module.body:
            if not isinstance(statement, cst.ClassDef):
                continue
            bases = [_canonical(self.names.qualified_name(b.value)) for b in statement.bases]
            if any(base in ADAPTER_TYPES or base in adapters for base in bases) and any(
                isinstance(member, cst.FunctionDef) and member.name.value == "send"
                for member in statement.body.body
            ):
                adapters.add(statement.name.value)
        if not adapters:
            return frozenset()
        mounted: set[str] = set()
        for node in self.context.analysis(Scopes).nodes_of_type(cst.Call):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "mount"
                and any(
                    isinstance(arg.value, cst.Call)
                    and isinstance(arg.value.func, cst.Name)
                    and arg.value.func.value in adapters
                    for arg in node.args
                )
            ):
                name = last_name(node.func.value)
                if name:
                    mounted.add(name)
        return frozenset(mounted)

    def _local_session_classes(self, module: cst.Module) -> frozenset[str]:
        """Session subclasses defined here that do not override ``request``: their instances
        send requests without a timeout just like ``requests.Session``. A subclass that
        overrides ``request`` usually injects a default timeout, and is trusted to."""
        found: set[str] = set()
        for statement in module.body:
            if not isinstance(statement, cst.ClassDef):
                continue
            bases = [_canonical(self.names.qualified_name(base.value)) for base in statement.bases]
            if not any(base in SESSION_TYPES or base in found for base in bases):
                continue
            if not any(
                isinstance(member, cst.FunctionDef) and member.name.value in ("request", "send")
                for member in statement.body.body
            ):
                found.add(statement.name.value)
        return frozenset(found)


def _mentions_timeout(test: cst.BaseExpression) -> bool:
    for node in iter_nodes(test):
        if isinstance(node, cst.Name) and "timeout" in node.value.lower():
            return True
        if isinstance(node, cst.Attribute) and "timeout" in node.attr.value.lower():
            return True
    return False


def _decided_by_timeout_branch(ancestors: Sequence[cst.CSTNode]) -> bool:
    """The enclosing function branches on a timeout (``if timeout is not None: ...``): it
    chose, on the caller's behalf, when to fall back to the library default (``imaplib``
    keeps the global socket default when given ``timeout=None``). Like forwarding
    ``**kwargs``, the caller decides."""
    function = next((a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)), None)
    if function is None:
        return False
    return any(
        isinstance(node, (cst.If, cst.IfExp)) and _mentions_timeout(node.test)
        for node in iter_nodes(function.body)
    )


def _is_definition(statement: cst.CSTNode) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))
