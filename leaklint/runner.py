"""Check many files: serially or in a process pool, with the result cache, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Optional

from leaklint.cache import ResultCache
from leaklint.config import Settings
from leaklint.discovery import Target
from leaklint.engine import RuleSet, check_bytes, parse_error
from leaklint.model import FileResult

# Below this many files a process pool costs more (interpreter and libcst start-up) than it saves.
_MIN_FILES_PER_WORKER = 4


@dataclass(frozen=True)
class _Job:
    ruleset: RuleSet
    cache_folder: Optional[str]
    fingerprint: str


def _check_target(job: _Job, target: Target) -> FileResult:
    if target.problem:
        return FileResult(target.path, (parse_error(target.path, target.problem),))
    try:
        with open(target.path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = f"cannot read file: {exc.strerror or exc}"
        return FileResult(target.path, (parse_error(target.path, reason),))
    cache = ResultCache(job.cache_folder, job.fingerprint) if job.cache_folder else None
    key = cache.key(target.path, data) if cache else ""
    if cache:
        cached = cache.get(key)
        if cached is not None:
            return cached
    result = check_bytes(data, target.path, job.ruleset)
    if cache:
        cache.put(key, result)
    return result


def _check_chunk(job: _Job, targets: Sequence[Target]) -> list[FileResult]:
    return [_check_target(job, target) for target in targets]


def check_targets(
    targets: Sequence[Target],
    settings: Settings,
    jobs: int = 1,
    use_cache: bool = True,
) -> list[FileResult]:
    cache_folder = None
    if use_cache:
        cache_folder = settings.cache_dir or os.path.join(settings.root, ".leaklint_cache")
    job = _Job(settings.ruleset(), cache_folder, settings.fingerprint())
    workers = max(1, min(jobs, len(targets) // _MIN_FILES_PER_WORKER))
    if workers == 1:
        results = _check_chunk(job, targets)
    else:
        # Small chunks keep both workers busy to the end; order is restored by position.
        size = max(1, min(32, len(targets) // (workers * 8)))
        chunks = [targets[i : i + size] for i in range(0, len(targets), size)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = [
                result
                for chunk_results in pool.map(_check_chunk, [job] * len(chunks), chunks)
                for result in chunk_results
            ]
    return [_apply_settings(result, settings) for result in results]


def _apply_settings(result: FileResult, settings: Settings) -> FileResult:
    """Drop what the selection and per-file-ignores exclude (kept out of the cache key's way)."""
    selected = {rule.CODE for rule in settings.rules()}
    ignored = settings.ignored_for(result.path)
    findings = tuple(
        finding
        for finding in result.findings
        if finding.code in selected and not any(finding.code.startswith(i) for i in ignored)
    )
    return FileResult(result.path, findings, result.errors)
