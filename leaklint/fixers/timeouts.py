"""LK305's fix: give the call a timeout (``timeout=10`` by default, the rule's ``fix-timeout``
option). It is unsafe: a call that legitimately takes longer than that now raises.

A missing ``timeout=`` is added as the last argument (on a line of its own when the call puts
each argument on one); ``timeout=None``, a ``None`` in a ``(connect, read)`` tuple and
``httpx.Timeout(None)`` get the number instead of ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import libcst as cst

from leaklint.analysis.timeouts import MissingTimeout, Unbounded
from leaklint.file_context import FileContext
from leaklint.fixers.source import node_edit
from leaklint.model import Applicability, Edit, Fix


def seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def timeout_fix(
    context: FileContext, missing: MissingTimeout, seconds: float, indents: Sequence[str]
) -> Optional[Fix]:
    """The fix of ``missing``; ``indents`` are the indentation of its statement."""
    call = missing.call
    value = seconds_text(seconds)
    given = next(
        (arg for arg in call.args if arg.keyword is not None and arg.keyword.value == "timeout"),
        None,
    )
    edits: list[Optional[Edit]]
    if given is not None:
        edits = [node_edit(context, none, value, indents) for none in _nones(given.value)]
    elif missing.why is Unbounded.ABSENT:
        rewritten = call.with_changes(args=_with_timeout(call, value))
        edits = [node_edit(context, call, rewritten, indents)]
    else:
        edits = []
    if not edits or any(edit is None for edit in edits):
        return None
    return Fix(
        f"pass `timeout={value}` (unsafe: a call that takes longer now raises)",
        tuple(edit for edit in edits if edit is not None),
        Applicability.UNSAFE,
    )


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _nones(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The ``None``s that make a given timeout unbounded."""
    if _is_none(value):
        return [value]
    if isinstance(value, cst.Tuple):
        return [e.value for e in value.elements if isinstance(e, cst.Element) and _is_none(e.value)]
    if isinstance(value, cst.Call) and len(value.args) == 1 and _is_none(value.args[0].value):
        return [value.args[0].value]  # httpx.Timeout(None)
    return []


def _with_timeout(call: cst.Call, value: str) -> Sequence[cst.Arg]:
    """The call's arguments and ``timeout=value`` after them, laid out like the others."""
    added = cst.Arg(
        value=cst.parse_expression(value),
        keyword=cst.Name("timeout"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    if not args:
        return [added]
    last = args[-1]
    if not isinstance(last.comma, cst.Comma):
        return [*args[:-1], last.with_changes(comma=cst.Comma(
            whitespace_after=cst.SimpleWhitespace(" "))), added]
    # A trailing comma: the arguments are one a line; the new one goes on a line of its own.
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        separator = args[-2].comma
    else:
        separator = cst.Comma(whitespace_after=call.whitespace_before_args)
    return [*args[:-1], last.with_changes(comma=separator), added.with_changes(comma=last.comma)]
