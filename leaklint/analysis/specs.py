"""What creates each leakable object, what releases it, and what `with` really does (data only).

The ownership analysis (``leaklint.analysis.ownership``) is generic over these tables: to teach
leaklint a new resource, add a :class:`ResourceSpec` under its factory's qualified name in
:data:`FACTORIES` (a module-level callable) or :data:`METHOD_FACTORIES` (a method on an object
of a known type, e.g. ``pathlib.Path.open``). Nothing else has to change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Optional


class Kind(Enum):
    FILE = "file"
    SOCKET = "socket"
    CONNECTION = "connection"
    RESPONSE = "response"
    TEMPFILE = "temporary file"
    THREAD = "thread"
    EXECUTOR = "executor"
    PROCESS = "process"
    TIMER = "timer"
    TASK = "task"


class Exemption(Enum):
    """A shape of code in which a leak the path walk found is no leak, for the kinds whose spec
    lists it in ``ResourceSpec.exemptions``. Each is a named predicate of
    ``leaklint.analysis.ownership_exemptions``, tried where the fate is settled."""

    # `self._pending[worker] = info`: a key of a long-lived mapping is kept alive by it.
    STORED_AS_KEY = "stored as a key"
    # `if task.done(): task = None`: a finished object rebound is not lost.
    REBOUND_WHEN_DONE = "rebound when done"
    # The call that "can raise before the release" does not raise in practice: a query or
    # signal of the object itself (`child.poll()` before `child.wait()`), starting or joining
    # a helper thread, creating one.
    QUIET_RISK = "quiet risk"
    # The call that can raise before the release runs in a `finally` clause itself: the author
    # did release on the exception path.
    RISK_IN_CLEANUP = "risk in cleanup"
    # `Popen(argv); os._exit(0)`: a later statement of the same block ends the process.
    PROCESS_ENDS_AFTER = "process ends after"


# The exemptions of the objects that run work (threads, timers, executors, processes, tasks).
RUNNING_WORK_EXEMPTIONS = frozenset(Exemption)


class Handle(Enum):
    """What the factory hands back, which decides how a release is recognised."""

    OBJECT = "object"  # released by a method call on it: f.close()
    FD = "fd"  # an int released by a function taking it: os.close(fd)
    PATH = "path"  # a file system path released by a function taking it: os.remove(path)


@dataclass(frozen=True)
class KeywordCondition:
    """The factory creates the resource only when ``keyword`` is passed as ``value`` (source
    text), e.g. ``requests.get(url, stream=True)``. ``default`` is whether the resource exists
    when the keyword is absent."""

    keyword: str
    value: str
    default: bool = False


@dataclass(frozen=True)
class ResourceSpec:
    kind: Kind
    code: str  # the rule that reports a leak of it
    noun: str  # how messages call it: "file", "socket", "connection", ...
    release_methods: frozenset[str] = frozenset({"close"})
    # Functions (qualified names) that release the handle passed as their first argument.
    release_functions: frozenset[str] = frozenset()
    # Attributes whose mere reading releases it (a requests response read to completion).
    release_attributes: frozenset[str] = frozenset()
    handle: Handle = Handle.OBJECT
    # Does `with x:` release it? If not, `with_note` says what `with` does instead.
    with_releases: bool = True
    with_note: str = ""
    # Non-empty: the object only becomes a leak once one of these methods runs (Thread.start).
    activation_methods: frozenset[str] = frozenset()
    # Is `await x` a release (an asyncio task)? Then awaiting the creating call itself
    # (`await create_task(...)`, `x = await gather(...)`) consumes the object at once.
    await_releases: bool = False
    # Its runner holds it only weakly (the event loop and its tasks): a name whose every use
    # only peeks at it (`t.add_done_callback(cb)`, `print(t)`) does not keep it alive, though
    # the path walk counts such a use as a hand-off.
    held_weakly: bool = False
    condition: Optional[KeywordCondition] = None
    # For factories returning a tuple (``fd, path = mkstemp()``): which element this spec is.
    tuple_index: Optional[int] = None
    # The handle is reached through an attribute of the created object for releases
    # (``NamedTemporaryFile(delete=False).name`` is the path to remove).
    path_attribute: Optional[str] = None
    # The verb for messages: "closed", "removed", "joined", ...
    released_verb: str = "closed"
    # Keywords that make the object a wrapper over a file object the caller owns, holding no
    # OS resource of its own: ``gzip.GzipFile(fileobj=buf)``.
    wrapper_keywords: frozenset[str] = frozenset()
    # Keywords that make the call adopt a handle that existed before (``socket(fileno=fd)``):
    # no new resource is created.
    adopting_keywords: frozenset[str] = frozenset()
    # Keywords that make the object a deliberate, persistent one: ``mkstemp(dir=logdir)``
    # creates a uniquely named file in a directory the caller chose.
    persistent_keywords: frozenset[str] = frozenset()
    # Non-empty: the call creates it only when its first positional argument is one of these
    # (source text): ``os.spawnv(os.P_NOWAIT, ...)`` returns a pid to wait for, ``P_WAIT``
    # has waited already.
    creating_first_arguments: frozenset[str] = frozenset()
    # First positional arguments (source text) that make the call create nothing to release:
    # ``mmap.mmap(-1, size)`` maps anonymous memory, no descriptor.
    inert_first_arguments: frozenset[str] = frozenset()
    # The first argument may be a file object the caller owns (``wave.open(f)``): the call
    # creates a resource only when it is visibly a path (a string, a ``Path``, ``os.path.join``).
    opens_path_argument_only: bool = False
    # Iterating it to the end closes it (``for line in fileinput.input(paths):`` closes each
    # file when it is exhausted): a ``for`` over it that never leaves early releases it.
    closed_by_exhaustion: bool = False
    # Its own finalizer releases it when it is collected (a multiprocessing manager shuts its
    # server down): lost on an exception path, it goes when the exception's frames do.
    finalized_when_collected: bool = False
    # Is a failure between creating it and handing it off worth reporting? Yes where the
    # operations in between fail routinely (connect, bind, handshake); no for local files.
    exception_before_handoff: bool = False
    # Which calls between creating and releasing it open an exception path: only operations
    # on the object itself (a file's write, a socket's connect), or any call at all (the work
    # done while a thread runs, before it is joined).
    any_call_can_raise: bool = False
    # Methods of an event loop that block until it stops (``loop.run_forever()``): the
    # function does not end while the loop runs, so a task kept in a local lives as long.
    loop_runners: frozenset[str] = frozenset()
    # Methods of a process that reap it once it has exited (``poll()``): a loop that runs
    # until it reports an exit code reaps it (``while p.poll() is None: ...``).
    reaping_polls: frozenset[str] = frozenset()
    # Shapes of code in which a leak the walk found is none (see :class:`Exemption`).
    exemptions: frozenset[Exemption] = frozenset()


_CLOSE = frozenset({"close"})
_FILE = ResourceSpec(Kind.FILE, "LK301", "file", _CLOSE)
_ARCHIVE = ResourceSpec(Kind.FILE, "LK301", "file", _CLOSE, wrapper_keywords=frozenset({"fileobj"}))
# A memory map keeps its own duplicate of the descriptor it maps until it is closed.
_MMAP = ResourceSpec(
    Kind.FILE, "LK301", "memory map", _CLOSE, inert_first_arguments=frozenset({"-1"})
)
_FILE_SEQUENCE = ResourceSpec(Kind.FILE, "LK301", "file", _CLOSE, closed_by_exhaustion=True)
_PATH_OR_FILE_READER = ResourceSpec(Kind.FILE, "LK301", "file", _CLOSE,
                                    opens_path_argument_only=True)
_FD = ResourceSpec(
    Kind.FILE, "LK301", "file descriptor", frozenset(),
    release_functions=frozenset({"os.close"}), handle=Handle.FD, with_releases=False,
)
# `socket.socket(fileno=fd)` adopts a descriptor that existed before (an inherited listening
# socket): the duty to close it came from elsewhere, it is not created here.
_SOCKET = ResourceSpec(
    Kind.SOCKET, "LK302", "socket", frozenset({"close", "detach"}), exception_before_handoff=True,
    adopting_keywords=frozenset({"fileno"}),
)
_SELECTOR = ResourceSpec(Kind.SOCKET, "LK302", "selector", _CLOSE, exception_before_handoff=True)
_CONNECTION = ResourceSpec(
    Kind.CONNECTION, "LK303", "connection", _CLOSE, exception_before_handoff=True
)
_DB_CONNECTION = ResourceSpec(
    Kind.CONNECTION, "LK303", "connection", _CLOSE,
    with_releases=False, with_note="only commits or rolls back",
)
_MAIL_CONNECTION = ResourceSpec(
    Kind.CONNECTION, "LK303", "connection", frozenset({"close", "quit"})
)
_IMAP_CONNECTION = ResourceSpec(
    Kind.CONNECTION, "LK303", "connection", frozenset({"logout", "shutdown", "close"})
)
# A session is configured (mount, auth, headers) before it is handed off; those steps do not
# fail in practice, so no exception path is reported before a hand-off.
_SESSION = ResourceSpec(Kind.RESPONSE, "LK304", "session", frozenset({"close", "aclose"}))
_STREAM_RESPONSE = ResourceSpec(
    Kind.RESPONSE, "LK304", "streamed response", frozenset({"close", "release", "aclose"}),
    release_attributes=frozenset({"content", "text", "json"}),
    condition=KeywordCondition("stream", "True"),
)
# Reading a urlopen() response to the end closes its connection: read(), json.load(resp),
# shutil.copyfileobj(resp, out) all do.
_URLOPEN_RESPONSE = ResourceSpec(
    Kind.RESPONSE, "LK304", "response", frozenset({"close", "read", "readlines"}),
    release_functions=frozenset({"json.load", "shutil.copyfileobj", "pickle.load"}),
)
_AIOHTTP_RESPONSE = ResourceSpec(
    Kind.RESPONSE, "LK304", "response",
    frozenset({"close", "release", "read", "text", "json", "wait_for_close"}),
)
# Moving a temporary file into place (os.replace) also ends the duty to remove it.
_REMOVERS = frozenset(
    {"os.remove", "os.unlink", "os.rmdir", "shutil.rmtree", "pathlib.Path.unlink",
     "pathlib.Path.rmdir", "os.replace", "os.rename", "os.renames", "shutil.move"}
)
_MKSTEMP_FD = ResourceSpec(
    Kind.FILE, "LK306", "file descriptor", frozenset(),
    release_functions=frozenset({"os.close"}), handle=Handle.FD, with_releases=False,
    tuple_index=0,
)
_MKSTEMP_PATH = ResourceSpec(
    Kind.TEMPFILE, "LK306", "temporary file", frozenset(), release_functions=_REMOVERS,
    handle=Handle.PATH, with_releases=False, tuple_index=1, released_verb="removed",
    persistent_keywords=frozenset({"dir"}),
)
_MKDTEMP_PATH = ResourceSpec(
    Kind.TEMPFILE, "LK306", "temporary directory", frozenset(), release_functions=_REMOVERS,
    handle=Handle.PATH, with_releases=False, released_verb="removed",
    persistent_keywords=frozenset({"dir"}),
)
_NAMED_TEMP_KEPT = ResourceSpec(
    Kind.TEMPFILE, "LK306", "temporary file", frozenset(), release_functions=_REMOVERS,
    handle=Handle.OBJECT, with_releases=False, path_attribute="name",
    with_note="closes the file but does not delete it",
    condition=KeywordCondition("delete", "False"), released_verb="removed",
)

# Concurrency kinds, shared with the LK1 rules (which decide daemon flags etc. themselves).
_THREAD = ResourceSpec(
    Kind.THREAD, "LK101", "thread", frozenset({"join"}), any_call_can_raise=True,
    activation_methods=frozenset({"start"}), with_releases=False, released_verb="joined",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_TIMER = ResourceSpec(
    Kind.TIMER, "LK107", "timer", frozenset({"cancel", "join"}), any_call_can_raise=True,
    activation_methods=frozenset({"start"}), with_releases=False, released_verb="cancelled",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_EXECUTOR = ResourceSpec(
    Kind.EXECUTOR, "LK103", "executor", frozenset({"shutdown"}),
    any_call_can_raise=True, released_verb="shut down",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_POOL = ResourceSpec(
    Kind.EXECUTOR, "LK103", "pool", frozenset({"terminate", "join", "close"}),
    any_call_can_raise=True,
    released_verb="shut down",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_PROCESS = ResourceSpec(
    Kind.PROCESS, "LK104", "process", frozenset({"join"}), any_call_can_raise=True,
    activation_methods=frozenset({"start"}), with_releases=False, released_verb="joined",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_POPEN = ResourceSpec(
    Kind.PROCESS, "LK104", "process", frozenset({"wait", "communicate"}), any_call_can_raise=True,
    released_verb="waited for", reaping_polls=frozenset({"poll"}),
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
# A manager runs a server process until it is shut down (``with`` shuts it down too).
_MANAGER = ResourceSpec(
    Kind.PROCESS, "LK104", "manager process", frozenset({"shutdown"}), any_call_can_raise=True,
    released_verb="shut down", finalized_when_collected=True,
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
# A socketserver binds its listening socket when it is built; ``shutdown()`` only stops
# ``serve_forever``, ``server_close()`` (or ``with``) closes the socket.
_SERVER = ResourceSpec(Kind.SOCKET, "LK302", "server", frozenset({"server_close"}))
_SERVER_CLASSES = (
    "socketserver.TCPServer", "socketserver.UDPServer", "socketserver.ThreadingTCPServer",
    "socketserver.ThreadingUDPServer", "socketserver.ForkingTCPServer",
    "socketserver.ForkingUDPServer", "socketserver.UnixStreamServer",
    "socketserver.UnixDatagramServer", "socketserver.ThreadingUnixStreamServer",
    "socketserver.ThreadingUnixDatagramServer", "http.server.HTTPServer",
    "http.server.ThreadingHTTPServer", "xmlrpc.server.SimpleXMLRPCServer",
    "wsgiref.simple_server.WSGIServer", "wsgiref.simple_server.make_server",
)
# A child started by pid: only ``os.waitpid(pid, ...)`` reaps it.
_SPAWNED_PID = ResourceSpec(
    Kind.PROCESS, "LK104", "process", frozenset(), handle=Handle.FD, with_releases=False,
    release_functions=frozenset({"os.waitpid"}), released_verb="waited for",
    exemptions=RUNNING_WORK_EXEMPTIONS,
)
_SPAWNED_NOWAIT = replace(
    _SPAWNED_PID, creating_first_arguments=frozenset({"os.P_NOWAIT", "P_NOWAIT"})
)
# Reading a task's `result()` or `exception()` needs it done: that path has waited for it.
_TASK = ResourceSpec(
    Kind.TASK, "LK106", "task", frozenset({"cancel", "result", "exception"}),
    await_releases=True, loop_runners=frozenset({"run_forever", "run_until_complete"}),
    any_call_can_raise=True,
    release_functions=frozenset({"asyncio.gather", "asyncio.wait", "asyncio.wait_for",
                                 "asyncio.shield", "asyncio.as_completed"}),
    with_releases=False, released_verb="awaited", held_weakly=True,
    exemptions=RUNNING_WORK_EXEMPTIONS,
)

FACTORIES: dict[str, tuple[ResourceSpec, ...]] = {
    # LK301 files
    "builtins.open": (_FILE,),
    "io.open": (_FILE,),
    "io.FileIO": (_FILE,),
    "codecs.open": (_FILE,),
    "gzip.open": (_ARCHIVE,),
    "gzip.GzipFile": (_ARCHIVE,),
    "bz2.open": (_ARCHIVE,),
    "bz2.BZ2File": (_ARCHIVE,),
    "lzma.open": (_ARCHIVE,),
    "lzma.LZMAFile": (_ARCHIVE,),
    "tarfile.open": (_ARCHIVE,),
    "tarfile.TarFile.open": (_ARCHIVE,),
    "tarfile.TarFile": (_ARCHIVE,),
    "tarfile.taropen": (_ARCHIVE,),
    "zipfile.ZipFile": (_ARCHIVE,),
    "zipfile.PyZipFile": (_ARCHIVE,),
    "dbm.open": (_FILE,),
    "dbm.gnu.open": (_FILE,),
    "dbm.ndbm.open": (_FILE,),
    "dbm.dumb.open": (_FILE,),
    "shelve.open": (_FILE,),
    "tokenize.open": (_FILE,),
    "wave.open": (_PATH_OR_FILE_READER,),
    "fileinput.input": (_FILE_SEQUENCE,),
    "fileinput.FileInput": (_FILE_SEQUENCE,),
    "io.open_code": (_FILE,),
    "mmap.mmap": (_MMAP,),
    "tempfile.TemporaryFile": (_FILE,),
    "tempfile.NamedTemporaryFile": (_FILE, _NAMED_TEMP_KEPT),
    "tempfile.SpooledTemporaryFile": (_FILE,),
    "os.fdopen": (_FILE,),
    "os.open": (_FD,),
    # LK302 sockets
    "socket.socket": (_SOCKET,),
    "socket.create_connection": (_SOCKET,),
    "socket.create_server": (_SOCKET,),
    "socket.fromfd": (_SOCKET,),
    "socket.socketpair": (
        ResourceSpec(Kind.SOCKET, "LK302", "socket", frozenset({"close", "detach"}), tuple_index=0),
        ResourceSpec(Kind.SOCKET, "LK302", "socket", frozenset({"close", "detach"}), tuple_index=1),
    ),
    "ssl.wrap_socket": (_SOCKET,),
    "selectors.DefaultSelector": (_SELECTOR,),
    # (PollSelector and SelectSelector hold no file descriptor.)
    "selectors.DevpollSelector": (_SELECTOR,),
    "selectors.EpollSelector": (_SELECTOR,),
    "selectors.KqueueSelector": (_SELECTOR,),
    # LK303 connections
    "sqlite3.connect": (_DB_CONNECTION,),
    "psycopg.connect": (_CONNECTION,),
    "psycopg2.connect": (_DB_CONNECTION,),
    "pymysql.connect": (_DB_CONNECTION,),
    "mysql.connector.connect": (_DB_CONNECTION,),
    "http.client.HTTPConnection": (_CONNECTION,),
    "http.client.HTTPSConnection": (_CONNECTION,),
    "ftplib.FTP": (ResourceSpec(Kind.CONNECTION, "LK303", "connection",
                                frozenset({"close", "quit"})),),
    "ftplib.FTP_TLS": (ResourceSpec(Kind.CONNECTION, "LK303", "connection",
                                    frozenset({"close", "quit"})),),
    "smtplib.SMTP": (_MAIL_CONNECTION,),
    "smtplib.SMTP_SSL": (_MAIL_CONNECTION,),
    "smtplib.LMTP": (_MAIL_CONNECTION,),
    "imaplib.IMAP4": (_IMAP_CONNECTION,),
    "imaplib.IMAP4_SSL": (_IMAP_CONNECTION,),
    "poplib.POP3": (_MAIL_CONNECTION,),
    "poplib.POP3_SSL": (_MAIL_CONNECTION,),
    "telnetlib.Telnet": (_CONNECTION,),
    # LK304 responses and HTTP sessions
    "requests.Session": (_SESSION,),
    "requests.session": (_SESSION,),
    "requests.sessions.Session": (_SESSION,),
    **{f"requests.{verb}": (_STREAM_RESPONSE,)
       for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    "urllib.request.urlopen": (_URLOPEN_RESPONSE,),
    "httpx.Client": (_SESSION,),
    "httpx.AsyncClient": (_SESSION,),
    "httpx.stream": (ResourceSpec(Kind.RESPONSE, "LK304", "streamed response",
                                  frozenset({"__exit__"})),),
    "aiohttp.ClientSession": (_SESSION,),
    # LK306 temporary files
    "tempfile.mkstemp": (_MKSTEMP_FD, _MKSTEMP_PATH),
    "tempfile.mkdtemp": (_MKDTEMP_PATH,),
    # LK1 concurrency
    "threading.Thread": (_THREAD,),
    "threading.Timer": (_TIMER,),
    "concurrent.futures.ThreadPoolExecutor": (_EXECUTOR,),
    "concurrent.futures.ProcessPoolExecutor": (_EXECUTOR,),
    "concurrent.futures.thread.ThreadPoolExecutor": (_EXECUTOR,),
    "concurrent.futures.process.ProcessPoolExecutor": (_EXECUTOR,),
    "multiprocessing.Pool": (_POOL,),
    "multiprocessing.pool.Pool": (_POOL,),
    "multiprocessing.pool.ThreadPool": (_POOL,),
    "multiprocessing.Process": (_PROCESS,),
    "multiprocessing.Manager": (_MANAGER,),
    **{server: (_SERVER,) for server in _SERVER_CLASSES},
    "subprocess.Popen": (_POPEN,),
    "os.posix_spawn": (_SPAWNED_PID,),
    "os.posix_spawnp": (_SPAWNED_PID,),
    **{f"os.{spawn}": (_SPAWNED_NOWAIT,)
       for spawn in ("spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve",
                     "spawnvp", "spawnvpe")},
    "asyncio.create_task": (_TASK,),
    "asyncio.ensure_future": (_TASK,),
}

# Classes the process classes of `multiprocessing` derive from: a subclass of one runs its
# `run()` in a child process as a `multiprocessing.Process` subclass does.
PROCESS_BASES = frozenset(
    {"multiprocessing.context.Process", "multiprocessing.process.BaseProcess"}
)

# Types the analysis can tell an expression has, from the calls that build them.
TYPE_CONSTRUCTORS: dict[str, str] = {
    "pathlib.Path": "pathlib.Path",
    "pathlib.PurePath": "pathlib.Path",
    "pathlib.PosixPath": "pathlib.Path",
    "io.BytesIO": "io.BytesIO",
    "io.StringIO": "io.StringIO",
    "pathlib.WindowsPath": "pathlib.Path",
    "pathlib.Path.home": "pathlib.Path",
    "pathlib.Path.cwd": "pathlib.Path",
    "ssl.create_default_context": "ssl.SSLContext",
    "ssl.SSLContext": "ssl.SSLContext",
    "ssl._create_unverified_context": "ssl.SSLContext",
    "ssl._create_default_https_context": "ssl.SSLContext",
    "requests.Session": "requests.Session",
    "requests.session": "requests.Session",
    "requests.sessions.Session": "requests.Session",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
    "socket.socket": "socket.socket",
    "socket.create_connection": "socket.socket",
    "zipfile.ZipFile": "zipfile.ZipFile",
    "zipfile.PyZipFile": "zipfile.ZipFile",
    "multiprocessing.get_context": "multiprocessing.context.BaseContext",
}
# Methods of a typed object that return an object of the same type (``p.parent.open()``).
SAME_TYPE_METHODS: dict[str, frozenset[str]] = {
    "pathlib.Path": frozenset(
        {"parent", "with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute",
         "expanduser", "relative_to"}
    ),
}

_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
METHOD_FACTORIES: dict[tuple[str, str], tuple[ResourceSpec, ...]] = {
    ("pathlib.Path", "open"): (_FILE,),
    ("ssl.SSLContext", "wrap_socket"): (_SOCKET,),
    ("socket.socket", "makefile"): (_FILE,),
    # A member opened from an archive shares its descriptor, kept open until both are closed.
    ("zipfile.ZipFile", "open"): (_FILE,),
    ("multiprocessing.context.BaseContext", "Process"): (_PROCESS,),
    ("multiprocessing.context.BaseContext", "Pool"): (_POOL,),
    ("multiprocessing.context.BaseContext", "Manager"): (_MANAGER,),
    **{("requests.Session", verb): (_STREAM_RESPONSE,) for verb in _HTTP_VERBS},
    **{("aiohttp.ClientSession", verb): (_AIOHTTP_RESPONSE,) for verb in _HTTP_VERBS},
}

# Methods whose name identifies the factory when the receiver is named like the object that
# has it: `self._ssl_context.wrap_socket(sock)` needs no type inference, while a project's own
# `tls.wrap_socket(connection)` (which stores the socket and returns None) is something else.
DISTINCTIVE_METHODS: dict[str, tuple[ResourceSpec, ...]] = {
    "wrap_socket": (_SOCKET,),
}
DISTINCTIVE_RECEIVER_WORDS: dict[str, tuple[str, ...]] = {
    "wrap_socket": ("ctx", "context", "ssl"),
}

# Attributes that are the resource itself, or the part of it that holds the OS handle:
# `NamedTemporaryFile().file`, `TextIOWrapper(...).buffer`, `response.fp`. Keeping one keeps it.
RESOURCE_PART_ATTRIBUTES = frozenset({"file", "buffer", "raw", "fp", "sock", "socket", "stream"})

# Attributes that are plain values read from the object (``p.pid``, ``p.args``): passing or
# storing one hands nothing over; nobody can wait for a process through its pid.
VALUE_ATTRIBUTES = frozenset(
    {"pid", "args", "returncode", "exitcode", "ident", "native_id", "name", "daemon",
     "sentinel"}
)

# Calls through which a created object keeps living as the call's result: the wrapper closes
# what it wraps (``io.TextIOWrapper(open(p, "rb"))`` closes the file when it is closed).
TRANSPARENT_WRAPPERS = frozenset(
    {"io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter", "io.BufferedRandom",
     "io.BufferedRWPair", "contextlib.closing", "contextlib.nullcontext", "typing.cast",
     "urllib.response.addinfourl", "urllib.response.addbase", "urllib.response.addclosehook",
     # A view keeps what it views (closing a mmap under an exported view fails).
     "builtins.memoryview"}
)
# Calls that return the path they are given, transformed: the result is the same temporary
# file to remove (``path = os.path.realpath(tempfile.mkdtemp())``).
PATH_TRANSFORMS = frozenset(
    {"os.path.realpath", "os.path.abspath", "os.path.normpath", "os.fsencode", "os.fsdecode",
     "os.fspath", "pathlib.Path", "builtins.str", "os.path.join", "os.path.dirname"}
)
# In-memory file objects: an archive opened over one holds no OS resource.
MEMORY_BUFFERS = frozenset({"io.BytesIO", "io.StringIO"})
# Calls that end the process (exit it, abort it or replace its image): nothing created before
# them outlives them, and no path goes on past them.
PROCESS_EXITS = frozenset(
    {"sys.exit", "os._exit", "builtins.exit", "builtins.quit", "os.abort", "os.execv",
     "os.execve", "os.execl", "os.execle", "os.execlp", "os.execlpe", "os.execvp", "os.execvpe"}
)
# Modules whose functions read or write a file object they are given and never keep or close
# it (``json.load(f)``, ``shutil.copyfileobj(f, g)``). Unknown library functions may wrap what
# they are given (``addinfourl(fp, ...)``), so they are not assumed to borrow.
BORROWING_MODULES = frozenset(
    {"json", "pickle", "marshal", "shutil", "os", "os.path", "csv", "plistlib", "tomllib",
     "tomli", "yaml", "hashlib", "zlib", "base64", "binascii", "struct", "select", "fcntl",
     "termios", "tty", "ast", "configparser", "email", "mimetypes", "filecmp", "difflib",
     "tokenize", "stat", "time", "logging", "sys", "pprint", "textwrap", "re"}
)
# Calls that only give the child process a copy of a file they are passed as a standard
# stream (``Popen(cmd, stdout=log)``): the caller still has its own to close.
STREAM_BORROWERS = frozenset(
    {"subprocess.Popen", "subprocess.run", "subprocess.call", "subprocess.check_call",
     "subprocess.check_output", "asyncio.create_subprocess_exec",
     "asyncio.create_subprocess_shell"}
)
STREAM_KEYWORDS = frozenset({"stdin", "stdout", "stderr"})
# Calls that register an object with a manager that releases it (managed, never leaked).
MANAGING_METHODS = frozenset({"enter_context", "enter_async_context", "push", "callback",
                              "push_async_callback", "push_async_exit"})
# Calls that take ownership of an argument (the callee releases or keeps it).
TAKING_FUNCTIONS = frozenset(
    {"builtins.setattr", "functools.partial", "atexit.register", "weakref.finalize",
     "os.fdopen", "builtins.open", "io.open", "socket.socket", "socket.fromfd",
     "ssl.wrap_socket", "asyncio.open_connection", "asyncio.start_server",
     "asyncio.open_unix_connection", "contextlib.closing"}
)
# Constructors that borrow the file object they are given and never close it.
BORROWING_CONSTRUCTORS = frozenset(
    {"gzip.GzipFile", "bz2.BZ2File", "lzma.LZMAFile", "zipfile.ZipFile", "tarfile.open",
     "tarfile.TarFile", "csv.reader", "csv.writer", "csv.DictReader", "csv.DictWriter",
     "io.TextIOWrapper.__borrow__", "pickle.Pickler", "pickle.Unpickler", "mmap.mmap",
     "wave.open", "aifc.open", "sunau.open", "shelve.Shelf", "zipfile.Path"}
)
# Calls that can never raise in practice; they do not open an exception path.
NON_RAISING_CALLS = frozenset(
    {"builtins.len", "builtins.isinstance", "builtins.issubclass", "builtins.id",
     "builtins.type", "builtins.callable", "builtins.hasattr", "builtins.super",
     "builtins.bool", "builtins.print", "builtins.repr", "builtins.str", "builtins.locals",
     "builtins.globals", "builtins.vars", "builtins.iter", "builtins.object",
     "time.time", "time.monotonic", "time.perf_counter", "time.sleep", "os.getpid",
     "os.path.join",
     "os.path.basename", "os.path.dirname", "os.path.exists", "os.path.isfile",
     "os.path.isdir", "os.fspath", "threading.current_thread", "threading.get_ident",
     "builtins.list", "builtins.tuple", "builtins.dict", "builtins.set", "builtins.frozenset",
     "builtins.sorted", "builtins.min", "builtins.max", "builtins.any", "builtins.all",
     "builtins.enumerate", "builtins.zip", "builtins.reversed", "builtins.range",
     "builtins.getattr", "builtins.setattr", "builtins.format", "os.path.splitext",
     "os.path.split", "os.path.normcase", "os.path.normpath", "os.path.abspath",
     "os.path.realpath", "os.getcwd", "os.umask", "os.fstat", "os.isatty", "os.get_inheritable",
     "os.set_inheritable", "os.path.samestat", "os.dup2"}
)
# Receivers whose method calls never raise into the caller (logging swallows its errors).
NON_RAISING_RECEIVERS = frozenset({"log", "logger", "_log", "_logger", "LOG", "LOGGER", "logging"})
