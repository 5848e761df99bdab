"""Which frame is "the user's line": the first one outside leaklint, the stdlib and installed
libraries (so a socket opened inside urllib3 is attributed to the fixture's `requests.get(`)."""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from types import FrameType
from typing import Optional

from leaklint.runtime.records import Site

_LEAKLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _library_dirs() -> tuple[str, ...]:
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    paths = sysconfig.get_paths()
    found = {os.path.abspath(p) + os.sep for p in (paths.get(n) for n in names) if p}
    for path in sys.path:
        if path.endswith(("site-packages", "dist-packages")):
            found.add(os.path.abspath(path) + os.sep)
    return tuple(sorted(found))


_LIBRARY_DIRS = _library_dirs()
_verdicts: dict[str, int] = {}
_lock = threading.Lock()

# Frame classes: the user's own code, an installed library, the stdlib, leaklint itself.
USER, LIBRARY, LEAKLINT = 0, 1, 2


def classify(filename: str) -> int:
    verdict = _verdicts.get(filename)
    if verdict is not None:
        return verdict
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_LEAKLINT_DIR):
        verdict = LEAKLINT
    elif filename.startswith("<frozen") or path.startswith(_LIBRARY_DIRS):
        verdict = LIBRARY
    else:
        verdict = USER
    with _lock:
        _verdicts[filename] = verdict
    return verdict


def site_of(frame: FrameType) -> Site:
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def user_frame(frame: Optional[FrameType]) -> Optional[FrameType]:
    while frame is not None and classify(frame.f_code.co_filename) != USER:
        frame = frame.f_back
    return frame


def user_site(frame: Optional[FrameType]) -> Optional[Site]:
    """The first frame (innermost first) in the user's code; else the first outside leaklint."""
    fallback: Optional[Site] = None
    while frame is not None:
        verdict = classify(frame.f_code.co_filename)
        if verdict == USER:
            return site_of(frame)
        if verdict == LIBRARY and fallback is None:
            fallback = site_of(frame)
        frame = frame.f_back
    return fallback


def caller_site(skip: int = 1) -> Optional[Site]:
    """The user's line that called the hooked function (``skip`` frames above this one)."""
    frame: Optional[FrameType] = sys._getframe(skip + 1)
    return user_site(frame)


def stack_of(
    frame: Optional[FrameType], limit: int = 12, user_only: bool = True
) -> tuple[Site, ...]:
    """The stack of a frame, outermost first, trimmed to the user's frames when there are any."""
    sites: list[Site] = []
    while frame is not None and len(sites) < 64:
        sites.append(site_of(frame))
        frame = frame.f_back
    sites.reverse()
    mine = [s for s in sites if classify(s.file) == USER]
    chosen = mine if user_only and mine else [s for s in sites if classify(s.file) != LEAKLINT]
    return tuple(chosen[-limit:])


def innermost_user(stack: tuple[Site, ...]) -> Optional[Site]:
    for site in reversed(stack):
        if classify(site.file) == USER:
            return site
    return None
