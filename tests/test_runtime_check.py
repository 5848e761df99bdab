"""no_leaks / find: each probe names the creating line; clean code and stopping threads pass."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from leaklint.runtime import Ignore, Kind, LeakError, find, no_leaks

KEEP: list[Any] = []
SETTLE = 0.3


def _line_of(text: str) -> int:
    with open(__file__, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if text in line and "_line_of" not in line:
                return number
    raise AssertionError(text)


@pytest.fixture(autouse=True)
def _release() -> Any:
    yield
    for item in KEEP:
        for method in ("close", "cancel", "kill", "wait"):
            if hasattr(item, method):
                try:
                    getattr(item, method)()
                except Exception:
                    pass
        if isinstance(item, ThreadPoolExecutor):
            item.shutdown(wait=False)
    KEEP.clear()


def leak_thread(stop: threading.Event) -> None:
    threading.Thread(target=stop.wait, args=(5,), name="stray").start()  # THREAD-LINE


def test_thread_named_by_creating_line() -> None:
    stop = threading.Event()
    try:
        records = find(leak_thread, stop, settle=SETTLE)
    finally:
        stop.set()
    assert [(r.kind, r.rule_code) for r in records] == [(Kind.THREAD, "LK101")]
    assert records[0].site is not None
    assert records[0].site.line == _line_of("# THREAD-LINE")
    assert records[0].stack  # where it is running now


def test_thread_already_stopping_is_not_reported() -> None:
    def short() -> None:
        threading.Thread(target=time.sleep, args=(0.1,)).start()

    assert find(short, settle=1.0) == []


def test_ignore_by_thread_name() -> None:
    stop = threading.Event()
    try:
        assert find(leak_thread, stop, settle=SETTLE, ignore=Ignore(thread_names=("str*",))) == []
    finally:
        stop.set()


def test_files_sockets_processes_timers_executors_tempfiles() -> None:
    def leaky() -> None:
        KEEP.append(open(__file__))  # noqa: SIM115  # FILE-LINE
        KEEP.append(socket.socket())  # SOCKET-LINE
        KEEP.append(subprocess.Popen([sys.executable, "-c", "pass"]))  # PROCESS-LINE
        timer = threading.Timer(30, print)  # TIMER-LINE
        timer.start()
        KEEP.append(timer)
        pool = ThreadPoolExecutor(1)  # EXECUTOR-LINE
        pool.submit(time.sleep, 0.5)
        KEEP.append(pool)
        handle, path = tempfile.mkstemp()  # TEMP-LINE
        os.close(handle)
        KEEP.append(path)

    records = find(leaky, settle=SETTLE)
    by_kind = {r.kind: r for r in records}
    assert by_kind[Kind.FILE].site.line == _line_of("# FILE-LINE")
    assert by_kind[Kind.SOCKET].site.line == _line_of("# SOCKET-LINE")
    assert by_kind[Kind.PROCESS].site.line == _line_of("# PROCESS-LINE")
    assert by_kind[Kind.TIMER].site.line == _line_of("# TIMER-LINE")
    assert by_kind[Kind.EXECUTOR].site.line == _line_of("# EXECUTOR-LINE")
    assert by_kind[Kind.TEMPFILE].site.line == _line_of("# TEMP-LINE")
    os.unlink(KEEP.pop())


def test_file_closed_only_by_the_garbage_collector() -> None:
    def dropped() -> None:
        open(__file__).read()  # noqa: SIM115 - the leak under test

    records = find(dropped, settle=SETTLE)
    assert [r.kind for r in records] == [Kind.FILE]
    assert "garbage collector" in records[0].detail


def test_response_collected_unclosed_is_reported_under_its_own_kind() -> None:
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    serving = threading.Thread(target=server.serve_forever)
    serving.start()
    connections: list[http.client.HTTPConnection] = []

    def dropped() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        connections.append(connection)
        connection.request("GET", "/")
        connection.getresponse()  # RESPONSE-LINE: never read, never closed

    try:
        records = find(dropped, settle=SETTLE)
    finally:
        for connection in connections:
            connection.close()
        server.shutdown()
        server.server_close()
        serving.join()
    responses = [r for r in records if r.kind is Kind.RESPONSE]
    assert [r.rule_code for r in responses] == ["LK304"]
    assert responses[0].site is not None
    assert responses[0].site.line == _line_of("# RESPONSE-LINE")


def test_context_manager_and_decorator() -> None:
    with pytest.raises(LeakError) as caught, no_leaks(settle=SETTLE):
        KEEP.append(socket.socket())
    assert caught.value.records[0].kind is Kind.SOCKET
    assert "LK302" in str(caught.value)

    @no_leaks(settle=SETTLE)
    def clean() -> None:
        with socket.socket():
            pass

    clean()
    with no_leaks(allow=["socket"], settle=SETTLE):
        KEEP.append(socket.socket())


def test_async_forms_report_pending_tasks() -> None:
    async def body() -> None:
        with pytest.raises(LeakError) as caught:
            async with no_leaks(settle=SETTLE):
                KEEP.append(asyncio.ensure_future(asyncio.sleep(1)))  # TASK-LINE
        assert caught.value.records[0].kind is Kind.TASK
        assert caught.value.records[0].site.line == _line_of("# TASK-LINE")

        @no_leaks(settle=SETTLE)
        async def clean() -> None:
            await asyncio.create_task(asyncio.sleep(0))

        await clean()

    asyncio.run(body())


def test_find_runs_coroutine_functions_and_checks_tasks() -> None:
    async def main() -> None:
        asyncio.create_task(asyncio.sleep(1))  # noqa: RUF006 - the leak under test

    records = find(main, settle=SETTLE)
    assert [r.rule_code for r in records] == ["LK105"]
