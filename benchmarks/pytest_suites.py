"""The pytest plugin on real test suites: what ``--leaklint`` costs and what it flags.

For each project below the script downloads its sdist (``pip download --no-binary :all:
--no-deps``; the sdists ship their tests), installs it with its test dependencies and this
leaklint into a throwaway venv, then runs the suite without and with ``--leaklint``, ``--runs``
times each, alternating, and prints the medians: tests, wall and CPU (user + system of the
whole process tree) without/with, the CPU ratio, tests flagged by leaklint, and tests whose
outcome changed for any other reason (failures or hangs the plugin introduced).

    python benchmarks/pytest_suites.py                 # all projects, 3 runs each
    python benchmarks/pytest_suites.py h11 anyio --runs 1 --show-flagged

The venvs and sdists are kept in ``--workdir`` (default /tmp/leaklint-suites) and reused.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 900  # seconds per suite run: a hang shows as "timeout" in the table


@dataclass(frozen=True)
class Project:
    """One suite: the sdist to fetch, what to install beside it, how to run its tests."""

    name: str  # the PyPI name, pinned for repeatable figures
    version: str
    tests: tuple[str, ...]  # test paths inside the unpacked sdist
    deps: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # extra pytest arguments
    asyncio: bool = False  # which overhead target applies


PROJECTS = (
    Project("cachetools", "8.0.2", ("tests",)),
    Project("more-itertools", "11.2.1", ("tests",)),
    Project("h11", "0.16.0", ("h11/tests",)),
    Project("attrs", "26.1.0", ("tests",), ("hypothesis", "pympler", "cloudpickle"),
            ("--ignore=tests/test_mypy.yml", "-p", "no:mypy-plugins")),
    # anyio's own suite runs under blockbuster; the trio backend's worker-thread cache and the
    # runner's event loop kept across tests are what the plugin must recognise.
    Project("anyio", "4.16.0", ("tests",),
            ("trio", "blockbuster", "hypothesis", "psutil", "pytest-mock", "trustme",
             "truststore", "uvloop", "exceptiongroup", "pytest-timeout"),
            ("-m", "not network"), asyncio=True),
    # janus: a queue shared by threads and the asyncio loop (pytest-asyncio runs its tests).
    Project("janus", "2.0.0", ("tests",), ("pytest-asyncio",),
            ("--ignore=tests/test_benchmarks.py", "-o", "addopts="), asyncio=True),
)


@dataclass
class Run:
    wall: float
    cpu: float
    outcomes: dict[str, int]
    flagged: list[str]  # node ids leaklint failed
    bad: set[str]  # node ids that failed or errored (leaklint's own reports excluded)
    timed_out: bool = False


@dataclass
class Row:
    project: Project
    plain: list[Run] = field(default_factory=list)
    checked: list[Run] = field(default_factory=list)


def sh(command: Sequence[str], cwd: Optional[str] = None) -> None:
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def prepare(project: Project, workdir: str) -> tuple[str, str]:
    """Download, unpack and install; return (the unpacked source, the venv's python)."""
    base = os.path.join(workdir, f"{project.name}-{project.version}")
    python = os.path.join(base, "venv", "bin", "python")
    marker = os.path.join(base, ".ready")
    found = glob.glob(os.path.join(base, "src", "*", ""))
    if os.path.exists(marker) and found:
        if _installed_leaklint(python) != os.path.join(REPO, "leaklint"):
            # A venv made from another checkout (or a worktree since removed): measure this one.
            sh([python, "-m", "pip", "install", "-q", "--no-deps", "-e", REPO])
        return found[0], python
    os.makedirs(os.path.join(base, "src"), exist_ok=True)
    sh([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
        "-d", base, f"{project.name}=={project.version}"])
    archive = next(p for p in glob.glob(os.path.join(base, "*")) if p.endswith((".tar.gz",
                                                                                 ".zip")))
    sh(["tar", "xf", archive, "-C", os.path.join(base, "src")])
    source = glob.glob(os.path.join(base, "src", "*", ""))[0]
    sh([sys.executable, "-m", "venv", os.path.join(base, "venv")])
    sh([python, "-m", "pip", "install", "-q", source, "-e", REPO, "pytest", *project.deps])
    open(marker, "w").close()
    return source, python


def _installed_leaklint(python: str) -> Optional[str]:
    """The folder of the leaklint package the venv imports, or None when it cannot."""
    done = subprocess.run(
        # -I: not from the current folder, which may be a checkout itself.
        [python, "-I", "-c", "import leaklint, os; print(os.path.dirname(leaklint.__file__))"],
        capture_output=True, text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


_SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")
_SHORT = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$")


def run_suite(project: Project, source: str, python: str, leaklint: bool) -> Run:
    command = [python, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
               "-p", "no:randomly", *project.args, *project.tests]
    if leaklint:
        command.append("--leaklint")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    timed_out = False
    try:
        done = subprocess.run(command, cwd=source, capture_output=True, text=True,
                              timeout=TIMEOUT, env={**os.environ, "COLUMNS": "250"})
        output = done.stdout
    except subprocess.TimeoutExpired as expired:
        timed_out = True
        output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else ""
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    outcomes: dict[str, int] = {}
    for count, label in _SUMMARY.findall(tail):
        outcomes[label.rstrip("s") if label.startswith("error") else label] = int(count)
    flagged, bad = [], set()
    # Only the run's own summary: a flagged test's captured output may hold an inner pytest
    # session's summary lines (pytester), which are not this run's outcomes.
    summary = output.rsplit("short test summary info", 1)[-1]
    for line in summary.splitlines():
        match = _SHORT.match(line)
        if match is None:
            continue
        if (match.group(3) or "").startswith("leaked "):
            flagged.append(f"{match.group(2)} - {match.group(3)}")
        else:
            bad.add(match.group(2))
    if not outcomes and not timed_out:
        # Nothing ran (a plugin that cannot load, a collection error): a row of zeros would
        # read as a measurement.
        said = (output + (done.stderr if not timed_out else "")).strip().splitlines()
        raise RuntimeError(f"{project.name}: no test outcome in pytest's output:\n"
                           + "\n".join(said[-15:]))
    return Run(wall, cpu, outcomes, flagged, bad, timed_out)


def measure(project: Project, workdir: str, runs: int) -> Row:
    source, python = prepare(project, workdir)
    row = Row(project)
    for _ in range(runs):  # alternate, so a busy neighbour hurts both columns alike
        row.plain.append(run_suite(project, source, python, leaklint=False))
        row.checked.append(run_suite(project, source, python, leaklint=True))
    return row


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(rows: Sequence[Row], show_flagged: bool) -> None:
    header = (f"{'suite':<16}{'tests':>7}{'wall':>8}{'wall+':>8}{'CPU':>8}{'CPU+':>8}"
              f"{'ratio':>7}{'target':>8}{'flagged':>9}{'changed':>9}")
    print(header)
    print("-" * len(header))
    for row in rows:
        plain, checked = row.plain, row.checked
        tests = sum(v for k, v in plain[0].outcomes.items() if k != "deselected")
        cpu0 = _median([r.cpu for r in plain])
        cpu1 = _median([r.cpu for r in checked])
        baseline_bad = set().union(*(r.bad for r in plain))
        changed = set().union(*(r.bad for r in checked)) - baseline_bad
        hangs = sum(r.timed_out for r in checked) - sum(r.timed_out for r in plain)
        flagged = {line.split(" - ")[0] for r in checked for line in r.flagged}
        target = 1.5 if row.project.asyncio else 1.3
        ratio = cpu1 / cpu0 if cpu0 else float("nan")
        label = f"{row.project.name} {row.project.version}"
        changed_text = str(len(changed)) + (f"+{hangs}h" if hangs > 0 else "")
        print(f"{label:<16}{tests:>7}{_median([r.wall for r in plain]):>7.1f}s"
              f"{_median([r.wall for r in checked]):>7.1f}s{cpu0:>7.1f}s{cpu1:>7.1f}s"
              f"{ratio:>6.2f}x{target:>7.1f}x{len(flagged):>9}{changed_text:>9}")
        if show_flagged:
            for line in sorted({line for r in checked for line in r.flagged}):
                print(f"    flagged: {line}")
            for node in sorted(changed):
                print(f"    changed: {node}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("projects", nargs="*", help="names from the list (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/leaklint-suites")
    parser.add_argument("--show-flagged", action="store_true",
                        help="list each flagged test and each changed outcome")
    options = parser.parse_args(argv)
    chosen = [p for p in PROJECTS if not options.projects or p.name in options.projects]
    rows = []
    for project in chosen:
        print(f"... {project.name}", file=sys.stderr, flush=True)
        rows.append(measure(project, options.workdir, options.runs))
    print(f"python {sys.version.split()[0]}, {options.runs} run(s) each, medians; CPU ratio "
          "= CPU with --leaklint / CPU without; changed = tests failing only with --leaklint "
          "(h = hangs)")
    report(rows, options.show_flagged)
    return 0


if __name__ == "__main__":
    sys.exit(main())
