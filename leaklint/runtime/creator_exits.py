"""Creator exits: was a thread, timer, task or executor still live when the *function that made
it* returned, and did that function hand it to anybody?

This is the runtime form of "never joined / awaited / cancelled / shut down on this path": a
thread that outlives its creator's frame, with no reference to it left anywhere but the
threading module, was dropped there - even if it finishes a moment later. The harness watches
only the frames that created something (``frame.f_trace`` on those frames, a no-op global tracer
otherwise), and asks at their ``return`` event. Coroutine frames also "return" at every
suspension, so for them the question is asked from the loop once the coroutine has finished.
"""

from __future__ import annotations

import asyncio
import dis
import gc
import inspect
import sys
import threading
import types
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from leaklint.runtime import sites
from leaklint.runtime.evidence import LARGE_RETAINED_BYTES
from leaklint.runtime.hooks import Created, Tracker
from leaklint.runtime.records import DROPPED_TASK_CODE, WORKER_LOOP_CODE, Kind, LeakRecord, Site

Span = tuple[int, int]
_WATCHED_KINDS = {"thread": Kind.THREAD, "timer": Kind.TIMER, "task": Kind.TASK}


@dataclass
class _Watch:
    frame: types.FrameType
    function: str
    coroutine: Any = None
    items: list[tuple[Any, Created, Kind]] = field(default_factory=list)
    returned: Any = None


def _internal_containers() -> list[Any]:
    found: list[Any] = []
    for name in ("_active", "_limbo", "_dangling", "_shutdown_locks"):
        value = getattr(threading, name, None)
        if value is not None:
            found.append(value)
            inner = getattr(value, "data", None)  # a WeakSet's set
            if inner is not None:
                found.append(inner)
    return found


