"""``leaklint confirm``: the command-line face of the runtime companion."""

from __future__ import annotations

import json
import os
import sys

import click


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("--timeout", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
              help="Seconds each fixture's main() may run before it is reported as timed out.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Fixtures run at the same time.")
def confirm(paths: tuple[str, ...], output_format: str, timeout: float, jobs: int) -> None:
    """Run each fixture's main() in a fresh subprocess and confirm or refute the static
    findings of the same files (PATHS: files, or folders holding fixtures/*/*.py).

    Exit status 0 when every finding is confirmed, no leak is seen that no finding explains,
    and every fixture ran to completion; a fixture's recorded gaps (`# fp:` left unconfirmed,
    `# miss:` seen only at run time) are expected. Otherwise 1."""
    # Imported here: the probes and hooks (asyncio among them) would cost every `leaklint
    # check` start-up, which registers this command.
    from leaklint.runtime import confirm as confirming

    if not paths and not os.path.isdir("fixtures"):
        raise click.UsageError("no PATHS given and no fixtures/ folder here")
    verdicts = confirming.confirm(paths or ("fixtures",), timeout, jobs)
    if output_format == "json":
        click.echo(json.dumps(confirming.to_json(verdicts), indent=2))
    else:
        click.echo(confirming.to_text(verdicts), nl=False)
    sys.exit(confirming.exit_status(verdicts))
