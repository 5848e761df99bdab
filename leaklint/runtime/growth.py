"""Growth probes: call ``main()`` again and again and report only what grew in every repetition.

A rule about memory that stays reachable declares what its finding's line names (its
``EVIDENCE.growth``, a :class:`~leaklint.runtime.evidence.Growth`); the probe measures that
object after each call:

* ``CONTAINER``: the module/class container assigned on the line, its ``len()``;
* ``CACHED_METHOD``: live instances of the class whose method is decorated on the line, and
  how many of them ``cache_clear()`` releases (those were pinned by the cache);
* ``CACHE``: entries the unbounded cache decorated on the line holds;
* ``REGISTRATIONS``: handlers/registrations made on the line and still attached; ``LOGGERS``:
  loggers created there;
* ``DEFAULT``: the mutable defaults of the function on the line, their ``len()``;
* ``CLOSURE_CELLS``: closures defined on the line still alive, and the bytes their cells
  retain;
* ``VIEW_BUFFERS``: views (``memoryview``, numpy arrays with a ``base``) allocated on the line
  and still alive, and the bytes of the whole buffers they keep (``view.obj`` / ``view.base``)
  beyond the part they show (allocation sites from ``tracemalloc``).

Without a target (a fixture in a growth rule's folder with no finding), the generic probes look
for handlers, loggers and traced memory that grow per call at any line of the file.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional

from leaklint.figures import amount
from leaklint.runtime.evidence import Growth
from leaklint.runtime.hooks import Tracker
from leaklint.runtime.records import Kind, LeakRecord, Site
from leaklint.runtime.source_map import SourceMap

MEMORY_BYTES_PER_CALL = 256


@dataclass(frozen=True)
class Target:
    code: str
    line: int
    growth: Growth

    def to_argument(self) -> str:
        """How ``confirm`` hands the target to the harness: ``LK201:12:container``."""
        return f"{self.code}:{self.line}:{self.growth.value}"

    @classmethod
    def from_argument(cls, text: str) -> Target:
        code, line, growth = text.split(":")
        return cls(code, int(line), Growth(growth))


@dataclass
class Probe:
    target: Target
    measure: Callable[[], float]
    unit: str
    label: str
    kind: Kind
    values: list[float]


def _resolve(module: types.ModuleType, dotted: str) -> Any:
    obj: Any = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _function(module: types.ModuleType, dotted: str) -> Any:
    found = _resolve(module, dotted)
    if isinstance(found, property):
        found = found.fget
    return found


def _sized(obj: Any) -> float:
    try:
        return float(len(obj))
    except TypeError:
        return 0.0


def _retained(value: Any) -> int:
    """Bytes a cell keeps alive: the object and, one level down, what a container holds."""
    size = sys.getsizeof(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        size += sum(sys.getsizeof(item) for item in list(value)[:100_000])
    elif isinstance(value, dict):
        size += sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in list(value.items())[:100_000])
    return size


def _closures(path: str, span: tuple[int, int]) -> list[types.FunctionType]:
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, types.FunctionType)
        and obj.__closure__
        and obj.__code__.co_filename == path
        and span[0] <= obj.__code__.co_firstlineno <= span[1]
    ]


def _buffer_bytes(exporter: Any) -> int:
    try:
        with memoryview(exporter) as whole:
            return whole.nbytes
    except (TypeError, ValueError):
        return int(getattr(exporter, "nbytes", 0) or sys.getsizeof(exporter))


def _view_pins(obj: Any) -> int:
    """Bytes of the buffer behind a live view that the view itself does not show."""
    if type(obj) is memoryview:
        try:
            return max(0, _buffer_bytes(obj.obj) - obj.nbytes)
        except ValueError:  # released
            return 0
    base = getattr(obj, "base", None)
    if type(obj).__name__ == "ndarray" and base is not None:
        return max(0, _buffer_bytes(base) - int(obj.nbytes))
    return 0


def _live_views() -> list[Any]:
    """Live memoryviews (tracked by the collector) and numpy arrays (not tracked: found as
    what a tracked object refers to)."""
    found: dict[int, Any] = {}
    numpy = "numpy" in sys.modules
    for obj in gc.get_objects():
        if type(obj) is memoryview:
            found[id(obj)] = obj
        elif numpy:
            for referent in gc.get_referents(obj):
                if type(referent).__name__ == "ndarray":
                    found[id(referent)] = referent
    return list(found.values())


def _pinned_by_views(path: str, span: tuple[int, int]) -> int:
    total = 0
    for view in _live_views():
        allocated = tracemalloc.get_object_traceback(view)
        if allocated is not None and any(
            frame.filename == path and span[0] <= frame.lineno <= span[1] for frame in allocated
        ):
            total += _view_pins(view)
    return total


def _instances(cls: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is cls)


def _within(site: Optional[Site], path: str, span: tuple[int, int]) -> bool:
    return site is not None and site.file == path and span[0] <= site.line <= span[1]


class GrowthRun:
    """The probes of one fixture; :meth:`sample` after each call, :meth:`records` at the end."""

    def __init__(
        self, module: types.ModuleType, path: str, source: SourceMap, tracker: Tracker,
        targets: Sequence[Target],
    ) -> None:
        self.module, self.path, self.source, self.tracker = module, path, source, tracker
        self.targets = list(targets)
        self.probes: list[Probe] = []
        self.notes: dict[Target, str] = {}
        for target in targets:
            try:
                probe = self._probe(target)
            except Exception as exc:  # a name we cannot resolve: say so, no evidence
                self.notes[target] = f"cannot observe: {type(exc).__name__}: {exc}"
                continue
            if probe is not None:
                self.probes.append(probe)

    def _probe(self, target: Target) -> Optional[Probe]:
        growth, line, source = target.growth, target.line, self.source
        if growth is Growth.CONTAINER:
            name = source.assigned_name(line)
            if name is None:
                return None
            container = _resolve(self.module, name)
            if getattr(container, "maxlen", None) is not None:
                self.notes[target] = f"`{name}` is bounded (maxlen={container.maxlen})"
                return None
            return Probe(target, lambda: _sized(container), "entries", f"`{name}`", Kind.MEMORY,
                         [])
        if growth in (Growth.CACHED_METHOD, Growth.CACHE):
            found = source.decorated_function(line)
            if found is None:
                return None
            name, is_method = found
            function = _function(self.module, name)
            if is_method:
                cls = _resolve(self.module, name.rsplit(".", 1)[0])
                return Probe(target, lambda: float(_instances(cls)), "instances",
                             f"`{name}`", Kind.CACHE, [])
            info = getattr(function, "cache_info", None)
            if info is None:
                return None
            return Probe(target, lambda: float(info().currsize), "cache entries", f"`{name}`",
                         Kind.CACHE, [])
        if growth is Growth.DEFAULT:
            name = source.function_with_default(line)
            if name is None:
                return None
            function = _function(self.module, name)
            defaults = [*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()]
            mutable = [d for d in defaults if isinstance(d, (list, dict, set, bytearray))]
            return Probe(target, lambda: sum(_sized(d) for d in mutable), "items",
                         f"default of `{name}`", Kind.DEFAULT, [])
        span = source.statement_span(line)
        if growth is Growth.REGISTRATIONS:
            return Probe(target, lambda: float(self._registrations(span)), "registrations",
                         "handlers/registrations", Kind.HANDLER, [])
        if growth is Growth.LOGGERS:
            return Probe(target, lambda: float(self._loggers(span)), "loggers", "loggers",
                         Kind.LOGGER, [])
        if growth is Growth.CLOSURE_CELLS:
            fspan = source.function_span(line)
            return Probe(target, lambda: float(sum(
                sum(_retained(c.cell_contents) for c in f.__closure__ or () if _filled(c))
                for f in _closures(self.path, fspan))), "bytes", "closure cells", Kind.CLOSURE,
                [])
        if growth is Growth.VIEW_BUFFERS:
            if not tracemalloc.is_tracing():
                tracemalloc.start(8)  # views are found by where they were allocated
            return Probe(target, lambda: float(_pinned_by_views(self.path, span)), "bytes",
                         "buffers behind the views made there (`.obj`/`.base`)", Kind.MEMORY,
                         [])
        return None

    def _registrations(self, span: tuple[int, int]) -> int:
        registry = self.tracker.registry
        attached = attached_ids()
        handlers = sum(
            1 for _, _, hid, c in registry.handlers if hid in attached and _within(c.site,
                                                                                    self.path, span)
        )
        return handlers + sum(1 for _, c in registry.registrations if _within(c.site, self.path,
                                                                              span))

    def _loggers(self, span: tuple[int, int]) -> int:
        return sum(1 for c in self.tracker.registry.loggers.values()
                   if _within(c.site, self.path, span))

    def sample(self) -> None:
        gc.collect()
        for probe in self.probes:
            try:
                probe.values.append(probe.measure())
            except Exception:  # the object went away: no more evidence from it
                probe.values.append(float("nan"))

    def records(self, calls: int) -> list[LeakRecord]:
        """``values[0]`` is before the first call, ``values[1]`` after the warm-up, the rest
        after each repetition."""
        records = []
        for probe in self.probes:
            record = self._verdict(probe, calls)
            if record is not None:
                records.append(record)
        return records

    def _verdict(self, probe: Probe, calls: int) -> Optional[LeakRecord]:
        values = probe.values
        site = Site(self.path, probe.target.line)
        growth = probe.target.growth
        repeats = values[1:]
        grows = len(repeats) >= 3 and all(b > a for a, b in zip(repeats, repeats[1:]))
        per_call = (repeats[-1] - repeats[0]) / max(1, len(repeats) - 1) if repeats else 0.0
        unit = probe.unit
        if grows:
            detail = (f"{probe.label} grew in every one of {len(repeats) - 1} calls: "
                      f"+{amount(per_call, unit)} per call ({amount(repeats[0])} -> "
                      f"{amount(repeats[-1])})")
        elif growth.retains and values and values[-1] > values[0]:
            # Retained rather than growing (the same input each call): still held after main().
            detail = (f"{probe.label} holds {amount(values[-1], unit)} after main() returned "
                      f"({amount(values[0])} before the first call) and never lets them go")
        else:
            return None
        if growth is Growth.CACHED_METHOD:
            pinned = self._pinned(probe)
            if pinned <= 0:
                return None
            detail += (f"; cache_clear() released {amount(pinned, 'instances')}: they were "
                       "pinned by it")
        if values[-1] < growth.min_bytes:
            return None
        return LeakRecord(probe.kind, probe.label, site, (), detail, probe.target.code)

    def _pinned(self, probe: Probe) -> int:
        found = self.source.decorated_function(probe.target.line)
        if found is None:
            return 0
        name, _ = found
        function = _function(self.module, name)
        cls = _resolve(self.module, name.rsplit(".", 1)[0])
        before = _instances(cls)
        clear = getattr(function, "cache_clear", None)
        if clear is None:
            return 0
        clear()
        return before - _instances(cls)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


class MemoryLines:
    """Traced memory retained per line of one file, for the generic growth probe."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.samples: list[dict[int, int]] = []

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(16)

    def sample(self) -> None:
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, self.path, all_frames=True)]
        )
        per_line: dict[int, int] = {}
        for trace in snapshot.traces:
            for frame in trace.traceback:  # innermost first
                if frame.filename == self.path:
                    per_line[frame.lineno] = per_line.get(frame.lineno, 0) + trace.size
                    break
        self.samples.append(per_line)

    def growing(self) -> list[tuple[int, float]]:
        if len(self.samples) < 3:
            return []
        lines = set().union(*self.samples)
        found = []
        for line in lines:
            values = [s.get(line, 0) for s in self.samples]
            steps = [b - a for a, b in zip(values, values[1:])]
            if all(step > 0 for step in steps):
                per_call = (values[-1] - values[0]) / len(steps)
                if per_call >= MEMORY_BYTES_PER_CALL:
                    found.append((line, per_call))
        return sorted(found)


