"""Enum classes: a fixed set of members, known when the class statement runs.

Shared by LK202 (caching on a member pins nothing new) and LK205 (a logger name built from a
member is one of a closed set of names).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames, dotted_name

ENUM_BASES = frozenset(
    {"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag", "enum.ReprEnum"}
)


def is_enum_class(owner: cst.ClassDef, names: ImportNames) -> bool:
    """A class whose base is an enum (``enum.Enum``, ``IntFlag``, a base named ``*Enum``)."""
    for base in owner.bases:
        qualified = names.qualified_name(base.value) or ""
        if qualified in ENUM_BASES or qualified.rsplit(".", 1)[-1].endswith(("Enum", "Flag")):
            return True
    return False


def enum_class_named(
    expr: cst.BaseExpression, module: cst.Module, names: ImportNames
) -> Optional[cst.ClassDef]:
    """The module-level enum class ``expr`` names (``Kind`` in ``Kind.RED``), or None."""
    name = dotted_name(expr)
    if name is None or "." in name:
        return None
    for statement in module.body:
        if (
            isinstance(statement, cst.ClassDef)
            and statement.name.value == name
            and is_enum_class(statement, names)
        ):
            return statement
    return None
