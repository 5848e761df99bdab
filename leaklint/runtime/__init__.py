"""The runtime companion: execute code and prove that a leak really happens.

``no_leaks()`` (context manager, ``async with``, decorator) and ``find()`` check a block or a
call; ``leaklint confirm`` runs fixtures in subprocesses and matches what they leave behind with
the static findings; the pytest plugin checks every test; ``LeakMonitor`` watches a live process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leaklint.runtime.records import Kind, LeakError, LeakRecord, Site

if TYPE_CHECKING:
    from leaklint.runtime.check import Ignore, find, no_leaks
    from leaklint.runtime.monitor import Alarm, LeakMonitor, Thresholds

__all__ = [
    "Alarm",
    "Ignore",
    "Kind",
    "LeakError",
    "LeakMonitor",
    "LeakRecord",
    "Site",
    "Thresholds",
    "find",
    "no_leaks",
]


def __getattr__(name: str) -> object:
    # Imported on first use: the hooks and probes cost every `leaklint check` start-up about
    # 40 ms, and the monitor pulls in http.server.
    if name in ("Ignore", "find", "no_leaks"):
        from leaklint.runtime import check

        return getattr(check, name)
    if name in ("Alarm", "LeakMonitor", "Thresholds"):
        from leaklint.runtime import monitor

        return getattr(monitor, name)
    raise AttributeError(name)
