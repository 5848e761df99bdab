"""Apply the fixes findings carry: only when the user asks (``--fix``, ``--diff``).

A file is fixed only if its bytes are still the ones its findings were computed from (a
SHA-256 digest taken when it was read). Fixes whose edits overlap an edit already chosen wait
for the next round: the file is checked again with the edits applied and the new fixes are
applied, until nothing is left to fix. Every round must still parse, and compile when the
original compiled; otherwise the file keeps the last round that did. Files are written with
their own encoding (a BOM stays) and line breaks, through a temporary file in the same folder
renamed over the original, so a reader never sees half a file.
"""

from __future__ import annotations

import difflib
import os
import stat
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from leaklint.atomic import write_atomically
from leaklint.engine import PARSE_ERROR_CODE, content_digest
from leaklint.fixers.source import TextLines
from leaklint.model import Applicability, Edit, FileResult, Finding
from leaklint.source import SourceText, UnreadableSource, decode_source

# Rounds of fix-and-check per file; each round fixes at least one finding, and findings whose
# fixes overlap (two files opened in one statement) need one round each.
MAX_ROUNDS = 10

# Checks a file's new text: the findings of the selected rules, with their fixes.
Recheck = Callable[[SourceText, str], FileResult]


def is_applicable(finding: Finding, unsafe: bool) -> bool:
    fix = finding.fix
    return fix is not None and (unsafe or fix.applicability is Applicability.SAFE)


def _span(lines: TextLines, edit: Edit) -> tuple[int, int]:
    return lines.offset(edit.line, edit.column), lines.offset(edit.end_line, edit.end_column)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # Two insertions at one place overlap too: their order would be a guess.
    return a == b or (a[0] < b[1] and b[0] < a[1])


def choose_fixes(
    text: str, findings: Iterable[Finding], unsafe: bool
) -> tuple[list[Finding], list[tuple[int, int, str]]]:
    """The findings whose fixes can all be applied together, and their edits as offsets.
    Identical edits of several fixes (the same import, the same module-level set) count once."""
    lines = TextLines(text)
    chosen: list[Finding] = []
    accepted: dict[tuple[int, int, str], None] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        if not is_applicable(finding, unsafe):
            continue
        assert finding.fix is not None
        edits = [(*_span(lines, edit), edit.replacement) for edit in finding.fix.edits]
        new = [edit for edit in edits if edit not in accepted]
        if any(
            _overlaps(edit[:2], other[:2])
            for index, edit in enumerate(new)
            for other in [*accepted, *new[:index]]
        ):
            continue
        chosen.append(finding)
        accepted.update(dict.fromkeys(new))
    return chosen, list(accepted)


def apply_offsets(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda edit: edit[:2], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


@dataclass
class FileFixes:
    """What fixing one file came to."""

    path: str
    original: str = ""
    fixed: str = ""
    encoding: str = "utf-8"
    applied: int = 0
    remaining: list[Finding] = field(default_factory=list)
    problem: Optional[str] = None  # why the file was left alone

    @property
    def changed(self) -> bool:
        return self.problem is None and self.fixed != self.original


def _compiles(text: str, path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def fix_file(result: FileResult, recheck: Recheck, unsafe: bool) -> FileFixes:
    """Apply the fixes of one file's findings, in rounds, to its text (not written yet)."""
    outcome = FileFixes(result.path, remaining=list(result.findings))
    try:
        with open(result.path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        outcome.problem = f"cannot read it: {exc.strerror or exc}"
        return outcome
    if content_digest(data) != result.digest:
        outcome.problem = "it changed since it was checked; run leaklint again"
        return outcome
    try:
        source = decode_source(data)
    except UnreadableSource as exc:
        outcome.problem = exc.reason
        return outcome
    outcome.original = outcome.fixed = source.text
    outcome.encoding = source.encoding
    must_compile = _compiles(source.text, result.path)
    findings = list(result.findings)
    for _ in range(MAX_ROUNDS):
        chosen, edits = choose_fixes(outcome.fixed, findings, unsafe)
        if not chosen:
            break
        text = apply_offsets(outcome.fixed, edits)
        if text == outcome.fixed:
            break
        checked = recheck(SourceText(text, source.encoding), result.path)
        if any(f.code == PARSE_ERROR_CODE for f in checked.findings) or (
            must_compile and not _compiles(text, result.path)
        ):
            break  # a fix that breaks the file is a bug: keep the last good round
        outcome.fixed = text
        outcome.applied += len(chosen)
        findings = list(checked.findings)
    outcome.remaining = findings
    return outcome


def write_fixed(outcome: FileFixes, digest: str) -> Optional[str]:
    """Replace the file with its fixed text; the reason when that was not done."""
    path = outcome.path
    try:
        encoded = outcome.fixed.encode(outcome.encoding)
        with open(path, "rb") as handle:
            if content_digest(handle.read()) != digest:
                return "it changed while it was being fixed; run leaklint again"
        write_atomically(path, encoded, stat.S_IMODE(os.stat(path).st_mode))
    except UnicodeEncodeError as exc:
        return f"the fixed text cannot be written as {outcome.encoding}: {exc.reason}"
    except OSError as exc:
        return f"cannot write it: {exc.strerror or exc}"
    return None


def unified_diff(outcome: FileFixes) -> str:
    """The change as a unified diff (``--- path`` / ``+++ path``), as ``ruff --diff`` prints."""
    before = _lines(outcome.original)
    after = _lines(outcome.fixed)
    diff = difflib.unified_diff(before, after, outcome.path, outcome.path)
    missing_newline = "\n\\ No newline at end of file\n"
    return "".join(
        line if line.endswith(("\n", "\r")) else line + missing_newline for line in diff
    )


def _lines(text: str) -> list[str]:
    lines = TextLines(text)
    return [text[start:end] for start, end in zip(lines.starts, [*lines.starts[1:], len(text)])
            if start < end]
