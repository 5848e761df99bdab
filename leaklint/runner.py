"""Check many files: serially or in a process pool, with the result cache, in a stable order.

The cache is read in the calling process first, so a run whose files are all cached starts no
worker at all. The files left are handed to the pool largest first, in chunks of similar size,
so one big file at the end cannot leave a worker idle; results come back in the given order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional

from leaklint.cache import CACHE_FOLDER, ResultCache, code_fingerprint
from leaklint.config import Settings
from leaklint.deferred_import import load
from leaklint.discovery import Target
from leaklint.engine import RuleSet, check_bytes, internal_error, unreadable
from leaklint.model import FileResult

if TYPE_CHECKING:
    from concurrent.futures import Future

# Below this many files a process pool costs more (interpreter and libcst start-up) than it saves.
_MIN_FILES_PER_WORKER = 4
# Chunks per worker: enough to balance the load, few enough to keep messages cheap.
_CHUNKS_PER_WORKER = 16
_MAX_FILES_PER_CHUNK = 32


@dataclass(frozen=True)
class _Job:
    ruleset: RuleSet
    cache_folder: Optional[str]
    fingerprint: str
    code: str

    def cache(self) -> Optional[ResultCache]:
        if not self.cache_folder:
            return None
        return ResultCache(self.cache_folder, self.fingerprint, self.code)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _cannot_read(job: _Job, target: Target, exc: OSError) -> FileResult:
    return unreadable(job.ruleset, target.path, f"cannot read file: {exc.strerror or exc}")


def _cached(cache: ResultCache, target: Target) -> Optional[FileResult]:
    try:
        data = _read(target.path)
    except OSError:
        return None  # checked (and reported) by the worker
    return cache.get(cache.key(target.path, data), target.path)


def _check_target(job: _Job, target: Target) -> FileResult:
    try:
        data = _read(target.path)
    except OSError as exc:
        return _cannot_read(job, target, exc)
    result = check_bytes(data, target.path, job.ruleset)
    cache = job.cache()
    if cache is not None:
        cache.put(cache.key(target.path, data), result)
    return result


def _check_chunk(job: _Job, targets: Sequence[Target]) -> list[FileResult]:
    return [_check_target(job, target) for target in targets]


def result_cache_folder(settings: Settings) -> str:
    """``cache-dir`` from the configuration, else ``.leaklint_cache`` at the project root."""
    return settings.cache_dir or os.path.join(settings.root, CACHE_FOLDER)


def check_targets(
    targets: Sequence[Target],
    settings: Settings,
    jobs: int = 1,
    use_cache: bool = True,
    fixes: bool = False,
) -> list[FileResult]:
    """Check the targets; with ``fixes``, findings carry their fixes (cached apart)."""
    cache_folder = result_cache_folder(settings) if use_cache else None
    code = code_fingerprint() if cache_folder else ""
    ruleset = replace(settings.ruleset(), fixes=fixes)
    fingerprint = settings.fingerprint() + (" with fixes" if fixes else "")
    job = _Job(ruleset, cache_folder, fingerprint, code)
    cache = job.cache()
    results: list[Optional[FileResult]] = [None] * len(targets)
    pending: list[int] = []
    for index, target in enumerate(targets):
        if target.problem:
            results[index] = unreadable(ruleset, target.path, target.problem)
        elif cache is not None and (hit := _cached(cache, target)) is not None:
            results[index] = hit
        else:
            pending.append(index)
    checked = _check_all([targets[index] for index in pending], job, jobs)
    for index, result in zip(pending, checked):
        results[index] = result
    if cache is not None:
        cache.prune()
    return [settings.without_ignored(result) for result in results if result]


def _check_all(targets: Sequence[Target], job: _Job, jobs: int) -> list[FileResult]:
    workers = max(1, min(jobs, len(targets) // _MIN_FILES_PER_WORKER))
    if workers == 1:
        return _check_chunk(job, targets)
    # Imported here: a run of one worker (one file, a warm cache) does not pay for the pool.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if multiprocessing.get_start_method() == "fork":
        # Forked workers share what the parent imported: import libcst once here, not in
        # each worker (a run this size has files that need it).
        load("libcst")

    results: list[Optional[FileResult]] = [None] * len(targets)
    chunks = _chunks(targets, workers)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[list[FileResult]]] = [
            pool.submit(_check_chunk, job, [targets[index] for index in chunk])
            for chunk in chunks
        ]
        for chunk, future in zip(chunks, futures):
            try:
                chunk_results = future.result()
            except Exception as exc:  # a worker died (out of memory, a native crash)
                chunk_results = [
                    FileResult(targets[i].path, errors=(internal_error(targets[i].path,
                                                                       "worker", exc),))
                    for i in chunk
                ]
            for index, result in zip(chunk, chunk_results):
                results[index] = result
    return [result for result in results if result]


def _size(target: Target) -> int:
    try:
        return os.stat(target.path).st_size
    except OSError:
        return 0


def _chunks(targets: Sequence[Target], workers: int) -> list[list[int]]:
    """Indices of ``targets`` in chunks, largest files first: the big files start early and
    the many small ones fill the gaps at the end (longest-processing-time-first)."""
    sizes = [_size(target) for target in targets]
    order = sorted(range(len(targets)), key=lambda index: -sizes[index])
    budget = max(1, sum(sizes) // (workers * _CHUNKS_PER_WORKER))
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index in order:
        current.append(index)
        current_bytes += sizes[index]
        if current_bytes >= budget or len(current) >= _MAX_FILES_PER_CHUNK:
            chunks.append(current)
            current, current_bytes = [], 0
    if current:
        chunks.append(current)
    return chunks
