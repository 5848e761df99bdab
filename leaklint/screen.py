"""The cheap first look at a file that decides which rules need the full libcst analysis.

libcst's parser costs about ten times the standard library's ``ast.parse`` (see
shared/libcst-costs.md), and most files cannot hold most findings: no call of ``open`` in code,
no module-level container, no mutable default. So the engine first parses a file with
``ast`` and one read-only walk collects the few facts rules screen on (identifiers, called
names, import aliases, assigned values, parameter defaults); each rule answers "may I report
anything here?" from them (:meth:`leaklint.rule.Rule.may_report`), and a file no rule needs is
never parsed by libcst.

A screen must be *sound*: it may keep a file that has no finding, never drop one that has.
When the running Python cannot parse the file (newer syntax on an older Python, or an error
libcst would report its own way), there are no facts and every rule falls back to its text
triggers; the engine then parses with libcst as before.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import warnings
from dataclasses import dataclass
from typing import Optional, TypeVar, Union

_BUILTIN_NAMES = frozenset(dir(builtins))
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]


@dataclass(frozen=True)
class SourceFacts:
    """What a walk of the stdlib ``ast`` says about one file."""

    tree: ast.Module
    # Every identifier spelled in code (not in comments or strings): names, attributes,
    # definitions, parameters, keywords and every part of an import.
    words: frozenset[str]
    # The names spelled inside a function or lambda that is itself inside a function: what
    # a closure may capture.
    nested_names: frozenset[str]
    # In functions: (receiver's last name, method) of every method call, ``("x", "append")``
    # for ``self.x.append(v)``, and the last names of every subscript read's value.
    method_calls: frozenset[tuple[str, str]]
    subscripted: frozenset[str]
    # In functions: (callee's last name, argument's last name) of every positional or keyword
    # argument that is a name or an attribute (``("f", "x")`` for ``f(x)`` and ``obj.f(x)``).
    call_args: frozenset[tuple[str, str]]
    # In functions, the last names of what a statement may grow or rebind in place: the
    # container of a subscript store (``x`` of ``self.x[k] = v`` and ``x[k] += v``), the
    # target of an augmented assignment (``x += [v]``), and a name or attribute assigned to
    # a plain name (``alias = self.x``, ``a, b = x, y``), through which it may be grown.
    subscript_stores: frozenset[str]
    augmented: frozenset[str]
    aliased: frozenset[str]
    # By function (the id of its node): the last names its statements, or those of the
    # functions right inside it, may change: receivers of method calls, containers of
    # subscript stores, targets of augmented assignments and call arguments.
    changed_in: dict[int, frozenset[str]]
    # Every name the file binds to a value of its own, at any depth: functions, classes and
    # assignment targets (not imports).
    bound_names: frozenset[str]
    # The last name of every called expression: ``open`` for ``open(p)`` and ``io.open(p)``.
    called: frozenset[str]
    # Every call whose called expression ends in a name: (that name, the dotted name of the
    # expression or None when it does not start at a name, whether the call is directly the
    # item of a ``with``): ``("open", "io.open", False)``, ``("open", None, True)`` for
    # ``with paths[0].open():``.
    calls: frozenset[tuple[str, Optional[str], bool]]
    # Each name an import binds, anywhere in the file, to every dotted name it is imported
    # as (a name imported twice may name either): ``S`` -> ``{"socket.socket"}`` for ``from
    # socket import socket as S``, ``os`` -> ``{"os"}`` for ``import os.path``.
    imported: dict[str, frozenset[str]]
    # Import aliases, local name to the last part of what it names: ``S`` -> ``socket``.
    aliases: dict[str, str]
    # ``target = value`` statements with a single target: the innermost function (or lambda)
    # around the statement (None at module or class level), the target's name (None unless
    # it is a plain name) and the value.
    assigned: tuple[tuple[Optional[ast.AST], Optional[str], ast.expr], ...]
    # Functions and lambdas with a function or lambda defined directly inside them.
    enclosing: frozenset[int]  # ids of the nodes
    # Every parameter with a default of every ``def`` outside any function (at module level
    # or in a class body; a nested def's defaults are made again by each call of the function
    # around it): the id of the ``def``, the parameter and the default.
    defaults: tuple[tuple[int, str, ast.expr], ...]
    # The last names of every class's bases: ``Thread`` for ``class W(threading.Thread)``.
    class_bases: frozenset[str]
    # Some ``def`` has a decorator.
    decorated: bool
    # The last names of the decorators of every ``def`` directly in a class body (a method):
    # ``lru_cache`` for ``@functools.lru_cache(maxsize=None)``, ``memo`` for ``@memo``.
    method_decorators: frozenset[str]
    # Some ``while`` loop tests a true constant: ``while True:``, ``while 1:``.
    endless_loop: bool

    def calls_any(self, names: frozenset[str]) -> bool:
        """Whether code calls one of ``names`` by its own name or through an import alias."""
        if not self.called.isdisjoint(names):
            return True
        return any(self.aliases.get(local) in names for local in self.called)

    def qualified_names(self, dotted: str) -> frozenset[str]:
        """What ``a.b.c`` may refer to, through the file's imports: ``{"socket.socket"}`` for
        ``S`` after ``from socket import socket as S``; ``builtins.open`` (and, should the
        module bind its own, ``open``) for ``open``; the name itself when nothing is
        imported under its first part."""
        head, dot, rest = dotted.partition(".")
        fulls = self.imported.get(head)
        if fulls is not None:
            return frozenset(full + dot + rest for full in fulls)
        if head in _BUILTIN_NAMES:
            return frozenset((f"builtins.{dotted}", dotted))
        return frozenset((dotted,))

    def calls_qualified(self, qualified: frozenset[str]) -> bool:
        """Whether code calls one of the dotted names ``qualified`` (``atexit.register``), as
        the file's imports resolve its called names (see :meth:`qualified_names`)."""
        lasts = last_names(qualified)
        return any(
            dotted is not None
            and (name in lasts or self.aliases.get(name) in lasts)
            and not self.qualified_names(dotted).isdisjoint(qualified)
            for name, dotted, _ in self.calls
        )

    def names_any(self, names: frozenset[str]) -> bool:
        return not self.words.isdisjoint(names)

    def spells_any(self, parts: tuple[str, ...]) -> bool:
        """Whether some identifier contains one of ``parts``: ``Thread`` in ``MyThread``."""
        return any(part in self._spelled for part in parts)

    @functools.cached_property
    def _spelled(self) -> str:
        # Every identifier, space-separated: one substring search finds a part in any of them
        # (a part is an identifier, so it cannot match across a space).
        return " ".join(self.words)

    def last_name(self, func: ast.expr) -> Optional[str]:
        """The last name of a called expression, seen through import aliases."""
        if isinstance(func, ast.Name):
            return self.aliases.get(func.id, func.id)
        if isinstance(func, ast.Attribute):
            return func.attr
        return None


