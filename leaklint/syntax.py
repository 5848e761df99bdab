"""Small facts about libcst syntax that several modules need (one place for each)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Optional, Union

import libcst as cst


@functools.cache
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """The source text of ``node`` (without the module's own formatting defaults)."""
    return _empty_module().code_for_node(node)


def is_docstring(statement: cst.CSTNode) -> bool:
    """A statement that is a lone string literal: a module's, class's or function's docstring
    when it comes first."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def target_names(target: cst.CSTNode) -> Iterator[str]:
    """Plain names bound by an assignment target (``a``, ``a, (b, *c)``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def parameter_names(parameters: cst.Parameters) -> list[str]:
    """Every name a signature binds, in order: ``a, /, b, *args, c, **kwargs``."""
    names = [p.name.value for p in (*parameters.posonly_params, *parameters.params)]
    if isinstance(parameters.star_arg, cst.Param):
        names.append(parameters.star_arg.name.value)
    names.extend(p.name.value for p in parameters.kwonly_params)
    if parameters.star_kwarg is not None:
        names.append(parameters.star_kwarg.name.value)
    return names


def last_name(node: cst.CSTNode) -> Optional[str]:
    """The last identifier of a name or attribute chain: ``f`` of ``f`` and of ``a.b.f``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def top_level_bindings(
    module: cst.Module,
) -> Iterator[tuple[Union[cst.Assign, cst.AnnAssign], str, cst.BaseExpression]]:
    """Each plain name the module's top-level simple statements bind to a value, with the
    statement that binds it: every name target of ``x = ...`` and ``a = b = ...``, and
    ``x: T = ...`` (not a bare annotation, which binds nothing)."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        yield small, target.target.value, small.value
            elif (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.target, cst.Name)
                and small.value is not None
            ):
                yield small, small.target.value, small.value


def held_values(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """``expr`` and, if it is a tuple, list, set or dict display, every value it holds (at any
    depth): what keeping ``expr`` keeps."""
    yield expr
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        for element in expr.elements:
            yield from held_values(element.value)
    elif isinstance(expr, cst.Dict):
        for item in expr.elements:
            if isinstance(item, cst.DictElement):
                yield from held_values(item.value)
