"""Autofixes: each fix applied to real-looking code, re-parsed, re-checked (its finding gone,
nothing new), and applied a second time with no change; the shapes that must not be fixed."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from helpers import json_findings, run_cli

from leaklint import registry


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
        import contextlib
        import sqlite3


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


        def fetch(base):
            with urlopen(f"{base}/status") as response:
                return response.read()
        """, "--unsafe-fixes")
    assert 'urlopen(f"{base}/status", timeout=2.5)' in text


# --- the command line around the fixes --------------------------------------------------------
LEAKY_READ = "def load(path):\n    data = open(path).read()\n    return data\n"
FIXED_READ = (
    "def load(path):\n    with open(path) as f:\n        data = f.read()\n    return data\n"
)


def test_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ)
    result = run_cli("check", str(path), "--no-cache", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"--- {path}\n+++ {path}\n@@ ")
    assert "-    data = open(path).read()\n+    with open(path) as f:\n" in result.stdout
    assert "Would apply 1 fix." in result.stderr
    assert path.read_text() == LEAKY_READ
    path.write_text(FIXED_READ)
    clean = run_cli("check", str(path), "--no-cache", "--diff")
    assert clean.exit_code == 0 and clean.stdout == ""


def test_fix_reports_what_remains(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ + "\n\ndef keep(path):\n    f = open(path)\n    return f.read()\n")
    result = run_cli("check", str(path), "--no-cache", "--fix")
    assert "Applied 1 fix." in result.stderr
    assert result.exit_code == 1
    assert result.stdout.count("LK301") == 1 and "file `f`" in result.stdout


def test_default_text_check_builds_no_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    from leaklint.rules import resource_rule

    def fail(*args: object) -> None:
        raise AssertionError("a fix was built for plain text output")

    monkeypatch.setattr(resource_rule, "with_block_fix", fail)
    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ)
    result = run_cli("check", str(path), "--no-cache", "--jobs", "1")
    assert result.exit_code == 1 and "LK301" in result.stdout
    assert "fixable" not in result.stderr


def test_unsafe_fixes_alone_shows_the_count(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ + "\n\ndef grow(x, seen=[]):\n    seen.append(x)\n    return seen\n")
    plain = run_cli("check", str(path), "--no-cache", "--fix", "--diff")
    assert "Would apply 1 fix (1 more fix with `--unsafe-fixes`)." in plain.stderr
    shown = run_cli("check", str(path), "--no-cache", "--unsafe-fixes")
    assert "2 fixable with `--fix --unsafe-fixes`." in shown.stderr
    assert path.read_text().startswith(LEAKY_READ)


def test_json_and_sarif_carry_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ)
    finding = json_findings(run_cli("check", str(path), "--no-cache", "--format", "json"))[0]
    assert finding["fix"] == {
        "description": "close the file from `open(...)` with a `with` block",
        "applicability": "safe",
        "edits": [{"line": 2, "column": 1, "end_line": 3, "end_column": 1,
                   "replacement": "    with open(path) as f:\n        data = f.read()\n"}],
    }
    log = json.loads(run_cli("check", str(path), "--no-cache", "--format", "sarif").stdout)
    (fix,) = log["runs"][0]["results"][0]["fixes"]
    change = fix["artifactChanges"][0]
    assert change["artifactLocation"]["uri"].endswith("module.py")
    assert change["replacements"] == [{
        "deletedRegion": {"startLine": 2, "startColumn": 1, "endLine": 3, "endColumn": 1},
        "insertedContent": {"text": "    with open(path) as f:\n        data = f.read()\n"},
    }]
    assert fix["properties"]["applicability"] == "safe"


def test_rules_lists_the_fixable_rules() -> None:
    rows = [line.split() for line in run_cli("rules").stdout.splitlines()[1:]]
    fixable = {row[0]: row[3] for row in rows if row[3] != "no"}
    assert fixable == {"LK105": "yes", "LK206": "unsafe", "LK301": "yes", "LK302": "yes",
                       "LK303": "yes", "LK304": "yes", "LK305": "unsafe"}
    assert "(on by default, safe autofix)" in run_cli("rule", "LK301").stdout


def test_docs_say_autofix_honestly() -> None:
    for rule in registry.ALL_RULES:
        documented = "## Autofix" in rule.documentation()
        assert documented == (rule.AUTOFIX is not None), rule.CODE
        if rule.AUTOFIX is not None:
            word = "Safe (`--fix`)" if rule.AUTOFIX.value == "safe" else "Unsafe (`--unsafe-fixes`)"
            assert word in rule.documentation(), rule.CODE


