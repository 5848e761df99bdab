"""The ownership analysis on tiny snippets: each created object's fate at scope exit."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from leaklint import registry
from leaklint.analysis.ownership import Escape, Fate, Ownership
from leaklint.analysis.ownership_model import Resource
from leaklint.file_context import FileContext

HEADER = """\
import contextlib, io, json, os, shutil, socket, sqlite3, ssl, tempfile, threading
import urllib.request
from pathlib import Path
import requests
"""


def resources(snippet: str) -> list:
    source = HEADER + textwrap.dedent(snippet)
    context = FileContext("snippet.py", source, cst.parse_module(source))
    return list(context.analysis(Ownership).resources)


def fates(snippet: str) -> list[Fate]:
    return [resource.fate for resource in resources(snippet)]


def fate(snippet: str) -> Fate:
    found = fates(snippet)
    assert len(found) == 1, found
    return found[0]


def only(snippet: str):
    found = resources(snippet)
    assert len(found) == 1, found
    return found[0]


CASES = [
    # --- dropped: never bound ---
    ("inline_read", "def f(p):\n    return open(p).read()\n", Fate.DROPPED),
    ("inline_statement", "def f(p):\n    open(p)\n", Fate.DROPPED),
    ("inline_iterated", "def f(p):\n    for line in open(p):\n        print(line)\n", Fate.DROPPED),
    ("passed_to_json_load", "def f(p):\n    return json.load(open(p))\n", Fate.DROPPED),
    ("module_level_inline", "DATA = open('x').read()\n", Fate.DROPPED),
    ("comprehension_inline", "def f(ps):\n    return [open(p).read() for p in ps]\n",
     Fate.DROPPED),
    ("assigned_to_underscore", "def f(p):\n    _ = open(p)\n", Fate.DROPPED),
    ("only_its_truth_tested", "def f(p):\n    if open(p):\n        return 1\n", Fate.DROPPED),
    ("loop_test", "def f(p):\n    while open(p):\n        break\n", Fate.DROPPED),
    ("comprehension_filter", "def f(ps):\n    return [p for p in ps if open(p)]\n",
     Fate.DROPPED),
    ("negated", "def f(p):\n    return not open(p)\n", Fate.DROPPED),
    # --- released inline or managed ---
    ("inline_close", "def f(p):\n    open(p, 'w').close()\n", Fate.RELEASED),
    ("with_block", "def f(p):\n    with open(p) as fh:\n        return fh.read()\n",
     Fate.MANAGED),
    ("with_existing_handle", "def f(p):\n    fh = open(p)\n    with fh:\n        fh.read()\n",
     Fate.MANAGED),
    ("closing", "def f(p):\n    with contextlib.closing(sqlite3.connect(p)) as db:\n"
                "        db.execute('x')\n", Fate.MANAGED),
    ("exit_stack", "def f(p, stack):\n    fh = stack.enter_context(open(p))\n    fh.read()\n",
     Fate.MANAGED),
    ("exit_stack_by_name",
     "def f(p):\n    with contextlib.ExitStack() as stack:\n        fh = open(p)\n"
     "        stack.enter_context(fh)\n        fh.read()\n", Fate.MANAGED),
    # --- released on every path ---
    ("finally_close", "def f(p):\n    fh = open(p)\n    try:\n        fh.read()\n"
                      "    finally:\n        fh.close()\n", Fate.RELEASED),
    ("guarded_finally",
     "def f(p):\n    fh = None\n    try:\n        fh = open(p)\n        fh.read()\n"
     "    finally:\n        if fh:\n            fh.close()\n", Fate.RELEASED),
    ("guarded_is_not_none",
     "def f(p):\n    fh = None\n    try:\n        fh = open(p)\n        fh.read()\n"
     "    finally:\n        if fh is not None:\n            fh.close()\n", Fate.RELEASED),
    ("close_without_risky_call", "def f(p):\n    fh = open(p, 'w')\n    fh.close()\n",
     Fate.RELEASED),
    ("aliased_close", "def f(p):\n    fh = open(p)\n    g = fh\n    g.close()\n", Fate.RELEASED),
    ("closed_in_except_and_returned",
     "def f(addr):\n    s = socket.socket()\n    try:\n        s.connect(addr)\n"
     "    except OSError:\n        s.close()\n        raise\n    return s\n", Fate.HANDED_OFF),
    ("list_closed_in_later_loop",
     "def f(ps):\n    files = []\n    for p in ps:\n        files.append(open(p))\n"
     "    for fh in files:\n        fh.close()\n", Fate.RELEASED),
    ("comprehension_list_closed",
     "def f(ps):\n    files = [open(p) for p in ps]\n    for fh in files:\n        fh.close()\n",
     Fate.RELEASED),
    ("closed_by_helper",
     "def _close(s):\n    try:\n        s.close()\n    except OSError:\n        pass\n\n"
     "def f(addr):\n    s = socket.socket()\n    _close(s)\n", Fate.RELEASED),
    ("closed_in_both_branches",
     "def f(p, c):\n    fh = open(p, 'w')\n    if c:\n        fh.close()\n    else:\n"
     "        fh.close()\n", Fate.RELEASED),
    ("os_open_closed", "def f(p):\n    fd = os.open(p, os.O_RDONLY)\n    os.close(fd)\n",
     Fate.RELEASED),
    ("conditional_creation_guarded_close",
     "import sys\ndef f(p):\n    out = open(p, 'w') if p else sys.stdout\n"
     "    if out is not sys.stdout:\n        out.close()\n", Fate.RELEASED),
    ("match_all_cases_close",
     "def f(p, k):\n    fh = open(p, 'w')\n    match k:\n        case 1:\n            fh.close()\n"
     "        case _:\n            fh.close()\n", Fate.RELEASED),
    ("while_loop_break_then_close",
     "def f(p):\n    fh = open(p, 'w')\n    while True:\n        break\n    fh.close()\n",
     Fate.RELEASED),
    # --- handed off ---
    ("returned", "def f(p):\n    fh = open(p)\n    return fh\n", Fate.HANDED_OFF),
    ("returned_inline", "def f(p):\n    return open(p)\n", Fate.HANDED_OFF),
    ("returned_in_tuple", "def f(p):\n    fh = open(p)\n    return fh, p\n", Fate.HANDED_OFF),
    ("returned_in_dict", "def f(p):\n    fh = open(p)\n    return {'f': fh}\n", Fate.HANDED_OFF),
    ("yielded", "def f(p):\n    fh = open(p)\n    yield fh\n", Fate.HANDED_OFF),
    ("contextmanager_yield",
     "@contextlib.contextmanager\ndef f(p):\n    fh = open(p)\n    try:\n        yield fh\n"
     "    finally:\n        fh.close()\n", Fate.HANDED_OFF),
    ("stored_on_self", "class C:\n    def __init__(self, p):\n        self.fh = open(p)\n",
     Fate.HANDED_OFF),
    ("stored_on_self_via_name",
     "class C:\n    def __init__(self, p):\n        fh = open(p)\n        self.fh = fh\n",
     Fate.HANDED_OFF),
    ("module_global", "LOG = open('log.txt', 'a')\n", Fate.HANDED_OFF),
    ("global_statement", "FH = None\ndef f(p):\n    global FH\n    FH = open(p)\n",
     Fate.HANDED_OFF),
    ("appended_to_attribute", "def f(self, p):\n    fh = open(p)\n    self.files.append(fh)\n",
     Fate.HANDED_OFF),
    ("appended_to_parameter", "def f(out, p):\n    out.append(open(p))\n", Fate.HANDED_OFF),
    ("passed_to_constructor", "def f(p):\n    fh = open(p)\n    return Reader(fh)\n",
     Fate.HANDED_OFF),
    ("thread_args", "def f(s):\n    conn = socket.create_connection(s)\n"
                    "    threading.Thread(target=print, args=(conn,)).start()\n",
     Fate.HANDED_OFF, "socket.create_connection"),
    ("closure_uses_it",
     "def f(p):\n    fh = open(p)\n    def read():\n        return fh.read()\n    return read\n",
     Fate.HANDED_OFF),
    ("lambda_uses_it", "def f(p, cb):\n    fh = open(p)\n    cb(lambda: fh.read())\n",
     Fate.HANDED_OFF),
    ("bound_close_registered",
     "import atexit\ndef f(p):\n    fh = open(p)\n    atexit.register(fh.close)\n",
     Fate.HANDED_OFF),
    ("stored_in_dict_attribute", "def f(self, k, p):\n    self.cache[k] = open(p)\n",
     Fate.HANDED_OFF),
    ("wrapped_by_textiowrapper",
     "def f(p):\n    return io.TextIOWrapper(open(p, 'rb'))\n", Fate.HANDED_OFF),
    ("fdopen_takes_fd", "def f(p):\n    fd = os.open(p, os.O_RDONLY)\n    return os.fdopen(fd)\n",
     Fate.HANDED_OFF),
    ("ssl_wrap_takes_socket",
     "def f(ctx, a):\n    s = socket.create_connection(a)\n    return ctx.wrap_socket(s)\n",
     Fate.HANDED_OFF),
    # --- leaked ---
    ("never_closed", "def f(p):\n    fh = open(p)\n    data = fh.read()\n    return data\n",
     Fate.LEAKED),
    ("early_return", "def f(p, c):\n    fh = open(p, 'w')\n    if c:\n        return\n"
                     "    fh.close()\n", Fate.LEAKED),
    ("raise_before_close",
     "def f(p, c):\n    fh = open(p, 'w')\n    if c:\n        raise ValueError(c)\n"
     "    fh.close()\n", Fate.LEAKED),
    ("rebound", "def f(p):\n    fh = open(p)\n    fh = None\n", Fate.LEAKED),
    ("closed_on_one_branch", "def f(p, c):\n    fh = open(p, 'w')\n    if c:\n        fh.close()\n",
     Fate.LEAKED),
    ("local_list_never_closed",
     "def f(ps):\n    files = []\n    for p in ps:\n        files.append(open(p))\n"
     "    return len(files)\n", Fate.LEAKED),
    ("sqlite_with_does_not_close",
     "def f(p):\n    with sqlite3.connect(p) as db:\n        db.execute('x')\n", Fate.LEAKED),
    ("passed_to_library_function", "def f(p):\n    fh = open(p)\n    return json.load(fh)\n",
     Fate.LEAKED),
    ("break_skips_close",
     "def f(p, items):\n    for i in items:\n        fh = open(p, 'w')\n        if i:\n"
     "            break\n        fh.close()\n", Fate.LEAKED),
    ("continue_skips_close",
     "def f(p, items):\n    for i in items:\n        fh = open(p, 'w')\n        if i:\n"
     "            continue\n        fh.close()\n", Fate.LEAKED),
    ("path_open_never_closed",
     "def f(p):\n    fh = Path(p).open()\n    return fh.read()\n", Fate.LEAKED),
    ("typed_path_param", "def f(p: Path):\n    return p.open().read()\n", Fate.DROPPED),
    ("path_variable", "def f(d):\n    p = Path(d) / 'x'\n    return p.open().read()\n",
     Fate.DROPPED),
    # --- released on the normal path only ---
    ("write_then_close", "def f(p, data):\n    fh = open(p, 'w')\n    fh.write(data)\n"
                         "    fh.close()\n", Fate.RELEASED_ON_NORMAL_PATH_ONLY),
    ("connect_then_return",
     "def f(addr):\n    s = socket.socket()\n    s.connect(addr)\n    return s\n",
     Fate.RELEASED_ON_NORMAL_PATH_ONLY),
    ("risky_call_before_close",
     "def f(p):\n    fh = open(p)\n    data = json.load(fh)\n    fh.close()\n    return data\n",
     Fate.RELEASED_ON_NORMAL_PATH_ONLY),
    ("try_else_close",
     "def f(p):\n    fh = open(p)\n    try:\n        data = fh.read()\n    except OSError:\n"
     "        fh.close()\n        raise\n    else:\n        fh.close()\n    return data\n",
     Fate.RELEASED),
    ("elif_chain_closes",
     "def f(p, k):\n    fh = open(p, 'w')\n    if k == 1:\n        fh.close()\n"
     "    elif k == 2:\n        fh.close()\n    else:\n        fh.close()\n", Fate.RELEASED),
    ("elif_chain_misses_one",
     "def f(p, k):\n    fh = open(p, 'w')\n    if k == 1:\n        fh.close()\n"
     "    elif k == 2:\n        return\n    else:\n        fh.close()\n", Fate.LEAKED),
    ("async_with_session",
     "import aiohttp\nasync def f(u):\n    async with aiohttp.ClientSession() as s:\n"
     "        async with s.get(u) as r:\n            return await r.text()\n", Fate.MANAGED),
    ("awaited_close",
     "import aiohttp\nasync def f(u):\n    s = aiohttp.ClientSession()\n    try:\n"
     "        return await s.get(u)\n    finally:\n        await s.close()\n", Fate.RELEASED,
     "aiohttp.ClientSession"),
    ("aiohttp_response_not_released",
     "import aiohttp\nasync def f(s: aiohttp.ClientSession, u):\n    r = await s.get(u)\n"
     "    return r.status\n", Fate.LEAKED),
    ("walrus_binding", "def f(p):\n    if (fh := open(p)):\n        return fh.read()\n",
     Fate.LEAKED),
    ("dict_holder_closed_in_values_loop",
     "def f(ps):\n    files = {}\n    for p in ps:\n        files[p] = open(p)\n"
     "    for fh in files.values():\n        fh.close()\n", Fate.RELEASED),
    # --- guards that tie a release to the path that owns the object ---
    ("bool_flag_guard",
     "def f(src):\n    close_source = False\n    if not hasattr(src, 'read'):\n"
     "        src = open(src)\n        close_source = True\n    try:\n        return src.read()\n"
     "    finally:\n        if close_source:\n            src.close()\n", Fate.RELEASED),
    ("creation_condition_guard",
     "import sys\ndef f(name):\n    if name == '-':\n        fp = sys.stdin\n    else:\n"
     "        fp = open(name)\n    try:\n        return fp.read()\n    finally:\n"
     "        if name != '-':\n            fp.close()\n", Fate.RELEASED),
    ("platform_guard",
     "IS_CYGWIN = False\ndef f():\n    fd, name = tempfile.mkstemp()\n    if not IS_CYGWIN:\n"
     "        os.unlink(name)\n    return fd\n", Fate.RELEASED, "temporary file"),
    ("owner_closes_wrapped_fd",
     "def f(p, chunks):\n    fd = os.open(p, os.O_WRONLY)\n    out = None\n    try:\n"
     "        out = os.fdopen(fd, 'wb')\n        out.write(chunks)\n    finally:\n"
     "        if out is not None:\n            out.close()\n        else:\n"
     "            os.close(fd)\n", Fate.HANDED_OFF, "os.open"),
    ("raise_after_release_elsewhere",
     "def f(addrs):\n    err = sock = None\n    for a in addrs:\n        try:\n"
     "            sock = socket.socket()\n            sock.connect(a)\n            break\n"
     "        except OSError as exc:\n            err = exc\n            if sock is not None:\n"
     "                sock.close()\n    if err is not None:\n        raise err\n    return sock\n",
     Fate.HANDED_OFF),
    ("system_exit_ends_the_process",
     "def f():\n    fd = os.open(os.devnull, os.O_WRONLY)\n    os.dup2(fd, 1)\n"
     "    raise SystemExit(1)\n", Fate.HANDED_OFF),
    ("main_block", "if __name__ == '__main__':\n    print(open('x').read())\n", Fate.HANDED_OFF),
    ("file_write_before_handoff_is_not_reported",
     "def f(self, data):\n    tmp = tempfile.TemporaryFile()\n    tmp.write(data)\n"
     "    self.body = tmp\n", Fate.HANDED_OFF),
    ("socket_connect_before_handoff_is_reported",
     "def f(self, a):\n    s = socket.socket()\n    s.connect(a)\n    self.sock = s\n",
     Fate.RELEASED_ON_NORMAL_PATH_ONLY),
    ("typing_cast_is_transparent",
     "import typing\ndef f():\n"
     "    return typing.cast(typing.IO[bytes], tempfile.TemporaryFile())\n",
     Fate.HANDED_OFF),
    ("path_transform_keeps_the_path",
     "def f(self):\n    path = os.path.realpath(tempfile.mkdtemp())\n    self.path = path\n",
     Fate.HANDED_OFF),
    ("remover_named_helper", "def f(util):\n    d = tempfile.mkdtemp()\n"
     "    util.rmtree_quietly(d)\n",
     Fate.RELEASED),
    ("moved_into_place",
     "def f(target):\n    fd, tmp = tempfile.mkstemp()\n    os.close(fd)\n"
     "    os.replace(tmp, target)\n",
     Fate.RELEASED),
    ("zipfile_over_own_file",
     "import zipfile\ndef f(p):\n    fp = open(p, 'rb')\n    try:\n"
     "        z = zipfile.ZipFile(fp)\n"
     "        return z.namelist()\n    finally:\n        fp.close()\n", Fate.RELEASED),
    ("gzip_over_buffer", "import gzip\ndef f(buf):\n    g = gzip.GzipFile(fileobj=buf)\n"
                         "    return g.read()\n", None),
    ("fdless_selector", "import selectors\ndef f():\n    s = selectors.SelectSelector()\n", None),
    ("persistent_mkstemp_tracks_only_the_fd",
     "def f(logdir):\n    fd, path = tempfile.mkstemp(dir=logdir)\n"
                           "    os.close(fd)\n    return 1\n", Fate.RELEASED),
    # --- not ours ---
    ("project_open_function", "def open(p):\n    return p\ndef f(p):\n    return open(p).read()\n",
     None),
    ("parameter_named_open", "def f(open, p):\n    return open(p).read()\n", None),
    ("unknown_open_method", "def f(thing):\n    return thing.open().read()\n", None),
    ("requests_without_stream", "def f(u):\n    return requests.get(u, timeout=5).json()\n", None),
]


@pytest.mark.parametrize(
    ("snippet", "expected", "which"),
    [(c[1], c[2], c[3] if len(c) > 3 else None) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_fate(snippet: str, expected: Fate | None, which: str | None) -> None:
    """Every resource of the snippet has the expected fate; where it creates several of
    different fates, ``which`` names the one the case is about (its api or its kind)."""
    found = [
        resource.fate for resource in resources(snippet)
        if which is None or which in (resource.api, resource.spec.kind.value)
    ]
    if expected is None:
        assert found == []
    else:
        assert found and all(fate is expected for fate in found), found


def test_aliased_import() -> None:
    snippet = "from socket import socket as S\ndef f(a):\n    s = S()\n    s.connect(a)\n"
    resource = only(snippet)
    assert resource.spec.code == "LK302" and resource.fate is Fate.LEAKED


def test_requests_stream_is_a_response() -> None:
    snippet = (
        "def f(u):\n    r = requests.get(u, stream=True, timeout=5)\n    return r.status_code\n"
    )
    resource = only(snippet)
    assert resource.spec.code == "LK304" and resource.fate is Fate.LEAKED


def test_stream_read_to_completion_is_released() -> None:
    snippet = "def f(u):\n    r = requests.get(u, stream=True, timeout=5)\n    return r.content\n"
    assert fate(snippet) is Fate.RELEASED


def test_factory_helper_callers_own_the_result() -> None:
    snippet = (
        "def _open_log(p):\n    fh = open(p, 'a')\n    return fh\n\n"
        "def f(p):\n    log = _open_log(p)\n    log.write('x')\n"
    )
    by_api = {r.api: r.fate for r in resources(snippet)}
    assert by_api == {"open": Fate.HANDED_OFF, "_open_log": Fate.LEAKED}


def test_thread_started_and_never_joined() -> None:
    snippet = "def f():\n    t = threading.Thread(target=print)\n    t.start()\n"
    assert fate(snippet) is Fate.LEAKED


def test_thread_never_started_is_inactive() -> None:
    snippet = "def f():\n    t = threading.Thread(target=print)\n    return 1\n"
    assert fate(snippet) is Fate.INACTIVE


def test_thread_started_inline_is_dropped() -> None:
    assert fate("def f():\n    threading.Thread(target=print).start()\n") is Fate.DROPPED


def test_threads_joined_in_later_loop() -> None:
    snippet = (
        "def f(n):\n    threads = [threading.Thread(target=print) for _ in range(n)]\n"
        "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()\n"
    )
    assert fate(snippet) is Fate.RELEASED


def test_daemon_attribute_is_recorded() -> None:
    snippet = (
        "def f():\n    t = threading.Thread(target=print)\n    t.daemon = True\n    t.start()\n"
    )
    assert "daemon" in only(snippet).attributes_set


def test_mkstemp_facets() -> None:
    snippet = "def f():\n    fd, path = tempfile.mkstemp()\n    os.close(fd)\n    return 1\n"
    fd, path = resources(snippet)
    assert fd.fate is Fate.RELEASED and path.fate is Fate.LEAKED
    assert path.spec.code == "LK306"


def test_mkstemp_path_returned() -> None:
    snippet = "def f():\n    fd, path = tempfile.mkstemp()\n    os.close(fd)\n    return path\n"
    assert [r.fate for r in resources(snippet)] == [Fate.RELEASED, Fate.HANDED_OFF]


def test_named_temporary_file_kept() -> None:
    snippet = (
        "def f(data):\n    tmp = tempfile.NamedTemporaryFile(delete=False)\n"
        "    tmp.close()\n    return 1\n"
    )
    by_code = {r.spec.code: r.fate for r in resources(snippet)}
    assert by_code == {"LK301": Fate.RELEASED, "LK306": Fate.LEAKED}


def test_named_temporary_file_removed_in_finally() -> None:
    snippet = (
        "def f(data):\n    tmp = tempfile.NamedTemporaryFile(delete=False)\n    try:\n"
        "        tmp.write(data)\n        tmp.close()\n        use(tmp.name)\n    finally:\n"
        "        os.unlink(tmp.name)\n"
    )
    by_code = {r.spec.code: r.fate for r in resources(snippet)}
    assert by_code["LK306"] is Fate.RELEASED


def test_mkdtemp_removed_in_finally() -> None:
    snippet = (
        "def f():\n    d = tempfile.mkdtemp()\n    try:\n        work(d)\n    finally:\n"
        "        shutil.rmtree(d)\n"
    )
    assert fate(snippet) is Fate.RELEASED


def leak_message(resource: Resource, context: FileContext) -> str:
    """The message the resource's rule reports it with."""
    rule = registry.find_rule(resource.spec.code)(context)
    return rule.leak_message(resource)  # type: ignore[attr-defined, no-any-return]


