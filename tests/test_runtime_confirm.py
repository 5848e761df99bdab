"""leaklint confirm: subprocess per fixture, timeouts, the JSON contract, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from leaklint.cli import main
from leaklint.runtime import confirm as confirming
from leaklint.runtime.records import Kind, LeakRecord, Site

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "fixtures" / "LK105-dangling-task"


def _confirm(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["confirm", *args])
    return result.exit_code, result.output


def test_dangling_task_fixtures_confirmed_and_twins_clean() -> None:
    _, output = _confirm(str(TASKS / "leak_fire_and_forget.py"), str(TASKS / "ok_awaited.py"),
                            "--format", "json", "--timeout", "20")
    data = json.loads(output)
    lk105 = [f for f in data["findings"] if f["code"] == "LK105"]
    assert lk105 and all(f["status"] == "confirmed" for f in lk105)
    leak = TASKS / "leak_fire_and_forget.py"
    line = next(n for n, text in enumerate(leak.read_text().splitlines(), 1)
                if "expect: LK105" in text)
    assert f"leak_fire_and_forget.py:{line}" in lk105[0]["evidence"]
    assert data["clean"] == [str(TASKS / "ok_awaited.py")]


def _fixture(tmp_path: Path, name: str, body: str) -> Path:
    folder = tmp_path / "fixtures" / "LK101-thread-not-joined"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_hung_main_times_out_with_its_stack_and_never_counts_as_clean(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_blocks.py", """
        import threading

        def main():
            threading.Event().wait()
    """)
    code, output = _confirm(str(path), "--format", "json", "--timeout", "1")
    data = json.loads(output)
    assert code == 1
    assert data["clean"] == []
    assert data["errors"][0]["status"] == "timeout"


def test_leaked_non_daemon_thread_does_not_hang_and_is_runtime_only(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_thread.py", """
        import threading

        def main():
            threading.Thread(target=threading.Event().wait, args=(30,)).start()
    """)
    code, output = _confirm(str(path), "--format", "json", "--timeout", "10")
    data = json.loads(output)
    # Either the static check found it (confirmed) or the runtime did alone (runtime_only).
    found = [(f["line"], f["code"]) for f in data["findings"] if f["status"] == "confirmed"]
    only = [(r["line"], r["code"]) for r in data["runtime_only"]]
    assert (5, "LK101") in found + only
    assert code == (1 if only else 0)


def test_import_error_is_reported(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "ok_broken.py", "import no_such_module_here\ndef main(): pass\n")
    code, output = _confirm(str(path), "--timeout", "5")
    assert code == 1
    assert "IMPORT-ERROR" in output and "no_such_module_here" in output


def test_folder_runs_every_fixture_and_text_summary(tmp_path: Path) -> None:
    _fixture(tmp_path, "ok_joined.py", """
        import threading

        def main():
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
    """)
    code, output = _confirm(str(tmp_path / "fixtures"), "--timeout", "10")
    assert code == 0, output
    assert "CLEAN" in output and "1 clean" in output


def test_harness_survives_interpreter_shutdown_with_threads(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_t.py", """
        import threading

        def main():
            threading.Thread(target=threading.Event().wait).start()
    """)
    result_path = tmp_path / "out.json"
    completed = subprocess.run(
        [sys.executable, "-m", "leaklint.runtime.harness", str(path), str(result_path), "5"],
        timeout=30, capture_output=True, env=dict(os.environ),
    )
    assert completed.returncode == 0
    assert json.loads(result_path.read_text())["records"][0]["kind"] == "thread"


def _harness(path: Path, tmp_path: Path, *targets: str) -> dict:
    result_path = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-m", "leaklint.runtime.harness", str(path), str(result_path), "10",
         *targets],
        timeout=60, capture_output=True, check=True,
    )
    return json.loads(result_path.read_text())


def test_growth_probe_reports_per_call_growth_of_the_flagged_container(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_cache.py", """
        SEEN = {}
        CALLS = [0]

        def remember(key):
            SEEN[key] = bytearray(100)

        def main():
            CALLS[0] += 1
            remember(CALLS[0])
    """)
    data = _harness(path, tmp_path, "LK201:2:container")
    [record] = [r for r in data["records"] if r["code"] == "LK201"]
    assert record["site"]["line"] == 2
    assert "+1 entry per call" in record["detail"]


def test_creator_exit_evidence_for_a_thread_dropped_on_an_early_return(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_early.py", """
        import threading, time

        def lookup(keys):
            worker = threading.Thread(target=time.sleep, args=(0.2,))
            worker.start()
            if not keys:
                return []
            worker.join()
            return keys

        def main():
            lookup([])
            time.sleep(0.3)
    """)
    data = _harness(path, tmp_path)
    assert data["records"] == []  # nothing is left at the end ...
    [evidence] = data["evidence"]  # ... but the thread outlived `lookup` unreferenced
    assert (evidence["kind"], evidence["code"], evidence["site"]["line"]) == ("thread", "LK101", 5)
    assert "`lookup`" in evidence["detail"]


def test_handed_off_thread_is_not_evidence(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "ok_handed.py", """
        import threading, time

        def start():
            worker = threading.Thread(target=time.sleep, args=(0.1,))
            worker.start()
            return worker

        def main():
            start().join()
    """)
    data = _harness(path, tmp_path)
    assert data["records"] == [] and data["evidence"] == []


def test_loop_that_only_ends_by_an_exception_is_lk102_evidence(tmp_path: Path) -> None:
    path = _fixture(tmp_path, "leak_loop.py", """
        import threading

        def worker(items):
            while True:
                items.pop()

        def main():
            t = threading.Thread(target=worker, args=([1, 2],), daemon=True)
            t.start()
            t.join(5)
    """)
    data = _harness(path, tmp_path, "LK102:5")
    [evidence] = [e for e in data["evidence"] if e["code"] == "LK102"]
    assert evidence["site"]["line"] == 5
    assert "IndexError" in evidence["detail"]


def _verdict(findings: list[dict[str, object]], runtime_only: list[dict[str, object]],
             status: str = "ok") -> confirming.FileVerdict:
    return confirming.FileVerdict("f.py", status, findings=findings, runtime_only=runtime_only)


def test_exit_status_accepts_the_gaps_a_fixture_records_and_nothing_else() -> None:
    confirmed = {"code": "LK301", "status": "confirmed", "marker": "expect"}
    known_fp = {"code": "LK301", "status": "unconfirmed", "marker": "fp"}
    known_miss = {"code": "LK304", "marker": "miss:LK304"}
    assert confirming.exit_status([_verdict([confirmed, known_fp], [known_miss])]) == 0
    # An expected leak without evidence, or a leak nothing explains, fails the run.
    unconfirmed = {"code": "LK301", "status": "unconfirmed", "marker": "expect"}
    assert confirming.exit_status([_verdict([unconfirmed], [])]) == 1
    assert confirming.exit_status([_verdict([], [{"code": "LK302"}])]) == 1
    # A miss recorded for another rule does not excuse this one.
    assert confirming.exit_status([_verdict([], [{"code": "LK302", "marker": "miss:LK304"}])]) == 1
    # Evidence for a recorded false positive is reported, not failed: retention can be fine.
    retained_fp = {"code": "LK201", "status": "confirmed", "marker": "fp"}
    assert confirming.exit_status([_verdict([retained_fp], [])]) == 0
    assert confirming.exit_status([_verdict([], [], status="timeout")]) == 1


def test_a_socket_made_inside_a_flagged_client_is_that_clients_leak(tmp_path: Path) -> None:
    path = tmp_path / "leak_client.py"
    path.write_text("import http.client\n\n\ndef main():\n"
                    "    conn = http.client.HTTPConnection('h')\n"
                    "    conn.request('GET', '/')\n", encoding="utf-8")
    real = str(path.resolve())
    connection = Site(real, 5, "main")
    socket_record = LeakRecord(Kind.SOCKET, "socket", Site(real, 6, "main"), (),
                               "never closed", "LK302", extra_sites=(connection,))
    stray = LeakRecord(Kind.SOCKET, "socket", Site(real, 6, "main"), (), "never closed",
                       "LK302")
    finding = confirming.StaticFinding(5, "LK303", "connection not closed")
    owned = confirming.judge(str(path), [finding], {"records": [socket_record.to_json()]})
    assert owned.runtime_only == []
    # Without the owner link the same socket is a leak of its own that no finding explains.
    alone = confirming.judge(str(path), [finding], {"records": [stray.to_json()]})
    assert [r["code"] for r in alone.runtime_only] == ["LK302"]


def test_static_findings_honour_the_projects_configuration(tmp_path: Path) -> None:
    """``confirm`` judges what ``leaklint check`` reports for the project: its selection, its
    rule options and its per-file-ignores, with the off-by-default rules added."""
    source = textwrap.dedent(
        """\
        import socket

        def f(p):
            return open(p).read()

        def g(host):
            s = socket.create_connection((host, 80), timeout=5)
            s.sendall(b"x")
            s.close()

        def h():
            data = bytearray(200_000)
            return lambda: len(data)
        """
    )
    (tmp_path / "leaky.py").write_text(source)
    (tmp_path / "other.py").write_text(source)
    path, other = str(tmp_path / "leaky.py"), str(tmp_path / "other.py")
    found = confirming.static_findings([path, other])
    assert {f.code for f in found[path]} == {"LK301", "LK302"}  # 200 kB is no MiB
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leaklint]\nignore = ["LK302"]\n'
        '[tool.leaklint.per-file-ignores]\n"other.py" = ["LK301"]\n'
        "[tool.leaklint.LK401]\nmin-bytes = 100000\n"
    )
    found = confirming.static_findings([path, other])
    assert {f.code for f in found[path]} == {"LK301", "LK401"}
    assert {f.code for f in found[other]} == {"LK401"}
