"""LeakMonitor: alarms on sustained growth that name the creating lines and stay quiet for a
bursty steady program, live profiles, oversized containers, and the loopback endpoint."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from leaklint.runtime import LeakMonitor, Thresholds
from leaklint.runtime.alarms import GrowthJudge
from leaklint.runtime.endpoint import NotLoopback
from leaklint.runtime.monitor import Alarm

pytestmark = pytest.mark.timeout(60)  # a hung monitor or endpoint fails its test, not the run

HERE = __file__.rsplit("/", 1)[-1]
MiB = 1024 * 1024


class LoopThread:
    """An event loop running in a thread, as in a server; tasks are created on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


# --- a leaking program ------------------------------------------------------------------------
STOP = threading.Event()
SOCKETS: list[socket.socket] = []
SESSIONS: dict[int, str] = {}


def leak_thread() -> None:
    threading.Thread(target=STOP.wait, daemon=True).start()


def leak_socket() -> None:
    SOCKETS.append(socket.socket())


async def leak_task() -> None:
    asyncio.get_running_loop().create_task(asyncio.sleep(3600))


def grow_sessions(count: int) -> None:
    start = len(SESSIONS)
    for key in range(start, start + count):
        SESSIONS[key] = f"session {key:>100}"


def line_of(function: Any, offset: int = 1) -> int:
    return int(function.__code__.co_firstlineno) + offset


@pytest.mark.timeout(60)
def test_leaking_program_alarms_within_five_samples_naming_the_creating_lines(
    loop_thread: LoopThread,
) -> None:
    alarms: list[Alarm] = []
    monitor = LeakMonitor(interval=3600, track=True, heap=True, heap_every=1,
                          oversized_every=0, callbacks=(alarms.append,))
    try:
        with monitor:
            monitor.sample()
            for _ in range(4):  # 5 samples in all
                for _ in range(3):
                    leak_thread()
                    leak_socket()
                    loop_thread.run(leak_task())
                grow_sessions(60_000)
                monitor.sample()
        by_figure = {alarm.figure: alarm for alarm in alarms}
        assert {"threads", "tasks", "fds", "heap_bytes"} <= set(by_figure), alarms
        expected = {"threads": line_of(leak_thread), "fds": line_of(leak_socket),
                    "tasks": line_of(leak_task), "heap_bytes": line_of(grow_sessions, 3)}
        for figure, line in expected.items():
            top = by_figure[figure].sites[0]
            assert f"{HERE}:{line}" in top.site, (figure, by_figure[figure].describe())
            assert top.growth > 0
        assert by_figure["threads"].growth >= 9
        message = str(by_figure["threads"])
        assert "threads rose in each of the last 3 samples" in message
        assert f"{HERE}:{line_of(leak_thread)} in leak_thread (+9, 9 now)" in message
    finally:
        STOP.set()
        for sock in SOCKETS:
            sock.close()
        SOCKETS.clear()
        SESSIONS.clear()
        STOP.clear()


def leak_executor(stop: threading.Event) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ThreadPoolExecutor(max_workers=2).submit(stop.wait)


def test_a_pool_counts_once_but_a_pool_per_request_alarms() -> None:
    from concurrent.futures import ThreadPoolExecutor

    stop = threading.Event()
    alarms: list[Alarm] = []
    monitor = LeakMonitor(interval=3600, track=True, oversized_every=0, objects_every=10**6,
                          callbacks=(alarms.append,))
    pool = ThreadPoolExecutor(max_workers=12)
    try:
        with monitor:
            monitor.sample()
            for _ in range(4):  # the shared pool grows by 3 workers a sample: not a leak
                for _ in range(3):
                    pool.submit(stop.wait)
                monitor.sample()
            assert alarms == [], [str(a) for a in alarms]
            for _ in range(5):  # a new pool per request, never shut down: a leak
                for _ in range(3):
                    leak_executor(stop)
                monitor.sample()
        assert [a.figure for a in alarms] == ["threads"], [str(a) for a in alarms]
        assert f"{HERE}:{line_of(leak_executor, 3)}" in alarms[0].sites[0].site
    finally:
        stop.set()
        pool.shutdown(wait=True)


