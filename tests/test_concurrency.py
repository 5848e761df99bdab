"""Focused tests of the concurrency analyses: background workers, endless loops, fates of
threads/executors/processes/timers/tasks, and network timeouts. Each snippet is tiny and
mapped to what the rules must say about it."""

from __future__ import annotations

import textwrap

import pytest

from leaklint import registry
from leaklint.engine import RuleSet, check_text
from leaklint.model import Confidence
from leaklint.source import SourceText

CODES = ("LK101", "LK102", "LK103", "LK104", "LK105", "LK106", "LK107", "LK305")
# The analyses are tested at `medium`: what a shape is reported at is the rules' concern.
RULES = registry.rule_set(list(CODES), confidence=Confidence.MEDIUM)
DEFAULT_RULES = registry.rule_set(list(CODES))


def findings(code: str, ruleset: RuleSet = RULES) -> set[tuple[int, str]]:
    source = textwrap.dedent(code).lstrip("\n")
    result = check_text(SourceText(source, "utf-8"), "snippet.py", ruleset)
    assert not result.errors, result.errors
    return {(f.line, f.code) for f in result.findings}


# --- LK102: what runs in the background, and whether its loop can end -------------------------
@pytest.mark.parametrize(
    "code",
    [
        # a thread target looping with no way out
        """
        import threading
        def pump(q):
            while True:
                q.get()
        threading.Thread(target=pump, args=(1,), daemon=True).start()
        """,
        # a bound-method target through functools.partial
        """
        import functools, threading
        class A:
            def _run(self, n):
                while 1:
                    n += 1
            def start(self):
                threading.Thread(target=functools.partial(self._run, 1), daemon=True).start()
        """,
        # a Timer callback
        """
        import threading, time
        def tick():
            while True:
                time.sleep(1)
        def arm():
            timer = threading.Timer(1, tick)
            timer.start()
            return timer
        """,
    ],
)
def test_endless_worker_loops_are_found(code: str) -> None:
    assert any(c == "LK102" for _, c in findings(code))


@pytest.mark.parametrize(
    "code",
    [
        # reads a stop Event
        """
        import threading
        def pump(q, stop):
            while True:
                if stop.is_set():
                    pass
                q.get()
        threading.Thread(target=pump, args=(1, 2), daemon=True).start()
        """,
        # ends by an exception its caller expects (closing the socket it reads)
        """
        import threading
        def serve(sock):
            try:
                while True:
                    sock.accept()
            except OSError:
                pass
        threading.Thread(target=serve, args=(1,), daemon=True).start()
        """,
        # not a background worker at all
        """
        def retry(f):
            while True:
                f()
        """,
        # a break in a nested loop does not end the outer loop, but a return does
        """
        import threading
        def pump(q):
            while True:
                for item in q:
                    if item is None:
                        return
        threading.Thread(target=pump, args=([],), daemon=True).start()
        """,
        # an await loop in a task that its owner cancels
        """
        import asyncio
        async def beat():
            while True:
                await asyncio.sleep(1)
        class C:
            def open(self):
                self._beat = asyncio.create_task(beat())
            def close(self):
                self._beat.cancel()
        """,
    ],
)
def test_loops_that_can_end_are_not_reported(code: str) -> None:
    assert not any(c == "LK102" for _, c in findings(code))


def test_break_in_nested_loop_does_not_count() -> None:
    code = """
    import threading
    def pump(q):
        while True:
            for item in q:
                if item is None:
                    break
    threading.Thread(target=pump, args=([],), daemon=True).start()
    """
    assert (3, "LK102") in findings(code)


# --- LK101/LK104/LK106/LK107 on the ownership analysis ------------------------------------------
def test_thread_started_inline_is_dropped() -> None:
    assert findings(
        """
        import threading
        def f(g):
            threading.Thread(target=g).start()
        """
    ) == {(3, "LK101")}


def test_daemon_forms_are_exempt() -> None:
    assert not findings(
        """
        import threading
        class Bg(threading.Thread):
            def __init__(self):
                super().__init__(daemon=True)
            def run(self):
                pass
        def f(g):
            t = threading.Thread(target=g)
            t.setDaemon(True)
            t.start()
            Bg().start()
        """
    )


def test_subclass_method_that_joins_releases() -> None:
    assert not findings(
        """
        import threading
        class Worker(threading.Thread):
            def run(self):
                pass
            def stop(self):
                self.join()
        def f():
            w = Worker()
            w.start()
            try:
                pass
            finally:
                w.stop()
        """
    )


