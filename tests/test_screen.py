"""The ast first look: which files libcst parses, and that no rule's screen drops a finding."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from markers import FIXTURES, read_markers

from leaklint import engine, registry, screen
from leaklint.engine import check_bytes
from leaklint.screen import Screen
from leaklint.source import UnreadableSource

EVERY_RULE = registry.rule_set(extend_select=registry.off_by_default())
FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    parse = engine._parse

    def counting(text: str, path: str) -> Any:
        parsed.append(path)
        return parse(text, path)

    monkeypatch.setattr(engine, "_parse", counting)
    return parsed


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_rule_with_a_finding_in_a_fixture_may_report_on_it(path: Path) -> None:
    """Soundness on the living examples: a rule that reports (or is known to miss) something
    in a fixture must never be screened out of it."""
    markers = read_markers(path)
    wanted = {code for _, code in markers.reported | markers.miss}
    first_look = Screen(path.read_text(encoding="utf-8"))
    screened_out = {
        rule.CODE for rule in registry.ALL_RULES
        if rule.CODE in wanted and not rule.may_report(first_look)
    }
    assert not screened_out


def test_the_ast_screens_are_as_sharp_as_the_text_triggers_they_replace() -> None:
    """When a file parses, a rule's ``ast`` screen decides alone: it must drop every file
    whose text lacks all of the rule's triggers (else the screen costs more libcst parses
    than the triggers did). Checked on every fixture and on leaklint's own source."""
    sources = [*FIXTURE_FILES, *sorted(Path(engine.__file__).parent.rglob("*.py"))]
    kept_without_trigger = [
        (rule.CODE, path.name)
        for path in sources
        for first_look in [Screen(path.read_text(encoding="utf-8"))]
        if first_look.facts is not None
        for rule in registry.ALL_RULES
        if not rule.applies_to(first_look.text) and rule.may_report(first_look)
    ]
    assert not kept_without_trigger


def test_a_file_no_rule_needs_is_not_parsed_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    source = b"# open(path) in a comment, and a docstring about threads\n\ndef add(a, b):\n" \
             b'    """Thread-safe: open to everyone."""\n    return a + b\n'
    result = check_bytes(source, "plain.py", EVERY_RULE)
    assert result.findings == () and not result.errors
    assert parsed == []


def test_a_file_a_rule_needs_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    source = b"def read(path):\n    return open(path).read()\n"
    result = check_bytes(source, "reader.py", EVERY_RULE)
    assert [f.code for f in result.findings] == ["LK301"]
    assert parsed == ["reader.py"]


def test_a_syntax_error_is_still_reported_with_libcsts_reason() -> None:
    source = "def broken(:\n    pass\n"
    with pytest.raises(UnreadableSource) as libcst_says:
        engine._parse(source, "broken.py")
    result = check_bytes(source.encode(), "broken.py", EVERY_RULE)
    [finding] = result.findings
    assert finding.code == "LK001"
    assert finding.message == f"cannot analyse this file: {libcst_says.value.reason}"
    assert (finding.line, finding.column) == (libcst_says.value.line, libcst_says.value.column)


