"""Verdicts: diff against a baseline, let things that are already stopping stop, apply ignores.

A thread that was told to stop a moment ago, a child that is exiting, a socket the peer is
closing: each is gone a few milliseconds later. So a check collects garbage and looks again,
with an early exit, for up to ``settle`` seconds before it calls anything a leak.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import functools
import gc
import inspect
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar

from leaklint.runtime import probes, sites
from leaklint.runtime.aio import pending_since, run_checked
from leaklint.runtime.hooks import TRACKER, Tracker
from leaklint.runtime.records import EVIDENCE_ONLY, Kind, LeakError, LeakRecord

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SETTLE = 1.0
_COLLECT_EVERY = 0.2  # seconds between garbage collections while waiting for things to settle
# Reported only when asked for by name: one registration is often deliberate setup.
GROWTH_KINDS = frozenset({Kind.HANDLER, Kind.LOGGER})
# Objects that hold a descriptor: `fd` in the kinds asked for selects them all.
_FD_KINDS = frozenset({Kind.FILE, Kind.SOCKET, Kind.CONNECTION, Kind.RESPONSE})
# Checks that cover threads and the like; the rest are final as soon as they are seen.
_SETTLING_KINDS = frozenset({Kind.THREAD, Kind.TIMER, Kind.EXECUTOR, Kind.PROCESS, Kind.FD,
                             *_FD_KINDS})


# What ``Ignore.fd_targets`` matches: where an fd points, the path of a temporary file.
_PATH_KINDS = frozenset({Kind.FD, Kind.TEMPFILE, *_FD_KINDS})


@dataclass(frozen=True)
class Ignore:
    """Leftovers that are expected. Patterns are fnmatch patterns."""

    thread_names: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # a thread's target (qualified name)
    frames: tuple[str, ...] = ()  # the creating frame: "path/*.py", "*conftest.py:12"
    fd_targets: tuple[str, ...] = ()  # what an fd points at, a temporary path: "/dev/*"
    commands: tuple[str, ...] = ()  # a child process's command line

    def drops(self, record: LeakRecord) -> bool:
        if record.kind in (Kind.THREAD, Kind.TIMER) and (
            _any(record.identity.strip("'\""), self.thread_names)
            or _any(record.target, self.targets)
        ):
            return True
        if record.kind in _PATH_KINDS and _any(record.target, self.fd_targets):
            return True
        if record.kind is Kind.PROCESS and _any(record.target, self.commands):
            return True
        site = record.site
        return site is not None and (
            _any(site.file, self.frames) or _any(f"{site.file}:{site.line}", self.frames)
        )


    def extended(self, other: Ignore) -> Ignore:
        """These patterns and ``other``'s."""
        return Ignore(*(getattr(self, f.name) + getattr(other, f.name)
                        for f in dataclasses.fields(self)))


# Long-lived machinery known by name, for what behaviour cannot tell (the README's allow-list):
# what multiprocessing starts on first use and keeps for the life of the process, made with the
# user's line on the stack. A test that uses the spawn or forkserver start method starts them,
# joins its own process and leaves them, as every later test would.
MACHINERY = Ignore(
    commands=(
        "* -c from multiprocessing.resource_tracker import main*",
        "* -c from multiprocessing.forkserver import main*",
    ),
    fd_targets=("*/pymp-*",),  # multiprocessing.util.get_temp_dir(), removed at exit
)


def _any(text: str, patterns: Iterable[str]) -> bool:
    return bool(text) and any(fnmatch.fnmatch(text, pattern) for pattern in patterns)


def _kinds(values: Optional[Iterable[Any]]) -> Optional[frozenset[Kind]]:
    if values is None:
        return None
    return frozenset(Kind(str(v)) for v in values)


