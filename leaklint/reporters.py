"""Turn findings into text, JSON, SARIF 2.1.0 or GitHub workflow annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Callable

from leaklint import __version__, registry
from leaklint.model import Finding, Fix
from leaklint.text_report import Painter, render_concise

FORMATS = ("text", "json", "sarif", "github")
HOMEPAGE = "https://github.com/leaklint/leaklint"


def render_text(findings: Sequence[Finding]) -> str:
    return render_concise(findings, Painter(colour=False))


def render_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2) + "\n"


def _sarif_rule(rule: Any) -> dict[str, Any]:
    docs = rule.documentation()
    return {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": docs, "markdown": docs},
        "helpUri": f"{HOMEPAGE}#{rule.CODE.lower()}",
        "defaultConfiguration": {"level": "error" if rule.CODE == "LK001" else "warning"},
        "properties": {"tags": ["leak", rule.NAME], "precision": "high"},
    }


def _sarif_uri(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return relative.replace(os.sep, "/")


def _sarif_fix(fix: Fix, path: str) -> dict[str, Any]:
    """A SARIF 2.1.0 ``fix`` (section 3.55): the edits as replacements of regions of one
    artifact; an insertion is a region of length zero. Columns end exclusively, as ours do."""
    return {
        "description": {"text": fix.description},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _sarif_uri(path), "uriBaseId": "%SRCROOT%"},
                "replacements": [
                    {
                        "deletedRegion": {
                            "startLine": edit.line,
                            "startColumn": edit.column,
                            "endLine": edit.end_line,
                            "endColumn": edit.end_column,
                        },
                        "insertedContent": {"text": edit.replacement},
                    }
                    for edit in fix.edits
                ],
            }
        ],
        "properties": {"applicability": fix.applicability.value},
    }


def render_sarif(findings: Sequence[Finding]) -> str:
    rules = list(registry.ALL_RULES)
    index = {rule.CODE: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error" if f.code == "LK001" else "warning",
            "message": {"text": f.message},
            "properties": {"confidence": f.confidence.value},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _sarif_uri(f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        },
                    }
                }
            ],
            **({"fixes": [_sarif_fix(f.fix, f.path)]} if f.fix is not None else {}),
        }
        for f in findings
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "leaklint",
                        "version": __version__,
                        "informationUri": HOMEPAGE,
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        level = "error" if f.code == "LK001" else "warning"
        properties = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"endLine={f.end_line}",
                f"endColumn={f.end_column}",
                f"title={_escape_property(f'{f.code} {f.name}')}",
            ]
        )
        lines.append(f"::{level} {properties}::{_escape_data(f.message)}\n")
    return "".join(lines)


RENDERERS: dict[str, Callable[[Sequence[Finding]], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}
