"""The ``leaklint`` command: check, rule, rules, confirm, top."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Callable, Optional, TypeVar

import click

from leaklint import __version__, registry
from leaklint.config import ConfigError, Settings, apply_command_line, load_settings
from leaklint.discovery import NamedPaths, discover, sort_named_paths
from leaklint.engine import check_bytes
from leaklint.figures import amount
from leaklint.fix_command import FixRequest, run_fixes
from leaklint.model import Applicability, Confidence, FileResult, Finding, InternalError
from leaklint.reporters import FORMATS, RENDERERS
from leaklint.runner import check_targets, result_cache_folder
from leaklint.settings_report import describe_settings
from leaklint.source import UnreadableSource, decode_source, read_source
from leaklint.text_report import (
    Painter,
    colour_wanted,
    render_concise,
    render_full,
    render_statistics,
    statistics_json,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _code_list(values: Sequence[str]) -> list[str]:
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


def _pattern_list(values: Sequence[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


# Text formats for people; the others are for machines and ignore colour and source lines.
TEXT_FORMATS = ("text", "full")
F = TypeVar("F", bound=Callable[..., Any])


def _report_and_discovery_options(command: F) -> F:
    """The options that shape what is shown and which files are found (kept together, apart
    from the selection and fix options)."""
    options = [
        click.option("--statistics", is_flag=True,
                     help="Show the number of findings per code instead of each finding."),
        click.option("--show-source", is_flag=True,
                     help="Show the offending source lines under each finding (= --format full)."),
        click.option("--no-color", is_flag=True,
                     help="No colour, even on a terminal (also: the NO_COLOR variable)."),
        click.option("--quiet", "-q", count=True,
                     help="-q: findings only, no summary or warnings; -qq: exit status only."),
        click.option("--exclude", multiple=True,
                     help="Patterns to skip, replacing the configuration's `exclude`."),
        click.option("--extend-exclude", multiple=True,
                     help="Patterns to skip in addition to the configured ones."),
        click.option("--show-files", is_flag=True,
                     help="List the files that would be checked, and exit."),
        click.option("--show-settings", is_flag=True,
                     help="Show the settings in effect and where they came from, and exit."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leaklint")
def main() -> None:
    """Find code that leaks threads, tasks, executors, memory, files, sockets and connections."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_report_and_discovery_options
@click.option("--select", multiple=True, help="Codes or prefixes to check (comma list).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to skip (comma list).")
@click.option("--extend-select", multiple=True, help="Codes to add to the selection.")
@click.option("--format", "--output-format", "output_format",
              type=click.Choice((*FORMATS, "full")), default="text",
              help="text (one line a finding), full (with the source lines), json, sarif, github.")
