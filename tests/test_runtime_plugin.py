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


def test_report_is_short_and_names_the_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKS["thread"])
    result = _run(pytester, "--leaklint", "--leaklint-settle=0.3")
    result.stdout.fnmatch_lines([
        "*ERROR test_leaky.py::test_it - leaked 1 thread (test_leaky.py:4)*",
    ])
    result.stdout.no_fnmatch_line("*pluggy/_*")
    result.stdout.no_fnmatch_line("*_pytest/*")
    assert "fix: join()" in result.stdout.str()


def test_task_dropped_on_a_hand_made_loop_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_loop="""
        import asyncio
        async def forever():
            await asyncio.sleep(100)
        def test_dropped():
            loop = asyncio.new_event_loop()
            loop.create_task(forever())
            loop.close()
        def test_clean():
            loop = asyncio.new_event_loop()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
        """
    )
    result = _run(pytester, "--leaklint", "-W", "ignore")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR test_loop.py::test_dropped - leaked 1 task (test_loop.py:6)*"])


def test_tasks_on_a_uvloop_loop_are_seen(pytester: pytest.Pytester) -> None:
    pytest.importorskip("uvloop")
    pytester.makepyfile(
        test_uv="""
        import asyncio, uvloop
        async def forever():
            await asyncio.sleep(100)
        def test_dropped_on_run():
            async def main():
                asyncio.get_running_loop().create_task(forever())
            uvloop.run(main())
        def test_dropped_on_a_hand_made_loop():
            loop = uvloop.new_event_loop()
            loop.create_task(forever())
            loop.close()
        def test_clean():
            async def main():
                await asyncio.create_task(asyncio.sleep(0))
            uvloop.run(main())
        """
    )
    # uvloop is imported by the test module, after the hooks: its loop is hooked when the
    # first test's check starts.
    result = _run(pytester, "--leaklint", "-W", "ignore")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["leaked 1 task (test_uv.py:10)"])
    # The test's own line is the one that ran the loop, not where the task is suspended.
    result.stdout.fnmatch_lines(["*via test_uv.py:7 (the test's own line)"])
    result.stdout.no_fnmatch_line("*via test_uv.py:3*")
    result.stdout.fnmatch_lines([
        "*ERROR test_uv.py::test_dropped_on_run - leaked 1 task (test_uv.py:6)*",
        "*ERROR test_uv.py::test_dropped_on_a_hand_made_loop - leaked 1 task*",
    ])


def test_wider_fixture_leak_is_reported_against_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scoped="""
        import socket, pytest
        @pytest.fixture(scope="module")
        def server():
            sock = socket.socket()
            yield sock
        @pytest.fixture(scope="module")
        def tidy():
            sock = socket.socket()
            yield sock
            sock.close()
        def test_first(server, tidy):
            pass
        def test_last(server, tidy):
            pass
        """
    )
    result = _run(pytester, "--leaklint", "-W", "ignore")
    # Not the first test (whose setup made it): the fixture, at its teardown.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "leaked 1 socket (test_scoped.py:4) by module fixture `server` (test_scoped.py:2)",
        "*ERROR test_scoped.py::test_last - leaked 1 socket (test_scoped.py:4)*",
    ])


def test_idle_library_machinery_is_not_a_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_machinery="""
        import asyncio, pytest
        LOOP = asyncio.new_event_loop()   # a loop kept across tests, as runners do
        @pytest.mark.parametrize("n", range(3))
        def test_default_executor(n):
            # The loop's default executor (made by asyncio) keeps idle workers: reused later.
            LOOP.run_until_complete(LOOP.run_in_executor(None, sum, [n]))
        """
    )
    _run(pytester, "--leaklint").assert_outcomes(passed=3)


def test_ini_enables_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nleaklint = true\nleaklint_settle = 0.2\n")
    pytester.makepyfile(test_leaky=LEAKS["socket"])
    _run(pytester).assert_outcomes(passed=1, errors=1)


