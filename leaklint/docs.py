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


def replace_rules_table(readme: str) -> str:
    head, _, rest = readme.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    return f"{head}{TABLE_START}\n{rules_table()}\n{TABLE_END}{tail}"
