"""Documentation generated from the rules themselves, so it cannot drift from the code."""

from __future__ import annotations

from leaklint import registry

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def rules_table() -> str:
    """The Markdown table of every rule, as the README shows it."""
    rows = ["| code | name | default | autofix | what it flags |", "|---|---|---|---|---|"]
    for rule in registry.ALL_RULES:
        default = "on" if rule.DEFAULT_ENABLED else "off"
        fix = rule.AUTOFIX.value if rule.AUTOFIX is not None else ""
        summary = rule.summary().replace("|", "\\|")
        rows.append(f"| {rule.CODE} | {rule.NAME} | {default} | {fix} | {summary} |")
    return "\n".join(rows)


def not_flagged_list() -> str:
    """What each rule deliberately stays silent on, and what it reports only at `medium`."""
    lines = []
    for rule in registry.ALL_RULES:
        silent = " ".join(rule.section("Not flagged").split())
        medium = " ".join(rule.section("Confidence").split())
        if silent or medium:
            parts = [f"Not flagged: {silent}" if silent else "", medium]
            lines.append(f"- **{rule.CODE}** {' '.join(p for p in parts if p)}")
    return "\n".join(lines)


def rules_section() -> str:
    """What the README shows between its rule-table markers."""
    return (
        f"{rules_table()}\n\nWhat each rule deliberately leaves alone, and what it reports "
        f"only with `--confidence medium`:\n\n{not_flagged_list()}"
    )


def replace_rules_table(readme: str) -> str:
    head, _, rest = readme.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    return f"{head}{TABLE_START}\n{rules_section()}\n{TABLE_END}{tail}"
