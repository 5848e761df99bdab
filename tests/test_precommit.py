"""The pre-commit hook works from this repository, as a user's .pre-commit-config.yaml uses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import LEAKY_TASK
from markers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def test_pre_commit_try_repo_reports_a_leak(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    user_repo = tmp_path / "user"
    user_repo.mkdir()
    _git(user_repo, "init", "-q")
    (user_repo / "service.py").write_text(LEAKY_TASK)
    (user_repo / "clean.py").write_text("x = 1\n")
    _git(user_repo, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "leaklint", "--all-files",
         "--color", "never"],
        cwd=user_repo, env=env, capture_output=True, text=True, timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "service.py:5:5: LK105" in output
    assert "clean.py:" not in output
    assert (user_repo / "service.py").read_text() == LEAKY_TASK
