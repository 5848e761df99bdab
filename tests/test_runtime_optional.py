"""`leaklint confirm` after the plain install: fixtures that import an optional library that is
not installed are skipped ("needs requests"), not failed as import errors."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from markers import ROOT

from leaklint.cli import main
from leaklint.runtime.optional import EXTRA, LIBRARIES, missing_library

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture
def without_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PYTHONPATH entry that makes `import requests` fail in the fixtures' interpreters as it
    does where the library is not installed."""
    shim = tmp_path / "shim" / "requests"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'requests'\", name='requests')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(shim.parent))
    folder = tmp_path / "fixtures" / "LK305-call-without-timeout"
    folder.mkdir(parents=True)
    (folder / "leak_needs_requests.py").write_text(textwrap.dedent("""
        import requests

        def main():
            requests.get("http://127.0.0.1:9")  # expect: LK305
    """))
    (folder / "leak_imports_inside_main.py").write_text(textwrap.dedent("""
        def main():
            import requests.adapters
    """))
    (folder / "ok_plain.py").write_text("def main():\n    return 1\n")
    (folder / "broken_import.py").write_text("import no_such_module_here\n\ndef main():\n"
                                             "    pass\n")
    return folder


def test_missing_optional_library_skips_the_fixture(without_requests: Path) -> None:
    result = CliRunner().invoke(main, ["confirm", str(without_requests), "--format", "json"])
    data = json.loads(result.output)
    skipped = {Path(entry["path"]).name: entry["reason"] for entry in data["skipped"]}
    assert skipped == {"leak_needs_requests.py": "needs requests",
                       "leak_imports_inside_main.py": "needs requests"}
    assert not any(f["path"].endswith("leak_needs_requests.py") for f in data["findings"])
    # A module that is not an optional library is still an import error, and fails the run.
    [error] = data["errors"]
    assert error["path"].endswith("broken_import.py") and error["status"] == "import-error"
    assert result.exit_code == 1
    assert [Path(p).name for p in data["clean"]] == ["ok_plain.py"]


def test_skipped_fixtures_do_not_fail_the_run_and_name_the_extra(without_requests: Path) -> None:
    (without_requests / "broken_import.py").unlink()
    result = CliRunner().invoke(main, ["confirm", str(without_requests)])
    assert result.exit_code == 0, result.output
    assert f"SKIPPED       {without_requests / 'leak_needs_requests.py'}: needs requests" in (
        result.output
    )
    assert "2 skipped" in result.output
    assert f"pip install 'leaklint[{EXTRA}]'" in result.output


def test_the_extra_installs_exactly_the_optional_libraries() -> None:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        extras = tomllib.load(handle)["project"]["optional-dependencies"]
    names = {requirement.split(">")[0].split("=")[0].strip() for requirement in extras[EXTRA]}
    assert names == set(LIBRARIES.values())
    assert f"leaklint[{EXTRA}]" in extras["test"]


def test_missing_library_reads_the_module_name() -> None:
    assert missing_library(ModuleNotFoundError("x", name="httpx._client")) == "httpx"
    assert missing_library(ModuleNotFoundError("x", name="async_lru")) == "async-lru"
    assert missing_library(ModuleNotFoundError("x", name="numpy")) is None
    assert missing_library(ImportError("x", name="requests")) is None
