"""``leaklint top URL``: a live table of a running process's profile, read from its monitor's
endpoint (``LeakMonitor.serve()``), refreshed every few seconds, with what changed since the
last refresh."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Optional

from leaklint.runtime.alarms import amount

KINDS = ("threads", "tasks", "fds", "processes")
CLEAR_SCREEN = "\x1b[H\x1b[2J"


class Unreachable(Exception):
    pass


def profile_url(url: str) -> str:
    """``127.0.0.1:9464``, ``http://host:9464`` or ``http://host:9464/`` -> the profile URL."""
    base = url if "://" in url else f"http://{url}"
    base = base.rstrip("/")
    for suffix in ("/metrics", "/profile"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return f"{base}/profile?format=json"


def fetch(url: str, timeout: float = 5.0) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(profile_url(url), timeout=timeout) as response:
            data: dict[str, Any] = json.load(response)
            return data
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(f"cannot read {profile_url(url)}: {exc}") from exc


def _counts(profile: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(kind, group["site"]): group["count"]
            for kind in KINDS for group in profile.get(kind, {}).get("sites", [])}


def render(profile: dict[str, Any], previous: Optional[dict[str, Any]], limit: int) -> str:
    before = _counts(previous) if previous else {}
    stamp = time.strftime("%H:%M:%S", time.localtime(profile.get("at", time.time())))
    tracking = "" if profile.get("tracking") else "  (creation sites not tracked: track=True)"
    lines = [f"leaklint top - {stamp}{tracking}",
             f"{'KIND':<10} {'COUNT':>7} {'CHANGE':>7} {'OLDEST':>8}  CREATED AT"]
    for kind in KINDS:
        section = profile.get(kind, {"total": 0, "sites": []})
        change = _change(section["total"], sum(c for (k, _), c in before.items() if k == kind),
                         previous is not None)
        lines.append(f"{kind:<10} {section['total']:>7} {change:>7} {'':>8}  (all sites)")
        for group in section["sites"][:limit]:
            was = before.get((kind, group["site"]), 0)
            change = _change(group["count"], was, previous is not None)
            lines.append(f"{'':<10} {group['count']:>7} {change:>7} "
                         f"{group['oldest_age']:>7.0f}s  {group['site']}")
    heap = profile.get("heap", {})
    if heap.get("sites"):
        lines.append(f"heap: {amount('bytes', heap.get('traced_bytes', 0))} traced, "
                     f"+{amount('bytes', heap.get('growth_bytes', 0))} since the first snapshot")
        for site in heap["sites"][:limit]:
            lines.append(f"{'':<10} {amount('bytes', site['growth_bytes']):>15}  {site['site']}")
    for item in profile.get("oversized", [])[:limit]:
        lines.append(f"oversized: {item['message']}")
    return "\n".join(lines) + "\n"


def _change(now: int, before: int, known: bool) -> str:
    if not known or now == before:
        return ""
    return f"{now - before:+d}"


def run(url: str, interval: float, once: bool, limit: int,
        write: Optional[Callable[[str], object]] = None, iterations: Optional[int] = None
        ) -> int:
    """Print the table until interrupted (or once); 2 if the endpoint cannot be read at first."""
    write = write or sys.stdout.write
    previous: Optional[dict[str, Any]] = None
    clear = sys.stdout.isatty() and not once
    shown = 0
    while True:
        try:
            profile = fetch(url)
        except Unreachable as exc:
            if previous is None:
                sys.stderr.write(f"leaklint top: {exc}\n")
                return 2
            write(f"leaklint top: {exc}; retrying\n")
        else:
            write((CLEAR_SCREEN if clear else "") + render(profile, previous, limit))
            previous = profile
        shown += 1
        if once or (iterations is not None and shown >= iterations):
            return 0
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return 0
