"""How many findings get a fix, and whether every fixed file compiles and re-checks clean.

    python benchmarks/fix_corpus.py [FOLDER] [--unsafe] [--jobs N] [--cost]

FOLDER (default /tmp/leaklint-corpus) is checked with fixes; every file with a fixable finding
is copied to a temporary folder (the corpus itself is never written) and fixed there, as
``leaklint check --fix`` fixes it (``--unsafe`` adds ``--unsafe-fixes``). Then each fixed
file must compile, check again with no more findings of any code than it had before minus the
ones fixed (the targeted finding is gone and no new one appears), and a second ``--fix``
must change nothing. ``--cost`` also times the check with and without building fixes, in
the same run: what the default text output would pay if it built them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from leaklint.config import Settings
from leaklint.discovery import discover
from leaklint.engine import check_text
from leaklint.fixes import choose_fixes, fix_file, is_applicable, write_fixed
from leaklint.model import FileResult, Finding
from leaklint.runner import check_targets
from leaklint.source import SourceText, read_source

DEFAULT_CORPUS = "/tmp/leaklint-corpus"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the check's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _check(folder: str, settings: Settings, jobs: int, fixes: bool) -> tuple[list[FileResult],
                                                                          float, float]:
    """The results, wall seconds and CPU seconds of checking the folder."""
    targets = list(discover((folder,), settings.is_excluded))
    started, cpu = time.perf_counter(), _cpu()
    results = check_targets(targets, settings, jobs, use_cache=False, fixes=fixes)
    return results, time.perf_counter() - started, _cpu() - cpu


def _fix_cost(results: Sequence[FileResult], settings: Settings) -> None:
    """The cost of building fixes where it is paid, the files with a finding of a rule that
    fixes: each checked with and without fixes, alternately, in this process."""
    plain_rules = settings.ruleset()
    fixing_rules = replace(plain_rules, fixes=True)
    paths = [r.path for r in results if any(f.fix is not None for f in r.findings)]
    plain = with_fixes = 0.0
    for path in paths:
        source = read_source(path)
        for ruleset in (plain_rules, fixing_rules):
            started = time.process_time()
            check_text(source, path, ruleset)
            spent = time.process_time() - started
            if ruleset.fixes:
                with_fixes += spent
            else:
                plain += spent
    extra = with_fixes - plain
    print(f"building fixes, measured on the {len(paths)} files with a fixable finding: "
          f"{plain:.2f} s CPU without, {with_fixes:.2f} s with ({with_fixes / plain:.2f}x), "
          f"{extra:.2f} s more")


def _codes(findings: Sequence[Finding]) -> Counter[str]:
    return Counter(finding.code for finding in findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--unsafe", action="store_true", help="also apply unsafe fixes")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cost", action="store_true", help="time the check without fixes too")
    args = parser.parse_args()
    settings = Settings()
    ruleset = replace(settings.ruleset(), fixes=True)

    if args.cost:
        _, plain_wall, plain_cpu = _check(args.folder, settings, args.jobs, fixes=False)
    results, fix_wall, fix_cpu = _check(args.folder, settings, args.jobs, fixes=True)
    findings = [f for r in results for f in r.findings]
    offered: Counter[tuple[str, str]] = Counter(
        (f.code, f.fix.applicability.value) for f in findings if f.fix is not None
    )
    print(f"{len(results)} files, {len(findings)} findings in {args.folder}")
    if args.cost:
        print(f"whole check ({args.jobs} workers): without fixes {plain_wall:.1f} s wall, "
              f"{plain_cpu:.1f} s CPU; with fixes {fix_wall:.1f} s wall, {fix_cpu:.1f} s CPU "
              f"({fix_cpu / plain_cpu:.2f}x CPU)")
        _fix_cost(results, settings)
    print("findings with a fix, by rule (fixed / offered / findings of that rule):")

    def recheck(source: SourceText, path: str) -> FileResult:
        return settings.without_ignored(check_text(source, path, ruleset))

    fixed: Counter[str] = Counter()
    problems: list[str] = []
    files_fixed = 0
    with tempfile.TemporaryDirectory(prefix="leaklint-fix-corpus-") as scratch:
        for result in results:
            if not any(is_applicable(f, args.unsafe) for f in result.findings):
                continue
            relative = os.path.relpath(result.path, args.folder)
            copy = os.path.join(scratch, relative)
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copyfile(result.path, copy)
            moved = FileResult(copy, tuple(replace(f, path=copy) for f in result.findings),
                               result.errors, result.digest)
            outcome = fix_file(moved, recheck, args.unsafe)
            if outcome.problem or not outcome.changed:
                problems.append(f"{relative}: not fixed: {outcome.problem or 'no change'}")
                continue
            problem = write_fixed(outcome, result.digest)
            if problem:
                problems.append(f"{relative}: {problem}")
                continue
            files_fixed += 1
            problems.extend(_verify(copy, relative, result, outcome.applied, recheck, args.unsafe,
                                    fixed))
    total = _codes(findings)
    for code in sorted({code for code, _ in offered}):
        kinds = ", ".join(f"{offered[(code, kind)]} {kind}" for kind in ("safe", "unsafe")
                          if offered[(code, kind)])
        print(f"  {code}: {fixed[code]} fixed / {kinds} offered / {total[code]} findings")
    applicable = sum(is_applicable(f, args.unsafe) for f in findings)
    print(f"fixed {sum(fixed.values())} of {applicable} applicable fixes in {files_fixed} files "
          f"({'safe and unsafe' if args.unsafe else 'safe only'})")
    print(f"problems: {len(problems)}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


def _verify(
    copy: str,
    relative: str,
    before: FileResult,
    applied: int,
    recheck: object,
    unsafe: bool,
    fixed: Counter[str],
) -> list[str]:
    """Compiles; no code has more findings than before minus the fixed ones; a second pass
    changes nothing."""
    assert callable(recheck)
    source = read_source(copy)
    problems = []
    try:
        compile(source.text, copy, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return [f"{relative}: does not compile after fixing: {exc}"]
    after = recheck(source, copy)
    gone = _codes(before.findings) - _codes(after.findings)
    new = _codes(after.findings) - _codes(before.findings)
    if new:
        problems.append(f"{relative}: new findings after fixing: {dict(new)}")
    if sum(gone.values()) < applied:
        problems.append(f"{relative}: {applied} fixes applied but only {sum(gone.values())} "
                        "findings gone")
    fixed.update(gone)
    chosen, _ = choose_fixes(source.text, after.findings, unsafe)
    if chosen:
        problems.append(f"{relative}: a second --fix would change it again "
                        f"({', '.join(f.code for f in chosen)})")
    return problems


if __name__ == "__main__":
    sys.exit(main())
