"""The base class every rule derives from.

A rule is a small class: its docstring is its documentation (What it does / Why is this bad? /
Example / Use instead), its class attributes say what it is called and when it runs, and its
``visit_<Node>`` / ``leave_<Node>`` methods read the shared analyses and call :meth:`report`.
The engine instantiates one rule object per file and drives every rule in one traversal.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, TypeVar

import libcst as cst

from leaklint.model import Applicability, Confidence, Fix

if TYPE_CHECKING:
    from leaklint.file_context import Analysis, FileContext
    from leaklint.runtime.evidence import Evidence
    from leaklint.screen import Screen, SourceFacts

AnalysisT = TypeVar("AnalysisT", bound="Analysis")


@dataclass(frozen=True)
class RuleOption:
    """A setting of one rule: ``[tool.leaklint.<CODE>]`` or ``--leaklint-<code>-<name>``."""

    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = int


@dataclass(frozen=True)
class Report:
    """What a rule said about a node, before positions are resolved."""

    node: cst.CSTNode
    message: str
    confidence: Confidence = Confidence.HIGH


class Rule:
    CODE: ClassVar[str]
    NAME: ClassVar[str]
    MESSAGE: ClassVar[str]
    DEFAULT_ENABLED: ClassVar[bool] = True
    # The kind of fix :meth:`fix` can offer (safe: ``--fix``; unsafe: ``--unsafe-fixes``), or
    # None for a rule that never fixes.
    AUTOFIX: ClassVar[Optional[Applicability]] = None
    # Text prefilter: the rule runs on a file only if one of these strings occurs in it.
    # Empty means "always run". Keep them cheap and broad: a miss here is a missed leak.
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[tuple[RuleOption, ...]] = ()
    # Other linters' checks of the same defect (ruff/flake8 codes, pylint names): a line that
    # silences one of them was judged deliberate by its maintainers; reported at `medium`.
    SIMILAR_CHECKS: ClassVar[tuple[str, ...]] = ()
    # What `leaklint confirm` must see at run time to confirm a finding (None: nothing can).
    EVIDENCE: ClassVar[Optional[Evidence]] = None

    def __init__(self, context: FileContext, options: Optional[Mapping[str, Any]] = None) -> None:
        self.context = context
        self.options: dict[str, Any] = {opt.name: opt.default for opt in self.OPTIONS}
        if options:
            self.options.update(options)
        self.reports: list[Report] = []

    # --- what rules call -------------------------------------------------------------------
    def analysis(self, kind: type[AnalysisT]) -> AnalysisT:
        """The shared analysis of this file, computed once for all rules that ask."""
        return self.context.analysis(kind)

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        *,
        confidence: Confidence = Confidence.HIGH,
        **fields: Any,
    ) -> None:
        text = message if message is not None else self.MESSAGE.format(**fields)
        self.reports.append(Report(node, text, confidence))

    def finish(self) -> None:
        """Called once after the traversal; rules that decide at module end override it."""

    def fix(self, report: Report) -> Optional[Fix]:
        """The fix for one of this rule's reports, or None when the shape is not one the rule
        can rewrite without changing what the code does. Asked only when the user wants fixes
        (``--fix``, ``--diff``, ``--unsafe-fixes``, JSON and SARIF output), after the
        traversal, for reports that are not suppressed."""
        return None

    # --- documentation ---------------------------------------------------------------------
    # Documentation a family of rules shares, by heading ("Not flagged", "Confidence"): added
    # after what the rule's own docstring says under that heading (or as that section).
    SHARED_DOCS: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def documentation(cls) -> str:
        doc = inspect.cleandoc(cls.__doc__ or "")
        for heading, shared in cls.SHARED_DOCS.items():
            marker = f"## {heading}\n"
            if marker in doc:
                head, rest = doc.split(marker, 1)
                own, sep, tail = rest.partition("\n## ")
                doc = f"{head}{marker}{own.strip()} {shared}\n{sep}{tail}"
            else:
                doc = f"{doc}\n\n{marker}{shared}"
        return doc

    @classmethod
    def summary(cls) -> str:
        """The first paragraph under "What it does", on one line."""
        doc = cls.documentation()
        lines = doc.split("## What it does", 1)[-1].strip().split("\n\n", 1)[0]
        return " ".join(lines.split())

    @classmethod
    def section(cls, heading: str) -> str:
        """The text under ``## <heading>`` of the docs, up to the next heading ("" if none)."""
        doc = cls.documentation()
        marker = f"## {heading}\n"
        if marker not in doc:
            return ""
        return doc.split(marker, 1)[1].split("\n## ", 1)[0].strip()

    @classmethod
    def applies_to(cls, source: str) -> bool:
        return not cls.TRIGGERS or any(trigger in source for trigger in cls.TRIGGERS)

    @classmethod
    def may_report(cls, screen: Screen) -> bool:
        """Whether the file may hold a finding of this rule, from the cheap first look at it:
        its ``ast`` facts when the running Python parses the file (every file is parsed so,
        to tell a syntax error), else its text triggers. A file no rule may report on is never
        parsed by libcst."""
        facts = screen.facts
        if facts is None:
            return cls.applies_to(screen.text)
        return cls.may_report_in(facts, screen.text)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        """The rule's precise screen on the file's ``ast`` facts. It must be sound: True for
        a file without a finding costs time, False for a file with one loses a leak; and at
        least as sharp as the text triggers, which it replaces when the file parses. By
        default a trigger that is a word must be spelled in code (``Thread`` in the base
        class of ``class Worker(threading.Thread)``), not only in a comment or a string."""
        words = tuple(trigger for trigger in cls.TRIGGERS if trigger.isidentifier())
        if len(words) < len(cls.TRIGGERS):
            return cls.applies_to(text)
        return not words or facts.spells_any(words)
