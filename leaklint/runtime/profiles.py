"""Live profiles by creation site: what is alive now (threads, asyncio tasks, descriptors, child
processes), grouped by the line that created it, like pprof's goroutine profile.

The creation sites come from the runtime hooks (:mod:`leaklint.runtime.hooks`); an object made
before the hooks were installed, or by code they do not see (a C library), is grouped under what
can still be told about it: a thread's target, what a descriptor points at. Ages come from the
hooks' creation time, else from when the monitor first saw the object (one interval's precision).
"""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import io
import os
import sys
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

from leaklint.runtime import sites
from leaklint.runtime.hooks import Created, Tracker
from leaklint.runtime.probes import OWN_THREAD_PREFIX, open_fds
from leaklint.runtime.records import Site

# The kinds a profile covers, in the order reports show them.
KINDS = ("threads", "tasks", "fds", "processes")
UNTRACKED = "(untracked)"


@dataclass(frozen=True)
class Origin:
    """Where a group of live objects comes from: the creating line and the line that called its
    function (a short stack), or, for an object the hooks never saw, a description."""

    site: Optional[Site]
    caller: Optional[Site] = None
    untracked: str = ""

    @property
    def label(self) -> str:
        if self.site is None:
            return f"{UNTRACKED} {self.untracked}".rstrip()
        where = f"{short_path(self.site.file)}:{self.site.line}"
        return f"{where} in {self.site.function}" if self.site.function else where

    def stack(self) -> list[str]:
        """The short stack, outermost first."""
        return [f"{short_path(s.file)}:{s.line} in {s.function}"
                for s in (self.caller, self.site) if s is not None]


@dataclass(frozen=True)
class Live:
    """One live object of a profile."""

    origin: Origin
    born: float  # creation time, or when the monitor first saw it
    name: str
    now_at: str = ""  # where a thread runs or a task is suspended (detailed profiles only)
    pool: Optional[Hashable] = None  # the executor whose worker this thread is


@dataclass
class Group:
    origin: Origin
    count: int = 0
    oldest: float = float("inf")
    newest: float = 0.0
    names: list[str] = field(default_factory=list)
    now_at: dict[str, int] = field(default_factory=dict)

    def add(self, live: Live) -> None:
        self.count += 1
        self.oldest = min(self.oldest, live.born)
        self.newest = max(self.newest, live.born)
        if len(self.names) < 3:
            self.names.append(live.name)
        if live.now_at:
            self.now_at[live.now_at] = self.now_at.get(live.now_at, 0) + 1

    def to_json(self, now: float) -> dict[str, Any]:
        site = self.origin.site
        return {
            "site": self.origin.label,
            "file": site.file if site else None,
            "line": site.line if site else None,
            "function": site.function if site else None,
            "stack": self.origin.stack(),
            "count": self.count,
            "oldest_age": round(max(0.0, now - self.oldest), 3),
            "newest_age": round(max(0.0, now - self.newest), 3),
            "examples": list(self.names),
            "now_at": dict(sorted(self.now_at.items(), key=lambda kv: -kv[1])[:3]),
        }


def group(lives: Iterable[Live]) -> list[Group]:
    """Groups by origin, most numerous first."""
    groups: dict[Origin, Group] = {}
    for live in lives:
        found = groups.get(live.origin)
        if found is None:
            found = groups[live.origin] = Group(live.origin)
        found.add(live)
    return sorted(groups.values(), key=lambda g: (-g.count, g.origin.label))


class FirstSeen:
    """When the monitor first saw each object it cannot date otherwise (keys of one kind)."""

    def __init__(self) -> None:
        self._seen: dict[Any, float] = {}

    def born(self, key: Any, created: Optional[Created], now: float) -> float:
        if created is not None:
            return created.at
        return self._seen.setdefault(key, now)

    def keep_only(self, keys: set[Any]) -> None:
        for key in [k for k in self._seen if k not in keys]:
            del self._seen[key]