class Screen:
    """A file's text, and its ``ast`` facts computed on first request."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._facts: Optional[SourceFacts] = None
        self._parsed = False

    @property
    def facts(self) -> Optional[SourceFacts]:
        """None when the running Python cannot parse the file."""
        if not self._parsed:
            self._parsed = True
            tree = parse_quietly(self.text)
            self._facts = collect_facts(tree) if tree is not None else None
        return self._facts

    def parses(self) -> bool:
        return self.facts is not None


def parse_quietly(text: str) -> Optional[ast.Module]:
    """The ``ast`` of ``text``, or None for any failure (syntax the running Python does not
    know, nesting too deep for its parser); warnings such as invalid escapes are not printed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def collect_facts(tree: ast.Module) -> SourceFacts:
    """One read-only walk of the tree. Iterative, so deep nesting cannot overflow the stack;
    exact type tests, because ``isinstance`` on ast classes is the slow part of such a loop."""
    words: set[str] = set()
    nested_names: set[str] = set()
    nested_functions: set[int] = set()
    method_calls: set[tuple[str, str]] = set()
    subscripted: set[str] = set()
    call_args: set[tuple[str, str]] = set()
    subscript_stores: set[str] = set()
    augmented: set[str] = set()
    aliased: set[str] = set()
    changed_in: dict[int, set[str]] = {}
    outer_of: dict[int, int] = {}  # function id -> the id of the function right around it
    bound_names: set[str] = set()
    called: set[str] = set()
    managed: set[int] = set()
    calls: set[tuple[str, Optional[str], bool]] = set()
    imported: dict[str, set[str]] = {}
    aliases: dict[str, str] = {}
    assigned: list[tuple[Optional[ast.AST], Optional[str], ast.expr]] = []
    enclosing: set[int] = set()
    defaults: list[tuple[int, str, ast.expr]] = []

    decorated = endless = False
    class_bases: set[str] = set()
    class_members: set[int] = set()
    method_decorators: set[str] = set()
    stack: list[tuple[ast.AST, Optional[ast.AST]]] = [(tree, None)]
    while stack:
        node, function = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            words.add(node.id)  # type: ignore[attr-defined]
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                bound_names.add(node.id)  # type: ignore[attr-defined]
            if id(function) in nested_functions:
                nested_names.add(node.id)  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant:
            continue
        if kind is ast.Attribute:
            words.add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            name = func.id if type(func) is ast.Name else getattr(func, "attr", None)
            if name is not None:
                called.add(name)
                calls.add((name, _dotted(func), id(node) in managed))
            if function is not None and name is not None:
                if type(func) is ast.Attribute:
                    receiver = _last(func.value)
                    if receiver is not None:
                        method_calls.add((receiver, name))
                        _note_change(changed_in, outer_of, function, receiver)
                arguments = [*node.args, *(k.value for k in node.keywords)]  # type: ignore[attr-defined]
                for argument in arguments:
                    passed = _last(argument)
                    if passed is not None:
                        call_args.add((name, passed))
                        _note_change(changed_in, outer_of, function, passed)
        elif kind is ast.Subscript:
            if function is not None and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                value = node.value  # type: ignore[attr-defined]
                receiver = _last(value)
                if receiver is not None:
                    subscripted.add(receiver)
        elif kind is ast.withitem:
            managed.add(id(node.context_expr))  # type: ignore[attr-defined]
        elif kind is ast.Assign:
            value = node.value  # type: ignore[attr-defined]
            if len(node.targets) == 1:  # type: ignore[attr-defined]
                target = node.targets[0]  # type: ignore[attr-defined]
                assigned.append((function, target.id if type(target) is ast.Name else None, value))
            if function is not None:
                for target in node.targets:  # type: ignore[attr-defined]
                    if type(target) is ast.Subscript:
                        _add_last(subscript_stores, target.value)
                        _note_change(changed_in, outer_of, function, _last(target.value))
                    elif type(target) is ast.Name:
                        _add_last(aliased, value)
                    elif type(target) is ast.Tuple and type(value) is ast.Tuple:
                        for element in value.elts:
                            _add_last(aliased, element)
        elif kind is ast.AugAssign:
            if function is not None:
                target = node.target  # type: ignore[attr-defined]
                if type(target) is ast.Subscript:
                    _add_last(subscript_stores, target.value)
                    _note_change(changed_in, outer_of, function, _last(target.value))
                else:
                    _add_last(augmented, target)
                    _note_change(changed_in, outer_of, function, _last(target))
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            words.add(node.name)  # type: ignore[attr-defined]
            bound_names.add(node.name)  # type: ignore[attr-defined]
            args = node.args  # type: ignore[attr-defined]
            if function is None:
                positional = [*args.posonlyargs, *args.args]
                defaults.extend(
                    (id(node), param.arg, default)
                    for param, default in zip(positional[len(positional) - len(args.defaults):],
                                              args.defaults)
                )
                defaults.extend(
                    (id(node), param.arg, default)
                    for param, default in zip(args.kwonlyargs, args.kw_defaults)
                    if default is not None
                )
            decorated = decorated or bool(node.decorator_list)  # type: ignore[attr-defined]
            if id(node) in class_members:
                for decorator in node.decorator_list:  # type: ignore[attr-defined]
                    _add_last(method_decorators, getattr(decorator, "func", decorator))
            if function is not None:
                enclosing.add(id(function))
                nested_functions.add(id(node))
                outer_of[id(node)] = id(function)
        elif kind is ast.Lambda:
            if function is not None:
                enclosing.add(id(function))
                nested_functions.add(id(node))
                outer_of[id(node)] = id(function)
        elif kind is ast.While:
            test = node.test  # type: ignore[attr-defined]
            endless = endless or (type(test) is ast.Constant and bool(test.value))
        elif kind is ast.ClassDef:
            class_members.update(map(id, node.body))  # type: ignore[attr-defined]
            words.add(node.name)  # type: ignore[attr-defined]
            bound_names.add(node.name)  # type: ignore[attr-defined]
            class_bases.update(
                base for base in map(_last, node.bases) if base  # type: ignore[attr-defined]
            )
        elif kind is ast.arg:
            words.add(node.arg)  # type: ignore[attr-defined]
        elif kind is ast.keyword:
            if node.arg:  # type: ignore[attr-defined]
                words.add(node.arg)  # type: ignore[attr-defined]
        elif kind is ast.alias:
            _add_alias(node, words, aliases)  # type: ignore[arg-type]
        elif kind is ast.ImportFrom:
            if node.module:  # type: ignore[attr-defined]
                words.update(node.module.split("."))  # type: ignore[attr-defined]
            base = "." * node.level + (node.module or "")  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name != "*":
                    imported.setdefault(alias.asname or alias.name, set()).add(
                        f"{base}.{alias.name}" if base else alias.name
                    )
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                local = alias.asname or alias.name.split(".", 1)[0]
                imported.setdefault(local, set()).add(alias.name if alias.asname else local)
        elif kind is ast.Global or kind is ast.Nonlocal:
            words.update(node.names)  # type: ignore[attr-defined]
        push_children(stack, node, node if kind in _FUNCTION_TYPES else function, _FIELDS)
    return SourceFacts(
        tree=tree,
        words=frozenset(words),
        nested_names=frozenset(nested_names),
        method_calls=frozenset(method_calls),
        subscripted=frozenset(subscripted),
        call_args=frozenset(call_args),
        subscript_stores=frozenset(subscript_stores),
        augmented=frozenset(augmented),
        aliased=frozenset(aliased),
        changed_in={function: frozenset(names) for function, names in changed_in.items()},
        bound_names=frozenset(bound_names),
        called=frozenset(called),
        calls=frozenset(calls),
        imported={local: frozenset(fulls) for local, fulls in imported.items()},
        aliases=aliases,
        assigned=tuple(assigned),
        enclosing=frozenset(enclosing),
        defaults=tuple(defaults),
        class_bases=frozenset(class_bases),
        decorated=decorated,
        method_decorators=frozenset(method_decorators),
        endless_loop=endless,
    )


