"""Values that cross module boundaries: findings, fixes and internal errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional


class Confidence(str, Enum):
    """How sure a finding is. ``high`` findings are reported by default; ``medium`` ones are
    shapes that leak in some code and are noise in most (``--confidence medium`` shows them)."""

    HIGH = "high"
    MEDIUM = "medium"

    @property
    def rank(self) -> int:
        return 2 if self is Confidence.HIGH else 1

    def admits(self, other: Confidence) -> bool:
        """Whether a selection at this confidence reports a finding of ``other``."""
        return other.rank >= self.rank


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based (line, column) positions."""

    line: int
    column: int
    end_line: int
    end_column: int
    replacement: str


class Applicability(Enum):
    """Whether a fix keeps the code's behaviour (``--fix``) or may change it
    (``--unsafe-fixes``), as in ruff."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Fix:
    description: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "applicability": self.applicability.value,
            "edits": [
                {
                    "line": e.line,
                    "column": e.column,
                    "end_line": e.end_line,
                    "end_column": e.end_column,
                    "replacement": e.replacement,
                }
                for e in self.edits
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fix:
        return cls(
            data["description"],
            tuple(Edit(**e) for e in data["edits"]),
            Applicability(data.get("applicability", Applicability.SAFE.value)),
        )


@dataclass(frozen=True, order=True)
class Finding:
    """One reported leak. Positions are 1-based, columns count characters."""

    path: str
    line: int
    column: int
    code: str
    end_line: int = field(compare=False)
    end_column: int = field(compare=False)
    name: str = field(compare=False)
    message: str = field(compare=False)
    fix: Optional[Fix] = field(default=None, compare=False)
    confidence: Confidence = field(default=Confidence.HIGH, compare=False)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "confidence": self.confidence.value,
            "fix": self.fix.to_json() if self.fix else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        fix = data.get("fix")
        return cls(
            path=data["path"],
            line=data["line"],
            column=data["column"],
            code=data["code"],
            end_line=data["end_line"],
            end_column=data["end_column"],
            name=data["name"],
            message=data["message"],
            fix=Fix.from_json(fix) if fix else None,
            confidence=Confidence(data.get("confidence", Confidence.HIGH.value)),
        )


@dataclass(frozen=True)
class InternalError:
    """A rule (or the engine) failed on one file; the run goes on, the exit status is 2."""

    path: str
    rule: str
    summary: str
    traceback: str

    def describe(self) -> str:
        return f"{self.path}: internal error in {self.rule}: {self.summary}"


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    errors: tuple[InternalError, ...] = ()
    # SHA-256 of the bytes the findings were computed from, set when fixes were asked for:
    # a fix is applied only to a file that still has exactly these bytes.
    digest: str = ""
