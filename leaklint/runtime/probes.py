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
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

import psutil  # type: ignore[import-untyped,unused-ignore]

from leaklint.runtime import sites
from leaklint.runtime.hooks import Created, Tracker
from leaklint.runtime.records import WORKER_LOOP_CODE, Kind, LeakRecord, Site

OWN_THREAD_PREFIX = "leaklint-"
_PROC_FD = "/proc/self/fd"
# Our own reads of /proc use the functions as they were at import, before any hook or test tool
# (blockbuster) wrapped them.
_listdir = os.listdir
_readlink = os.readlink
_HAS_PROC_FD = os.path.isdir(_PROC_FD)


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
    tasks: frozenset[int] = frozenset()  # ids of asyncio tasks pending, on any loop
    # The raw /proc/self/fd listing, its own descriptor included: the same number comes back
    # when nothing was opened.
    fd_listing: frozenset[int] = frozenset()
    handler_count: int = 0  # addHandler/addFilter calls the hooks had seen


def fd_numbers() -> Optional[frozenset[int]]:
    """The numbers of the open descriptors (one ``listdir``), None where /proc is missing."""
    if not _HAS_PROC_FD:
        return None
    return frozenset(int(name) for name in _listdir(_PROC_FD))


def open_fds(numbers: Optional[frozenset[int]] = None) -> dict[int, str]:
    """Every open descriptor of this process (or those of ``numbers``) and what it points at."""
    if _HAS_PROC_FD:
        found: dict[int, str] = {}
        for fd in numbers if numbers is not None else fd_numbers() or ():
            try:
                found[fd] = _readlink(f"{_PROC_FD}/{fd}")
            except OSError:  # the listing's own descriptor, closed already
                continue
        return {fd: target for fd, target in found.items() if not target.startswith("/proc/")}
    with _muted():
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


def has_children() -> bool:
    """One system call: does this process have any child, running or exited?"""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return True  # cannot tell cheaply: look
    try:
        waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # reaps nothing
    except ChildProcessError:
        return False
    except OSError:
        return True
    return True


def child_pids() -> frozenset[int]:
    """This process's children; nothing is read unless it has any. Never a scan of every
    process: /proc/self/task/*/children where the kernel offers it."""
    if not has_children():
        return frozenset()
    found: set[int] = set()
    try:
        for task in _listdir("/proc/self/task"):
            with _raw_open(f"/proc/self/task/{task}/children", "rb") as handle:
                found.update(int(pid) for pid in handle.read().split())
        return frozenset(found)
    except OSError:
        pass
    try:
        with _muted():  # psutil reads /proc with open(): not the user's files
            return frozenset(p.pid for p in psutil.Process().children(recursive=False))
    except psutil.Error:
        return frozenset()


def pending_tasks() -> frozenset[int]:
    """Ids of the asyncio tasks that are pending, on every loop, from asyncio's own registry
    (no loop needs to be running)."""
    found: set[int] = set()
    for registry in _TASK_REGISTRIES:
        for task in list(registry):
            if not task.done():
                found.add(id(task))
    return frozenset(found)


def _task_registries() -> tuple[Any, ...]:
    import asyncio.tasks as tasks

    names = ("_all_tasks", "_scheduled_tasks", "_eager_tasks")
    return tuple(getattr(tasks, n) for n in names if isinstance(getattr(tasks, n, None),
                                                                (set, weakref.WeakSet)))


_TASK_REGISTRIES = _task_registries()


def task_by_id(ident: int) -> Any:
    for registry in _TASK_REGISTRIES:
        for task in list(registry):
            if id(task) == ident:
                return task
    return None


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
    listing = fd_numbers()
    return Snapshot(
        threads=frozenset(id(t) for t in live_threads()),
        fds=open_fds(listing),
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
        tasks=pending_tasks(),
        fd_listing=listing or frozenset(),
        handler_count=len(registry.handlers),
    )


