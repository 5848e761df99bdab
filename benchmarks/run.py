"""Benchmark leaklint against the libcst parse floor and other linters on the same files.

    python benchmarks/run.py FOLDER [FOLDER ...]      # the comparison table
    python benchmarks/run.py --quick                  # a quick built-in sample (this repository)
    python benchmarks/run.py FOLDER --scaling         # 1/4, 1/2 and all of the files

Each tool runs in its own subprocess with ``--jobs`` workers (default 2). Reported: wall time,
CPU time (user + system of the whole process tree: steadier than wall time on a shared
machine), lines per second, peak RSS of the process tree and of its largest process, and each
figure as a ratio to leaklint cold. With ``--repeat N`` the tools run in N rounds, each tool
once per round, and each tool's fastest run counts. This is a script that prints a table, not
a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from measure import Measurement, run
from tools import TOOLS, Setup, Tool, available, ruff_codes, venv_executable

from leaklint.cache import code_fingerprint

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK_SAMPLE = ("leaklint", "fixtures", "tests", "benchmarks", "scripts")
MB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    tool: Tool
    measured: Measurement


def python_files(folders: Sequence[str]) -> list[str]:
    """What ``leaklint check FOLDER`` would check (its own discovery, nothing excluded)."""
    from leaklint.discovery import discover

    return [t.path for t in discover(folders, lambda _path, _root: False) if not t.problem]


def count_lines(files: Sequence[str]) -> int:
    total = 0
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        total += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return total


def _known_ruff_codes() -> list[str]:
    ruff = venv_executable("ruff")
    if not ruff:
        return []
    listed = subprocess.run(
        [ruff, "rule", "--all", "--output-format", "json"], capture_output=True, text=True
    )
    try:
        return [rule["code"] for rule in json.loads(listed.stdout) if rule.get("code")]
    except ValueError:
        return []


def make_setup(files: Sequence[str], jobs: int, workdir: str) -> Setup:
    file_list = os.path.join(workdir, "files.txt")
    with open(file_list, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{path}\n" for path in files))
    config = os.path.join(workdir, "pyproject.toml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write('[tool.leaklint]\ncache-dir = "leaklint-cache"\n')
    return Setup(tuple(files), file_list, jobs, config, ruff_codes(_known_ruff_codes()))


def _env(tool: Tool, setup: Setup) -> dict[str, str]:
    env = dict(tool.env)
    if tool.key == "ruff":
        env["RAYON_NUM_THREADS"] = str(setup.jobs)
    return env


def measure_rounds(tools: Sequence[Tool], setup: Setup, repeat: int) -> list[Measurement]:
    """The fastest of ``repeat`` runs of each tool, run in rounds (each tool once per round)
    rather than tool after tool: a shared machine's load drifts over minutes, and rounds
    spread the drift over every tool alike, so the ratios compare like with like."""
    for _attempt in range(3):
        # The cache key covers leaklint's own code: an edit between priming and measuring
        # (an editable install under development) would turn the warm run cold. Retry then.
        code = code_fingerprint()
        for tool in tools:
            if tool.prime:
                print(f"priming: {tool.label} ...", file=sys.stderr, flush=True)
                _check_ran(tool, run(tool.prime(setup), _env(tool, setup)))
        runs: list[list[Measurement]] = [[] for _ in tools]
        for round_number in range(1, repeat + 1):
            for tool, measured in zip(tools, runs):
                print(f"running: {tool.label} (round {round_number} of {repeat}) ...",
                      file=sys.stderr, flush=True)
                measured.append(run(tool.build(setup), _env(tool, setup)))
        if not any(tool.prime for tool in tools) or code_fingerprint() == code:
            break
        print("leaklint's code changed during the run; measuring again", file=sys.stderr)
    best = []
    for tool, measured in zip(tools, runs):
        fastest = min(measured, key=lambda m: m.wall)
        _check_ran(tool, fastest)
        best.append(fastest)
    return best


def _check_ran(tool: Tool, measured: Measurement) -> None:
    if measured.returncode not in (0, 1):
        print(
            f"warning: {tool.label} exited {measured.returncode}:\n{measured.stderr_tail}",
            file=sys.stderr,
        )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def print_table(rows: Sequence[Row], lines: int, files: int) -> None:
    base = next((row.measured for row in rows if row.tool.key == "cold"), rows[0].measured)
    print(f"\n{files} files, {lines} lines\n")
    header = (
        "| tool | wall s | cpu s | lines/s | peak RSS tree MB | largest process MB "
        "| wall vs cold | cpu vs cold | RSS vs cold | exit |"
    )
    print(header)
    print("|---|" + "---:|" * 9)
    for row in rows:
        m = row.measured
        print(
            f"| {row.tool.label} | {m.wall:.2f} | {m.cpu:.2f} | {lines / m.wall:,.0f} "
            f"| {m.peak_tree_rss / MB:.0f} | {m.peak_process_rss / MB:.0f} "
            f"| {_ratio(m.wall, base.wall)} | {_ratio(m.cpu, base.cpu)} "
            f"| {_ratio(m.peak_tree_rss, base.peak_tree_rss)} | {m.returncode} |"
        )


TARGETS = (
    # (row, label, the most leaklint cold may cost relative to that row's time)
    ("floor", "cold <= 1.0x the parse floor", 1.0),
    ("flake8", "cold faster than flake8 + bugbear", 1.0),
    ("pylint", "cold >= 3x faster than pylint", 1 / 3),
)


def print_targets(rows: Sequence[Row], jobs: int = 2) -> None:
    """The issue's targets, on wall time and on CPU time (steadier on a shared machine)."""
    by_key = {row.tool.key: row.measured for row in rows}
    cold = by_key.get("cold")
    if cold is None:
        return
    print()
    for key, label, limit in TARGETS:
        other = by_key.get(key)
        if other is not None:
            wall, cpu = cold.wall / other.wall, cold.cpu / other.cpu
            print(f"- {label}: cold/{key} = {wall:.2f}x wall ({_met(wall <= limit)}), "
                  f"{cpu:.2f}x cpu ({_met(cpu <= limit)})")
    if jobs > 1:
        # The share of the workers' cores the run kept busy: CPU time over jobs x wall time
        # (the parent's reading and merging counts as useful work too).
        efficiency = cold.cpu / (jobs * cold.wall)
        print(f"- parallel efficiency >= 90%: cold CPU / ({jobs} x wall) = {efficiency:.0%} "
              f"({_met(efficiency >= 0.9)})")
    warm = by_key.get("warm")
    if warm is not None:
        wall, cpu = cold.wall / warm.wall, cold.cpu / warm.cpu
        print(f"- warm cache >= 20x faster than cold: {wall:.1f}x wall ({_met(wall >= 20)}), "
              f"{cpu:.1f}x cpu ({_met(cpu >= 20)})")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def compare(files: Sequence[str], jobs: int, keys: Sequence[str], repeat: int) -> None:
    lines = count_lines(files)
    tools: list[Tool] = []
    with tempfile.TemporaryDirectory(prefix="leaklint-bench-") as workdir:
        setup = make_setup(files, jobs, workdir)
        for tool in TOOLS:
            if tool.key not in keys:
                continue
            if not available(tool):
                print(f"skipped: {tool.label} (not installed)", file=sys.stderr)
                continue
            if tool.key == "ruff" and not setup.ruff_codes:
                continue
            tools.append(tool)
        rows = [Row(tool, m) for tool, m in zip(tools, measure_rounds(tools, setup, repeat))]
    print_table(rows, lines, len(files))
    print_targets(rows, jobs)
    if "ruff" in keys and setup.ruff_codes:
        print(f"\nruff rules: {','.join(setup.ruff_codes)}")


