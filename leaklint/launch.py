"""The ``leaklint`` command's entry point: the CLI, with libcst imported only when a file needs
the full analysis (see :mod:`leaklint.deferred_import`).

The deferral is set up here, before any module that imports libcst, and not in the package's
``__init__``: the flake8 and pytest plugins run inside the user's own processes, whose imports
are left as they are.
"""

from __future__ import annotations

from leaklint.deferred_import import defer


def main() -> None:
    defer("libcst")
    from leaklint.cli import main as run_command  # after the deferral, on purpose

    run_command()