def test_messages_name_the_object_and_the_path() -> None:
    source = HEADER + "def f(p, data):\n    fh = open(p, 'w')\n    fh.write(data)\n    fh.close()\n"
    context = FileContext("snippet.py", source, cst.parse_module(source))
    (resource,) = context.analysis(Ownership).resources
    assert resource.escape is Escape.EXCEPTION
    message = leak_message(resource, context)
    assert "`fh`" in message and "`fh.write(data)`" in message and "finally" in message


def test_early_return_message_names_the_line() -> None:
    source = HEADER + (
        "def f(p, c):\n    fh = open(p, 'w')\n    if c:\n        return\n    fh.close()\n"
    )
    context = FileContext("snippet.py", source, cst.parse_module(source))
    (resource,) = context.analysis(Ownership).resources
    assert "return at line 8" in leak_message(resource, context)


def test_wrap_socket_on_any_context() -> None:
    snippet = (
        "def f(self, a):\n    raw = socket.create_connection(a)\n"
        "    tls = self._ctx.wrap_socket(raw, server_hostname='x')\n    return tls.recv(1)\n"
    )
    by_label = {r.label: r.fate for r in resources(snippet)}
    assert by_label == {"raw": Fate.HANDED_OFF, "tls": Fate.LEAKED}


def test_part_attribute_keeps_the_resource() -> None:
    assert fate("HOLDER = tempfile.NamedTemporaryFile('w').file\n") is Fate.HANDED_OFF
    assert fate("def f(p):\n    return open(p).name\n") is Fate.DROPPED