def _contains(value: Any, obj: Any, depth: int = 2) -> bool:
    if value is obj:
        return True
    if depth <= 0:
        return False
    if isinstance(value, dict):
        return any(_contains(v, obj, depth - 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_contains(v, obj, depth - 1) for v in value)
    return False


class _LoopExit:
    """Line tracer for a function holding a flagged loop: notes an exception that leaves the
    function from inside the loop - the loop had no exit of its own in this run."""

    def __init__(self, watch: ExitWatch, span: Span) -> None:
        self.watch = watch
        self.span = span
        self.pending: Optional[tuple[str, int]] = None

    def trace(self, frame: types.FrameType, event: str, arg: Any) -> Callable[..., Any]:
        if event == "exception":
            line = frame.f_lineno
            if self.span[0] <= line <= self.span[1]:
                self.pending = (getattr(arg[0], "__name__", "exception"), line)
        elif event == "line":
            self.pending = None  # handled: the loop goes on
        elif event == "return":
            if self.pending is not None and arg is None:
                name, line = self.pending
                path = frame.f_code.co_filename
                self.watch.evidence.append(LeakRecord(
                    Kind.THREAD, frame.f_code.co_name, Site(path, self.span[0]),
                    (Site(path, line, frame.f_code.co_name),),
                    f"the loop at line {self.span[0]} never stopped on its own: it ended only "
                    f"when {name} was raised at line {line}", WORKER_LOOP_CODE))
            self.pending = None
        return self.trace


class ExitWatch:
    def __init__(self, tracker: Tracker, focus: str = "", loops: Sequence[Span] = ()) -> None:
        self.tracker = tracker
        self.focus = focus
        self.loops = list(loops)  # flagged `while` loops (LK102): how do they end?
        self._loop_codes: dict[types.CodeType, Optional[Span]] = {}
        self._closures_seen: set[Site] = set()
        self.evidence: list[LeakRecord] = []
        self._watches: dict[int, _Watch] = {}
        self._previous: Any = None
        self._lock = threading.Lock()

    def install(self) -> None:
        self._previous = sys.gettrace()
        sys.settrace(self._global if self.focus else _no_line_events)
        if self.loops:
            threading.settrace(self._global)  # loops often run on worker threads
        self.tracker.on_created = self.created

    def _global(self, frame: types.FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        """Frames of the focus file that make closures get a look when they return (LK401)."""
        code = frame.f_code
        if code.co_filename != self.focus:
            return None
        span = self._loop_in(code)
        if span is not None:
            return _LoopExit(self, span).trace
        if code.co_cellvars and threading.current_thread() is threading.main_thread():
            frame.f_trace_lines = False
            return self._local
        return None

    def _loop_in(self, code: types.CodeType) -> Optional[Span]:
        if not self.loops:
            return None
        if code not in self._loop_codes:
            lines = {line for _, line in dis.findlinestarts(code) if line is not None}
            # Any line of the loop: 3.9 emits no code for a `while True:` header itself.
            self._loop_codes[code] = next(
                (span for span in self.loops
                 if code.co_firstlineno <= span[0]  # not a function nested in the loop
                 and any(span[0] <= n <= span[1] for n in lines)),
                None)
        return self._loop_codes[code]

    def uninstall(self) -> None:
        self.tracker.on_created = None
        sys.settrace(self._previous)
        if self.loops:
            threading.settrace(None)  # type: ignore[arg-type,unused-ignore]

    # --- watching -------------------------------------------------------------------------
    def created(self, obj: Any, record: Created, frame: types.FrameType) -> None:
        what = record.what
        if what in _WATCHED_KINDS:
            kind = _WATCHED_KINDS[what]
        elif what in ("ThreadPoolExecutor", "ProcessPoolExecutor", "Pool", "ThreadPool"):
            kind = Kind.EXECUTOR
        else:
            return
        if threading.current_thread() is not threading.main_thread():
            return  # the tracer runs in the main thread only
        with self._lock:
            watch = self._watches.get(id(frame))
            if watch is None:
                watch = _Watch(frame, frame.f_code.co_name, _coroutine_of(frame))
                self._watches[id(frame)] = watch
                frame.f_trace_lines = False
                frame.f_trace = self._local
            watch.items.append((_ref(obj), record, kind))

    def _local(self, frame: types.FrameType, event: str, arg: Any) -> Optional[Callable[..., Any]]:
        if event != "return":
            return self._local
        if frame.f_code.co_cellvars and frame.f_code.co_filename == self.focus:
            self._closures_escaping(frame, arg)
        watch = self._watches.get(id(frame))
        if watch is None or watch.frame is not frame:
            return None
        watch.returned = arg
        if watch.coroutine is None:
            self._judge(watch)
            return None
        try:  # a coroutine: decide once it has really finished
            asyncio.get_running_loop().call_soon(self._maybe_finished, watch)
        except RuntimeError:
            self._judge(watch)
        return self._local

    def _maybe_finished(self, watch: _Watch) -> None:
        if watch.coroutine.cr_frame is None and id(watch.frame) in self._watches:
            # Untraced, so our own frames do not grow ``f_locals`` snapshots holding the object.
            tracer = sys.gettrace()
            sys.settrace(None)
            try:
                self._judge(watch)
            finally:
                sys.settrace(tracer)

    def _closures_escaping(self, frame: types.FrameType, returned: Any) -> None:
        """Nested functions made by this frame that something outside it now refers to, and the
        bytes their cells keep alive."""
        nested = [c for c in frame.f_code.co_consts if isinstance(c, types.CodeType)]
        for code in nested:
            made = gc.get_referrers(code)
            for function in made:
                if not isinstance(function, types.FunctionType) or not function.__closure__:
                    continue
                site = Site(code.co_filename, code.co_firstlineno, code.co_name)
                if site in self._closures_seen:
                    continue
                retained = sum(_cell_bytes(cell) for cell in function.__closure__)
                if retained < LARGE_RETAINED_BYTES:
                    continue
                if not (_contains(returned, function)
                        or _referenced_outside(function, frame, {id(made)})):
                    continue
                self._closures_seen.add(site)
                names = ", ".join(code.co_freevars)
                self.evidence.append(LeakRecord(
                    Kind.CLOSURE, code.co_name, site, (),
                    f"closure `{code.co_name}` escaped `{frame.f_code.co_name}` holding "
                    f"{retained:,} bytes in its cells ({names})"))

    # --- judging --------------------------------------------------------------------------
    def _judge(self, watch: _Watch) -> None:
        self._watches.pop(id(watch.frame), None)
        for ref, record, kind in watch.items:
            obj = ref()
            if obj is None and kind is Kind.EXECUTOR and (
                record.serial not in self.tracker.shut_down_serials
            ):
                self.evidence.append(LeakRecord(
                    kind, record.what, record.site, (),
                    f"dropped without shutdown() by `{watch.function}` (which created it)"))
                continue
            if obj is None or not _live(obj, kind, self.tracker):
                continue
            if _contains(watch.returned, obj) or self._kept(obj, watch):
                continue
            code = WORKER_LOOP_CODE if kind is Kind.THREAD and obj.daemon else _code(kind)
            self.evidence.append(LeakRecord(
                kind, type(obj).__name__, record.site, (),
                f"{_state(obj, kind)} when `{watch.function}` (which created it) returned, "
                "and nothing else refers to it", code))

    def _kept(self, obj: Any, watch: _Watch) -> bool:
        """Whether anything but the runtime's own bookkeeping still refers to ``obj``."""
        gc.collect()
        internal = _internal_containers()
        ignored = {id(watch.frame), id(self._watches), id(internal)} | {id(c) for c in internal}
        referrers = gc.get_referrers(obj)
        scratch = {id(referrers)}
        for referrer in referrers:
            if id(referrer) in ignored or _is_runtime_internal(referrer, obj):
                continue
            if type(referrer).__name__ == "cell":
                if _cell_escapes(referrer, scratch):
                    return True
                continue
            if isinstance(referrer, types.FrameType):
                if referrer.f_code.co_filename == __file__ or referrer.f_locals.get("self") is obj:
                    continue
                if sites.classify(referrer.f_code.co_filename) != sites.USER:
                    continue
                return True
            if isinstance(referrer, dict) and (
                referrer is watch.frame.f_locals
                or _locals_of_ours(referrer, scratch)
                or referrer.get("self") is self
            ):
                continue
            if referrer is watch.coroutine:  # the finished creator still holds its locals
                continue
            return True
        return False


_COMPREHENSIONS = ("<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>")


def _cell_escapes(cell: Any, scratch: set[int]) -> bool:
    """Whether a closure cell holding the object is shared with a real closure (a nested
    function that may outlive the frame), not just a comprehension compiled to a function."""
    for holder in gc.get_referrers(cell):
        if id(holder) in scratch or not isinstance(holder, tuple):
            continue
        for function in gc.get_referrers(holder):
            name = getattr(getattr(function, "__code__", None), "co_name", None)
            if name is not None and name not in _COMPREHENSIONS:
                return True
    return False


def _cell_bytes(cell: Any) -> int:
    try:
        value = cell.cell_contents
    except ValueError:  # an empty cell
        return 0
    return sys.getsizeof(value)  # the buffer itself; shared items are not counted


def _referenced_outside(obj: Any, frame: types.FrameType, scratch: set[int]) -> bool:
    """Whether anything other than ``frame`` (its locals, its coroutine) refers to ``obj``;
    ``scratch`` holds the ids of our own temporary lists."""
    referrers = gc.get_referrers(obj)
    scratch = scratch | {id(referrers)}
    for referrer in referrers:
        if id(referrer) in scratch or referrer is frame or referrer is frame.f_locals:
            continue
        if isinstance(referrer, dict) and _locals_of_ours(referrer, scratch):
            continue
        if type(referrer).__name__ == "cell":
            if _cell_escapes(referrer, scratch):
                return True
            continue
        if inspect.iscoroutine(referrer) and referrer.cr_frame is frame:
            continue
        if isinstance(referrer, types.FrameType) and referrer.f_code.co_filename == __file__:
            continue
        return True
    return False


def _locals_of_ours(candidate: dict[str, Any], scratch: set[int]) -> bool:
    """A ``frame.f_locals`` snapshot of one of our own frames (tracing makes them on 3.9-3.12)."""
    for holder in gc.get_referrers(candidate):
        if id(holder) in scratch:
            continue
        if isinstance(holder, types.FrameType) and holder.f_code.co_filename == __file__:
            return True
    return False


def _no_line_events(frame: types.FrameType, event: str, arg: Any) -> None:
    return None


def _ref(obj: Any) -> Callable[[], Any]:
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _coroutine_of(frame: types.FrameType) -> Any:
    """The coroutine running ``frame`` (a running coroutine is not reachable from its task)."""
    if not frame.f_code.co_flags & inspect.CO_COROUTINE:
        return None
    for referrer in gc.get_referrers(frame):
        if inspect.iscoroutine(referrer) and referrer.cr_frame is frame:
            return referrer
    return _UNKNOWN_COROUTINE


class _Unknown:
    cr_frame = True  # never looks finished: such a creator is not judged


_UNKNOWN_COROUTINE = _Unknown()


def _live(obj: Any, kind: Kind, tracker: Tracker) -> bool:
    if kind in (Kind.THREAD, Kind.TIMER):
        if kind is Kind.TIMER and obj.finished.is_set():
            return False
        return bool(obj.is_alive())
    if kind is Kind.TASK:
        return not obj.done()
    return obj not in tracker.shut_down


def _state(obj: Any, kind: Kind) -> str:
    if kind is Kind.EXECUTOR:
        return "never shut down"
    if kind is Kind.TASK:
        return "still pending"
    return "still running" if kind is Kind.THREAD else "still armed"


def _code(kind: Kind) -> str:
    """A task its creator dropped while it was pending was never awaited (LK106); the others
    are reported under their kind's code."""
    return DROPPED_TASK_CODE if kind is Kind.TASK else kind.code


def _is_runtime_internal(referrer: Any, obj: Any) -> bool:
    """Bound methods of the object itself, asyncio's wake-up wrappers, handles and queues."""
    if getattr(referrer, "__self__", None) is obj:
        return True
    module = type(referrer).__module__ or ""
    name = type(referrer).__name__
    if module.startswith(("asyncio", "_asyncio", "concurrent", "threading", "queue")):
        return True
    return "Wrapper" in name or name in ("Handle", "TimerHandle", "Context")