def short_path(path: str) -> str:
    """A path relative to the working directory when under it; else its last three parts."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        relative = path
    if not relative.startswith(".."):
        return relative
    return "/".join(path.replace(os.sep, "/").rsplit("/", 3)[-3:])


def _origin(created: Optional[Created], untracked: str) -> Origin:
    if created is None or created.site is None:
        return Origin(None, None, untracked)
    return Origin(created.site, created.caller)


def _record(tracker: Tracker, obj: Any) -> Optional[Created]:
    """What the hooks recorded about ``obj`` itself. Not ``Tracker.site_for``: its fallback by
    ``id()`` would give a new thread the record of a dead one that had the same id."""
    try:
        return tracker.registry.objects.get(obj)
    except TypeError:  # not weakly referenceable: never recorded by object
        return None


def _target_name(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    if target is None:
        return f"{type(thread).__qualname__}.run"
    return str(getattr(target, "__qualname__", type(target).__qualname__))


def _pool_of(thread: threading.Thread, created: Optional[Created]) -> Optional[Hashable]:
    """The executor a worker thread belongs to: a ThreadPoolExecutor's worker holds a weak
    reference to it, and the hooks record the owner of a pool's workers."""
    if getattr(thread, "_target", None) is concurrent.futures.thread._worker:
        args = getattr(thread, "_args", ())
        executor = args[0]() if args and callable(args[0]) else None
        if executor is not None:
            return ("executor", id(executor))
    if created is not None and created.owner:
        return (created.owner, created.owner_site, created.owner_serial)
    return None


def pooled_count(lives: Iterable[Live]) -> int:
    """Live objects, with the workers of one pool counted once: a pool filling up to its
    ``max_workers`` is not a leak, a new pool per request is."""
    pools: set[Hashable] = set()
    alone = 0
    for live in lives:
        if live.pool is None:
            alone += 1
        else:
            pools.add(live.pool)
    return alone + len(pools)


def threads(tracker: Tracker, seen: FirstSeen, now: float, detailed: bool) -> list[Live]:
    frames = sys._current_frames() if detailed else {}
    found = []
    alive = threading.enumerate()
    for thread in alive:
        if thread.name.startswith(OWN_THREAD_PREFIX) or not thread.is_alive():
            continue
        created = _record(tracker, thread)
        now_at = ""
        frame = frames.get(thread.ident or -1)
        if frame is not None:
            running = sites.user_frame(frame) or frame
            now_at = f"{short_path(running.f_code.co_filename)}:{running.f_lineno}"
        found.append(Live(_origin(created, f"target {_target_name(thread)}"),
                          seen.born(_thread_key(thread), created, now), thread.name, now_at,
                          _pool_of(thread, created)))
    seen.keep_only({_thread_key(t) for t in alive})
    return found


def _copied(items: Iterable[Any]) -> list[Any]:
    """A copy of a set other threads may change meanwhile (weak sets shrink during iteration)."""
    for _ in range(5):
        try:
            return list(items)
        except RuntimeError:
            continue
    return []


def all_tasks() -> list[asyncio.Future[Any]]:
    """Pending tasks of every event loop of the process (``asyncio.all_tasks`` sees one loop)."""
    tasks_module = asyncio.tasks
    found: list[Any] = []
    for name in ("_scheduled_tasks", "_all_tasks", "_eager_tasks"):  # 3.12+, 3.9-3.11, 3.12+
        registry = getattr(tasks_module, name, None)
        if registry is not None and not callable(registry):
            found += _copied(registry)
    return [task for task in found if not task.done()]


def tasks(tracker: Tracker, seen: FirstSeen, now: float, detailed: bool) -> list[Live]:
    found = []
    pending = all_tasks()
    for task in pending:
        created = _record(tracker, task)
        untracked = f"coroutine {_coroutine_name(task)}"
        now_at = ""
        if detailed:
            stack = task.get_stack(limit=1) if isinstance(task, asyncio.Task) else []
            if stack:
                now_at = f"{short_path(stack[0].f_code.co_filename)}:{stack[0].f_lineno}"
        name = _task_name(task)
        born = seen.born((id(task), name), created, now)
        found.append(Live(_origin(created, untracked), born, name, now_at))
    seen.keep_only({(id(task), _task_name(task)) for task in pending})
    return found


