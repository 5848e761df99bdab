"""The pre-commit hook works from this repository, as a user's .pre-commit-config.yaml uses it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import LEAKY_TASK
from markers import ROOT

from leaklint import __version__

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


def _readme_hook_config() -> dict[str, Any]:
    """The `.pre-commit-config.yaml` the README shows, parsed."""
    yaml = pytest.importorskip("yaml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    [block] = [b for b in blocks if "id: leaklint" in b]
    return yaml.safe_load(block)  # type: ignore[no-any-return]


def test_readme_snippet_pins_this_version() -> None:
    [repo] = _readme_hook_config()["repos"]
    assert repo["rev"] == f"v{__version__}"
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert all(f"id: {hook['id']}" in hooks for hook in repo["hooks"])


def test_readme_snippet_works_as_written(tmp_path: Path) -> None:
    """The README's config, with only `repo:` pointed at a clone of this repository; the
    release tag it names is made in the clone when this checkout does not have it yet."""
    pytest.importorskip("pre_commit")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    config = _readme_hook_config()
    [repo] = config["repos"]
    clone = tmp_path / "leaklint-clone"
    _git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    has_tag = subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/tags/{repo['rev']}"],
                             cwd=clone, capture_output=True).returncode == 0
    if not has_tag:
        subprocess.run(["git", "tag", "-a", repo["rev"], "-m", "release"], cwd=clone, env=env,
                       check=True, capture_output=True)
    repo["repo"] = str(clone)
    user_repo = tmp_path / "user"
    user_repo.mkdir()
    _git(user_repo, "init", "-q")
    (user_repo / ".pre-commit-config.yaml").write_text(json.dumps(config))  # JSON is YAML
    (user_repo / "service.py").write_text(LEAKY_TASK)
    (user_repo / "README.md").write_text("not python\n")
    _git(user_repo, "add", ".")
    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=user_repo, env=env, capture_output=True, text=True, timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "service.py:5:5: LK105" in output
    assert "README.md" not in output