def test_sqlite_with_then_close_leaks_only_on_error() -> None:
    snippet = (
        "def f(p):\n    with sqlite3.connect(p) as db:\n        db.execute('x')\n"
        "    db.close()\n"
    )
    assert only(snippet).risky_call == "db.execute('x')"


def test_sqlite_with_message_says_it_only_commits() -> None:
    source = HEADER + "def f(p):\n    with sqlite3.connect(p) as db:\n        db.execute('x')\n"
    context = FileContext("snippet.py", source, cst.parse_module(source))
    (resource,) = context.analysis(Ownership).resources
    assert resource.escape is Escape.WITH_DOES_NOT_RELEASE
    assert "only commits" in leak_message(resource, context)


def test_streamed_response_checked_before_read() -> None:
    snippet = (
        "def f(u):\n    r = requests.get(u, stream=True, timeout=5)\n"
        "    r.raise_for_status()\n    return r.json()\n"
    )
    resource = only(snippet)
    assert resource.fate is Fate.RELEASED_ON_NORMAL_PATH_ONLY
    assert resource.risky_call == "r.raise_for_status()"


def test_resource_created_in_an_except_block_is_analysed() -> None:
    snippet = (
        "def f(p, q):\n    try:\n        return p.read()\n    except OSError:\n"
        "        fh = open(q)\n        return fh.read()\n"
    )
    assert fate(snippet) is Fate.LEAKED
    closed = snippet.replace("        return fh.read()\n", "        with fh:\n"
                             "            return fh.read()\n")
    assert fate(closed) is Fate.MANAGED


