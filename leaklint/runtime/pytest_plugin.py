"""pytest plugin (registered by entry point): ``pytest --leaklint`` checks each test for leaks."""

from __future__ import annotations

from typing import Any


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("leaklint")
    group.addoption("--leaklint", action="store_true", help="fail tests that leave leaks behind")
