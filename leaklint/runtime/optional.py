"""Libraries that some fixtures use and leaklint itself does not need (the ``confirm`` extra).

Without them ``leaklint confirm`` skips the fixtures that import them ("skipped: needs
requests") instead of failing those fixtures as import errors.
"""

from __future__ import annotations

from typing import Optional

EXTRA = "confirm"
INSTALL_HINT = f"pip install 'leaklint[{EXTRA}]'"
# Import name -> distribution name: the `confirm` extra of pyproject.toml (a test keeps the two
# in step).
LIBRARIES = {
    "requests": "requests",
    "httpx": "httpx",
    "aiohttp": "aiohttp",
    "async_lru": "async-lru",
}


def missing_library(exc: BaseException) -> Optional[str]:
    """The distribution to install when ``exc`` says one of these libraries is absent."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return LIBRARIES.get(exc.name.partition(".")[0])
    return None
