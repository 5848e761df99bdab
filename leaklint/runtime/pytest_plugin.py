"""pytest plugin (registered by entry point): ``pytest --leaklint`` checks each test for leaks.

The baseline is taken before the test's setup and the verdict after its teardown, so leaks made
by function-scoped fixtures count; a leak fails the test's teardown with a report that names the
kind, the rule code, the creating line and the stack. ``@pytest.mark.leaklint(allow=["thread"])``
relaxes one test, ``kinds=[...]`` narrows it, ``settle=2.0`` waits longer, ``enabled=False`` skips
it; a test with the marker is checked even without ``--leaklint``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Optional

import pytest

from leaklint.runtime.check import DEFAULT_SETTLE, Check, Ignore, Options
from leaklint.runtime.records import LeakError


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("leaklint")
    group.addoption("--leaklint", action="store_true", help="fail tests that leave leaks behind")
    group.addoption("--leaklint-settle", type=float, default=DEFAULT_SETTLE,
                    help="seconds to let stopping threads and processes finish (default 1.0)")
    parser.addini("leaklint_ignore_threads", "thread name patterns leaklint ignores",
                  type="linelist", default=[])


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "leaklint(allow=[...], kinds=[...], settle=1.0, enabled=True): leak check options "
        "for this test (kinds: thread, task, fd, file, socket, process, timer, executor, ...)",
    )


def _options(item: Any) -> Optional[Options]:
    marker = item.get_closest_marker("leaklint")
    enabled = item.config.getoption("leaklint") or marker is not None
    kwargs = dict(marker.kwargs) if marker is not None else {}
    if not enabled or not kwargs.pop("enabled", True):
        return None
    ignore = Ignore(thread_names=tuple(item.config.getini("leaklint_ignore_threads")))
    return Options.build(
        kinds=kwargs.get("kinds"),
        allow=kwargs.get("allow", ()),
        settle=float(kwargs.get("settle", item.config.getoption("leaklint_settle"))),
        ignore=kwargs.get("ignore", ignore),
    )


def _stash(item: Any) -> dict[str, Any]:
    store: dict[str, Any] = item.__dict__.setdefault("_leaklint", {})
    return store


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: Any) -> Generator[None, Any, None]:
    options = _options(item)
    if options is not None:
        check = Check(options)
        check.start()
        _stash(item)["check"] = check
    yield


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> Generator[None, Any, None]:
    outcome = yield
    check: Optional[Check] = _stash(item).pop("check", None)
    if check is None:
        return
    if outcome.excinfo is not None:
        check.stop()
        return
    records = check.finish()
    if records:
        error = LeakError(records, item.nodeid)
        try:
            outcome.force_exception(error)
        except AttributeError:  # pluggy < 1.1
            raise error from None