# --- a bursty but steady program -------------------------------------------------------------
@pytest.mark.timeout(90)
def test_bursty_steady_program_never_alarms_over_60_samples(loop_thread: LoopThread) -> None:
    """A server with a pool, request bursts of threads, sockets, tasks and memory that all end,
    and a bounded cache: busy, never leaking."""
    from concurrent.futures import ThreadPoolExecutor

    chance = random.Random(1313)
    cache: dict[int, bytes] = {}
    alarms: list[Alarm] = []
    monitor = LeakMonitor(interval=3600, track=True, heap=True, heap_every=1,
                          oversized_every=10, objects_every=3, callbacks=(alarms.append,))
    with monitor, ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(60):
            release = threading.Event()
            busy = [threading.Thread(target=release.wait, daemon=True)
                    for _ in range(chance.randint(0, 12))]
            for thread in busy:
                thread.start()
            jobs = [pool.submit(release.wait) for _ in range(chance.randint(0, 6))]
            sockets = [socket.socket() for _ in range(chance.randint(0, 12))]
            tasks = [asyncio.run_coroutine_threadsafe(asyncio.sleep(0.5), loop_thread.loop)
                     for _ in range(chance.randint(0, 12))]
            burst = [bytearray(64 * 1024) for _ in range(chance.randint(0, 200))]
            for _ in range(chance.randint(0, 400)):
                cache[chance.randint(0, 999)] = bytes(1024)  # at most 1000 keys
            monitor.sample()
            release.set()
            for thread in busy:
                thread.join(5)
            for job in jobs:
                job.result(5)
            for sock in sockets:
                sock.close()
            for task in tasks:
                task.cancel()
            del burst
    assert monitor.samples == 60
    assert alarms == []


# --- the alarm's memory -------------------------------------------------------------------------
def test_an_alarm_is_raised_once_then_again_when_cleared_or_doubled() -> None:
    judge = GrowthJudge(Thresholds(threads=5), rises=3)
    values: list[float] = []
    raised = []

    def feed(series: list[float]) -> None:
        for value in series:
            values.append(value)
            verdict = judge.judge("threads", values)
            if verdict is not None:
                raised.append((len(values), verdict.growth, verdict.repeated))

    feed([10, 12, 14, 16])  # +6 over 3 rises
    assert raised == [(4, 6, False)]
    feed([18, 20, 21, 21])  # still leaking, but +11 from the base of 10: not yet doubled
    assert len(raised) == 1
    feed([22, 24, 26])  # +16: doubled, and rising again
    assert len(raised) == 2 and raised[-1][2] is True
    assert judge.judge("threads", values) is None  # asked again: not raised twice
    feed([12, 11])  # released: cleared
    feed([20, 30, 40])  # a fresh climb above everything seen is news again
    assert len(raised) == 3 and raised[-1][2] is False


def test_alarm_only_when_figure_rose_in_each_of_last_k_samples() -> None:
    alarms: list[Alarm] = []
    monitor = LeakMonitor(rises=3, thresholds=Thresholds(threads=3), callbacks=(alarms.append,),
                          objects_every=10**6, oversized_every=0)
    stop = threading.Event()
    started: list[threading.Thread] = []
    try:
        monitor.sample()
        for _ in range(4):  # judged on threads that lived through an interval: one sample late
            thread = threading.Thread(target=stop.wait, daemon=True)
            thread.start()
            started.append(thread)
            monitor.sample()
        assert [a.figure for a in alarms] == ["threads"], [str(a) for a in alarms]
        assert alarms[0].growth == 3
        # a flat sample breaks the run of rises: no new alarm
        monitor.sample()
        assert len(alarms) == 1
    finally:
        stop.set()
        for thread in started:
            thread.join(5)


def test_no_alarm_for_growth_below_threshold() -> None:
    monitor = LeakMonitor(rises=2, thresholds=Thresholds(threads=100), objects_every=10**6,
                          oversized_every=0)
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(2)]
    try:
        monitor.sample()
        for thread in threads:
            thread.start()
            monitor.sample()
        monitor.sample()
        assert monitor.report()["alarms"] == []
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)


class Widget:
    pass