def _still_attached(entries: list[tuple[str, str, int, Created]]) -> bool:
    """Whether any of these handlers (or filters) is still on its logger. pytest's own log
    capture adds and removes a handler around every phase of every test."""
    loggers = logging.Logger.manager.loggerDict
    for logger_name, _, handler_id, created in entries:
        if not user_made(created):
            continue
        logger = logging.getLogger() if logger_name == "root" else loggers.get(logger_name)
        attached = [*getattr(logger, "handlers", ()), *getattr(logger, "filters", ())]
        if any(id(h) == handler_id for h in attached):
            return True
    return False


def looks_new(tracker: Tracker, baseline: Snapshot) -> bool:
    """The cheap question asked after every test: is anything there that was not before? Only
    identities and counters are compared (threads, fd numbers, children, pending tasks, what
    the hooks recorded); a yes sends the check down the slow path, which decides."""
    registry = tracker.registry
    if (
        any(user_made(entry.created) for entry in registry.unclosed[baseline.unclosed:])
        # A runner's own task cancelled when its loop closes (anyio's, after every test)
        or any(user_made(created) and not library_task(created, stack)
               for _, created, stack in registry.cancelled_tasks[baseline.cancelled:])
        or len(registry.tempfiles) > baseline.tempfiles
        or len(registry.registrations) > baseline.registrations
        or _still_attached(registry.handlers[baseline.handler_count:])
    ):
        return True
    if any(id(t) not in baseline.threads for t in threading.enumerate()):
        return True
    numbers = fd_numbers()
    if numbers is None or not numbers <= baseline.fd_listing:
        return True
    if registry.serial != baseline.serial and any(
        registry.fds.get(fd) is not None and registry.fds[fd].serial > baseline.serial
        for fd in numbers
    ):
        return True  # a number closed and opened again during the test
    if not pending_tasks() <= baseline.tasks:
        return True
    return bool(child_pids() - baseline.children)



def _thread_stack(thread: threading.Thread) -> tuple[Site, ...]:
    frame = sys._current_frames().get(thread.ident or -1)
    return sites.stack_of(frame) if frame is not None else ()


def _target_name(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None) or getattr(thread, "function", None)
    if target is None:
        return type(thread).__name__ + ".run"
    return getattr(target, "__qualname__", repr(target))


def _muted() -> Any:
    from leaklint.runtime.hooks import TRACKER

    return TRACKER.muted()


_raw_open = open  # the builtin, from before any hook was installed


def _new(record: Optional[Created], baseline: Snapshot) -> bool:
    return record is not None and record.serial > baseline.serial


def _machinery(thread: threading.Thread, created: Optional[Created]) -> bool:
    """A thread a library made for itself (trio's worker cache, an event loop's default
    executor, anyio's worker threads) that is idle: the library reuses it, it is not the
    test's leak. One running the user's code is never machinery."""
    if created is None:
        made_by_library = True  # made before the hooks, or by C code
    elif created.owner:
        made_by_library = created.owner_by_library
    else:
        made_by_library = created.by_library
    return made_by_library and sites.innermost_user(_thread_stack(thread)) is None


def thread_leftovers(tracker: Tracker, baseline: Snapshot,
                     skip_machinery: bool = False) -> list[LeakRecord]:
    records: list[LeakRecord] = []
    by_executor: dict[int, list[threading.Thread]] = defaultdict(list)
    owners: dict[int, Created] = {}
    for thread in live_threads():
        if id(thread) in baseline.threads:
            continue
        created = tracker.site_for(thread)
        if skip_machinery and _machinery(thread, created):
            continue
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
                    f"worker of a long-lived {created.owner} still busy at {running}",
                    WORKER_LOOP_CODE,
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
            code = kind.code
        else:
            kind = Kind.THREAD
            daemon = "daemon" if thread.daemon else "non-daemon"
            detail = f"{daemon}, target {_target_name(thread)} still alive{where}"
            code = WORKER_LOOP_CODE if thread.daemon else kind.code
        records.append(
            LeakRecord(kind, repr(thread.name), created.site if created else None, stack, detail,
                       code, extra_sites=_owner_sites(created), target=_target_name(thread))
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
                extra_sites=tuple(t for t in {c.site for c in [created]} if t),
            )
        )
    return records


