"""``[tool.leaklint]`` in pyproject.toml, merged with command-line options into Settings."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from leaklint import registry
from leaklint.engine import RuleSet
from leaklint.model import Confidence, FileResult
from leaklint.rule import Rule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 in CI
    import tomli as tomllib


class ConfigError(Exception):
    """A setting is wrong; the message says which and where. Exit status 2."""


TOP_LEVEL_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "exclude",
    "extend-exclude",
    "per-file-ignores",
    "cache-dir",
    "confidence",
}


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = (registry.PREFIX,)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The project root: the folder of the configuration file, else of the nearest
    # pyproject.toml, else the current folder. Patterns are relative to it; the cache is in it.
    root: str = "."
    config_file: Optional[str] = None
    cache_dir: Optional[str] = None
    confidence: Confidence = Confidence.HIGH

    def rules(self) -> tuple[type[Rule], ...]:
        return registry.select_rules(self.select, self.ignore, self.extend_select)

    def ruleset(self, honor_noqa: bool = True) -> RuleSet:
        return registry.rule_set(
            self.select, self.ignore, self.extend_select, self.rule_options,
            honor_noqa=honor_noqa, confidence=self.confidence,
        )

    def without_ignored(self, result: FileResult) -> FileResult:
        """The result without the findings ``per-file-ignores`` silences for its file (kept
        out of the cache's way: the cached result of a file does not depend on its path's
        patterns). What the selection excludes is never found: the rule set runs only the
        selected rules."""
        ignored = self.ignored_for(result.path)
        if not ignored:
            return result
        findings = tuple(
            finding for finding in result.findings
            if not any(finding.code.startswith(code) for code in ignored)
        )
        return replace(result, findings=findings)

    def ignored_for(self, path: str) -> tuple[str, ...]:
        relative = _relative_posix(path, self.root)
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            if _path_matches(relative, pattern):
                codes.extend(pattern_codes)
        return tuple(codes)

    def is_excluded(self, path: str, named_root: Optional[str] = None) -> bool:
        """Whether ``path``, found below the folder the user named, is excluded. A pattern
        that matches the named folder itself does not apply below it: naming a folder on the
        command line checks it, as in ruff and flake8."""
        relative = _relative_posix(path, self.root)
        named = _relative_posix(named_root, self.root) + "/" if named_root else None
        return any(
            _path_matches(relative, pattern)
            and not (named is not None and _path_matches(named, pattern))
            for pattern in self.exclude + self.extend_exclude
        )

    def fingerprint(self) -> str:
        """What the cached results of a file depend on, besides its content."""
        options = sorted((code, sorted(opts.items())) for code, opts in self.rule_options.items())
        return repr((sorted(rule.CODE for rule in self.rules()), options, self.confidence.value))


def _relative_posix(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        relative = path
    return relative.replace(os.sep, "/")


def _path_matches(relative: str, pattern: str) -> bool:
    """gitignore-like: ``build/`` matches the folder anywhere, ``src/*.py`` from the root,
    a bare ``name`` matches any path component."""
    pattern = pattern.replace("\\", "/")
    parts = relative.split("/")
    if pattern.endswith("/"):
        folder = pattern.rstrip("/")
        if "/" in folder:
            return relative.startswith(folder + "/") or fnmatch.fnmatch(relative, folder + "/*")
        return any(fnmatch.fnmatch(part, folder) for part in parts[:-1]) or fnmatch.fnmatch(
            relative, folder
        )
    if "/" in pattern:
        return fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/")
    return any(fnmatch.fnmatch(part, pattern) for part in parts)


def find_config(start: str) -> Optional[Path]:
    """The nearest pyproject.toml at or above ``start`` that has a [tool.leaklint] table."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = _read_toml(candidate)
            except ConfigError:
                raise
            if "leaklint" in data.get("tool", {}):
                return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(item.strip() for item in value if item.strip())


def _codes(value: Any, where: str) -> tuple[str, ...]:
    codes = tuple(code.upper() for code in _string_list(value, where))
    try:
        registry.validate_codes(codes, where)
    except registry.UnknownCode as exc:
        raise ConfigError(str(exc)) from None
    return codes


def _rule_options(code: str, table: Any, where: str) -> dict[str, Any]:
    try:
        rule = registry.find_rule(code)
    except registry.UnknownCode:
        raise ConfigError(f"{where}: unknown key {code!r}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}.{code}: expected a table of options")
    known = {option.name: option for option in rule.OPTIONS}
    parsed: dict[str, Any] = {}
    for name, raw in table.items():
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"{where}.{code}: unknown option {name!r} (options: {names})")
        try:
            parsed[name] = known[name].parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.{code}.{name}: invalid value {raw!r}: {exc}") from None
    return parsed


def settings_from_table(table: Mapping[str, Any], root: str, source: str) -> Settings:
    settings = Settings(root=root, config_file=source)
    where = f"{source}: [tool.leaklint]"
    options: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        if key == "select":
            settings = replace(settings, select=_codes(value, f"{where} select"))
        elif key == "ignore":
            settings = replace(settings, ignore=_codes(value, f"{where} ignore"))
        elif key == "extend-select":
            settings = replace(settings, extend_select=_codes(value, f"{where} extend-select"))
        elif key == "exclude":
            settings = replace(settings, exclude=_string_list(value, f"{where} exclude"))
        elif key == "extend-exclude":
            patterns = _string_list(value, f"{where} extend-exclude")
            settings = replace(settings, extend_exclude=settings.extend_exclude + patterns)
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} per-file-ignores: expected a table of pattern = codes")
            pairs = tuple(
                (pattern, _codes(codes, f"{where} per-file-ignores {pattern!r}"))
                for pattern, codes in value.items()
            )
            settings = replace(settings, per_file_ignores=pairs)
        elif key == "cache-dir":
            if not isinstance(value, str):
                raise ConfigError(f"{where} cache-dir: expected a string")
            settings = replace(settings, cache_dir=os.path.join(root, value))
        elif key == "confidence":
            settings = replace(settings, confidence=parse_confidence(value, f"{where} confidence"))
        elif key.upper().startswith(registry.PREFIX) or isinstance(value, dict):
            rule = _rule_by_key(key, where)
            options[rule.CODE] = _rule_options(rule.CODE, value, where)
        else:
            known = ", ".join(sorted(TOP_LEVEL_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r} (known keys: {known}, or a rule code)")
    return replace(settings, rule_options=options)


def parse_confidence(value: Any, where: str) -> Confidence:
    """``high`` (the default: only findings a maintainer would fix) or ``medium`` (also the
    shapes that leak in some code and are noise in most)."""
    try:
        return Confidence(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(repr(c.value) for c in Confidence)
        raise ConfigError(f"{where}: {value!r} is not a confidence (one of {choices})") from None


def _rule_by_key(key: str, where: str) -> type[Rule]:
    try:
        return registry.find_rule(key)
    except registry.UnknownCode:
        known = ", ".join(sorted(TOP_LEVEL_KEYS))
        raise ConfigError(
            f"{where}: unknown key {key!r} (known keys: {known}, or a rule code)"
        ) from None


def find_project_root(start: str) -> Optional[Path]:
    """The nearest folder at or above ``start`` holding a pyproject.toml, with or without a
    [tool.leaklint] table."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    return next((f for f in (here, *here.parents) if (f / "pyproject.toml").is_file()), None)


def load_settings(config_file: Optional[str], start: str) -> Settings:
    path = Path(config_file) if config_file else find_config(start)
    if path is None:
        project = find_project_root(start)
        return Settings(root=str(project) if project else os.getcwd())
    if config_file and not path.is_file():
        raise ConfigError(f"{config_file}: no such configuration file")
    data = _read_toml(path)
    table = data.get("tool", {}).get("leaklint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.leaklint] must be a table")
    return settings_from_table(table, str(path.parent), str(path))


def apply_command_line(
    settings: Settings,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    confidence: Optional[str] = None,
    exclude: Sequence[str] = (),
    extend_exclude: Sequence[str] = (),
) -> Settings:
    """Command-line selection overrides the file's ``select``; ``--ignore`` and
    ``--extend-select`` add to what the file says; ``--confidence`` overrides the file's. In
    the same way ``--exclude`` replaces the file's ``exclude`` and ``--extend-exclude`` adds to
    its ``extend-exclude``; their patterns are relative to the current folder, as typed."""
    if confidence is not None:
        settings = replace(settings, confidence=parse_confidence(confidence, "--confidence"))
    if select:
        settings = replace(settings, select=_codes(list(select), "--select"))
    if ignore:
        settings = replace(settings, ignore=settings.ignore + _codes(list(ignore), "--ignore"))
    if extend_select:
        settings = replace(
            settings,
            extend_select=settings.extend_select + _codes(list(extend_select), "--extend-select"),
        )
    if exclude:
        settings = replace(settings, exclude=_from_here(exclude, settings.root))
    if extend_exclude:
        settings = replace(
            settings, extend_exclude=settings.extend_exclude + _from_here(extend_exclude,
                                                                           settings.root)
        )
    return settings


def _from_here(patterns: Sequence[str], root: str) -> tuple[str, ...]:
    """Anchored patterns (``gen/*.py``) typed in a subfolder of the project, made relative to
    the project root; unanchored ones (``build/``, ``*_pb2.py``) match anywhere already."""
    here = _relative_posix(os.getcwd(), root)
    if here == "." or here.startswith("../") or os.path.isabs(here):
        return tuple(patterns)
    return tuple(
        f"{here}/{pattern}" if "/" in pattern.rstrip("/") else pattern for pattern in patterns
    )
