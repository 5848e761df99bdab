"""Autofixes: each fix applied to real-looking code, re-parsed, re-checked (its finding gone,
nothing new), and applied a second time with no change; the shapes that must not be fixed."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from helpers import json_findings, run_cli


def _codes(path: Path) -> Counter[str]:
    return Counter(f["code"] for f in json_findings(run_cli("check", str(path), "--no-cache",
                                                            "--format", "json")))


def fixed(tmp_path: Path, source: str, *options: str, name: str = "module.py") -> str:
    """Fix ``source`` as ``leaklint check --fix`` does and check the result: it parses and
    compiles, every finding a fix was applied for is gone, no new finding appears, and a
    second run changes nothing."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    before = _codes(path)
    result = run_cli("check", str(path), "--no-cache", "--fix", *options)
    text = path.read_text()
    cst.parse_module(text)
    compile(text, str(path), "exec")
    after = _codes(path)
    assert not after - before, f"new findings: {after - before}"
    applied = int(result.stderr.split("Applied ", 1)[1].split(" ", 1)[0])
    assert sum((before - after).values()) == applied
    again = run_cli("check", str(path), "--no-cache", "--fix", *options)
    assert "Applied 0 fixes" in again.stderr
    assert path.read_text() == text
    return text


def expect(source: str) -> str:
    return textwrap.dedent(source)


# --- LK301-LK304: with blocks ------------------------------------------------------------------
WITH_CASES = {
    "read_inline": (
        """\
        def load(path):
            data = open(path).read()
            return data.strip()
        """,
        """\
        def load(path):
            with open(path) as f:
                data = f.read()
            return data.strip()
        """,
    ),
    "json_load_returned": (
        """\
        import json


        def settings(path):
            return json.load(open(path, encoding="utf-8"))
        """,
        """\
        import json


        def settings(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        """,
    ),
    "for_loop_over_file": (
        """\
        def count(path, word):
            total = 0
            for line in open(path):
                if word in line:
                    total += 1
            return total
        """,
        """\
        def count(path, word):
            total = 0
            with open(path) as f:
                for line in f:
                    if word in line:
                        total += 1
            return total
        """,
    ),
    "enumerate_in_for": (
        """\
        def numbered(path):
            for number, line in enumerate(open(path), 1):
                print(number, line)
        """,
        """\
        def numbered(path):
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    print(number, line)
        """,
    ),
    "name_taken": (
        """\
        def copy(f, path):
            f(open(path).read())
        """,
        """\
        def copy(f, path):
            with open(path) as file:
                file(file.read()) if False else f(file.read())
        """,
    ),
    "bound_closed_at_end": (
        """\
        def save(path, rows):
            out = open(path, "w", encoding="utf-8")  # the report
            out.write("header\\n")
            for row in rows:
                out.write(render(row))
            out.close()
            print("saved", out.name)
        """,
        """\
        def save(path, rows):
            with open(path, "w", encoding="utf-8") as out:  # the report
                out.write("header\\n")
                for row in rows:
                    out.write(render(row))
            print("saved", out.name)
        """,
    ),
    "socket_connect_may_fail": (
        """\
        import socket


        def ping(host, port):
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"ping")
            answer = sock.recv(4)
            sock.close()
            return answer
        """,
        """\
        import socket


        def ping(host, port):
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(b"ping")
                answer = sock.recv(4)
            return answer
        """,
    ),
    "sqlite_gets_closing_and_import": (
        '''\
        """Reports."""
        import sqlite3


        def count(db):
            conn = sqlite3.connect(db)
            rows = conn.execute("select count(*) from t").fetchone()
            conn.close()
            return rows[0]
        ''',
        '''\
        """Reports."""
        import sqlite3
        import contextlib


        def count(db):
            with contextlib.closing(sqlite3.connect(db)) as conn:
                rows = conn.execute("select count(*) from t").fetchone()
            return rows[0]
        ''',
    ),
    "sqlite_uses_existing_closing_import": (
        """\
        import sqlite3
        from contextlib import closing


        def count(db):
            conn = sqlite3.connect(db)
            rows = conn.execute("select 1").fetchall()
            conn.close()
            return rows
        """,
        """\
        import sqlite3
        from contextlib import closing


        def count(db):
            with closing(sqlite3.connect(db)) as conn:
                rows = conn.execute("select 1").fetchall()
            return rows
        """,
    ),
    "requests_session_and_stream": (
        """\
        import requests


        def fetch(url):
            session = requests.Session()
            data = session.get(url, timeout=5).json()
            session.close()
            return data


        def download(url, out):
            response = requests.get(url, stream=True, timeout=5)
            for chunk in response.iter_content(1024):
                out.write(chunk)
            response.close()
        """,
        """\
        import requests


        def fetch(url):
            with requests.Session() as session:
                data = session.get(url, timeout=5).json()
            return data


        def download(url, out):
            with requests.get(url, stream=True, timeout=5) as response:
                for chunk in response.iter_content(1024):
                    out.write(chunk)
        """,
    ),
    "nested_files_in_rounds": (
        """\
        def copy(src_path, dst_path):
            src = open(src_path)
            dst = open(dst_path, "w")
            dst.write(src.read())
            dst.close()
            src.close()
        """,
        """\
        def copy(src_path, dst_path):
            with open(src_path) as src:
                with open(dst_path, "w") as dst:
                    dst.write(src.read())
        """,
    ),
    "method_with_multiline_string": (
        '''\
        class Report:
            def write(self, path):
                out = open(path, "w")
                out.write("""first
        second
        """)
                out.close()
        ''',
        '''\
        class Report:
            def write(self, path):
                with open(path, "w") as out:
                    out.write("""first
        second
        """)
        ''',
    ),
}


