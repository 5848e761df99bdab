"""Everything known about one file while it is checked, and the shared analyses of it."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import libcst as cst

from leaklint.positions import Positions, resolve_positions

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

AnalysisT = TypeVar("AnalysisT", bound="Analysis")


class Analysis:
    """A fact about a whole file that several rules read (imports, ownership, containers, ...).

    Subclasses compute in ``__init__``; the context builds each analysis at most once per file,
    on first request, so a file that no rule asks about pays nothing for it.
    """

    def __init__(self, context: FileContext) -> None:
        self.context = context

    def release(self) -> None:
        """Break the reference cycles of this analysis's own tables, if it has any, once the
        file is done (see :meth:`FileContext.release`)."""


class FileContext:
    def __init__(self, path: str, source: str, module: cst.Module) -> None:
        self.path = path
        self.source = source
        self.module = module
        self._analyses: dict[type, Any] = {}
        self._positions: Optional[Positions] = None
        self._all_positions = False
        self._searched: dict[cst.CSTNode, Optional[CodeRange]] = {}

    def analysis(self, kind: type[AnalysisT]) -> AnalysisT:
        found = self._analyses.get(kind)
        if found is None:
            found = kind(self)
            self._analyses[kind] = found
        return found

    def release(self) -> None:
        """Let reference counting free the file's tree and tables as soon as the check is done.

        Each analysis refers to the context that holds it, and the scope model links scopes
        both ways: left as they are, these cycles keep every node of the tree alive until the
        cyclic collector walks them all (about 5% of a check's CPU on the stdlib)."""
        for found in self._analyses.values():
            found.release()
        self._analyses.clear()

    def position(self, node: cst.CSTNode) -> CodeRange:
        """The source range of ``node``: found by searching the source for the node's code when
        that occurs once in the file, else by a code generation pass (costly: about a parse),
        which stops at the node asked for first; a second one (for a node further on) covers
        the whole file."""
        positions = self._positions
        if positions is not None and node in positions:
            return positions[node]
        found = self._found_by_search(node)
        if found is not None:
            return found
        if positions is None or not self._all_positions:
            first = positions is None
            positions = self._positions = self._resolve(node if first else None)
            self._all_positions = not first or node not in positions
        return positions[node]

    def place(self, nodes: Iterable[cst.CSTNode]) -> None:
        """Prepare the positions of ``nodes`` (a file's findings): when the search cannot place
        more than one of them, one code generation pass over the whole file places them all,
        rather than one pass up to the first and another over the rest."""
        unplaced = {id(node) for node in nodes if self._found_by_search(node) is None}
        if len(unplaced) > 1 and not self._all_positions:
            self._positions = self._resolve(None)
            self._all_positions = True

    def _found_by_search(self, node: cst.CSTNode) -> Optional[CodeRange]:
        """The range of an expression or a simple statement whose code occurs exactly once in
        the source (or once in the code around it, see :meth:`_found_within_context`): that one
        occurrence is the node (libcst reproduces the source exactly). An expression's own
        parentheses and a statement's semicolon are left out, as libcst's positions leave them
        out."""
        if node in self._searched:
            return self._searched[node]
        found: Optional[CodeRange] = None
        if isinstance(node, _searched()) and "\r" not in self.source:
            try:
                code = self.module.code_for_node(_as_positioned(node))
            except cst.CSTValidationError:  # `()`: an empty tuple is its parentheses
                code = ""
            start = _only_occurrence(self.source, code, 0, len(self.source))
            if start is None and code:
                start = self._found_within_context(node, code)
            if start is not None:
                found = _code_range(self.source, start, code)
        self._searched[node] = found
        return found

    def _found_within_context(self, node: cst.CSTNode, code: str) -> Optional[int]:
        """Where ``code`` (of ``node``, occurring more than once in the file) starts: the code
        of the innermost expression or simple statement around ``node`` that occurs once in
        the file (``data = f.read()`` around ``f.read()``), if ``code`` occurs once in it.
        Compound statements and blocks are not tried: their code, made apart from the file,
        lacks the indentation of their lines."""
        from leaklint.analysis.scopes import Scopes  # the scope model is built on this module

        parents = self.analysis(Scopes).parents
        around = parents.get(node)
        while around is not None and not isinstance(around, _not_inline()):
            try:
                outer = self.module.code_for_node(around)
            except Exception:  # a part that only its parent can write (a `Param`)
                return None
            start = _only_occurrence(self.source, outer, 0, len(self.source))
            if start is not None:
                return _only_occurrence(self.source, code, start, start + len(outer))
            around = parents.get(around)
        return None

    def _resolve(self, stop_at: Optional[cst.CSTNode]) -> Positions:
        try:
            return resolve_positions(self.module, stop_at)
        except Exception as exc:
            # libcst's position pass turns a RecursionError deep in code generation into a
            # KeyError; surface it as what it is so the engine retries on a deep stack.
            if _caused_by_recursion(exc):
                raise RecursionError("position computation nested too deeply") from None
            raise

    def code_of(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


@functools.cache
def _searched() -> tuple[type, ...]:
    """Nodes placed by searching the source for their code (see ``_found_by_search``). A
    function, not a module constant: libcst is imported only when a check needs it."""
    return (cst.BaseExpression, cst.BaseSmallStatement)


def _as_positioned(node: cst.CSTNode) -> cst.CSTNode:
    """The node as libcst's positions cover it: without its own parentheses (an expression)
    or its semicolon (a simple statement)."""
    if getattr(node, "lpar", ()):
        return node.with_changes(lpar=(), rpar=())
    if isinstance(getattr(node, "semicolon", None), cst.Semicolon):
        return node.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return node


@functools.cache
def _not_inline() -> tuple[type, ...]:
    """Nodes whose code, made apart from the file, may differ from its text (indentation)."""
    return (cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.BaseSuite, cst.Module)


def _only_occurrence(text: str, code: str, start: int, end: int) -> Optional[int]:
    """Where ``code`` starts in ``text[start:end]`` if it occurs there exactly once."""
    if not code:
        return None
    found = text.find(code, start, end)
    if found < 0 or text.find(code, found + 1, end) >= 0:
        return None
    return found


def _code_range(source: str, start: int, code: str) -> CodeRange:
    from libcst.metadata import CodePosition, CodeRange

    line = source.count("\n", 0, start) + 1
    column = start - (source.rfind("\n", 0, start) + 1)
    breaks = code.count("\n")
    if breaks:
        end = CodePosition(line + breaks, len(code) - (code.rfind("\n") + 1))
    else:
        end = CodePosition(line, column + len(code))
    return CodeRange(CodePosition(line, column), end)


def _caused_by_recursion(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__context__ or current.__cause__
    return False
