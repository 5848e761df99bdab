"""Which files a run checks: the named files, and the Python files below the named folders."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Callable

SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        "node_modules",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".leaklint_cache",
        "build",
        "dist",
        "__pypackages__",
    }
)
SKIPPED_FOLDER_PATTERNS = ("*.egg-info",)
PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
# `#!/usr/bin/python3`, `#!/usr/bin/env python3.12`, `#!/usr/bin/env -S uv run python`, pypy.
_PYTHON_SHEBANG = re.compile(rb"^#![^\n]*\b(?:python|pypy)[0-9.]*\b")


@dataclass(frozen=True)
class Target:
    """A file to check. ``problem`` is set when the path cannot be checked at all."""

    path: str
    problem: str = ""


@dataclass(frozen=True)
class NamedPaths:
    """The paths named on the command line, sorted out before any is checked."""

    checked: tuple[str, ...]  # folders, and files that are Python source
    missing: tuple[tuple[str, str], ...]  # (path, why it cannot be used): a usage error
    not_python: tuple[str, ...]  # files skipped with a warning (README.md, setup.cfg)


def sort_named_paths(paths: Sequence[str]) -> NamedPaths:
    checked: list[str] = []
    missing: list[tuple[str, str]] = []
    not_python: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            checked.append(path)
        elif not os.path.isfile(path):
            missing.append((path, _why_missing(path)))
        elif is_python_source(path):
            checked.append(path)
        else:
            not_python.append(path)
    return NamedPaths(tuple(checked), tuple(missing), tuple(not_python))


def is_python_source(path: str) -> bool:
    """A ``.py``/``.pyw``/``.pyi`` file, or any file whose first line is a Python shebang
    (a script without a suffix). A file that cannot be read counts as Python, so that the
    check reports why it cannot be read."""
    if path.endswith(PYTHON_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            first_line = handle.readline(256)
    except OSError:
        return True
    return _PYTHON_SHEBANG.match(first_line) is not None


def _is_skipped_folder(path: str, name: str) -> bool:
    if name in SKIPPED_FOLDERS or any(fnmatch.fnmatch(name, p) for p in SKIPPED_FOLDER_PATTERNS):
        return True
    # Any virtual environment, whatever it is called.
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def discover(
    paths: Sequence[str], is_excluded: Callable[[str, str], bool]
) -> Iterator[Target]:
    """Files in a stable order. A file named explicitly is always checked; files found in
    folders are checked unless excluded. Symbolic links to folders are not followed, so a
    link loop cannot trap the walk."""
    seen: set[str] = set()
    for given in paths:
        if os.path.isfile(given):
            if given not in seen:
                seen.add(given)
                yield Target(given)
            continue
        if not os.path.isdir(given):
            yield Target(given, _why_missing(given))
            continue
        for target in _walk(given, is_excluded):
            if target.path not in seen:
                seen.add(target.path)
                yield target


def _why_missing(path: str) -> str:
    try:
        os.stat(path)
    except FileNotFoundError:
        return "no such file or folder"
    except OSError as exc:
        return f"cannot open path: {exc.strerror}"
    return "not a regular file or folder"


def _walk(root: str, is_excluded: Callable[[str, str], bool]) -> Iterator[Target]:
    def on_error(exc: OSError) -> None:
        unreadable.append(Target(exc.filename or root, f"cannot list folder: {exc.strerror}"))

    unreadable: list[Target] = []
    for folder, subfolders, files in os.walk(root, onerror=on_error):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not _is_skipped_folder(os.path.join(folder, name), name)
            and not is_excluded(os.path.join(folder, name) + os.sep, root)
        )
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.normpath(os.path.join(folder, name))
                if not is_excluded(path, root):
                    yield Target(path)
    # An unreadable folder is reported once, as a path that could not be opened.
    yield from unreadable
