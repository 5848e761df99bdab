"""What ``leaklint check --fix/--diff/--unsafe-fixes`` does with the checked files' results."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Optional

import click

from leaklint.config import Settings
from leaklint.engine import check_text
from leaklint.fixes import FileFixes, fix_file, is_applicable, unified_diff, write_fixed
from leaklint.model import Applicability, FileResult, Finding
from leaklint.source import SourceText


@dataclass
class FixRequest:
    apply: bool = False  # --fix
    diff: bool = False  # --diff
    unsafe: bool = False  # --unsafe-fixes
    diff_shown: bool = False

    @property
    def wanted(self) -> bool:
        return self.apply or self.diff or self.unsafe

    @property
    def changes_files(self) -> bool:
        """Whether fixes are applied (to the files, or to the text a diff is made from)."""
        return self.apply or self.diff

    def summarise_available(self, findings: Sequence[Finding]) -> None:
        """The ruff-style hint after a report: how many findings a fix option would fix."""
        fixable = sum(is_applicable(f, self.unsafe) for f in findings)
        hidden = _hidden_unsafe(findings, self.unsafe)
        parts = []
        if fixable:
            option = "--fix --unsafe-fixes" if self.unsafe else "--fix"
            parts.append(f"{fixable} fixable with `{option}`")
        if hidden:
            parts.append(f"{_more(hidden)} with `--unsafe-fixes`")
        if parts:
            click.echo(f"{', '.join(parts)}.", err=True)


def _fixes(count: int) -> str:
    return f"{count} fix{'es' if count != 1 else ''}"


def _more(count: int) -> str:
    return f"{count} more fix{'es' if count != 1 else ''}"


def _hidden_unsafe(findings: Sequence[Finding], unsafe: bool) -> int:
    if unsafe:
        return 0
    return sum(
        f.fix is not None and f.fix.applicability is Applicability.UNSAFE for f in findings
    )


def run_fixes(
    results: Sequence[FileResult],
    settings: Settings,
    request: FixRequest,
    output_file: Optional[str],
) -> list[FileResult]:
    """Fix (or, with --diff, show the fixes of) every file; the results after fixing."""
    ruleset = replace(settings.ruleset(), fixes=True)

    def recheck(source: SourceText, path: str) -> FileResult:
        return settings.without_ignored(check_text(source, path, ruleset))

    fixed_results: list[FileResult] = []
    applied = 0
    diffs: list[str] = []
    for result in results:
        if not any(is_applicable(f, request.unsafe) for f in result.findings):
            fixed_results.append(result)
            continue
        outcome = fix_file(result, recheck, request.unsafe)
        problem = outcome.problem
        if problem is None and outcome.changed and not request.diff:
            problem = write_fixed(outcome, result.digest)
        if problem is not None:
            click.echo(f"leaklint: {result.path}: not fixed: {problem}", err=True)
            fixed_results.append(result)
            continue
        applied += outcome.applied
        if request.diff:
            if outcome.changed:
                diffs.append(unified_diff(outcome))
            fixed_results.append(result)
        else:
            fixed_results.append(_after(result, outcome))
    remaining = [f for r in fixed_results for f in r.findings]
    hidden = _hidden_unsafe(remaining, request.unsafe)
    note = f" ({_more(hidden)} with `--unsafe-fixes`)" if hidden else ""
    if request.diff:
        request.diff_shown = bool(diffs)
        _write("".join(diffs), output_file)
        click.echo(f"Would apply {_fixes(applied)}{note}.", err=True)
    else:
        click.echo(f"Applied {_fixes(applied)}{note}.", err=True)
    return fixed_results


def _after(result: FileResult, outcome: FileFixes) -> FileResult:
    findings = tuple(sorted(outcome.remaining, key=Finding.sort_key))
    return FileResult(result.path, findings, result.errors)


def _write(text: str, output_file: Optional[str]) -> None:
    if output_file:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