@pytest.mark.parametrize("case", [c for c in WITH_CASES if c != "name_taken"])
def test_with_block_fix(tmp_path: Path, case: str) -> None:
    source, result = WITH_CASES[case]
    assert fixed(tmp_path, source) == expect(result)


def test_with_block_picks_a_fresh_name(tmp_path: Path) -> None:
    text = fixed(tmp_path, """\
        def copy(f, path):
            f(open(path).read())
        """)
    assert text == expect("""\
        def copy(f, path):
            with open(path) as file:
                f(file.read())
        """)


NOT_WITH = {
    # The file outlives the statement: closing it would break the caller or the next line.
    "returned_lazy_reader": """\
        import csv


        def rows(path):
            return csv.reader(open(path))
        """,
    "kept_reader": """\
        import csv


        def rows(path):
            reader = csv.reader(open(path))
            return list(reader)
        """,
    "generator_expression": """\
        def lines(path):
            return (line.strip() for line in open(path))
        """,
    "conditional": """\
        def load(path, wanted):
            data = open(path).read() if wanted else ""
            return data
        """,
    "comprehension_variable": """\
        def load(paths):
            return [open(p).read() for p in paths]
        """,
    "call_runs_before_open": """\
        import json


        def save(path):
            json.dump(make(), open(path, "w"))
        """,
    "bound_with_return_between": """\
        def head(path):
            f = open(path)
            first = f.readline()
            if not first:
                return None
            f.close()
            return first
        """,
    "bound_used_in_handler": """\
        def parse(path):
            try:
                f = open(path)
                data = f.read()
                f.close()
            except ValueError:
                data = f.read()
            return data
        """,
    "bound_never_closed": """\
        def load(path):
            f = open(path)
            return f.read()
        """,
    "bound_in_loop_read_next_round": """\
        def scan(paths):
            f = None
            for path in paths:
                if f is not None:
                    print(f.closed)
                f = open(path)
                f.read()
                f.close()
        """,
    "os_open_descriptor": """\
        import os


        def touch(path):
            fd = os.open(path, os.O_CREAT)
            os.write(fd, b"")
        """,
    "one_line_suite": """\
        def load(path, wanted):
            if wanted: return open(path).read()
        """,
}


