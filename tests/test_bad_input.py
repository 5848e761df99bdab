"""Bad input gets a clear diagnostic, never a traceback; the other files are still checked and
nothing the user owns is written."""

from __future__ import annotations

import builtins
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import LEAKY_TASK, json_findings, run_cli

from leaklint.engine import check_path
from leaklint.registry import rule_set

BAD_FILES: dict[str, bytes] = {
    "syntax_error.py": b"def f(:\n    pass\n",
    "undecodable.py": b"s = '\xff\xfe caf\xe9'\n",
    "wrong_cookie.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "nul_byte.py": b"x = 1\n\x00y = 2\n",
    "binary.py": bytes(range(256)) * 4,
}
REASONS = {
    "syntax_error.py": "syntax error",
    "undecodable.py": "cannot decode as utf-8",
    "wrong_cookie.py": "bad encoding declaration",
    "nul_byte.py": "NUL byte",
    "binary.py": "NUL byte",
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, data in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "empty.py").write_bytes(b"")
    # About 1 MB in long lines (libcst parses some 20 000 short statements a second, so a
    # megabyte of `x = 1` lines would make this test slow without testing anything more).
    (tmp_path / "big.py").write_text(f"s = '{'x' * 100}'\n" * 9_500)
    (tmp_path / "nested.py").write_text("x = " + "(" * 500 + "1" + ")" * 500 + "\n")
    (tmp_path / "leaky.py").write_text(LEAKY_TASK)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "back").symlink_to(tmp_path)  # a folder cycle
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_bad_file_is_reported_and_the_rest_checked(tree: Path) -> None:
    before = _snapshot(tree)
    result = run_cli("check", ".", "--format", "json", "--no-cache")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    by_path = {f["path"]: f for f in json_findings(result)}
    for name, reason in REASONS.items():
        assert by_path[name]["code"] == "LK001", name
        assert reason in by_path[name]["message"], by_path[name]["message"]
    assert by_path["leaky.py"]["code"] == "LK105"
    for fine in ("empty.py", "big.py", "nested.py"):
        assert fine not in by_path
    assert _snapshot(tree) == before


def test_named_paths_that_do_not_exist_are_usage_errors(tree: Path) -> None:
    result = run_cli("check", "loop", "missing.py", "leaky.py", "--format", "json", "--no-cache")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "leaklint: error: missing.py: no such file or folder" in result.stderr
    assert "leaklint: error: loop: cannot open path: Too many levels of symbolic links" in (
        result.stderr
    )
    # The paths that do exist are still checked and reported; no LK001 stands for a typo.
    assert [(f["path"], f["code"]) for f in json_findings(result)] == [("leaky.py", "LK105")]


def test_only_missing_paths_still_exit_2(tree: Path) -> None:
    result = run_cli("check", "missing.py", "--no-cache")
    assert result.exit_code == 2 and result.stdout == ""
    assert "missing.py: no such file or folder" in result.stderr


def test_named_file_that_is_not_python_is_skipped_with_a_warning(tree: Path) -> None:
    (tree / "README.md").write_text("# Title\n\nasyncio.create_task(x)\n")
    (tree / "notes.txt").write_text("#!/bin/sh\necho hi\n")
    result = run_cli("check", "README.md", "notes.txt", "empty.py", "--no-cache")
    assert result.exit_code == 0, result.stdout
    assert "leaklint: warning: README.md: not Python source" in result.stderr
    assert "leaklint: warning: notes.txt: not Python source" in result.stderr
    assert "No leaks found (1 file checked)." in result.stderr
    quiet = run_cli("check", "README.md", "empty.py", "--no-cache", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


@pytest.mark.parametrize(
    "shebang",
    ["#!/usr/bin/env python3", "#!/usr/bin/python3.12 -u", "#!/usr/bin/env -S uv run python",
     "#!/opt/pypy3/bin/pypy3"],
)
def test_named_script_with_a_python_shebang_is_checked(tree: Path, shebang: str) -> None:
    (tree / "tool").write_text(shebang + "\n" + LEAKY_TASK)
    result = run_cli("check", "tool", "--format", "json", "--no-cache")
    assert [(f["path"], f["line"], f["code"]) for f in json_findings(result)] == [
        ("tool", 6, "LK105")
    ]


def test_python_files_without_py_suffix_in_folders_are_not_walked(tree: Path) -> None:
    (tree / "sub" / "tool").write_text("#!/usr/bin/env python3\n" + LEAKY_TASK)
    listed = run_cli("check", "sub", "--show-files").stdout.splitlines()
    assert "sub/tool" not in listed


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("x = (1,\n", "'(' was never closed", 1, 5),
        ("def f():\n    return [1, 2\n\ny = 3\n", "'[' was never closed", 2, 12),
        ("x = 1\n  y = 2\n", "unexpected indent", 2, 2),
    ],
)
def test_syntax_errors_read_like_pythons(
    tmp_path: Path, source: str, message: str, line: int, column: int
) -> None:
    path = tmp_path / "broken.py"
    path.write_text(source)
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        python_says = (exc.msg, exc.lineno, exc.offset)
    [finding] = check_path(str(path), rule_set()).findings
    assert finding.code == "LK001"
    assert finding.message == f"cannot analyse this file: syntax error: {python_says[0]}"
    assert (finding.line, finding.column) == python_says[1:]
    if sys.version_info >= (3, 10):  # 3.9's parser words some of these differently
        assert (python_says[0], finding.line, finding.column) == (message, line, column)
    assert "expected one of" not in finding.message  # libcst lists the tokens it wanted


def test_unreadable_file(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where permissions do not stop reads: fail the read itself.
    real_open = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("leaky.py"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    result = check_path("leaky.py", rule_set())
    [finding] = result.findings
    assert finding.code == "LK001" and "Permission denied" in finding.message


def test_cache_is_not_written_into_user_files(tree: Path) -> None:
    before = _snapshot(tree)
    run_cli("check", ".", "--format", "json")
    after = {k: v for k, v in _snapshot(tree).items() if not k.startswith(".leaklint_cache")}
    assert after == before


def test_deeply_nested_code_is_analysed(tmp_path: Path) -> None:
    elifs = "".join(f"    elif x == {i}:\n        return {i}\n" for i in range(1, 3000))
    path = tmp_path / "elifs.py"
    path.write_text(f"import asyncio\ndef f(x):\n    if x == 0:\n        return 0\n{elifs}"
                    "    asyncio.create_task(g())\n")
    result = check_path(str(path), rule_set())
    assert [f.code for f in result.findings] == ["LK105"]
    assert os.path.getsize(path) > 0