def test_code_the_running_python_cannot_parse_falls_back_to_libcst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Newer syntax on an older Python: no ast facts, so every rule keeps its text triggers
    and libcst decides."""
    monkeypatch.setattr(screen, "parse_quietly", lambda text: None)
    parsed = _count_parses(monkeypatch)
    source = b"def read(path):\n    return open(path).read()\n"
    result = check_bytes(source, "newer.py", EVERY_RULE)
    assert [f.code for f in result.findings] == ["LK301"]
    assert parsed == ["newer.py"]


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("def f(p):\n    with open(p) as h:\n        return h.read()\n", False),
        ("def f(p):\n    h = open(p)\n    return h.read()\n", True),
        ("from io import open as o\ndef f(p):\n    return o(p).read()\n", True),
        # The ownership analysis resolves a call through the file's imports only: a method
        # named like a factory on an object of unknown type is not that factory.
        ("def f(self, p):\n    return self.open(p)\n", False),
        ("import os\ndef f(p):\n    return os.open(p, os.O_RDONLY)\n", True),
        ("from os import open as o\ndef f(p):\n    return o(p, 0)\n", True),
        # A method factory needs a receiver of known type: a call or annotation of its type.
        ("def f(s):\n    return s.makefile()\n", False),
        ("import socket\ndef f():\n    return socket.socket().makefile()\n", True),
    ],
)
def test_file_rule_screen(source: str, kept: bool) -> None:
    rule = registry.find_rule("LK301")
    assert rule.may_report(Screen(source)) is kept


@pytest.mark.parametrize(
    ("code", "source", "kept"),
    [
        ("LK304", "def f(d, url):\n    return d.get(url)\n", False),
        ("LK304", "import requests\ndef f(url):\n    return requests.get(url)\n", True),
        ("LK304", "import requests\ndef f(url):\n    s = requests.Session()\n"
                  "    return s.get(url)\n", True),
        ("LK101", "from threading import Thread as Worker\ndef f(g):\n"
                  "    Worker(target=g).start()\n", True),
        ("LK101", "def f(pool, g):\n    pool.Thread(target=g).start()\n", False),
        # Only the module's subclasses of a class that runs once started are creations.
        ("LK302", "import socketserver\nclass S(socketserver.TCPServer):\n    pass\n", False),
        ("LK101", "import threading\nclass W(threading.Thread):\n    pass\n", True),
    ],
)
def test_resource_rule_screens(code: str, source: str, kept: bool) -> None:
    assert registry.find_rule(code).may_report(Screen(source)) is kept


@pytest.mark.parametrize(
    ("code", "source", "kept"),
    [
        # LK206 reports a default of a def outside any function, grown by it.
        ("LK206", "def f(x, seen=[]):\n    seen.append(x)\n", True),
        ("LK206", "def f(x, seen=[]):\n    return seen\n", False),
        ("LK206", "def outer():\n    def f(x, seen=[]):\n        seen.append(x)\n", False),
        # Grown by another function only: the default of `f` is never grown.
        ("LK206", "def f(x, seen=[]):\n    return seen\ndef g(seen):\n    seen.append(1)\n",
         False),
        # LK202 reports a cache decorator on a method.
        ("LK202", "import functools\nclass C:\n    @functools.lru_cache\n"
                  "    def f(self, x):\n        return x\n", True),
        ("LK202", "import functools\nmemo = functools.lru_cache(maxsize=None)\nclass C:\n"
                  "    @memo\n    def f(self, x):\n        return x\n", True),
        ("LK202", "import functools\n@functools.lru_cache\ndef f(x):\n    return x\n", False),
        # LK401 needs a large local spelled in a closure; LK402 a view of one.
        ("LK401", "def f(p):\n    data = open(p).read()\n    return lambda: data\n", True),
        ("LK401", "def f(p):\n    data = open(p).read()\n    return lambda: p\n", False),
        ("LK402", "def f(p):\n    data = open(p).read()\n    return memoryview(data)[:4]\n",
         True),
        ("LK402", "def f(p, b):\n    data = open(p).read()\n    return memoryview(b)[:4]\n",
         False),
        ("LK402", "def f(p):\n    data = open(p).read()\n    view = data\n"
                  "    return memoryview(view)[:4]\n", True),
        # Stored on an object, the buffer is no longer followed by name.
        ("LK402", "def f(p, o, b):\n    data = open(p).read()\n    o.data = data\n"
                  "    return memoryview(b)[:4]\n", False),
    ],
)
def test_screens_follow_what_the_analyses_need(code: str, source: str, kept: bool) -> None:
    assert registry.find_rule(code).may_report(Screen(source)) is kept


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("CACHE = {}\ndef get(k):\n    return CACHE.get(k)\n", False),
        ("CACHE = {}\ndef get(k):\n    return k in CACHE or len(CACHE)\n", False),
        ("CACHE = {}\ndef get():\n    return CACHE\n", False),
        ("CACHE = []\ndef put(v):\n    alias = CACHE\n    alias.append(v)\n", True),
        ("CACHE = []\ndef put(v):\n    global CACHE\n    CACHE += [v]\n", True),
        ("CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\n", True),
        ("CACHE = []\ndef put(v):\n    CACHE.append(v)\n", True),
        ("CACHE = []\ndef put(v):\n    remember(CACHE, v)\ndef remember(c, v):\n    c.append(v)\n",
         True),
        ("from collections import defaultdict\nD = defaultdict(list)\ndef f(k):\n    D[k]\n", True),
    ],
)
def test_container_rule_screen(source: str, kept: bool) -> None:
    rule = registry.find_rule("LK201")
    assert rule.may_report(Screen(source)) is kept


GROWN = "CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\n"


@pytest.mark.parametrize(
    ("eviction", "kept"),
    [
        # Evictions the analysis always resolves to the module's container: not parsed.
        ("def done(k):\n    CACHE.pop(k, None)\n", False),
        ("def done(k):\n    del CACHE[k]\n", False),
        ("def done(k):\n    del other[k], CACHE[k]\n", False),
        ("def reset():\n    CACHE.clear()\n", False),
        ("atexit.register(CACHE.clear)\n", False),
        ("def trim():\n    if len(CACHE) > 100:\n        CACHE.popitem()\n", False),
        # The name may mean something else where it is evicted: parsed.
        ("def done(CACHE, k):\n    CACHE.pop(k)\n", True),
        ("def done(k):\n    CACHE = {}\n    CACHE.pop(k)\n", True),
        ("def done(k):\n    [CACHE for CACHE in ()]\n    CACHE.pop(k)\n", True),
        ("def done(k):\n    try:\n        pass\n    except E as CACHE:\n        CACHE.pop(k)\n",
         True),
        ("class Keeper:\n    CACHE = {}\n    def done(self, k):\n        self.CACHE.pop(k)\n",
         True),
        # Annotations are not code the analysis reads.
        ("def done(k: CACHE.pop()) -> None:\n    pass\n", True),
        ("def done(k) -> CACHE.clear():\n    pass\n", True),
        # Eviction through an alias or a helper is the analysis's to find.
        ("def done(k):\n    c = CACHE\n    c.pop(k)\n", True),
    ],
)
def test_container_rule_screen_drops_a_surely_evicted_container(
    eviction: str, kept: bool
) -> None:
    """A container the module surely evicts is never reported, however it grows; the screen
    counts an eviction only where the name cannot mean anything but the module's container."""
    source = GROWN + eviction
    rule = registry.find_rule("LK201")
    assert rule.may_report(Screen(source)) is kept
    if not kept:  # the analysis agrees: no finding to lose
        result = check_bytes(source.encode(), "cache.py", EVERY_RULE)
        assert [f for f in result.findings if f.code == "LK201"] == []


NUMPY_VIEWS = """
import numpy as np

def first_rows():
    table = np.zeros((1000, 1000))
    return table[:10]

def first_rows_copied():
    table = np.zeros((1000, 1000))
    return table[:10].copy()

def picked_rows():
    table = np.zeros((1000, 1000))
    return table[[1, 2, 3]]

def reshaped_part():
    table = np.ones(10**6)
    square = table.reshape(1000, 1000)
    return square[0:2]

def whole_reshaped():
    table = np.ones(10**6)
    return table.reshape(1000, 1000)
"""


def test_numpy_views_of_large_arrays() -> None:
    """Basic slicing and slices of `reshape` views escape; copies, fancy indexing and views
    of the whole array do not (numpy need not be installed: this is static)."""
    ruleset = registry.rule_set(["LK402"])
    result = check_bytes(textwrap.dedent(NUMPY_VIEWS).encode(), "tables.py", ruleset)
    assert not result.errors
    assert [(f.line, f.code) for f in result.findings] == [(6, "LK402"), (19, "LK402")]
    assert "table[:10].copy()" in result.findings[0].message
