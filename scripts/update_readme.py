"""Regenerate the rule table in README.md from the registry: `python scripts/update_readme.py`."""

from __future__ import annotations

from pathlib import Path

from leaklint.docs import replace_rules_table

README = Path(__file__).resolve().parent.parent / "README.md"

if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    README.write_text(replace_rules_table(text), encoding="utf-8")