_FUNCTION_TYPES = frozenset(_FUNCTIONS)
Tag = TypeVar("Tag")


class ReadFields:
    """The fields a walk goes into, by node type: all but ``skipped``. Expression contexts
    (``Load``, ``Store``) and operators carry no fact, and are about a sixth of the nodes of
    a file: every walk skips them (it reads a node's ``ctx`` from the node itself)."""

    __slots__ = ("by_type", "skipped")

    def __init__(self, skipped: frozenset[str] = frozenset()) -> None:
        self.skipped = skipped | {"ctx", "op", "ops"}
        self.by_type: dict[type, tuple[str, ...]] = {}

    def of(self, kind: type) -> tuple[str, ...]:
        fields = self.by_type.get(kind)
        if fields is None:
            fields = self.by_type[kind] = tuple(
                field for field in kind._fields if field not in self.skipped  # type: ignore[attr-defined]
            )
        return fields


_FIELDS = ReadFields()


def push_children(stack: list[tuple[ast.AST, Tag]], node: ast.AST, tag: Tag,
                  fields: ReadFields) -> None:
    """Push each child node of ``node`` in the ``fields`` a walk reads, with ``tag`` (what the
    walk knows of where the child is)."""
    kind = type(node)
    names = fields.by_type.get(kind)
    for field in fields.of(kind) if names is None else names:
        value = getattr(node, field, None)
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    stack.append((item, tag))
        elif isinstance(value, ast.AST):
            stack.append((value, tag))


