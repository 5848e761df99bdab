"""How a thread becomes a daemon: the facts that the thread and worker-loop rules share.

A daemon thread dies with its process: an endless loop in one is the process's own lifetime,
not a thread that keeps the process from exiting.
"""

from __future__ import annotations

from collections.abc import Collection

import libcst as cst

from leaklint.analysis.names import dotted_name
from leaklint.analysis.scopes import Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.walker import iter_nodes


def is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value in ("False", "None")


def daemon_keyword(call: cst.Call) -> bool:
    """``Thread(target=f, daemon=True)``."""
    return any(
        arg.keyword is not None and arg.keyword.value == "daemon" and not is_false(arg.value)
        for arg in call.args
    )


def sets_daemon(node: cst.CSTNode, holders: Collection[str]) -> bool:
    """``h.daemon = True``, ``h.setDaemon(True)``, ``super().__init__(daemon=True)``."""
    # Exact types: libcst's classes are ABCs, whose isinstance is slow, and this is asked of
    # every assignment and call of a module.
    if type(node) is cst.Assign:
        return any(
            type(t.target) is cst.Attribute
            and t.target.attr.value == "daemon"
            and dotted_name(t.target.value) in holders
            for t in node.targets
        ) and not is_false(node.value)
    if type(node) is not cst.Call or type(node.func) is not cst.Attribute:
        return False
    method = node.func.attr.value
    if method == "setDaemon":
        receiver = dotted_name(node.func.value)
        return (
            receiver is not None and receiver in holders
            and bool(node.args) and not is_false(node.args[0].value)
        )
    return method == "__init__" and "self" in holders and daemon_keyword(node)


class DaemonClasses(Analysis):
    """Thread subclasses defined at the top of the module that make themselves daemons (in
    their body: ``self.daemon = True``, ``super().__init__(daemon=True)``), and the classes
    of the module derived from one (``class Reloader(ReloaderBase)``)."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        classes = [s for s in context.module.body if isinstance(s, cst.ClassDef)]
        top_level = {id(c) for c in classes}
        scopes = context.analysis(Scopes)
        found: set[str] = set()
        # From the scope model's lists of assignments and calls rather than a walk of every
        # class body: the few that make a daemon are placed by their ancestors.
        for node in scopes.nodes_of_type(cst.Assign, cst.Call):
            if not sets_daemon(node, ("self",)):
                continue
            around = scopes.ancestors(node)  # the module, then the statement at the top ...
            if len(around) > 2 and id(around[1]) in top_level:
                top = around[1]
                assert isinstance(top, cst.ClassDef)
                if around[2] is top.body:  # not its decorators or bases
                    found.add(top.name.value)
        changed = True
        while changed:
            changed = False
            for c in classes:
                if c.name.value not in found and any(
                    isinstance(base.value, cst.Name) and base.value.value in found
                    for base in c.bases
                ):
                    found.add(c.name.value)
                    changed = True
        self.names = frozenset(found)


def any_sets_daemon(root: cst.CSTNode, holders: Collection[str]) -> bool:
    return any(sets_daemon(node, holders) for node in iter_nodes(root))