def test_except_star_block_too() -> None:
    snippet = (
        "def f(q):\n    try:\n        pass\n    except* OSError:\n        fh = open(q)\n"
        "        print(fh.read())\n"
    )
    assert fate(snippet) is Fate.LEAKED


def test_returned_handle_is_checked_on_a_raise_before_the_return() -> None:
    snippet = (
        "def f(p):\n    fh = open(p)\n    if not fh.read(1):\n        raise ValueError(p)\n"
        "    return fh\n"
    )
    assert only(snippet).escape is Escape.RAISE


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("import tarfile\ndef f(p):\n    return tarfile.TarFile(p).getnames()\n", Fate.DROPPED),
        ("import zipfile\ndef f(p):\n    z = zipfile.PyZipFile(p)\n    return z.namelist()\n",
         Fate.LEAKED),
        ("import shelve\ndef f(p):\n    db = shelve.open(p)\n    return db['k']\n", Fate.LEAKED),
        ("import tokenize\ndef f(p):\n    return tokenize.open(p).read()\n", Fate.DROPPED),
        ("import fileinput\ndef f(ps):\n    for line in fileinput.input(ps):\n"
         "        return line\n", Fate.DROPPED),
        ("def f(p):\n    return io.open_code(p).read()\n", Fate.DROPPED),
        ("import mmap\ndef f(fd):\n    m = mmap.mmap(fd, 0)\n    return m[:1]\n", Fate.LEAKED),
        ("import zipfile\ndef f(p, n):\n    with zipfile.ZipFile(p) as z:\n"
         "        return z.open(n).read()\n", Fate.DROPPED),
        ("import wave\ndef f(p):\n    w = wave.open(p + '.wav')\n    return w.getnframes()\n",
         Fate.LEAKED),
    ],
)
def test_more_file_openers(snippet: str, expected: Fate) -> None:
    assert expected in fates(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        # Anonymous memory: no descriptor.
        "import mmap\ndef f(n):\n    m = mmap.mmap(-1, n)\n    return m[:1]\n",
        # A file object the caller owns: wave only borrows it.
        "import wave\ndef f(stream):\n    w = wave.open(stream)\n    return w.getnframes()\n",
    ],
)
def test_openers_that_create_nothing_here(snippet: str) -> None:
    assert resources(snippet) == []