def _thread_key(thread: threading.Thread) -> tuple[Optional[int], int]:
    # Thread idents are reused as soon as a thread ends; the pair tells a new thread apart.
    return (thread.ident, id(thread))


def _task_name(task: Any) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)[:60]


def _coroutine_name(task: Any) -> str:
    coro = task.get_coro() if hasattr(task, "get_coro") else None
    return str(getattr(coro, "__qualname__", type(coro).__name__))


def _fd_class(target: str) -> str:
    """What an untracked descriptor is, coarse enough to group: socket, pipe, a device, a file."""
    if target.startswith(("socket:", "pipe:")):
        return target.split(":", 1)[0]
    if target.startswith("anon_inode:"):
        return target
    if target.startswith("/dev/"):
        return target
    return "file " + target.rsplit("/", 1)[-1] if "/" in target else target


def _fd_creator(tracker: Tracker, fd: int, target: str) -> Optional[Created]:
    """The record of the object that opened ``fd``, unless the number has since been reused by
    code the hooks do not see (then it pointed somewhere else when it was recorded)."""
    lookup = getattr(tracker, "fd_record", None)  # hooks that keep the owning object know best
    if lookup is not None:
        found: Optional[Created] = lookup(fd)
        return found
    registry = tracker.registry
    created = registry.fds.get(fd)
    opened_as = getattr(registry, "fd_targets", {}).get(fd)
    if created is not None and opened_as is not None and opened_as != target:
        return None
    return created


def fds(tracker: Tracker, seen: FirstSeen, now: float) -> list[Live]:
    found = []
    targets = open_fds()
    for fd, target in sorted(targets.items()):
        created = _fd_creator(tracker, fd, target)
        origin = _origin(created, _fd_class(target))
        found.append(Live(origin, seen.born((fd, target), created, now), f"fd {fd} -> {target}"))
    seen.keep_only(set(targets.items()))
    return found


def child_pids() -> list[int]:
    """Children via /proc/self/task/*/children (cheap) where the kernel offers it."""
    try:
        pids: list[int] = []
        for task in os.listdir("/proc/self/task"):
            # FileIO, not open(): the creation-site hooks would record the monitor's own reads.
            with io.FileIO(f"/proc/self/task/{task}/children") as handle:
                pids += [int(pid) for pid in handle.read().split()]
        return pids
    except OSError:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        try:
            return [p.pid for p in psutil.Process().children(recursive=False)]
        except psutil.Error:
            return []


def processes(tracker: Tracker, seen: FirstSeen, now: float) -> list[Live]:
    found = []
    pids = child_pids()
    for pid in pids:
        created = tracker.registry.pids.get(pid)
        what = created.what if created is not None else f"pid {pid}"
        found.append(Live(_origin(created, "child process"), seen.born(pid, created, now),
                          f"pid {pid}: {what}"[:100]))
    seen.keep_only(set(pids))
    return found


class Profiler:
    """Collects the live objects of every kind; keeps first-seen times between calls."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self._seen = {kind: FirstSeen() for kind in KINDS}
        self._lock = threading.Lock()  # the sampler and the endpoint's handlers both collect

    def collect(self, detailed: bool = False, now: Optional[float] = None
                ) -> dict[str, list[Live]]:
        now = time.time() if now is None else now
        tracker, seen = self.tracker, self._seen
        with self._lock:
            return {
                "threads": threads(tracker, seen["threads"], now, detailed),
                "tasks": tasks(tracker, seen["tasks"], now, detailed),
                "fds": fds(tracker, seen["fds"], now),
                "processes": processes(tracker, seen["processes"], now),
            }


def counts_by_origin(lives: Iterable[Live]) -> dict[Origin, int]:
    counts: dict[Origin, int] = {}
    for live in lives:
        counts[live.origin] = counts.get(live.origin, 0) + 1
    return counts


def kind_json(lives: list[Live], now: float, limit: int = 50) -> dict[str, Any]:
    groups = group(lives)
    return {"total": len(lives), "sites": [g.to_json(now) for g in groups[:limit]],
            "more_sites": max(0, len(groups) - limit)}
