"""``--show-settings``: what leaklint made of the configuration it found, for debugging it."""

from __future__ import annotations

from collections.abc import Sequence

from leaklint.config import Settings


def _listing(values: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def describe_settings(settings: Settings, cache_folder: str, use_cache: bool) -> str:
    """The resolved settings, one ``name = value`` a line, in pyproject.toml's spelling."""
    rules = settings.rules()
    lines = [
        f"config-file = {settings.config_file or '(none found; defaults)'}",
        f"project-root = {settings.root}",
        f"cache-dir = {cache_folder}" + ("" if use_cache else "  (not used: --no-cache)"),
        f"select = {_listing(settings.select)}",
        f"ignore = {_listing(settings.ignore)}",
        f"extend-select = {_listing(settings.extend_select)}",
        f"exclude = {_listing(settings.exclude)}",
        f"extend-exclude = {_listing(settings.extend_exclude)}",
        "per-file-ignores = {"
        + ", ".join(f'"{pattern}" = {_listing(codes)}' for pattern, codes in
                    settings.per_file_ignores)
        + "}",
        f"rules = {_listing([rule.CODE for rule in rules])}  ({len(rules)} selected)",
        f"confidence = {settings.confidence.value}",
    ]
    for rule in rules:
        chosen = settings.rule_options.get(rule.CODE, {})
        for option in rule.OPTIONS:
            value = chosen.get(option.name, option.default)
            origin = "" if option.name in chosen else "  (default)"
            lines.append(f"{rule.CODE}.{option.name} = {value!r}{origin}")
    return "\n".join(lines) + "\n"
