"""Where leaklint's time goes: the parse, the walk, each rule and each shared analysis.

    python benchmarks/rule_costs.py FOLDER [--limit N]

Checks every file in this process with the default rules and times, exclusively (a nested
analysis is charged to itself, not to its caller): the libcst parse, the engine's walk, every
rule's callbacks, every ``Analysis`` built through ``context.analysis``, and position
resolution. The share of each in the total says what to optimise; the ratio to the parse says
how far the check is from the parse floor.

It also counts the visits per node: every walk of a libcst tree in leaklint (the scope model's,
``iter_nodes``, ``iter_statements``, ``children``, the engine's walk when a rule leaves nodes)
lists a node's children with ``walker.child_list``; those calls, plus the nodes the engine's
visits go through in the scope model's lists, divided by the nodes of the trees parsed, is how
many times each node is visited; and how many files the cheap ``ast`` first look spared the
libcst parse.
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

from leaklint import engine, screen, walker
from leaklint.file_context import FileContext

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


_visits = {"child lists": 0, "nodes": 0, "parsed": 0}


def _count_nodes(module: Any, child_list: Callable[[Any], list[Any]]) -> int:
    stack, count = [module], 0
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(child_list(node))
    return count


def _count_visits() -> None:
    """Count every ``child_list`` call, in the walker and where modules imported it."""
    original = walker.child_list

    def counted(node: Any) -> list[Any]:
        _visits["child lists"] += 1
        return original(node)

    for name, module in list(sys.modules.items()):
        if name.startswith("leaklint") and getattr(module, "child_list", None) is original:
            module.child_list = counted  # type: ignore[attr-defined]
    parse = engine._parse

    def parse_and_count(text: str, path: str) -> Any:
        module = parse(text, path)
        _visits["nodes"] += _count_nodes(module, original)
        _visits["parsed"] += 1
        return module

    engine._parse = parse_and_count  # type: ignore[assignment]


def _instrument() -> None:
    _count_visits()
    parse, walk, visit_in_order = engine._parse, engine.walk, engine._visit_in_order
    analysis, position = FileContext.analysis, FileContext.position
    guarded = engine._RuleRunner._guarded

    def timed_parse(text: str, path: str) -> Any:
        return _timed("libcst parse", lambda: parse(text, path))

    def timed_walk(*args: Any) -> Any:
        return _timed("engine walk (without callbacks)", lambda: walk(*args))

    def timed_visits(index: Any, visitors: Any) -> Any:
        # Each node the engine's loop goes through counts as a visit, though it lists no
        # children: with one visited type only that type's nodes.
        [only] = visitors if len(visitors) == 1 else [None]
        _visits["child lists"] += len(index.nodes if only is None else index.nodes_of_type(only))
        return _timed("engine visits (without callbacks)",
                      lambda: visit_in_order(index, visitors))

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

    first_look_parse, first_look_facts = screen.parse_quietly, screen.collect_facts
    screen.parse_quietly = lambda text: _timed(  # type: ignore[assignment]
        "ast first look: parse", lambda: first_look_parse(text)
    )
    screen.collect_facts = lambda tree: _timed(  # type: ignore[assignment]
        "ast first look: facts", lambda: first_look_facts(tree)
    )
    engine._parse = timed_parse  # type: ignore[assignment]
    engine.walk = timed_walk
    engine._visit_in_order = timed_visits
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
    ruleset = registry.rule_set()
    _instrument()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for path in files:
        _timed("engine rest (read, decode, screens, findings)",
               lambda path=path: engine.check_path(path, ruleset))
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    total = sum(_totals.values())
    parse = _totals["libcst parse"] or 1e-9
    print(f"{len(files)} files, {wall:.1f} s wall, {cpu:.1f} s CPU; "
          f"check / parse = {total / parse:.2f}x")
    nodes = _visits["nodes"] or 1
    print(f"libcst parsed {_visits['parsed']} of {len(files)} files (the others: no rule may "
          f"report on them); {_visits['child lists'] / nodes:.2f} visits per node of the "
          f"parsed trees\n")
    print("| where | seconds | share | vs parse | calls |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds in sorted(_totals.items(), key=lambda item: -item[1]):
        print(f"| {label} | {seconds:.2f} | {seconds / total:.1%} | {seconds / parse:.2f}x "
              f"| {_calls[label]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