def test_if_else_creation_into_one_name_is_followed() -> None:
    assert not findings(
        """
        import asyncio
        class C:
            async def f(self, coro, fast):
                if fast:
                    task = asyncio.create_task(coro)
                else:
                    task = asyncio.get_running_loop().create_task(coro)
                self._tasks.add(task)
        """
    )


def test_task_only_read_is_never_awaited() -> None:
    assert findings(
        """
        import asyncio
        async def work():
            pass
        async def f(log):
            t = asyncio.create_task(work())
            log.debug("started %s", t)
            t.add_done_callback(print)
        """
    ) == {(5, "LK106")}


def test_ensure_future_of_a_future_is_not_a_task() -> None:
    assert not findings(
        """
        import asyncio
        async def f(event):
            waiter = asyncio.ensure_future(event.wait())
            asyncio.ensure_future(event.wait())
            return 1
        """
    )


def test_popen_followed_by_exit_is_not_a_leak() -> None:
    assert not findings(
        """
        import os, subprocess, sys
        def restart():
            subprocess.Popen([sys.executable] + sys.argv)
            os._exit(0)
        """
    )


def test_kill_without_wait_leaves_a_zombie() -> None:
    assert findings(
        """
        import subprocess
        def f():
            child = subprocess.Popen(["sleep", "5"])
            child.kill()
        """
    ) == {(3, "LK104")}


# --- LK305 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import requests\nrequests.get(u)\n", {(2, "LK305")}),
        ("import requests\nrequests.get(u, timeout=None)\n", {(2, "LK305")}),
        ("import requests\nrequests.get(u, timeout=(3, None))\n", {(2, "LK305")}),
        ("import requests\nrequests.get(u, timeout=5)\n", set()),
        ("import requests\ndef f(u, **kw):\n    return requests.get(u, **kw)\n", set()),
        ("from pip._vendor import requests\nrequests.post(u)\n", {(2, "LK305")}),
        ("import httpx\nhttpx.get(u)\n", set()),
        ("import httpx\nhttpx.Client(timeout=None)\n", {(2, "LK305")}),
        ("import httpx\nhttpx.get(u, timeout=httpx.Timeout(None))\n", {(2, "LK305")}),
        ("import socket\nsocket.create_connection(a, 5)\n", set()),
        ("import socket\nsocket.create_connection((host, 80))\n", {(2, "LK305")}),
        # An address only passed through defers to socket.setdefaulttimeout(): medium.
        ("import socket\nsocket.create_connection(a)\n", set()),
        ("import socket\ndef f(a):\n    return socket.create_connection(a)\n", set()),
        ("import socket\ndef f(h, p):\n    a = (h, p)\n    return socket.create_connection(a)\n",
         {(4, "LK305")}),
        ("from urllib.request import urlopen, Request\ndef f(b):\n"
         "    u = f'{b}/x'\n    return urlopen(Request(u, data=b''))\n", {(4, "LK305")}),
        ("from urllib.request import urlopen\ndef f(b):\n    return urlopen(b + '/x')\n",
         {(3, "LK305")}),
        ("from urllib.request import urlopen\ndef f(self):\n    return urlopen(self.url)\n",
         set()),
        ("from urllib.request import urlopen\nurlopen(u, None, 10)\n", set()),
        ("def get(u):\n    pass\nclient = object()\nclient.get(u)\n", set()),
    ],
)
def test_timeouts(code: str, expected: set[tuple[int, str]]) -> None:
    assert {f for f in findings(code, DEFAULT_RULES) if f[1] == "LK305"} == expected


def test_session_receivers() -> None:
    code = """
    import requests
    class Api:
        def __init__(self):
            self.session = requests.Session()
            self.cache = {}
        def fetch(self, u):
            self.cache.get(u)
            return self.session.get(u)
    def helper(s: "requests.Session", u):
        return s.post(u, timeout=3), s.put(u)
    """
    assert {f for f in findings(code) if f[1] == "LK305"} == {(8, "LK305"), (10, "LK305")}


def test_call_that_never_returns_ends_the_normal_path() -> None:
    assert not findings(
        """
        import threading
        def forever(q):
            while True:
                q.pop()
        def f(q, g):
            t = threading.Thread(target=g)
            t.start()
            try:
                forever(q)
            except Exception:
                t.join()
                raise
        """
    )


