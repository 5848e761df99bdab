"""Apply the safe edits that findings carry; only ever run when the user passed ``--fix``."""

from __future__ import annotations

from collections.abc import Sequence

from leaklint.model import Edit, Finding


def _offset(lines: list[str], line: int, column: int) -> int:
    return sum(len(text) for text in lines[: line - 1]) + column - 1


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    lines = text.splitlines(keepends=True)
    spans = sorted(
        (
            (_offset(lines, e.line, e.column), _offset(lines, e.end_line, e.end_column), e)
            for e in edits
        ),
        key=lambda span: span[0],
        reverse=True,
    )
    last_start = len(text) + 1
    for start, end, edit in spans:
        if end > last_start:  # overlapping edits: keep the later one, skip this
            continue
        text = text[:start] + edit.replacement + text[end:]
        last_start = start
    return text


def apply_fixes(findings: Sequence[Finding]) -> tuple[int, list[Finding]]:
    """Rewrite each file with its findings' fixes; return how many were applied and the
    findings that remain."""
    by_path: dict[str, list[Finding]] = {}
    remaining: list[Finding] = []
    for finding in findings:
        if finding.fix is not None:
            by_path.setdefault(finding.path, []).append(finding)
        else:
            remaining.append(finding)
    applied = 0
    for path, fixable in by_path.items():
        with open(path, encoding="utf-8", newline="") as handle:
            original = handle.read()
        edits = [edit for finding in fixable for edit in finding.fix.edits]  # type: ignore[union-attr]
        fixed = apply_edits(original, edits)
        if fixed != original:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(fixed)
            applied += len(fixable)
        else:
            remaining.extend(fixable)
    return applied, sorted(remaining, key=Finding.sort_key)
