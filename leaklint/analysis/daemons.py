"""How a thread becomes a daemon: the facts that the thread and worker-loop rules share.

A daemon thread dies with its process: an endless loop in one is the process's own lifetime,
not a thread that keeps the process from exiting.
"""

from __future__ import annotations

from collections.abc import Collection

import libcst as cst

from leaklint.analysis.names import dotted_name
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
    if isinstance(node, cst.Assign):
        return any(
            isinstance(t.target, cst.Attribute)
            and t.target.attr.value == "daemon"
            and dotted_name(t.target.value) in holders
            for t in node.targets
        ) and not is_false(node.value)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "setDaemon" and dotted_name(node.func.value) in holders:
            return bool(node.args) and not is_false(node.args[0].value)
        if node.func.attr.value == "__init__" and "self" in holders:
            return daemon_keyword(node)
    return False


def daemon_classes(module: cst.Module) -> frozenset[str]:
    """Thread subclasses defined at the top of ``module`` that make themselves daemons, and
    the classes of the module derived from one (``class Reloader(ReloaderBase)``)."""
    classes = [s for s in module.body if isinstance(s, cst.ClassDef)]
    found = {
        c.name.value
        for c in classes
        if any(sets_daemon(node, ("self",)) for node in iter_nodes(c.body))
    }
    changed = True
    while changed:
        changed = False
        for c in classes:
            if c.name.value not in found and any(
                isinstance(base.value, cst.Name) and base.value.value in found for base in c.bases
            ):
                found.add(c.name.value)
                changed = True
    return frozenset(found)


def any_sets_daemon(root: cst.CSTNode, holders: Collection[str]) -> bool:
    return any(sets_daemon(node, holders) for node in iter_nodes(root))