def test_file_changed_since_checked_is_not_fixed(tmp_path: Path) -> None:
    from leaklint.config import Settings
    from leaklint.discovery import discover
    from leaklint.fix_command import FixRequest, run_fixes
    from leaklint.runner import check_targets

    path = tmp_path / "module.py"
    path.write_text(LEAKY_READ)
    settings = Settings(root=str(tmp_path))
    results = check_targets(list(discover((str(path),), settings.is_excluded)), settings,
                            use_cache=False, fixes=True)
    path.write_text(LEAKY_READ + "# edited meanwhile\n")
    after = run_fixes(results, settings, FixRequest(apply=True), None)
    assert path.read_text() == LEAKY_READ + "# edited meanwhile\n"
    assert after == results


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_breaks_encoding_and_mode_are_kept(tmp_path: Path, newline: str) -> None:
    source = "# -*- coding: latin-1 -*-\n" + LEAKY_READ.replace("open(path)", "open(path, 'é')")
    path = tmp_path / "module.py"
    path.write_bytes(source.replace("\n", newline).encode("latin-1"))
    path.chmod(0o640)
    run_cli("check", str(path), "--no-cache", "--fix")
    data = path.read_bytes()
    assert data.decode("latin-1") == (
        "# -*- coding: latin-1 -*-\ndef load(path):\n    with open(path, 'é') as f:\n"
        "        data = f.read()\n    return data\n"
    ).replace("\n", newline)
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["module.py"]  # no temporary file left


def test_byte_order_mark_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_bytes(b"\xef\xbb\xbf" + LEAKY_READ.encode())
    run_cli("check", str(path), "--no-cache", "--fix")
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED_READ.encode()


def test_overlapping_edits_wait_for_the_next_round() -> None:
    from leaklint.fixes import choose_fixes
    from leaklint.model import Edit, Finding, Fix

    def finding(line: int, *edits: Edit) -> Finding:
        return Finding("m.py", line, 1, "LK301", line, 2, "n", "m", Fix("d", edits))

    shared = Edit(1, 1, 1, 1, "import contextlib\n")
    first = finding(2, shared, Edit(2, 1, 4, 1, "a\n"))
    inside = finding(3, Edit(3, 1, 4, 1, "b\n"))
    second = finding(5, shared, Edit(5, 1, 6, 1, "c\n"))
    chosen, edits = choose_fixes("x\n" * 6, [first, inside, second], unsafe=False)
    assert chosen == [first, second]
    assert len(edits) == 3  # the shared import once


def test_fixes_on_every_fixture(tmp_path: Path) -> None:
    """All the fixtures, fixed with the unsafe fixes too: every file still compiles, no rule
    finds more than before, every applied fix took its finding away, and a second run
    changes nothing."""
    import shutil

    from markers import ROOT

    folder = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", folder)

    def by_file() -> dict[str, Counter[str]]:
        found: dict[str, Counter[str]] = {}
        result = run_cli("check", str(folder), "--no-cache", "--format", "json")
        for finding in json_findings(result):
            found.setdefault(finding["path"], Counter())[finding["code"]] += 1
        return found

    before = by_file()
    sources = {path: path.read_text() for path in folder.rglob("*.py")}
    result = run_cli("check", str(folder), "--no-cache", "--fix", "--unsafe-fixes")
    applied = int(result.stderr.split("Applied ", 1)[1].split(" ", 1)[0])
    assert applied >= 25
    changed = [path for path, text in sources.items() if path.read_text() != text]
    for path in changed:
        compile(path.read_text(), str(path), "exec")
    after = by_file()
    for path in before.keys() | after.keys():
        assert not after.get(path, Counter()) - before.get(path, Counter()), path
    gone = sum(sum((before[path] - after.get(path, Counter())).values()) for path in before)
    assert gone == applied
    again = run_cli("check", str(folder), "--no-cache", "--fix", "--unsafe-fixes")
    assert "Applied 0 fixes." in again.stderr


def test_task_set_in_a_module_without_imports(tmp_path: Path) -> None:
    text = fixed(tmp_path, """\
        async def handle(loop, request):
            loop.create_task(audit(request))


        async def audit(request):
            print(request)
        """)
    assert text.startswith(expect("""\
        # Running tasks, kept until done: the event loop holds tasks only weakly.
        _background_tasks = set()


        async def handle(loop, request):
            task = loop.create_task(audit(request))
        """))


def test_added_import_goes_in_sorted_place(tmp_path: Path) -> None:
    text = fixed(tmp_path, """\
        from __future__ import annotations

        import json
        import sqlite3


        def count(db):
            conn = sqlite3.connect(db)
            rows = json.dumps(conn.execute("select 1").fetchall())
            conn.close()
            return rows
        """)
    assert text.startswith(expect("""\
        from __future__ import annotations

        import contextlib
        import json
        import sqlite3
        """))
