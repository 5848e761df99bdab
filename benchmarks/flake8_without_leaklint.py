"""flake8 as installed (pyflakes, pycodestyle, mccabe, bugbear, ...) minus leaklint's own
plugin, which the benchmark measures separately. Arguments are flake8's."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from flake8.main import cli
from flake8.plugins import finder

_find_plugins = finder.find_plugins


def _without_leaklint(*args: Any, **kwargs: Any) -> Iterable[Any]:
    return [plugin for plugin in _find_plugins(*args, **kwargs) if plugin.package != "leaklint"]


finder.find_plugins = _without_leaklint  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
