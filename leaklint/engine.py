"""Parse a file once and run every selected rule over it in one batched traversal.

The engine knows nothing about any one rule: it reads their ``visit_<Node>``/``leave_<Node>``
methods, their text triggers and their options. A file that cannot be read, decoded or parsed
becomes an LK001 finding; a rule that raises becomes an internal error for that file and rule,
and every other rule and file is still checked.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import re
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, TypeVar

import libcst as cst

from leaklint.analysis.confidence import declared_obsolete
from leaklint.analysis.reachability import DeadCode
from leaklint.analysis.scopes import Scopes
from leaklint.file_context import FileContext
from leaklint.model import Confidence, FileResult, Finding, Fix, InternalError
from leaklint.rule import Report, Rule
from leaklint.rules.parse_error import ParseError
from leaklint.screen import Screen
from leaklint.source import SourceText, UnreadableSource, decode_source, read_source
from leaklint.suppress import Suppressions
from leaklint.walker import walk

# LK001 is the engine's own finding: a file it cannot analyse. The words are the rule's.
PARSE_ERROR_CODE = ParseError.CODE

# Deeply nested but valid code (thousands of `elif`s, implicitly concatenated strings that
# libcst nests one level per literal) recurses past Python's default limit in libcst and in
# our analyses. Such a file is checked again on a thread with a large stack.
_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 200_000

T = TypeVar("T")


@dataclass(frozen=True)
class RuleSet:
    """The rules to run and their options; hashable settings stay outside the engine."""

    rules: tuple[type[Rule], ...]
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    honor_noqa: bool = True
    # The least confidence reported: ``high`` by default, ``medium`` reports both.
    confidence: Confidence = Confidence.HIGH
    # Ask each finding's rule for its fix (and record the file's digest): only when the user
    # wants fixes, since building them costs a code generation per finding.
    fixes: bool = False


def unreadable(
    ruleset: RuleSet, path: str, reason: str, line: int = 1, column: int = 1
) -> FileResult:
    """The result for a file that cannot be analysed: LK001, when that code is selected."""
    if ParseError not in ruleset.rules:
        return FileResult(path)
    finding = Finding(
        path=path,
        line=line,
        column=column,
        code=ParseError.CODE,
        end_line=line,
        end_column=column,
        name=ParseError.NAME,
        message=ParseError.MESSAGE.format(reason=reason),
    )
    return FileResult(path, (finding,))


def check_path(path: str, ruleset: RuleSet, display_path: Optional[str] = None) -> FileResult:
    shown = display_path or path
    try:
        source = read_source(path)
    except UnreadableSource as exc:
        return unreadable(ruleset, shown, exc.reason, exc.line, exc.column)
    return check_text(source, shown, ruleset)


def check_bytes(data: bytes, path: str, ruleset: RuleSet) -> FileResult:
    try:
        source = decode_source(data)
    except UnreadableSource as exc:
        return unreadable(ruleset, path, exc.reason, exc.line, exc.column)
    result = check_text(source, path, ruleset)
    if ruleset.fixes:
        result = replace(result, digest=content_digest(data))
    return result


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_text(source: SourceText, path: str, ruleset: RuleSet) -> FileResult:
    # The tree parsed by the first attempt is kept for the retry: libcst's parser is native
    # and its nodes are immutable, so only the rules and analyses need to start again.
    parsed: list[_Parsed] = []
    try:
        with _collector_paused():
            try:
                try:
                    return _check(source.text, path, ruleset, parsed)
                except RecursionError:
                    pass
                try:
                    return _on_deep_stack(lambda: _check(source.text, path, ruleset, parsed))
                except RecursionError:
                    return unreadable(ruleset, path, "nested too deeply to analyse")
            finally:
                # Free the tree while the collector is still off: once it is back on, the
                # first allocation would have it walk every node still alive (all of them
                # young, as no collection ran during the check) only to keep them.
                parsed.clear()
    except Exception as exc:  # a bug outside any one rule: report it, keep checking the rest
        return FileResult(path, errors=(internal_error(path, "engine", exc),))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Check a file with the cyclic garbage collector off, as it was before afterwards.

    A check allocates hundreds of thousands of small objects (the tree, its metadata, the
    analyses' tables) that all stay alive until the file is done, so each collection the
    allocations trigger walks them all and frees nothing: measured on the stdlib, about 12% of
    the CPU of a check. Reference counting still frees everything else as it goes; the few
    cycles a check leaves are collected once the collector is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def internal_error(path: str, where: str, exc: BaseException) -> InternalError:
    return InternalError(
        path=path,
        rule=where,
        summary=describe_exception(exc),
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def describe_exception(exc: BaseException, limit: int = 300) -> str:
    """A short description; exception arguments can be whole syntax trees (KeyError(node)),
    whose repr is enormous, so nodes are named by type only."""
    parts = [
        f"<{type(arg).__name__} node>" if isinstance(arg, cst.CSTNode) else repr(arg)
        for arg in exc.args
    ]
    text = f"{type(exc).__name__}: {', '.join(parts)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _on_deep_stack(work: Callable[[], T]) -> T:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed back to the calling thread below
            outcome.append((False, exc))

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    threading.stack_size(_DEEP_STACK_BYTES)
    sys.setrecursionlimit(max(old_limit, _DEEP_RECURSION_LIMIT))
    try:
        worker = threading.Thread(target=run, name="leaklint-deep-stack")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Parsed:
    """The tree of a file, the text it was parsed from, and for each line the characters that
    text lacks at its start (see :func:`_without_form_feed_indents`)."""

    module: cst.Module
    text: str
    shifts: Mapping[int, int] = field(default_factory=dict)


def _parse(text: str, path: str) -> _Parsed:
    try:
        return _Parsed(cst.parse_module(text), text)
    except cst.ParserSyntaxError as exc:
        python_says = _python_syntax_error(text, path)
        if python_says is not None:
            raise python_says from None
        if "\f" in text:
            normalised, shifts = _without_form_feed_indents(text)
            try:
                return _Parsed(cst.parse_module(normalised), normalised, shifts)
            except cst.ParserSyntaxError:
                pass
        # Python accepts what libcst rejects (syntax newer than this libcst): libcst's words.
        # It prefixes them with "parser error: error at L:C: "; the position is kept apart.
        message = re.sub(r"^(parser error: )?(error at \d+:\d+: )?", "", exc.message)
        line, column = exc.raw_line, exc.raw_column + 1
        raise UnreadableSource(f"syntax error: {message}", line, column) from None
    except RecursionError:
        raise
    except Exception as exc:  # libcst's native parser reports some failures as other types
        raise UnreadableSource(f"parser failed: {exc}") from None


def _without_form_feed_indents(text: str) -> tuple[str, dict[int, int]]:
    """Python resets the indentation count at a form feed (a page break before a ``def``),
    libcst rejects one that opens a block: keep only the whitespace after the last form feed
    of each line's indentation, which Python reads the same. Returns the text and, by line,
    how many characters went from its start."""
    lines = text.split("\n")  # not splitlines(): it breaks lines at form feeds too
    shifts: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        indent = len(line) - len(line.lstrip(" \t\f"))
        if "\f" in line[:indent]:
            kept = line[:indent].rsplit("\f", 1)[1]
            shifts[number] = indent - len(kept)
            lines[number - 1] = kept + line[indent:]
    return "\n".join(lines), shifts


def _shifted(finding: Finding, shifts: Mapping[int, int]) -> Finding:
    """A finding's position in the file's own text, from its position in the parsed text."""
    fix = finding.fix
    if fix is not None:
        fix = replace(fix, edits=tuple(
            replace(edit, column=edit.column + shifts.get(edit.line, 0),
                    end_column=edit.end_column + shifts.get(edit.end_line, 0))
            for edit in fix.edits
        ))
    return replace(
        finding, column=finding.column + shifts.get(finding.line, 0),
        end_column=finding.end_column + shifts.get(finding.end_line, 0), fix=fix,
    )


def _python_syntax_error(text: str, path: str) -> Optional[UnreadableSource]:
    """The interpreter's own message and position (``'(' was never closed`` at 1:5) for a file
    libcst rejects, which read better than libcst's list of expected tokens; None when this
    Python compiles the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings (bad escapes) are not our report
            compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = exc.offset or 1
        return UnreadableSource(f"syntax error: {exc.msg}", line, max(column, 1))
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def _check(text: str, path: str, ruleset: RuleSet, parsed: list[_Parsed]) -> FileResult:
    screen = Screen(text)
    applicable = [
        rule for rule in ruleset.rules if rule.CODE != PARSE_ERROR_CODE and rule.may_report(screen)
    ]
    if not parsed:
        if not applicable and screen.parses():
            # Valid Python (the running interpreter parsed it) that no rule can report on:
            # the libcst parse, the main cost of a check, is not paid.
            return FileResult(path)
        try:
            parsed.append(_parse(text, path))
        except UnreadableSource as exc:
            return unreadable(ruleset, path, exc.reason, exc.line, exc.column)
    tree = parsed[0]
    if not applicable:
        return FileResult(path)
    context = FileContext(path, tree.text, tree.module)
    runner = _RuleRunner(context, applicable, ruleset.options)
    runner.run()
    findings = runner.findings(ruleset.honor_noqa, ruleset.confidence, ruleset.fixes)
    context.release()
    if tree.shifts:
        findings = [_shifted(finding, tree.shifts) for finding in findings]
    return FileResult(path, tuple(sorted(findings, key=Finding.sort_key)), tuple(runner.errors))


_HOOKS: dict[type, tuple[tuple[str, type, bool], ...]] = {}


def _hooks(rule_type: type[Rule]) -> tuple[tuple[str, type, bool], ...]:
    """(method name, node type, is a visit) for each ``visit_<Node>``/``leave_<Node>`` of a
    rule class; read once per class, not once per file (``dir`` is not cheap)."""
    found = _HOOKS.get(rule_type)
    if found is None:
        hooks = []
        for attribute in dir(rule_type):
            prefix, _, node_name = attribute.partition("_")
            if prefix not in ("visit", "leave") or not node_name:
                continue
            node_type = getattr(cst, node_name, None)
            if not isinstance(node_type, type) or not issubclass(node_type, cst.CSTNode):
                continue
            hooks.append((attribute, node_type, prefix == "visit"))
        found = _HOOKS[rule_type] = tuple(hooks)
    return found


def _visit_in_order(index: Scopes, visitors: Mapping[type, list[Callable[[Any], None]]]) -> None:
    """Call each node's visitors, node by node in the order of the file (parents before
    children), from the scope model's lists: what a walk would do when no rule needs to know
    when a node is left (except the module, whose leavers run at the end)."""
    if len(visitors) == 1:
        [node_type] = visitors
        nodes = index.nodes_of_type(node_type)
    else:
        nodes = index.nodes
    get = visitors.get
    for node in nodes:
        for callback in get(type(node), ()):
            callback(node)


def _finisher(rule: Rule) -> Callable[[Any], None]:
    return lambda _node: rule.finish()


class _RuleRunner:
    def __init__(
        self,
        context: FileContext,
        rule_types: Sequence[type[Rule]],
        options: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.context = context
        self.rules = [rule_type(context, options.get(rule_type.CODE)) for rule_type in rule_types]
        self.failed: set[str] = set()
        self.errors: list[InternalError] = []

    def _guarded(self, rule: Rule, method: Callable[[Any], None]) -> Callable[[Any], None]:
        def call(node: Any) -> None:
            if rule.CODE in self.failed:
                return
            try:
                method(node)
            except RecursionError:
                raise
            except Exception as exc:
                self._fail(rule, exc)

        return call

    def _fail(self, rule: Rule, exc: Exception) -> None:
        self.failed.add(rule.CODE)
        self.errors.append(internal_error(self.context.path, f"{rule.CODE} {rule.NAME}", exc))

    def _dispatch_tables(self) -> tuple[dict[type, list[Any]], dict[type, list[Any]]]:
        visitors: dict[type, list[Any]] = {}
        leavers: dict[type, list[Any]] = {}
        for rule in self.rules:
            for attribute, node_type, on_visit in _hooks(type(rule)):
                table = visitors if on_visit else leavers
                table.setdefault(node_type, []).append(
                    self._guarded(rule, getattr(rule, attribute))
                )
        return visitors, leavers

    def run(self) -> None:
        visitors, leavers = self._dispatch_tables()
        module = self.context.module
        for callback in visitors.pop(cst.Module, ()):
            callback(module)
        module_leavers = leavers.pop(cst.Module, ())
        if visitors or leavers:
            index = self._scope_model()
            if index is not None and not leavers:
                _visit_in_order(index, visitors)
            else:
                walk(module, visitors, leavers)
        for callback in module_leavers:
            callback(module)
        for rule in self.rules:
            self._guarded(rule, _finisher(rule))(None)

    def _scope_model(self) -> Optional[Scopes]:
        """The shared scope model, which lists every node of the file in order and by type.
        Nearly every file that is parsed needs it, so it is built before the rules' visits,
        which then read the file's nodes from it instead of walking the tree again. If it
        fails, the walk lists the nodes itself, and the rules that ask for it fail alone."""
        try:
            return self.context.analysis(Scopes)
        except RecursionError:
            raise
        except Exception:
            return None

    def _fix(self, rule: Rule, report: Report) -> Optional[Fix]:
        """The rule's fix for one report; a fixer that fails costs the fix, not the finding."""
        try:
            return rule.fix(report)
        except RecursionError:
            raise
        except Exception as exc:
            self.errors.append(
                internal_error(self.context.path, f"{rule.CODE} {rule.NAME} fix", exc)
            )
            return None

    def findings(
        self, honor_noqa: bool, confidence: Confidence, fixes: bool = False
    ) -> list[Finding]:
        found: list[Finding] = []
        suppressions: Optional[Suppressions] = None
        obsolete: Optional[bool] = None
        placed: list[tuple[Rule, list[Report]]] = []
        for rule in self.rules:
            reports = [r for r in rule.reports if confidence.admits(r.confidence)]
            if reports:
                # Computed only for files with something to report; nothing in code that
                # cannot run (a TYPE_CHECKING block, a branch for Python 2) is reported.
                dead = self.context.analysis(DeadCode)
                reports = [r for r in reports if not dead.holds(r.node)]
            if rule.CODE not in self.failed and reports:
                placed.append((rule, reports))
        if placed:
            self.context.place(report.node for _, reports in placed for report in reports)
        for rule, reports in placed:
            if suppressions is None:
                suppressions = Suppressions(self.context.source, honor_noqa)
            for report in reports:
                span = self.context.position(report.node)
                line, column = span.start.line, span.start.column + 1
                if suppressions.is_suppressed(line, rule.CODE):
                    continue
                found_confidence = report.confidence
                if obsolete is None:
                    obsolete = declared_obsolete(self.context.module)
                if obsolete or suppressions.marks_deliberate(line, rule.SIMILAR_CHECKS):
                    # Code its maintainers declared deliberate, or on its way out: a patch
                    # would be declined.
                    found_confidence = Confidence.MEDIUM
                    if not confidence.admits(found_confidence):
                        continue
                found.append(
                    Finding(
                        path=self.context.path,
                        line=line,
                        column=column,
                        code=rule.CODE,
                        end_line=span.end.line,
                        end_column=span.end.column + 1,
                        name=rule.NAME,
                        message=report.message,
                        confidence=found_confidence,
                        fix=self._fix(rule, report) if fixes and rule.AUTOFIX else None,
                    )
                )
        return list(dict.fromkeys(found))
