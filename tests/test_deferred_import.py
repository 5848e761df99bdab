"""The command imports libcst only when a file needs the full analysis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from leaklint.launch import main
sys.argv = ["leaklint", "check", "--no-cache", sys.argv[1]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print(type(sys.modules["libcst"]).__name__, code)
"""


def _run(path: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].split()


def test_a_file_no_rule_needs_is_checked_without_importing_libcst(tmp_path: Path) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text("def add(a, b):\n    return a + b\n")
    assert _run(clean) == ["_StandIn", "0"]


def test_a_file_that_needs_the_analysis_loads_libcst_and_is_checked(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text("def read(path):\n    f = open(path)\n    return f.read()\n")
    assert _run(leaky) == ["module", "1"]


def test_the_stand_in_gives_the_modules_own_objects() -> None:
    probe = (
        "import sys\n"
        "from leaklint.deferred_import import defer\n"
        "defer('libcst')\n"
        "import libcst as cst\n"
        "assert type(cst).__name__ == '_StandIn'\n"
        "name = cst.Name\n"
        "import libcst.metadata\n"
        "real = sys.modules['libcst']\n"
        "assert real is not cst and name is real.Name and cst.Module is real.Module\n"
        "assert cst.metadata is libcst.metadata\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
