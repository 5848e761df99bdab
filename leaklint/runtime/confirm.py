"""``leaklint confirm``: run fixtures, collect runtime evidence, and judge each static finding.

Each fixture runs in a fresh interpreter (``leaklint.runtime.harness``): the module is imported
(import-time state is the baseline), creation-site hooks are installed, ``main()`` runs once in
the main thread (an ``async`` main on our own loop, inspected before leftovers are cancelled),
then leftovers are collected after a settle time of about a second. Two kinds of runtime facts
come back: *leaks* (still there after the settle time; reported as ``runtime_only`` when no
static finding names their line) and *evidence* (facts that prove a claim without being a
leftover at the end, e.g. a thread still running and referenced by nobody when the function that
started it returned). Evidence must point at the finding's statement (any line of the same call);
for LK102 anywhere in the flagged loop, for LK401 the ``def``/``lambda`` with its decorators.

How each rule is confirmed:

* LK101 a non-daemon thread created there was still running, and nothing but the threading
  module referred to it, when the function that created it returned; or it is still alive after
  ``main()`` and the settle time.
* LK102 a thread, timer, executor worker or task still running inside the flagged ``while`` loop
  when ``main()`` returned (or after the settle time), ``main()`` itself blocked inside it
  (timeout), or the loop ended only because an exception escaped it (the functions holding
  flagged loops are line-traced on every thread): in this run it had no exit of its own.
* LK103 the executor made there was never shut down when its creator returned (alive and
  unreferenced, or garbage collected without ``shutdown()``/``close()``), or its workers are
  still alive after ``main()``.
* LK104 a child process started there is still running or a zombie (never waited for), its pipes
  are still open, or a ``Popen`` was finalized by the garbage collector while still running.
* LK105/LK106 a task created there was pending and referred to by nothing but the event loop
  when its creator returned, or still pending when ``main()`` returned (a task built with the
  ``asyncio.Task`` constructor is named by the line that made its coroutine).
* LK107 a ``threading.Timer`` created there was armed and unreferenced when its creator returned,
  or is still armed after ``main()``.
* LK201 the container assigned there grew in every repeated call of ``main()`` (or holds what the
  first call put in it and never lets go; a ``deque(maxlen=...)`` is bounded and never counts);
  LK202 instances of the class stay alive after ``main()`` and ``cache_clear()`` releases them;
  LK203 the unbounded cache keeps entries; LK204 handlers, filters or registrations made there
  are still attached, more after each call; LK205 loggers created there, more after each call;
  LK206 the default value was mutated (grew) by the calls.
* LK301/LK302/LK303/LK304 a descriptor (file, socket, database file, pipe) opened by a call there
  is still open after ``main()``, or the object was never closed and the garbage collector had to
  (its ResourceWarning). Sockets made inside a client object (``requests.Session``,
  ``httpx.Client``, ``http.client.HTTPConnection`` ...) also count for the line that made the
  client.
* LK305 a socket used by the call there blocked (connect/recv) with no timeout set (for a client
  object, the line that made the client), or ``main()`` was still blocked at that line when the
  time ran out.
* LK306 a temporary file or folder made there still exists after ``main()`` returned.
* LK401 a nested function or lambda defined there was referred to from outside its defining
  frame (returned, stored, registered) when that frame returned, with at least 64 KiB in its
  closure cells. The runtime proves retention, not that only a part of the object is used.
* LK402 views made there (a ``memoryview``, a numpy array with a ``base``; found by their
  allocation site) are alive after ``main()`` and keep at least 64 KiB of their buffers beyond
  the part they show (``view.obj`` / ``view.base`` against ``view.nbytes``).

A fixture that cannot be imported, raises, or does not finish in time is reported as such and is
never "clean". Growth targets are measured for files with a growth finding; in a growth rule's
folder (``LK2xx-*``, ``LK401-*``, ``LK402-*``) a file without one gets generic probes whose
results are printed as hints only: ``main()`` is an entry point and may rightly repeat one-time
setup on each call.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from leaklint.figures import amount
from leaklint.runtime.evidence import Evidence, Span
from leaklint.runtime.growth import Target
from leaklint.runtime.optional import INSTALL_HINT
from leaklint.runtime.records import EVIDENCE_ONLY, LeakRecord, Site
from leaklint.runtime.source_map import SourceMap

if TYPE_CHECKING:
    from leaklint.config import Settings

_MARKER = re.compile(r"#\s*(expect|miss|fp):\s*((?:LK\d{3}(?:\[\w+\])?[,\s]*)+)")
_FOLDER_CODE = re.compile(r"^(LK\d{3})-")
HARD_MARGIN = 5.0


@dataclass(frozen=True)
class StaticFinding:
    line: int
    code: str
    message: str


@dataclass
class FileVerdict:
    path: str  # as the user named it
    status: str = "ok"  # ok | skipped | timeout | import-error | error | crashed
    reason: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    runtime_only: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.status == "ok" and not self.findings and not self.runtime_only


def fixture_files(paths: Sequence[str]) -> list[str]:
    """Named files, and for a folder every ``*/*.py`` fixture below it (or its own ``*.py``)."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
                found += [os.path.join(root, f) for f in sorted(files)
                          if f.endswith(".py") and not f.startswith("_")]
        else:
            found.append(path)
    return found


def static_findings(
    paths: Sequence[str], settings: Optional[Settings] = None
) -> dict[str, list[StaticFinding]]:
    """The findings of the project's rules on the same files, as ``leaklint check`` would
    report them with ``--confidence medium`` (``[tool.leaklint]`` selection, rule options and
    per-file-ignores, ``noqa`` honoured), off-by-default rules included."""
    from leaklint import registry
    from leaklint.config import load_settings
    from leaklint.engine import PARSE_ERROR_CODE, check_path
    from leaklint.model import Confidence

    if settings is None:
        settings = load_settings(None, _search_start(paths))
    ruleset = registry.rule_set(
        settings.select, settings.ignore,
        (*settings.extend_select, *registry.off_by_default()), settings.rule_options,
        confidence=Confidence.MEDIUM,
    )
    out: dict[str, list[StaticFinding]] = {}
    for path in paths:
        result = settings.without_ignored(check_path(path, ruleset))
        out[path] = [StaticFinding(f.line, f.code, f.message) for f in result.findings
                     if f.code != PARSE_ERROR_CODE]
    return out


def _search_start(paths: Sequence[str]) -> str:
    """Where ``[tool.leaklint]`` is looked for: from the first path, as ``leaklint check``."""
    first = os.path.abspath(paths[0]) if paths else os.getcwd()
    return first if os.path.isdir(first) else os.path.dirname(first)


def markers(text: str) -> dict[int, dict[str, str]]:
    """``{line: {code: "expect"|"miss"|"fp"}}`` from the fixture's comments."""
    found: dict[int, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        for match in _MARKER.finditer(line):
            for code in re.findall(r"LK\d{3}", match.group(2)):
                found.setdefault(number, {})[code] = match.group(1)
    return found


def run_fixture(path: str, findings: Sequence[StaticFinding], timeout: float) -> dict[str, Any]:
    """Run the harness on one file in a fresh process group; always returns a result dict."""
    targets = [target.to_argument() for target in map(_growth_target, findings) if target]
    loops = [f"{f.code}:{f.line}" for f in findings if _in_loop(f)]
    folder = _FOLDER_CODE.match(os.path.basename(os.path.dirname(os.path.abspath(path))))
    folder_evidence = _evidence_of(folder.group(1)) if folder else None
    generic = bool(folder_evidence and folder_evidence.growth and not targets)
    handle, result_path = tempfile.mkstemp(prefix="leaklint-confirm-", suffix=".json")
    os.close(handle)
    os.unlink(result_path)
    command = [sys.executable, "-m", "leaklint.runtime.harness", os.path.abspath(path),
               result_path, str(timeout), *targets, *loops,
               *(["--generic-growth"] if generic else [])]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONFAULTHANDLER="1")
    workdir = tempfile.mkdtemp(prefix="leaklint-confirm-")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, cwd=workdir, env=env,
                               start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout * (2 if targets else 1) + HARD_MARGIN)
        crashed = ""
    except subprocess.TimeoutExpired:
        _kill_group(process)
        _, stderr = process.communicate()
        crashed = "killed after the hard timeout"
    finally:
        _kill_group(process)
        _remove_tree(workdir)
    try:
        with open(result_path, encoding="utf-8") as result:
            data: dict[str, Any] = json.load(result)
        os.unlink(result_path)
        return data
    except (OSError, ValueError):
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-12:]
        reason = crashed or f"the child exited with status {process.returncode}"
        return {"status": "timeout" if crashed else "crashed",
                "reason": reason + ("; last output:\n" + "\n".join(tail) if tail else ""),
                "records": [], "notes": []}


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _at(site: Optional[Site], path: str, span: tuple[int, int]) -> bool:
    return (site is not None and os.path.realpath(site.file) == path
            and span[0] <= site.line <= span[1])


def _lines(span: Span, finding: StaticFinding, source: SourceMap) -> tuple[int, int]:
    if span is Span.LOOP:
        return source.loop_span(finding.line)
    if span is Span.FUNCTION:
        return source.function_span(finding.line)
    lines = source.statement_span(finding.line)
    if span is Span.STATEMENT_AND_LINE:
        return (min(lines[0], finding.line), max(lines[1], finding.line))
    return lines


def _evidence_of(code: str) -> Optional[Evidence]:
    """What the rule of ``code`` declares confirms its findings."""
    from leaklint.registry import rules_by_code

    rule = rules_by_code().get(code)
    return rule.EVIDENCE if rule is not None else None


def _growth_target(finding: StaticFinding) -> Optional[Target]:
    """What the growth probe measures for the finding, when its rule is about memory that
    stays reachable."""
    wanted = _evidence_of(finding.code)
    if wanted is None or wanted.growth is None:
        return None
    return Target(finding.code, finding.line, wanted.growth)


def _in_loop(finding: StaticFinding) -> bool:
    """Whether the finding is about a loop, whose functions the harness traces line by line."""
    wanted = _evidence_of(finding.code)
    return wanted is not None and wanted.span is Span.LOOP


def _evidence_for(finding: StaticFinding, records: Sequence[LeakRecord], path: str,
                  source: Optional[SourceMap]) -> Optional[LeakRecord]:
    """The first record that proves the finding, as its rule's ``EVIDENCE`` says."""
    wanted = _evidence_of(finding.code)
    if source is None or wanted is None:
        return None
    span = _lines(wanted.span, finding, source)
    for record in records:
        if wanted.by_stack:
            if record.kind in wanted.kinds and any(_at(s, path, span) for s in record.stack):
                return record
            continue
        counts = record.code == finding.code or (
            record.kind in wanted.kinds and not wanted.own_code_only
        )
        if not counts:
            continue
        if any(_at(s, path, span) for s in (record.site, *record.extra_sites)):
            return record
        if record.kind in wanted.stack_kinds and any(_at(s, path, span) for s in record.stack):
            return record
    return None


def _describe(record: LeakRecord, path: str) -> str:
    text = record.detail or record.describe()
    if record.site is not None:
        text += f" (created at {os.path.basename(record.site.file)}:{record.site.line})"
    return text


def judge(path: str, findings: Sequence[StaticFinding], result: dict[str, Any]) -> FileVerdict:
    real = os.path.realpath(path)
    records = [LeakRecord.from_json(r) for r in result.get("records", [])]
    at_return = [LeakRecord.from_json(r) for r in result.get("evidence", [])]
    verdict = FileVerdict(path, result.get("status", "crashed"), result.get("reason", ""),
                          notes=list(result.get("notes", [])))
    if verdict.status == "skipped":  # an optional library is missing: nothing to judge
        return verdict
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        text = ""
    source = SourceMap.parse(text)
    marks = markers(text)
    used: set[int] = set()
    for finding in sorted(findings, key=lambda f: (f.line, f.code)):
        evidence = _evidence_for(finding, records, real, source) or _evidence_for(
            finding, at_return, real, source)
        entry: dict[str, Any] = {"path": path, "line": finding.line, "code": finding.code}
        if evidence is not None:
            used.add(id(evidence))
            entry.update(status="confirmed", evidence=_describe(evidence, path))
        else:
            reason = (f"not confirmed: {verdict.status} ({verdict.reason.splitlines()[0]})"
                      if verdict.status != "ok" and verdict.reason
                      else "no runtime evidence at this line")
            entry.update(status="unconfirmed", evidence=reason)
        marker = marks.get(finding.line, {}).get(finding.code)
        if marker:
            entry["marker"] = marker
        verdict.findings.append(entry)
    covered = [source.statement_span(f.line) if source else (f.line, f.line) for f in findings]
    covered += [source.loop_span(f.line) for f in findings if _in_loop(f) and source]
    for record in records:
        if id(record) in used or record.kind in EVIDENCE_ONLY:
            continue
        # A socket made inside a flagged client's method is that client's leak, not another.
        if any(_at(site, real, span) for site in (record.site, *record.extra_sites)
               for span in covered):
            continue
        line = record.site.line if record.site and os.path.realpath(record.site.file) == real else 0
        entry = {"path": path, "line": line, "kind": record.kind.value, "code": record.rule_code,
                 "detail": _describe(record, path)}
        if line and marks.get(line):
            entry["marker"] = ",".join(f"{k}:{c}" for c, k in marks[line].items())
        verdict.runtime_only.append(entry)
    return verdict


def confirm(paths: Sequence[str], timeout: float, jobs: int = 2) -> list[FileVerdict]:
    files = fixture_files(paths)
    statics = static_findings(files)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda f: run_fixture(f, statics[f], timeout), files))
    return [judge(f, statics[f], r) for f, r in zip(files, results)]


def to_json(verdicts: Iterable[FileVerdict]) -> dict[str, Any]:
    verdicts = list(verdicts)
    return {
        "findings": [f for v in verdicts for f in v.findings],
        "runtime_only": [r for v in verdicts for r in v.runtime_only],
        "clean": [v.path for v in verdicts if v.clean],
        "skipped": [{"path": v.path, "reason": v.reason} for v in verdicts
                    if v.status == "skipped"],
        "errors": [{"path": v.path, "status": v.status, "reason": v.reason}
                   for v in verdicts if v.status not in ("ok", "skipped")],
    }


def summary(verdicts: Sequence[FileVerdict]) -> dict[str, int]:
    findings = [f for v in verdicts for f in v.findings]
    return {
        "files": len(verdicts),
        "confirmed": sum(f["status"] == "confirmed" for f in findings),
        "unconfirmed": sum(f["status"] == "unconfirmed" for f in findings),
        "runtime_only": sum(len(v.runtime_only) for v in verdicts),
        "clean": sum(v.clean for v in verdicts),
        "skipped": sum(v.status == "skipped" for v in verdicts),
        "errors": sum(v.status not in ("ok", "skipped") for v in verdicts),
    }


def to_text(verdicts: Sequence[FileVerdict]) -> str:
    lines: list[str] = []
    for verdict in verdicts:
        if verdict.status != "ok":
            lines.append(f"{verdict.status.upper():<13} {verdict.path}: {verdict.reason}")
        for f in verdict.findings:
            mark = f" [{f['marker']}]" if f.get("marker") else ""
            lines.append(f"{f['status'].upper():<13} {f['path']}:{f['line']}: {f['code']}{mark} "
                         f"{f['evidence']}")
        for r in verdict.runtime_only:
            mark = f" [{r['marker']}]" if r.get("marker") else ""
            lines.append(f"{'RUNTIME-ONLY':<13} {r['path']}:{r['line']}: {r['kind']} "
                         f"({r['code']}){mark} {r['detail']}")
        if verdict.clean:
            lines.append(f"{'CLEAN':<13} {verdict.path}")
        for note in verdict.notes:
            lines.append(f"{'':<13}   note: {note}")
    counts = summary(verdicts)
    lines.append("")
    skipped = f"{amount(counts['skipped'])} skipped, " if counts["skipped"] else ""
    lines.append(
        f"{amount(counts['confirmed'])} confirmed, {amount(counts['unconfirmed'])} unconfirmed, "
        f"{amount(counts['runtime_only'])} runtime-only, {amount(counts['clean'])} clean, "
        f"{skipped}{amount(counts['errors'])} not run to completion "
        f"({amount(counts['files'], 'files')})."
    )
    if counts["skipped"]:
        lines.append(f"Skipped fixtures need optional libraries: {INSTALL_HINT}")
    return "\n".join(lines) + "\n"


def _as_marked(finding: dict[str, Any]) -> bool:
    """Whether the runtime agrees with the fixture's markers: a finding is confirmed unless
    the fixture records it as a false positive (``# fp:``). Evidence for one is not a
    failure: what is retained may be fine in context (kept once per process, say)."""
    return finding["status"] == "confirmed" or finding.get("marker") == "fp"


def _known_miss(entry: dict[str, Any]) -> bool:
    """A leak the runtime saw where the fixture records a known static miss of that rule."""
    return f"miss:{entry.get('code')}" in str(entry.get("marker", "")).split(",")


def exit_status(verdicts: Sequence[FileVerdict]) -> int:
    """0 when every finding is confirmed, nothing leaked unseen and every file ran; the known
    gaps a fixture records (``# fp:``, ``# miss:``) are what the runtime is expected to show."""
    for verdict in verdicts:
        if verdict.status == "skipped":
            continue
        if verdict.status != "ok":
            return 1
        if not all(_as_marked(f) for f in verdict.findings):
            return 1
        if not all(_known_miss(r) for r in verdict.runtime_only):
            return 1
    return 0
