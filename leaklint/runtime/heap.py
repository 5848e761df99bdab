"""The heap profile: retained memory per allocating line from ``tracemalloc``, and which lines
grew between two snapshots (like a pprof heap profile diff against a base).

A snapshot is reduced at once to ``{(file, line): (bytes, blocks)}``, so keeping a few of them
costs a dict per snapshot, not the traces themselves.
"""

from __future__ import annotations

import itertools
import operator
import os
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from leaklint.runtime.records import Site

Lines = dict[tuple[str, int], tuple[int, int]]  # (file, line) -> (bytes, blocks)
# The monitor's own allocations and tracemalloc's are not the application's.
_SIZE = operator.itemgetter(1)
_IGNORED = (os.path.dirname(os.path.abspath(__file__)) + os.sep, tracemalloc.__file__)


@dataclass(frozen=True)
class HeapSnapshot:
    at: float
    traced_bytes: int
    lines: Lines


@dataclass(frozen=True)
class LineGrowth:
    site: Site
    growth_bytes: int
    size_bytes: int
    blocks: int
    block_growth: int

    def to_json(self) -> dict[str, Any]:
        return {"site": f"{self.site.file}:{self.site.line}", "file": self.site.file,
                "line": self.site.line, "growth_bytes": self.growth_bytes,
                "size_bytes": self.size_bytes, "blocks": self.blocks,
                "block_growth": self.block_growth}


def _raw_traces() -> list[tuple[Any, ...]]:
    """The traces as tracemalloc holds them: (domain, size, frames most recent first, ...).

    ``Snapshot.statistics`` builds a Trace, a Traceback and a Frame object for each block, some
    ten times the cost of grouping the raw tuples; the private reader is used when it exists.
    """
    reader = getattr(tracemalloc, "_get_traces", None)
    if reader is None:  # pragma: no cover - every CPython 3.9-3.13 has it
        return [(t.domain, t.size, tuple((f.filename, f.lineno) for f in reversed(t.traceback)))
                for t in tracemalloc.take_snapshot().traces]
    return list(reader())


def take() -> Optional[HeapSnapshot]:
    if not tracemalloc.is_tracing():
        return None
    traced = tracemalloc.get_traced_memory()[0]
    traces = _raw_traces()
    # Sorted and grouped in C: a Python loop adding sizes allocates an int per block, and
    # tracemalloc traces each of those allocations (ten times slower on a big heap).
    by_frames = operator.itemgetter(2)
    traces.sort(key=by_frames)
    lines: Lines = {}
    for frames, same in itertools.groupby(traces, by_frames):
        grouped = list(same)
        key = frames[0] if frames else ("<unknown>", 0)
        if key[0].startswith(_IGNORED):
            continue
        size, blocks = lines.get(key, (0, 0))
        lines[key] = (size + sum(map(_SIZE, grouped)), blocks + len(grouped))
    del traces
    return HeapSnapshot(time.time(), traced, lines)


def growth(old: HeapSnapshot, new: HeapSnapshot, limit: int = 20) -> list[LineGrowth]:
    """The lines whose retained bytes grew most from ``old`` to ``new``."""
    found = []
    for key, (size, blocks) in new.lines.items():
        old_size, old_blocks = old.lines.get(key, (0, 0))
        if size > old_size:
            found.append(LineGrowth(Site(key[0], key[1]), size - old_size, size, blocks,
                                    blocks - old_blocks))
    found.sort(key=lambda g: -g.growth_bytes)
    return found[:limit]


class HeapHistory:
    """The first snapshot (the base) and the last few, for the profile and for alarms."""

    def __init__(self, keep: int) -> None:
        self.base: Optional[HeapSnapshot] = None
        self.recent: deque[HeapSnapshot] = deque(maxlen=max(2, keep))

    def add(self, snapshot: HeapSnapshot) -> None:
        if self.base is None:
            self.base = snapshot
        self.recent.append(snapshot)

    def since_base(self, limit: int = 20) -> list[LineGrowth]:
        if self.base is None or not self.recent:
            return []
        return growth(self.base, self.recent[-1], limit)

    def over_window(self, limit: int = 5) -> list[LineGrowth]:
        """Growth from the oldest snapshot kept (at least an alarm window back) to the last."""
        if len(self.recent) < 2:
            return []
        return growth(self.recent[0], self.recent[-1], limit)

    def to_json(self, limit: int = 20) -> dict[str, Any]:
        if self.base is None or not self.recent:
            return {"tracing": tracemalloc.is_tracing(), "sites": []}
        latest = self.recent[-1]
        return {
            "tracing": tracemalloc.is_tracing(),
            "base_at": self.base.at,
            "at": latest.at,
            "traced_bytes": latest.traced_bytes,
            "growth_bytes": latest.traced_bytes - self.base.traced_bytes,
            "sites": [g.to_json() for g in self.since_base(limit)],
        }
