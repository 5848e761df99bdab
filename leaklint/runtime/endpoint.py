"""The monitor's HTTP endpoint: Prometheus metrics, the JSON report and the live profiles.

Paths: ``/metrics`` (Prometheus text format 0.0.4), ``/`` (the JSON report), ``/profile`` and
``/profile/{threads,tasks,fds,processes,heap,oversized}`` (text; JSON with ``?format=json``);
anything else is a 404. It binds to loopback unless told otherwise, and no handler can stall
the process: handlers run on their own daemon threads with a socket timeout, serve the heap
profile and oversized scan from the last sample (taking either holds the interpreter for long on
a big heap), and at most a few run at once.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

from leaklint.runtime.alarms import amount

if TYPE_CHECKING:
    from leaklint.runtime.monitor import LeakMonitor

PROFILE_KINDS = ("threads", "tasks", "fds", "processes", "heap", "oversized")
GAUGES = (
    ("threads", "Live threads (the monitor's own excluded)."),
    ("tasks", "Pending asyncio tasks, all event loops."),
    ("fds", "Open file descriptors and sockets."),
    ("children", "Child processes, running or not yet waited for."),
    ("rss_bytes", "Resident set size of the process."),
    ("heap_bytes", "Memory traced by tracemalloc (only while it traces)."),
)
SITES_PER_KIND = 10  # label sets per kind in /metrics: enough to see who grows, bounded
MAX_HANDLERS = 4
HANDLER_TIMEOUT = 5.0
OWN_THREAD_NAME = "leaklint-monitor-http"


class NotLoopback(ValueError):
    """Raised when asked to serve on an address other machines can reach."""


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    if not host:
        return False  # "" binds every interface
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


# --- Prometheus text exposition -------------------------------------------------------------
def number(value: float) -> str:
    """Integer-valued figures as integers (``25505792``, not ``2.55058e+07``)."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(lines: list[str], name: str, kind: str, help_text: str,
            samples: list[tuple[dict[str, str], float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        shown = ",".join(f'{key}="{_label(text)}"' for key, text in labels.items())
        lines.append(f"{name}{{{shown}}} {number(value)}" if shown else f"{name} {number(value)}")


def prometheus_text(report: dict[str, Any]) -> str:
    lines: list[str] = []
    _family(lines, "leaklint_samples_total", "counter", "Samples taken by the leak monitor.",
            [({}, report["samples"])])
    counts = dict.fromkeys((name for name, _ in GAUGES), 0)
    counts.update(report["alarm_counts"])
    _family(lines, "leaklint_alarms_total", "counter", "Leak alarms raised, by figure.",
            [({"figure": figure}, count) for figure, count in sorted(counts.items())])
    latest = report["latest"]
    for name, help_text in GAUGES:
        if name in latest:
            _family(lines, f"leaklint_{name}", "gauge", help_text, [({}, latest[name])])
    objects = [({"type": name.split(":", 1)[1]}, value) for name, value in sorted(latest.items())
               if name.startswith("objects:")]
    if objects:
        _family(lines, "leaklint_objects", "gauge",
                "Live objects of the most numerous types (census every few samples).", objects)
    profile = report["profile"]
    by_site = [({"kind": kind, "site": group["site"]}, group["count"])
               for kind in ("threads", "tasks", "fds", "processes")
               for group in profile[kind]["sites"][:SITES_PER_KIND]]
    _family(lines, "leaklint_live_objects", "gauge",
            "Live threads, tasks, descriptors and children by creation site (top sites).",
            by_site)
    heap_sites = profile["heap"]["sites"][:SITES_PER_KIND]
    if heap_sites:
        _family(lines, "leaklint_heap_growth_bytes", "gauge",
                "Retained memory growth by allocating line since the first heap snapshot.",
                [({"site": s["site"]}, s["growth_bytes"]) for s in heap_sites])
    oversized = profile["oversized"]
    _family(lines, "leaklint_oversized_bytes", "gauge",
            "Bytes held by oversized containers (far above what a copy would hold).",
            [({"type": o["type"], "referrer": ",".join(o["referrers"]) or "?"}, o["held_bytes"])
             for o in oversized])
    return "\n".join(lines) + "\n"


# --- text profiles -------------------------------------------------------------------------
def _age(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.1f}s"


def profile_text(profile: dict[str, Any], kind: str) -> str:
    if kind == "heap":
        return heap_text(profile["heap"])
    if kind == "oversized":
        items = profile["oversized"]
        if not items:
            return "oversized containers: none found in the last scan\n"
        return "".join(f"{item['message']}\n" for item in items)
    section = profile[kind]
    lines = [f"{kind}: {section['total']} live at {len(section['sites'])} sites",
             f"{'COUNT':>7}  {'OLDEST':>7}  {'NEWEST':>7}  CREATED AT"]
    for group in section["sites"]:
        lines.append(f"{group['count']:>7}  {_age(group['oldest_age']):>7}  "
                     f"{_age(group['newest_age']):>7}  {group['site']}")
        stack = group["stack"]
        if len(stack) > 1:
            lines.append(f"{'':>27}called from {stack[0]}")
        for where, count in group["now_at"].items():
            lines.append(f"{'':>27}now at {where} ({count})")
        if group["examples"]:
            lines.append(f"{'':>27}e.g. {', '.join(group['examples'])}")
    return "\n".join(lines) + "\n"


def heap_text(heap: dict[str, Any]) -> str:
    if not heap["sites"] and "traced_bytes" not in heap:
        hint = "" if heap["tracing"] else " (tracemalloc is not tracing: LeakMonitor(heap=True))"
        return f"heap: no snapshot yet{hint}\n"
    lines = [f"heap: {amount('bytes', heap['traced_bytes'])} traced, "
             f"{amount('bytes', heap['growth_bytes'])} more than the first snapshot",
             f"{'GROWTH':>10}  {'NOW':>10}  {'BLOCKS':>8}  ALLOCATED AT"]
    for site in heap["sites"]:
        lines.append(f"{amount('bytes', site['growth_bytes']):>10}  "
                     f"{amount('bytes', site['size_bytes']):>10}  {site['blocks']:>8}  "
                     f"{site['site']}")
    return "\n".join(lines) + "\n"


# --- the server ----------------------------------------------------------------------------
class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        # Named so the monitor leaves its own handler threads out of the thread profile.
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address),
                                  name=f"{OWN_THREAD_NAME}-request", daemon=True)
        thread.start()


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(monitor: LeakMonitor) -> type[http.server.BaseHTTPRequestHandler]:
    busy = threading.BoundedSemaphore(MAX_HANDLERS)

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = HANDLER_TIMEOUT  # a client that stops reading or writing is dropped

        def do_GET(self) -> None:
            if not busy.acquire(blocking=False):
                self._send(503, "too many requests at once\n", "text/plain")
                return
            try:
                self._route()
            except Exception as exc:  # report it to the caller, keep serving
                self._send(500, f"leaklint monitor: {type(exc).__name__}: {exc}\n",
                           "text/plain")
            finally:
                busy.release()

        def _route(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            as_json = urllib.parse.parse_qs(url.query).get("format") == ["json"]
            if path.endswith(".json"):
                path, as_json = path[: -len(".json")], True
            if path == "/metrics":
                self._send(200, monitor.prometheus(), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/":
                self._json(monitor.report())
            elif path == "/profile":
                profile = monitor.profile()
                if as_json:
                    self._json(profile)
                else:
                    self._send(200, "\n".join(profile_text(profile, kind)
                                              for kind in PROFILE_KINDS), "text/plain")
            elif path.startswith("/profile/") and path[len("/profile/"):] in PROFILE_KINDS:
                kind = path[len("/profile/"):]
                profile = monitor.profile()
                if as_json:
                    self._json(profile[kind])
                else:
                    self._send(200, profile_text(profile, kind), "text/plain")
            else:
                known = ", ".join(["/", "/metrics", "/profile",
                                   *(f"/profile/{k}" for k in PROFILE_KINDS)])
                self._send(404, f"not found: {url.path}; try {known}\n", "text/plain")

        def _json(self, data: Any) -> None:
            self._send(200, json.dumps(data), "application/json")

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # a scrape every few seconds is not news for the application's stderr

    return Handler


class Endpoint:
    def __init__(self, monitor: LeakMonitor, host: str, port: int, allow_remote: bool) -> None:
        if not allow_remote and not is_loopback(host):
            raise NotLoopback(
                f"refusing to serve the leak monitor on {host!r}: it is not a loopback address "
                "and the profiles show file names, thread names and descriptor targets; serve "
                "on 127.0.0.1 (the default) or pass allow_remote=True")
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _handler(monitor))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=OWN_THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        address = self._server.server_address
        return str(address[0]), int(address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
