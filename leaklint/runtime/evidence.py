"""What the runtime must see to confirm a static finding: each rule declares it (its
``EVIDENCE``), ``leaklint confirm`` asks the finding's rule. Standard library only: the rules
import it, and the runtime stays light."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from leaklint.runtime.records import Kind


class Span(enum.Enum):
    """Which lines of the source around a finding's line a runtime record must point at."""

    STATEMENT = "statement"  # the statement on the line (any line of the same call)
    FUNCTION = "function"  # the `def` with its decorators, or the `lambda`, on the line
    LOOP = "loop"  # the whole `while` loop starting on the line
    # The statement on the line and the line itself: a decorator's finding names the line of
    # the decorator, while the object is made by the statement of the function under it.
    STATEMENT_AND_LINE = "statement and line"


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