def _note_change(changed_in: dict[int, set[str]], outer_of: dict[int, int],
                 function: Optional[ast.AST], name: Optional[str]) -> None:
    """Note that ``function`` may change ``name``, and so may the function around it (a
    nested def's defaults run in the enclosing frame). A function of its own rather than a
    closure: the walk's loop variables stay plain locals."""
    if name is not None:
        changed_in.setdefault(id(function), set()).add(name)
        outer = outer_of.get(id(function))
        if outer is not None:
            changed_in.setdefault(outer, set()).add(name)


def _dotted(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, None when it starts elsewhere (``f().c``)."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _add_last(found: set[str], node: ast.AST) -> None:
    name = _last(node)
    if name is not None:
        found.add(name)


def _last(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _add_alias(node: ast.alias, words: set[str], aliases: dict[str, str]) -> None:
    parts = node.name.split(".")
    words.update(parts)
    if node.asname:
        words.add(node.asname)
        aliases[node.asname] = parts[-1]


def top_level_bindings(
    tree: ast.Module, classes_only: bool = False
) -> list[tuple[str, ast.expr]]:
    """``name = value`` at module or class level, also under ``if``/``try`` and in classes
    nested in classes: every place a module-level or class-level container can be made. With
    ``classes_only``, only those in class bodies."""
    found: list[tuple[str, ast.expr]] = []
    statements: list[tuple[ast.stmt, bool]] = [(statement, False) for statement in tree.body]
    while statements:
        statement, in_class = statements.pop()
        if isinstance(statement, ast.Assign):
            if in_class or not classes_only:
                found.extend(
                    (target.id, statement.value)
                    for target in statement.targets
                    if isinstance(target, ast.Name)
                )
        elif isinstance(statement, ast.AnnAssign):
            if (in_class or not classes_only) and statement.value is not None and isinstance(
                statement.target, ast.Name
            ):
                found.append((statement.target.id, statement.value))
        elif isinstance(statement, ast.ClassDef):
            statements.extend((inner, True) for inner in statement.body)
        elif isinstance(statement, ast.If):
            statements.extend((inner, in_class) for inner in statement.body)
            statements.extend((inner, in_class) for inner in statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            blocks = [
                statement.body,  # type: ignore[attr-defined]
                *(handler.body for handler in statement.handlers),  # type: ignore[attr-defined]
                statement.orelse,  # type: ignore[attr-defined]
                statement.finalbody,  # type: ignore[attr-defined]
            ]
            statements.extend((inner, in_class) for block in blocks for inner in block)
    return found


def spelled_twice(name: str, text: str) -> bool:
    """Whether ``name`` occurs as a word at least twice in ``text``."""
    spelled = re.finditer(rf"\b{re.escape(name)}\b", text)
    return next(spelled, None) is not None and next(spelled, None) is not None


def last_names(qualified: object) -> frozenset[str]:
    """``{"open", "fdopen"}`` from ``{"builtins.open", "os.fdopen"}`` (any iterable of dotted
    names, or of ``(type, method)`` pairs, whose method is taken)."""
    found: set[str] = set()
    for item in qualified:  # type: ignore[attr-defined]
        name = item[1] if isinstance(item, tuple) else item
        found.add(str(name).rsplit(".", 1)[-1])
    return frozenset(found)