@click.option("--output-file", type=click.Path(dir_okay=False, writable=True))
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when leaks are found.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--confidence",
    type=click.Choice([c.value for c in Confidence], case_sensitive=False),
    default=None,
    help="Least confidence reported: high (default) or medium (also the doubtful shapes).",
)
@click.option("--fix", is_flag=True, help="Apply safe autofixes to the files.")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply (with --fix, --diff) fixes that may change behaviour.")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff instead of writing them.")
@click.option("--stdin-filename", default=None, help="The name of the file read from stdin (-).")
def check(
    paths: tuple[str, ...],
    statistics: bool,
    show_source: bool,
    no_color: bool,
    quiet: int,
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    show_files: bool,
    show_settings: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    output_format: str,
    output_file: Optional[str],
    exit_zero: bool,
    jobs: Optional[int],
    no_cache: bool,
    config_file: Optional[str],
    confidence: Optional[str],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    stdin_filename: Optional[str],
) -> None:
    """Check PATHS (files or folders; default: the current folder) for leaks."""
    reading_stdin = paths == ("-",)
    start = stdin_filename if reading_stdin and stdin_filename else (paths[0] if paths else ".")
    try:
        settings = load_settings(config_file, _config_search_start(start))
        settings = apply_command_line(
            settings,
            _code_list(select),
            _code_list(ignore),
            _code_list(extend_select),
            confidence,
            exclude=_pattern_list(exclude),
            extend_exclude=_pattern_list(extend_exclude),
        )
    except ConfigError as exc:
        click.echo(f"leaklint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if show_source and output_format == "text":
        output_format = "full"
    if statistics and output_format not in (*TEXT_FORMATS, "json"):
        click.echo(f"leaklint: error: --statistics shows text or json, not {output_format}",
                   err=True)
        sys.exit(EXIT_ERROR)
    if show_settings:
        click.echo(describe_settings(settings, result_cache_folder(settings), not no_cache),
                   nl=False)
        sys.exit(EXIT_CLEAN)

    request = FixRequest(apply=fix, diff=diff, unsafe=unsafe_fixes)
    # Building fixes costs a code generation per finding: only when they are asked for or
    # will be shown (JSON and SARIF carry them).
    with_fixes = request.wanted or output_format in ("json", "sarif")
    stdin_text: dict[str, str] = {}
    named = NamedPaths((), (), ())
    if reading_stdin:
        results = [_check_stdin(settings, stdin_filename or "-", stdin_text, with_fixes)]
    else:
        named = _sort_out_named_paths(paths or (".",), quiet)
        targets = list(discover(named.checked, settings.is_excluded))
        if show_files:
            click.echo("".join(f"{target.path}\n" for target in targets), nl=False)
            sys.exit(EXIT_ERROR if named.missing else EXIT_CLEAN)
        results = check_targets(
            targets, settings, jobs or os.cpu_count() or 1, not no_cache, fixes=with_fixes
        )

    if request.changes_files and reading_stdin:
        click.echo("leaklint: --fix and --diff do not rewrite stdin; the findings carry their "
                   "fixes with --format json", err=True)
    elif request.changes_files:
        results = run_fixes(results, settings, request, output_file)
        if diff:  # the diff is the report
            errors = _report_errors(results)
            sys.exit(EXIT_ERROR if errors else EXIT_FINDINGS if request.diff_shown else EXIT_CLEAN)
    findings = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    paint = Painter(not output_file and colour_wanted(sys.stdout, no_color))
    if quiet < 2:
        report = _render(findings, output_format, statistics, paint, stdin_text)
        _write(report, output_file, paint.colour)
    errors = _report_errors(results)
    if output_format in TEXT_FORMATS and not quiet:
        _summarise(findings, len(results))
        if with_fixes and not request.changes_files:
            request.summarise_available(findings)
    if errors or named.missing:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)


def _report_errors(results: Sequence[FileResult]) -> list[InternalError]:
    errors = [error for result in results for error in result.errors]
    for error in errors:
        click.echo(f"leaklint: {error.describe()}", err=True)
        click.echo(error.traceback, err=True)
    return errors


def _config_search_start(path: str) -> str:
    """The folder to look for pyproject.toml from: the path itself if it is a folder."""
    absolute = os.path.abspath(path)
    return absolute if os.path.isdir(absolute) else os.path.dirname(absolute)


def _sort_out_named_paths(paths: Sequence[str], quiet: int) -> NamedPaths:
    """A path that does not exist is a usage error (exit 2, the others are still checked); a
    named file that is not Python source is skipped with a warning."""
    named = sort_named_paths(paths)
    for path, why in named.missing:
        click.echo(f"leaklint: error: {path}: {why}", err=True)
    if not quiet:
        for path in named.not_python:
            click.echo(f"leaklint: warning: {path}: not Python source (no .py suffix and no "
                       "Python shebang), skipped", err=True)
    return named


def _check_stdin(
    settings: Settings, shown_path: str, texts: dict[str, str], with_fixes: bool
) -> FileResult:
    data = sys.stdin.buffer.read()
    try:  # kept for --show-source, decoded as the check decodes it
        texts[shown_path] = decode_source(data).text
    except UnreadableSource:
        texts[shown_path] = ""
    result = check_bytes(data, shown_path, replace(settings.ruleset(), fixes=with_fixes))
    return settings.without_ignored(result)