@dataclass(frozen=True)
class Options:
    """What a check looks for. ``kinds`` None means every kind; ``allow`` removes kinds."""

    kinds: Optional[frozenset[Kind]] = None
    allow: frozenset[Kind] = frozenset()
    settle: float = DEFAULT_SETTLE
    ignore: Ignore = field(default_factory=Ignore)
    unclosed: bool = True  # report what the garbage collector had to close
    # Leave out what no user line made and long-lived machinery that is idle (a runner's loop
    # and tasks, worker-thread caches, library-owned pools); `confirm` looks at everything.
    skip_machinery: bool = True

    @classmethod
    def build(
        cls,
        kinds: Optional[Iterable[Any]] = None,
        allow: Iterable[Any] = (),
        settle: float = DEFAULT_SETTLE,
        ignore: Optional[Ignore] = None,
        unclosed: bool = True,
    ) -> Options:
        return cls(_kinds(kinds), _kinds(allow) or frozenset(), settle,
                   MACHINERY.extended(ignore or Ignore()), unclosed, True)

    def wants(self, record: LeakRecord) -> bool:
        if record.kind in EVIDENCE_ONLY or record.kind in self.allow:
            return False
        if self.kinds is None and record.kind in GROWTH_KINDS:
            return False  # a handler added once may be setup; growth runs judge these
        if self.kinds is not None and record.kind not in self.kinds and not (
            Kind.FD in self.kinds and record.kind in _FD_KINDS  # "fd" selects them all
        ):
            return False
        return not self.ignore.drops(record)


def collect_garbage() -> None:
    """``gc.collect()`` with ResourceWarnings shown to the hooks, never raised: a suite run with
    ``-W error`` would otherwise get an error, from our collection, in a test that did nothing
    wrong (the object was another test's garbage)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()


class Check:
    """One observation window: :meth:`start` takes the baseline, :meth:`finish` the verdict."""

    def __init__(self, options: Options = Options(), tracker: Tracker = TRACKER) -> None:
        self.options = options
        self.tracker = tracker
        self.baseline: Optional[probes.Snapshot] = None
        self._started = False

    def start(self, collect: bool = True) -> None:
        """Take the baseline; ``collect`` first clears garbage an earlier window left (the
        pytest plugin skips it: it runs around every test and only pays when something
        looks new)."""
        self.tracker.install()
        self._started = True
        if collect:
            collect_garbage()
        self.baseline = probes.take(self.tracker)

    def absorb(self, before: probes.Snapshot, after: probes.Snapshot) -> None:
        """What appeared between ``before`` and ``after`` (a wider-scoped fixture's setup, made
        during this window) is not this window's: add it to the baseline."""
        assert self.baseline is not None
        base = self.baseline
        self.baseline = dataclasses.replace(
            base,
            threads=base.threads | (after.threads - before.threads),
            fds={**base.fds, **{fd: t for fd, t in after.fds.items()
                               if before.fds.get(fd) != t}},
            fd_listing=base.fd_listing | after.fd_listing,
            children=base.children | (after.children - before.children),
            tasks=base.tasks | (after.tasks - before.tasks),
        )

    def rebase(self, baseline: probes.Snapshot) -> None:
        self.tracker.install()
        self._started = True
        self.baseline = baseline

    def finish(self, extra: Iterable[LeakRecord] = ()) -> tuple[LeakRecord, ...]:
        assert self.baseline is not None, "start() first"
        extra = list(extra)
        try:
            if not extra and not probes.looks_new(self.tracker, self.baseline):
                return ()  # the common case: microseconds, no collection, no wait
            # Something looks new: most often a descriptor number closed and reused, or a thread
            # a library keeps. Judging what is there costs a millisecond; a full collection costs
            # hundreds on a big heap (anyio's suite), so it is paid only for a real candidate.
            found, settling = self._judge(extra)
            if not found:
                return ()
            deadline = time.monotonic() + self.options.settle
            pause = 0.005
            collected = -1.0
            while True:
                # The first collection frees what only cycles held (and tells the hooks, by
                # ResourceWarning, what it had to close); later ones, at most every 0.2 s, what
                # stopping threads drop.
                if time.monotonic() - collected >= _COLLECT_EVERY:
                    collect_garbage()
                    collected = time.monotonic()
                found, settling = self._judge(extra)
                if not settling or time.monotonic() >= deadline:
                    return tuple(found)
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.1)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self.tracker.uninstall()

    def leftovers(self) -> list[LeakRecord]:
        """What is there now that the baseline did not have, as it is (no collection, no wait)."""
        return self._judge([])[0]

    def _judge(self, extra: list[LeakRecord]) -> tuple[list[LeakRecord], bool]:
        """The leftovers, and whether any of them may still go away by itself (a thread that
        is stopping, a descriptor a peer is closing). What the garbage collector already
        closed is final."""
        baseline = self.baseline
        assert baseline is not None
        machinery = self.options.skip_machinery
        found = [
            *probes.thread_leftovers(self.tracker, baseline, machinery),
            *probes.process_leftovers(self.tracker, baseline),
            *probes.fd_leftovers(self.tracker, baseline, machinery),
            *probes.tempfile_leftovers(self.tracker, baseline),
            *probes.registration_leftovers(self.tracker, baseline),
            *probes.task_leftovers(self.tracker, baseline, machinery),
            *extra,
        ]
        found = [r for r in found if self.options.wants(r)]
        settling = any(r.kind in _SETTLING_KINDS for r in found)
        if self.options.unclosed:
            seen = {r.site for r in found if r.site is not None}
            # An object the collector closed is only news when nothing else names its line.
            found += [r for r in probes.unclosed_leftovers(self.tracker, baseline, machinery)
                      if r.site not in seen and self.options.wants(r)]
        return found, settling


