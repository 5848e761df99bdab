"""Which frame is "the user's line": the first one outside leaklint, the stdlib and installed
libraries (so a socket opened inside urllib3 is attributed to the fixture's `requests.get(`)."""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from types import CodeType, FrameType
from typing import Optional

from leaklint.runtime.records import Site

# Kept from import time: a test may remove sys._getframe to test code that lives without it.
_getframe = sys._getframe
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
    """USER, LIBRARY or LEAKLINT, from the text of the name alone: hooks call this on whatever
    thread created something (an event loop under blockbuster, say), so no filesystem call."""
    verdict = _verdicts.get(filename)
    if verdict is not None:
        return verdict
    if filename.startswith(_LEAKLINT_DIR):
        verdict = LEAKLINT
    elif filename.startswith("<") or filename.startswith(_LIBRARY_DIRS):
        verdict = LIBRARY
    else:  # the user's files, and relative names (only a user's script is run by one)
        verdict = USER
    with _lock:
        _verdicts[filename] = verdict
    return verdict


# What a hook keeps of the stack that created something: (code, line) pairs, innermost first.
# Turned into Sites (and paths) only when a report needs them.
RawStack = tuple[tuple[CodeType, int], ...]
_RAW_DEPTH = 64


def raw_stack(frame: Optional[FrameType]) -> RawStack:
    found: list[tuple[CodeType, int]] = []
    while frame is not None and len(found) < _RAW_DEPTH:
        found.append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    return tuple(found)


def _raw_site(code: CodeType, line: int) -> Site:
    return Site(code.co_filename, line, code.co_name)


def raw_user_site(raw: RawStack) -> Optional[Site]:
    """:func:`user_site` for a recorded stack."""
    fallback: Optional[Site] = None
    for code, line in raw:
        verdict = classify(code.co_filename)
        if verdict == USER:
            return _raw_site(code, line)
        if verdict == LIBRARY and fallback is None:
            fallback = _raw_site(code, line)
    return fallback


def raw_caller_site(raw: RawStack) -> Optional[Site]:
    """:func:`user_site` of the frame that called the first user frame (a factory's caller)."""
    for index, (code, _) in enumerate(raw):
        if classify(code.co_filename) == USER:
            return raw_user_site(raw[index + 1:]) if index + 1 < len(raw) else None
    return None


def raw_has_user(raw: RawStack) -> bool:
    return any(classify(code.co_filename) == USER for code, _ in raw)


def resolve(site: Site) -> Site:
    """The site with an absolute path: done when a report is written, never in a hook."""
    if site.file.startswith(("<", os.sep)):
        return site
    return Site(os.path.abspath(site.file), site.line, site.function)


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
    frame: Optional[FrameType] = _getframe(skip + 1)
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