def test_socketserver_closed_only_by_server_close() -> None:
    snippet = (
        "import socketserver\ndef f(h):\n"
        "    s = socketserver.TCPServer(('127.0.0.1', 0), h)\n    s.handle_request()\n"
        "    s.shutdown()\n"
    )
    assert fate(snippet) is Fate.LEAKED
    closed = snippet.replace("s.shutdown()", "s.server_close()")
    assert fate(closed) is Fate.RELEASED_ON_NORMAL_PATH_ONLY  # handle_request() may raise


def test_multiprocessing_context_and_manager() -> None:
    context = (
        "import multiprocessing\ndef f(w):\n    ctx = multiprocessing.get_context('spawn')\n"
        "    p = ctx.Process(target=w)\n    p.start()\n"
    )
    assert fate(context) is Fate.LEAKED
    assert fate(context + "    p.join()\n") is Fate.RELEASED
    manager = "import multiprocessing\ndef f():\n    m = multiprocessing.Manager()\n    m.dict()\n"
    assert fate(manager) is Fate.LEAKED
    assert fate(manager + "    m.shutdown()\n") is Fate.RELEASED_ON_NORMAL_PATH_ONLY


def test_fileinput_read_to_the_end_closes_its_files() -> None:
    loop = (
        "import fileinput\ndef f(ps):\n    for line in fileinput.input(ps):\n"
        "        print(line)\n"
    )
    assert fate(loop) is Fate.RELEASED
    left = loop.replace("        print(line)\n", "        if line:\n            break\n")
    assert fate(left) is Fate.DROPPED


def test_memoryview_keeps_what_it_views() -> None:
    snippet = "import mmap\ndef f(fd, cb):\n    cb(memoryview(mmap.mmap(fd, 0)))\n"
    assert fate(snippet) is Fate.HANDED_OFF


def test_helper_passing_its_parameter_on_keeps_it() -> None:
    keeps = (
        "def keep(f, reg):\n    reg.append(f)\n"
        "def f(p, reg):\n    fh = open(p)\n    keep(fh, reg)\n"
    )
    assert fate(keeps) is Fate.HANDED_OFF
    uses = (
        "def dump(f, x):\n    json.dump(x, f)\n"
        "def f(p, x):\n    fh = open(p, 'w')\n    dump(fh, x)\n"
    )
    assert fate(uses) is Fate.LEAKED


def test_child_process_streams_are_borrowed() -> None:
    snippet = (
        "import subprocess\ndef f(p, cmd):\n    log = open(p, 'w')\n"
        "    return subprocess.Popen(cmd, stdout=log).wait()\n"
    )
    assert Fate.LEAKED in fates(snippet)
