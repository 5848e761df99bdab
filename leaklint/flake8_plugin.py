"""The flake8 front end: ``flake8 --select=LK`` reports what ``leaklint check`` reports.

flake8 owns ``noqa``, selection by ``--select``/``--ignore`` and per-file ignores under flake8;
the plugin only decides which rules to run (off-by-default rules need their full code in
``--select``/``--extend-select``) and passes each rule's options through ``--leaklint-*``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from leaklint import __version__, registry
from leaklint.engine import RuleSet, check_text
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.source import SourceText


def _option_flag(rule: type[Rule], option_name: str) -> str:
    return f"--leaklint-{rule.CODE.lower()}-{option_name}"


def _option_dest(rule: type[Rule], option_name: str) -> str:
    return _option_flag(rule, option_name)[2:].replace("-", "_")


class LeaklintChecker:
    name = "leaklint"
    version = __version__
    ruleset: ClassVar[RuleSet] = registry.rule_set(honor_noqa=False)

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.add_option(
            "--leaklint-confidence",
            default=Confidence.HIGH.value,
            parse_from_config=True,
            choices=[c.value for c in Confidence],
            help="leaklint: least confidence reported, high or medium (default: %(default)s)",
        )
        for rule in registry.ALL_RULES:
            for option in rule.OPTIONS:
                parser.add_option(
                    _option_flag(rule, option.name),
                    default=option.default,
                    parse_from_config=True,
                    help=f"{rule.CODE} {rule.NAME}: {option.help} (default: %(default)s)",
                )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        select = list(getattr(options, "select", None) or [])
        extend = list(getattr(options, "extend_select", None) or [])
        # Only entries that can name leaklint codes matter; flake8 filters the rest.
        entries = [e for e in select + extend if registry.PREFIX.startswith(e[:2])]
        chosen = entries if select else [registry.PREFIX, *entries]
        rule_options: dict[str, dict[str, Any]] = {}
        for rule in registry.select_rules(chosen):
            for option in rule.OPTIONS:
                raw = getattr(options, _option_dest(rule, option.name), option.default)
                rule_options.setdefault(rule.CODE, {})[option.name] = option.parse(raw)
        confidence = Confidence(getattr(options, "leaklint_confidence", Confidence.HIGH.value))
        cls.ruleset = registry.rule_set(
            chosen, options=rule_options, honor_noqa=False, confidence=confidence
        )

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        # flake8 has already decoded the file (honouring its coding cookie).
        result = check_text(SourceText("".join(self.lines), "utf-8"), self.filename, self.ruleset)
        for error in result.errors:
            print(f"leaklint: {error.describe()}", file=sys.stderr)
        for finding in result.findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
