"""Where a static finding's line sits in its source: the statement that holds it, the loop it
starts, the object it names. Used to decide whether runtime evidence "points at the line", and by
the harness to find the object a growth rule talks about (stdlib ``ast`` only: the child process
stays light)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

Span = tuple[int, int]


@dataclass(frozen=True)
class SourceMap:
    tree: ast.Module

    @classmethod
    def parse(cls, text: str) -> Optional[SourceMap]:
        try:
            return cls(ast.parse(text))
        except (SyntaxError, ValueError):
            return None

    def statement_span(self, line: int) -> Span:
        """The lines of the innermost simple statement on ``line``; for a compound statement
        (``with``, ``for``, ``def``), its header only - evidence in its body is another line."""
        best: Span = (line, line)
        best_size = None
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.stmt):
                continue
            start, end = _header_span(node)
            if start <= line <= end:
                size = end - start
                if best_size is None or size <= best_size:
                    best, best_size = (start, end), size
        return best

    def loop_span(self, line: int) -> Span:
        """The whole ``while`` (header and body) that starts on ``line``."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.While) and node.lineno == line:
                return node.lineno, node.end_lineno or node.lineno
        return self.statement_span(line)

    def function_span(self, line: int) -> Span:
        """The ``def`` (with its decorators) or ``lambda`` on ``line``."""
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                if first <= line <= node.lineno:
                    return first, node.lineno
        return line, line

    def assigned_name(self, line: int) -> Optional[str]:
        """``NAME`` or ``Class.NAME`` bound by the assignment on ``line`` (module/class level)."""
        for owner, body in self._scopes():
            for node in body:
                if node.lineno <= line <= (node.end_lineno or node.lineno):
                    targets: list[ast.expr] = []
                    if isinstance(node, ast.Assign):
                        targets = node.targets
                    elif isinstance(node, ast.AnnAssign):
                        targets = [node.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            return f"{owner}.{target.id}" if owner else target.id
        return None

    def decorated_function(self, line: int) -> Optional[tuple[str, bool]]:
        """The qualified name of the function decorated on ``line``, and whether it is a method."""
        for owner, body in self._scopes():
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    d.lineno <= line <= (d.end_lineno or d.lineno) for d in node.decorator_list
                ):
                    return (f"{owner}.{node.name}" if owner else node.name), bool(owner)
        return None

    def function_with_default(self, line: int) -> Optional[str]:
        """The qualified name of the function whose default value is on ``line``."""
        for owner, body in self._scopes():
            for node in body:
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
                if any(d.lineno <= line <= (d.end_lineno or d.lineno) for d in defaults):
                    return f"{owner}.{node.name}" if owner else node.name
        return None

    def _scopes(self) -> list[tuple[str, list[ast.stmt]]]:
        scopes: list[tuple[str, list[ast.stmt]]] = [("", self.tree.body)]
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                scopes.append((node.name, node.body))
        return scopes


def _header_span(node: ast.stmt) -> Span:
    start = node.lineno
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        start = min(start, *(d.lineno for d in decorators))
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return start, max(node.lineno, body[0].lineno - 1)
    return start, node.end_lineno or node.lineno
