"""Run one command in a subprocess and measure it: wall time, CPU time and peak memory.

CPU time and the peak RSS of the largest single process come from ``wait4`` (the kernel adds
every descendant the command waited for, so process-pool workers are included). The peak RSS
of the whole process tree is sampled with psutil, since no kernel counter sums a tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import psutil

_SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measurement:
    wall: float  # seconds
    cpu: float  # user + system seconds of the command and its descendants
    peak_tree_rss: int  # bytes, the largest sampled sum over the process tree
    peak_process_rss: int  # bytes, the largest single process (a worker, usually)
    returncode: int
    stderr_tail: str


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stopped.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass  # ended between listing and reading
            self.peak = max(self.peak, total)
            self.stopped.wait(_SAMPLE_SECONDS)


def run(
    command: Sequence[str],
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
) -> Measurement:
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        # wait4 rather than Popen.wait: it also returns the rusage of the whole tree.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        sampler.stopped.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return Measurement(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_tree_rss=max(sampler.peak, usage.ru_maxrss * scale),
        peak_process_rss=usage.ru_maxrss * scale,
        returncode=process.returncode,
        stderr_tail=tail,
    )
