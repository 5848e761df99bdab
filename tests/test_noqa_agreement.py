"""``leaklint check`` and ``flake8 --select=LK`` agree on every ``noqa`` placement on statements
that span several lines: both follow flake8's rule (see leaklint/suppress.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leaklint.suppress import Suppressions

HEAD = "import asyncio\n\n\nasync def handler():\n"

# name -> (body of handler(), whether the LK105 reported on the body's first line is silenced)
CASES: dict[str, tuple[str, bool]] = {
    "first_line": ("    asyncio.create_task(  # noqa: LK105\n        work(),\n    )\n", True),
    "closing_line": ("    asyncio.create_task(\n        work(),\n    )  # noqa: LK105\n", False),
    "middle_line": ("    asyncio.create_task(\n        work(),  # noqa: LK105\n    )\n", False),
    "bare_on_closing_line": ("    asyncio.create_task(\n        work(),\n    )  # noqa\n", False),
    "backslash": ("    asyncio.create_task \\\n        (work())  # noqa: LK105\n", True),
    "string_spans_lines": (
        '    asyncio.create_task(work("""\n    text\n    """))  # noqa: LK105\n', True),
    "string_inside_brackets": (
        '    asyncio.create_task(\n        work("""\n    text\n    """),  # noqa: LK105\n    )\n',
        False),
    "no_space_after_hash": ("    asyncio.create_task(work())  #noqa: LK105\n", False),
    "two_spaces_is_bare": ("    asyncio.create_task(work())  # noqa:  LK105\n", True),
    "lowercase_code": ("    asyncio.create_task(work())  # noqa: lk105\n", False),
    "prefix": ("    asyncio.create_task(work())  # noqa: LK1\n", True),
    "other_code": ("    asyncio.create_task(work())  # noqa: E501\n", False),
    "several_codes": ("    asyncio.create_task(work())  # noqa: E501,LK105 W291\n", True),
    "with_reason": ("    asyncio.create_task(work())  # noqa: LK105 - done before exit\n", True),
    "inside_a_string": ('    asyncio.create_task(work("# noqa"))\n', True),
    "leaklint_ignore_first_line": (
        "    asyncio.create_task(  # leaklint: ignore[LK105]\n        work(),\n    )\n", True),
    "leaklint_ignore_closing_line": (
        "    asyncio.create_task(\n        work(),\n    )  # leaklint: ignore[LK105]\n", False),
    "leaklint_ignore_backslash": (
        "    asyncio.create_task \\\n        (work())  # leaklint: ignore[LK105]\n", True),
}
REPORTED_LINE = HEAD.count("\n") + 1


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("noqa")
    for name, (body, _) in CASES.items():
        (folder / f"{name}.py").write_text(HEAD + body)
    return folder


def _reported(lines: list[tuple[str, int, str]]) -> set[str]:
    return {Path(path).stem for path, line, code in lines if code == "LK105"
            and line == REPORTED_LINE}


def test_leaklint_and_flake8_agree_on_multi_line_statements(cases: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    leaklint = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", str(cases), "--format", "json", "--no-cache",
         "--select", "LK"], capture_output=True, text=True, timeout=300, env=env,
    )
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=LK",
         "--format=%(path)s:%(row)d:%(code)s", str(cases)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert leaklint.returncode == 1 and flake8.returncode == 1, flake8.stderr + leaklint.stderr
    by_leaklint = _reported(
        [(f["path"], f["line"], f["code"]) for f in json.loads(leaklint.stdout)]
    )
    by_flake8 = _reported(
        [(p, int(row), code) for p, row, code in
         (line.rsplit(":", 2) for line in flake8.stdout.splitlines())]
    )
    assert by_leaklint == by_flake8, (
        f"leaklint only: {sorted(by_leaklint - by_flake8)}; "
        f"flake8 only: {sorted(by_flake8 - by_leaklint)}"
    )
    expected = {name for name, (_, silenced) in CASES.items() if not silenced}
    assert by_leaklint == expected


def test_the_rule_line_by_line() -> None:
    source = 'x = call(  # noqa: LK105\n    a,\n)  # noqa\ny = """\n"""  # noqa: LK3\nz = 1\n'
    suppressions = Suppressions(source)
    assert suppressions.is_suppressed(1, "LK105") and not suppressions.is_suppressed(1, "LK301")
    assert not suppressions.is_suppressed(2, "LK105")  # inside brackets: a line of its own
    assert suppressions.is_suppressed(3, "LK999")  # bare noqa
    assert suppressions.is_suppressed(4, "LK301")  # joined to line 5 by the string
    assert not suppressions.is_suppressed(4, "LK105")
    assert not suppressions.is_suppressed(6, "LK105")