def test_object_census_alarms_on_a_type_that_keeps_growing() -> None:
    widgets: list[Widget] = []
    alarms: list[Alarm] = []
    monitor = LeakMonitor(objects_every=2, top_types=10_000, oversized_every=0,
                          thresholds=Thresholds(objects=3000), callbacks=(alarms.append,))
    for _ in range(8):  # 4 censuses: a rise in each of the last 3
        widgets += [Widget() for _ in range(1500)]
        monitor.sample()
    assert [a.figure for a in alarms] == ["objects:Widget"], [str(a) for a in alarms]
    assert alarms[0].growth >= 4500


# --- oversized containers ---------------------------------------------------------------------
BURST_TABLE: dict[int, int] = {}


class Dispatcher:
    def __init__(self) -> None:
        self.pending = set(range(300_000))


@pytest.mark.timeout(60)
def test_emptied_dict_that_keeps_its_table_is_reported_with_its_global_name() -> None:
    for key in range(1_000_000):
        BURST_TABLE[key] = key
    for key in range(10, 1_000_000):
        del BURST_TABLE[key]
    for key in range(100):  # later traffic does not give the table back
        BURST_TABLE[-key - 1] = key
        del BURST_TABLE[-key - 1]
    dispatcher = Dispatcher()
    for key in range(10, 300_000):
        dispatcher.pending.discard(key)
    alarms: list[Alarm] = []
    try:
        monitor = LeakMonitor(oversized_every=1, objects_every=10**6, callbacks=(alarms.append,))
        monitor.sample()
        found = {item.referrers[0].rsplit(".", 1)[-1]: item for item in monitor.oversized()
                 if item.referrers}
        table = found["BURST_TABLE"]
        assert table.type_name == "dict" and table.length == 10
        assert table.held_bytes > 20 * MiB and table.copy_bytes < 4096
        assert table.referrers[0].endswith("test_runtime_monitor.BURST_TABLE")
        pending = found["pending"]
        assert pending.type_name == "set" and pending.length == 10
        assert pending.referrers[0].endswith("Dispatcher.pending")
        assert any(a.figure == "oversized:dict" and "BURST_TABLE" in str(a) for a in alarms)
        profile = monitor.profile()
        assert any("BURST_TABLE" in ",".join(o["referrers"]) for o in profile["oversized"])
        monitor.sample()  # the same container is not raised again
        assert sum(a.figure == "oversized:dict" for a in alarms) == 1
    finally:
        BURST_TABLE.clear()
    assert not [i for i in monitor.oversized() if "BURST_TABLE" in ",".join(i.referrers)]


def test_a_full_container_is_not_oversized() -> None:
    full = {key: key for key in range(200_000)}
    monitor = LeakMonitor(oversized_every=0)
    assert not [item for item in monitor.oversized() if item.length == len(full)]


