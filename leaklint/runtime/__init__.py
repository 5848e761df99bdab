"""The runtime companion: execute code and prove that a leak really happens.

``no_leaks()`` (context manager, ``async with``, decorator) and ``find()`` check a block or a
call; ``leaklint confirm`` runs fixtures in subprocesses and matches what they leave behind with
the static findings; the pytest plugin checks every test; ``LeakMonitor`` watches a live process.
"""

from leaklint.runtime.check import Ignore, find, no_leaks
from leaklint.runtime.records import Kind, LeakError, LeakRecord, Site

__all__ = ["Ignore", "Kind", "LeakError", "LeakMonitor", "LeakRecord", "Site", "find", "no_leaks"]


def __getattr__(name: str) -> object:
    if name == "LeakMonitor":  # imported lazily: it pulls in http.server
        from leaklint.runtime.monitor import LeakMonitor

        return LeakMonitor
    raise AttributeError(name)
