"""A read-only, iterative traversal of a libcst tree that drives many visitors at once.

libcst's own ``CSTVisitor`` rebuilds every node on the way (about the cost of the parse again,
see shared/libcst-costs.md); reading the dataclass fields directly costs a quarter of that.
The walk is iterative so that deeply nested code cannot overflow the stack here; analyses that
recurse are protected by the engine's deep-stack fallback.

Every libcst node class has ``ABCMeta`` as its metaclass, so ``isinstance(value, CSTNode)``
runs Python code for every miss; this is the hottest loop of leaklint, so it tells nodes and
sequences apart by a dictionary of value types instead.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Callable, Literal, Optional

import libcst as cst

# Fields that only ever hold whitespace, comments, punctuation or parentheses. Nothing a rule
# reasons about lives there, and skipping them halves the number of nodes visited.
_TRIVIA_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "header",
        "footer",
        "leading_lines",
        "lines_after_decorators",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "colon",
        "equal",
        "dot",
        "whitespace",
    }
)

_FIELDS_BY_TYPE: dict[type, tuple[str, ...]] = {}

# What a field value is, by its exact type: a node, a sequence that may hold nodes, or neither
# (None, str, MaybeSentinel, ...). Filled on first sight of each type.
_OTHER, _NODE, _SEQUENCE = 0, 1, 2
_KIND_BY_TYPE: dict[type, int] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    fields = _FIELDS_BY_TYPE.get(node_type)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")
            and not _text_only(f.type)
        )
        _FIELDS_BY_TYPE[node_type] = fields
    return fields


# Field types that never hold a node: the text of a name, a number or a string (``Name.value``),
# a flag. Leaving them out makes the most common nodes childless at no cost per node.
_TEXT_TYPES = (str, bool, int, "str", "bool", "int")


def _text_only(field_type: object) -> bool:
    return field_type in _TEXT_TYPES or getattr(field_type, "__origin__", None) is Literal


def _kind(value_type: type) -> int:
    if issubclass(value_type, cst.CSTNode):
        kind = _NODE
    elif issubclass(value_type, (tuple, list)):
        kind = _SEQUENCE
    else:
        kind = _OTHER
    _KIND_BY_TYPE[value_type] = kind
    return kind


def child_list(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The meaningful child nodes of ``node``, in field order, as a new list."""
    found: list[cst.CSTNode] = []
    kinds = _KIND_BY_TYPE
    fields = _FIELDS_BY_TYPE.get(type(node)) or _child_fields(type(node))
    for name in fields:
        value = getattr(node, name)
        kind = kinds.get(type(value))
        if kind is None:
            kind = _kind(type(value))
        if kind == _NODE:
            found.append(value)
        elif kind == _SEQUENCE:
            for item in value:
                item_kind = kinds.get(type(item))
                if item_kind is None:
                    item_kind = _kind(type(item))
                if item_kind == _NODE:
                    found.append(item)
    return found


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The meaningful child nodes of ``node``, in field order."""
    return iter(child_list(node))


def iter_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below and including ``root``, parents before children (pre-order)."""
    stack = [root]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        yield node
        found = child_list(node)
        if found:
            found.reverse()
            extend(found)


def iter_frame(root: cst.CSTNode, frames: frozenset[type]) -> Iterator[cst.CSTNode]:
    """Every node below and including ``root`` in pre-order, without entering the nodes of
    the exact types ``frames`` below it (they are yielded, their insides are not): the nodes
    of one function's frame, when ``frames`` holds the nodes that open one."""
    stack = [root]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        yield node
        if node is not root and type(node) in frames:
            continue
        found = child_list(node)
        if found:
            found.reverse()
            extend(found)


Parented = tuple["cst.CSTNode", Optional["cst.CSTNode"], Optional["cst.CSTNode"]]


def iter_with_parents(
    root: cst.CSTNode, transparent: frozenset[type] = frozenset()
) -> Iterator[Parented]:
    """Every node below and including ``root`` with its parent and grandparent (None above
    ``root``), depth first, last child first. A node of the exact types ``transparent`` is no
    one's parent: with ``Arg`` there, the value of ``len(data)`` has the call as its parent."""
    stack: list[Parented] = [(root, None, None)]
    while stack:
        node, parent, grandparent = stack.pop()
        yield node, parent, grandparent
        if type(node) in transparent:
            stack.extend([(child, parent, grandparent) for child in child_list(node)])
        else:
            stack.extend([(child, node, parent) for child in child_list(node)])


# Nodes that hold statements or are statements: what a statement-level walk descends into.
@functools.cache
def _statement_level() -> tuple[type, ...]:
    return (
        cst.Module,
        cst.BaseStatement,
        cst.BaseSmallStatement,
        cst.BaseSuite,
        cst.Else,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
        cst.MatchCase,
    )


_IS_STATEMENT_LEVEL: dict[type, bool] = {}


def iter_statements(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every statement below ``root`` (compound and small: ``Import``, ``Assign``, ``If``,
    ...) and the blocks holding them, in pre-order, without entering any expression. Several
    times cheaper than ``iter_nodes`` for facts that only statements carry (imports, ``global``
    declarations, definitions)."""
    known = _IS_STATEMENT_LEVEL
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        found = []
        for child in child_list(node):
            wanted = known.get(type(child))
            if wanted is None:
                wanted = known[type(child)] = isinstance(child, _statement_level())
            if wanted:
                found.append(child)
        found.reverse()
        stack.extend(found)


Callback = Callable[["cst.CSTNode"], None]


def walk(
    root: cst.CSTNode,
    visitors: Mapping[type, list[Callback]],
    leavers: Mapping[type, list[Callback]],
) -> None:
    """Call ``visitors[type(node)]`` on the way down and ``leavers[type(node)]`` on the way up,
    in the order of the file."""
    leave_marker = object()
    stack: list[object] = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    no_callbacks: list[Callback] = []
    entered: list[cst.CSTNode] = []  # the nodes whose children are being walked
    while stack:
        item = pop()
        if item is leave_marker:
            node = entered.pop()
            for callback in leavers.get(type(node), no_callbacks):
                callback(node)
            continue
        node = item  # type: ignore[assignment]
        for callback in visitors.get(type(node), no_callbacks):
            callback(node)
        found = child_list(node)
        if not found:  # a leaf: leave it at once
            for callback in leavers.get(type(node), no_callbacks):
                callback(node)
            continue
        entered.append(node)
        push(leave_marker)
        extend(reversed(found))
