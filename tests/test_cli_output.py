"""What ruff and flake8 users reach for: statistics, source lines with carets, colour, quiet
runs, exclusion on the command line, and the views that explain which files and settings a run
uses; the cache at the project root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import LEAKY_TASK, json_findings, run_cli

from leaklint import text_report

LEAKY_FILE = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def handler():\n"
    "    asyncio.create_task(work())\n"
    "    asyncio.create_task(\n"
    "        work(),\n"
    "    )\n"
    "    open('x').read()\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "leaky.py").write_text(LEAKY_FILE)
    (tmp_path / "pkg" / "task.py").write_text(LEAKY_TASK)
    (tmp_path / "pkg" / "gen").mkdir()
    (tmp_path / "pkg" / "gen" / "made.py").write_text(LEAKY_TASK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def test_statistics_count_per_code(project: Path) -> None:
    result = run_cli("check", "pkg", "--statistics", "--no-cache")
    assert result.exit_code == 1
    assert result.stdout == "4  LK105  dangling-task\n1  LK301  file-not-closed\n"
    assert "Found 5 leaks in 3 files (3 files checked)." in result.stderr


def test_statistics_as_json(project: Path) -> None:
    result = run_cli("check", "pkg", "--statistics", "--format", "json", "--no-cache")
    assert json.loads(result.stdout) == [
        {"code": "LK105", "name": "dangling-task", "count": 4},
        {"code": "LK301", "name": "file-not-closed", "count": 1},
    ]


def test_statistics_refuse_machine_formats(project: Path) -> None:
    result = run_cli("check", "pkg", "--statistics", "--format", "sarif", "--no-cache")
    assert result.exit_code == 2 and "--statistics" in result.stderr


def test_show_source_has_the_lines_and_a_caret(project: Path) -> None:
    result = run_cli("check", "pkg/leaky.py", "--show-source", "--no-cache")
    assert result.exit_code == 1
    blocks = result.stdout.split("\n\n")
    assert blocks[0].splitlines()[1:] == [
        "5 |     asyncio.create_task(work())",
        "  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ]
    assert blocks[1].splitlines()[1:] == [
        "6 |     asyncio.create_task(",
        "  |     ^^^^^^^^^^^^^^^^^^^^",
        "7 |         work(),",
        "  |         ^^^^^^^",
        "8 |     )",
        "  |     ^",
    ]
    assert blocks[2].startswith("pkg/leaky.py:9:5: LK301 ")
    assert blocks[2].splitlines()[1] == "9 |     open('x').read()"
    assert blocks[2].splitlines()[2] == "  |     ^^^^^^^^^"
    same = run_cli("check", "pkg/leaky.py", "--output-format", "full", "--no-cache")
    assert same.stdout == result.stdout


def test_show_source_of_a_syntax_error_points_where_python_does(project: Path) -> None:
    source = "value = compute(1,\n"
    (project / "pkg" / "broken.py").write_text(source)
    try:
        compile(source, "broken.py", "exec")
    except SyntaxError as exc:  # 3.10+: "'(' was never closed" at 1:16; 3.9: EOF at 1:19
        message, column = exc.msg, exc.offset or 1
    result = run_cli("check", "pkg/broken.py", "--show-source", "--no-cache")
    assert result.stdout.splitlines() == [
        f"pkg/broken.py:1:{column}: LK001 cannot analyse this file: syntax error: {message}",
        "1 | value = compute(1,",
        "  | " + " " * (column - 1) + "^",
    ]


def test_show_source_with_tabs_keeps_the_caret_under_the_code(project: Path) -> None:
    (project / "pkg" / "tabs.py").write_text(
        "import asyncio\n\n\nasync def handler():\n\tasyncio.create_task(work())\n"
    )
    lines = run_cli("check", "pkg/tabs.py", "--show-source", "--no-cache").stdout.splitlines()
    assert lines[1:] == ["5 |     asyncio.create_task(work())", "  |     " + "^" * 27]


def test_show_source_from_stdin(project: Path) -> None:
    result = run_cli("check", "-", "--stdin-filename", "pkg/editor.py", "--show-source",
                     input=LEAKY_TASK)
    assert "5 |     asyncio.create_task(work())" in result.stdout


def test_no_colour_when_not_a_terminal(project: Path) -> None:
    assert "\x1b[" not in run_cli("check", "pkg", "--no-cache", "--show-source").stdout


def test_colour_on_a_terminal_and_off_by_flag_or_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    assert text_report.colour_wanted(Terminal(), no_color_flag=False)  # type: ignore[arg-type]
    assert not text_report.colour_wanted(Terminal(), no_color_flag=True)  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not text_report.colour_wanted(Terminal(), no_color_flag=False)  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value counts
    assert text_report.colour_wanted(Terminal(), no_color_flag=False)  # type: ignore[arg-type]


def test_coloured_report_reads_the_same_without_its_escapes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import click

    from leaklint import cli

    plain = run_cli("check", "pkg", "--show-source", "--no-cache").stdout
    monkeypatch.setattr(cli, "colour_wanted", lambda stream, flag: not flag)
    coloured = run_cli("check", "pkg", "--show-source", "--no-cache").stdout
    assert "\x1b[31m\x1b[1mLK105\x1b[0m" in coloured
    assert click.unstyle(coloured) == plain
    assert "\x1b[" not in run_cli("check", "pkg", "--no-color", "--no-cache").stdout
    into_file = run_cli("check", "pkg", "--output-file", "out.txt", "--no-cache")
    assert into_file.exit_code == 1 and "\x1b[" not in (project / "out.txt").read_text()


def test_quiet_levels(project: Path) -> None:
    normal = run_cli("check", "pkg", "--no-cache")
    quiet = run_cli("check", "pkg", "--no-cache", "-q")
    silent = run_cli("check", "pkg", "--no-cache", "-qq")
    assert quiet.stdout == normal.stdout and "Found" in normal.stderr
    assert quiet.stderr == "" and quiet.exit_code == 1
    assert silent.stdout == silent.stderr == "" and silent.exit_code == 1


def test_exclude_and_extend_exclude_on_the_command_line(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.leaklint]\nexclude = ['task.py']\nextend-exclude = ['gen/']\n"
    )
    files = run_cli("check", "pkg", "--show-files").stdout.splitlines()
    assert files == ["pkg/leaky.py"]
    # --exclude replaces the file's `exclude`; its `extend-exclude` still applies.
    files = run_cli("check", "pkg", "--show-files", "--exclude", "leaky.py").stdout.splitlines()
    assert files == ["pkg/task.py"]
    files = run_cli("check", "pkg", "--show-files", "--extend-exclude", "leaky.py,other/"
                    ).stdout.splitlines()
    assert files == []
    result = run_cli("check", "pkg", "--no-cache", "--format", "json", "--exclude", "gen/")
    assert {f["path"] for f in json_findings(result)} == {"pkg/leaky.py", "pkg/task.py"}


def test_anchored_exclude_typed_in_a_subfolder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "pkg")
    files = run_cli("check", ".", "--show-files", "--exclude", "gen/*.py").stdout.splitlines()
    assert files == ["leaky.py", "task.py"]
    files = run_cli("check", ".", "--show-files", "--exclude", "pkg/gen/*.py").stdout
    assert "gen/made.py" in files  # relative to where it was typed: there is no pkg/pkg/


def test_show_files_lists_without_checking(project: Path) -> None:
    result = run_cli("check", "pkg", "--show-files")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == ["pkg/leaky.py", "pkg/task.py", "pkg/gen/made.py"]
    assert not (project / ".leaklint_cache").exists()


def test_show_settings_explains_the_configuration(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.leaklint]\nignore = ['LK305']\nexclude = ['gen/']\n"
        "per-file-ignores = { 'tests/*' = ['LK301'] }\n[tool.leaklint.LK401]\nmin-bytes = 1024\n"
    )
    result = run_cli("check", "pkg", "--show-settings", "--extend-select", "LK203")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert f"config-file = {project / 'pyproject.toml'}" in lines
    assert f"project-root = {project}" in lines
    assert f"cache-dir = {project / '.leaklint_cache'}" in lines
    assert 'ignore = ["LK305"]' in lines
    assert 'extend-select = ["LK203"]' in lines
    assert 'exclude = ["gen/"]' in lines
    assert 'per-file-ignores = {"tests/*" = ["LK301"]}' in lines
    rules = next(line for line in lines if line.startswith("rules = "))
    assert '"LK203"' in rules and '"LK305"' not in rules
    assert "LK401.min-bytes = 1024" in lines
    assert "confidence = high" in lines
    assert "LK401.min-elements = 100000  (default)" in lines


def test_cache_is_at_the_project_root_not_the_current_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "pkg")
    assert run_cli("check", "leaky.py").exit_code == 1
    assert (project / ".leaklint_cache").is_dir()
    assert not (project / "pkg" / ".leaklint_cache").exists()
    show = run_cli("check", "leaky.py", "--show-settings").stdout
    assert f"cache-dir = {project / '.leaklint_cache'}" in show


def test_cache_dir_setting_is_relative_to_the_project_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text("[tool.leaklint]\ncache-dir = '.cache/leaklint'\n")
    monkeypatch.chdir(project / "pkg")
    assert run_cli("check", "gen").exit_code == 1
    assert (project / ".cache" / "leaklint").is_dir()


def test_figures_are_written_one_way() -> None:
    from leaklint.figures import amount

    assert amount(4194360.0, "bytes") == "4,194,360 bytes"
    assert amount(1, "entries") == "1 entry" and amount(1.0, "files") == "1 file"
    assert amount(0, "files") == "0 files" and amount(2.5, "items") == "2.5 items"
    assert amount(float("nan"), "bytes") == "unknown bytes"
    assert amount(1234) == "1,234"
