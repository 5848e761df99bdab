"""pytest plugin (registered by entry point): ``pytest --leaklint`` checks each test for leaks.

Each test is a window from before its setup to after its teardown, so what the test and its
function-scoped fixtures leave behind counts. The check after a test compares identities only
(threads, the fd listing, pending tasks, children, what the hooks recorded): microseconds when
nothing changed. Only when something looks new does it judge what is there (creation sites,
machinery), and only when that leaves a candidate does it collect garbage and wait up to the
settle time. What a fixture of wider scope (class, module, session) makes
during its setup is that fixture's: it is left out of the test and checked when the fixture is
torn down, and reported against the fixture.

A leak fails the test's teardown with a short report (``leaked 1 thread (test_x.py:12)``).
``@pytest.mark.leaklint(allow=["thread"])`` relaxes one test, ``kinds=[...]`` narrows it,
``settle=2.0`` waits longer, ``enabled=False`` skips it, ``ignore_threads=[...]`` (and
``ignore_targets``, ``ignore_fds``, ``ignore_sites``, ``ignore_processes``) adds patterns to the
allow-list (the ini options of the same names, and leaklint's short built-in list,
``check.MACHINERY``); a test with the marker is checked even without ``--leaklint``.
``leaklint = true`` in the ini file turns it on for every run.
"""

from __future__ import annotations

import weakref
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pytest

from leaklint.runtime import leak_report, probes
from leaklint.runtime.check import DEFAULT_SETTLE, Check, Ignore, Options
from leaklint.runtime.hooks import TRACKER
from leaklint.runtime.records import LeakError, LeakRecord

_SCOPES = ("class", "module", "package", "session")


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("leaklint")
    group.addoption("--leaklint", action="store_true", default=None,
                    help="fail tests that leave threads, tasks, fds, sockets, processes or "
                         "timers behind")
    group.addoption("--leaklint-settle", type=float, default=None,
                    help=f"seconds to let stopping threads and processes finish, paid only "
                         f"when something looks leaked (default {DEFAULT_SETTLE})")
    group.addoption("--leaklint-kinds", default=None,
                    help="comma list of kinds to check (default: all): thread, timer, task, "
                         "fd, file, socket, process, executor, connection, response, tempfile")
    parser.addini("leaklint", "check every test for leaks (as --leaklint)", type="bool",
                  default=False)
    parser.addini("leaklint_settle", "seconds to wait for stopping things (--leaklint-settle)",
                  default=str(DEFAULT_SETTLE))
    parser.addini("leaklint_kinds", "kinds to check (--leaklint-kinds)", type="args",
                  default=[])
    parser.addini("leaklint_ignore_threads", "thread name patterns leaklint ignores",
                  type="linelist", default=[])
    parser.addini("leaklint_ignore_targets", "thread target patterns leaklint ignores "
                  "(qualified names, fnmatch)", type="linelist", default=[])
    parser.addini("leaklint_ignore_fds", "fd target patterns leaklint ignores "
                  "(e.g. /dev/*, socket:*)", type="linelist", default=[])
    parser.addini("leaklint_ignore_sites", "creating lines leaklint ignores "
                  "(path/*.py, *conftest.py:12)", type="linelist", default=[])
    parser.addini("leaklint_ignore_processes", "child process command lines leaklint "
                  "ignores (fnmatch)", type="linelist", default=[])


@dataclass
class _Session:
    """The plugin's state for one run."""

    enabled: bool
    settle: float
    kinds: Optional[list[str]]
    ignore: Ignore
    check: Optional[Check] = None  # the running test's
    failed: bool = False  # its setup or call failed: that error is the news, not leftovers
    fixtures: dict[int, tuple[str, probes.Snapshot, probes.Snapshot]] = field(
        default_factory=dict)
    fixture_leaks: list[tuple[str, tuple[LeakRecord, ...]]] = field(default_factory=list)


# Keyed by the config (pytester runs sessions inside a session); works on every pytest.
_STATES: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


def _state(config: Any) -> _Session:
    return _STATES[config]


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "leaklint(allow=[...], kinds=[...], settle=1.0, enabled=True, ignore_threads=[...], "
        "ignore_targets=[...], ignore_fds=[...], ignore_sites=[...], ignore_processes=[...]): "
        "leak check options for this test (kinds: thread, task, fd, file, socket, process, "
        "timer, executor, ...; ignore_*: fnmatch patterns added to the ini file's lists)",
    )
    option = config.getoption("leaklint")
    enabled = bool(config.getini("leaklint")) if option is None else bool(option)
    settle = config.getoption("leaklint_settle")
    kinds = config.getoption("leaklint_kinds")
    state = _Session(
        enabled=enabled,
        settle=float(settle if settle is not None else config.getini("leaklint_settle")),
        kinds=kinds.split(",") if kinds else (list(config.getini("leaklint_kinds")) or None),
        ignore=_ignore(lambda name: config.getini(f"leaklint_ignore_{name}")),
    )
    _STATES[config] = state
    if enabled:
        TRACKER.track_coroutine_origins = False
        TRACKER.install()  # once for the run: installing around every test costs more


