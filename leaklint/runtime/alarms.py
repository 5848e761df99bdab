"""When a figure's growth is a leak: thresholds, the growth judgement, and the alarm it raises.

A leak is told from a busy but steady process by two shapes of growth:

* **rising**: the figure rose in each of the last ``rises`` samples, by at least its threshold
  in all, and ended above everything seen before that window (a burst that only returns to a
  level already seen does not count);
* **creeping**: over the history kept (at least ``4 * (rises + 1)`` samples), the floor - the
  lowest value - rose from each third to the next, by at least the threshold in all. Bursts
  come and go above the floor; what leaks lifts the floor.

An alarm, once raised, is not raised again for the same figure until the condition has cleared
(the figure fell back below half of its growth) or the growth has doubled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

MiB = 1024 * 1024
BYTE_FIGURES = frozenset({"rss_bytes", "heap_bytes"})


@dataclass(frozen=True)
class Thresholds:
    """Growth of each figure over the alarm window that raises an alarm (defaults documented in
    the README: they catch 2-3 leaked threads, tasks or descriptors per sample in 4 samples)."""

    threads: float = 5
    tasks: float = 5
    fds: float = 5
    children: float = 3
    rss_bytes: float = 64 * MiB
    heap_bytes: float = 16 * MiB  # only when tracemalloc traces
    objects: float = 10_000  # live objects of one type (the census every few samples)
    # Oversized containers: allocated bytes at least this many ...
    oversized_bytes: int = 1 * MiB
    # ... and at least this many times what a fresh copy of the same length holds.
    oversized_ratio: float = 4.0

    def for_figure(self, figure: str) -> float:
        if figure.startswith("objects:"):
            return self.objects
        return float(getattr(self, figure))


@dataclass(frozen=True)
class SiteGrowth:
    """A creation site (or allocating line, or object type) and how much it grew."""

    site: str
    growth: float
    now: float
    stack: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "growth": self.growth, "now": self.now,
                "stack": list(self.stack)}


def amount(figure: str, value: float) -> str:
    if figure in BYTE_FIGURES or figure.endswith("bytes"):
        for unit, size in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
            if abs(value) >= size:
                return f"{value / size:.1f} {unit}"
        return f"{value:.0f} B"
    return f"{value:g}"


@dataclass(frozen=True)
class Alarm:
    figure: str  # the kind: threads, tasks, fds, children, heap_bytes, rss_bytes, objects:T
    values: tuple[float, ...]
    growth: float
    threshold: float
    at: float
    sites: tuple[SiteGrowth, ...] = ()
    shape: str = "rising"  # or "creeping", or "oversized" (a container, see oversized.py)
    repeated: bool = False  # raised again because the growth doubled since the last alarm
    since_first: float = 0.0  # growth since the window of the first alarm, when repeated

    def describe(self) -> str:
        figure = self.figure
        if self.shape == "oversized":
            where = self.sites[0].site if self.sites else "a container"
            return (f"{figure}: {where} holds {amount('bytes', self.values[-1])} where a copy "
                    f"would hold {amount('bytes', self.values[0])} (+{amount('bytes', self.growth)}"
                    f" kept after its entries were removed; rebuild or clear it)")
        first, last = amount(figure, self.values[0]), amount(figure, self.values[-1])
        if self.shape == "rising":
            how = f"rose in each of the last {len(self.values) - 1} samples"
        else:
            how = f"kept a rising floor over the last {len(self.values)} samples"
        text = (f"{figure} {how}: +{amount(figure, self.growth)} ({first} -> {last}, "
                f"threshold {amount(figure, self.threshold)})")
        if self.repeated:
            text += (f"; growth doubled since the last alarm (+{amount(figure, self.since_first)}"
                     " since the first)")
        if self.sites:
            grown = ", ".join(f"{s.site} (+{amount(figure, s.growth)}, {amount(figure, s.now)} now)"
                              for s in self.sites)
            text += f"; grew most at: {grown}"
        return text

    def __str__(self) -> str:
        return f"leak alarm: {self.describe()}"

    def to_json(self) -> dict[str, Any]:
        return {"figure": self.figure, "growth": self.growth, "threshold": self.threshold,
                "values": list(self.values), "at": self.at, "shape": self.shape,
                "repeated": self.repeated, "since_first": self.since_first,
                "sites": [s.to_json() for s in self.sites], "message": self.describe()}


@dataclass(frozen=True)
class Verdict:
    """A figure's growth qualifies: over ``values`` (the last ``len(values)`` samples)."""

    figure: str
    values: tuple[float, ...]
    growth: float
    threshold: float
    shape: str
    repeated: bool = False
    since_first: float = 0.0

    def alarm(self, sites: tuple[SiteGrowth, ...]) -> Alarm:
        return Alarm(self.figure, self.values, self.growth, self.threshold, time.time(), sites,
                     self.shape, self.repeated, self.since_first)


def rising(values: list[float], rises: int) -> Optional[tuple[float, ...]]:
    window = values[-(rises + 1):]
    if len(window) < rises + 1 or not all(b > a for a, b in zip(window, window[1:])):
        return None
    before = values[:-(rises + 1)]
    if before and window[-1] <= max(before):
        return None  # back within the range already seen: a burst, not news
    return tuple(window)


def creeping(values: list[float], rises: int) -> Optional[tuple[float, ...]]:
    if len(values) < 4 * (rises + 1):
        return None
    third = len(values) // 3
    floors = [min(values[:third]), min(values[third:2 * third]), min(values[2 * third:])]
    if not floors[0] < floors[1] < floors[2]:
        return None
    start = values.index(floors[0])
    return tuple(values[start:])


class GrowthJudge:
    """Decides, sample after sample, which figures alarm; remembers what it already raised."""

    def __init__(self, thresholds: Thresholds, rises: int) -> None:
        self.thresholds = thresholds
        self.rises = rises
        self._raised: dict[str, tuple[float, float]] = {}  # figure -> (base, value when raised)

    def judge(self, figure: str, values: list[float]) -> Optional[Verdict]:
        if not values:
            return None
        latest = values[-1]
        repeated = False
        raised = self._raised.get(figure)
        if raised is not None:
            base, top = raised
            if latest <= base + (top - base) / 2:
                del self._raised[figure]  # cleared: the next growth is news again
                return None
            if latest - base < 2 * (top - base):
                return None
            repeated = True
        threshold = self.thresholds.for_figure(figure)
        for shape, window in (("rising", rising(values, self.rises)),
                              ("creeping", creeping(values, self.rises))):
            if window is None:
                continue
            growth = window[-1] - window[0] if shape == "rising" else (
                min(window[-(self.rises + 1):]) - window[0])
            if growth < threshold:
                continue
            base = raised[0] if raised is not None else window[0]
            self._raised[figure] = (base, latest)
            return Verdict(figure, window, growth, threshold, shape, repeated,
                           latest - base if repeated else 0.0)
        return None