def user_made(created: Optional[Created]) -> bool:
    """Whether a line of the user's was on the stack that created it. Nothing but library
    code (a test runner's hooks, a library's lazily made machinery) is not the test's doing."""
    if created is None:
        return False
    if created.frames:
        return sites.raw_has_user(created.frames)
    site = created.site
    return site is not None and sites.classify(site.file) == sites.USER


_ASYNCIO_DIR = os.sep + "asyncio" + os.sep


def library_task(created: Optional[Created], stack: tuple[Site, ...]) -> bool:
    """A task a library made for itself (anyio's process-pool pruner, a runner's own task):
    the first frame outside asyncio that made it is a library's, and it is not running user
    code now. ``asyncio.create_task(...)`` written in a test is the test's."""
    if created is None:
        return False
    if created.frames:  # else made where no hook saw it (a Task constructed directly, a loop
        # class imported mid-test): judged by its stack
        maker = next((code for code, _ in created.frames
                      if _ASYNCIO_DIR not in code.co_filename), None)
        if maker is None or sites.classify(maker.co_filename) == sites.USER:
            return False
    return not any(sites.classify(site.file) == sites.USER for site in stack)


def fd_leftovers(tracker: Tracker, baseline: Snapshot,
                 skip_machinery: bool = False) -> list[LeakRecord]:
    """New descriptors. With ``skip_machinery``, one is reported only when a user line opened
    it: a descriptor nobody saw made (a C library's, a runner's) is not a finding on its own."""
    records: list[LeakRecord] = []
    registry = tracker.registry
    paths = {os.path.abspath(path): created for path, created in registry.paths.items()}
    for fd, target in sorted(open_fds().items()):
        if fd <= 2 or baseline.fds.get(fd) == target:  # stdio is redirected, not leaked
            continue
        created = tracker.fd_record(fd)  # None when the number was reused by unseen code
        if created is not None and not _new(created, baseline):
            created = None
        by_path = paths.get(_undeleted(target))
        if created is None and by_path is not None and _new(by_path, baseline):
            created = by_path
        if skip_machinery and not user_made(created):
            continue
        if created is not None and created.what.startswith(("subprocess", "multiprocessing")):
            kind = Kind.PROCESS
        elif created is not None and created.what == "tempfile.mkstemp":
            kind = Kind.TEMPFILE
        elif target.startswith("socket:"):
            kind = Kind.SOCKET
        elif created is not None and created.what.startswith("sqlite3"):
            kind = Kind.CONNECTION
        elif target.startswith(("pipe:", "anon_inode:")):
            kind = Kind.FD
        else:
            kind = Kind.FILE
        opener = f" ({created.what})" if created else ""
        records.append(
            LeakRecord(kind, f"fd {fd}", created.site if created else None, (),
                       f"fd {fd} -> {target}{opener} still open", target=target,
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
        with _muted():  # psutil reads /proc with open(): not the user's files
            try:
                child = psutil.Process(pid)
                status = child.status()
            except psutil.Error:
                continue  # it ended and was reaped meanwhile
            try:
                command = " ".join(child.cmdline())
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
                       f"{created.what if created else command[:80]}: {state}",
                       target=command)
        )
    for site, states in by_owner.items():
        records.append(
            LeakRecord(Kind.EXECUTOR, owner_names[site], site, (),
                       f"worker processes left: {', '.join(states[:4])}; never shut down")
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
                           f"added to logger {shown!r} and never removed")
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
            LeakRecord(Kind.HANDLER, label, created.site, (), f"{label} made and never undone")
        )
    return records


