"""What LeakMonitor costs a thread/task/socket-heavy process, against baselines in the same run.

1. The per-sample cost, with a live population of threads, pending tasks and sockets: the plain
   sample, the object census (every ``objects_every`` samples), the heap snapshot (with
   ``heap=True``, every ``heap_every`` samples) and the oversized-container scan.
2. The overhead of creation-site tracking (``track=True``) on a workload that does little but
   make threads, tasks, sockets and files: CPU time of the same work with and without the hooks.
3. The share of one core the monitor takes at the default interval, tracking on: the sampling
   cost spread over the interval plus the hooks' cost per object times the rate at which the
   process creates threads, tasks, sockets and files.

    python benchmarks/monitor_cost.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import threading
import time
import tracemalloc
from typing import Callable

from leaklint.runtime import LeakMonitor
from leaklint.runtime.hooks import TRACKER

DEFAULT_INTERVAL = LeakMonitor().interval


def cpu_per_call(work: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - start) / repeat


PAYLOAD = {"items": [{"id": n, "name": f"item {n}", "tags": ["a", "b"]} for n in range(60)]}
WORK = {"work": True}


def one_request(path: str) -> None:
    """What a busy service does per request: a connection, a file, a background task, now and
    then a thread, and (unless --no-work) a JSON document decoded and encoded, ~0.1 ms."""
    if WORK["work"]:
        json.loads(json.dumps(PAYLOAD))
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x" * 512)
        right.recv(1024)
    with open(path, "rb") as handle:
        handle.read(64)


async def serve_requests(count: int, path: str) -> None:
    async def handler() -> None:
        one_request(path)
        await asyncio.sleep(0)

    for start in range(0, count, 50):
        tasks = [asyncio.ensure_future(handler()) for _ in range(min(50, count - start))]
        await asyncio.gather(*tasks)
        thread = threading.Thread(target=one_request, args=(path,))
        thread.start()
        thread.join()


def blocking_reads(count: int) -> float:
    """CPU seconds per send+recv pair on a blocking socket (the hooks look at each recv that
    has no timeout, to report reads that can wait forever)."""
    left, right = socket.socketpair()
    with left, right:
        start = time.process_time()
        for _ in range(count):
            left.sendall(b"x")
            right.recv(16)
        return (time.process_time() - start) / count


def workload(requests: int, path: str) -> float:
    """CPU seconds for ``requests`` requests (best of 3)."""
    times = []
    for _ in range(3):
        start = time.process_time()
        asyncio.run(serve_requests(requests, path))
        times.append(time.process_time() - start)
    return min(times)


class Population:
    """Live objects a monitor walks at every sample: threads, pending tasks, sockets."""

    def __init__(self, threads: int, tasks: int, sockets: int) -> None:
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.stop.wait, daemon=True)
                        for _ in range(threads)]
        for thread in self.threads:
            thread.start()
        self.sockets = [socket.socket() for _ in range(sockets)]
        self.loop = asyncio.new_event_loop()
        self.loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.loop_thread.start()

        async def spawn() -> None:
            for _ in range(tasks):
                asyncio.get_running_loop().create_task(asyncio.sleep(3600))

        asyncio.run_coroutine_threadsafe(spawn(), self.loop).result(10)

    def close(self) -> None:
        async def cancel() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.loop_thread.join(10)
        self.loop.close()
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        for sock in self.sockets:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    options = parser.parse_args()
    ballast = [{"n": n} for n in range(200_000)]  # a process of realistic size
    handle, path = tempfile.mkstemp()
    os.write(handle, b"y" * 4096)
    os.close(handle)
    try:
        figures = {}
        for work in (False, True):
            WORK["work"] = work
            untracked = workload(options.requests, path)
            TRACKER.install()
            try:
                tracked = workload(options.requests, path)
            finally:
                TRACKER.uninstall()
            untracked_again = workload(options.requests, path)
            baseline = statistics.mean([untracked, untracked_again])
            figures[work] = (baseline, tracked, tracked / baseline - 1)
        reads_untracked = blocking_reads(20_000)
        TRACKER.install()
        try:
            reads_tracked = blocking_reads(20_000)
        finally:
            TRACKER.uninstall()
        overhead = figures[True][2]

        population = Population(threads=100, tasks=1000, sockets=300)
        monitor = LeakMonitor(track=True, oversized_every=0, objects_every=10**9)
        monitor.start()
        try:
            monitor.sample()
            plain = cpu_per_call(monitor.sample, 30)
            census = cpu_per_call(lambda: LeakMonitor(objects_every=1, oversized_every=0)
                                  .sample(), 5)
            scan = cpu_per_call(monitor.oversized, 3)
            tracemalloc.start(1)
            try:
                traced_ballast = [{"n": n} for n in range(200_000)]
                heap_monitor = LeakMonitor(heap_every=1, oversized_every=0, objects_every=10**9)
                heap_sample = cpu_per_call(heap_monitor.sample, 5)
                traced = len(tracemalloc.take_snapshot().traces)
                del traced_ballast
            finally:
                tracemalloc.stop()
        finally:
            monitor.stop()
            population.close()
    finally:
        os.remove(path)
    per_sample = (5 * plain + census) / 6  # the default census: every 6th sample
    print(f"process: {len(ballast):,} ballast dicts; population 100 threads, 1000 pending "
          "tasks, 300 sockets")
    objects = options.requests * 4 + options.requests // 50  # 2 sockets, a file, a task
    bare_base, bare_tracked, bare_overhead = figures[False]
    print(f"hooks: {(bare_tracked - bare_base) / objects * 1e6:.1f} us CPU per tracked object "
          f"({objects:,} objects: 2 sockets, a file and a task per request, a thread per 50)")
    for work, label in ((False, "creation only"), (True, "with ~0.1 ms of work a request")):
        base, tracked, ratio = figures[work]
        print(f"workload, {label:<31}: {base * 1e3:8.1f} ms CPU untracked, "
              f"{tracked * 1e3:8.1f} ms tracked ({ratio:+.1%})")
    print(f"send+recv on a blocking socket: {reads_untracked * 1e6:.2f} us untracked, "
          f"{reads_tracked * 1e6:.2f} us tracked (+{(reads_tracked - reads_untracked) * 1e6:.2f}"
          " us a read)")
    print("per sample (CPU)")
    print(f"  plain sample              : {plain * 1e3:9.2f} ms")
    print(f"  with object census        : {census * 1e3:9.2f} ms (every 6th sample)")
    print(f"  default mix               : {per_sample * 1e3:9.2f} ms")
    print(f"  heap snapshot sample      : {heap_sample * 1e3:9.2f} ms "
          f"({traced:,} traced blocks; heap=True, every 6th sample by default)")
    print(f"  oversized scan            : {scan * 1e3:9.2f} ms (every 30th sample by default)")
    print(f"share of a {DEFAULT_INTERVAL:g} s interval  : {per_sample / DEFAULT_INTERVAL:.3%}")
    hook_cost = (bare_tracked - bare_base) / objects
    print(f"CPU of one core at the default interval, tracking on (target <= 3%): sampling "
          f"{per_sample / DEFAULT_INTERVAL:.2%} plus {hook_cost * 1e6:.1f} us per object created")
    for rate in (100, 500, 1000, 2000, 5000):
        share = per_sample / DEFAULT_INTERVAL + rate * hook_cost
        print(f"  {rate:>5} threads/tasks/sockets/files created per second: {share:6.2%}")
    print(f"  the synthetic workload above (~{objects / bare_base:,.0f}/s of its CPU): "
          f"{bare_overhead:+.0%} creation only, {overhead:+.0%} with work")

if __name__ == "__main__":
    main()
