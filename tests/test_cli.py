"""The `leaklint` command line: formats, exit statuses, selection, stdin, jobs, rule docs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import LEAKY_TASK, json_findings, run_cli

from leaklint import __version__, registry


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "leaky.py").write_text(LEAKY_TASK)
    (tmp_path / "pkg" / "clean.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_format_and_exit_status(project: Path) -> None:
    result = run_cli("check", "pkg", "--no-cache")
    assert result.exit_code == 1
    assert result.stdout.startswith("pkg/leaky.py:5:5: LK105 task from `asyncio.create_task(...)`")
    assert "Found 1 leak in 1 file (2 files checked)." in result.stderr


def test_clean_run_exits_zero(project: Path) -> None:
    result = run_cli("check", "pkg/clean.py", "--no-cache")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No leaks found (1 file checked)." in result.stderr


def test_exit_zero(project: Path) -> None:
    assert run_cli("check", "pkg", "--no-cache", "--exit-zero").exit_code == 0


def test_json_contract(project: Path) -> None:
    [finding] = json_findings(run_cli("check", "pkg", "--format", "json", "--no-cache"))
    assert finding == {
        "path": "pkg/leaky.py",
        "line": 5,
        "column": 5,
        "end_line": 5,
        "end_column": 32,
        "code": "LK105",
        "name": "dangling-task",
        "message": finding["message"],
        "confidence": "high",
        "fix": finding["fix"],
    }
    assert set(finding["fix"]) == {"description", "applicability", "edits"}
    assert finding["fix"]["applicability"] == "safe"


def test_sarif_has_rules_help_and_results(project: Path) -> None:
    log = json.loads(run_cli("check", "pkg", "--format", "sarif", "--no-cache").stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.CODE for rule in registry.ALL_RULES]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    [result] = run["results"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == "LK105"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pkg/leaky.py"
    assert location["region"]["startLine"] == 5


def test_github_annotations(project: Path) -> None:
    out = run_cli("check", "pkg", "--format", "github", "--no-cache").stdout
    assert out.startswith("::warning file=pkg/leaky.py,line=5,col=5,endLine=5,endColumn=32,")
    assert "title=LK105 dangling-task::task from" in out


def test_output_file(project: Path) -> None:
    result = run_cli("check", "pkg", "--format", "json", "--output-file", "out.json", "--no-cache")
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads((project / "out.json").read_text())[0]["code"] == "LK105"


def test_selection_options(project: Path) -> None:
    assert run_cli("check", "pkg", "--no-cache", "--ignore", "LK105").exit_code == 0
    assert run_cli("check", "pkg", "--no-cache", "--select", "LK001").exit_code == 0
    assert run_cli("check", "pkg", "--no-cache", "--select", "LK1").exit_code == 1


def test_unknown_code_is_a_usage_error(project: Path) -> None:
    result = run_cli("check", "pkg", "--select", "LK999")
    assert result.exit_code == 2
    assert "'LK999' matches no leaklint rule" in result.stderr


def test_unknown_format_is_a_usage_error(project: Path) -> None:
    assert run_cli("check", "pkg", "--format", "xml").exit_code == 2


def test_stdin_with_filename(project: Path) -> None:
    result = run_cli(
        "check", "-", "--stdin-filename", "pkg/editor.py", "--format", "json", input=LEAKY_TASK
    )
    assert result.exit_code == 1
    assert json_findings(result)[0]["path"] == "pkg/editor.py"


def test_jobs_do_not_change_output(project: Path) -> None:
    for i in range(12):
        (project / "pkg" / f"m{i}.py").write_text(LEAKY_TASK * (i % 3 + 1))
    serial = run_cli("check", "pkg", "--no-cache", "--jobs", "1").stdout
    parallel = run_cli("check", "pkg", "--no-cache", "--jobs", "2").stdout
    assert serial == parallel and serial.count("LK105") == 12 + 12 // 3 * 3 + 1


def test_cache_gives_the_same_answer(project: Path) -> None:
    first = run_cli("check", "pkg").stdout
    assert (project / ".leaklint_cache").is_dir()
    assert run_cli("check", "pkg").stdout == first


def test_rule_docs_and_table() -> None:
    docs = run_cli("rule", "LK105").stdout
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in docs
    assert run_cli("rule", "dangling-task").stdout == docs
    assert run_cli("rule", "LK999").exit_code == 2
    table = run_cli("rules").stdout
    assert all(rule.CODE in table for rule in registry.ALL_RULES)


def test_every_rule_is_documented() -> None:
    for rule in registry.ALL_RULES:
        docs = rule.documentation()
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert heading in docs, f"{rule.CODE} lacks {heading}"
        assert rule.CODE.startswith("LK")
        assert rule.NAME.lower() == rule.NAME


def test_version() -> None:
    assert run_cli("--version").stdout.strip() == f"leaklint, version {__version__}"


def test_module_entry_point(project: Path) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "pkg", "--no-cache"],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert completed.returncode == 1 and "LK105" in completed.stdout


MEDIUM_ONLY = """\
import socket


def test_connects():
    sock = socket.socket()
    sock.connect(("127.0.0.1", 9))
    sock.close()
"""


@pytest.fixture()
def test_code_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A leak only on the exception path, in test code: a `medium` finding."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_net.py").write_text(MEDIUM_ONLY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_confidence_medium_reports_doubtful_shapes(test_code_project: Path) -> None:
    assert run_cli("check", "tests", "--no-cache").exit_code == 0
    medium = run_cli("check", "tests", "--no-cache", "--confidence", "medium", "--format", "json")
    [finding] = json_findings(medium)
    assert (finding["code"], finding["confidence"]) == ("LK302", "medium")
    as_sarif = ("--confidence", "MEDIUM", "--format", "sarif")
    sarif = json.loads(run_cli("check", "tests", "--no-cache", *as_sarif).stdout)
    assert sarif["runs"][0]["results"][0]["properties"] == {"confidence": "medium"}


def test_confidence_from_pyproject(test_code_project: Path) -> None:
    (test_code_project / "pyproject.toml").write_text('[tool.leaklint]\nconfidence = "medium"\n')
    assert run_cli("check", "tests", "--no-cache").exit_code == 1
    assert run_cli("check", "tests", "--no-cache", "--confidence", "high").exit_code == 0


def test_unknown_confidence_is_a_usage_error(test_code_project: Path) -> None:
    result = run_cli("check", "tests", "--confidence", "low")
    assert result.exit_code == 2
    assert "'low' is not one of 'high', 'medium'" in result.stderr
    (test_code_project / "pyproject.toml").write_text('[tool.leaklint]\nconfidence = "sure"\n')
    result = run_cli("check", "tests")
    assert result.exit_code == 2
    assert "confidence: 'sure' is not a confidence" in result.stderr
