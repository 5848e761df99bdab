"""How long ``leaklint check one_file.py`` takes, and what of it is start-up.

    python benchmarks/startup.py [--repeat N]

Runs, alternating and N times each (the fastest counts): a bare ``python -c pass``,
``python -c "import libcst"``, and the ``leaklint`` command (``python -m leaklint check
--no-cache``) on a file no rule's screen keeps (libcst is then never imported) and on a file
that needs the full analysis. Prints wall times and the ratios to ``import libcst`` measured in
the same run (the machine's speed varies; only same-run ratios compare).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from measure import run

CLEAN = "def add(a, b):\n    return a + b\n"
LEAKY = "def read(path):\n    f = open(path)\n    return f.read()\n"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        clean = os.path.join(folder, "clean.py")
        leaky = os.path.join(folder, "leaky.py")
        for path, text in ((clean, CLEAN), (leaky, LEAKY)):
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import libcst": [sys.executable, "-c", "import libcst"],
            "leaklint check (a file no rule needs)":
                [sys.executable, "-m", "leaklint", "check", "--no-cache", clean],
            "leaklint check (a file with a leak)":
                [sys.executable, "-m", "leaklint", "check", "--no-cache", leaky],
        }
        best = {label: float("inf") for label in commands}
        for _ in range(args.repeat):
            for label, command in commands.items():
                measured = run(command)
                if label.startswith("leaklint") and measured.returncode not in (0, 1):
                    print(f"{label} failed:\n{measured.stderr_tail}", file=sys.stderr)
                    return 2
                best[label] = min(best[label], measured.wall)
    base = best["import libcst"]
    print(f"fastest of {args.repeat} runs each, alternating\n")
    print("| command | wall s | vs import libcst |")
    print("|---|---:|---:|")
    for label, wall in best.items():
        print(f"| {label} | {wall:.3f} | {wall / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
