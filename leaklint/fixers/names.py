"""Names a fix introduces: a fresh local, a module-level name, or an imported one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.file_context import FileContext
from leaklint.fixers.source import StatementRun
from leaklint.model import Edit
from leaklint.syntax import code_of, is_docstring
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



def module_insertion_index(module: cst.Module) -> int:
    """Where module-level lines a fix adds go: after the last import of the import block at the
    top of the module (before the first ``def`` or ``class``), else after the docstring."""
    index = 0
    if module.body and is_docstring(module.body[0]):
        index = 1
    for position, statement in enumerate(module.body):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            break
        if _is_import_line(statement):
            index = position + 1
    return index


def insert_in_module(
    context: FileContext, lines: Sequence[str], index: Optional[int] = None
) -> Optional[Edit]:
    """An edit adding ``lines`` (without line breaks) before the module's statement ``index``
    (default: :func:`module_insertion_index`), before that statement's comments."""
    module = context.module
    if index is None:
        index = module_insertion_index(module)
    text = "".join(line + module.default_newline for line in lines)
    if index < len(module.body):
        return StatementRun(context, [module.body[index]], [module]).insert_text_before(text)
    if not module.body:
        return None
    return StatementRun(context, [module.body[-1]], [module]).insert_after(text)


def _import_index(module: cst.Module, statement: str, module_name: str) -> Optional[int]:
    """Where a new import goes in sorted order: before the first top-level import of the same
    form (``import x`` or ``from x import y``) whose module sorts after it."""
    form = cst.ImportFrom if statement.startswith("from ") else cst.Import
    for position, line in enumerate(module.body):
        if isinstance(line, (cst.FunctionDef, cst.ClassDef)):
            break
        if not _is_import_line(line):
            continue
        assert isinstance(line, cst.SimpleStatementLine)
        first = line.body[0]
        if type(first) is not form:
            continue
        if isinstance(first, cst.ImportFrom):
            if first.relative or first.module is None:
                return position  # relative imports come last
            name = code_of(first.module)
        else:
            assert isinstance(first, cst.Import)
            name = first.names[0].evaluated_name
        if name == "__future__":
            continue
        if name > module_name:
            return position
    return None


def add_import(context: FileContext, statement: str, module_name: str) -> Optional[Edit]:
    module = context.module
    index = _import_index(module, statement, module_name)
    if index is None:
        return insert_in_module(context, [statement])
    # Right above the import it sorts before, below any blank line that ends a group.
    return StatementRun(context, [module.body[index]], [module]).insert_text_before(
        statement + module.default_newline, above_comments=False
    )


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
        edit = add_import(context, f"from {module_name} import {name}", module_name)
        return None if edit is None else ImportedName(name, edit)
    head = module_name.split(".", 1)[0]
    if not unused_in_text(head, context.source):
        return None
    edit = add_import(context, f"import {module_name}", module_name)
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
