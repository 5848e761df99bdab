"""The child side of ``leaklint confirm``: run one fixture's ``main()`` and report what it left.

Run as ``python -m leaklint.runtime.harness FILE RESULT_JSON TIMEOUT [TARGET ...]``. The
parent gives a fresh interpreter per fixture. We import the fixture (import-time state is the
baseline), install the creation-site hooks, call ``main()`` once in the main thread (``async``
mains on our own loop, inspected before leftovers are cancelled) and collect leftovers. Growth
targets (``CODE:LINE:GROWTH``, what the rule's evidence measures, e.g. ``LK201:3:container``)
then get a warm-up-free series of further calls; loop targets (``CODE:LINE``) name loops whose
functions are traced line by line. A
watchdog thread writes whatever evidence exists - including the stack ``main()`` is blocked in -
if the deadline passes; either way the child ends with ``os._exit`` so a leaked non-daemon thread
cannot hang interpreter shutdown.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import inspect
import json
import os
import sys
import threading
import time
import traceback
import types
from collections.abc import Sequence
from typing import Any, Callable, Optional

from leaklint.runtime import growth, probes, sites
from leaklint.runtime.aio import run_checked
from leaklint.runtime.check import Check, Options
from leaklint.runtime.creator_exits import ExitWatch
from leaklint.runtime.hooks import TRACKER
from leaklint.runtime.optional import missing_library
from leaklint.runtime.records import WORKER_LOOP_CODE, Kind, LeakRecord
from leaklint.runtime.source_map import SourceMap

REPETITIONS = 3
# Kinds that only count when they grow per call (one handler added by a setup step is fine).
_GROWTH_ONLY = frozenset({Kind.HANDLER, Kind.LOGGER})



class Outcome:
    def __init__(self, path: str, result_path: str) -> None:
        self.path = path
        self.result_path = result_path
        self.status = "ok"
        self.reason = ""
        self.records: list[LeakRecord] = []
        self.evidence: list[LeakRecord] = []  # seen when main() returned; confirms, never alarms
        self.notes: list[str] = []
        self._written = threading.Lock()

    def write(self) -> None:
        if not self._written.acquire(blocking=False):
            return
        data = {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "records": [r.to_json() for r in self.records],
            "evidence": [r.to_json() for r in self.evidence],
            "notes": self.notes,
        }
        temporary = self.result_path + ".part"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, self.result_path)


def _import(path: str) -> types.ModuleType:
    name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _runner(module: types.ModuleType) -> Callable[[], Any]:
    main = getattr(module, "main", None)
    if main is None or not callable(main):
        raise AttributeError("the fixture defines no main()")
    if inspect.iscoroutinefunction(main):
        return lambda: run_checked(main, TRACKER)
    return main  # type: ignore[no-any-return]


def _blocked_records(main_thread: threading.Thread, waited: float) -> list[LeakRecord]:
    frame = sys._current_frames().get(main_thread.ident or -1)
    stack = sites.stack_of(frame) if frame is not None else ()
    where = sites.innermost_user(stack)
    return [LeakRecord(Kind.BLOCKED, "main()", where, stack,
                       f"main() still running after {waited:.1f}s, blocked at {where}")]


def _running_at_return(check: Check) -> list[LeakRecord]:
    """Threads (pool workers included) busy in the user's code at the moment main() returned:
    evidence for LK102 (a loop that outlives its caller), never a leak by itself."""
    baseline = check.baseline
    if baseline is None:
        return []
    records = []
    for thread in probes.live_threads():
        if id(thread) in baseline.threads:
            continue
        frame = sys._current_frames().get(thread.ident or -1)
        stack = sites.stack_of(frame) if frame is not None else ()
        where = sites.innermost_user(stack)
        if where is not None:
            records.append(LeakRecord(Kind.THREAD, repr(thread.name), where, stack,
                                      f"running at {where} when main() returned",
                                      WORKER_LOOP_CODE))
    return records


def _watchdog(outcome: Outcome, check: Check, deadline: float, done: threading.Event) -> None:
    if done.wait(max(0.0, deadline - time.monotonic())):
        return
    outcome.status = "timeout"
    outcome.reason = f"main() did not return within {deadline - _STARTED:.1f}s"
    records = _blocked_records(threading.main_thread(), deadline - _STARTED)
    try:
        if check.baseline is not None:
            records += check.leftovers()
    except Exception as exc:  # report what we have
        outcome.notes.append(f"collecting leftovers failed: {exc!r}")
    outcome.records = records + _no_timeout_records()
    outcome.write()
    os._exit(0)


def _no_timeout_records() -> list[LeakRecord]:
    return [
        LeakRecord(Kind.NO_TIMEOUT, operation, site, (),
                   f"socket {operation}() ran with no timeout (it would block forever on a "
                   f"silent peer); stack: {stack}",
                   extra_sites=(client,) if client else ())
        for (site, operation), (stack, client) in TRACKER.registry.no_timeout.items()
    ]


_STARTED = time.monotonic()


def run(path: str, result_path: str, timeout: float, targets: list[growth.Target],
        generic_growth: bool, loops: Sequence[int] = ()) -> Outcome:
    outcome = Outcome(path, result_path)
    faulthandler.dump_traceback_later(timeout + 2.0, exit=True)
    try:
        module = _import(path)
        call = _runner(module)
    except BaseException as exc:
        needed = missing_library(exc)
        outcome.status = "skipped" if needed else "import-error"
        outcome.reason = f"needs {needed}" if needed else "".join(
            traceback.format_exception_only(type(exc), exc)).strip()
        return outcome
    with open(path, encoding="utf-8") as handle:
        source = SourceMap.parse(handle.read())
    check = Check(Options(settle=1.0, skip_machinery=False))
    done = threading.Event()
    deadline = time.monotonic() + timeout
    threading.Thread(target=_watchdog, args=(outcome, check, deadline, done),
                     name="leaklint-watchdog", daemon=True).start()
    run_growth = bool(targets) or generic_growth
    growth_run = growth.GrowthRun(module, path, source, TRACKER, targets) if (
        run_growth and source) else None
    check.start()
    if growth_run:
        growth_run.sample()
    spans = [source.loop_span(line) for line in loops] if source else []
    exits = ExitWatch(TRACKER, focus=path, loops=spans)
    exits.install()
    try:
        call()
    except BaseException as exc:
        needed = missing_library(exc)  # an import inside main()
        outcome.status = "skipped" if needed else "error"
        outcome.reason = f"needs {needed}" if needed else "main() raised " + "".join(
            traceback.format_exception_only(type(exc), exc)).strip()
    finally:
        exits.uninstall()
    running = _running_at_return(check)
    # A thread/timer/task/executor alive and unreferenced when its creating function returned
    # proves "never joined/cancelled/shut down on that path" even when it ends a moment later;
    # only what survives the settle time is called a leak.
    outcome.evidence = list(exits.evidence) + running
    found = [r for r in check.finish() if r.kind not in _GROWTH_ONLY]
    TRACKER.install()  # keep the hooks for the growth calls and the evidence below
    if growth_run is not None and outcome.status == "ok":
        found += _grow(growth_run, call, path, generic_growth and not targets, outcome)
    done.set()
    outcome.records = found + _no_timeout_records()
    return outcome


def _grow(growth_run: growth.GrowthRun, call: Callable[[], Any], path: str, generic: bool,
          outcome: Outcome) -> list[LeakRecord]:
    memory = growth.MemoryLines(path) if generic else None
    growth_run.sample()  # after the warm-up (the first call above)
    if memory:
        memory.start()
        memory.sample()
    registrations = [growth.registrations_by_line(TRACKER, path)]
    for _ in range(REPETITIONS):
        try:
            call()
        except BaseException as exc:
            outcome.notes.append(f"a repeated main() raised {exc!r}")
            break
        growth_run.sample()
        registrations.append(growth.registrations_by_line(TRACKER, path))
        if memory:
            memory.sample()
    outcome.notes += [f"{t.code}:{t.line} {note}" for t, note in growth_run.notes.items()]
    records = growth_run.records(REPETITIONS)
    if generic:
        # Without a finding to aim at, growth per call of main() is only a hint: main() is the
        # program's entry point and may rightly run one-time setup on every call.
        hints = growth.generic_registration_records(path, registrations)
        hints += growth.generic_records(path, memory) if memory else []
        outcome.notes += [f"growth hint: line {r.site.line if r.site else 0}: {r.detail}"
                          for r in hints]
    return records


def main(argv: Optional[list[str]] = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    path, result_path, timeout = os.path.abspath(args[0]), args[1], float(args[2])
    generic = "--generic-growth" in args
    given = [a for a in args[3:] if not a.startswith("--")]
    targets = [growth.Target.from_argument(a) for a in given if a.count(":") == 2]
    loops = [int(a.split(":")[1]) for a in given if a.count(":") == 1]
    outcome = run(path, result_path, timeout, targets, generic, loops)
    outcome.write()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