def tempfile_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records = []
    for path, is_dir, created in tracker.registry.tempfiles[baseline.tempfiles :]:
        if os.path.exists(path):
            what = "directory" if is_dir else "file"
            records.append(
                LeakRecord(Kind.TEMPFILE, path, created.site, (),
                           f"temporary {what} {path} ({created.what}) never removed",
                           target=path)
            )
    return records


def unclosed_leftovers(tracker: Tracker, baseline: Snapshot,
                       skip_machinery: bool = False) -> list[LeakRecord]:
    """Objects the garbage collector had to close (their ResourceWarning was captured); with
    ``skip_machinery`` only those a user line made during this window (garbage of an earlier
    test, collected now, is not this test's)."""
    records = []
    seen: set[tuple[Optional[Site], Kind]] = set()
    for type_name, message, created, known_kind in tracker.registry.unclosed[baseline.unclosed :]:
        if skip_machinery and not (_new(created, baseline) and user_made(created)):
            continue
        # The kind the hook that noted it knew, else what its ResourceWarning was about.
        kind = known_kind or _warned_kind(type_name, created)
        if (created.site, kind) in seen:
            continue
        seen.add((created.site, kind))
        records.append(
            LeakRecord(kind, type_name, created.site, (),
                       f"never closed: the garbage collector closed it ({message})",
                       extra_sites=_owner_sites(created))
        )
    return records


# ResourceWarnings' objects by type name; any other is a file.
_WARNED_KINDS = {"socket": Kind.SOCKET, "Popen": Kind.PROCESS, "Pool": Kind.EXECUTOR,
                 "ThreadPool": Kind.EXECUTOR}


def _warned_kind(type_name: str, created: Created) -> Kind:
    if created.what == "socket":  # a stream made by socket.makefile()
        return Kind.SOCKET
    if created.what.startswith("sqlite3"):
        return Kind.CONNECTION
    return _WARNED_KINDS.get(type_name, Kind.FILE)


def task_leftovers(tracker: Tracker, baseline: Snapshot,
                   skip_machinery: bool = False) -> list[LeakRecord]:
    """Tasks that ``asyncio.run``, our runner or ``loop.close()`` found pending when the loop
    finished; with ``skip_machinery`` also those still pending on a loop that lives on (a
    runner's loop kept across tests) - made by a user line, not by the runner itself."""
    records = []
    for ref, created, stack in tracker.registry.cancelled_tasks[baseline.cancelled :]:
        if skip_machinery and (not user_made(created) or library_task(created, stack)):
            continue
        task = ref()
        name = task.get_name() if task is not None and hasattr(task, "get_name") else "task"
        where = sites.innermost_user(stack)
        at = f", suspended at {where}" if where else ""
        records.append(
            LeakRecord(Kind.TASK, name, created.site, stack,
                       f"still pending when the event loop finished{at}",
                       extra_sites=_owner_sites(created))
        )
    if skip_machinery:
        records += _live_task_leftovers(tracker, baseline)
    return records


def _live_task_leftovers(tracker: Tracker, baseline: Snapshot) -> list[LeakRecord]:
    records = []
    for ident in pending_tasks() - baseline.tasks:
        task = task_by_id(ident)
        created = tracker.site_for(task) if task is not None else None
        if task is None or not user_made(created):
            continue
        assert created is not None
        stack = tuple(sites.site_of(f) for f in task.get_stack())
        if library_task(created, stack):
            continue
        where = sites.innermost_user(stack)
        at = f", suspended at {where}" if where else ""
        records.append(
            LeakRecord(Kind.TASK, task.get_name(), created.site, stack,
                       f"still pending after the test, on a loop that lives on{at}",
                       extra_sites=_owner_sites(created)))
    return records


def registered_atexit() -> int:
    counter = getattr(atexit, "_ncallbacks", None)
    return int(counter()) if counter else 0