def generic_records(path: str, memory: MemoryLines) -> list[LeakRecord]:
    return [
        LeakRecord(Kind.MEMORY, f"line {line}", Site(path, line), (),
                   f"memory allocated here grew in every call: +{amount(round(per_call), 'bytes')} "
                   "per call")
        for line, per_call in memory.growing()
    ]


def attached_ids() -> set[int]:
    """Handlers attached to any logger, and filters attached to any logger or handler."""
    logging = sys.modules["logging"]
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = [h for lg in loggers for h in getattr(lg, "handlers", ())]
    found = {id(h) for h in handlers}
    for owner in [*loggers, *handlers]:
        found.update(id(f) for f in getattr(owner, "filters", ()))
    return found


def registrations_by_line(tracker: Tracker, path: str) -> dict[tuple[Kind, int], int]:
    """Handlers still attached, registrations and loggers made, per (kind, line) of one file."""
    attached = attached_ids()
    counts: dict[tuple[Kind, int], int] = {}
    registry = tracker.registry
    sites_seen = [(Kind.HANDLER, c.site) for _, _, hid, c in registry.handlers if hid in attached]
    sites_seen += [(Kind.HANDLER, c.site) for _, c in registry.registrations]
    sites_seen += [(Kind.LOGGER, c.site) for c in registry.loggers.values()]
    for kind, site in sites_seen:
        if site is not None and site.file == path:
            counts[(kind, site.line)] = counts.get((kind, site.line), 0) + 1
    return counts


def generic_registration_records(path: str, samples: list[dict[tuple[Kind, int], int]]
                                 ) -> list[LeakRecord]:
    if len(samples) < 3:
        return []
    records = []
    for key in sorted(set().union(*samples)):
        values = [s.get(key, 0) for s in samples]
        if all(b > a for a, b in zip(values, values[1:])):
            kind, line = key
            per_call = (values[-1] - values[0]) / (len(values) - 1)
            what = "loggers created" if kind is Kind.LOGGER else "handlers/registrations added"
            detail = f"{what} here grew in every call: +{amount(per_call)} per call"
            records.append(LeakRecord(kind, f"line {line}", Site(path, line), (), detail))
    return records
