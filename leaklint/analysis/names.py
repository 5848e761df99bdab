"""Import aliases to dotted names: ``S`` is ``socket.socket`` after
``from socket import socket as S``.

A cheap map built from the file's import statements, in place of libcst's QualifiedNameProvider
(which needs the scope provider, several times the cost of the parse). Builtins resolve to
``builtins.<name>`` unless the module binds the name itself, so a project's own ``open``
function is never mistaken for the builtin.
"""

from __future__ import annotations

import builtins
from typing import Optional, Union

import libcst as cst

from leaklint.analysis.scopes import Scopes
from leaklint.file_context import Analysis, FileContext

_BUILTIN_NAMES = frozenset(dir(builtins))


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, None for anything else (calls, subscripts...)."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_name(node: Union[cst.Attribute, cst.Name]) -> str:
    name = dotted_name(node)
    assert name is not None
    return name


class ImportNames(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.aliases: dict[str, str] = {}
        self.module_bindings: set[str] = set()
        # The names imported, in the order of the imports (a later one rebinds a name), read
        # from the shared scope model rather than by a walk of the statements of its own.
        scopes = context.analysis(Scopes)
        for alias in scopes.nodes_of_type(cst.ImportAlias):
            assert isinstance(alias, cst.ImportAlias)
            statement = scopes.parents.get(alias)
            if type(statement) is cst.Import:
                self._add_import(alias)
            elif isinstance(statement, cst.ImportFrom):
                self._add_import_from(statement, alias)
        self._collect_module_bindings(context.module)

    def _add_import(self, alias: cst.ImportAlias) -> None:
        full = _module_name(alias.name)
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            self.aliases[alias.asname.name.value] = full
        else:
            head = full.split(".", 1)[0]
            self.aliases[head] = head

    def _add_import_from(self, node: cst.ImportFrom, alias: cst.ImportAlias) -> None:
        if not isinstance(alias.name, cst.Name):
            return
        dots = "".join("." for _ in node.relative)
        base = dots + (_module_name(node.module) if node.module is not None else "")
        local = alias.name.value
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        self.aliases[local] = f"{base}.{alias.name.value}" if base else alias.name.value

    def _collect_module_bindings(self, module: cst.Module) -> None:
        for statement in module.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.module_bindings.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    targets: list[cst.BaseExpression] = []
                    if isinstance(small, cst.Assign):
                        targets = [t.target for t in small.targets]
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        targets = [small.target]
                    for target in targets:
                        if isinstance(target, cst.Name):
                            self.module_bindings.add(target.value)

    def qualified_name(self, node: cst.BaseExpression) -> Optional[str]:
        """The dotted name ``node`` refers to: ``socket.socket``, ``builtins.open``, or None."""
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.aliases:
            full = self.aliases[head]
        elif head in _BUILTIN_NAMES and head not in self.module_bindings:
            full = f"builtins.{head}"
        else:
            full = head
        return f"{full}.{rest}" if rest else full

    def call_name(self, call: cst.Call) -> Optional[str]:
        return self.qualified_name(call.func)
