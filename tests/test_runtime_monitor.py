"""LeakMonitor: alarms only on sustained growth, report, and the loopback endpoint."""

from __future__ import annotations

import json
import threading
import urllib.request

from leaklint.runtime.monitor import Alarm, LeakMonitor, Thresholds


def test_alarm_only_when_figure_rose_in_each_of_last_k_samples() -> None:
    alarms: list[Alarm] = []
    monitor = LeakMonitor(rises=3, thresholds=Thresholds(threads=3), callbacks=(alarms.append,),
                          objects_every=10**6)
    stop = threading.Event()
    started: list[threading.Thread] = []
    try:
        monitor.sample()
        for _ in range(3):
            thread = threading.Thread(target=stop.wait, daemon=True)
            thread.start()
            started.append(thread)
            monitor.sample()
        assert [a.figure for a in alarms] == ["threads"]
        assert alarms[0].growth == 3
        # a flat sample breaks the run of rises: no new alarm
        monitor.sample()
        assert len(alarms) == 1
    finally:
        stop.set()
        for thread in started:
            thread.join(5)


def test_no_alarm_for_growth_below_threshold() -> None:
    monitor = LeakMonitor(rises=2, thresholds=Thresholds(threads=100), objects_every=10**6)
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(2)]
    try:
        monitor.sample()
        for thread in threads:
            thread.start()
            monitor.sample()
        assert monitor.report()["alarms"] == []
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)


def test_report_and_endpoint_serve_json_and_prometheus() -> None:
    with LeakMonitor(interval=0.05, objects_every=1) as monitor:
        host, port = monitor.serve()
        assert host == "127.0.0.1"
        monitor.sample()
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=5) as response:
            report = json.load(response)
        assert report["samples"] >= 1
        assert report["latest"]["threads"] >= 1
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "leaklint_samples_total" in text
        assert "leaklint_fds " in text
        assert 'leaklint_objects{type="' in text
    assert monitor._thread is None and monitor._server is None
