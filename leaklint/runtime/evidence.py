"""What the runtime must see to confirm a static finding: each rule declares it (its
``EVIDENCE``), ``leaklint confirm`` asks the finding's rule. Standard library only: the rules
import it, and the runtime stays light."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from leaklint.runtime.records import Kind


class Span(enum.Enum):
    """Which lines of the source around a finding's line a runtime record must point at."""

    STATEMENT = "statement"  # the statement on the line (any line of the same call)
    FUNCTION = "function"  # the `def` with its decorators, or the `lambda`, on the line
    LOOP = "loop"  # the whole `while` loop starting on the line
    # The statement on the line and the line itself: a decorator's finding names the line of
    # the decorator, while the object is made by the statement of the function under it.
    STATEMENT_AND_LINE = "statement and line"


# Bytes a kept closure or view must pin for the claim "keeps a large object alive".
LARGE_RETAINED_BYTES = 64 * 1024


class Growth(enum.Enum):
    """What ``leaklint confirm``'s growth probe measures after each call of ``main()``, for a
    rule whose leak is memory that stays reachable (see ``runtime/growth.py``)."""

    CONTAINER = "container"  # len() of the module/class container assigned on the line
    # Live instances of the class whose method is decorated on the line, and how many of them
    # `cache_clear()` releases (those were pinned by the cache).
    CACHED_METHOD = "cached-method"
    CACHE = "cache"  # entries of the unbounded cache decorated on the line
    DEFAULT = "default"  # len() of the mutable defaults of the function on the line
    REGISTRATIONS = "registrations"  # handlers/registrations made on the line, still attached
    LOGGERS = "loggers"  # loggers created on the line
    CLOSURE_CELLS = "closure-cells"  # bytes the cells of closures defined on the line retain
    # Bytes of the whole buffers that views allocated on the line keep (`.obj`/`.base`).
    VIEW_BUFFERS = "view-buffers"

    @property
    def retains(self) -> bool:
        """What the target holds after ``main()`` proves the claim, growing or not (the same
        input each call fills a cache once). Registrations and loggers must grow."""
        return self not in (Growth.REGISTRATIONS, Growth.LOGGERS)

    @property
    def min_bytes(self) -> int:
        """What the claim "keeps a large object alive" needs the target to hold."""
        large = (Growth.CLOSURE_CELLS, Growth.VIEW_BUFFERS)
        return LARGE_RETAINED_BYTES if self in large else 0


@dataclass(frozen=True)
class Evidence:
    # Records of these kinds confirm it; a record reported under the rule's code always does.
    kinds: tuple[Kind, ...] = ()
    span: Span = Span.STATEMENT
    # Only records reported under the rule's own code: a daemon thread left running proves
    # LK102's claim (a loop without exit), not LK101's (a thread never joined).
    own_code_only: bool = False
    # Kinds whose record also counts when its stack, not only where it was made, passes
    # through the span: a call blocked there.
    stack_kinds: tuple[Kind, ...] = ()
    # Only the record's stack counts, and any record of ``kinds``: something still running
    # inside the flagged loop.
    by_stack: bool = False
    # What the growth probe measures, for a rule about memory that stays reachable.
    growth: Optional[Growth] = None
