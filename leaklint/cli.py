"""The ``leaklint`` command: check, rule, rules, confirm."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Optional

import click

from leaklint import __version__, registry
from leaklint.config import ConfigError, Settings, apply_command_line, load_settings
from leaklint.discovery import discover
from leaklint.engine import check_bytes
from leaklint.fix_command import FixRequest, run_fixes
from leaklint.model import Applicability, FileResult, Finding, InternalError
from leaklint.reporters import FORMATS, RENDERERS
from leaklint.runner import check_targets

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _code_list(values: Sequence[str]) -> list[str]:
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leaklint")
def main() -> None:
    """Find code that leaks threads, tasks, executors, memory, files, sockets and connections."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Codes or prefixes to check (comma list).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to skip (comma list).")
@click.option("--extend-select", multiple=True, help="Codes to add to the selection.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text")
@click.option("--output-file", type=click.Path(dir_okay=False, writable=True))
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when leaks are found.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None)
@click.option("--fix", is_flag=True, help="Apply safe autofixes to the files.")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply (with --fix, --diff) fixes that may change behaviour.")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff instead of writing them.")
@click.option("--stdin-filename", default=None, help="The name of the file read from stdin (-).")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    output_format: str,
    output_file: Optional[str],
    exit_zero: bool,
    jobs: Optional[int],
    no_cache: bool,
    config_file: Optional[str],
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
            settings, _code_list(select), _code_list(ignore), _code_list(extend_select)
        )
    except ConfigError as exc:
        click.echo(f"leaklint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)

    request = FixRequest(apply=fix, diff=diff, unsafe=unsafe_fixes)
    # Building fixes costs a code generation per finding: only when they are asked for or
    # will be shown (JSON and SARIF carry them).
    with_fixes = request.wanted or output_format in ("json", "sarif")
    if reading_stdin:
        results = [_check_stdin(settings, stdin_filename or "-", with_fixes)]
    else:
        targets = list(discover(paths or (".",), settings.is_excluded))
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
    _write(RENDERERS[output_format](findings), output_file)
    errors = _report_errors(results)
    if output_format == "text":
        _summarise(findings, len(results))
        if with_fixes and not request.changes_files:
            request.summarise_available(findings)
    if errors:
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


def _check_stdin(settings: Settings, shown_path: str, with_fixes: bool) -> FileResult:
    from leaklint.runner import _apply_settings

    ruleset = replace(settings.ruleset(), fixes=with_fixes)
    result = check_bytes(sys.stdin.buffer.read(), shown_path, ruleset)
    return _apply_settings(result, settings)


def _write(text: str, output_file: Optional[str]) -> None:
    if output_file:
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


def _summarise(findings: Sequence[Finding], checked: int) -> None:
    files = len({f.path for f in findings})
    checked_text = f"{checked} file{'s' if checked != 1 else ''} checked"
    if findings:
        leaks = f"{len(findings)} leak{'s' if len(findings) != 1 else ''}"
        click.echo(f"Found {leaks} in {files} file{'s' if files != 1 else ''} ({checked_text}).",
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
