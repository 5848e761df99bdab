"""A read-only, iterative traversal of a libcst tree that drives many visitors at once.

libcst's own ``CSTVisitor`` rebuilds every node on the way (about the cost of the parse again,
see shared/libcst-costs.md); reading the dataclass fields directly costs a quarter of that.
The walk is iterative so that deeply nested code cannot overflow the stack here; analyses that
recurse are protected by the engine's deep-stack fallback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Callable

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


def _child_fields(node_type: type) -> tuple[str, ...]:
    fields = _FIELDS_BY_TYPE.get(node_type)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")
        )
        _FIELDS_BY_TYPE[node_type] = fields
    return fields


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The meaningful child nodes of ``node``, in field order."""
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def iter_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below and including ``root``, parents before children (pre-order)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(children(node))))


Callback = Callable[[cst.CSTNode], None]


def walk(
    root: cst.CSTNode,
    visitors: dict[type, list[Callback]],
    leavers: dict[type, list[Callback]],
    ancestors: list[cst.CSTNode],
) -> None:
    """Call ``visitors[type(node)]`` on the way down and ``leavers[type(node)]`` on the way up.

    ``ancestors`` is kept equal to the path from the root to the node being visited (the node
    itself excluded), so callbacks can look at their parents without a metadata provider.
    """
    _LEAVE = object()
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if item is _LEAVE:
            node = ancestors.pop()
            for callback in leavers.get(type(node), ()):
                callback(node)
            continue
        assert isinstance(item, cst.CSTNode)
        for callback in visitors.get(type(item), ()):
            callback(item)
        ancestors.append(item)
        stack.append(_LEAVE)
        stack.extend(reversed(list(children(item))))
