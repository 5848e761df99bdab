"""The one explicit list of rules, how a selection of codes picks from it, and the one
builder of the rule set a check runs (the command line, the flake8 plugin, ``confirm`` and the
tests all call :func:`rule_set`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from leaklint.engine import RuleSet
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.rules.cached_method import CachedMethod
from leaklint.rules.call_without_timeout import CallWithoutTimeout
from leaklint.rules.connection_not_closed import ConnectionNotClosed
from leaklint.rules.dangling_task import DanglingTask
from leaklint.rules.dynamic_logger_name import DynamicLoggerName
from leaklint.rules.executor_not_shutdown import ExecutorNotShutdown
from leaklint.rules.file_not_closed import FileNotClosed
from leaklint.rules.handler_added_per_call import HandlerAddedPerCall
from leaklint.rules.large_capture_closure import LargeCaptureClosure
from leaklint.rules.mutable_default_accumulator import MutableDefaultAccumulator
from leaklint.rules.parse_error import ParseError
from leaklint.rules.process_not_joined import ProcessNotJoined
from leaklint.rules.response_not_closed import ResponseNotClosed
from leaklint.rules.socket_not_closed import SocketNotClosed
from leaklint.rules.task_never_awaited import TaskNeverAwaited
from leaklint.rules.tempfile_not_removed import TempfileNotRemoved
from leaklint.rules.thread_not_joined import ThreadNotJoined
from leaklint.rules.timer_not_cancelled import TimerNotCancelled
from leaklint.rules.unbounded_memoize import UnboundedMemoize
from leaklint.rules.unbounded_module_cache import UnboundedModuleCache
from leaklint.rules.view_pins_buffer import ViewPinsBuffer
from leaklint.rules.worker_loop import WorkerLoopWithoutExit

# One explicit list, grouped by family; the order is the order of `leaklint rules`.
ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    # LK1 concurrency: threads, processes, tasks, timers
    ThreadNotJoined,
    WorkerLoopWithoutExit,
    ExecutorNotShutdown,
    ProcessNotJoined,
    DanglingTask,
    TaskNeverAwaited,
    TimerNotCancelled,
    # LK2 references: memory that stays reachable
    UnboundedModuleCache,
    CachedMethod,
    UnboundedMemoize,
    HandlerAddedPerCall,
    DynamicLoggerName,
    MutableDefaultAccumulator,
    # LK3 resources: handles held by the OS or a peer
    FileNotClosed,
    SocketNotClosed,
    ConnectionNotClosed,
    ResponseNotClosed,
    CallWithoutTimeout,
    TempfileNotRemoved,
    # LK4 memory kept alive by closures and views
    LargeCaptureClosure,
    ViewPinsBuffer,
)

PREFIX = "LK"


class UnknownCode(ValueError):
    pass


def rules_by_code() -> dict[str, type[Rule]]:
    return {rule.CODE: rule for rule in ALL_RULES}


def find_rule(code_or_name: str) -> type[Rule]:
    wanted = code_or_name.strip()
    for rule in ALL_RULES:
        if wanted.upper() == rule.CODE or wanted.lower() == rule.NAME:
            return rule
    raise UnknownCode(f"unknown rule {code_or_name!r} (see `leaklint rules`)")


def validate_codes(codes: Iterable[str], setting: str) -> None:
    """Every entry must be a prefix of at least one rule code (``LK``, ``LK3``, ``LK301``)."""
    known = [rule.CODE for rule in ALL_RULES]
    for code in codes:
        if not any(rule_code.startswith(code) for rule_code in known):
            raise UnknownCode(
                f"{setting}: {code!r} matches no leaklint rule (codes look like LK301; "
                "prefixes such as LK3 select a family)"
            )


def _matching(entry: str, rule: type[Rule]) -> bool:
    if not rule.CODE.startswith(entry):
        return False
    # Rules that are off by default must be named by their full code to be switched on.
    return rule.DEFAULT_ENABLED or entry == rule.CODE


def select_rules(
    select: Sequence[str] = (PREFIX,),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
) -> tuple[type[Rule], ...]:
    """The rules a selection enables. As in ruff and flake8, the longer of a matching select
    and ignore entry wins, so ``select=LK3, ignore=LK30`` keeps nothing and
    ``select=LK301, ignore=LK3`` keeps LK301."""
    chosen = []
    for rule in ALL_RULES:
        selected = [entry for entry in (*select, *extend_select) if _matching(entry, rule)]
        if not selected:
            continue
        ignored = [entry for entry in ignore if rule.CODE.startswith(entry)]
        if ignored and max(map(len, ignored)) >= max(map(len, selected)):
            continue
        chosen.append(rule)
    return tuple(chosen)


def off_by_default() -> tuple[str, ...]:
    """The codes of the rules a selection must name in full to switch on."""
    return tuple(rule.CODE for rule in ALL_RULES if not rule.DEFAULT_ENABLED)


def rule_set(
    select: Sequence[str] = (PREFIX,),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    options: Optional[Mapping[str, Mapping[str, Any]]] = None,
    *,
    honor_noqa: bool = True,
    confidence: Confidence = Confidence.HIGH,
) -> RuleSet:
    """The rules a selection enables (see :func:`select_rules`), with their options."""
    return RuleSet(
        select_rules(select, ignore, extend_select), options or {}, honor_noqa, confidence
    )
