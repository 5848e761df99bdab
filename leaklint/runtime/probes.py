"""Probes: what exists now (threads, fds, children, registrations) and what is new since then.

A :class:`Snapshot` is cheap and holds no strong reference to user objects except live threads;
:func:`leftovers` turns the difference between two snapshots into :class:`LeakRecord`s named by the
creation sites the hooks recorded.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

import psutil  # type: ignore[import-untyped,unused-ignore]

from leaklint.runtime import sites
from leaklint.runtime.hooks import Created, Tracker
from leaklint.runtime.records import Kind, LeakRecord, Site

OWN_THREAD_PREFIX = "leaklint-"
_PROC_FD = "/proc/self/fd"


@dataclass(frozen=True)
class Snapshot:
    threads: frozenset[int]  # ids of Thread objects alive
    fds: dict[int, str]  # fd -> target
    children: frozenset[int]
    handlers: frozenset[tuple[str, int]]  # (logger name, id(handler))
    loggers: frozenset[str]
    serial: int  # the tracker's creation counter: records above it are new
    registrations: int
    tempfiles: int
    unclosed: int
    cancelled: int
    signals: dict[int, Any] = field(default_factory=dict)
    atexit: int = 0


def open_fds() -> dict[int, str]:
    """Every open descriptor of this process and what it points at."""
    if os.path.isdir(_PROC_FD):
        found: dict[int, str] = {}
        for name in os.listdir(_PROC_FD):
            try:
                found[int(name)] = os.readlink(f"{_PROC_FD}/{name}")
            except OSError:  # the listing's own descriptor, closed already
                continue
        return {fd: target for fd, target in found.items() if not target.startswith("/proc/")}
    process = psutil.Process()
    found = {f.fd: f.path for f in process.open_files() if f.fd >= 0}
    for conn in process.net_connections(kind="all"):
        if conn.fd >= 0:
            found[conn.fd] = f"socket:{conn.laddr}->{conn.raddr}"
    return found


def live_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.is_alive() and not t.name.startswith(OWN_THREAD_PREFIX)
    ]


def child_pids() -> frozenset[int]:
    try:
        return frozenset(p.pid for p in psutil.Process().children(recursive=False))
    except psutil.Error:
        return frozenset()


def _handlers() -> frozenset[tuple[str, int]]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        lg
        for lg in list(logging.Logger.manager.loggerDict.values())
        if isinstance(lg, logging.Logger)
    ]
    return frozenset((lg.name, id(h)) for lg in loggers for h in list(lg.handlers))


def _signals() -> dict[int, Any]:
    found: dict[int, Any] = {}
    for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            found[int(number)] = signal.getsignal(number)
    return found


def take(tracker: Tracker) -> Snapshot:
    registry = tracker.registry
    return Snapshot(
        threads=frozenset(id(t) for t in live_threads()),
        fds=open_fds(),
        children=child_pids(),
        handlers=_handlers(),
        loggers=frozenset(logging.Logger.manager.loggerDict),
        serial=registry.serial,
        registrations=len(registry.registrations),
        tempfiles=len(registry.tempfiles),
        unclosed=len(registry.unclosed),
        cancelled=len(registry.cancelled_tasks),
        signals=_signals(),
        atexit=registered_atexit(),
    )


def _thread_stack(thread: threading.Thread) -> tuple[Site, ...]:
    frame = sys._current_frames().get(thread.ident or -1)
    return sites.stack_of(frame) if frame is not None else ()


def _target_name(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None) or getattr(thread, "function", None)
    if target is None:
        return type(thread).__name__ + ".run"
    return getattr(target, "__qualname__", repr(target))


def _new(record: Optional[Created], baseline: Snapshot) -> bool:
    return record is not None and record.serial > baseline.serial


def thread_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records: list[LeakRecord] = []
    by_executor: dict[int, list[threading.Thread]] = defaultdict(list)
    owners: dict[int, Created] = {}
    for thread in live_threads():
        if id(thread) in baseline.threads:
            continue
        created = tracker.site_for(thread)
        if created is not None and created.owner and (
            created.owner_site is None or created.owner_serial <= baseline.serial
        ):
            # A worker of a pool that was there before the check began: idle is fine, still
            # busy with a job from this window is news (a job that never ends).
            stack = _thread_stack(thread)
            running = sites.innermost_user(stack)
            if running is not None:
                records.append(LeakRecord(
                    Kind.THREAD, repr(thread.name), running, stack,
                    f"worker of a long-lived {created.owner} still busy at {running}", "LK102",
                    target=_target_name(thread)))
            continue
        if created is not None and created.owner:
            by_executor[hash((created.owner_site, created.owner))].append(thread)
            owners[hash((created.owner_site, created.owner))] = created
            continue
        stack = _thread_stack(thread)
        running = sites.innermost_user(stack)
        where = f", running at {running}" if running else ""
        if isinstance(thread, threading.Timer):
            if thread.finished.is_set():
                continue  # cancelled or fired: its thread is ending
            kind, detail = Kind.TIMER, f"armed, calls {_target_name(thread)}{where}"
            code = "LK107"
        else:
            kind = Kind.THREAD
            daemon = "daemon" if thread.daemon else "non-daemon"
            detail = f"{daemon}, target {_target_name(thread)} still alive{where}"
            code = "LK102" if thread.daemon else "LK101"
        records.append(
            LeakRecord(kind, repr(thread.name), created.site if created else None, stack, detail,
                       code, target=_target_name(thread))
        )
    for key, threads in by_executor.items():
        created = owners[key]
        names = ", ".join(t.name for t in threads[:4])
        records.append(
            LeakRecord(
                Kind.EXECUTOR,
                created.owner,
                created.owner_site,
                _thread_stack(threads[0]),
                f"{len(threads)} worker thread(s) still alive ({names}); never shut down",
                "LK103",
                extra_sites=tuple(t for t in {c.site for c in [created]} if t),
            )
        )
    return records


def fd_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records: list[LeakRecord] = []
    registry = tracker.registry
    for fd, target in sorted(open_fds().items()):
        if fd <= 2 or baseline.fds.get(fd) == target:  # stdio is redirected, not leaked
            continue
        created = registry.fds.get(fd)
        if created is not None and not _new(created, baseline):
            created = None
        opened_as = registry.fd_targets.get(fd)
        path = _undeleted(target)
        if created is not None and opened_as is not None and _undeleted(opened_as) != path:
            created = None  # the number was reused by code we do not see (a C library)
        by_path = registry.paths.get(path)
        if created is None and by_path is not None and _new(by_path, baseline):
            created = by_path
        if created is not None and created.what.startswith(("subprocess", "multiprocessing")):
            kind, code = Kind.PROCESS, "LK104"
        elif created is not None and created.what == "tempfile.mkstemp":
            kind, code = Kind.TEMPFILE, "LK306"
        elif target.startswith("socket:"):
            kind, code = Kind.SOCKET, "LK302"
        elif created is not None and created.what.startswith("sqlite3"):
            kind, code = Kind.CONNECTION, "LK303"
        elif target.startswith(("pipe:", "anon_inode:")):
            kind, code = Kind.FD, "LK301"
        else:
            kind, code = Kind.FILE, "LK301"
        opener = f" ({created.what})" if created else ""
        records.append(
            LeakRecord(kind, f"fd {fd}", created.site if created else None, (),
                       f"fd {fd} -> {target}{opener} still open", code, target=target,
                       extra_sites=_owner_sites(created))
        )
    return records


def _undeleted(target: str) -> str:
    """The path an fd points at, without the mark Linux adds once the file is unlinked."""
    suffix = " (deleted)"
    return target[: -len(suffix)] if target.endswith(suffix) else target


def _owner_sites(created: Optional[Created]) -> tuple[Site, ...]:
    """Other lines a leftover answers for: the client that made it, and the line that called
    the helper (factory) that created it."""
    if created is None:
        return ()
    return tuple(s for s in (created.owner_site, created.caller) if s is not None)


def process_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records: list[LeakRecord] = []
    by_owner: dict[Site, list[str]] = defaultdict(list)
    owner_names: dict[Site, str] = {}
    for pid in sorted(child_pids() - baseline.children):
        created = tracker.registry.pids.get(pid)
        try:
            child = psutil.Process(pid)
            status = child.status()
        except psutil.Error:
            continue  # it ended and was reaped meanwhile
        try:
            command = " ".join(child.cmdline())[:80]
        except psutil.Error:  # a zombie has no command line any more
            command = f"pid {pid}"
        if created is not None and created.owner:
            if created.owner_site is None or created.owner_serial <= baseline.serial:
                continue  # a worker of a pool that was there before the check began
            by_owner[created.owner_site].append(f"pid {pid} {status}")
            owner_names[created.owner_site] = created.owner
            continue
        state = "zombie: exited but never waited for" if status == psutil.STATUS_ZOMBIE else (
            f"still running ({status})")
        records.append(
            LeakRecord(Kind.PROCESS, f"pid {pid}", created.site if created else None, (),
                       f"{created.what if created else command}: {state}", "LK104")
        )
    for site, states in by_owner.items():
        records.append(
            LeakRecord(Kind.EXECUTOR, owner_names[site], site, (),
                       f"worker processes left: {', '.join(states[:4])}; never shut down", "LK103")
        )
    return records


def registration_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    """Handlers added to loggers and process-wide registrations made since the baseline."""
    registry = tracker.registry
    records: list[LeakRecord] = []
    attached = _handlers() - baseline.handlers
    for logger_name, handler_repr, handler_id, created in registry.handlers:
        if _new(created, baseline) and (logger_name, handler_id) in attached:
            shown = logger_name if logger_name != "root" else "root"
            records.append(
                LeakRecord(Kind.HANDLER, handler_repr, created.site, (),
                           f"added to logger {shown!r} and never removed", "LK204")
            )
    new_atexit = registered_atexit() - baseline.atexit
    current = _signals()
    for label, created in registry.registrations[baseline.registrations :]:
        if label.startswith("signal.signal("):
            number = int(label[len("signal.signal("):-1])
            if number not in current or current[number] == baseline.signals.get(number):
                continue  # restored since
        elif new_atexit <= 0:
            continue
        records.append(
            LeakRecord(Kind.HANDLER, label, created.site, (), f"{label} made and never undone",
                       "LK204")
        )
    return records


def tempfile_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records = []
    for path, is_dir, created in tracker.registry.tempfiles[baseline.tempfiles :]:
        if os.path.exists(path):
            what = "directory" if is_dir else "file"
            records.append(
                LeakRecord(Kind.TEMPFILE, path, created.site, (),
                           f"temporary {what} {path} ({created.what}) never removed", "LK306")
            )
    return records


# The rule a hook named when it noted an object collected unreleased (``what`` ends "[LK303]").
_HINTED_KINDS = {"LK302": Kind.SOCKET, "LK303": Kind.CONNECTION, "LK304": Kind.CONNECTION,
                 "LK104": Kind.PROCESS}


def unclosed_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    """Objects the garbage collector had to close (their ResourceWarning was captured)."""
    records = []
    kinds = {"socket": (Kind.SOCKET, "LK302"), "Popen": (Kind.PROCESS, "LK104"),
             "Pool": (Kind.EXECUTOR, "LK103"), "ThreadPool": (Kind.EXECUTOR, "LK103")}
    seen: set[tuple[Optional[Site], Kind]] = set()
    for type_name, message, created in tracker.registry.unclosed[baseline.unclosed :]:
        kind, code = kinds.get(type_name, (Kind.FILE, "LK301"))
        if created.what == "socket":  # a stream made by socket.makefile()
            kind, code = Kind.SOCKET, "LK302"
        if created.what.startswith("sqlite3"):
            kind, code = Kind.CONNECTION, "LK303"
        for hinted, hinted_kind in _HINTED_KINDS.items():
            if created.what.endswith(f"[{hinted}]"):
                kind, code = hinted_kind, hinted
        if (created.site, kind) in seen:
            continue
        seen.add((created.site, kind))
        records.append(
            LeakRecord(kind, type_name, created.site, (),
                       f"never closed: the garbage collector closed it ({message})", code,
                       extra_sites=_owner_sites(created))
        )
    return records


def task_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    """Tasks that ``asyncio.run`` (or our runner) found pending when ``main`` returned."""
    records = []
    for ref, created, stack in tracker.registry.cancelled_tasks[baseline.cancelled :]:
        task = ref()
        name = task.get_name() if task is not None and hasattr(task, "get_name") else "task"
        where = sites.innermost_user(stack)
        at = f", suspended at {where}" if where else ""
        records.append(
            LeakRecord(Kind.TASK, name, created.site, stack,
                       f"still pending when the event loop finished{at}", "LK105")
        )
    return records


def registered_atexit() -> int:
    counter = getattr(atexit, "_ncallbacks", None)
    return int(counter()) if counter else 0
