"""The reference rules (LK201-LK206) on real-code shapes: what is high, medium, or silent."""

from __future__ import annotations

import textwrap
from typing import Optional

from leaklint import registry
from leaklint.engine import check_bytes
from leaklint.model import Confidence


def _found(
    source: str, code: str, path: str = "pkg/module.py"
) -> list[tuple[int, str, Optional[str]]]:
    """(line, confidence, message) of every finding of ``code`` at ``--confidence medium``."""
    ruleset = registry.rule_set([code], (), [code], confidence=Confidence.MEDIUM)
    result = check_bytes(textwrap.dedent(source).encode(), path, ruleset)
    assert not result.errors, result.errors
    return [(f.line, f.confidence.value, f.message) for f in result.findings]


def _levels(source: str, code: str, path: str = "pkg/module.py") -> list[tuple[int, str]]:
    return [(line, level) for line, level, _ in _found(source, code, path)]


# --- LK204 -----------------------------------------------------------------------------------
SIGHUP_REWRITES_PIDFILE = """\
    import atexit
    import signal
    class Daemon:
        def daemonize(self):
            self._write_pidfile()
            self._setup_signal_handlers()
        def _write_pidfile(self):
            atexit.register(self._remove_pidfile)
        def _remove_pidfile(self):
            pass
        def _setup_signal_handlers(self):
            def _handle_sighup(signum, frame):
                self._write_pidfile()
            signal.signal(signal.SIGHUP, _handle_sighup)
    """


def test_registration_re_run_from_a_signal_handler_is_high() -> None:
    ((line, level, message),) = _found(SIGHUP_REWRITES_PIDFILE, "LK204")
    assert (line, level) == (8, "high")
    assert "`_handle_sighup()`" in message and "callback" in message


def test_registration_only_reached_from_one_time_code_is_silent() -> None:
    source = SIGHUP_REWRITES_PIDFILE.replace(
        "signal.signal(signal.SIGHUP, _handle_sighup)", "_handle_sighup(1, None)"
    )
    assert _levels(source, "LK204") == []


def test_signal_signal_replaces_one_slot_and_is_not_reported() -> None:
    source = """\
        import signal
        class Reloader:
            def reload(self, *args): pass
            def handle(self, request):
                signal.signal(signal.SIGUSR1, self.reload)
    """
    assert _levels(source, "LK204") == []


def test_add_handler_counts_only_on_logging_loggers() -> None:
    source = """\
        import logging
        from .own import getLogger
        log = logging.getLogger("jobs")
        def handle_job(job):
            getLogger("jobs").addHandler(object())
            log.addHandler(logging.StreamHandler())
        def handle_stream(logger, stream):
            logger.addHandler(stream)
    """
    assert _levels(source, "LK204") == [(6, "high")]


def test_cli_code_that_exits_on_error_runs_once() -> None:
    source = """\
        import atexit, os, sys
        def fetch(url):
            if not url:
                sys.exit(1)
            atexit.register(os.remove, url)
    """
    assert _levels(source, "LK204") == []
    assert _levels(source.replace("sys.exit(1)", "raise ValueError(url)"), "LK204") == [
        (5, "high")
    ]


def test_init_of_a_module_singleton_runs_at_import() -> None:
    source = """\
        import atexit
        class Collector:
            def __init__(self):
                atexit.register(self.close)
            def close(self): pass
        collector = Collector()
    """
    assert _levels(source, "LK204") == []
    assert _levels(source.replace("collector = Collector()", ""), "LK204") == [(4, "medium")]


def test_registration_without_evidence_of_repetition_is_medium() -> None:
    source = """\
        import atexit
        def open_tunnel(server, port):
            atexit.register(print, server, port)
    """
    assert _levels(source, "LK204") == [(3, "medium")]
    looped = textwrap.dedent(source) + (
        "def open_all(servers):\n    for s in servers:\n        open_tunnel(s, 22)\n"
    )
    assert _levels(looped, "LK204") == [(3, "high")]


def test_guards_other_than_handlers() -> None:
    source = """\
        import atexit, logging
        def handle(name, request):
            if name in logging.Logger.manager.loggerDict:
                return
            logging.getLogger(name).addHandler(logging.NullHandler())
        class Hooks:
            def process(self, job):
                if self._hook is not None:
                    return
                self._hook = atexit.register(print)
    """
    assert _levels(source, "LK204") == []


def test_registration_in_test_code_is_medium() -> None:
    source = """\
        import atexit
        def handle(request):
            atexit.register(print, request)
    """
    assert _levels(source, "LK204") == [(3, "high")]
    assert _levels(source, "LK204", "tests/test_server.py") == [(3, "medium")]


# --- LK202 -----------------------------------------------------------------------------------
def test_cached_method_confidence() -> None:
    source = """\
        import functools
        class Command:
            @functools.cache
            def find(self, label): ...
            @functools.lru_cache(maxsize=64)
            def parse(self, text): ...
    """
    assert _levels(source, "LK202") == [(3, "high"), (5, "medium")]
    cleared = textwrap.dedent(source) + "    def reset(self):\n        self.find.cache_clear()\n"
    assert _levels(cleared, "LK202") == [(3, "medium"), (5, "medium")]
    singleton = textwrap.dedent(source) + "command = Command()\n"
    assert _levels(singleton, "LK202") == [(3, "medium"), (5, "medium")]


# --- LK201 -----------------------------------------------------------------------------------
def test_cache_keys_by_what_they_reveal() -> None:
    source = """\
        import threading
        _by_conn = {}
        _by_thread = {}
        _by_id = {}
        _by_text = {}
        def script(connection):
            _by_conn[connection] = 1
        def local():
            _by_thread[threading.get_ident()] = 1
        def handle_of(frame):
            _by_id[id(frame)] = frame
        def normalise(text):
            if text not in _by_text:
                _by_text[text] = text.lower()
            return _by_text[text]
        _handlers = {}
        def remember(name, handler):
            _handlers[name] = handler
    """
    assert _levels(source, "LK201") == [(2, "high"), (3, "medium"), (4, "medium"), (5, "medium")]
    assert _levels(source, "LK201", "tests/helpers.py") == [
        (2, "medium"), (3, "medium"), (4, "medium"), (5, "medium")
    ]


# --- LK205 / LK206 ---------------------------------------------------------------------------
def test_logger_names_from_enums_and_constructor_arguments() -> None:
    source = """\
        import enum, logging
        class Kind(enum.Enum):
            A = "a"
        def for_kind(kind: Kind):
            return logging.getLogger(f"pool.{kind.value}")
        class Manager:
            def __init__(self, appid):
                self.log = logging.getLogger("app.%s" % appid)
        def for_job(job_id):
            return logging.getLogger(f"jobs.{job_id}")
    """
    assert _levels(source, "LK205") == [(8, "medium"), (10, "high")]


def test_default_list_popped_in_finally_is_a_reentrancy_guard() -> None:
    source = """\
        def walk(node, _active=[]):
            _active.append(node)
            try:
                return [walk(c) for c in node]
            finally:
                _active.pop()
    """
    assert _levels(source, "LK206") == []
    unguarded = source.replace("_active.pop()", "pass")
    assert _levels(unguarded, "LK206") == [(1, "high")]
