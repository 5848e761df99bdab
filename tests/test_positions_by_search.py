"""Positions found by searching the source agree with libcst's own code generation pass."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider
from markers import FIXTURES

from leaklint.file_context import FileContext

FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))
# Nodes rules report on, and some with parentheses, operators and several lines.
_EXPRESSIONS = (cst.Call, cst.Attribute, cst.Subscript, cst.Lambda, cst.Dict, cst.List,
                cst.Tuple, cst.BinaryOperation, cst.Await, cst.Comparison, cst.Assign,
                cst.AnnAssign, cst.AugAssign, cst.Return, cst.Raise, cst.Expr)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_position_found_by_search_is_libcsts(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    context = FileContext(str(path), source, module)
    for node in expected:
        if isinstance(node, _EXPRESSIONS):
            found = context._found_by_search(node)
            assert found is None or found == expected[node], context.code_of(node)


def test_parenthesised_and_repeated_code() -> None:
    source = "x = ( open(p) ).read()\ny = open(p)\nz = f(\n    a,\n)\n"
    module = cst.parse_module(source)
    context = FileContext("t.py", source, module)
    calls = [node for node in MetadataWrapper(module, unsafe_skip_copy=True)
             .resolve(PositionProvider) if isinstance(node, cst.Call)]
    by_code = {context.code_of(call): call for call in calls}
    # `open(p)` occurs twice: it is found inside the code around it that occurs once.
    first = context._found_by_search(by_code["( open(p) )"])
    assert first is not None and (first.start.line, first.start.column) == (1, 6)
    assert context.position(by_code["( open(p) )"]).start.column == 6
    statements = [node for node in MetadataWrapper(module, unsafe_skip_copy=True)
                  .resolve(PositionProvider) if isinstance(node, cst.Assign)]
    found = [context._found_by_search(statement) for statement in statements]
    assert [(r.start.line, r.start.column, r.end.line) for r in found if r] == [
        (1, 0, 1), (2, 0, 2), (3, 0, 5)]
    spread = context._found_by_search(by_code["f(\n    a,\n)"])
    assert spread is not None
    assert (spread.start.line, spread.start.column, spread.end.line, spread.end.column) == (
        3, 4, 5, 1)


def test_statements_without_their_semicolon_and_inside_blocks() -> None:
    source = "a = 1;  b = g(\n    a)\nif a:\n    c: int = 3 ; return  a\n    raise E(a)\n"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    context = FileContext("t.py", source, module)
    statements = [node for node in expected if isinstance(node, cst.BaseSmallStatement)]
    assert len(statements) == 5
    for statement in statements:
        assert context._found_by_search(statement) == expected[statement]
