"""Small facts about libcst syntax that several modules need (one place for each)."""

from __future__ import annotations

import libcst as cst

_EMPTY_MODULE = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """The source text of ``node`` (without the module's own formatting defaults)."""
    return _EMPTY_MODULE.code_for_node(node)


def is_docstring(statement: cst.CSTNode) -> bool:
    """A statement that is a lone string literal: a module's, class's or function's docstring
    when it comes first."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
