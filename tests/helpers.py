"""Small helpers shared by the tests: run leaklint in-process through click."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from leaklint.cli import main

LEAKY_TASK = (
    "import asyncio\n\n\nasync def handler():\n    asyncio.create_task(work())\n"
)


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run_cli(*args: str, input: Any = None) -> Result:
    return _runner().invoke(main, list(args), input=input, catch_exceptions=False)


def json_findings(result: Result) -> list[dict[str, Any]]:
    return json.loads(result.stdout)  # type: ignore[no-any-return]
