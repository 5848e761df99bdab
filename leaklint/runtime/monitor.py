"""LeakMonitor: a production watchdog that samples the process and raises an alarm on growth.

A daemon thread samples, every ``interval`` seconds, the figures that grow when something
leaks: RSS (psutil), traced heap (only if ``tracemalloc`` is already tracing), threads, open
descriptors, child processes and, every ``objects_every`` samples, the most numerous object
types (``gc.get_objects()`` is the expensive part, so it is sampled rarely). A figure alarms
only when it rose in each of the last ``rises`` samples *and* its growth over that window passes
its threshold: one burst of work does not page anybody. Alarms go to callbacks and the
``leaklint.monitor`` logger; :meth:`report` returns everything as a dict, and ``serve()`` exposes
it on 127.0.0.1 as JSON (``/``) and in Prometheus' text format (``/metrics``).
"""

from __future__ import annotations

import gc
import http.server
import json
import logging
import os
import threading
import time
import tracemalloc
from collections import Counter, deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Optional

import psutil  # type: ignore[import-untyped,unused-ignore]

log = logging.getLogger("leaklint.monitor")


def _child_count(process: psutil.Process) -> int:
    """Children via /proc/<pid>/task/*/children (cheap) where the kernel offers it; psutil
    otherwise (it scans every process of the machine)."""
    try:
        tasks = os.listdir("/proc/self/task")
        total = 0
        for task in tasks:
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                total += len(handle.read().split())
        return total
    except OSError:
        return len(process.children())


@dataclass(frozen=True)
class Thresholds:
    """Growth over the last ``rises`` samples that raises an alarm."""

    rss_bytes: float = 50 * 1024 * 1024
    heap_bytes: float = 20 * 1024 * 1024
    threads: float = 10
    fds: float = 20
    children: float = 5
    objects: float = 10_000  # of one type


@dataclass(frozen=True)
class Alarm:
    figure: str
    values: tuple[float, ...]
    growth: float
    threshold: float
    at: float

    def describe(self) -> str:
        return (f"{self.figure} rose in each of the last {len(self.values) - 1} samples "
                f"(+{self.growth:g}, threshold {self.threshold:g}): {list(self.values)}")


@dataclass
class _Series:
    values: deque[float] = field(default_factory=lambda: deque(maxlen=64))


class LeakMonitor:
    def __init__(
        self,
        interval: float = 10.0,
        rises: int = 5,
        thresholds: Thresholds = Thresholds(),
        callbacks: tuple[Callable[[Alarm], None], ...] = (),
        objects_every: int = 6,
        top_types: int = 10,
    ) -> None:
        if rises < 1:
            raise ValueError("rises must be at least 1")
        self.interval = interval
        self.rises = rises
        self.thresholds = thresholds
        self.callbacks = list(callbacks)
        self.objects_every = max(1, objects_every)
        self.top_types = top_types
        self.samples = 0
        self.alarms: deque[Alarm] = deque(maxlen=100)
        self._series: dict[str, _Series] = {}
        self._objects: dict[str, int] = {}
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[http.server.ThreadingHTTPServer] = None
        self._server_thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.started_at = time.time()

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> LeakMonitor:
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
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
            self._server_thread = None

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
        """One reading of the cheap figures (no object census)."""
        figures = {
            "rss_bytes": float(self._process.memory_info().rss),
            "threads": float(threading.active_count()),
            "children": float(_child_count(self._process)),
        }
        try:
            figures["fds"] = float(self._process.num_fds())
        except (AttributeError, psutil.Error):  # not on Windows
            figures["fds"] = float(len(self._process.open_files()))
        if tracemalloc.is_tracing():
            figures["heap_bytes"] = float(tracemalloc.get_traced_memory()[0])
        return figures

    def sample(self) -> list[Alarm]:
        figures = self.figures()
        if self.samples % self.objects_every == 0:
            census = Counter(type(o).__name__ for o in gc.get_objects())
            self._objects = dict(census.most_common(self.top_types))
        for name, count in self._objects.items():
            figures[f"objects:{name}"] = float(count)
        with self._lock:
            self.samples += 1
            for name, value in figures.items():
                self._series.setdefault(name, _Series()).values.append(value)
            alarms = [a for a in (self._judge(name) for name in figures) if a is not None]
            self.alarms.extend(alarms)
        for alarm in alarms:
            log.warning("leaklint monitor: %s", alarm.describe())
            for callback in self.callbacks:
                callback(alarm)
        return alarms

    def _threshold(self, name: str) -> float:
        if name.startswith("objects:"):
            return self.thresholds.objects
        return float(getattr(self.thresholds, name))

    def _judge(self, name: str) -> Optional[Alarm]:
        values = list(self._series[name].values)[-(self.rises + 1):]
        if len(values) < self.rises + 1:
            return None
        if not all(b > a for a, b in zip(values, values[1:])):
            return None
        growth = values[-1] - values[0]
        threshold = self._threshold(name)
        if growth < threshold:
            return None
        return Alarm(name, tuple(values), growth, threshold, time.time())

    # --- reporting ------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        with self._lock:
            latest = {name: s.values[-1] for name, s in self._series.items() if s.values}
            return {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "samples": self.samples,
                "interval": self.interval,
                "rises": self.rises,
                "latest": latest,
                "alarms": [
                    {"figure": a.figure, "growth": a.growth, "threshold": a.threshold,
                     "values": list(a.values), "at": a.at, "message": a.describe()}
                    for a in self.alarms
                ],
            }

    def prometheus(self) -> str:
        report = self.report()
        lines = ["# HELP leaklint_samples_total Samples taken by the leak monitor.",
                 "# TYPE leaklint_samples_total counter",
                 f"leaklint_samples_total {report['samples']}",
                 "# HELP leaklint_alarms_total Alarms raised by the leak monitor.",
                 "# TYPE leaklint_alarms_total counter",
                 f"leaklint_alarms_total {len(report['alarms'])}"]
        for name, value in sorted(report["latest"].items()):
            if name.startswith("objects:"):
                type_name = name.split(":", 1)[1].replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'leaklint_objects{{type="{type_name}"}} {value:g}')
            else:
                lines.append(f"# TYPE leaklint_{name} gauge")
                lines.append(f"leaklint_{name} {value:g}")
        return "\n".join(lines) + "\n"

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> tuple[str, int]:
        """Serve the report on ``host:port`` (loopback, any free port by default)."""
        monitor = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/metrics"):
                    body = monitor.prometheus().encode()
                    kind = "text/plain; version=0.0.4"
                else:
                    body = json.dumps(monitor.report()).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._server_thread = threading.Thread(target=self._server.serve_forever,
                                               name="leaklint-monitor-http", daemon=True)
        self._server_thread.start()
        address = self._server.server_address
        return str(address[0]), int(address[1])
