"""LK206's fix: a mutable default becomes ``None`` and the function makes a new container
on each call that does not pass one::

    def collect(row, seen=None):
        if seen is None:
            seen = []

It is unsafe: callers that relied on the shared container (a deliberate memo, a registry)
change behaviour. Only defaults whose value a new evaluation reproduces are rewritten: literal
containers of constants and calls of container types with constant arguments
(``defaultdict(list)``); ``def f(x=REGISTRY)`` is not. An annotation ``list[int]`` becomes
``Optional[list[int]]``.
"""

from __future__ import annotations

import functools
from typing import Optional

import libcst as cst

from leaklint.file_context import FileContext
from leaklint.fixers.names import imported_name
from leaklint.fixers.source import (
    StatementRun,
    indentation,
    node_edit,
    path_from_module,
    statements_code,
)
from leaklint.model import Applicability, Edit, Fix
from leaklint.syntax import is_docstring
from leaklint.walker import iter_nodes

_CONSTANT_NAMES = frozenset({"None", "True", "False"})
_TYPE_NAMES = frozenset({"list", "dict", "set", "int", "str", "float", "tuple", "bytes"})


@functools.cache
def _literals() -> tuple[type, ...]:
    return (
        cst.List, cst.Dict, cst.Set, cst.Tuple, cst.Element, cst.StarredElement, cst.DictElement,
        cst.StarredDictElement, cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float,
        cst.Imaginary, cst.UnaryOperation, cst.BaseUnaryOp, cst.Comma, cst.LeftSquareBracket,
        cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.LeftParen,
        cst.RightParen, cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.Comment,
        cst.Newline, cst.TrailingWhitespace,
    )


def none_default_fix(
    context: FileContext, function: cst.FunctionDef, param: cst.Param
) -> Optional[Fix]:
    default = param.default
    body = function.body
    if default is None or not _reproducible(default) or not isinstance(body, cst.IndentedBlock):
        return None
    name = param.name.value
    statements = list(body.body)
    path = path_from_module(context.module, function, statements[0])
    if path is None:
        return None
    outer = indentation(context.module, path[: path.index(function)])
    default_edit = node_edit(context, default, "None", outer)
    if default_edit is None:
        return None
    make = cst.If(
        test=cst.Comparison(
            cst.Name(name), [cst.ComparisonTarget(cst.Is(), cst.Name("None"))]
        ),
        body=cst.IndentedBlock(
            [cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], default)])]
        ),
    )
    first = 1 if is_docstring(statements[0]) else 0
    if first < len(statements):
        run = StatementRun(context, [statements[first]], path[:-1])
        insert = run.insert_before([make])
    else:
        run = StatementRun(context, [statements[-1]], path[:-1])
        insert = run.insert_after(run.code([make]))
    edits: list[Optional[Edit]] = [default_edit, insert]
    if param.annotation is not None:
        edits.extend(_optional_annotation(context, param.annotation.annotation, outer))
    if any(edit is None for edit in edits):
        return None
    return Fix(
        f"default `{name}` to None and make a new one in each call (unsafe: callers may rely "
        "on the shared default)",
        tuple(edit for edit in edits if edit is not None),
        Applicability.UNSAFE,
    )


def _reproducible(default: cst.BaseExpression) -> bool:
    """Whether evaluating the default again in each call gives what the `def` gave once."""
    if isinstance(default, cst.Call):
        if default.lpar or not isinstance(default.func, (cst.Name, cst.Attribute)):
            return False
        return all(
            arg.keyword is None and not arg.star and (
                _constant(arg.value)
                or (isinstance(arg.value, cst.Name) and arg.value.value in _TYPE_NAMES)
            )
            for arg in default.args
        )
    return not default.lpar and _constant(default)


def _constant(node: cst.BaseExpression) -> bool:
    return all(
        isinstance(inner, _literals())
        or (isinstance(inner, cst.Name) and inner.value in _CONSTANT_NAMES)
        for inner in iter_nodes(node)
    )



def _optional_annotation(
    context: FileContext, annotation: cst.BaseExpression, indents: list[str]
) -> list[Optional[Edit]]:
    text = statements_code(context.module, [annotation], indents)
    if "Optional" in text or "None" in text:
        return []
    if isinstance(annotation, (cst.SimpleString, cst.ConcatenatedString)):
        return [None]  # a quoted annotation: leave the fix out rather than guess
    optional = imported_name(context, "typing", "Optional")
    if optional is None:
        return [None]
    return [node_edit(context, annotation, f"{optional.text}[{text}]", indents), optional.edit]
