"""The ecosystem check: leaklint on a corpus of real code, compared with a ledger of judgements.

    ../shared/corpus/build.sh /tmp/leaklint-corpus          # once: downloads ~1.7 M lines
    python scripts/ecosystem.py /tmp/leaklint-corpus          # run, compare, print the tables
    python scripts/ecosystem.py /tmp/leaklint-corpus --findings run.json   # reuse a saved run

leaklint runs with ``--confidence medium`` so that both selections are measured in one run. Every
finding is matched with an entry of the ledger (``benchmarks/ecosystem/ledger.tsv``: path relative
to the corpus, line, code, label, message, reason) by path and code, the nearest line within
``--line-slack`` lines, so that a release of a package that moves code a little keeps its labels.

Printed: per rule, the findings at ``high`` (the default selection) and at ``medium``, with their
labels and the strict precision (TRUE / all) at ``high`` and the lenient precision ((TRUE +
DEBATABLE) / all) with ``medium`` included; every finding not judged yet; every TRUE entry that
is no longer reported (a lost leak) or is now only ``medium`` (lost from the default run); and
the judged entries that are wrong messages. Labels are defined in ``../shared/spec/precision.md``.

Exit status: 0 when every finding is judged and no TRUE finding was lost, 1 otherwise.
``--write-unjudged FILE`` writes the findings not yet judged as ledger rows with an empty label,
ready to be judged and appended.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LEDGER = os.path.join(REPOSITORY, "benchmarks", "ecosystem", "ledger.tsv")
LABELS = ("TRUE", "DEBATABLE", "FALSE")
COLUMNS = ("path", "line", "code", "label", "message", "reason")


@dataclass(frozen=True)
class Reported:
    """A finding of this run, its path relative to the corpus."""

    path: str
    line: int
    code: str
    confidence: str
    message: str


@dataclass(frozen=True)
class Judged:
    """One row of the ledger."""

    path: str
    line: int
    code: str
    label: str
    message: str  # "ok", or "wrong" when the message names the wrong cause or path
    reason: str


def read_ledger(path: str) -> list[Judged]:
    if not os.path.exists(path):
        return []
    entries = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            if row["label"] not in LABELS:
                raise SystemExit(f"{path}:{number}: label {row['label']!r} is not one of {LABELS}")
            entries.append(
                Judged(
                    row["path"],
                    int(row["line"]),
                    row["code"],
                    row["label"],
                    row.get("message") or "ok",
                    row.get("reason") or "",
                )
            )
    return entries


def write_rows(path: str, rows: Iterable[Sequence[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def run_leaklint(corpus: str, jobs: int) -> list[dict[str, object]]:
    command = [
        sys.executable, "-m", "leaklint", "check", corpus, "--format", "json", "--no-cache",
        "--exit-zero", "--confidence", "medium", "--jobs", str(jobs),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"leaklint exited with {done.returncode}")
    findings: list[dict[str, object]] = json.loads(done.stdout)
    return findings


def relative(path: str, corpus: str) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.abspath(corpus)).replace(os.sep, "/")


def as_reported(findings: Iterable[dict[str, object]], corpus: str) -> list[Reported]:
    return [
        Reported(
            relative(str(f["path"]), corpus),
            int(str(f["line"])),
            str(f["code"]),
            str(f.get("confidence", "high")),
            str(f["message"]),
        )
        for f in findings
        if f["code"] != "LK001"  # the corpus is well-formed; LK001 there is a bug, shown below
    ]


def match(
    reported: Sequence[Reported], ledger: Sequence[Judged], slack: int
) -> dict[Reported, Judged]:
    """Pair findings with ledger entries of the same path and code, nearest lines first, each
    entry used once."""
    entries: dict[tuple[str, str], list[Judged]] = defaultdict(list)
    for entry in ledger:
        entries[(entry.path, entry.code)].append(entry)
    candidates = sorted(
        (
            (abs(finding.line - entry.line), index, finding, entry)
            for index, finding in enumerate(reported)
            for entry in entries.get((finding.path, finding.code), ())
            if abs(finding.line - entry.line) <= slack
        ),
        key=lambda candidate: candidate[:2],
    )
    pairs: dict[Reported, Judged] = {}
    used: set[Judged] = set()
    for _distance, _index, finding, entry in candidates:
        if finding in pairs or entry in used:
            continue
        pairs[finding] = entry
        used.add(entry)
    return pairs


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


def print_table(reported: Sequence[Reported], pairs: dict[Reported, Judged]) -> None:
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in reported:
        entry = pairs.get(finding)
        label = entry.label if entry else "unjudged"
        by_rule[finding.code][f"{finding.confidence}:{label}"] += 1
    header = (
        "| rule | high | TRUE | DEBATABLE | FALSE | unjudged | strict precision (high) "
        "| + medium | lenient precision (high+medium) |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals: Counter[str] = Counter()
    for code in sorted(by_rule):
        counts = by_rule[code]
        totals.update(counts)
        print(_row(code, counts))
    print(_row("**all**", totals))


def _row(name: str, counts: Counter[str]) -> str:
    high = {label: counts[f"high:{label}"] for label in (*LABELS, "unjudged")}
    medium = {label: counts[f"medium:{label}"] for label in (*LABELS, "unjudged")}
    high_all = sum(high.values())
    medium_all = sum(medium.values())
    lenient_right = high["TRUE"] + high["DEBATABLE"] + medium["TRUE"] + medium["DEBATABLE"]
    return (
        f"| {name} | {high_all} | {high['TRUE']} | {high['DEBATABLE']} | {high['FALSE']} "
        f"| {high['unjudged']} | {ratio(high['TRUE'], high_all)} | {medium_all} "
        f"| {ratio(lenient_right, high_all + medium_all)} |"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="the folder built by ../shared/corpus/build.sh")
    parser.add_argument("--ledger", default=DEFAULT_LEDGER)
    parser.add_argument("--findings", help="a saved `leaklint check --format json` run to reuse")
    parser.add_argument("--save", help="save this run's JSON findings here")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--line-slack", type=int, default=8)
    parser.add_argument("--write-unjudged", help="write unjudged findings as ledger rows here")
    args = parser.parse_args(argv)

    if args.findings:
        with open(args.findings, encoding="utf-8") as handle:
            raw = json.load(handle)
    else:
        raw = run_leaklint(args.corpus, args.jobs)
    if args.save:
        with open(args.save, "w", encoding="utf-8") as handle:
            json.dump(raw, handle)
    broken = [f for f in raw if f["code"] == "LK001"]
    reported = as_reported(raw, args.corpus)
    ledger = read_ledger(args.ledger)
    pairs = match(reported, ledger, args.line_slack)

    print(f"## leaklint on {args.corpus}: {len(reported)} findings, ledger of {len(ledger)}\n")
    print_table(reported, pairs)

    unjudged = [f for f in reported if f not in pairs]
    matched_entries = {entry: finding for finding, entry in pairs.items()}
    lost = [e for e in ledger if e.label == "TRUE" and e not in matched_entries]
    demoted = [
        (e, f) for e, f in matched_entries.items() if e.label == "TRUE" and f.confidence != "high"
    ]
    wrong = [(f, e) for f, e in pairs.items() if e.message == "wrong"]
    gone = Counter(e.label for e in ledger if e not in matched_entries)

    print(f"\nLedger entries no longer reported: {dict(gone) or 'none'}")
    _section("Not judged yet", [f"{f.path}:{f.line}: {f.code} [{f.confidence}] {f.message}"
                                for f in unjudged])  # fmt: skip
    _section("TRUE findings no longer reported", [
        f"{e.path}:{e.line}: {e.code} ({e.reason})" for e in lost])  # fmt: skip
    _section("TRUE findings now reported only at medium", [
        f"{e.path}:{e.line}: {e.code} ({e.reason})" for e, _f in demoted])  # fmt: skip
    _section("Wrong messages (TRUE or not, the message names the wrong cause)", [
        f"{f.path}:{f.line}: {f.code} {f.message} -- {e.reason}" for f, e in wrong])  # fmt: skip
    _section("LK001 on the corpus (a parser gap: the corpus is well-formed)", [
        f"{relative(str(f['path']), args.corpus)}: {f['message']}" for f in broken])  # fmt: skip

    if args.write_unjudged:
        rows = [(f.path, f.line, f.code, "", "", f"[{f.confidence}] {f.message}") for f in unjudged]
        write_rows(args.write_unjudged, rows)
        print(f"\nwrote {len(unjudged)} unjudged findings to {args.write_unjudged}")
    return 1 if unjudged or lost else 0


def _section(title: str, lines: Sequence[str]) -> None:
    print(f"\n### {title}: {len(lines)}")
    for line in lines:
        print(f"- {line}")


if __name__ == "__main__":
    sys.exit(main())