BLOCKBUSTER_CONFTEST = """
    import pytest
    from blockbuster import blockbuster_ctx

    @pytest.fixture(autouse=True)
    def blockbuster():
        with blockbuster_ctx() as detector:
            yield detector
"""

ASYNC_SUITE = """
    import asyncio, socket, threading

    async def _waiter(event):
        await event.wait()

    def test_hooks_on_the_loop_thread():
        async def main():
            done = threading.Event()
            thread = threading.Thread(target=done.set)  # our Thread hook runs on the loop
            thread.start()
            event = asyncio.Event()
            task = asyncio.create_task(_waiter(event))
            event.set()
            await task
            left, right = socket.socketpair()
            left.close()
            right.close()
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
        asyncio.run(main())

    def test_file_in_a_worker(tmp_path):
        async def main():
            def write():
                with open(tmp_path / "x", "w") as handle:
                    handle.write("x")
            await asyncio.to_thread(write)
        asyncio.run(main())

    def test_leaks_a_task():
        async def main():
            asyncio.create_task(asyncio.sleep(5))
        asyncio.run(main())
"""


def test_asyncio_suite_under_blockbuster(pytester: pytest.Pytester) -> None:
    pytest.importorskip("blockbuster")
    pytester.makeconftest(BLOCKBUSTER_CONFTEST)
    pytester.makepyfile(test_async=ASYNC_SUITE)
    result = _run(pytester, "--leaklint", "--leaklint-settle=0.3")
    # Nothing the plugin does in a hook is a blocking call; the real leak is still found.
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR test_async.py::test_leaks_a_task - leaked 1 task*"])
    result.stdout.no_fnmatch_line("*BlockingError*")


def test_a_failed_test_is_not_also_a_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_failing="""
        import socket, pytest
        KEEP = []
        @pytest.fixture
        def broken():
            KEEP.append(socket.socket())
            raise RuntimeError("setup failed")
        def test_setup_fails(broken):
            pass
        def test_call_fails():
            KEEP.append(socket.socket())
            assert False
        """
    )
    # Each test reports its own error once; what it left behind is not a second report.
    _run(pytester, "--leaklint").assert_outcomes(failed=1, errors=1)


def test_allow_list_marker_and_ini_extend_the_run_list(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nleaklint_ignore_threads =\n    poller-*\n")
    pytester.makepyfile(
        test_allowed="""
        import threading, pytest
        STOP = threading.Event()
        def _start(name):
            threading.Thread(target=STOP.wait, args=(5,), name=name, daemon=True).start()
        def test_ini_pattern():
            _start("poller-1")
        @pytest.mark.leaklint(ignore_threads=["metrics-*"])
        def test_marker_pattern():
            _start("metrics-1")
        def test_marker_is_per_test():
            _start("metrics-2")
        """
    )
    result = _run(pytester, "--leaklint", "--leaklint-settle=0.2")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR test_allowed.py::test_marker_is_per_test - leaked 1*"])


def test_multiprocessing_helpers_are_on_the_built_in_list(pytester: pytest.Pytester) -> None:
    # The spawn and forkserver start methods start multiprocessing's resource tracker (and the
    # fork server) on first use and keep them, and a temporary folder, for the whole run: a
    # test that joins its own process leaves nothing of its own.
    pytester.makepyfile(
        test_spawned="""
        import multiprocessing, pytest
        def work():
            pass
        @pytest.mark.parametrize("method", ["spawn", "forkserver"])
        def test_joined(method):
            process = multiprocessing.get_context(method).Process(target=work)
            process.start()
            process.join()
        def test_not_joined():
            multiprocessing.get_context("spawn").Process(target=work).start()
        """
    )
    result = _run(pytester, "--leaklint", "--leaklint-settle=0.2")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR test_spawned.py::test_not_joined - leaked *process*"])