@pytest.mark.parametrize("case", sorted(NOT_WITH))
def test_no_with_block_fix(tmp_path: Path, case: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(textwrap.dedent(NOT_WITH[case]))
    findings = json_findings(run_cli("check", str(path), "--no-cache", "--format", "json"))
    assert findings, "the case must be a finding, or it tests nothing"
    assert all(f["fix"] is None for f in findings if f["code"].startswith("LK30"))


# --- LK105: keep the task ----------------------------------------------------------------------
def test_dangling_task_kept_in_new_set(tmp_path: Path) -> None:
    text = fixed(tmp_path, '''\
        """Audit."""
        import asyncio


        async def audit(request):
            print(request)


        async def handle(request):
            asyncio.create_task(audit(request))  # fire and forget
            asyncio.ensure_future(audit(request)).add_done_callback(report)
            _ = asyncio.create_task(audit(request))
            return "ok"
        ''')
    assert text == expect('''\
        """Audit."""
        import asyncio

        # Running tasks, kept until done: the event loop holds tasks only weakly.
        _background_tasks = set()


        async def audit(request):
            print(request)


        async def handle(request):
            task = asyncio.create_task(audit(request))  # fire and forget
            _background_tasks.add(task)
            task.add_done_callback(_background_tasks.discard)
            task = asyncio.ensure_future(audit(request))
            _background_tasks.add(task)
            task.add_done_callback(_background_tasks.discard)
            task.add_done_callback(report)
            task = asyncio.create_task(audit(request))
            _background_tasks.add(task)
            task.add_done_callback(_background_tasks.discard)
            return "ok"
        ''')


def test_dangling_task_reuses_the_modules_set(tmp_path: Path) -> None:
    text = fixed(tmp_path, """\
        import asyncio

        RUNNING: set = set()


        def track(task):
            RUNNING.add(task)
            task.add_done_callback(RUNNING.discard)


        async def handle(task, request):
            asyncio.create_task(audit(request))
        """)
    assert "_background_tasks" not in text
    assert expect("""\
        async def handle(task, request):
            background_task = asyncio.create_task(audit(request))
            RUNNING.add(background_task)
            background_task.add_done_callback(RUNNING.discard)
        """) in text


def test_dangling_task_not_fixed_inside_expressions(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(textwrap.dedent("""\
        import asyncio


        async def handle(items, loop, coro):
            [asyncio.create_task(work(i)) for i in items]
            asyncio.run_coroutine_threadsafe(coro, loop)
        """))
    findings = json_findings(run_cli("check", str(path), "--no-cache", "--format", "json"))
    assert [f["code"] for f in findings] == ["LK105", "LK105"]
    assert all(f["fix"] is None for f in findings)


# --- LK206 (unsafe): None default --------------------------------------------------------------
MUTABLE_DEFAULT = """\
    from typing import List


    def collect(row, seen: List[int] = []):
        \"\"\"Collect rows.\"\"\"
        # remember it
        seen.append(row)
        return seen


    def group(key, value, groups=dict()):
        groups[key] = value
        return groups
    """


def test_mutable_default_fix_is_unsafe(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(textwrap.dedent(MUTABLE_DEFAULT))
    result = run_cli("check", str(path), "--no-cache", "--fix")
    assert "Applied 0 fixes (2 more fixes with `--unsafe-fixes`)." in result.stderr
    assert path.read_text() == textwrap.dedent(MUTABLE_DEFAULT)


def test_mutable_default_becomes_none(tmp_path: Path) -> None:
    text = fixed(tmp_path, MUTABLE_DEFAULT, "--unsafe-fixes")
    assert text == expect("""\
        from typing import List
        from typing import Optional


        def collect(row, seen: Optional[List[int]] = None):
            \"\"\"Collect rows.\"\"\"
            if seen is None:
                seen = []
            # remember it
            seen.append(row)
            return seen


        def group(key, value, groups=None):
            if groups is None:
                groups = dict()
            groups[key] = value
            return groups
        """)


def test_module_level_default_is_not_fixed(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text("REGISTRY = []\n\n\ndef register(item, into=REGISTRY):\n"
                    "    into.append(item)\n")
    findings = json_findings(run_cli("check", str(path), "--no-cache", "--format", "json"))
    assert [f["code"] for f in findings] == ["LK206"] and findings[0]["fix"] is None


# --- LK305 (unsafe): timeout -------------------------------------------------------------------
def test_timeout_added(tmp_path: Path) -> None:
    text = fixed(tmp_path, """\
        import requests


        def fetch(url):
            first = requests.get(url).json()
            second = requests.post(
                url,
                json=first,
            )
            third = requests.get(url, timeout=None)
            return requests.get(url, timeout=(3.05, None)), second, third
        """, "--unsafe-fixes")
    assert text == expect("""\
        import requests


        def fetch(url):
            first = requests.get(url, timeout=10).json()
            second = requests.post(
                url,
                json=first,
                timeout=10,
            )
            third = requests.get(url, timeout=10)
            return requests.get(url, timeout=(3.05, 10)), second, third
        """)


def test_timeout_from_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.leaklint]\n\n[tool.leaklint.LK305]\nfix-timeout = 2.5\n"
    )
    text = fixed(tmp_path, """\
        from urllib.request import urlopen


        def fetch(url):
            with urlopen(url) as response:
                return response.read()
        """, "--unsafe-fixes")
    assert "urlopen(url, timeout=2.5)" in text
