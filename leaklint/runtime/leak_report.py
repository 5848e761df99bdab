"""What the pytest plugin prints for a leaking test: a few lines per leak, and a summary.

::

    leaked 1 thread (test_server.py:12)
      thread 'stray' created at tests/test_server.py:12 in start_server [LK101]
        via tests/test_server.py:20 (the test's own line)
        non-daemon, target Event.wait still alive
        fix: join() it (or stop it) before the test ends, e.g. in a fixture's teardown

Paths are made relative to the test run's root here, when the report is written; the hooks
that recorded the lines never touched the filesystem.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from leaklint.runtime import sites
from leaklint.runtime.records import Kind, LeakRecord, Site

# One line of advice per kind: what releases it.
FIXES: dict[Kind, str] = {
    Kind.THREAD: "join() it (or tell it to stop and join it) before the test ends",
    Kind.TIMER: "cancel() the timer (and join it) before the test ends",
    Kind.TASK: "await or cancel the task (and await it) before its loop goes away",
    Kind.FILE: "close it: open it in a `with` block or close it in the fixture's teardown",
    Kind.FD: "close the descriptor (os.close) or the object that owns it",
    Kind.SOCKET: "close it: use `with socket...:` or call close() (server_close() for "
                 "a socketserver)",
    Kind.CONNECTION: "close() the connection, or use it in a `with` block that closes it",
    Kind.RESPONSE: "close() the response or client (or read the response to the end), or "
                   "use it in a `with` block",
    Kind.PROCESS: "wait() for it (communicate(), or terminate() then wait())",
    Kind.EXECUTOR: "shut it down: `with ThreadPoolExecutor() as pool:` or pool.shutdown()",
    Kind.TEMPFILE: "remove it, or use tempfile.TemporaryDirectory / pytest's tmp_path",
    Kind.HANDLER: "undo the registration in the test's teardown",
}


def _plural(kind: Kind, count: int) -> str:
    word = str(kind)
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def shown(site: Site, root: str) -> str:
    """``file:line`` relative to ``root`` when the file is inside it."""
    path = sites.resolve(site).file
    if path.startswith(root.rstrip(os.sep) + os.sep):
        path = os.path.relpath(path, root)
    return f"{path}:{site.line}"


def summary(records: Sequence[LeakRecord], owner: str = "") -> str:
    """``leaked 1 thread (test_x.py:12)``; several kinds are joined by commas."""
    counts = Counter(r.kind for r in records)
    first_site: dict[Kind, str] = {}
    for record in records:
        if record.site is not None:
            first_site.setdefault(record.kind, record.site.short())
    parts = []
    for kind, count in counts.items():
        where = f" ({first_site[kind]})" if kind in first_site else ""
        parts.append(f"{_plural(kind, count)}{where}")
    by = f" by {owner}" if owner else ""
    return "leaked " + ", ".join(parts) + by


def _test_line(record: LeakRecord, test_file: str) -> Optional[Site]:
    """The test's own line on the way to the creating line, when it is another line. Not from
    ``record.stack``: that is where a thread runs or a task is suspended now."""
    for site in record.extra_sites:
        if site.file == test_file and site != record.site:
            return site
    return None


def render(record: LeakRecord, root: str, test_file: str) -> list[str]:
    created = f" created at {shown(record.site, root)}" if record.site else ""
    if record.site is not None and record.site.function:
        created += f" in {record.site.function}"
    what = "" if record.identity in ("", str(record.kind)) else f" {record.identity}"
    lines = [f"  {record.kind}{what}{created} [{record.rule_code}]"]
    via = _test_line(record, test_file)
    if via is not None:
        lines.append(f"    via {shown(via, root)} (the test's own line)")
    if record.detail:
        lines.append(f"    {record.detail}")
    fix = FIXES.get(record.kind)
    if fix:
        lines.append(f"    fix: {fix}")
    return lines


@dataclass(frozen=True)
class LeakReport:
    """A test report's ``longrepr``: pytest prints it with ``toterminal`` and takes the short
    summary line from ``reprcrash.message``."""

    text: str
    reprcrash: Any

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _Crash:
    path: str
    lineno: int
    message: str


def build(groups: Sequence[tuple[str, Sequence[LeakRecord]]], root: str,
          test_file: str) -> LeakReport:
    """One report for a test: ``groups`` pairs an owner ("" for the test itself, else the
    fixture) with what it leaked."""
    lines: list[str] = []
    messages = []
    for owner, records in groups:
        head = summary(records, owner)
        messages.append(head)
        lines.append(head)
        for record in records:
            lines.extend(render(record, root, test_file))
    first = next((r.site for _, records in groups for r in records if r.site), None)
    crash = _Crash(first.file if first else test_file, first.line if first else 0,
                   "; ".join(messages))
    return LeakReport("\n".join(lines), crash)
