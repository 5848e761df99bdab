"""The result cache: trusted only when the content, version, code and settings match, never
when an entry is corrupt, safe under concurrent runs, harmless when its folder is unusable."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import pytest

from leaklint import cache as cache_module
from leaklint import runner
from leaklint.cache import ResultCache, code_fingerprint
from leaklint.config import Settings
from leaklint.discovery import Target
from leaklint.model import FileResult, Finding
from leaklint.runner import check_targets

LEAKY = "import asyncio\n\n\nasync def handler():\n    asyncio.create_task(work())\n"
CLEAN = "def add(a, b):\n    return a + b\n"


def _fake(path: str, message: str = "from the cache") -> FileResult:
    finding = Finding(path, 1, 1, "LK105", 1, 2, "dangling-task", message)
    return FileResult(path, (finding,))


@pytest.fixture()
def project(tmp_path: Path) -> tuple[list[Target], Settings]:
    (tmp_path / "leaky.py").write_text(LEAKY)
    (tmp_path / "clean.py").write_text(CLEAN)
    targets = [Target(str(tmp_path / "leaky.py")), Target(str(tmp_path / "clean.py"))]
    settings = Settings(root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    return targets, settings


def _entries(settings: Settings) -> list[Path]:
    assert settings.cache_dir
    return sorted(Path(settings.cache_dir).glob("*/*/*.json"))


def _cache_for(settings: Settings) -> ResultCache:
    assert settings.cache_dir
    return ResultCache(settings.cache_dir, settings.fingerprint())


def _poison(settings: Settings, target: Target) -> None:
    """Store a result the engine would never produce, so serving it proves a cache hit."""
    cache = _cache_for(settings)
    cache.put(cache.key(target.path, Path(target.path).read_bytes()), _fake(target.path))


def _codes(results: list[FileResult]) -> list[list[str]]:
    return [[f.code for f in r.findings] for r in results]


def test_second_run_is_served_from_the_cache(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    first = check_targets(targets, settings)
    assert _codes(first) == [["LK105"], []]
    assert len(_entries(settings)) == 2
    _poison(settings, targets[1])
    second = check_targets(targets, settings)
    assert second[0] == first[0]
    assert second[1].findings[0].message == "from the cache"


def test_all_cached_starts_no_worker(
    project: tuple[list[Target], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    targets, settings = project
    many = targets * 8  # enough files for a pool
    check_targets(many, settings, jobs=2)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started although every result was cached")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    assert _codes(check_targets(many, settings, jobs=2)) == [["LK105"], []] * 8


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{not json",
        b'{"path": "x", "findings": [',
        b"[]",
        b'{"path": 1, "findings": []}',
        b'{"findings": []}',
        b'{"path": "PATH", "findings": [{"line": 1}]}',
        b'{"path": "PATH", "findings": [{"path": "PATH", "line": "1", "column": 1, '
        b'"end_line": 1, "end_column": 1, "code": "LK105", "name": "n", "message": "m"}]}',
        b'{"path": "PATH", "findings": 3}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_corrupt_entry_is_ignored_and_rewritten(
    project: tuple[list[Target], Settings], garbage: bytes
) -> None:
    targets, settings = project
    expected = check_targets(targets, settings)
    for entry in _entries(settings):
        entry.write_bytes(garbage.replace(b"PATH", json.dumps(targets[0].path)[1:-1].encode()))
    assert check_targets(targets, settings) == expected
    for entry in _entries(settings):
        assert json.loads(entry.read_text())["path"] in {t.path for t in targets}


def test_entry_for_another_path_is_not_trusted(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    cache = _cache_for(settings)
    data = Path(targets[1].path).read_bytes()
    cache.put(cache.key(targets[1].path, data), _fake("somewhere/else.py"))
    assert cache.get(cache.key(targets[1].path, data), targets[1].path) is None


def test_content_change_invalidates(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    _poison(settings, targets[1])
    Path(targets[1].path).write_text(CLEAN + "\n# edited\n")
    assert _codes(check_targets(targets, settings)) == [["LK105"], []]


def test_settings_change_invalidates(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    _poison(settings, targets[1])
    assert _codes(check_targets(targets, settings))[1] == ["LK105"]
    changed = [
        replace(settings, ignore=("LK105",)),
        replace(settings, select=("LK1",)),
        replace(settings, rule_options={"LK105": {"anything": 1}}),
    ]
    for other in changed:
        assert other.fingerprint() != settings.fingerprint()
        results = check_targets(targets, other)
        assert all(f.message != "from the cache" for r in results for f in r.findings)


def test_version_change_invalidates(
    project: tuple[list[Target], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    targets, settings = project
    _poison(settings, targets[1])
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    assert _codes(check_targets(targets, settings)) == [["LK105"], []]


def test_code_change_invalidates(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    module = package / "rule.py"
    module.write_text("A = 1\n")
    before = code_fingerprint(str(package))
    assert code_fingerprint(str(package)) == before
    module.write_text("A = 22\n")
    after = code_fingerprint(str(package))
    assert after != before
    assert ResultCache("c", "s", before).key("p", b"x") != ResultCache("c", "s", after).key(
        "p", b"x"
    )


@pytest.mark.parametrize("kind", ["file", "below-a-file"])
def test_unusable_cache_folder_does_not_fail_the_run(
    project: tuple[list[Target], Settings], tmp_path: Path, kind: str
) -> None:
    targets, settings = project
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    folder = blocker if kind == "file" else blocker / "cache"
    unusable = replace(settings, cache_dir=str(folder))
    for _ in range(2):
        assert _codes(check_targets(targets, unusable)) == [["LK105"], []]
    assert blocker.read_text() == "not a folder"


def test_unreadable_entry_does_not_fail_the_run(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    check_targets(targets, settings)
    for entry in _entries(settings):
        entry.unlink()
        entry.mkdir()  # reading it raises IsADirectoryError; replacing it fails too
    assert _codes(check_targets(targets, settings)) == [["LK105"], []]


def _hammer(folder: str, path: str, rounds: int, seen: multiprocessing.Queue[str]) -> None:
    cache = ResultCache(folder, "settings", "code")
    key = cache.key(path, b"data")
    for number in range(rounds):
        cache.put(key, _fake(path, f"writer {os.getpid()} round {number}" + "x" * 2000))
        found = cache.get(key, path)
        if found is None or not found.findings[0].message.startswith("writer"):
            seen.put("torn")
            return
    seen.put("ok")


def test_concurrent_writers_never_expose_a_torn_entry(tmp_path: Path) -> None:
    folder = str(tmp_path / "cache")
    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    seen: multiprocessing.Queue[str] = context.Queue()
    writers = [
        context.Process(target=_hammer, args=(folder, "same.py", 150, seen)) for _ in range(4)
    ]
    for writer in writers:
        writer.start()
    outcomes = [seen.get(timeout=120) for _ in writers]
    for writer in writers:
        writer.join(timeout=60)
    assert outcomes == ["ok"] * len(writers)
    assert not list(Path(folder).glob("*/*/*.tmp")), "temporary files left behind"


def test_concurrent_runs_agree(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    many = targets * 6
    expected = check_targets(many, replace(settings, cache_dir=None), use_cache=False)
    context = multiprocessing.get_context("fork")
    with context.Pool(3) as pool:
        outcomes = pool.starmap(check_targets, [(many, settings)] * 3)
    assert all(outcome == expected for outcome in outcomes)
    assert check_targets(many, settings) == expected


def test_only_recent_namespaces_are_kept(project: tuple[list[Target], Settings]) -> None:
    targets, settings = project
    assert settings.cache_dir
    root = Path(settings.cache_dir)
    for number in range(cache_module.KEEP_NAMESPACES + 3):
        check_targets(targets, replace(settings, rule_options={"LK105": {"n": number}}))
    namespaces = [p for p in root.iterdir() if p.is_dir()]
    assert len(namespaces) == cache_module.KEEP_NAMESPACES
    assert (root / ".gitignore").exists()
    # The namespace in use survives, and its entries are served.
    _poison(settings, targets[1])
    for number in range(cache_module.KEEP_NAMESPACES + 3):
        check_targets(targets, replace(settings, rule_options={"LK105": {"m": number}}))
        assert check_targets(targets, settings)[1].findings[0].message == "from the cache"


def test_a_dying_worker_becomes_internal_errors_not_a_crash(
    project: tuple[list[Target], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched checker reaches the workers only when they are forked")
    targets, settings = project
    real = runner.check_bytes

    def die_on_clean(data: bytes, path: str, ruleset: object) -> FileResult:
        if path.endswith("clean.py"):
            os._exit(3)  # what a native crash or the OOM killer looks like to the pool
        return real(data, path, ruleset)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "check_bytes", die_on_clean)
    results = check_targets(targets * 8, settings, jobs=2, use_cache=False)
    assert len(results) == 16
    assert all(r.errors[0].rule == "worker" for r in results if r.path.endswith("clean.py"))
    assert all(r.findings or r.errors for r in results if r.path.endswith("leaky.py"))