def task_records(tracker: Tracker, known: set[Any]) -> list[LeakRecord]:
    records = []
    for task in pending_since(known):
        created = tracker.site_for(task)
        stack = tuple(sites.site_of(f) for f in task.get_stack())
        where = sites.innermost_user(stack)
        at = f", suspended at {where}" if where else ""
        records.append(
            LeakRecord(Kind.TASK, task.get_name(), created.site if created else None, stack,
                       f"still pending when the block ended{at}")
        )
    return records


class no_leaks:
    """Fail (raise :class:`LeakError`) when the block or function leaves something behind.

    ``with no_leaks(): ...``, ``async with no_leaks(): ...`` (also checks tasks still pending
    at the end of the block) or ``@no_leaks()`` on a plain or ``async`` function.
    """

    def __init__(
        self,
        kinds: Optional[Iterable[Any]] = None,
        allow: Iterable[Any] = (),
        settle: float = DEFAULT_SETTLE,
        ignore: Optional[Ignore] = None,
        unclosed: bool = True,
    ) -> None:
        self.options = Options.build(kinds, allow, settle, ignore, unclosed)
        self._check: Optional[Check] = None
        self._tasks: set[Any] = set()
        self.records: tuple[LeakRecord, ...] = ()

    def __enter__(self) -> no_leaks:
        self._check = Check(self.options)
        self._check.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._end(exc is None, ())

    async def __aenter__(self) -> no_leaks:
        self.__enter__()
        self._tasks = set(asyncio.all_tasks())
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        assert self._check is not None
        extra = task_records(self._check.tracker, self._tasks)
        self._end(exc is None, extra)

    def _end(self, raise_on_leak: bool, extra: Iterable[LeakRecord]) -> None:
        assert self._check is not None
        check, self._check = self._check, None
        if not raise_on_leak:  # the block failed: its own error is the news
            check.stop()
            return
        self.records = check.finish(extra)
        if self.records:
            raise LeakError(self.records)

    def __call__(self, func: F) -> F:
        options = self.options
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def checked_async(*args: Any, **kwargs: Any) -> Any:
                async with _from_options(options):
                    return await func(*args, **kwargs)

            return checked_async  # type: ignore[return-value]

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with _from_options(options):
                return func(*args, **kwargs)

        return checked  # type: ignore[return-value]


def _from_options(options: Options) -> no_leaks:
    fresh = no_leaks()
    fresh.options = options
    return fresh


def find(
    func: Callable[..., Any],
    *args: Any,
    kinds: Optional[Iterable[Any]] = None,
    allow: Iterable[Any] = (),
    settle: float = DEFAULT_SETTLE,
    ignore: Optional[Ignore] = None,
    **kwargs: Any,
) -> list[LeakRecord]:
    """Call ``func(*args, **kwargs)`` (a coroutine function runs on a fresh loop) and return
    what it left behind, without raising."""
    check = Check(Options.build(kinds, allow, settle, ignore))
    check.start()
    try:
        if inspect.iscoroutinefunction(func):
            run_checked(lambda: func(*args, **kwargs), check.tracker)
        else:
            func(*args, **kwargs)
    except BaseException:
        check.stop()
        raise
    return list(check.finish())
