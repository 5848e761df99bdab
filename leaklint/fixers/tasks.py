"""LK105's fix, the asyncio documentation's pattern for fire-and-forget tasks: keep each task
in a module-level set until it is done, and let a done-callback take it out again::

    _background_tasks = set()
    ...
    task = asyncio.create_task(audit_log(request))
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)

A module that already keeps such a set (a module-level ``name = set()`` that some
``add_done_callback(name.discard)`` empties) gets its set reused rather than a second one.
Only a task thrown away by a statement of its own is rewritten: ``create_task(...)`` as a
statement, assigned to ``_``, or only chained with ``.add_done_callback(...)``.
"""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from leaklint.file_context import FileContext
from leaklint.fixers.names import (
    fresh_name,
    insert_in_module,
    module_insertion_index,
    names_in,
    unused_in_text,
)
from leaklint.fixers.source import StatementRun, path_from_module
from leaklint.model import Edit, Fix

SET_NAME = "_background_tasks"
TASK_NAMES = ("task", "background_task")
SET_COMMENT = "# Running tasks, kept until done: the event loop holds tasks only weakly."


def keep_task_fix(context: FileContext, call: cst.Call, api: str) -> Optional[Fix]:
    if api.endswith("run_coroutine_threadsafe"):
        return None  # a concurrent.futures.Future, completed on another thread
    path = path_from_module(context.module, context.module, call)
    if path is None or len(path) < 4:
        return None
    line, block = _statement(path, call)
    if line is None or block is None:
        return None
    scope = _scope(path)
    if scope is None:
        return None
    set_name, set_edit = _task_set(context, path)
    if set_name is None:
        return None
    task = fresh_name(TASK_NAMES, names_in(scope))
    if isinstance(scope, cst.Module) and not unused_in_text(task, context.source):
        return None
    small = line.body[0]
    chained: list[cst.BaseStatement] = []
    if isinstance(small, cst.Expr) and small.value is not call:
        rewritten = line.deep_replace(call, cst.Name(task))
        assert isinstance(rewritten, cst.SimpleStatementLine)
        chained = [
            rewritten.with_changes(leading_lines=(), trailing_whitespace=cst.TrailingWhitespace())
        ]
    keep = cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name(task))], call)],
        trailing_whitespace=line.trailing_whitespace,
    )
    statements = [
        keep,
        cst.parse_statement(f"{set_name}.add({task})\n"),
        cst.parse_statement(f"{task}.add_done_callback({set_name}.discard)\n"),
        *chained,
    ]
    edit = StatementRun(context, [line], path[: path.index(line)]).replace_with(statements)
    if edit is None:
        return None
    edits: list[Edit] = [edit] if set_edit is None else [set_edit, edit]
    return Fix(f"keep the task in `{set_name}` until it is done", tuple(edits))


def _statement(
    path: list[cst.CSTNode], call: cst.Call
) -> tuple[Optional[cst.SimpleStatementLine], Optional[cst.CSTNode]]:
    """The statement line that throws the task away, and the block it is in."""
    parent = path[-2]
    if isinstance(parent, cst.Attribute):  # create_task(...).add_done_callback(cb)
        chained, small = path[-3], path[-4]
        if not (
            isinstance(chained, cst.Call)
            and chained.func is parent
            and parent.attr.value == "add_done_callback"
            and isinstance(small, cst.Expr)
            and small.value is chained
        ):
            return None, None
        index = len(path) - 4
    else:
        small = parent
        index = len(path) - 2
        discarded = isinstance(small, cst.Assign) and all(
            isinstance(t.target, cst.Name) and t.target.value == "_" for t in small.targets
        )
        if not (isinstance(small, cst.Expr) or discarded):
            return None, None
    line, block = path[index - 1], path[index - 2]
    if not (
        isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and isinstance(block, (cst.IndentedBlock, cst.Module))
    ):
        return None, None
    return line, block


def _scope(path: list[cst.CSTNode]) -> Optional[cst.CSTNode]:
    """Where the task's name is bound: the innermost function, else the module."""
    for node in reversed(path):
        if isinstance(node, cst.FunctionDef):
            return node
        if isinstance(node, (cst.ClassDef, cst.Lambda)):
            return None
    return path[0]


def _task_set(
    context: FileContext, path: list[cst.CSTNode]
) -> tuple[Optional[str], Optional[Edit]]:
    """The module's set of running tasks, and the edit that creates it when there is none."""
    module = context.module
    for statement in module.body:
        name = _set_assigned(statement)
        if name and re.search(
            rf"add_done_callback\(\s*{re.escape(name)}\.discard\s*\)", context.source
        ):
            return name, None
    name = SET_NAME
    number = 2
    while not unused_in_text(name, context.source):
        name = f"{SET_NAME}_{number}"
        number += 1
    # Module-level code that creates the task must run after the set exists.
    top = path[1]
    index = module_insertion_index(module)
    if any(statement is top for statement in module.body[:index]):
        return None, None
    lines = ["", SET_COMMENT, f"{name} = set()"]
    if index == 0:  # at the top of the module, before its first statement
        lines = [SET_COMMENT, f"{name} = set()", "", ""]
    return name, insert_in_module(context, lines)


def _set_assigned(statement: cst.CSTNode) -> Optional[str]:
    """``name`` for a module-level ``name = set()`` (annotated or not)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    is_empty_set = (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value == "set"
        and not value.args
    )
    return target.value if isinstance(target, cst.Name) and is_empty_set else None
