"""The tools the benchmark compares, as data: how to build each command line.

Every tool gets the same explicit list of files (what ``leaklint check FOLDER`` would check),
the same number of worker processes, and no persistent cache unless the row is about the cache.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))

# ruff's rules about leaks and their neighbours: files opened without `with`, dropped asyncio
# tasks, lru_cache on methods, mutable default arguments, requests without timeout, and the
# flake8-async family. Codes the installed ruff does not know are dropped (see ruff_codes).
RUFF_LEAK_RULES = ("SIM115", "RUF006", "B019", "B006", "S113", "ASYNC")


@dataclass(frozen=True)
class Setup:
    """What every command is built from."""

    files: tuple[str, ...]
    file_list: str  # the same files, one per line (for tools that read a list)
    jobs: int
    config: str  # a pyproject.toml whose [tool.leaklint] only sets cache-dir
    ruff_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    build: Callable[[Setup], list[str]]
    # None: always available; else the module or executable that must exist.
    needs: Optional[str] = None
    env: dict[str, str] = field(default_factory=dict)
    # A run to do first, untimed for the table (the warm-cache row primes its cache).
    prime: Optional[Callable[[Setup], list[str]]] = None


def venv_executable(name: str) -> Optional[str]:
    """``name`` next to the running interpreter (the venv), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def _leaklint(setup: Setup, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "leaklint", "check", "--exit-zero", "--format", "json",
        "--jobs", str(setup.jobs), "--config", setup.config, *extra, *setup.files,
    ]  # fmt: skip


def _leaklint_cold(setup: Setup) -> list[str]:
    return _leaklint(setup, "--no-cache")


def _leaklint_warm(setup: Setup) -> list[str]:
    return _leaklint(setup)


def _floor(setup: Setup) -> list[str]:
    script = os.path.join(HERE, "parse_floor.py")
    return [sys.executable, script, "--jobs", str(setup.jobs), f"@{setup.file_list}"]


def _flake8(setup: Setup) -> list[str]:
    script = os.path.join(HERE, "flake8_without_leaklint.py")
    return [sys.executable, script, "--exit-zero", "-j", str(setup.jobs), *setup.files]


def _pylint(setup: Setup) -> list[str]:
    return [
        sys.executable, "-m", "pylint", "--disable=all", "--enable=consider-using-with",
        "-j", str(setup.jobs), "--exit-zero", "--persistent=n", "--score=n",
        "--output-format=text", *setup.files,
    ]  # fmt: skip


def _ruff(setup: Setup) -> list[str]:
    ruff = venv_executable("ruff") or "ruff"
    return [
        ruff, "check", "--isolated", "--no-cache", "--exit-zero", "--quiet",
        "--select", ",".join(setup.ruff_codes), *setup.files,
    ]  # fmt: skip


TOOLS: tuple[Tool, ...] = (
    Tool("cold", "leaklint cold (--no-cache)", _leaklint_cold),
    Tool("warm", "leaklint warm cache", _leaklint_warm, prime=_leaklint_warm),
    Tool("floor", "libcst.parse_module only (floor)", _floor),
    Tool("flake8", "flake8 + bugbear", _flake8, needs="bugbear"),
    Tool("pylint", "pylint consider-using-with", _pylint, needs="pylint"),
    # ruff runs one thread per core unless told; give it the same number of workers.
    Tool("ruff", "ruff leak-related rules", _ruff, needs="ruff:exe"),
)


def available(tool: Tool) -> bool:
    if tool.needs is None:
        return True
    if tool.needs.endswith(":exe"):
        return venv_executable(tool.needs[: -len(":exe")]) is not None
    import importlib.util

    return importlib.util.find_spec(tool.needs) is not None


def ruff_codes(known: Sequence[str]) -> tuple[str, ...]:
    """The leak rules the installed ruff knows (``known``: every code it lists)."""
    return tuple(
        code for code in RUFF_LEAK_RULES if any(rule.startswith(code) for rule in known)
    )
