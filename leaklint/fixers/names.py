"""Names a fix introduces: a fresh local, a module-level name, or an imported one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.context import FileContext
from leaklint.fixers.source import StatementRun
from leaklint.model import Edit
from leaklint.walker import iter_nodes


def names_in(node: cst.CSTNode) -> set[str]:
    """Every identifier used in ``node``, however it is used (read, bound, declared)."""
    return {inner.value for inner in iter_nodes(node) if isinstance(inner, cst.Name)}


def fresh_name(candidates: Sequence[str], taken: set[str]) -> str:
    """The first candidate not taken, else the first one numbered (``f_2``, ``f_3``...)."""
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{candidates[0]}_{number}" in taken:
        number += 1
    return f"{candidates[0]}_{number}"


def unused_in_text(name: str, source: str) -> bool:
    """Whether ``name`` appears nowhere in the file, not even in strings or comments (except
    as the module of ``from name import ...``, which binds nothing): a name added at module
    level can then shadow nothing."""
    pattern = rf"(?<![\w.])(?<!from ){re.escape(name)}\b"
    return re.search(pattern, source) is None


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def module_insertion_index(module: cst.Module) -> int:
    """Where module-level lines a fix adds go: after the last import of the import block at the
    top of the module (before the first ``def`` or ``class``), else after the docstring."""
    index = 0
    if module.body and _is_docstring(module.body[0]):
        index = 1
    for position, statement in enumerate(module.body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            break
        if _is_import_line(statement):
            index = position + 1
    return index


def insert_in_module(context: FileContext, lines: Sequence[str]) -> Optional[Edit]:
    """An edit adding ``lines`` (without line breaks) at :func:`module_insertion_index`."""
    module = context.module
    index = module_insertion_index(module)
    newline = module.default_newline
    text = "".join(line + newline for line in lines)
    if index == 0:
        if not module.body:
            return None
        return StatementRun(context, [module.body[0]], [module]).insert_before(
            [cst.parse_statement(line + "\n") for line in lines]
        )
    return StatementRun(context, [module.body[index - 1]], [module]).insert_after(text)


@dataclass(frozen=True)
class ImportedName:
    """How to write an imported name here, and the import to add when there is none yet."""

    text: str
    edit: Optional[Edit] = None


def imported_name(context: FileContext, module_name: str, name: str) -> Optional[ImportedName]:
    """``module_name.name`` as this file can write it: through an existing ``import module``
    or ``from module import name``, else by adding ``import module``. None when the name
    the import would bind is already used for something else."""
    aliases = _top_level_aliases(context)
    for local, full in aliases.items():
        if full == f"{module_name}.{name}":
            return ImportedName(local)
    for local, full in aliases.items():
        if full == module_name:
            return ImportedName(f"{local}.{name}")
    if any(full.startswith(f"{module_name}.") for full in aliases.values()) and (
        unused_in_text(name, context.source)
    ):
        # The file imports names from the module already: one more, the same way.
        edit = insert_in_module(context, [f"from {module_name} import {name}"])
        return None if edit is None else ImportedName(name, edit)
    head = module_name.split(".", 1)[0]
    if not unused_in_text(head, context.source):
        return None
    edit = insert_in_module(context, [f"import {module_name}"])
    if edit is None:
        return None
    return ImportedName(f"{module_name}.{name}", edit)


def _top_level_aliases(context: FileContext) -> dict[str, str]:
    """The names the module's top-level imports bind (an import inside a function or an
    ``if TYPE_CHECKING:`` block does not bind them where the fix needs them)."""
    everywhere = context.analysis(ImportNames).aliases
    local_names: set[str] = set()
    for statement in context.module.body:
        if not _is_import_line(statement):
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    bound = alias.evaluated_alias or alias.evaluated_name
                    local_names.add(bound.split(".", 1)[0])
    return {local: full for local, full in everywhere.items() if local in local_names}
