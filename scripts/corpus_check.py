"""Check every Python file of some folders with every rule, in-process, and report what broke.

    python scripts/corpus_check.py /tmp/leaklint-corpus /tmp/leaklint-corpus-broken
    python scripts/corpus_check.py tests/data/robustness_sample --generated   # what CI runs

Reported: files and lines per second, the slowest files, and every problem with its file:
- a crash: an exception that escaped the engine (the engine must turn everything into a result);
- an internal error: a rule or analysis raised (the engine caught it; exit status 2 in the CLI);
- a valid file not analysed: LK001 on a file this interpreter compiles (deep nesting must be
  analysed on the engine's deep stack, not given up on).
``--generated`` adds stress files written to a temporary folder (deep nesting, thousands of
``elif``s and of implicitly concatenated strings, a 1 MB file). Exit status 1 on any problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)


@dataclass(frozen=True)
class Outcome:
    path: str
    seconds: float  # CPU time of the check (steadier than wall time on a busy machine)
    lines: int
    findings: int = 0
    crash: str = ""  # a traceback
    internal_errors: tuple[str, ...] = ()
    unanalysed: str = ""  # the LK001 message given to a file that compiles
    parse_error: bool = False


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.crash or o.internal_errors or o.unanalysed]


# --- stress inputs ---------------------------------------------------------------------------


def stress_sources() -> dict[str, bytes]:
    """Odd but legal (or deliberately broken) files too big or too regular to commit."""
    elifs = "".join(f"elif x == {i}:\n    y = {i}\n" for i in range(1, 3000))
    # libcst nests one level per literal; its parser itself gives up above about 4000.
    strings = "".join(f'    "line {i} of a long text\\n"\n' for i in range(3000))
    nested_calls = "f(" * 200 + "x" + ")" * 200
    # About 1 MB: a third code (a trigger in every function), the rest a long comment.
    function = "def read_{0}(path):\n    with open(path) as f:\n        return f.read()\n\n"
    comment = "# {0:06d} " + "words of a long explanation " * 3 + "\n"
    body = "".join(map(function.format, range(4000))) + "".join(map(comment.format, range(8000)))
    return {
        "stress_many_elifs.py": f"x = 1\nif x == 0:\n    y = 0\n{elifs}else:\n    y = 9\n".encode(),
        # Like CPython's pydoc_data/topics.py, and with a leak after it: its position needs a
        # code generation pass through the deep string.
        "stress_concatenated_strings.py": (
            f"import asyncio\n\ntopics = {{'text': (\n{strings})}}\n\n\n"
            "async def spawn(job):\n    asyncio.create_task(job())\n"
        ).encode(),
        "stress_nested_parens.py": ("x = " + "(" * 500 + "1" + ")" * 500 + "\n").encode(),
        "stress_nested_lists.py": ("x = " + "[" * 500 + "]" * 500 + "\n").encode(),
        "stress_nested_calls.py": f"def g(f, x):\n    return {nested_calls}\n".encode(),
        "stress_nested_blocks.py": _nested_blocks(90).encode(),
        "stress_one_megabyte.py": body.encode(),
        "stress_long_line.py": ("x = [" + ", ".join(str(i) for i in range(20000)) + "]\n").encode(),
        "stress_deep_attribute_chain.py": ("y = x" + ".a" * 1000 + "\n").encode(),
        "stress_binary_operators.py": ("y = " + " + ".join(["x"] * 1000) + "\n").encode(),
    }


def _nested_blocks(depth: int) -> str:
    """``if`` blocks nested ``depth`` deep (CPython's own limit is 100 nested blocks)."""
    lines = ["def deep(x):"]
    for level in range(1, depth + 1):
        lines.append("    " * level + f"if x > {level}:")
    lines.append("    " * (depth + 1) + "return open(x)")
    return "\n".join(lines) + "\n"


def write_stress_files(folder: str) -> list[str]:
    paths = []
    for name, data in stress_sources().items():
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(data)
        paths.append(path)
    return paths


# --- checking --------------------------------------------------------------------------------


def _compiles(data: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, "<check>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def check_one(path: str) -> Outcome:
    from leaklint import registry
    from leaklint.engine import PARSE_ERROR_CODE, check_path

    ruleset = registry.rule_set(extend_select=registry.off_by_default())
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return Outcome(path, 0.0, 0, crash=f"cannot read: {exc}")
    lines = data.count(b"\n")
    start = time.process_time()
    try:
        result = check_path(path, ruleset)
    except BaseException:  # anything escaping the engine is the bug this script looks for
        return Outcome(path, time.process_time() - start, lines, crash=traceback.format_exc())
    seconds = time.process_time() - start
    parse_errors = [f for f in result.findings if f.code == PARSE_ERROR_CODE]
    unanalysed = ""
    if parse_errors and _compiles(data):
        unanalysed = parse_errors[0].message
    return Outcome(
        path,
        seconds,
        lines,
        findings=len(result.findings) - len(parse_errors),
        internal_errors=tuple(f"{e.rule}: {e.summary}" for e in result.errors),
        unanalysed=unanalysed,
        parse_error=bool(parse_errors),
    )


def _check_chunk(paths: Sequence[str]) -> list[Outcome]:
    return [check_one(path) for path in paths]


def python_files(folders: Sequence[str]) -> Iterator[str]:
    for given in folders:
        if os.path.isfile(given):
            yield given
            continue
        for folder, subfolders, files in os.walk(given):
            subfolders.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def check_all(paths: Sequence[str], jobs: int) -> Summary:
    summary = Summary()
    if jobs <= 1:
        summary.outcomes = _check_chunk(paths)
        return summary
    chunks = [list(paths[i : i + 8]) for i in range(0, len(paths), 8)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for outcomes in pool.map(_check_chunk, chunks):
            summary.outcomes.extend(outcomes)
    return summary


def report(summary: Summary, wall: float) -> None:
    outcomes = summary.outcomes
    lines = sum(o.lines for o in outcomes)
    print(
        f"{len(outcomes)} files, {lines} lines in {wall:.1f} s wall: "
        f"{len(outcomes) / wall:.1f} files/s, {lines / wall:,.0f} lines/s"
    )
    print(
        f"findings: {sum(o.findings for o in outcomes)}; "
        f"LK001 (cannot analyse): {sum(o.parse_error for o in outcomes)}"
    )
    print(f"CPU time of the checks: {sum(o.seconds for o in outcomes):.1f} s; slowest files:")
    for outcome in sorted(outcomes, key=lambda o: -o.seconds)[:5]:
        print(f"  {outcome.seconds:7.2f} s CPU  {outcome.lines:7d} lines  {outcome.path}")
    crashes = [o for o in outcomes if o.crash]
    errors = [o for o in outcomes if o.internal_errors]
    unanalysed = [o for o in outcomes if o.unanalysed]
    print(f"crashes: {len(crashes)}")
    for outcome in crashes:
        print(f"  {outcome.path}\n{_indent(outcome.crash)}")
    print(f"internal errors: {len(errors)}")
    for outcome in errors:
        for error in outcome.internal_errors:
            print(f"  {outcome.path}: {error}")
    print(f"valid files not analysed: {len(unanalysed)}")
    for outcome in unanalysed:
        print(f"  {outcome.path}: {outcome.unanalysed}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", help="folders or files to check")
    parser.add_argument("--generated", action="store_true", help="add generated stress files")
    parser.add_argument("--jobs", "-j", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leaklint-stress-") as folder:
        paths = list(python_files(args.folders))
        if args.generated:
            paths.extend(write_stress_files(folder))
        if not paths:
            print("no Python files found", file=sys.stderr)
            return 2
        start = time.perf_counter()
        summary = check_all(paths, args.jobs)
        report(summary, time.perf_counter() - start)
    return 1 if summary.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
