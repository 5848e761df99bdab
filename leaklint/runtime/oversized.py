"""Oversized containers: dicts, sets, lists and bytearrays that hold far more memory than their
length needs.

A dict that once held a burst of entries keeps its whole table after they are deleted (a
million entries deleted down to ten still hold 40 MB; ``dict(d)`` or ``d.clear()`` gives it
back). Nothing grows, so no growth alarm sees it. The scan compares ``sys.getsizeof`` of each
container with that of a fresh copy of the same length, and names who refers to it.

Finding containers: ``gc.get_objects()`` misses dicts and sets of atoms (CPython stops tracking
them) and every bytearray, so the scan also looks at what each tracked object refers to.
"""

from __future__ import annotations

import gc
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

CONTAINER_TYPES: tuple[type, ...] = (dict, set, list, bytearray)
_CHUNK = 5_000
# The fewest bytes per element a fresh container of each type needs: a container below
# ``ratio`` times this cannot be oversized, so it is never copied to find out.
_MIN_BYTES_PER_ITEM: dict[type, int] = {dict: 17, set: 16, list: 8, bytearray: 1}


@dataclass(frozen=True)
class Oversized:
    type_name: str
    length: int
    held_bytes: int
    copy_bytes: int  # what a fresh copy of the same contents holds
    referrers: tuple[str, ...]  # e.g. "app.cache.SESSIONS", "Server.pending"

    @property
    def wasted_bytes(self) -> int:
        return self.held_bytes - self.copy_bytes

    def describe(self) -> str:
        names = ", ".join(self.referrers) or "no named referrer"
        return (f"{self.type_name} of length {self.length} holds {self.held_bytes:,} bytes; a "
                f"copy would hold {self.copy_bytes:,} ({names}): rebuild it (`x = "
                f"{self.type_name}(x)`) or `clear()` it when emptied")

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type_name, "length": self.length, "held_bytes": self.held_bytes,
                "copy_bytes": self.copy_bytes, "wasted_bytes": self.wasted_bytes,
                "referrers": list(self.referrers), "message": self.describe()}


def _candidates(skip: set[int]) -> Iterator[Any]:
    """Every container reachable in one step from a tracked object, each once."""
    seen: set[int] = set()
    tracked = gc.get_objects()
    try:
        for start in range(0, len(tracked), _CHUNK):
            chunk = tracked[start:start + _CHUNK]
            for obj in (*chunk, *gc.get_referents(*chunk)):
                if type(obj) in _MIN_BYTES_PER_ITEM and id(obj) not in seen and (
                    id(obj) not in skip
                ):
                    seen.add(id(obj))
                    yield obj
    finally:
        del tracked


def _fresh_size(container: Any) -> Optional[int]:
    try:
        return sys.getsizeof(type(container)(container))
    except Exception:  # changed size while copied by another thread: judge it next time
        return None


def _module_dicts() -> dict[int, str]:
    return {id(vars(m)): name for name, m in list(sys.modules.items())
            if isinstance(m, types.ModuleType)}


def referrer_names(target: Any, limit: int = 3) -> tuple[str, ...]:
    """Names that reach ``target``: ``module.NAME`` for a module global, ``Class.attr`` for an
    attribute (of a class or an instance), ``[key]`` below a named dict."""
    names: list[str] = []
    modules = _module_dicts()
    for holder in gc.get_referrers(target):
        if len(names) >= limit:
            break
        if isinstance(holder, dict):
            key = next((k for k, v in list(holder.items()) if v is target), None)
            if key is None:
                continue
            if id(holder) in modules:
                names.append(f"{modules[id(holder)]}.{key}")
                continue
            owner = _dict_owner(holder)
            names.append(f"{owner}.{key}" if owner else f"a dict[{key!r}]")
        elif isinstance(holder, type):
            names += [f"{holder.__module__}.{holder.__qualname__}.{k}"
                      for k, v in vars(holder).items() if v is target][:1]
        elif not isinstance(holder, (types.FrameType, list, tuple, set)):
            attrs = getattr(holder, "__dict__", None)
            found = [k for k, v in (attrs or {}).items() if v is target][:1]
            for slot in getattr(type(holder), "__slots__", ()):
                if getattr(holder, slot, None) is target:
                    found.append(slot)
            cls = type(holder)
            names += [f"{cls.__module__}.{cls.__qualname__}.{k}" for k in found[:1]]
    return tuple(names)


def _dict_owner(mapping: dict[Any, Any]) -> str:
    """The object whose ``__dict__`` this is, as ``module.Class`` (or ``module.Class`` of the
    class itself), else empty."""
    for holder in gc.get_referrers(mapping):
        if getattr(holder, "__dict__", None) is mapping:
            cls = holder if isinstance(holder, type) else type(holder)
            return f"{cls.__module__}.{cls.__qualname__}"
    return ""


def scan(min_bytes: int, ratio: float, limit: int = 20,
         verdicts: Optional[dict[tuple[int, int, int], Optional[int]]] = None
         ) -> list[Oversized]:
    """The oversized containers of the process, largest waste first.

    ``verdicts`` caches the fresh-copy size by (id, length, size) between scans, so a large
    container that did not change is copied once, not at every scan.
    """
    cache = verdicts if verdicts is not None else {}
    found: list[tuple[Any, int, int]] = []
    own: set[int] = {id(cache), id(found)}
    seen_keys: set[tuple[int, int, int]] = set()
    for container in _candidates(own):
        held = sys.getsizeof(container)
        if held < min_bytes:
            continue
        length = len(container)
        if held < ratio * length * _MIN_BYTES_PER_ITEM[type(container)]:
            continue
        key = (id(container), length, held)
        seen_keys.add(key)
        if key not in cache:
            cache[key] = _fresh_size(container)
        fresh = cache[key]
        if fresh is not None and held >= ratio * fresh:
            found.append((container, held, fresh))
    for key in [k for k in cache if k not in seen_keys]:
        del cache[key]
    found.sort(key=lambda item: item[2] - item[1])
    reports = [Oversized(type(c).__name__, len(c), held, fresh, referrer_names(c))
               for c, held, fresh in found[:limit]]
    del found
    return reports