def test_function_ending_in_raise_but_returning_early_may_return() -> None:
    assert findings(
        """
        import threading
        def check(q):
            if q:
                return 1
            raise ValueError(q)
        def f(q, g):
            t = threading.Thread(target=g)
            t.start()
            try:
                check(q)
            except Exception:
                t.join()
                raise
        """
    ) == {(7, "LK101")}


def test_a_subclass_of_a_daemon_thread_class_is_a_daemon() -> None:
    code = """
    import threading
    class Base(threading.Thread):
        def __init__(self):
            super().__init__()
            self.daemon = True
    class Poller(Base):
        def run(self):
            while True:
                pass
    def start():
        Poller().start()
    """
    assert (8, "LK102") in findings(code)
    assert (8, "LK102") not in findings(code, DEFAULT_RULES)
def test_ensure_future_of_any_coroutine_call_is_a_task() -> None:
    assert findings(
        """
        import asyncio
        from client import fetch
        def f(client, loop):
            asyncio.ensure_future(client.refresh())
            asyncio.ensure_future(fetch())
            asyncio.ensure_future(fetch(), loop=loop)
            asyncio.ensure_future(loop.run_in_executor(None, print))
            asyncio.ensure_future(loop.create_future())
            sem = asyncio.ensure_future(client.acquire())
        async def refresh():
            pass
        """,
        DEFAULT_RULES,
    ) == {(4, "LK105"), (5, "LK105"), (6, "LK105")}


def test_ensure_future_of_a_foreign_method_is_medium() -> None:
    """tornado's `sem.acquire()`, `q.get()` return futures: only `--confidence medium`."""
    source = (
        "import asyncio\ndef f(sem):\n    asyncio.ensure_future(sem.acquire())\n"
        "    waiter = asyncio.ensure_future(sem.acquire())\n    return 1\n"
    )
    medium = registry.rule_set(list(CODES), confidence=Confidence.MEDIUM)
    result = check_text(SourceText(source, "utf-8"), "snippet.py", medium)
    assert {(f.line, f.code, f.confidence) for f in result.findings} == {
        (3, "LK105", Confidence.MEDIUM), (4, "LK106", Confidence.MEDIUM)
    }
    assert findings(source, DEFAULT_RULES) == set()


def test_tasks_discarded_inside_expressions() -> None:
    assert findings(
        """
        import asyncio
        async def work():
            pass
        def f(items):
            (asyncio.create_task(work()),
             asyncio.create_task(work()))
            status = "ok" if asyncio.create_task(work()) else "no"
            kept = [i for i in items if asyncio.create_task(work())]
            if asyncio.create_task(work()):
                pass
            tasks = [asyncio.create_task(work()) for i in items if i]
            return status, kept, tasks
        """
    ) == {(5, "LK105"), (6, "LK105"), (7, "LK105"), (8, "LK105"), (9, "LK105")}


def test_task_dropped_on_a_hand_made_loop() -> None:
    assert findings(
        """
        import asyncio
        async def work():
            pass
        def f():
            loop = asyncio.new_event_loop()
            loop.create_task(work())
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
        """
    ) == {(6, "LK105")}


def test_urllib3_timeouts() -> None:
    assert findings(
        """
        import urllib3
        HTTP = urllib3.PoolManager()
        SAFE = urllib3.PoolManager(timeout=5)
        def f(url, host, **kw):
            HTTP.request("GET", url)
            SAFE.request("GET", url)
            urllib3.PoolManager().request("GET", url)
            urllib3.request("GET", url)
            urllib3.request("GET", url, timeout=None)
            urllib3.HTTPConnectionPool(host, 80).urlopen("GET", "/")
            urllib3.HTTPConnectionPool(host, 80, 5).urlopen("GET", "/")
            HTTP.request("GET", url, **kw)
        """
    ) == {(5, "LK305"), (7, "LK305"), (9, "LK305"), (10, "LK305")}


def test_spawned_pids_and_pid_only_escapes() -> None:
    assert findings(
        """
        import os, subprocess
        def f(path, argv, pids):
            pid = os.posix_spawn(path, argv, os.environ)
            os.spawnv(os.P_NOWAIT, path, argv)
            os.spawnv(os.P_WAIT, path, argv)
            waited = os.posix_spawnp(path, argv, os.environ)
            os.waitpid(waited, 0)
            child = subprocess.Popen(argv)
            pids.append(child.pid)
            kept = subprocess.Popen(argv)
            pids.append(kept)
        """
    ) == {(3, "LK104"), (4, "LK104"), (8, "LK104")}
