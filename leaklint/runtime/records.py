"""Values the runtime companion produces: where something was created, and what was left behind."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Optional


class Kind(str, enum.Enum):
    """What kind of thing leaked. The value is the spelling users write in ``allow=[...]``."""

    THREAD = "thread"
    TASK = "task"
    FILE = "file"
    SOCKET = "socket"
    FD = "fd"
    PROCESS = "process"
    TIMER = "timer"
    EXECUTOR = "executor"
    CONNECTION = "connection"
    RESPONSE = "response"  # an HTTP response, or the client or session that holds its pool
    TEMPFILE = "tempfile"
    MEMORY = "memory"
    CACHE = "cache"
    CLOSURE = "closure"
    HANDLER = "handler"
    LOGGER = "logger"
    DEFAULT = "default"
    BLOCKED = "blocked"
    NO_TIMEOUT = "no-timeout"

    def __str__(self) -> str:
        return self.value

    @property
    def code(self) -> str:
        """The rule a record of this kind is reported under unless it says otherwise."""
        return REPORTED_UNDER[self]


# The runtime's one table of rule codes. Which kinds confirm which rule is the rule's own
# declaration (its ``EVIDENCE``); a test checks that each kind's rule declares the kind.
REPORTED_UNDER: dict[Kind, str] = {
    Kind.THREAD: "LK101",
    Kind.TASK: "LK105",
    Kind.FILE: "LK301",
    Kind.FD: "LK301",
    Kind.SOCKET: "LK302",
    Kind.PROCESS: "LK104",
    Kind.TIMER: "LK107",
    Kind.EXECUTOR: "LK103",
    Kind.CONNECTION: "LK303",
    Kind.RESPONSE: "LK304",
    Kind.TEMPFILE: "LK306",
    Kind.MEMORY: "LK201",
    Kind.CACHE: "LK202",
    Kind.CLOSURE: "LK401",
    Kind.HANDLER: "LK204",
    Kind.LOGGER: "LK205",
    Kind.DEFAULT: "LK206",
    Kind.BLOCKED: "LK305",
    Kind.NO_TIMEOUT: "LK305",
}
# Codes a record names when its kind's code is not the one: a daemon thread or a worker still
# running inside a loop proves the loop has no exit.
WORKER_LOOP_CODE = "LK102"
# ... and a task its creator dropped while it was still pending was never awaited.
DROPPED_TASK_CODE = "LK106"

# Kinds that are observations rather than leaks: they confirm a finding but are never reported
# on their own (a blocking call without a timeout is a risk, not a leftover).
EVIDENCE_ONLY = frozenset({Kind.NO_TIMEOUT, Kind.BLOCKED})


@dataclass(frozen=True)
class Site:
    """A source position: where a leaked object was created, or where a stack stands."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def short(self) -> str:
        return f"{self.file.rsplit('/', 1)[-1]}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Site:
        return cls(data["file"], int(data["line"]), data.get("function", ""))


@dataclass(frozen=True)
class LeakRecord:
    """One thing left behind (or one observation), with the line that created it."""

    kind: Kind
    identity: str
    site: Optional[Site] = None
    stack: tuple[Site, ...] = ()
    detail: str = ""
    code: str = ""
    extra_sites: tuple[Site, ...] = field(default=(), compare=False)
    # What ignore rules match besides the site: a thread's target, an fd's target path.
    target: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", self.kind.code)

    @property
    def rule_code(self) -> str:
        return self.code

    def describe(self) -> str:
        where = f" created at {self.site}" if self.site else " (creation site unknown)"
        text = f"{self.kind} {self.identity}{where} [{self.rule_code}]"
        if self.detail:
            text += f": {self.detail}"
        return text

    def render(self) -> str:
        lines = [self.describe()]
        if self.stack:
            lines.append("    stack (most recent call last):")
            lines.extend(f"      {s} in {s.function}" for s in self.stack)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "identity": self.identity,
            "site": self.site.to_json() if self.site else None,
            "stack": [s.to_json() for s in self.stack],
            "detail": self.detail,
            "code": self.rule_code,
            "extra_sites": [s.to_json() for s in self.extra_sites],
            "target": self.target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LeakRecord:
        site = data.get("site")
        return cls(
            kind=Kind(data["kind"]),
            identity=data["identity"],
            site=Site.from_json(site) if site else None,
            stack=tuple(Site.from_json(s) for s in data.get("stack", ())),
            detail=data.get("detail", ""),
            code=data.get("code", ""),
            extra_sites=tuple(Site.from_json(s) for s in data.get("extra_sites", ())),
            target=data.get("target", ""),
        )


class LeakError(AssertionError):
    """Raised by :func:`no_leaks` when code left something behind; ``records`` lists it all."""

    def __init__(self, records: tuple[LeakRecord, ...], label: str = "") -> None:
        self.records = records
        head = f"{label}: " if label else ""
        count = len(records)
        body = "\n".join(record.render() for record in records)
        super().__init__(f"{head}{count} leak{'s' if count != 1 else ''} found:\n{body}")