def _render(findings: Sequence[Finding], output_format: str, statistics: bool, paint: Painter,
            stdin_text: dict[str, str]) -> str:
    if statistics and output_format == "json":
        return json.dumps(statistics_json(findings), indent=2) + "\n"
    if statistics:
        return render_statistics(findings, paint)
    if output_format == "full":
        return render_full(findings, paint, _source_reader(stdin_text))
    if output_format == "text":
        return render_concise(findings, paint)
    return RENDERERS[output_format](findings)


def _source_reader(known: dict[str, str]) -> Callable[[str], Sequence[str]]:
    """Lines of each reported file, read once, decoded as the check decoded them."""
    cache: dict[str, Sequence[str]] = {}

    def lines(path: str) -> Sequence[str]:
        if path not in cache:
            if path in known:
                cache[path] = known[path].splitlines(keepends=True)
            else:
                try:
                    cache[path] = read_source(path).text.splitlines(keepends=True)
                except UnreadableSource:
                    cache[path] = []
        return cache[path]

    return lines


def _write(text: str, output_file: Optional[str], colour: bool = False) -> None:
    if output_file:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False, color=colour)


def _summarise(findings: Sequence[Finding], checked: int) -> None:
    files = amount(len({f.path for f in findings}), "files")
    checked_text = f"{amount(checked, 'files')} checked"
    if findings:
        click.echo(f"Found {amount(len(findings), 'leaks')} in {files} ({checked_text}).",
                   err=True)
    else:
        click.echo(f"No leaks found ({checked_text}).", err=True)


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Show the documentation of rule CODE (a code such as LK301, or a name)."""
    try:
        found = registry.find_rule(code)
    except registry.UnknownCode as exc:
        click.echo(f"leaklint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    default = "on by default" if found.DEFAULT_ENABLED else "off by default"
    fixable = (
        f"{found.AUTOFIX.value} autofix" if found.AUTOFIX is not None else "no autofix"
    )
    click.echo(f"# {found.CODE} {found.NAME} ({default}, {fixable})\n")
    click.echo(found.documentation())
    for option in found.OPTIONS:
        click.echo(f"\nOption `{option.name}` (default {option.default!r}): {option.help}")


@main.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, default on/off, autofix."""
    click.echo(f"{'code':<6}  {'name':<30}  {'default':<7}  {'autofix':<7}  summary")
    for found in registry.ALL_RULES:
        default = "on" if found.DEFAULT_ENABLED else "off"
        fixable = _autofix_column(found.AUTOFIX)
        click.echo(f"{found.CODE:<6}  {found.NAME:<30}  {default:<7}  {fixable:<7}  "
                   f"{found.summary()}")


@main.command()
@click.argument("url")
@click.option("--interval", "-n", type=click.FloatRange(min=0.1), default=2.0,
              help="Seconds between refreshes.")
@click.option("--once", is_flag=True, help="Print the table once and exit.")
@click.option("--limit", type=click.IntRange(min=1), default=8, help="Sites shown per kind.")
def top(url: str, interval: float, once: bool, limit: int) -> None:
    """Live table of a running process's threads, tasks, descriptors and heap by creation site,
    read from its LeakMonitor endpoint (URL such as 127.0.0.1:9464)."""
    from leaklint.runtime.top import run

    try:
        sys.exit(run(url, interval, once, limit, write=lambda text: click.echo(text, nl=False)))
    except KeyboardInterrupt:
        sys.exit(EXIT_CLEAN)


def _autofix_column(applicability: Optional[Applicability]) -> str:
    """``yes`` for a safe fix (``--fix``), ``unsafe`` for one that needs --unsafe-fixes."""
    if applicability is None:
        return "no"
    return "yes" if applicability is Applicability.SAFE else "unsafe"


def _register_optional_commands() -> None:
    try:
        from leaklint.runtime.cli import confirm
    except ImportError:  # the runtime companion is optional at import time
        return
    main.add_command(confirm)


_register_optional_commands()
