"""Text edits from libcst nodes: where a statement's text is in the file, and the code of new
statements at the indentation of the block they go in.

libcst writes a statement's indentation from the blocks around it, so code generated for a
statement alone starts at column 0. Here the code is generated with the indentation of the
enclosing blocks, which gives exactly the file's text for an unchanged statement: every fix
checks that before it offers an edit, so a wrong position can never corrupt a file.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Optional, Union

import libcst as cst

from leaklint.file_context import Analysis, FileContext
from leaklint.model import Edit

# Python's (and libcst's) line breaks; str.splitlines also splits on \f, \v and others.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class TextLines:
    """1-based (line, column) positions and character offsets of one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def offset(self, line: int, column: int) -> int:
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def edit(self, start: int, end: int, replacement: str) -> Edit:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Edit(line, column, end_line, end_column, replacement)


class SourceLines(Analysis, TextLines):
    """The checked file's line starts, built once per file for all the fixes of its findings."""

    def __init__(self, context: FileContext) -> None:
        Analysis.__init__(self, context)
        TextLines.__init__(self, context.source)


def lines_of(context: FileContext) -> SourceLines:
    return context.analysis(SourceLines)


def path_to(root: cst.CSTNode, target: cst.CSTNode) -> Optional[list[cst.CSTNode]]:
    """The nodes from ``root`` down to ``target`` (both included), or None."""
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    path: list[cst.CSTNode] = []
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        path.append(node)
        if node is target:
            return path
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return None


@functools.cache
def _containers() -> tuple[type, ...]:
    return (
        cst.Module,
        cst.BaseCompoundStatement,
        cst.BaseSuite,
        cst.Else,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
    )


def path_from_module(
    module: cst.Module, scope: cst.CSTNode, target: cst.CSTNode
) -> Optional[list[cst.CSTNode]]:
    """The nodes from the module down to ``target`` inside ``scope`` (a statement): to
    ``scope`` through statements and blocks only, which is cheap, then through everything."""
    stack: list[tuple[cst.CSTNode, int]] = [(module, 0)]
    path: list[cst.CSTNode] = []
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        if node is scope:
            below = path_to(scope, target)
            return None if below is None else [*path, *below]
        path.append(node)
        stack.extend(
            (child, depth + 1)
            for child in reversed(node.children)
            if isinstance(child, _containers()) or child is scope
        )
    return None


def indentation(module: cst.Module, path: Iterable[cst.CSTNode]) -> list[str]:
    """The indent tokens libcst writes before a statement whose ancestors are ``path``."""
    return [
        module.default_indent if node.indent is None else node.indent
        for node in path
        if isinstance(node, cst.IndentedBlock)
    ]


def statements_code(
    module: cst.Module, statements: Sequence[cst.CSTNode], indents: Sequence[str]
) -> str:
    from libcst._nodes.internal import CodegenState  # libcst is imported on first use

    state = CodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        indent_tokens=list(indents),
    )
    for statement in statements:
        statement._codegen(state)
    return "".join(state.tokens)


def without_leading_lines(statement: cst.CSTNode) -> cst.CSTNode:
    """The statement without the comments and blank lines above it (compound statements and
    statement lines have them)."""
    if hasattr(statement, "leading_lines"):
        return statement.with_changes(leading_lines=())
    return statement


class StatementRun:
    """Consecutive statements of one block and where their text is in the file: from the first
    one's own line (its leading comments and blank lines stay where they are) to the end of
    the last one, its trailing newline included."""

    def __init__(
        self,
        context: FileContext,
        statements: Sequence[cst.CSTNode],
        path: Sequence[cst.CSTNode],
    ) -> None:
        self.context = context
        self.statements = list(statements)
        self.indents = indentation(context.module, path)
        first = self.statements[0]
        self.text = statements_code(
            context.module, [without_leading_lines(first), *self.statements[1:]], self.indents
        )
        lines = lines_of(context)
        self.start = lines.offset(context.position(first).start.line, 1)
        self.end = self.start + len(self.text)
        self.leading = self._leading_text(first)

    def _leading_text(self, first: cst.CSTNode) -> str:
        full = statements_code(self.context.module, [first], self.indents)
        alone = statements_code(self.context.module, [without_leading_lines(first)], self.indents)
        return full[: len(full) - len(alone)]

    @property
    def matches(self) -> bool:
        """Whether the generated text is the file's text at the computed place."""
        source = self.context.source
        return (
            source[self.start : self.end] == self.text
            and source[self.start - len(self.leading) : self.start] == self.leading
        )

    def code(self, statements: Sequence[cst.CSTNode]) -> str:
        """New statements' code at this run's indentation."""
        return statements_code(self.context.module, statements, self.indents)

    def replace_with(self, statements: Sequence[cst.CSTNode]) -> Optional[Edit]:
        if not self.matches:
            return None
        return lines_of(self.context).edit(self.start, self.end, self.code(statements))

    def insert_before(self, statements: Sequence[cst.CSTNode]) -> Optional[Edit]:
        """Insert before the first statement's leading comments and blank lines."""
        return self.insert_text_before(self.code(statements))

    def insert_text_before(self, text: str, above_comments: bool = True) -> Optional[Edit]:
        """Insert before the first statement: above its leading comments and blank lines, or
        right above its own line."""
        if not self.matches:
            return None
        at = self.start - len(self.leading) if above_comments else self.start
        return lines_of(self.context).edit(at, at, text)

    def insert_after(self, text: str) -> Optional[Edit]:
        if not self.matches:
            return None
        return lines_of(self.context).edit(self.end, self.end, text)


def node_edit(
    context: FileContext,
    node: cst.CSTNode,
    replacement: Union[str, cst.CSTNode],
    indents: Sequence[str] = (),
) -> Optional[Edit]:
    """Replace the text of an expression. Its code depends on the indentation around it only
    where it spans lines (a bracket's continuation lines may be written relative to it), so
    ``indents`` are those of the statement it is in (:func:`indentation`)."""
    span = context.position(node)
    lines = lines_of(context)
    start = lines.offset(span.start.line, span.start.column + 1)
    end = lines.offset(span.end.line, span.end.column + 1)
    if context.source[start:end] != statements_code(context.module, [node], indents):
        return None
    if not isinstance(replacement, str):
        replacement = statements_code(context.module, [replacement], indents)
    return lines.edit(start, end, replacement)
