"""The pytest plugin: a test that leaks each kind fails, a clean one passes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LEAKS = {
    "thread": """
        import threading
        def test_it():
            stop = threading.Event()
            threading.Thread(target=stop.wait, args=(5,), name="stray").start()
    """,
    "timer": """
        import threading
        def test_it():
            threading.Timer(30, print).start()
    """,
    "file": """
        HANDLES = []
        def test_it(tmp_path):
            path = tmp_path / "x.txt"
            path.write_text("x")
            HANDLES.append(open(path))
    """,
    "socket": """
        import socket
        KEEP = []
        def test_it():
            KEEP.append(socket.socket())
    """,
    "process": """
        import subprocess, sys
        KEEP = []
        def test_it():
            KEEP.append(subprocess.Popen([sys.executable, "-c", "pass"]))
    """,
    "executor": """
        import time
        from concurrent.futures import ThreadPoolExecutor
        KEEP = []
        def test_it():
            pool = ThreadPoolExecutor(1)
            pool.submit(time.sleep, 3)
            KEEP.append(pool)
    """,
    "task": """
        import asyncio
        def test_it():
            async def main():
                asyncio.create_task(asyncio.sleep(1))
            asyncio.run(main())
    """,
}

CODES = {"thread": "LK101", "timer": "LK107", "file": "LK301", "socket": "LK302",
         "process": "LK104", "executor": "LK103", "task": "LK105"}


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=60)


@pytest.mark.parametrize("kind", sorted(LEAKS))
def test_leak_of_each_kind_fails(pytester: pytest.Pytester, kind: str) -> None:
    pytester.makepyfile(test_leaky=LEAKS[kind])
    result = _run(pytester, "--leaklint", "--leaklint-settle=0.3")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*{kind} *created at *test_leaky.py:*[[]{CODES[kind]}[]]*"])


def test_clean_test_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_clean="""
        import threading, socket, asyncio
        def test_it(tmp_path):
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
            with open(tmp_path / "x", "w") as handle:
                handle.write("x")
            with socket.socket() as sock:
                pass
            async def main():
                await asyncio.create_task(asyncio.sleep(0))
            asyncio.run(main())
        """
    )
    _run(pytester, "--leaklint").assert_outcomes(passed=1)


def test_marker_allows_a_kind_and_enables_without_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import threading, pytest
        @pytest.mark.leaklint(allow=["thread"])
        def test_allowed():
            threading.Thread(target=threading.Event().wait, args=(3,)).start()
        @pytest.mark.leaklint(settle=0.2)
        def test_checked_without_flag():
            threading.Thread(target=threading.Event().wait, args=(3,)).start()
        def test_unchecked():
            threading.Thread(target=threading.Event().wait, args=(3,)).start()
        """
    )
    _run(pytester).assert_outcomes(passed=3, errors=1)


def test_leak_in_fixture_teardown_is_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixture="""
        import socket, pytest
        KEEP = []
        @pytest.fixture
        def resource():
            yield
            KEEP.append(socket.socket())
        def test_it(resource):
            pass
        """
    )
    result = _run(pytester, "--leaklint")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*socket*test_fixture.py:6*LK302*"])
