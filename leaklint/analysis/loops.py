"""Does a ``while True:`` loop ever end? Read by LK102 worker-loop-without-exit.

A loop written to run for ever is fine in the foreground; in a background worker it is the only
thing that decides when the worker ends. A loop can end in three ways we accept:

* an exit statement that leaves it: a ``break`` of this loop, a ``return``, a ``raise``, a call
  to ``sys.exit``/``os._exit``; or an enclosing ``try`` with ``except`` handlers, meaning the
  author ends the loop by an exception (closing the socket it reads, ``queue.Empty``);
* a stop signal it reads: ``Event.is_set()``/``.wait()``, or a flag named like one
  (``self._running``, ``self._stop``, ``closed``, ``shutdown_requested``...);
* for an ``async def`` loop that awaits: cancellation, if someone cancels the task (decided by
  the caller, see :mod:`leaklint.analysis.workers`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.walker import children

EXIT_FUNCTIONS = frozenset(
    {"sys.exit", "os._exit", "os.abort", "builtins.exit", "builtins.quit", "_thread.exit",
     "thread.exit"}
)
# Methods whose call reads an Event-like stop signal.
SIGNAL_METHODS = frozenset({"is_set", "isSet", "wait"})
# Names of flags that say whether a worker should keep going.
_FLAG_WORDS = re.compile(
    r"stop|running|closed|closing|shutdown|shutting|alive|quit|exit|finish|done|cancel|"
    r"terminat|abort|halt|active|keep_?going|should_?run|enabled|serving"
)


@functools.cache
def _scopes() -> tuple[type, ...]:
    return (cst.FunctionDef, cst.ClassDef, cst.Lambda)


@functools.cache
def _loops() -> tuple[type, ...]:
    return (cst.For, cst.While)


def is_endless(loop: cst.While) -> bool:
    """``while True:``, ``while 1:`` (any non-zero integer literal)."""
    test = loop.test
    if isinstance(test, cst.Name):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.evaluated_value != 0
    return False


def endless_loops(function: cst.FunctionDef) -> Iterator[tuple[cst.While, bool]]:
    """The endless loops that run in ``function``'s own frame, each with whether an enclosing
    ``try`` (inside the function) has ``except`` handlers that would end it."""
    stack: list[tuple[cst.CSTNode, bool]] = [(function.body, False)]
    while stack:
        node, guarded = stack.pop()
        if isinstance(node, cst.While) and is_endless(node):
            yield node, guarded
        handled = isinstance(node, cst.Try) and bool(node.handlers)
        for child in children(node):
            if isinstance(child, _scopes()):
                continue
            # Only the `try` body is protected by its handlers.
            stack.append((child, guarded or (handled and child is getattr(node, "body", None))))


def _own_nodes(loop: cst.While) -> Iterator[tuple[cst.CSTNode, int]]:
    """Nodes evaluated by the loop itself, with their depth of nested loops (0: this loop)."""
    stack: list[tuple[cst.CSTNode, int]] = [(loop.test, 0), (loop.body, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        inner = depth + 1 if isinstance(node, _loops()) else depth
        if isinstance(node, cst.Attribute):
            # `attr` is a Name node that names no variable.
            stack.append((node.value, inner))
            continue
        stack.extend((child, inner) for child in children(node) if not isinstance(child, _scopes()))


def has_exit(loop: cst.While, names: ImportNames) -> bool:
    for node, depth in _own_nodes(loop):
        if isinstance(node, (cst.Return, cst.Raise)):
            return True
        if isinstance(node, cst.Break) and depth == 0:
            return True
        if isinstance(node, cst.Call) and names.call_name(node) in EXIT_FUNCTIONS:
            return True
    return False


def _is_flag_name(identifier: str) -> bool:
    return bool(_FLAG_WORDS.search(identifier.lower()))


def reads_stop_signal(loop: cst.While) -> bool:
    called: set[int] = set()
    for node, _ in _own_nodes(loop):
        if isinstance(node, cst.Call):
            # A method or function called is an action, not a flag read (`self.stop()`).
            called.add(id(node.func))
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in SIGNAL_METHODS:
                return True
        elif isinstance(node, cst.Attribute) and id(node) not in called:
            if _is_flag_name(node.attr.value):
                return True
        elif isinstance(node, cst.Name) and id(node) not in called and _is_flag_name(node.value):
            return True
    return False


def awaits(loop: cst.While) -> bool:
    """Does the loop suspend (and so can be cancelled) on each round?"""
    return any(
        isinstance(node, cst.Await)
        or (isinstance(node, (cst.For, cst.With)) and node.asynchronous is not None)
        for node, _ in _own_nodes(loop)
    )


def endless_without_exit(
    function: cst.FunctionDef, names: ImportNames
) -> Sequence[tuple[cst.While, bool]]:
    """Endless loops of ``function`` with no exit and no stop signal, each with whether it
    awaits (and so would end if its task were cancelled)."""
    found = []
    for loop, guarded in endless_loops(function):
        if guarded or has_exit(loop, names) or reads_stop_signal(loop):
            continue
        found.append((loop, awaits(loop)))
    return found


def never_returns(function: cst.FunctionDef) -> bool:
    """Does ``function`` never return normally? Its body ends with ``raise``, or with an
    endless loop that has no ``break`` of its own and no ``return`` (it ends only by raising).
    A call to it ends the normal path of its caller."""
    if function.asynchronous is not None or not function.body.body:
        return False
    if any(isinstance(node, (cst.Return, cst.Yield)) for node in _frame_nodes(function.body)):
        return False
    last = function.body.body[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(small, cst.Raise) for small in last.body)
    if not (isinstance(last, cst.While) and is_endless(last)):
        return False
    return not any(
        isinstance(node, cst.Return) or (isinstance(node, cst.Break) and depth == 0)
        or isinstance(node, (cst.Yield, cst.Await))
        for node, depth in _own_nodes(last)
    )


def _frame_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Nodes evaluated in the frame of the function whose body is ``root``."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in children(node) if not isinstance(child, _scopes()))
