"""Where leaklint's time goes: the parse, the walk, each rule and each shared analysis.

    python benchmarks/rule_costs.py FOLDER [--limit N]

Checks every file in this process with the default rules and times, exclusively (a nested
analysis is charged to itself, not to its caller): the libcst parse, the engine's walk, every
rule's callbacks, every ``Analysis`` built through ``context.analysis``, and position
resolution. The share of each in the total says what to optimise; the ratio to the parse says
how far the check is from the parse floor.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from leaklint import engine
from leaklint.context import FileContext

_totals: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
_stack: list[list[Any]] = []  # [label, start, time spent in nested timed work]


def _timed(label: str, work: Callable[[], Any]) -> Any:
    frame = [label, time.perf_counter(), 0.0]
    _stack.append(frame)
    try:
        return work()
    finally:
        _stack.pop()
        elapsed = time.perf_counter() - frame[1]
        _totals[label] += elapsed - frame[2]
        _calls[label] += 1
        if _stack:
            _stack[-1][2] += elapsed


def _instrument() -> None:
    parse, walk = engine._parse, engine.walk
    analysis, position = FileContext.analysis, FileContext.position
    guarded = engine._RuleRunner._guarded

    def timed_parse(text: str, path: str) -> Any:
        return _timed("libcst parse", lambda: parse(text, path))

    def timed_walk(*args: Any) -> Any:
        return _timed("engine walk (without callbacks)", lambda: walk(*args))

    def timed_analysis(self: FileContext, kind: type) -> Any:
        if kind in self._analyses:
            return analysis(self, kind)
        return _timed(f"analysis {kind.__name__}", lambda: analysis(self, kind))

    def timed_position(self: FileContext, node: Any) -> Any:
        return _timed("positions", lambda: position(self, node))

    def timed_guarded(self: Any, rule: Any, method: Callable[[Any], None]) -> Any:
        call = guarded(self, rule, method)
        label = f"rule {rule.CODE} {rule.NAME}"
        return lambda node: _timed(label, lambda: call(node))

    engine._parse = timed_parse  # type: ignore[assignment]
    engine.walk = timed_walk
    FileContext.analysis = timed_analysis  # type: ignore[method-assign]
    FileContext.position = timed_position  # type: ignore[method-assign]
    engine._RuleRunner._guarded = timed_guarded  # type: ignore[method-assign]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)

    from leaklint import registry
    from leaklint.discovery import discover

    files = [t.path for t in discover(args.folders, lambda _p, _r: False) if not t.problem]
    if args.limit:
        files = files[: args.limit]
    ruleset = engine.RuleSet(registry.select_rules(), {})
    _instrument()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for path in files:
        _timed("engine rest (read, decode, triggers, findings)",
               lambda path=path: engine.check_path(path, ruleset))
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    total = sum(_totals.values())
    parse = _totals["libcst parse"] or 1e-9
    print(f"{len(files)} files, {wall:.1f} s wall, {cpu:.1f} s CPU; "
          f"check / parse = {total / parse:.2f}x\n")
    print("| where | seconds | share | vs parse | calls |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds in sorted(_totals.items(), key=lambda item: -item[1]):
        print(f"| {label} | {seconds:.2f} | {seconds / total:.1%} | {seconds / parse:.2f}x "
              f"| {_calls[label]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