# --- the endpoint -------------------------------------------------------------------------------
def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.timeout(60)
def test_endpoint_serves_valid_prometheus_text_and_json_profiles() -> None:
    stop = threading.Event()
    with LeakMonitor(interval=3600, track=True, heap=True, heap_every=1) as monitor:
        worker = threading.Thread(target=stop.wait, daemon=True)
        worker.start()
        try:
            host, port = monitor.serve()
            base = f"http://{host}:{port}"
            assert host == "127.0.0.1"
            monitor.sample()
            monitor.sample()
            status, text = _get(f"{base}/metrics")
            assert status == 200
            families = {f.name: f for f in text_string_to_metric_families(text)}
            assert families["leaklint_samples"].type == "counter"
            assert families["leaklint_alarms"].type == "counter"
            assert families["leaklint_threads"].type == "gauge"
            assert families["leaklint_threads"].samples[0].value >= 2
            for name in families:
                assert f"# HELP {name}" in text and f"# TYPE {name}" in text
            assert not re.search(r"^leaklint_\w+(\{[^}]*\})? \S*e\+", text, re.MULTILINE)
            assert re.search(r"^leaklint_rss_bytes \d+$", text, re.MULTILINE)
            sites = [s for s in families["leaklint_live_objects"].samples
                     if s.labels["kind"] == "threads"]
            assert any(f"{HERE}:" in s.labels["site"] for s in sites)

            for kind in ("threads", "tasks", "fds", "processes", "heap", "oversized"):
                status, body = _get(f"{base}/profile/{kind}?format=json")
                assert status == 200, (kind, body)
                json.loads(body)
            status, body = _get(f"{base}/profile/threads?format=json")
            threads = json.loads(body)
            mine = [g for g in threads["sites"] if g["file"] == __file__]
            assert mine and mine[0]["count"] == 1 and mine[0]["oldest_age"] >= 0
            status, body = _get(f"{base}/profile/threads")
            assert status == 200 and "CREATED AT" in body and f"{HERE}:" in body
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            try:
                status, body = _get(f"{base}/profile/processes?format=json")
                spawned = [g for g in json.loads(body)["sites"] if g["file"] == __file__]
                assert spawned and spawned[0]["count"] == 1, body
            finally:
                child.kill()
                child.wait(5)
            status, body = _get(f"{base}/profile/heap")
            assert status == 200 and "ALLOCATED AT" in body
            status, body = _get(f"{base}/")
            assert json.loads(body)["samples"] == 2
            for unknown in ("/nope", "/profile/nope", "/metricsx", "/profile/threads/x"):
                status, _ = _get(f"{base}{unknown}")
                assert status == 404, unknown
        finally:
            stop.set()
            worker.join(5)
    assert monitor._thread is None and monitor._server is None


def test_report_and_profile_are_dicts_with_every_kind() -> None:
    monitor = LeakMonitor(oversized_every=0)
    monitor.sample()
    profile = monitor.profile()
    assert {"threads", "tasks", "fds", "processes", "heap", "oversized"} <= set(profile)
    assert profile["threads"]["total"] >= 1
    report = monitor.report()
    assert report["profile"]["fds"]["total"] >= 1
    assert report["thresholds"]["threads"] == Thresholds().threads


@pytest.mark.timeout(30)
def test_non_loopback_bind_is_refused_unless_allowed() -> None:
    monitor = LeakMonitor(oversized_every=0)
    for host in ("0.0.0.0", "", "::"):
        with pytest.raises(NotLoopback, match="allow_remote=True"):
            monitor.serve(host=host)
    host, _ = monitor.serve(host="localhost")
    assert host in ("127.0.0.1", "::1")
    host, port = monitor.serve(host="0.0.0.0", allow_remote=True)
    assert host == "0.0.0.0" and port > 0
    monitor.stop()


@pytest.mark.timeout(60)
def test_top_prints_a_table_of_sites_from_a_running_endpoint() -> None:
    from click.testing import CliRunner

    from leaklint.cli import main

    stop = threading.Event()
    with LeakMonitor(interval=3600, track=True) as monitor:
        worker = threading.Thread(target=stop.wait, daemon=True)
        worker.start()
        try:
            host, port = monitor.serve()
            result = CliRunner().invoke(main, ["top", f"{host}:{port}", "--once"])
        finally:
            stop.set()
            worker.join(5)
    assert result.exit_code == 0, result.output
    assert "CREATED AT" in result.output and "threads" in result.output
    assert f"{HERE}:" in result.output
    unreachable = CliRunner().invoke(main, ["top", "127.0.0.1:9", "--once"])
    assert unreachable.exit_code == 2


@pytest.mark.timeout(30)
def test_top_refreshes_and_shows_what_changed() -> None:
    from leaklint.runtime.top import run

    stop = threading.Event()
    shown: list[str] = []
    started: list[threading.Thread] = []

    def write(text: str) -> None:
        shown.append(text)
        for _ in range(2):  # between two refreshes, two more threads
            thread = threading.Thread(target=stop.wait, daemon=True)
            thread.start()
            started.append(thread)

    with LeakMonitor(interval=3600, track=True) as monitor:
        host, port = monitor.serve()
        try:
            assert run(f"http://{host}:{port}/", 0.1, False, 5, write=write, iterations=2) == 0
        finally:
            stop.set()
            for thread in started:
                thread.join(5)
    assert len(shown) == 2
    second = [line for line in shown[1].splitlines() if "in write" in line]
    assert second and "+2" in second[0], shown[1]