# The allow-list's parts, by the name the ini options and the marker give them.
_IGNORE_FIELDS = {"threads": "thread_names", "targets": "targets", "fds": "fd_targets",
                  "sites": "frames", "processes": "commands"}


def _ignore(lookup: Callable[[str], Any]) -> Ignore:
    """An :class:`Ignore` from ``lookup("threads")``, ``lookup("fds")``, ... (None or a list)."""
    return Ignore(**{field: tuple(lookup(name) or ()) for name, field in _IGNORE_FIELDS.items()})


def pytest_unconfigure(config: Any) -> None:
    if _state(config).enabled:
        TRACKER.uninstall()


def _options(item: Any) -> Optional[Options]:
    state = _state(item.config)
    marker = item.get_closest_marker("leaklint")
    kwargs = dict(marker.kwargs) if marker is not None else {}
    if not (state.enabled or marker is not None) or not kwargs.pop("enabled", True):
        return None
    # ``ignore_threads=[...]``, ``ignore_fds=[...]``, ...: this test's additions to the run's list.
    ignore = state.ignore.extended(_ignore(lambda name: kwargs.get(f"ignore_{name}")))
    return Options.build(
        kinds=kwargs.get("kinds", state.kinds),
        allow=kwargs.get("allow", ()),
        settle=float(kwargs.get("settle", state.settle)),
        ignore=kwargs.get("ignore", ignore),
    )


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: Any) -> Generator[None, Any, None]:
    state = _state(item.config)
    options = _options(item)
    state.failed = False
    if options is not None:
        state.check = Check(options)
        state.check.start(collect=False)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Generator[None, Any, None]:
    state = _state(request.config)
    check = state.check
    if check is None or fixturedef.scope not in _SCOPES:
        yield
        return
    before = probes.take(check.tracker)
    yield
    after = probes.take(check.tracker)
    check.absorb(before, after)
    state.fixtures[id(fixturedef)] = (_fixture_label(fixturedef), before, after)


def _fixture_label(fixturedef: Any) -> str:
    code = getattr(getattr(fixturedef, "func", None), "__code__", None)
    where = f" ({code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno})" if code else ""
    return f"{fixturedef.scope} fixture `{fixturedef.argname}`{where}"


def pytest_fixture_post_finalizer(fixturedef: Any, request: Any) -> None:
    state = _state(request.config)
    made = state.fixtures.pop(id(fixturedef), None)
    if made is None or state.check is None:
        return
    label, before, after = made
    check = Check(state.check.options)
    now = probes.take(check.tracker)
    # Baseline = now without what the fixture made: what it made and is still there is new.
    check.rebase(probes.Snapshot(**{
        **{name: getattr(now, name) for name in now.__dataclass_fields__},
        "threads": now.threads - (after.threads - before.threads),
        "fds": {fd: t for fd, t in now.fds.items() if not (
            fd in after.fds and before.fds.get(fd) != after.fds[fd])},
        "fd_listing": now.fd_listing - {fd for fd, t in after.fds.items()
                                         if before.fds.get(fd) != t},
        "children": now.children - (after.children - before.children),
        "tasks": now.tasks - (after.tasks - before.tasks),
        "serial": before.serial,
    }))
    records = check.finish()
    if records:
        state.fixture_leaks.append((label, records))


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> Generator[None, Any, None]:
    outcome = yield
    state = _state(item.config)
    check, state.check = state.check, None
    fixture_leaks, state.fixture_leaks = state.fixture_leaks, []
    if check is None:
        return
    if outcome.excinfo is not None or state.failed:
        check.stop()
        return
    records = check.finish()
    groups = [("", records)] if records else []
    groups += fixture_leaks
    if groups:
        error = LeakError(tuple(r for _, rs in groups for r in rs), item.nodeid)
        error.groups = groups  # type: ignore[attr-defined]
        try:
            outcome.force_exception(error)
        except AttributeError:  # pluggy < 1.1
            raise error from None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    excinfo = call.excinfo
    if call.when != "teardown":
        if excinfo is not None and outcome.get_result().failed:
            _state(item.config).failed = True
        return
    if excinfo is None or not isinstance(excinfo.value, LeakError):
        return
    report = outcome.get_result()
    groups = getattr(excinfo.value, "groups", [("", excinfo.value.records)])
    test_file = str(getattr(item, "path", getattr(item, "fspath", "")))
    report.longrepr = leak_report.build(groups, str(item.config.rootpath), test_file)
