"""LeakMonitor: a production watchdog that profiles the process by creation site and raises an
alarm when something keeps growing.

Every ``interval`` seconds a daemon thread samples what grows when something leaks: threads,
asyncio tasks (of every loop), open descriptors, child processes, RSS, the traced heap (when
``tracemalloc`` traces) and, every ``objects_every`` samples, the most numerous object types.
Live objects are grouped by the line that created them (``track=True`` installs the runtime
hooks that record it), so an alarm names where the growth comes from. Threads, tasks,
descriptors and children are judged by those that lived through a whole interval: what comes
and goes between two samples is traffic, not a leak.

    leak alarm: threads rose in each of the last 3 samples: +9 (4 -> 13, threshold 5);
    grew most at: app/server.py:41 in handle (+9, 9 now)

Usage::

    from leaklint.runtime import LeakMonitor, Thresholds

    monitor = LeakMonitor(interval=10, track=True, heap=True, callbacks=(page_someone,))
    monitor.start()
    host, port = monitor.serve(port=9464)   # /metrics, /profile/threads, /profile/heap ...
    ...
    monitor.stop()

How growth becomes an alarm (and why a busy but steady process does not alarm) is in
:mod:`leaklint.runtime.alarms`; the endpoint is :mod:`leaklint.runtime.endpoint`; oversized
containers (``monitor.oversized()``) are :mod:`leaklint.runtime.oversized`.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
import time
import tracemalloc
from collections import Counter, deque
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional

import psutil  # type: ignore[import-untyped,unused-ignore]

from leaklint.runtime import heap as heap_profile
from leaklint.runtime import profiles
from leaklint.runtime.alarms import Alarm, GrowthJudge, SiteGrowth, Thresholds, Verdict
from leaklint.runtime.hooks import TRACKER, Tracker
from leaklint.runtime.oversized import Oversized, scan

if TYPE_CHECKING:
    from leaklint.runtime.endpoint import Endpoint

__all__ = ["Alarm", "LeakMonitor", "Thresholds"]

log = logging.getLogger("leaklint.monitor")

# Which profile kind names the sites of a growing figure.
FIGURE_KINDS = {"threads": "threads", "tasks": "tasks", "fds": "fds", "children": "processes"}
# Entries the hooks keep by object id or path; a long-running process must not grow them forever.
REGISTRY_CAP = 50_000
DEFAULT_THRESHOLDS = Thresholds()
HEAP_FIGURES = frozenset({"heap_bytes", "rss_bytes"})
SITES_KEPT = 200  # origins remembered per kind and sample (the most numerous)


class LeakMonitor:
    def __init__(
        self,
        interval: float = 10.0,
        rises: int = 3,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        callbacks: tuple[Callable[[Alarm], None], ...] = (),
        objects_every: int = 6,
        top_types: int = 10,
        track: bool = False,
        heap: bool = False,
        heap_frames: int = 1,
        heap_every: int = 6,
        oversized_every: int = 30,
        history: int = 64,
        tracker: Tracker = TRACKER,
    ) -> None:
        """``track`` installs the creation-site hooks while the monitor runs; ``heap`` starts
        ``tracemalloc`` (``heap_frames`` frames per allocation) for the heap profile, reduced
        to bytes per allocating line every ``heap_every`` samples (about 0.3 s per million
        traced blocks) and when the heap alarms;
        ``oversized_every`` scans for oversized containers every so many samples (0: only
        when :meth:`oversized` is called)."""
        if rises < 1:
            raise ValueError("rises must be at least 1")
        self.interval = interval
        self.rises = rises
        self.thresholds = thresholds
        self.callbacks = list(callbacks)
        self.objects_every = max(1, objects_every)
        self.top_types = top_types
        self.track = track
        self.heap = heap
        self.heap_frames = heap_frames
        self.heap_every = max(1, heap_every)
        self.oversized_every = oversized_every
        self.tracker = tracker
        self.samples = 0
        self.alarms: deque[Alarm] = deque(maxlen=100)
        self.alarm_counts: Counter[str] = Counter()
        self.started_at = time.time()
        self._judge = GrowthJudge(thresholds, rises)
        self._history = max(history, 4 * (rises + 1))
        self._series: dict[str, deque[float]] = {}
        self._site_counts: deque[dict[str, dict[profiles.Origin, int]]] = deque(
            maxlen=self._history)
        self._objects: dict[str, int] = {}
        self._heap = heap_profile.HeapHistory(rises + 2)
        self._oversized: list[Oversized] = []
        self._oversized_reported: set[tuple[str, tuple[str, ...]]] = set()
        self._oversized_cache: dict[tuple[int, int, int], Optional[int]] = {}
        self._profiler = profiles.Profiler(tracker)
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[Endpoint] = None
        self._lock = threading.Lock()
        self._tracking = False
        self._started_tracemalloc = False
        self._last_sample_at: Optional[float] = None
        self._latest: dict[str, float] = {}

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> LeakMonitor:
        if self.track and not self._tracking:
            self.tracker.install()
            self._tracking = True
        if self.heap and not tracemalloc.is_tracing():
            tracemalloc.start(self.heap_frames)
            self._started_tracemalloc = True
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="leaklint-monitor",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.interval * 2))
            self._thread = None
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._tracking:
            self.tracker.uninstall()
            self._tracking = False
        if self._started_tracemalloc:
            tracemalloc.stop()
            self._started_tracemalloc = False

    def __enter__(self) -> LeakMonitor:
        return self.start()

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a watchdog must not die of one bad sample
                log.exception("leaklint monitor: sampling failed")

    # --- sampling -------------------------------------------------------------------------
    def figures(self) -> dict[str, float]:
        """One reading of the cheap figures (no object census, no profile)."""
        lives = self._profiler.collect()
        return self._figures(lives)

    def _figures(self, lives: dict[str, list[profiles.Live]]) -> dict[str, float]:
        figures = {
            "rss_bytes": float(self._process.memory_info().rss),
            "threads": float(len(lives["threads"])),
            "tasks": float(len(lives["tasks"])),
            "fds": float(len(lives["fds"])),
            "children": float(len(lives["processes"])),
        }
        if tracemalloc.is_tracing():
            figures["heap_bytes"] = float(tracemalloc.get_traced_memory()[0])
        return figures

    def sample(self) -> list[Alarm]:
        """Take one sample now; returns the alarms it raised."""
        now = time.time()
        lives = self._profiler.collect(now=now)
        figures = self._figures(lives)
        judged, counts = self._settled(lives, now)
        judged.update({name: v for name, v in figures.items() if name not in judged})
        if self.samples % self.objects_every == 0:
            census = Counter(type(o).__name__ for o in gc.get_objects())
            self._objects = dict(census.most_common(self.top_types))
            # Judged only when counted: repeating a stale count would never read as a rise.
            judged.update({f"objects:{name}": float(n) for name, n in self._objects.items()})
        figures.update({f"objects:{name}": float(n) for name, n in self._objects.items()})
        snapshot = heap_profile.take() if self.samples % self.heap_every == 0 else None
        scan_now = self.oversized_every > 0 and self.samples % self.oversized_every == 0
        with self._lock:
            self.samples += 1
            self._latest = figures
            self._site_counts.append(counts)
            if snapshot is not None:
                self._heap.add(snapshot)
            verdicts = [v for v in (self._judge_figure(name, value)
                                    for name, value in judged.items()) if v is not None]
        if snapshot is None and any(v.figure in HEAP_FIGURES for v in verdicts):
            snapshot = heap_profile.take()  # name the lines that grew, as of now
            if snapshot is not None:
                with self._lock:
                    self._heap.add(snapshot)
        with self._lock:
            alarms = [v.alarm(self._grown_sites(v)) for v in verdicts]
        if scan_now:
            alarms += self._scan_oversized()
        self._raise(alarms)
        if self._tracking:
            _trim_registry(self.tracker)
        return alarms

    def _settled(self, lives: dict[str, list[profiles.Live]], now: float
                 ) -> tuple[dict[str, float], dict[str, dict[profiles.Origin, int]]]:
        """Counts of what lived through a whole interval, per figure and per origin: a thread,
        task or socket that comes and goes between two samples is traffic, one that stays is
        what a leak is made of. A pool's workers count once in the figure."""
        since = self._last_sample_at if self._last_sample_at is not None else now
        self._last_sample_at = now
        settled = {kind: [live for live in found if live.born <= since]
                   for kind, found in lives.items()}
        judged = {figure: float(profiles.pooled_count(settled[kind]))
                  for figure, kind in FIGURE_KINDS.items()}
        counts = {kind: _top(profiles.counts_by_origin(found)) for kind, found in settled.items()}
        return judged, counts

    def _judge_figure(self, name: str, value: float) -> Optional[Verdict]:
        series = self._series.setdefault(name, deque(maxlen=self._history))
        series.append(value)
        return self._judge.judge(name, list(series))

    def _raise(self, alarms: list[Alarm]) -> None:
        with self._lock:
            self.alarms.extend(alarms)
            self.alarm_counts.update(alarm.figure for alarm in alarms)
        for alarm in alarms:
            log.warning("%s", alarm)
            for callback in self.callbacks:
                try:
                    callback(alarm)
                except Exception:  # one failing pager must not silence the others
                    log.exception("leaklint monitor: alarm callback failed")

    def _grown_sites(self, verdict: Verdict, limit: int = 3) -> tuple[SiteGrowth, ...]:
        steps = len(verdict.values) - 1
        if verdict.figure in HEAP_FIGURES:
            return tuple(SiteGrowth(f"{profiles.short_path(g.site.file)}:{g.site.line}",
                                    float(g.growth_bytes), float(g.size_bytes))
                         for g in self._heap.over_window(limit))
        kind = FIGURE_KINDS.get(verdict.figure)
        if kind is None or len(self._site_counts) < 2:
            return ()
        before = self._site_counts[-min(steps + 1, len(self._site_counts))][kind]
        now = self._site_counts[-1][kind]
        grown = sorted(((count - before.get(origin, 0), origin, count)
                        for origin, count in now.items()),
                       key=lambda item: (-item[0], item[1].label))
        return tuple(SiteGrowth(origin.label, float(growth), float(count),
                                tuple(origin.stack()))
                     for growth, origin, count in grown[:limit] if growth > 0)

    # --- oversized containers -------------------------------------------------------------
    def oversized(self) -> list[Oversized]:
        """Scan for oversized containers now (a walk of every object: seconds on a huge heap,
        so the monitor does it only every ``oversized_every`` samples)."""
        found = scan(self.thresholds.oversized_bytes, self.thresholds.oversized_ratio,
                     verdicts=self._oversized_cache)
        with self._lock:
            self._oversized = found
        return found

    def _scan_oversized(self) -> list[Alarm]:
        alarms = []
        found = self.oversized()
        keys = set()
        for item in found:
            key = (item.type_name, item.referrers)
            keys.add(key)
            if key in self._oversized_reported:
                continue
            where = item.referrers[0] if item.referrers else f"a {item.type_name}"
            alarms.append(Alarm(f"oversized:{item.type_name}",
                                (float(item.copy_bytes), float(item.held_bytes)),
                                float(item.wasted_bytes), float(self.thresholds.oversized_bytes),
                                time.time(), (SiteGrowth(where, float(item.wasted_bytes),
                                                         float(item.held_bytes)),),
                                "oversized"))
        self._oversized_reported = keys  # one gone and back is news again
        return alarms

    # --- reporting ------------------------------------------------------------------------
    def profile(self, limit: int = 50) -> dict[str, Any]:
        """Live threads, tasks, descriptors and child processes grouped by creation site, the
        heap growth by allocating line since the first snapshot, the oversized containers of
        the last scan."""
        now = time.time()
        lives = self._profiler.collect(detailed=True, now=now)
        found: dict[str, Any] = {"at": now, "tracking": self.tracker.active}
        for kind in profiles.KINDS:
            found[kind] = profiles.kind_json(lives[kind], now, limit)
        with self._lock:
            found["heap"] = self._heap.to_json(limit)
            found["oversized"] = [item.to_json() for item in self._oversized]
        return found

    def report(self) -> dict[str, Any]:
        profile = self.profile()
        with self._lock:
            latest = dict(self._latest)
            return {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "samples": self.samples,
                "interval": self.interval,
                "rises": self.rises,
                "thresholds": dataclasses.asdict(self.thresholds),
                "latest": latest,
                "alarms": [alarm.to_json() for alarm in self.alarms],
                "alarm_counts": dict(self.alarm_counts),
                "profile": profile,
            }

    def prometheus(self) -> str:
        from leaklint.runtime.endpoint import prometheus_text

        return prometheus_text(self.report())

    def serve(self, port: int = 0, host: str = "127.0.0.1",
              allow_remote: bool = False) -> tuple[str, int]:
        """Serve the report, the metrics and the profiles on ``host:port`` (loopback and any
        free port by default). A non-loopback address is refused unless ``allow_remote``: the
        profiles show file names, thread names and descriptor targets."""
        from leaklint.runtime.endpoint import Endpoint

        if self._server is not None:
            self._server.close()
        self._server = Endpoint(self, host, port, allow_remote)
        return self._server.address


def _top(counts: dict[profiles.Origin, int]) -> dict[profiles.Origin, int]:
    if len(counts) <= SITES_KEPT:
        return counts
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:SITES_KEPT])


def _trim_registry(tracker: Tracker) -> None:
    """Forget the oldest entries of the hooks' id- and path-keyed tables past a cap: they only
    grow (an id or a path is never removed), and a monitor runs for months."""
    registry = tracker.registry
    tables: tuple[dict[Any, Any], ...] = (registry.by_id, registry.paths)
    for table in tables:
        excess = len(table) - REGISTRY_CAP
        if excess > 0:
            for key in list(table)[:excess]:  # dicts keep insertion order: oldest first
                table.pop(key, None)
