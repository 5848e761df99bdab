"""The path walk that settles a bound resource's fate at scope exit.

The walk follows one resource through its scope's statements, carrying the set of states it
may be in on the paths reaching each point (not created yet, open, released, handed off,
managed). Branches run separately and merge; loops run twice (so a name rebound on the next
iteration is seen); ``try`` sends the states at every call that can raise to its handlers and
``finally``; ``return``/``raise`` and the end of the scope are the exits where an open state
is a leak. A call that can raise while the resource is open and no handler or ``finally``
releases it is the exception path of Escape.EXCEPTION.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Optional, Union

import libcst as cst

from leaklint.analysis import specs
from leaklint.analysis.loops import never_returns
from leaklint.analysis.names import dotted_name
from leaklint.analysis.ownership_calls import (
    STORE_METHODS,
    Effect,
    is_cleanup_call,
    is_constructor_like,
    is_ephemeral_local_address,
    is_library_function,
    is_managing_method,
    is_method_of_other_object,
    is_non_raising,
    is_own_listener_address,
    is_remover,
    passes_a_value,
    wraps_a_path,
)
from leaklint.analysis.ownership_creations import Creation, Placement, Resolver, argument_index
from leaklint.analysis.ownership_model import Escape
from leaklint.analysis.scopes import Scope
from leaklint.walker import children


class Status(Enum):
    UNBORN = "unborn"  # not created yet on this path (or the name holds something else)
    INERT = "inert"  # created but not activated (a thread not started)
    OPEN = "open"
    # Open, on a path entered through an exception (an except handler after a call on it
    # raised): leaking it there is the exception path, reported with that call.
    FAILED = "failed"
    CLOSED = "closed"
    ESCAPED = "escaped"
    MANAGED = "managed"
    LOST = "lost"  # already reported as leaked at a rebinding


State = frozenset[Status]
_UNBORN: State = frozenset({Status.UNBORN})
_NOTHING: State = frozenset()
_LIVE = frozenset({Status.OPEN, Status.INERT, Status.FAILED})

# Methods of a resource that do not raise in practice (settings and queries).
_CHEAP_METHODS = frozenset(
    {"fileno", "setblocking", "settimeout", "gettimeout", "getblocking", "setsockopt",
     "cursor", "is_alive", "done", "cancelled", "readable", "writable", "seekable", "isatty",
     "add_done_callback", "setDaemon", "set_debuglevel", "getsockname", "getpeername",
     "set_inheritable", "get_inheritable", "getsockopt", "tell", "info", "geturl", "getcode",
     "getheader", "getheaders", "flush", "version", "cipher", "getpeercert",
     "selected_alpn_protocol", "pending", "family", "type"}
)


def _replace(state: State, old: Iterable[Status], new: Status) -> State:
    old = frozenset(old)
    if not state & old:
        return state
    return frozenset(new if status in old else status for status in state)


@dataclass
class _TryFrame:
    has_finally: bool
    catches: bool
    raised: set[Status] = field(default_factory=set)
    cause: Optional[cst.CSTNode] = None
    pending_returns: list[tuple[State, Optional[cst.CSTNode]]] = field(default_factory=list)


@dataclass
class _LoopFrame:
    breaks: set[Status] = field(default_factory=set)
    continues: set[Status] = field(default_factory=set)


@dataclass
class FlowResult:
    escape: Escape
    escape_node: Optional[cst.CSTNode]
    final: set[Status]
    events: set[Status]
    returned: bool
    attributes_set: frozenset[str]


class FlowWalk:
    def __init__(self, creation: Creation, placement: Placement, scope: Scope,
                 resolver: Resolver) -> None:
        self.creation = creation
        self.spec = creation.spec
        self.placement = placement
        self.scope = scope
        self.resolver = resolver
        self.aliases: set[str] = set()
        self.holders: set[str] = set()
        self.elements: set[str] = set()  # loop variables over a holder
        self.tries: list[_TryFrame] = []
        self.loops: list[_LoopFrame] = []
        self.exits: list[tuple[State, Optional[cst.CSTNode]]] = []
        self.raise_exits: list[tuple[State, cst.CSTNode]] = []
        self.exception_cause: Optional[cst.CSTNode] = None
        self.rebinds: dict[cst.CSTNode, Escape] = {}
        self.events: set[Status] = set()
        self.returned = False
        self.attributes_set: set[str] = set()
        # Names bound to what took the resource over (``_file = os.fdopen(fd)``): closing them
        # closes it, and testing them tells whether it was taken.
        self.owners: set[str] = set()
        self.taker: Optional[cst.Call] = None
        self.in_finally = 0
        self.failure_cause: Optional[cst.CSTNode] = None
        # Names whose test decides whether the object is ours to release on that branch:
        # boolean ownership flags (`if close_source: source.close()`) and the names tested to
        # decide whether to create it (`if file != "-": fp.close()`).
        self.guard_names = scope.bool_flags | self._creation_conditions()
        self.created_status = Status.INERT if self.spec.activation_methods else Status.OPEN
        # Bound to an ephemeral loopback port: accepting its own peer does not fail.
        self.loopback_listener = False
        # Events a done-callback of the task sets: awaiting one waits for the task.
        self.completion_events: set[str] = set()

    # --- driver ----------------------------------------------------------------------------
    def run(self) -> FlowResult:
        end = self.block(self.scope.body, _UNBORN)
        if end:
            self.exits.append((end, None))
        if any(Status.FAILED in state for state, _ in self.exits):
            self._failed_exit()
        return self._result()

    def _result(self) -> FlowResult:
        final: set[Status] = set()
        for state, _ in self.exits:
            final |= state
        released_somewhere = bool(self.events & {Status.CLOSED, Status.ESCAPED, Status.MANAGED})
        escape, node = Escape.NONE, None
        open_exits = [(state, n) for state, n in self.exits if Status.OPEN in state]
        raise_exits = [(state, n) for state, n in self.raise_exits if Status.OPEN in state]
        rebound = [(n, e) for n, e in self.rebinds.items() if e is Escape.REBOUND]
        if rebound:
            # `f = open(a)` ... `f = open(b)`: the first is lost at the rebinding.
            node, escape = rebound[0]
        elif (open_exits or raise_exits or self.rebinds) and not released_somewhere:
            # No path releases it: "never closed", not "replaced on the next iteration".
            escape = Escape.WITH_DOES_NOT_RELEASE if self.placement.statement is not None and (
                isinstance(self.placement.statement, cst.With)
            ) else Escape.NEVER_RELEASED
            node = self.placement.statement
        elif self.rebinds:
            node, escape = next(iter(self.rebinds.items()))
        elif any(n is not None for _, n in open_exits):
            escape = Escape.EARLY_RETURN
            node = next(n for _, n in open_exits if n is not None)
        elif raise_exits:
            escape, node = Escape.RAISE, raise_exits[0][1]
        elif open_exits:
            escape = Escape.SOME_PATHS
        elif self.exception_cause is not None:
            escape, node = Escape.EXCEPTION, self.exception_cause
        return FlowResult(escape, node, final, self.events, self.returned,
                          frozenset(self.attributes_set))

    # --- statements --------------------------------------------------------------------------
    def block(self, statements: Sequence[cst.CSTNode], state: State) -> State:
        for statement in statements:
            if not state:
                break
            state = self.statement(statement, state)
        return state

    def _suite(self, suite: cst.BaseSuite, state: State) -> State:
        return self.block(suite.body, state)

    def statement(self, node: cst.CSTNode, state: State) -> State:
        if isinstance(node, cst.SimpleStatementLine):
            return self.block(node.body, state)
        if isinstance(node, cst.BaseSmallStatement):
            return self.small(node, state)
        if isinstance(node, cst.If):
            return self.if_(node, state)
        if isinstance(node, (cst.For, cst.While)):
            return self.loop(node, state)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self.try_(node, state)
        if isinstance(node, cst.With):
            return self.with_(node, state)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            state = self.expression_list([*node.decorators], state)
            if self._mentions(node):
                state = self._escape(state)
            return state
        if isinstance(node, cst.Match):
            return self.match(node, state)
        return state

    def small(self, node: cst.BaseSmallStatement, state: State) -> State:
        if isinstance(node, cst.Expr):
            return self.expr(node.value, state)
        if isinstance(node, cst.Assign):
            state = self.expr(node.value, state)
            for target in node.targets:
                state = self.assign(target.target, node.value, state, node)
            return state
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                return state
            state = self.expr(node.value, state)
            return self.assign(node.target, node.value, state, node)
        if isinstance(node, cst.AugAssign):
            state = self.expr(node.value, state)
            if self.yields(node.value):
                return self.store_into(node.target, state)
            return state
        if isinstance(node, cst.Return):
            if node.value is not None:
                state = self.expr(node.value, state)
                if self.yields(node.value):
                    if state & _LIVE:
                        self.returned = self.returned or self._is_alias(node.value)
                    state = self._escape(state)
            self.record_return(state, node)
            return _NOTHING
        if isinstance(node, cst.Raise):
            if _exits_process(node):
                return _NOTHING
            if node.exc is not None:
                state = self.expr(node.exc, state)
            self.raise_from(state, node)
            return _NOTHING
        if isinstance(node, (cst.Break, cst.Continue)):
            if self.loops:
                frame = self.loops[-1]
                (frame.breaks if isinstance(node, cst.Break) else frame.continues).update(state)
            return _NOTHING
        if isinstance(node, cst.Assert):
            return self.expr(node.test, state)
        if isinstance(node, cst.Del):
            return state
        return state

    def if_(self, node: cst.If, state: State) -> State:
        state = self.expr(node.test, state)
        polarity = self._guard_polarity(node.test)
        when_true, when_false = state, state
        if polarity is True:
            when_false = _replace(state, _LIVE, Status.UNBORN)
        elif polarity is False:
            when_true = _replace(state, _LIVE, Status.UNBORN)
        exits_before = len(self.exits)
        body = self._suite(node.body, when_true)
        body_exits = self.exits[exits_before:]
        exits_before = len(self.exits)
        if isinstance(node.orelse, cst.If):
            other = self.if_(node.orelse, when_false)
        elif isinstance(node.orelse, cst.Else):
            other = self._suite(node.orelse.body, when_false)
        else:
            other = when_false
        other_exits = self.exits[exits_before:]
        if (
            self.placement.conditional
            or self._reads_alias(node.test)
            or self._reads(node.test, self.guard_names)
            or _is_platform_test(node.test)
        ):
            # `if f is not sys.stdout: f.close()`, `if owned: f.close()` on a conditionally
            # created file: the branch that does not release holds no resource of ours.
            body, other = (
                self._guarded(body, other, other_exits), self._guarded(other, body, body_exits)
            )
        return body | other

    @staticmethod
    def _guarded(branch: State, other: State,
                 other_exits: list[tuple[State, Optional[cst.CSTNode]]]) -> State:
        """``branch`` with the object taken as not ours, when the other branch settles it
        (releases it, or hands it off, also by returning it: `if isinstance(fd, int): return
        fd`)."""
        ends = set(other)
        for state, _ in other_exits:
            ends |= state
        settled = ends and not ends & _LIVE and ends & {
            Status.CLOSED, Status.ESCAPED, Status.MANAGED}
        return _replace(branch, _LIVE, Status.UNBORN) if settled else branch

    def loop(self, node: Union[cst.For, cst.While], state: State) -> State:
        over_holder = False
        infinite = False
        if isinstance(node, cst.For):
            state = self.expr(node.iter, state)
            over_holder = self._iterates_holder(node.iter)
            if over_holder:
                self.elements.update(_names(node.target))
        else:
            assert isinstance(node, cst.While)
            state = self.expr(node.test, state)
            infinite = _is_true(node.test)
        frame = _LoopFrame()
        self.loops.append(frame)
        body: cst.BaseSuite = node.body
        first = self._suite(body, state)
        second = self._suite(body, state | first | frozenset(frame.continues))
        self.loops.pop()
        if infinite:
            done: State = _NOTHING
        else:
            done = first | second | frozenset(frame.continues)
            if not over_holder:
                done = done | state
            if isinstance(node, cst.While):
                done = self.expr(node.test, done) if done else done
                if done and self._polls_until_exit(node.test):
                    done = self._release(done)
        orelse: Optional[cst.Else] = node.orelse
        if orelse is not None and done:
            done = self._suite(orelse.body, done)
        return done | frozenset(frame.breaks)

    def try_(self, node: cst.Try | cst.TryStar, state: State) -> State:
        has_finally = node.finalbody is not None
        handlers = list(node.handlers)
        body_frame = _TryFrame(has_finally, catches=bool(handlers))
        self.tries.append(body_frame)
        body_out = self._suite(node.body, state)
        self.tries.pop()
        after_frame = _TryFrame(has_finally, catches=False)
        self.tries.append(after_frame)
        outs: State = _NOTHING
        caught = _replace(frozenset(body_frame.raised), {Status.OPEN}, Status.FAILED)
        if Status.FAILED in caught and self.failure_cause is None:
            self.failure_cause = body_frame.cause
        for handler in handlers:
            assert isinstance(handler, (cst.ExceptHandler, cst.ExceptStarHandler))
            if caught:
                outs |= self._suite(handler.body, caught)
            elif self._creates_here(handler):
                # Created in the handler (a fallback opened when the body failed): the
                # handler runs from what the try started with.
                outs |= self._suite(handler.body, state)
        if node.orelse is not None and body_out:
            body_out = self._suite(node.orelse.body, body_out)
        self.tries.pop()
        normal = body_out | outs
        uncaught: State = _NOTHING if handlers else frozenset(body_frame.raised)
        cause = body_frame.cause if not handlers else None
        escaping = uncaught | frozenset(after_frame.raised)
        cause = cause or after_frame.cause
        returns = body_frame.pending_returns + after_frame.pending_returns
        if node.finalbody is not None:
            final = node.finalbody
            # Cleanup code that raises in `finally` is not the path these rules are about.
            self.in_finally += 1
            if normal:
                normal = self._suite(final.body, normal)
            for pending, where in returns:
                through = self._suite(final.body, pending)
                if through:
                    self.record_return(through, where)
            if escaping:
                through = self._suite(final.body, escaping)
                if through:
                    self.raise_from(through, cause or node)
            self.in_finally -= 1
        elif escaping:
            self.raise_from(escaping, cause or node)
        return normal

    def with_(self, node: cst.With, state: State) -> State:
        for item in node.items:
            state = self.expr(item.item, state)
            if self._manages(item.item):
                state = _replace(state, _LIVE, Status.MANAGED)
                self.events.add(Status.MANAGED)
            if item.asname is not None and self.yields(item.item) and not self._manages(
                item.item
            ):
                self.aliases.update(_names(item.asname.name))
        return self._suite(node.body, state)

    def match(self, node: cst.Match, state: State) -> State:
        state = self.expr(node.subject, state)
        out: State = _NOTHING
        irrefutable = False
        for case in node.cases:
            out |= self._suite(case.body, state)
            pattern = case.pattern
            if case.guard is None and isinstance(pattern, cst.MatchAs) and pattern.pattern is None:
                irrefutable = True
        return out if irrefutable else out | state

    # --- exits -------------------------------------------------------------------------------
    def record_return(self, state: State, node: Optional[cst.CSTNode]) -> None:
        for frame in reversed(self.tries):
            if frame.has_finally:
                frame.pending_returns.append((state, node))
                return
        self.exits.append((state, node))

    def raise_from(self, state: State, cause: cst.CSTNode) -> None:
        if self.tries:
            frame = self.tries[-1]
            frame.raised.update(state)
            if frame.cause is None and Status.OPEN in state:
                frame.cause = cause
            return
        if Status.OPEN in state:
            if isinstance(cause, cst.Raise):
                # Only where it is surely still open: a `raise err` reached both from a path
                # that released it and one that did not is usually tied to the release
                # (`err = exc; sock.close()` ... `if err: raise err`).
                if state <= _LIVE:
                    self.raise_exits.append((state, cause))
            elif self.exception_cause is None:
                self.exception_cause = cause
        elif Status.FAILED in state:
            self._failed_exit()

    def _failed_exit(self) -> None:
        if self.exception_cause is None:
            self.exception_cause = self.failure_cause

    # --- expressions -------------------------------------------------------------------------
    def expression_list(self, nodes: Iterable[cst.CSTNode], state: State) -> State:
        for node in nodes:
            state = self.expr(node, state)
        return state

    def expr(self, node: cst.CSTNode, state: State) -> State:
        if not state:
            return state
        if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
            return self._escape(state) if self._mentions(node) else state
        if isinstance(node, cst.Call):
            return self.call(node, state)
        if isinstance(node, cst.Attribute):
            state = self.expr(node.value, state)
            if self._is_alias(node.value):
                attr = node.attr.value
                if attr in self.spec.release_attributes:
                    return self._release(state)
                if attr in self.spec.release_methods:
                    # A bound release method handed to someone: `atexit.register(f.close)`.
                    return self._escape(state)
            return state
        if isinstance(node, cst.Yield):
            value = node.value
            if isinstance(value, cst.From):
                value = value.item
            if value is not None:
                state = self.expr(value, state)
                if self.yields(value):
                    state = self._escape(state)
            return state
        if isinstance(node, cst.Await):
            state = self.expr(node.expression, state)
            if self.spec.await_releases and (
                self._is_alias(node.expression) or self._waits_for_completion(node.expression)
            ):
                return self._release(state)
            return state
        if isinstance(node, cst.NamedExpr):
            state = self.expr(node.value, state)
            return self.assign(node.target, node.value, state, node)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node, state)
        for child in children(node):
            state = self.expr(child, state)
        return state

    def _comprehension(self, node: cst.CSTNode, state: State) -> State:
        comp_for = node.for_in  # type: ignore[attr-defined]
        added: set[str] = set()
        while comp_for is not None:
            state = self.expr(comp_for.iter, state)
            if self._iterates_holder(comp_for.iter):
                added.update(_names(comp_for.target) - self.elements)
            self.elements.update(added)
            for condition in comp_for.ifs:
                state = self.expr(condition.test, state)
            comp_for = comp_for.inner_for_in
        for part in ("elt", "key", "value"):
            value = getattr(node, part, None)
            if value is not None:
                state = self.expr(value, state)
        self.elements.difference_update(added)
        return state

    def call(self, node: cst.Call, state: State) -> State:
        func = node.func
        if isinstance(func, cst.Attribute):
            state = self.expr(func.value, state)
        elif not isinstance(func, cst.Name):
            state = self.expr(func, state)
        for arg in node.args:
            state = self.expr(arg.value, state)
        if node is self.creation.call:
            return self._create(state)
        return self._call_effect(node, state)

    def _create(self, state: State) -> State:
        if Status.OPEN in state and not self.holders and not self._created_once():
            self.rebinds.setdefault(self.creation.call, Escape.LOOP)
        elif Status.FAILED in state and not self.holders:
            self._failed_exit()
        self.aliases.update(self.placement.aliases)
        self.holders.update(self.placement.holders)
        return frozenset({self.created_status})

    def _call_effect(self, node: cst.Call, state: State) -> State:
        func = node.func
        spec = self.spec
        if self.resolver.qualified(func, self.scope) in specs.PROCESS_EXITS:
            return _NOTHING
        callee = self.resolver.callee(node, self.scope)
        if callee is not None and self._surely_raises(callee):
            # `capture_forever()` of this module ends only by raising: the path goes on
            # through the exception handlers, never past the call.
            self.raise_from(state, node)
            return _NOTHING
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in self.owners
            and func.attr.value in spec.release_methods | {"close"}
        ):
            return self._release(state)
        if spec.loop_runners and _runs_event_loop(func, spec.loop_runners):
            # `loop.run_forever()`: the function blocks until the loop ends, with the task.
            return self._release(state)
        if isinstance(func, cst.Attribute) and self._is_alias(func.value):
            method = func.attr.value
            if method == "add_done_callback" and node.args:
                self.completion_events.update(_events_set_by(node.args[0].value))
            if method in spec.release_methods or method in spec.release_attributes or (
                is_remover(spec, func)
            ):
                # `temporary.unlink()`, `tmp_path.replace(target)` on a Path of the file.
                return self._release(state)
            if method in spec.activation_methods:
                self.events.add(Status.OPEN)
                return _replace(state, {Status.INERT}, Status.OPEN)
            if method in _CHEAP_METHODS or self._loopback_setup(node, method):
                return state
            self._risky(node, state)
            return state
        if self._made_standard_stream(node):
            # `os.dup2(fd, 0)`: daemonising code makes it the process's stdin/stdout/stderr,
            # which lives as long as the process.
            return self._escape(state)
        if isinstance(func, cst.Attribute) and func.attr.value in ("unlink", "rmdir"):
            receiver = func.value
            if isinstance(receiver, cst.Call) and any(
                self._is_alias(a.value) for a in receiver.args
            ):
                return self._release(state)
        positions = [arg for arg in node.args if self._passes(arg.value)]
        if positions and self._is_alias(node):
            return state  # `tmpdir = py.path.local(path)`: the result is the path itself
        bound = [arg for arg in node.args if _bound_member(arg.value, self._is_alias)]
        if not positions and bound and self._effect_on(node, bound[0]) is Effect.TAKES:
            # `tracer.setwriter(err.write)`: a bound method keeps its object alive in the
            # callee, which now decides when it goes.
            return self._escape(state)
        if not positions:
            # For OS handles a call that does not touch the object is not where a release
            # gets skipped in practice (`style(name)`): only operations on it count. Work done
            # while a thread runs can fail anywhere (spec.any_call_can_raise).
            if spec.any_call_can_raise and not is_non_raising(
                self.resolver.qualified(func, self.scope), func
            ):
                self._risky(node, state)
            return state
        qualified = self.resolver.qualified(func, self.scope)
        if qualified in specs.TRANSPARENT_WRAPPERS or qualified in specs.PATH_TRANSFORMS:
            return state  # the result is the object itself; what becomes of it decides
        effect = self._effect_on(node, positions[0])
        if (
            effect is Effect.BORROWS
            and isinstance(func, cst.Attribute)
            and func.attr.value in STORE_METHODS
            and self._local_container(func.value)
        ):
            assert isinstance(func.value, cst.Name)
            self.holders.add(func.value.value)
            return state
        if effect is Effect.BORROWS and is_non_raising(qualified, func):
            return state
        if effect is Effect.RELEASES:
            return self._release(state)
        if effect is Effect.MANAGES:
            self.events.add(Status.MANAGED)
            return _replace(state, _LIVE, Status.MANAGED)
        if effect is Effect.TAKES:
            self.taker = node
            return self._escape(state)
        self._risky(node, state)
        return state

    def _made_standard_stream(self, node: cst.Call) -> bool:
        """``os.dup2(fd, 1)``, ``os.dup2(f.fileno(), sys.stdout.fileno())``."""
        if len(node.args) < 2 or self.resolver.qualified(node.func, self.scope) != "os.dup2":
            return False
        source, target = node.args[0].value, node.args[1].value
        if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute) and (
            source.func.attr.value == "fileno"
        ):
            source = source.func.value
        if not self._is_alias(source):
            return False
        if isinstance(target, cst.Integer):
            return target.value in ("0", "1", "2")
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute):
            target = target.func.value  # sys.stdout.fileno()
        return dotted_name(target) in ("sys.stdin", "sys.stdout", "sys.stderr",
                                       "sys.__stdin__", "sys.__stdout__", "sys.__stderr__")

    def _waits_for_completion(self, node: cst.BaseExpression) -> bool:
        """``await done.wait()`` on an event that the task's done-callback sets."""
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "wait"
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value in self.completion_events
        )

    def _polls_until_exit(self, test: cst.BaseExpression) -> bool:
        """``p.poll() is None`` as a loop test: the loop ends only once ``poll()`` has reaped
        the process."""
        if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
            return False
        left, target = test.left, test.comparisons[0]
        return (
            isinstance(target.operator, (cst.Is, cst.Equal))
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
            and isinstance(left, cst.Call)
            and isinstance(left.func, cst.Attribute)
            and left.func.attr.value in self.spec.reaping_polls
            and self._is_alias(left.func.value)
        )

    def _loopback_setup(self, node: cst.Call, method: str) -> bool:
        """A socket pair made on this machine (``bind(("127.0.0.1", 0))``, ``listen()``,
        ``connect(listener.getsockname())``, then ``accept()`` on that listener): binding an
        ephemeral loopback port and connecting to one's own listener do not fail in practice,
        so they open no exception path worth reporting."""
        if self.spec.kind is not specs.Kind.SOCKET:
            return False
        if method == "bind" and node.args and is_ephemeral_local_address(node.args[0].value):
            self.loopback_listener = True
            return True
        if method == "listen":
            return True
        if method == "accept":
            return self.loopback_listener
        if method == "connect" and node.args:
            return is_own_listener_address(
                node.args[0].value, self.resolver.listener_addresses(self.scope)
            )
        return False

    def _surely_raises(self, callee: cst.FunctionDef) -> bool:
        """A module function that never returns; not a method (a subclass may override it:
        `def _make_transport(self, sock): raise NotImplementedError`) and not a stub."""
        helper = self.resolver.helpers.get(callee)
        if helper is None or helper.is_method or helper.is_stub:
            return False
        return never_returns(callee)

    def _effect_on(self, node: cst.Call, arg: cst.Arg) -> Effect:
        """What the call does to the resource passed as ``arg`` (see ownership_calls)."""
        resolver = self.resolver
        func = node.func
        qualified = resolver.qualified(func, self.scope)
        if qualified in self.spec.release_functions or is_remover(self.spec, func):
            return Effect.RELEASES
        if is_managing_method(func):
            return Effect.MANAGES
        if qualified == "contextlib.closing" and self._in_with_item(node):
            return Effect.MANAGES
        helper_node = resolver.callee(node, self.scope)
        helper = resolver.helpers.get(helper_node) if helper_node is not None else None
        if helper is not None:
            index = argument_index(node, arg, helper, isinstance(func, cst.Attribute))
            return helper.effect_on(index) if index is not None else Effect.TAKES
        if qualified in specs.STREAM_BORROWERS and arg.keyword is not None and (
            arg.keyword.value in specs.STREAM_KEYWORDS
        ):
            return Effect.BORROWS  # the child gets a copy; ours is still ours to close
        if passes_a_value(self.spec, arg.value) and self.spec.handle is not specs.Handle.FD:
            # `open(tmp.name)`, `shutil.copy(path, dest)`: a path is read, not taken over,
            # unless it is stored (a container method) or wrapped by a constructor.
            if isinstance(func, cst.Attribute) and func.attr.value in STORE_METHODS:
                return Effect.BORROWS if self._local_container(func.value) else Effect.TAKES
            return Effect.TAKES if is_constructor_like(qualified, func) else Effect.BORROWS
        if qualified in specs.TAKING_FUNCTIONS or qualified in specs.TRANSPARENT_WRAPPERS:
            return Effect.TAKES
        if qualified in specs.BORROWING_CONSTRUCTORS or is_library_function(
            qualified, func, resolver.names
        ):
            return Effect.BORROWS
        if is_constructor_like(qualified, func):
            return Effect.TAKES
        if isinstance(func, cst.Attribute) and func.attr.value in STORE_METHODS:
            return Effect.BORROWS if self._local_container(func.value) else Effect.TAKES
        if passes_a_value(self.spec, arg.value):
            return Effect.BORROWS
        if is_method_of_other_object(func):
            return Effect.TAKES
        return Effect.TAKES

    def _in_with_item(self, node: cst.CSTNode) -> bool:
        return isinstance(self.resolver.index.parents.get(node), cst.WithItem)

    # --- assignment --------------------------------------------------------------------------
    def assign(self, target: cst.CSTNode, value: cst.BaseExpression, state: State,
               statement: cst.CSTNode) -> State:
        if isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(
                target.elements
            ):
                for sub_target, sub_value in zip(target.elements, value.elements):
                    state = self.assign(sub_target.value, sub_value.value, state, statement)
                return state
            if value is self.creation.call:
                return state  # `fd, path = mkstemp()`: the placement bound the element
            for element in target.elements:
                state = self._unbind(element.value, state, statement)
            return state
        if isinstance(target, cst.StarredElement):
            return self._unbind(target.value, state, statement)
        # A name takes the object only on paths where it is live (`dot = outputfile` in the
        # branch that did not create it binds nothing of ours).
        holds = self.yields(value) and bool(state & _LIVE)
        if isinstance(target, cst.Name) and self.taker is not None and (
            value is self.taker
            or (isinstance(value, cst.Await) and value.expression is self.taker)
        ):
            self.owners.add(target.value)
        if isinstance(target, cst.Name):
            name = target.value
            if holds and name not in self.scope.declared_global and self.scope.is_function:
                if self._is_alias(value) or (
                    isinstance(value, cst.Attribute) and self._is_alias(value.value)
                ):
                    self.aliases.add(name)
                else:
                    self.holders.add(name)
                return state
            if holds:
                return self._escape(state)
            return self._unbind(target, state, statement)
        if isinstance(target, cst.Attribute):
            if holds:
                return self._escape(state)
            if self._is_alias(target.value):
                self.attributes_set.add(target.attr.value)
            return state
        if holds:
            return self.store_into(target, state)
        return state

    def store_into(self, target: cst.CSTNode, state: State) -> State:
        """``files[k] = f`` / ``files += [f]``: kept by a frame-local container, or handed off."""
        if isinstance(target, cst.Subscript):
            target = target.value
        if self._local_container(target):
            assert isinstance(target, cst.Name)
            self.holders.add(target.value)
            return state
        return self._escape(state)

    def _unbind(self, target: cst.CSTNode, state: State, statement: cst.CSTNode) -> State:
        for name in _names(target):
            if name in self.elements:
                continue
            if name in self.aliases or name in self.holders:
                if not state & _LIVE:
                    # Not live on this path (never created here, or already released):
                    # `if c: t = make() else: t = other`. The name keeps referring to our
                    # object on the paths where it is live.
                    continue
                self.aliases.discard(name)
                self.holders.discard(name)
                if not self.aliases and not self.holders and Status.OPEN in state:
                    self.rebinds.setdefault(statement, Escape.REBOUND)
                    state = _replace(state, {Status.OPEN}, Status.LOST)
                if not self.aliases and not self.holders and Status.FAILED in state:
                    self._failed_exit()
                    state = _replace(state, {Status.FAILED}, Status.LOST)
        return state

    # --- state changes -----------------------------------------------------------------------
    def _release(self, state: State) -> State:
        self.events.add(Status.CLOSED)
        return _replace(state, _LIVE, Status.CLOSED)

    def _escape(self, state: State) -> State:
        if state & _LIVE:
            self.events.add(Status.ESCAPED)
        return _replace(state, _LIVE, Status.ESCAPED)

    def _risky(self, node: cst.Call, state: State) -> None:
        if Status.OPEN in state and not self.in_finally and not is_cleanup_call(
            node, self.resolver.qualified(node.func, self.scope)
        ):
            self.raise_from(state, node)

    # --- what an expression refers to --------------------------------------------------------
    def _is_alias(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.aliases or node.value in self.elements
        if node is self.creation.call:
            return True
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
            return node.value.value in self.holders
        if isinstance(node, cst.Await):
            return self._is_alias(node.expression)
        if isinstance(node, (cst.IfExp,)):
            return self._is_alias(node.body) or self._is_alias(node.orelse)
        if isinstance(node, cst.BooleanOperation):
            return self._is_alias(node.left) or self._is_alias(node.right)
        if isinstance(node, cst.Call) and node.args:
            qualified = self.resolver.qualified(node.func, self.scope)
            if qualified in specs.TRANSPARENT_WRAPPERS:
                return any(self._is_alias(arg.value) for arg in node.args)
            if qualified in specs.PATH_TRANSFORMS and passes_a_value(self.spec, node.args[0].value):
                return self._is_alias(node.args[0].value)
            if (
                self.spec.handle is specs.Handle.PATH
                and wraps_a_path(node, self.resolver.index.parents.get(node))
                and qualified not in specs.NON_RAISING_CALLS
                and not is_constructor_like(qualified, node.func)
            ):
                return self._is_alias(node.args[0].value)
        if isinstance(node, cst.Attribute) and (
            self.spec.path_attribute == node.attr.value
            or node.attr.value in specs.RESOURCE_PART_ATTRIBUTES
        ):
            return self._is_alias(node.value)
        return False

    def yields(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` evaluates to the resource, or to a container holding it."""
        if self._is_alias(node):
            return True
        if isinstance(node, cst.Name):
            return node.value in self.holders
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return any(self.yields(element.value) for element in node.elements)
        if isinstance(node, cst.Dict):
            return any(
                isinstance(element, cst.DictElement) and self.yields(element.value)
                for element in node.elements
            )
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self.yields(node.elt)
        if isinstance(node, cst.DictComp):
            return self.yields(node.value)
        if isinstance(node, cst.StarredElement):
            return self.yields(node.value)
        return False

    def _passes(self, node: cst.CSTNode) -> bool:
        """Whether an argument hands the resource itself (not a value read from it)."""
        if self._is_alias(node):
            return True
        if isinstance(node, cst.Name):
            return node.value in self.holders
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return any(self._passes(element.value) for element in node.elements)
        if isinstance(node, cst.StarredElement):
            return self._passes(node.value)
        return False

    def _manages(self, item: cst.BaseExpression) -> bool:
        if not self._is_alias(item):
            return False
        if isinstance(item, cst.Call) and item is not self.creation.call:
            return True  # closing(f) / a transparent wrapper entered by `with`
        return self.spec.with_releases

    def _local_container(self, node: cst.CSTNode) -> bool:
        return (
            isinstance(node, cst.Name)
            and self.scope.is_local(node.value)
            and node.value in self.scope.local_containers
            and node.value not in self.scope.params
        )

    def _iterates_holder(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.holders
        if isinstance(node, (cst.Tuple, cst.List)):
            return any(self._is_alias(element.value) for element in node.elements)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and (
            node.func.attr.value in ("values", "items", "copy") and not node.args
        ):
            return self._iterates_holder(node.func.value)  # files.values()
        if isinstance(node, cst.Call) and node.args:
            # reversed(files), list(files), enumerate(files) and friends.
            return self._iterates_holder(node.args[0].value)
        if isinstance(node, cst.Attribute) and node.attr.value in ("values", "items"):
            return self._iterates_holder(node.value)
        return False

    def _reads(self, node: cst.CSTNode, names: set[str]) -> bool:
        if not names:
            return False
        if isinstance(node, cst.Name):
            return node.value in names
        return any(self._reads(child, names) for child in children(node))

    def _creation_conditions(self) -> set[str]:
        """Names tested to decide whether to create the object, and names set next to its
        creation in the same block (`target = "png"` beside `mkstemp()`): a later test of
        them tells which branch created it."""
        found: set[str] = set()
        parents = self.resolver.index.parents
        node: Optional[cst.CSTNode] = self.creation.call
        block_seen = False
        while node is not None and node is not self.scope.node:
            parent = parents.get(node)
            if isinstance(parent, cst.If) and node is not parent.test:
                found.update(n.value for n in _name_nodes(parent.test))
            if isinstance(parent, cst.IndentedBlock) and not block_seen:
                block_seen = True
                if isinstance(parents.get(parent), (cst.If, cst.Else)):
                    found.update(_assigned_names(parent.body))
            node = parent
        return found

    def _creates_here(self, node: cst.CSTNode) -> bool:
        """Is the creating call inside ``node``?"""
        parents = self.resolver.index.parents
        current: Optional[cst.CSTNode] = self.creation.call
        while current is not None and current is not self.scope.node:
            if current is node:
                return True
            current = parents.get(current)
        return False

    def _created_once(self) -> bool:
        """Created under a test of a flag that the same branch then sets (``if not is_temp:
        f = NamedTemporaryFile(); is_temp = True``): a loop cannot create it again, so it is
        not replaced on the next iteration."""
        parents = self.resolver.index.parents
        node: Optional[cst.CSTNode] = self.creation.call
        while node is not None and node is not self.scope.node:
            parent = parents.get(node)
            if isinstance(parent, cst.If) and node is parent.body:
                tested = {n.value for n in _name_nodes(parent.test)}
                body = parent.body.body if isinstance(parent.body, cst.IndentedBlock) else []
                if tested & _assigned_names(body):
                    return True
            node = parent
        return False

    def _reads_alias(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.aliases | self.holders | self.owners
        return any(self._reads_alias(child) for child in children(node))

    def _mentions(self, node: cst.CSTNode) -> bool:
        watched = self.aliases | self.holders
        if not watched:
            return False
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name) and current.value in watched:
                return True
            stack.extend(children(current))
        return False

    def _guard_polarity(self, test: cst.BaseExpression) -> Optional[bool]:
        """True when the test being true means the alias holds the resource (``if f:``,
        ``if f is not None``), False when it means it does not (``if f is None``)."""
        if isinstance(test, cst.Name) and test.value in self.aliases:
            return True
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._guard_polarity(test.expression)
            return None if inner is None else not inner
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            left, right = test.left, test.comparisons[0].comparator
            operator = test.comparisons[0].operator
            is_none = isinstance(right, cst.Name) and right.value == "None"
            if isinstance(left, cst.Name) and left.value in self.aliases and is_none:
                if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                    return True
                if isinstance(operator, (cst.Is, cst.Equal)):
                    return False
        if isinstance(test, cst.BooleanOperation):
            sides = (self._guard_polarity(test.left), self._guard_polarity(test.right))
            if isinstance(test.operator, cst.And) and True in sides:
                return True
            if isinstance(test.operator, cst.Or) and False in sides:
                return False
        return None


def _runs_event_loop(func: cst.BaseExpression, runners: frozenset[str]) -> bool:
    """``loop.run_forever()``, ``loop.run_until_complete(...)``, Twisted's ``reactor.run()``."""
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value in runners:
        return True
    receiver = dotted_name(func.value) or ""
    return func.attr.value == "run" and receiver.rsplit(".", 1)[-1] == "reactor"


def _events_set_by(callback: cst.BaseExpression) -> set[str]:
    """The names whose ``.set()`` a done-callback calls: ``lambda _: done.set()``,
    ``done.set`` passed as is (wrapped in ``lambda t: ...`` or not)."""
    if isinstance(callback, cst.Lambda):
        callback = callback.body
    if isinstance(callback, cst.Call):
        callback = callback.func
    if (
        isinstance(callback, cst.Attribute)
        and callback.attr.value == "set"
        and isinstance(callback.value, cst.Name)
    ):
        return {callback.value.value}
    return set()


def _assigned_names(statements: Sequence[cst.BaseStatement]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        found |= _names(target.target)
    return found


def _bound_member(node: cst.CSTNode, is_alias: Callable[[cst.CSTNode], bool]) -> bool:
    """``f.write`` passed as a callback (a plain value such as ``p.pid`` is not one)."""
    return isinstance(node, cst.Attribute) and is_alias(node.value) and (
        node.attr.value not in specs.VALUE_ATTRIBUTES
    )


def _exits_process(node: cst.Raise) -> bool:
    """``raise SystemExit(1)``: the process ends, taking everything it holds with it."""
    exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
    return isinstance(exc, cst.Name) and exc.value in ("SystemExit", "KeyboardInterrupt")


def _name_nodes(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.append(current)
        stack.extend(children(current))
    return found


_PLATFORM_NAMES = frozenset({"sys.platform", "os.name", "platform.system", "sys.version_info"})


def _is_platform_test(test: cst.BaseExpression) -> bool:
    """``if not IS_CYGWIN:``, ``if sys.platform == "win32":``: the branch depends on where the
    program runs, not on the object; a release there is how that platform releases it."""
    stack: list[cst.CSTNode] = [test]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and len(current.value) > 2 and (
            current.value.isupper()
        ):
            return True
        if isinstance(current, cst.Attribute) and dotted_name(current) in _PLATFORM_NAMES:
            return True
        stack.extend(children(current))
    return False


def _names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        found: set[str] = set()
        for element in target.elements:
            found |= _names(element.value)
        return found
    if isinstance(target, cst.StarredElement):
        return _names(target.value)
    return set()


def _is_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.value not in ("0",)
    return False


