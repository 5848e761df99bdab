"""What one LeakMonitor sample costs, against baselines measured in the same run.

Prints the cost of a cheap sample (RSS, threads, fds, children), of a sample with the object
census (``gc.get_objects``), an empty loop iteration for scale, and the share of a 1 s and a
10 s sampling interval the monitor uses with the default census every 6th sample.
"""

from __future__ import annotations

import time

from leaklint.runtime.monitor import LeakMonitor


def per_call(work, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    ballast = [object() for _ in range(200_000)]  # a process of realistic size
    cheap = LeakMonitor(objects_every=10**9)
    cheap.sample()  # the first sample takes the census; the rest are cheap
    full = LeakMonitor(objects_every=1)
    empty = per_call(lambda: None, 200_000)
    cheap_cost = per_call(cheap.sample, 300)
    full_cost = per_call(full.sample, 20)
    mixed = (5 * cheap_cost + full_cost) / 6
    print(f"objects alive              : {len(ballast) + 0:,} ballast")
    print(f"empty call                 : {empty * 1e9:10.0f} ns")
    print(f"cheap sample               : {cheap_cost * 1e6:10.1f} us "
          f"({cheap_cost / empty:,.0f}x an empty call)")
    print(f"sample with object census  : {full_cost * 1e3:10.2f} ms")
    print(f"default mix (census 1 in 6): {mixed * 1e3:10.3f} ms per sample")
    print(f"share of a 1 s interval    : {mixed / 1.0:.4%}")
    print(f"share of a 10 s interval   : {mixed / 10.0:.5%}")


if __name__ == "__main__":
    main()