def scaling(files: Sequence[str], jobs: int, repeat: int, seed: int) -> None:
    """Wall and CPU time on nested 1/4, 1/2 and all of the files (a seeded shuffle, so every
    part has the same mix), and the peak RSS of the largest process: per-worker memory must
    stay flat while the number of files grows."""
    shuffled = list(files)
    random.Random(seed).shuffle(shuffled)
    cold = next(tool for tool in TOOLS if tool.key == "cold")
    floor = next(tool for tool in TOOLS if tool.key == "floor")
    print(
        "\n| part | files | lines | leaklint wall s | leaklint cpu s | cpu us/line "
        "| floor cpu s | cold/floor cpu | largest process MB | tree MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, fraction in (("1/4", 0.25), ("1/2", 0.5), ("all", 1.0)):
        part = shuffled[: max(1, round(len(shuffled) * fraction))]
        lines = count_lines(part)
        with tempfile.TemporaryDirectory(prefix="leaklint-bench-") as workdir:
            setup = make_setup(part, jobs, workdir)
            print(f"running: {label} ...", file=sys.stderr, flush=True)
            m, f = measure_rounds([cold, floor], setup, repeat)
        print(
            f"| {label} | {len(part)} | {lines} | {m.wall:.2f} | {m.cpu:.2f} "
            f"| {m.cpu / lines * 1e6:.1f} | {f.cpu:.2f} | {_ratio(m.cpu, f.cpu)} "
            f"| {m.peak_process_rss / MB:.0f} | {m.peak_tree_rss / MB:.0f} |"
        )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", help="folders or files to check")
    parser.add_argument("--quick", action="store_true", help="this repository's own files")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument(
        "--tools",
        default=",".join(tool.key for tool in TOOLS),
        help="comma list of: " + ", ".join(tool.key for tool in TOOLS),
    )
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="rounds, each running every tool once; each tool's fastest run counts",
    )
    parser.add_argument("--scaling", action="store_true", help="1/4, 1/2, all: linearity")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folders = list(args.folders)
    if args.quick or not folders:
        folders = [os.path.join(REPOSITORY, name) for name in QUICK_SAMPLE]
        folders = [folder for folder in folders if os.path.exists(folder)]
    files = python_files(folders)
    if args.limit:
        files = files[: args.limit]
    if not files:
        print("no Python files found", file=sys.stderr)
        return 2
    if args.scaling:
        scaling(files, args.jobs, args.repeat, args.seed)
    else:
        keys = [key.strip() for key in args.tools.split(",") if key.strip()]
        compare(files, args.jobs, keys, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
