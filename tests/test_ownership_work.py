"""One ownership analysis for resources and for the objects that run work (threads, timers,
executors, processes, tasks): the creations only the concurrency rules knew, and the
exemptions of those kinds, are part of ``Ownership`` itself, switched on by the spec."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from leaklint import registry
from leaklint.analysis import scopes
from leaklint.analysis.concurrency import ConcurrencyFates
from leaklint.analysis.ownership import Escape, Fate, Ownership
from leaklint.analysis.specs import FACTORIES, RUNNING_WORK_EXEMPTIONS, Kind
from leaklint.engine import RuleSet, check_text
from leaklint.file_context import FileContext
from leaklint.source import SourceText

SOURCE = textwrap.dedent(
    """
    import asyncio, os, subprocess, threading

    class Worker(threading.Thread):
        def stop(self):
            self.join()

    class Sub(Worker):
        pass

    def stored_thread(self, fn):
        t = threading.Thread(target=fn)
        t.start()
        self._pending[t] = 1

    def stored_file(self, p):
        f = open(p)
        self._pending[f] = 1

    def own_subclass():
        w = Sub()
        w.start()
        w.stop()

    async def tasks(loop, fut, coro):
        loop.create_task(coro)
        await asyncio.gather(coro)
        asyncio.ensure_future(fut)
        t = asyncio.create_task(coro)
        t.add_done_callback(print)

    def exits(argv):
        subprocess.Popen(argv)
        os.execv("/bin/true", [])

    def inline(fn):
        threading.Thread(target=fn).start()
    """
)


def _context() -> FileContext:
    return FileContext("snippet.py", SOURCE, cst.parse_module(SOURCE))


def _by_api() -> dict[str, tuple[Fate, Escape]]:
    context = _context()
    return {
        f"{r.api}@{context.position(r.call).start.line}": (r.fate, r.escape)
        for r in context.analysis(Ownership).resources
    }


def test_ownership_holds_the_creations_only_concurrency_knew() -> None:
    found = _by_api()
    # The module's own subclass of a subclass of Thread, released by its own `stop()`.
    assert found["Sub@21"] == (Fate.RELEASED, Escape.NONE)
    # Task creations on any loop, and gather; `ensure_future` of a future creates nothing.
    assert found["loop.create_task@26"] == (Fate.DROPPED, Escape.INLINE)
    assert "asyncio.ensure_future@28" not in found


def test_exemptions_are_settled_with_the_fate() -> None:
    found = _by_api()
    # Awaited as it is created: consumed there.
    assert found["asyncio.gather@27"] == (Fate.RELEASED, Escape.NONE)
    # A task only peeked at is lost when the frame ends, not handed off.
    assert found["asyncio.create_task@29"] == (Fate.LEAKED, Escape.NEVER_RELEASED)
    # The process ends (`os.execv`) right after the child is started.
    assert found["subprocess.Popen@33"][0] is Fate.HANDED_OFF


def test_exemptions_follow_the_spec_not_the_shape() -> None:
    found = _by_api()
    # The same shape, a key of a mapping on `self`: exempt for a thread, not for a file.
    assert found["threading.Thread@12"][0] is Fate.HANDED_OFF
    assert found["open@17"] == (Fate.LEAKED, Escape.NEVER_RELEASED)


@pytest.mark.parametrize(
    "factory", ["threading.Thread", "threading.Timer", "subprocess.Popen", "multiprocessing.Pool",
                "concurrent.futures.ThreadPoolExecutor", "asyncio.create_task", "os.spawnv"]
)
def test_every_kind_that_runs_work_has_the_exemptions(factory: str) -> None:
    (spec,) = FACTORIES[factory]
    assert spec.exemptions == RUNNING_WORK_EXEMPTIONS


def test_files_have_no_exemptions() -> None:
    assert all(
        not spec.exemptions and not spec.held_weakly
        for specs in FACTORIES.values()
        for spec in specs
        if spec.kind in (Kind.FILE, Kind.SOCKET, Kind.CONNECTION, Kind.RESPONSE, Kind.TEMPFILE)
    )


def test_concurrency_verdicts_are_a_view_of_ownership() -> None:
    context = _context()
    verdicts = context.analysis(ConcurrencyFates).verdicts
    resources = [r for r in context.analysis(Ownership).resources if r.spec.kind is not Kind.FILE]
    assert [v.resource for v in verdicts] == resources
    (inline,) = [v for v in verdicts if v.started_inline]
    assert context.position(inline.resource.call).start.line == 37
    assert [v.resource.api for v in context.analysis(ConcurrencyFates).leaks("LK101")] == [
        "threading.Thread"
    ]


def test_one_scope_model_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    original = scopes.Scopes.__init__

    def counting(self: scopes.Scopes, context: FileContext) -> None:
        built.append(context)
        original(self, context)

    monkeypatch.setattr(scopes.Scopes, "__init__", counting)
    result = check_text(
        SourceText(SOURCE, "utf-8"), "snippet.py", RuleSet(registry.select_rules())
    )
    assert {f.code for f in result.findings} >= {"LK101", "LK105", "LK106", "LK301"}
    assert len(built) == 1


@pytest.mark.parametrize("end", ["sys.exit(1)", "os._exit(1)", "os.abort()", "os.execv(p, [p])"])
def test_no_path_goes_on_past_the_end_of_the_process(end: str) -> None:
    source = f"import os, sys\ndef f(p):\n    log = open(p, 'w')\n    log.write('x')\n    {end}\n"
    context = FileContext("snippet.py", source, cst.parse_module(source))
    (resource,) = context.analysis(Ownership).resources
    # Only the exception path of `write` is left: the end of the function is never reached.
    assert resource.escape is Escape.EXCEPTION
