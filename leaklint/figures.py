"""How every report writes a figure: ``4,194,360 bytes``, ``1 entry``, ``12.5 items``."""

from __future__ import annotations

import math


def amount(value: float, unit: str = "") -> str:
    """Whole numbers with thousands separators (never ``4.19436e+06``), others with one
    decimal; ``unit`` is given in the plural and written in the singular for exactly one."""
    if math.isnan(value) or math.isinf(value):
        number = "unknown"
    elif float(value).is_integer():
        number = f"{int(value):,}"
    else:
        number = f"{value:,.1f}"
    if not unit:
        return number
    return f"{number} {_singular(unit) if value == 1 else unit}"


def _singular(unit: str) -> str:
    if unit.endswith("ies"):
        return unit[:-3] + "y"
    return unit[:-1] if unit.endswith("s") else unit
