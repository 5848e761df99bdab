"""The values of the ownership analysis: fates, how a leak escapes, and the resource record."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Union

import libcst as cst

from leaklint.analysis.specs import ResourceSpec

ScopeNode = Union["cst.Module", "cst.FunctionDef", "cst.Lambda", "cst.ClassDef"]


class Fate(Enum):
    """What became of a created object by the time its scope ends."""

    DROPPED = "dropped"  # never bound: open(p).read(), return open(p).read()
    LEAKED = "leaked"  # bound, and some normal path leaves the scope with it open
    RELEASED_ON_NORMAL_PATH_ONLY = "released on the normal path only"  # a call can raise first
    RELEASED = "released"  # released on every path
    MANAGED = "managed"  # with / closing() / ExitStack
    HANDED_OFF = "handed off"  # returned, yielded, stored, given to an owner
    INACTIVE = "inactive"  # needs activation (Thread.start) that never happens

    @property
    def leaks(self) -> bool:
        return self in (Fate.DROPPED, Fate.LEAKED, Fate.RELEASED_ON_NORMAL_PATH_ONLY)


class Escape(Enum):
    """The path on which a leaked object leaves its scope unreleased (for messages)."""

    NONE = "none"
    INLINE = "inline"  # used in an expression and dropped: open(p).read()
    PASSED = "passed"  # given to a function that borrows it: json.load(open(p))
    NEVER_RELEASED = "never released"
    EARLY_RETURN = "early return"
    RAISE = "raise"
    REBOUND = "rebound"
    LOOP = "loop"  # rebound on the next iteration of a loop
    SOME_PATHS = "some paths"
    WITH_DOES_NOT_RELEASE = "with does not release"
    EXCEPTION = "exception"  # a call that can raise before the release


@dataclass(frozen=True)
class Resource:
    """One leakable object created in a scope, and its fate there."""

    call: cst.Call  # the creating call: where findings are reported
    spec: ResourceSpec
    api: str  # how the call is written, for messages: "open", "socket.socket", "Path.open"
    label: Optional[str]  # the variable holding it, None if never bound
    fate: Fate
    escape: Escape
    scope: ScopeNode
    # The node the escape happens at: an early `return`, a `raise`, a rebinding assignment, the
    # call that can raise before the release (Escape.EXCEPTION), the borrowing call (PASSED).
    escape_node: Optional[cst.CSTNode] = None
    # The source text of the call that can raise before the release (Escape.EXCEPTION).
    risky_call: Optional[str] = None
    # Returned to the caller directly (``return f``): the scope is a factory of it.
    returned: bool = False
    # Attributes assigned on the object through a name (``t.daemon = True``): for the LK1 rules.
    attributes_set: frozenset[str] = frozenset()
    # Handed off (returned, stored) on the paths that do not raise: the fix for an exception
    # path is to release it in an `except` block, not in `finally`.
    kept_on_success: bool = False
    # Created only on Windows (in the body of `if sys.platform == "win32":`).
    windows_only: bool = False

    @property
    def started_inline(self) -> bool:
        """``Thread(...).start()``: started where it is created, its handle dropped."""
        node = self.escape_node
        return (
            self.label is None
            and isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "start"
            and node.func.value is self.call
        )

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def kind(self) -> object:
        return self.spec.kind
