"""Nothing a user can feed leaklint makes it crash, and valid Python is analysed, not skipped.

- generated programs (hypothesmith) go through the whole engine with every rule;
- every file of tests/data/robustness_sample (syntax errors, bad encodings, NUL bytes, binary
  files, BOMs, CR/CRLF newlines, newer syntax) and the generated stress files of
  scripts/corpus_check.py (thousands of ``elif``s and concatenated strings, deep nesting, a
  1 MB file) are checked without a traceback;
- recursion-heavy valid inputs are analysed on the engine's deep stack: a result, or LK001 for
  what libcst itself cannot parse, never a RecursionError.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from helpers import json_findings, run_cli

from leaklint import registry
from leaklint.engine import PARSE_ERROR_CODE, check_bytes, check_text
from leaklint.model import FileResult
from leaklint.source import SourceText

REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLE = REPOSITORY / "tests" / "data" / "robustness_sample"
TOPICS = Path("/tmp/leaklint-corpus/stdlib-3.12.1/pydoc_data/topics.py")
EVERY_RULE = registry.rule_set(extend_select=registry.off_by_default())


def _corpus_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "corpus_check", REPOSITORY / "scripts" / "corpus_check.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


corpus_check = _corpus_check()


def _compiles(data: bytes) -> bool:
    return bool(corpus_check._compiles(data))


def _assert_sound(result: FileResult, data: bytes, name: str) -> None:
    assert not result.errors, f"{name}: {[e.describe() for e in result.errors]}"
    codes = [f.code for f in result.findings]
    if _compiles(data):
        assert PARSE_ERROR_CODE not in codes, f"{name}: valid here but not analysed: {result}"


# --- generated programs ----------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")
from hypothesis import HealthCheck, given, settings  # noqa: E402

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@FUZZ
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar_never_crash_the_engine(source: str) -> None:
    result = check_text(SourceText(source, "utf-8"), "generated.py", EVERY_RULE)
    assert not result.errors, [e.describe() for e in result.errors]


@FUZZ
@given(hypothesmith.from_node())
def test_programs_from_libcst_nodes_never_crash_the_engine(source: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check_text(SourceText(source, "utf-8"), "generated.py", EVERY_RULE)
    assert not result.errors, [e.describe() for e in result.errors]
    assert PARSE_ERROR_CODE not in [f.code for f in result.findings], source


# --- the bundled sample ----------------------------------------------------------------------

SAMPLE_FILES = sorted(path.name for path in SAMPLE.glob("*.py"))


def test_sample_is_there() -> None:
    assert len(SAMPLE_FILES) >= 30


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_file_is_checked_soundly(name: str) -> None:
    data = (SAMPLE / name).read_bytes()
    result = check_bytes(data, name, EVERY_RULE)
    _assert_sound(result, data, name)
    if name.startswith(("syntax_error_", "bad_cookie_", "binary_", "nul_", "invalid_utf8")):
        assert [f.code for f in result.findings] == [PARSE_ERROR_CODE], name


def test_sample_folder_through_the_cli_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    for name, data in corpus_check.stress_sources().items():
        (folder / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", "sample", "--format", "json", "--no-cache", "--jobs", "2")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    reported = {Path(f["path"]).name for f in json_findings(result) if f["code"] == "LK001"}
    assert "syntax_error_def.py" in reported
    assert "stress_many_elifs.py" not in reported


def test_corpus_check_script_passes_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status = corpus_check.main([str(SAMPLE)])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "crashes: 0" in output and "internal errors: 0" in output


# --- deep nesting ----------------------------------------------------------------------------

STRESS = corpus_check.stress_sources()


@pytest.mark.parametrize("name", sorted(STRESS))
def test_stress_input_gives_a_result_never_a_recursion_error(name: str) -> None:
    data = STRESS[name]
    result = check_bytes(data, name, EVERY_RULE)
    _assert_sound(result, data, name)
    assert all("RecursionError" not in f.message for f in result.findings)


def test_concatenated_strings_are_analysed_down_to_positions() -> None:
    """topics.py-like: libcst nests one level per literal, past Python's recursion limit."""
    data = STRESS["stress_concatenated_strings.py"]
    result = check_bytes(data, "topics_like.py", EVERY_RULE)
    assert not result.errors
    dangling = [f for f in result.findings if f.code == "LK105"]
    assert [f.line for f in dangling] == [data.count(b"\n")], result.findings


def test_low_recursion_limit_still_analyses() -> None:
    """Even when the caller's recursion limit is tiny, the deep-stack retry analyses the file."""
    spawn = b"\n\nasync def spawn(job):\n    asyncio.create_task(job())\n"
    data = b"import asyncio\n" + STRESS["stress_many_elifs.py"] + spawn
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        result = check_bytes(data, "elifs.py", EVERY_RULE)
    finally:
        sys.setrecursionlimit(old)
    assert sys.getrecursionlimit() == old
    assert not result.errors
    assert [f.code for f in result.findings] == ["LK105"]


def test_beyond_libcst_is_a_parse_error_not_a_crash() -> None:
    strings = "".join(f'    "line {i}"\n' for i in range(6000))
    data = f"text = (\n{strings})\n".encode()
    result = check_bytes(data, "too_many.py", EVERY_RULE)
    assert not result.errors
    assert [f.code for f in result.findings] in ([], [PARSE_ERROR_CODE])


@pytest.mark.skipif(not TOPICS.exists(), reason="the corpus is not built on this machine")
def test_cpython_topics_is_analysed() -> None:
    data = TOPICS.read_bytes()
    result = check_bytes(data, str(TOPICS), EVERY_RULE)
    assert not result.errors
    assert PARSE_ERROR_CODE not in [f.code for f in result.findings]
