"""The `with` rewrite of LK301-LK304: a file, socket, connection or response that is used
inline, or bound and closed at the end of a straight line of statements, gets a `with` block.

Only shapes where the `with` block closes the object exactly where the code already stops
using it are rewritten, so the fix is safe:

- inline in one simple statement whose result no longer needs the object: a method that reads
  or writes it at once (``open(p).read()``), or a function that does (``json.load(open(p))``,
  ``list(open(p))``); or the iterable of a ``for`` loop (``for line in open(p):``), directly or
  through ``enumerate``/``csv.reader``. Nothing with a side effect may run before the object is
  created in that statement (``json.dump(make(), open(p, "w"))`` is left alone: the `with`
  would open the file before ``make()`` runs), and a conditional, lambda, comprehension or
  ``await`` between the statement and the object keeps it as it is;
- bound by ``name = factory(...)``, then used by the statements that follow it in the same
  block (only as ``name.method()``, ``name.attr``, an argument, or a ``for`` iterable: never
  stored, rebound or captured) with no ``return``, ``break`` or ``continue`` among them, and
  closed by ``name.close()`` right after them; the name is not used again afterwards.

Files, sockets and responses are closed by ``with`` itself; connections get
``contextlib.closing(...)``, because their own ``with`` commits (sqlite3), says QUIT
(smtplib, ftplib) or does not exist (http.client), and ``closing`` calls ``close()`` and
nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.analysis.ownership import Fate, Resource
from leaklint.analysis.specs import Handle, Kind
from leaklint.file_context import FileContext
from leaklint.fixers.names import fresh_name, imported_name, names_in
from leaklint.fixers.source import StatementRun, path_from_module
from leaklint.model import Edit, Fix
from leaklint.walker import iter_nodes

# Kinds whose `__exit__` does exactly what `close()` does.
_WITH_CLOSES = frozenset({Kind.FILE, Kind.SOCKET, Kind.RESPONSE})
_CLOSED_BY_CLOSING = frozenset({Kind.CONNECTION})

# Methods whose result holds nothing of the object: what they read or wrote is done.
CONSUMING_METHODS: dict[Kind, frozenset[str]] = {
    Kind.FILE: frozenset({
        "read", "readlines", "readline", "write", "writelines", "extractall", "namelist",
        "getnames", "getmembers", "infolist", "testzip",
    }),
    Kind.SOCKET: frozenset({"sendall", "connect_ex"}),
    Kind.RESPONSE: frozenset({"read", "readlines", "readline", "getcode", "geturl"}),
}
# Functions that read or write all of a file object passed to them before they return.
CONSUMING_FUNCTIONS = frozenset({
    "json.load", "json.dump", "pickle.load", "pickle.dump", "marshal.load", "marshal.dump",
    "tomllib.load", "tomli.load", "plistlib.load", "plistlib.dump", "yaml.safe_load",
    "yaml.load", "yaml.safe_dump", "yaml.dump", "shutil.copyfileobj", "builtins.list",
    "builtins.tuple", "builtins.sorted", "builtins.set", "builtins.frozenset",
})
# Lazy wrappers that are fine as a `for` loop's iterable: the loop consumes them.
ITERATING_WRAPPERS = frozenset({"builtins.enumerate", "csv.reader", "csv.DictReader"})

NAME_CANDIDATES: dict[Kind, tuple[str, ...]] = {
    Kind.FILE: ("f", "file", "handle"),
    Kind.SOCKET: ("sock", "connection"),
    Kind.CONNECTION: ("conn", "connection"),
    Kind.RESPONSE: ("response", "resp"),
}


# Between the statement and the object: code that may not run, or runs elsewhere or later.
@functools.cache
def _deferring() -> tuple[type, ...]:
    return (
        cst.Lambda, cst.FunctionDef, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
        cst.IfExp, cst.BooleanOperation, cst.Await, cst.Yield,
    )


# Expressions with effects of their own: may not run before the object is created.
@functools.cache
def _effectful() -> tuple[type, ...]:
    return (cst.Call, cst.Await, cst.Yield, cst.NamedExpr)


def with_block_fix(context: FileContext, resource: Resource) -> Optional[Fix]:
    kind = resource.spec.kind
    if (
        resource.spec.handle is not Handle.OBJECT
        or resource.spec.tuple_index is not None
        or kind not in _WITH_CLOSES | _CLOSED_BY_CLOSING
        or not isinstance(resource.scope, cst.FunctionDef)
        or "async" in resource.api.lower()
        or "aiohttp" in resource.api
    ):
        return None
    path = path_from_module(context.module, resource.scope, resource.call)
    if path is None:
        return None
    if resource.fate is Fate.DROPPED:
        return _inline_fix(context, resource, path)
    if resource.label is not None:
        return _bound_fix(context, resource, path)
    return None


def _opener(
    context: FileContext, resource: Resource
) -> Optional[tuple[cst.BaseExpression, list[Edit]]]:
    """The expression of the `with` item, and the import it needs."""
    if resource.spec.kind in _WITH_CLOSES:
        return resource.call, []
    closing = imported_name(context, "contextlib", "closing")
    if closing is None:
        return None
    expression = cst.Call(cst.parse_expression(closing.text), [cst.Arg(resource.call)])
    return expression, [closing.edit] if closing.edit else []


def _with_statement(
    item: cst.BaseExpression, name: str, body: Sequence[cst.BaseStatement],
    header: Optional[cst.TrailingWhitespace] = None,
) -> cst.With:
    block = cst.IndentedBlock(body=list(body))
    if header is not None:
        block = block.with_changes(header=header)
    return cst.With(
        items=[cst.WithItem(item=item, asname=cst.AsName(name=cst.Name(name)))], body=block
    )


def _fix(resource: Resource, edits: Sequence[Optional[Edit]]) -> Optional[Fix]:
    if any(edit is None for edit in edits):
        return None
    noun = resource.spec.noun
    return Fix(
        f"close the {noun} from `{resource.api}(...)` with a `with` block",
        tuple(edit for edit in edits if edit is not None),
    )


# --- inline ---------------------------------------------------------------------------------
def _inline_fix(context: FileContext, resource: Resource, path: list[cst.CSTNode]) -> Optional[Fix]:
    call = resource.call
    found = _statement_of(path)
    if found is None:
        return None
    index, statement = found
    below = path[index + 1 :]
    if any(isinstance(node, _deferring()) for node in below[:-1]):
        return None
    if not _consumed(context, statement, below, resource.spec.kind):
        return None
    evaluated = _evaluated(statement)
    if evaluated is None or not _nothing_effectful_before(evaluated, call, set(map(id, below))):
        return None
    opener = _opener(context, resource)
    if opener is None:
        return None
    item, import_edits = opener
    name = fresh_name(NAME_CANDIDATES[resource.spec.kind], names_in(resource.scope))
    line = path[index - 1] if isinstance(statement, cst.BaseSmallStatement) else statement
    rewritten = line.deep_replace(call, cst.Name(name))
    assert isinstance(rewritten, cst.BaseStatement)
    rewritten = rewritten.with_changes(leading_lines=())
    run = StatementRun(context, [line], path[: path.index(line)])
    return _fix(resource, [run.replace_with([_with_statement(item, name, [rewritten])]),
                                    *import_edits])


def _statement_of(path: list[cst.CSTNode]) -> Optional[tuple[int, cst.CSTNode]]:
    """The innermost statement around the object: a lone simple statement on its line in an
    indented block, or a ``for`` loop whose iterable holds the object."""
    for index in range(len(path) - 1, 0, -1):
        node = path[index]
        if isinstance(node, cst.For):
            if path[index + 1] is node.iter and node.asynchronous is None:
                return index, node
            return None
        if isinstance(node, cst.BaseCompoundStatement):
            return None
        if isinstance(node, cst.BaseSmallStatement):
            line, block = path[index - 1], path[index - 2]
            if (
                isinstance(line, cst.SimpleStatementLine)
                and len(line.body) == 1
                and isinstance(block, cst.IndentedBlock)
                and isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Expr,
                                      cst.Return))
            ):
                return index, node
            return None
    return None


def _consumed(
    context: FileContext, statement: cst.CSTNode, below: list[cst.CSTNode], kind: Kind
) -> bool:
    """Whether the statement is done with the object once it ends."""
    call = below[-1]
    parent = below[-2] if len(below) >= 2 else statement
    grandparent = below[-3] if len(below) >= 3 else statement
    if isinstance(statement, cst.For) and statement.iter is call:
        return True
    if (
        isinstance(parent, cst.Attribute)
        and isinstance(grandparent, cst.Call)
        and grandparent.func is parent
    ):
        methods = CONSUMING_METHODS.get(kind, frozenset())
        return parent.attr.value in methods
    if isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call) and not parent.star:
        callee = context.analysis(ImportNames).call_name(grandparent)
        if callee in CONSUMING_FUNCTIONS or _is_string_join(grandparent):
            return True
        return (
            isinstance(statement, cst.For)
            and statement.iter is grandparent
            and callee in ITERATING_WRAPPERS
        )
    return False


def _is_string_join(call: cst.Call) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "join"
        and isinstance(func.value, cst.SimpleString)
    )


def _evaluated(statement: cst.CSTNode) -> Optional[list[cst.CSTNode]]:
    """The parts of the statement that run before its effect, in the order they run."""
    if isinstance(statement, cst.For):
        return [statement.iter]
    if isinstance(statement, cst.AugAssign):
        return [statement.target, statement.value]
    if isinstance(statement, (cst.Assign, cst.AnnAssign, cst.Expr, cst.Return)):
        return [statement.value] if statement.value is not None else None
    return None


def _nothing_effectful_before(
    parts: list[cst.CSTNode], call: cst.CSTNode, on_path: set[int]
) -> bool:
    """Whether no call (or await, yield, walrus) runs before ``call`` does; the calls that
    hold it (``json.load(open(p))``) run after it."""
    for part in parts:
        for node in iter_nodes(part):
            if node is call:
                return True
            if isinstance(node, _effectful()) and id(node) not in on_path:
                return False
    return False


# --- bound ----------------------------------------------------------------------------------
def _bound_fix(context: FileContext, resource: Resource, path: list[cst.CSTNode]) -> Optional[Fix]:
    label = resource.label
    assert label is not None
    if len(path) < 4:
        return None
    assign, line, block = path[-2], path[-3], path[-4]
    if not (
        isinstance(assign, cst.Assign)
        and assign.value is resource.call
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.targets[0].target.value == label
        and isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and isinstance(block, cst.IndentedBlock)
    ):
        return None
    statements = list(block.body)
    start = next(i for i, statement in enumerate(statements) if statement is line)
    end = next(
        (i for i in range(start + 1, len(statements)) if _is_close(statements[i], label)), None
    )
    if end is None or _has_comment(statements[end]):
        return None
    used = statements[start + 1 : end]
    if not all(_straight(statement) and _only_used(statement, label) for statement in used):
        return None
    if not _other_uses_harmless(context, resource.scope, statements, start, end, label, path):
        return None
    opener = _opener(context, resource)
    if opener is None:
        return None
    item, import_edits = opener
    body = used or [cst.SimpleStatementLine([cst.Pass()])]
    replacement = _with_statement(item, label, body, header=line.trailing_whitespace)
    run = StatementRun(context, statements[start : end + 1], path[:-3])
    return _fix(resource, [run.replace_with([replacement]), *import_edits])


def _is_close(statement: cst.BaseStatement, label: str) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and not small.value.args
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value == "close"
        and isinstance(small.value.func.value, cst.Name)
        and small.value.func.value.value == label
    )


def _has_comment(statement: cst.BaseStatement) -> bool:
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement.trailing_whitespace.comment is not None or any(
        line.comment is not None for line in statement.leading_lines
    )


def _straight(statement: cst.BaseStatement) -> bool:
    """No ``return`` anywhere, no ``break``/``continue`` that leaves the statements."""
    def check(node: cst.CSTNode, in_loop: bool) -> bool:
        if isinstance(node, (cst.Return, cst.Global, cst.Nonlocal)):
            return False
        if isinstance(node, (cst.Break, cst.Continue)) and not in_loop:
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return True  # their returns are their own; captures are checked by _only_used
        inner = in_loop or isinstance(node, (cst.For, cst.While))
        return all(check(child, inner) for child in node.children)

    return check(statement, False)


def _only_used(statement: cst.BaseStatement, label: str) -> bool:
    """The name is only read from: ``f.write(...)``, ``f.name``, ``g(f)``, ``for x in f``."""
    stack: list[tuple[cst.CSTNode, Optional[cst.CSTNode], bool]] = [(statement, None, False)]
    while stack:
        node, parent, nested = stack.pop()
        if isinstance(node, cst.Name) and node.value == label:
            if nested:
                return False  # captured by a function or lambda that may run later
            if isinstance(parent, cst.Attribute) and parent.value is node:
                continue
            if isinstance(parent, cst.Arg) and parent.value is node and not parent.star:
                continue
            if isinstance(parent, cst.For) and parent.iter is node:
                continue
            return False
        inner = nested or isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef))
        stack.extend((child, node, inner) for child in node.children)
    return True


def _other_uses_harmless(
    context: FileContext,
    scope: cst.CSTNode,
    statements: list[cst.BaseStatement],
    start: int,
    end: int,
    label: str,
    path: list[cst.CSTNode],
) -> bool:
    """After the `with` block the name still holds the closed object, as after ``close()``,
    so later statements of the same block see no change and earlier code runs before it.
    Elsewhere (an ``except`` or ``finally`` around the block, the code after it, the next
    round of a loop) a use may run after an exception the `with` block now closes on."""
    run = {id(node) for statement in statements[start : end + 1] for node in iter_nodes(statement)}
    later = {id(node) for statement in statements[end + 1 :] for node in iter_nodes(statement)}
    outside = [
        node for node in iter_nodes(scope)
        if isinstance(node, cst.Name) and node.value == label and id(node) not in run
    ]
    if not outside:
        return True
    if any(isinstance(node, (cst.For, cst.While)) for node in path):
        return False
    first_line = context.position(statements[start]).start.line
    return all(
        id(node) in later or context.position(node).end.line < first_line for node in outside
    )
