"""Creation-site hooks: while installed, constructors of leakable things remember the user's line
that called them, so a leftover found later can be named by the line that created it.

The hooks wrap Python-level entry points (``threading.Thread.__init__``, ``builtins.open``,
``socket.socket.__init__``, ``subprocess.Popen.__init__``, executors, ``sqlite3.connect``,
``tempfile``, ``logging``, ``atexit``/``signal`` registration, ``asyncio`` task creation) and
capture ``ResourceWarning``s, whose ``source`` is the object the garbage collector had to close.
A hook keeps only the creating stack's code objects and line numbers: no path work, no
filesystem call, no ``f_locals`` snapshot (it may run on an event loop under blockbuster, or in
the middle of code that counts its references); lines become paths when a report is written.
Installation is reference counted so nested checks (a ``no_leaks`` inside a pytest run) share one
set of hooks; everything is restored when the last user uninstalls.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import asyncio.runners
import atexit
import builtins
import concurrent.futures
import contextlib
import dataclasses
import functools
import io
import logging
import multiprocessing.managers
import multiprocessing.pool
import multiprocessing.process
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tokenize
import warnings
import wave
import weakref
import zipfile  # noqa: F401  (loaded so that its member class is hooked: GC_CLOSED_STREAMS)
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any, Callable, NamedTuple, Optional

from leaklint.runtime import sites
from leaklint.runtime.records import Kind, Site

# leaklint's own reads of /proc go to the functions as they were before anyone (our hooks, a
# test's blockbuster) wrapped them.
# Kept from import time: a test may remove sys._getframe to test code that lives without it.
_getframe = sys._getframe
_listdir = os.listdir
_readlink = os.readlink
_BLOCKING_SOCKET_CALLS = ("connect", "recv", "recv_into", "recvfrom", "accept")
# Event loop classes hooked when their module shows up (imported after the hooks were installed).
_LATE_LOOPS = (("uvloop", "Loop"),)
# Client objects that own the sockets made inside their methods: a socket (or a blocking read
# without a timeout) is also attributed to the line that created its client.
_CLIENT_CLASSES = (
    ("http.client", "HTTPConnection"),
    ("ftplib", "FTP"),
    ("smtplib", "SMTP"),
    ("imaplib", "IMAP4"),
    ("poplib", "POP3"),
    ("requests.sessions", "Session"),
    ("httpx", "Client"),
    ("httpx", "AsyncClient"),
    ("aiohttp.client", "ClientSession"),
    ("urllib3.poolmanager", "PoolManager"),
)


@dataclass(frozen=True)
class Closeable:
    """A class whose objects must be released: garbage collected without one of ``release``
    having run, an object is reported (as its ResourceWarning would, where it has none)."""

    module: str
    name: str
    release: tuple[str, ...]
    kind: Kind


# Streams whose io.IOBase finalizer closes them silently (no ResourceWarning): a ``__del__``
# notes those still open when collected. (module, class, kind)
GC_CLOSED_STREAMS = (
    ("http.client", "HTTPResponse", Kind.RESPONSE),
    ("urllib3.response", "HTTPResponse", Kind.RESPONSE),
    # A member shares the archive's descriptor, which stays open until the member is closed.
    ("zipfile", "ZipExtFile", Kind.FILE),
)
# Readers whose own ``__del__`` closes the file they opened, silently: (class, the attribute
# that holds the file until ``close()`` clears it, kind).
SELF_CLOSING_READERS: tuple[tuple[type, str, Kind], ...] = (
    (wave.Wave_read, "_i_opened_the_file", Kind.FILE),
    (wave.Wave_write, "_i_opened_the_file", Kind.FILE),
)
# Functions that open a file without the hooked ``builtins.open``: a reference to it taken at
# import (``tarfile.bltn_open``), a wrapper made around its result, or C code.
_OTHER_OPENERS = ((tarfile, "bltn_open"), (tokenize, "open"), (io, "open_code"))
_EXITS = ("__exit__", "__aexit__")
# Responses are left out: reading one to the end releases it, which no single method marks.
CLOSEABLES = (
    Closeable("selectors", "_BaseSelectorImpl", ("close", *_EXITS), Kind.SOCKET),
    Closeable("http.client", "HTTPConnection", ("close",), Kind.CONNECTION),
    Closeable("ftplib", "FTP", ("close", *_EXITS), Kind.CONNECTION),
    Closeable("smtplib", "SMTP", ("close", *_EXITS), Kind.CONNECTION),
    Closeable("imaplib", "IMAP4", ("shutdown", *_EXITS), Kind.CONNECTION),
    Closeable("poplib", "POP3", ("close",), Kind.CONNECTION),
    Closeable("requests.sessions", "Session", ("close", *_EXITS), Kind.RESPONSE),
    Closeable("httpx", "Client", ("close", *_EXITS), Kind.RESPONSE),
    Closeable("httpx", "AsyncClient", ("aclose", *_EXITS), Kind.RESPONSE),
    Closeable("aiohttp.client", "ClientSession", ("close", *_EXITS), Kind.RESPONSE),
)
_EXECUTOR_TYPES: tuple[type, ...] = (
    concurrent.futures.ThreadPoolExecutor,
    concurrent.futures.ProcessPoolExecutor,
    multiprocessing.pool.Pool,
)
_EXECUTOR_RELEASE: dict[type, tuple[str, ...]] = {
    concurrent.futures.ThreadPoolExecutor: ("shutdown",),
    concurrent.futures.ProcessPoolExecutor: ("shutdown",),
    multiprocessing.pool.Pool: ("close", "terminate"),
}


@dataclass(frozen=True)
class Created:
    """What a hook learnt about one object: the stack that made it and by which executor, if
    any. Hooks keep only code objects and line numbers (``frames``); the user's line is worked
    out from them when somebody asks for ``site``, so a hook never touches the filesystem."""

    given_site: Optional[Site]
    what: str
    owner_site: Optional[Site] = None
    owner: str = ""
    serial: int = 0
    owner_serial: int = 0
    given_caller: Optional[Site] = None
    owner_by_library: bool = False  # the owning executor was made by library code
    frames: sites.RawStack = field(default=(), compare=False, repr=False)
    # When it was made (wall clock): the monitor's profiles show ages from it.
    at: float = field(default_factory=time.time, compare=False)

    @property
    def site(self) -> Optional[Site]:
        """The user's line that created it (else the first library line)."""
        if self.given_site is None and self.frames:
            return sites.raw_user_site(self.frames)
        return self.given_site

    @property
    def caller(self) -> Optional[Site]:
        """The user line that called the function creating it (a factory's caller)."""
        if self.given_caller is None and self.frames:
            return sites.raw_caller_site(self.frames)
        return self.given_caller

    @property
    def by_library(self) -> bool:
        """Made by an installed library's own code (a runner's loop, a worker-thread cache),
        not by a line of the user's: such objects are the library's to manage."""
        if self.frames:
            return sites.classify(self.frames[0][0].co_filename) != sites.USER
        return self.given_site is None or sites.classify(self.given_site.file) != sites.USER


class Unclosed(NamedTuple):
    """An object the garbage collector released for its user: its type's name, what said so
    (a ResourceWarning's text, or ours), how it was made, and its kind when the hook that saw
    it knows it (a ResourceWarning's object is classified by its type's name later)."""

    type_name: str
    message: str
    created: Created
    kind: Optional[Kind] = None


@dataclass
class Registry:
    """Everything the hooks recorded. Objects are keyed weakly; fds and pids by number."""

    objects: weakref.WeakKeyDictionary[Any, Created] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    fds: dict[int, Created] = field(default_factory=dict)
    # The object owning each fd (a file, a socket, a pipe): once it is closed or collected the
    # number may have been reused by code the hooks do not see.
    fd_holders: dict[int, Callable[[], Any]] = field(default_factory=dict)
    paths: dict[str, Created] = field(default_factory=dict)  # as the user spelt them
    pids: dict[int, Created] = field(default_factory=dict)
    by_id: dict[int, tuple[str, Created]] = field(default_factory=dict)
    coroutines: weakref.WeakKeyDictionary[Any, Site] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    unclosed: list[Unclosed] = field(default_factory=list)
    cancelled_tasks: list[tuple[Any, Created, tuple[Site, ...]]] = field(default_factory=list)
    no_timeout: dict[tuple[Site, str], tuple[str, Optional[Site]]] = field(default_factory=dict)
    tempfiles: list[tuple[str, bool, Created]] = field(default_factory=list)
    handlers: list[tuple[str, str, int, Created]] = field(default_factory=list)
    loggers: dict[str, Created] = field(default_factory=dict)
    registrations: list[tuple[str, Created]] = field(default_factory=list)
    released: set[int] = field(default_factory=set)
    serial: int = 0

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


class Tracker:
    """The process-wide hook set. ``install()``/``uninstall()`` nest."""

    def __init__(self) -> None:
        self.registry = Registry()
        self._users = 0
        self._lock = threading.RLock()
        self._undo: list[Callable[[], None]] = []
        self._late: set[type] = set()  # loop classes hooked once their module was imported
        self._warning_filter: Optional[tuple[Any, ...]] = None
        self._origin_depth = 0
        self._client_names: set[str] = set()
        self._client_codes: set[CodeType] = set()
        self._quiet = threading.local()
        # Told about every object created by a user frame (the harness watches those frames).
        self.on_created: Optional[Callable[[Any, Created, FrameType], None]] = None
        self.shut_down: weakref.WeakSet[Any] = weakref.WeakSet()
        self.shut_down_serials: set[int] = set()
        # Every coroutine then records 16 frames where it was made: it names the line behind a
        # task made by the Task constructor, at a cost the pytest plugin does not pay.
        self.track_coroutine_origins = True

    @property
    def active(self) -> bool:
        return self._users > 0

    def install(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._install()
            self._install_late()  # every check starts here: a dict lookup when nothing is new

    def uninstall(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._restore()

    # --- recording ------------------------------------------------------------------------
    def created(self, obj: Any, what: str, skip: int = 2, owner: bool = False) -> Created:
        frame: Optional[FrameType] = _getframe(skip)
        # A subclass's ``__init__`` calling ``super().__init__``: the site is who built it.
        if frame is not None and frame.f_code.co_name == "__init__":
            inits = _init_codes(type(obj))
            while frame is not None and frame.f_code in inits:
                frame = frame.f_back
        owner_record = self._executor_owner(frame) if owner else None
        record = Created(
            None,
            what,
            owner_site=owner_record.site if owner_record else None,
            owner=owner_record.what if owner_record else "",
            serial=self.registry.next_serial(),
            owner_serial=owner_record.serial if owner_record else 0,
            owner_by_library=owner_record.by_library if owner_record else False,
            frames=sites.raw_stack(frame),
        )
        try:
            self.registry.objects[obj] = record
        except TypeError:  # not weakly referenceable: keep it by id only
            self.registry.by_id[id(obj)] = (type(obj).__name__, record)
        else:  # an id is reused once the object is gone: never let a stale entry name it
            self.registry.by_id.pop(id(obj), None)
        if self.on_created is not None and not record.owner:
            creator = sites.user_frame(frame)
            if creator is not None:
                self.on_created(obj, record, creator)
        return record

    @property
    def quiet(self) -> bool:
        """True on a thread where leaklint itself is reading files (psutil, /proc): the hooks
        let those calls through unrecorded."""
        return bool(getattr(self._quiet, "on", False))

    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        self._quiet.on = True
        try:
            yield
        finally:
            self._quiet.on = False

    def _executor_owner(self, frame: Optional[FrameType]) -> Optional[Created]:
        """The executor whose method is on the stack (a worker made for ``submit``/``map``)."""
        while frame is not None:
            if sites.classify(frame.f_code.co_filename) == sites.USER:
                return None
            # Only frames of the executors' own methods: reading ``f_locals`` makes (3.9-3.12)
            # a snapshot dict that keeps the frame's locals alive, changing what user code
            # sees of reference cycles.
            candidate = _self_of(frame) if frame.f_code in _EXECUTOR_CODES else None
            if isinstance(candidate, _EXECUTOR_TYPES):
                # An executor made before the hooks were installed owns its workers too.
                found = self.registry.objects.get(candidate)
                return found or Created(None, type(candidate).__name__)
            frame = frame.f_back
        return None

    def client_owner(self, frame: Optional[FrameType]) -> Optional[Created]:
        """The outermost tracked client object whose method is on the stack."""
        found: Optional[Created] = None
        while frame is not None:
            if frame.f_code in self._client_codes:  # not f_locals of others: see above
                candidate = _self_of(frame)
                if candidate is not None and type(candidate).__name__ in self._client_names:
                    found = self.site_for(candidate) or found
            frame = frame.f_back
        return found

    def remember_fd(self, fd: int, record: Created, holder: Any = None) -> None:
        if isinstance(fd, int) and fd >= 0:
            self.registry.fds[fd] = record
            if holder is None:
                self.registry.fd_holders.pop(fd, None)
            else:
                self.registry.fd_holders[fd] = _ref(holder)

    def fd_record(self, fd: int) -> Optional[Created]:
        """The record of the object that opened ``fd``, unless that object has since been
        closed or collected (the number now belongs to somebody else)."""
        record = self.registry.fds.get(fd)
        holder = self.registry.fd_holders.get(fd)
        if record is None or holder is None:
            return record
        return record if _holds(holder(), fd) else None

    def site_for(self, obj: Any) -> Optional[Created]:
        try:
            found = self.registry.objects.get(obj)
        except TypeError:
            found = None
        if found is not None:
            return found
        if isinstance(obj, asyncio.Future):  # made where no hook saw it (``Task(...)`` directly)
            return None
        entry = self.registry.by_id.get(id(obj))
        if entry is not None and entry[0] == type(obj).__name__:
            return entry[1]
        return None

    # --- installation ---------------------------------------------------------------------
    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        if isinstance(owner, type) and name not in owner.__dict__:  # inherited: shadow it
            setattr(owner, name, make(getattr(owner, name)))
            self._undo.append(lambda: delattr(owner, name))
            return
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def _install_late(self) -> None:
        """Event loops of libraries imported after the hooks were installed: a test runner
        imports uvloop when a test first asks for it. Its ``Loop`` is a Python subclass of a C
        class: ``create_task`` and ``close`` are hooked on the subclass, and the function with
        which its ``run()`` cancels what is left (``asyncio.Runner``'s from 3.11)."""
        for module_name, class_name in _LATE_LOOPS:
            module = sys.modules.get(module_name)
            cls = getattr(module, class_name, None)
            if not isinstance(cls, type) or cls in self._late or not self.active:
                continue
            self._late.add(cls)
            self._patch(cls, "create_task", self._wrap_create_task)
            self._patch(cls, "close", self._wrap_loop_close)
            if callable(getattr(module, "_cancel_all_tasks", None)):  # its run() before 3.11
                self._patch(module, "_cancel_all_tasks", self._wrap_cancel_all)

    def _install(self) -> None:
        self._undo = []
        self._install_threads()
        self._install_files()
        self._install_sockets()
        self._install_processes()
        self._install_executors()
        self._install_tasks()
        self._install_registrations()
        self._install_clients()
        self._install_warnings()

    def _restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []
        self._late = set()

    def _install_clients(self) -> None:
        tracker = self

        def make(original: Any, label: str) -> Any:
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                tracker.created(self, label)

            return __init__

        for module_name, class_name in _CLIENT_CLASSES:
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if isinstance(cls, type) and "__init__" in cls.__dict__:
                self._client_names.add(class_name)
                self._client_codes |= _method_codes(cls)
                self._patch(cls, "__init__", functools.partial(make, label=class_name))
        for closeable in CLOSEABLES:
            cls = getattr(sys.modules.get(closeable.module), closeable.name, None)
            if isinstance(cls, type):
                self._install_closeable(cls, closeable)
        for module_name, class_name, kind in GC_CLOSED_STREAMS:
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if isinstance(cls, type) and "__init__" in cls.__dict__:
                self._install_stream(cls, kind)

    def _install_stream(self, cls: type, kind: Kind) -> None:
        tracker = self

        def make_init(original: Any) -> Any:
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                tracker.created(self, type(self).__name__)

            return __init__

        def __del__(self: Any) -> None:
            record = tracker.site_for(self)
            try:
                still_open = not self.closed and not (
                    hasattr(self, "isclosed") and self.isclosed()
                )
            except Exception:
                still_open = False
            if record is not None and still_open:
                tracker.note_collected(type(self).__name__, kind, record)
            try:
                self.close()  # what io.IOBase's finalizer would have done
            except Exception:
                pass

        self._patch(cls, "__init__", make_init)
        if "__del__" not in cls.__dict__:
            cls.__del__ = __del__  # type: ignore[attr-defined]
            self._undo.append(functools.partial(delattr, cls, "__del__"))

    def _install_self_closing(self, cls: type, holder: str, kind: Kind) -> None:
        """``wave.open(path)``: its ``__del__`` closes the file it opened without a warning;
        one still held when the object is collected was never closed by its user."""
        tracker = self

        def make_del(original: Any) -> Any:
            def __del__(self: Any) -> None:
                handle = getattr(self, holder, None)
                record = tracker.site_for(handle) if handle is not None else None
                if record is not None:
                    tracker.note_collected(type(self).__name__, kind, record)
                original(self)

            return __del__

        self._patch(cls, "__del__", make_del)

    def _install_closeable(self, cls: type, closeable: Closeable) -> None:
        tracker = self
        released = self.registry.released

        def make_init(original: Any) -> Any:
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                if tracker.site_for(self) is None or type(self).__name__ not in (
                    tracker._client_names
                ):
                    tracker.created(self, closeable.name)
                record = tracker.site_for(self)
                if record is None or getattr(self, "_leaklint_watched", False):
                    return
                try:
                    self._leaklint_watched = True
                    weakref.finalize(self, tracker.note_collected, type(self).__name__,
                                     closeable.kind, record)
                except (TypeError, AttributeError):
                    return

            return __init__

        def make_release(original: Any) -> Any:
            def release(self: Any, *args: Any, **kwargs: Any) -> Any:
                record = tracker.site_for(self)
                if record is not None:
                    released.add(record.serial)
                return original(self, *args, **kwargs)

            return release

        if "__init__" in cls.__dict__:
            self._patch(cls, "__init__", make_init)
        for name in closeable.release:
            if name in cls.__dict__:
                self._patch(cls, name, make_release)

    def note_collected(self, type_name: str, kind: Kind, record: Created) -> None:
        if record.serial not in self.registry.released and self.active:
            message = f"{type_name} garbage collected without being closed"
            self.registry.unclosed.append(Unclosed(type_name, message, record, kind))

    def _install_threads(self) -> None:
        tracker = self

        def make(original: Any) -> Any:
            def __init__(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                kind = "timer" if isinstance(self, threading.Timer) else "thread"
                tracker.created(self, kind, owner=True)

            return __init__

        self._patch(threading.Thread, "__init__", make)

    def _install_files(self) -> None:
        tracker = self

        def wrap_open(original: Any) -> Any:
            def open(*args: Any, **kwargs: Any) -> Any:
                handle = original(*args, **kwargs)
                if tracker.quiet:
                    return handle
                record = tracker.created(handle, "file")
                for layer in (handle, getattr(handle, "buffer", None)):
                    if layer is not None:
                        tracker.registry.by_id[id(layer)] = (type(layer).__name__, record)
                try:
                    tracker.remember_fd(handle.fileno(), record, handle)
                except (OSError, ValueError, AttributeError):
                    pass
                return handle

            return open

        def wrap_os_open(original: Any) -> Any:
            def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
                fd: int = original(path, *args, **kwargs)
                if not tracker.quiet:
                    tracker.remember_fd(fd, tracker._plain(f"os.open({path!r})"))
                return fd

            return os_open

        def wrap_fdopen(original: Any) -> Any:
            def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
                handle = original(fd, *args, **kwargs)
                if not tracker.quiet:
                    tracker.remember_fd(fd, tracker.created(handle, "file"), handle)
                return handle

            return fdopen

        def wrap_connect(original: Any) -> Any:
            def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
                if not args and "factory" not in kwargs:
                    # A subclass that notices being collected unclosed (sqlite3 only warns
                    # from 3.13 on, and its objects cannot be weakly referenced).
                    kwargs["factory"] = _TrackedConnection
                connection = original(database, *args, **kwargs)
                record = tracker.created(connection, "sqlite3 connection")
                if isinstance(database, (str, os.PathLike)) and str(database) != ":memory:":
                    tracker.registry.paths[os.fspath(database)] = record
                _watch_close(tracker, connection, record)
                return connection

            return connect

        def wrap_mk(original: Any, is_dir: bool) -> Any:
            def make_temp(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                path = result if is_dir else result[1]
                record = tracker._plain("tempfile." + original.__name__)
                tracker.registry.tempfiles.append((path, is_dir, record))
                if not is_dir:
                    tracker.remember_fd(result[0], record)
                return result

            return make_temp

        def wrap_named(original: Any) -> Any:
            def named(*args: Any, **kwargs: Any) -> Any:
                handle = original(*args, **kwargs)
                record = tracker.created(handle, "tempfile.NamedTemporaryFile")
                tracker.registry.tempfiles.append((handle.name, False, record))
                try:
                    tracker.remember_fd(handle.fileno(), record, handle)
                except (OSError, ValueError):
                    pass
                return handle

            return named

        self._patch(builtins, "open", wrap_open)
        if io.open is not builtins.open:
            self._patch(io, "open", wrap_open)
        else:  # io.open is the builtin: point it at the same wrapper
            self._undo.append(functools.partial(setattr, io, "open", io.open))
            io.open = builtins.open
        for module, alias in _OTHER_OPENERS:
            if hasattr(module, alias):
                self._patch(module, alias, wrap_open)
        for cls, holder, kind in SELF_CLOSING_READERS:
            if "__del__" in cls.__dict__:
                self._install_self_closing(cls, holder, kind)
        self._patch(os, "open", wrap_os_open)
        self._patch(os, "fdopen", wrap_fdopen)
        self._patch(sqlite3, "connect", wrap_connect)
        self._patch(tempfile, "mkstemp", lambda o: wrap_mk(o, False))
        self._patch(tempfile, "mkdtemp", lambda o: wrap_mk(o, True))
        self._patch(tempfile, "NamedTemporaryFile", wrap_named)

    def _plain(self, what: str) -> Created:
        return Created(None, what, serial=self.registry.next_serial(),
                       frames=sites.raw_stack(_getframe(2)))

    def _install_sockets(self) -> None:
        tracker = self

        def make_init(original: Any) -> Any:
            def __init__(self: socket.socket, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                if tracker.quiet:
                    return
                record = tracker.created(self, "socket")
                client = tracker.client_owner(_getframe(1))
                if client is not None:
                    record = dataclasses.replace(record, owner_site=client.site,
                                                 owner=client.what)
                    tracker.registry.objects[self] = record
                try:
                    tracker.remember_fd(self.fileno(), record, self)
                except OSError:
                    pass

            return __init__

        def make_blocking(name: str) -> Callable[[Any], Any]:
            def make(original: Any) -> Any:
                def call(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
                    if self.gettimeout() is None and self.type == socket.SOCK_STREAM:
                        tracker.note_no_timeout(name)
                    return original(self, *args, **kwargs)

                return call

            return make

        def make_makefile(original: Any) -> Any:
            def makefile(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
                stream = original(self, *args, **kwargs)
                known = tracker.site_for(self)
                if known is not None:  # an unclosed stream keeps the socket's descriptor open
                    for layer in (stream, getattr(stream, "raw", None)):
                        if layer is not None:
                            tracker.registry.by_id[id(layer)] = (type(layer).__name__, known)
                return stream

            return makefile

        self._patch(socket.socket, "__init__", make_init)
        self._patch(socket.socket, "makefile", make_makefile)
        for name in _BLOCKING_SOCKET_CALLS:
            if name in socket.socket.__dict__:
                self._patch(socket.socket, name, make_blocking(name))
            else:  # inherited from _socket.socket: shadow it on the Python class
                original = getattr(socket.socket, name)
                setattr(socket.socket, name, make_blocking(name)(original))
                self._undo.append(functools.partial(delattr, socket.socket, name))

    def note_no_timeout(self, operation: str) -> None:
        frame = _getframe(2)
        site = sites.user_site(frame)
        if site is None or (site, operation) in self.registry.no_timeout:
            return
        stack = sites.stack_of(frame)
        client = self.client_owner(frame)
        text = " <- ".join(str(s) for s in reversed(stack))
        self.registry.no_timeout[(site, operation)] = (text, client.site if client else None)

    def _install_processes(self) -> None:
        tracker = self

        def make_popen(original: Any) -> Any:
            def __init__(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                record = tracker.created(self, f"subprocess {self.args!r}"[:120])
                tracker.registry.pids[self.pid] = record
                for pipe in (self.stdin, self.stdout, self.stderr):
                    if pipe is not None:
                        tracker.registry.by_id[id(pipe)] = (type(pipe).__name__, record)
                        tracker.remember_fd(pipe.fileno(), record, pipe)

            return __init__

        def make_init(original: Any) -> Any:
            def __init__(self: multiprocessing.process.BaseProcess, *args: Any,
                         **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                tracker.created(self, f"multiprocessing {self.name}", owner=True)

            return __init__

        def make_start(original: Any) -> Any:
            def start(self: multiprocessing.process.BaseProcess) -> None:
                known = _open_fd_targets()
                original(self)
                record = tracker.site_for(self) or tracker.created(
                    self, f"multiprocessing {self.name}", owner=True)
                if self.pid is not None:
                    tracker.registry.pids[self.pid] = record
                for fd, target in _open_fd_targets().items():  # its sentinel and pipes
                    if known.get(fd) != target:
                        tracker.remember_fd(fd, record, self)

            return start

        def make_manager_start(original: Any) -> Any:
            def start(self: Any, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                record = tracker.site_for(self) or tracker.created(
                    self, "multiprocessing manager")
                finalizer = self.shutdown

                def shutdown() -> None:  # `shutdown()` or `with`: released by its user
                    tracker.registry.released.add(record.serial)
                    finalizer()

                self.shutdown = shutdown
                # Collected still running: its own finalizer stops the server process.
                weakref.finalize(self, tracker.note_collected, type(self).__name__, Kind.PROCESS,
                                 record)

            return start

        def make_spawn(original: Any, by_mode: bool) -> Any:
            def spawn(*args: Any, **kwargs: Any) -> Any:
                pid = original(*args, **kwargs)
                if not by_mode or (args and args[0] == os.P_NOWAIT):  # P_WAIT returns a status
                    known = tracker.registry.pids.get(pid)
                    if known is None:  # spawnl calls spawnv: one record per child
                        tracker.registry.pids[pid] = tracker._plain(f"os.{original.__name__}")
                return pid

            return spawn

        for name in ("posix_spawn", "posix_spawnp"):
            if hasattr(os, name):
                self._patch(os, name, functools.partial(make_spawn, by_mode=False))
        for name in ("spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
                     "spawnvpe"):
            if hasattr(os, name) and hasattr(os, "P_NOWAIT"):
                self._patch(os, name, functools.partial(make_spawn, by_mode=True))
        self._patch(subprocess.Popen, "__init__", make_popen)
        self._patch(multiprocessing.managers.BaseManager, "start", make_manager_start)
        self._patch(multiprocessing.process.BaseProcess, "__init__", make_init)
        self._patch(multiprocessing.process.BaseProcess, "start", make_start)

    def _install_executors(self) -> None:
        tracker = self

        def make(original: Any, label: str) -> Any:
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                # Register first: the pool's own threads and processes are made inside.
                tracker.created(self, label)
                original(self, *args, **kwargs)

            return __init__

        def make_shutdown(original: Any) -> Any:
            def shutdown(self: Any, *args: Any, **kwargs: Any) -> Any:
                tracker.shut_down.add(self)
                known = tracker.site_for(self)
                if known is not None:
                    tracker.shut_down_serials.add(known.serial)
                return original(self, *args, **kwargs)

            return shutdown

        for cls in _EXECUTOR_TYPES:
            self._patch(cls, "__init__", functools.partial(make, label=cls.__name__))
        for cls, names in _EXECUTOR_RELEASE.items():
            for name in names:
                self._patch(cls, name, make_shutdown)

    def _install_tasks(self) -> None:
        tracker = self

        def make_threadsafe(original: Any) -> Any:
            def run_coroutine_threadsafe(coro: Any, loop: Any) -> Any:
                site = sites.caller_site(1)
                if site is not None:
                    try:
                        tracker.registry.coroutines[coro] = site
                    except TypeError:
                        pass
                return original(coro, loop)

            return run_coroutine_threadsafe

        self._patch(asyncio.base_events.BaseEventLoop, "create_task", self._wrap_create_task)
        self._patch(asyncio.base_events.BaseEventLoop, "close", self._wrap_loop_close)
        self._patch(asyncio, "run_coroutine_threadsafe", make_threadsafe)
        if hasattr(asyncio.runners, "_cancel_all_tasks"):
            self._patch(asyncio.runners, "_cancel_all_tasks", self._wrap_cancel_all)
        if not self.track_coroutine_origins:
            return
        self._origin_depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self._origin_depth, 16))
        depth = self._origin_depth
        self._undo.append(lambda: sys.set_coroutine_origin_tracking_depth(depth))

    def _wrap_create_task(self, original: Any) -> Any:
        tracker = self

        def create_task(self: Any, coro: Any, *args: Any, **kwargs: Any) -> Any:
            task = original(self, coro, *args, **kwargs)
            record = tracker.created(task, "task")
            if record.site is None or sites.classify(record.site.file) != sites.USER:
                origin = tracker.coroutine_site(coro)
                if origin is not None:
                    fixed = Created(origin, "task", serial=record.serial)
                    tracker.registry.objects[task] = fixed
            return task

        return create_task

    def _wrap_cancel_all(self, original: Any) -> Any:
        tracker = self

        def _cancel_all_tasks(loop: Any) -> None:
            tracker.note_pending_at_close(loop)
            original(loop)

        return _cancel_all_tasks

    def _wrap_loop_close(self, original: Any) -> Any:
        tracker = self

        def close(self: Any) -> None:
            # A hand-made loop (``new_event_loop()`` ... ``close()``) drops its pending tasks
            # silently; ``asyncio.run`` has cancelled (and noted) them by now.
            if not self.is_closed() and not self.is_running():
                tracker.note_pending_at_close(self)
            original(self)

        return close

    def coroutine_site(self, coro: Any) -> Optional[Site]:
        try:
            known = self.registry.coroutines.get(coro)
        except TypeError:
            known = None
        if known is not None:
            return known
        for filename, line, function in getattr(coro, "cr_origin", None) or ():
            if sites.classify(filename) == sites.USER:
                return Site(filename, line, function)
        return None

    def note_pending_at_close(self, loop: Any) -> None:
        """``asyncio.run`` is about to cancel what ``main`` left running: remember each one.
        Not when the loop is being torn down by KeyboardInterrupt or SystemExit: its tasks
        were interrupted mid-flight (a test of Ctrl-C handling does that on purpose)."""
        interrupted = sys.exc_info()[0]
        if interrupted is not None and not issubclass(interrupted, Exception) and issubclass(
            interrupted, (KeyboardInterrupt, SystemExit)
        ):
            return
        for task in asyncio.all_tasks(loop):
            if task.done():
                continue
            record = self.site_for(task)
            if record is None:  # made by the Task constructor: where its coroutine was made
                record = Created(self.coroutine_site(task.get_coro()), "task")
            stack = tuple(sites.site_of(f) for f in task.get_stack())
            self.registry.cancelled_tasks.append((weakref.ref(task), record, stack))

    def _install_registrations(self) -> None:
        tracker = self

        def make_add_handler(original: Any) -> Any:
            def addHandler(self: logging.Logger, handler: logging.Handler) -> None:
                # Only with a user line on the stack: pytest's log capture adds and removes
                # a handler around every phase of every test.
                if handler not in self.handlers and sites.user_frame(_getframe(1)) is not None:
                    record = tracker._plain(f"handler {type(handler).__name__}")
                    entry = (self.name, repr(handler), id(handler), record)
                    tracker.registry.handlers.append(entry)
                original(self, handler)

            return addHandler

        def make_get_logger(original: Any) -> Any:
            def getLogger(self: logging.Manager, name: str) -> logging.Logger:
                fresh = name not in self.loggerDict
                logger: logging.Logger = original(self, name)
                if fresh:
                    tracker.registry.loggers[name] = tracker._plain(f"logger {name!r}")
                return logger

            return getLogger

        def make_register(original: Any, label: str) -> Any:
            def register(*args: Any, **kwargs: Any) -> Any:
                # Only the user's own calls: libraries register on their own behalf (e.g.
                # weakref.finalize installs one atexit hook for the whole process).
                caller = _getframe(1).f_code.co_filename
                if sites.classify(caller) == sites.USER:
                    shown = f"{label}({int(args[0])})" if label == "signal.signal" and args else (
                        label)
                    tracker.registry.registrations.append((shown, tracker._plain(label)))
                return original(*args, **kwargs)

            return register

        def make_add_filter(original: Any) -> Any:
            def addFilter(self: logging.Filterer, log_filter: Any) -> None:
                if log_filter not in self.filters and (
                    sites.user_frame(_getframe(1)) is not None
                ):
                    record = tracker._plain(f"filter {type(log_filter).__name__}")
                    owner = getattr(self, "name", None) or repr(self)
                    entry = (str(owner), repr(log_filter), id(log_filter), record)
                    tracker.registry.handlers.append(entry)
                original(self, log_filter)

            return addFilter

        self._patch(logging.Logger, "addHandler", make_add_handler)
        self._patch(logging.Filterer, "addFilter", make_add_filter)
        self._patch(logging.Manager, "getLogger", make_get_logger)
        self._patch(atexit, "register", lambda o: make_register(o, "atexit.register"))
        self._patch(signal, "signal", lambda o: make_register(o, "signal.signal"))

    def _install_warnings(self) -> None:
        tracker = self

        def make(original: Any) -> Any:
            def _showwarnmsg(msg: Any) -> None:
                if tracker.note_warning(msg):
                    return
                original(msg)

            return _showwarnmsg

        self._patch(warnings, "_showwarnmsg", make)
        warnings.filterwarnings("always", category=ResourceWarning)
        entry = warnings.filters[0]

        def drop_filter() -> None:
            try:
                warnings.filters.remove(entry)  # type: ignore[attr-defined]
            except ValueError:
                return
            warnings._filters_mutated()  # type: ignore[attr-defined]

        self._undo.append(drop_filter)

    def note_warning(self, msg: Any) -> bool:
        """Record a ResourceWarning about an object we saw created; True when it was ours."""
        if not issubclass(msg.category, ResourceWarning) or msg.source is None:
            return False
        record = self.site_for(msg.source)
        if record is None:
            return False
        self.registry.unclosed.append(Unclosed(type(msg.source).__name__, str(msg.message), record))
        return True


class _TrackedConnection(sqlite3.Connection):
    def close(self) -> None:
        known = TRACKER.site_for(self)
        if known is not None:
            TRACKER.registry.released.add(known.serial)
        super().close()

    def __del__(self) -> None:
        known = TRACKER.site_for(self)
        if known is not None:
            TRACKER.note_collected("Connection", Kind.CONNECTION, known)


def _open_fd_targets() -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        names = _listdir("/proc/self/fd")
    except OSError:
        return found
    for name in names:
        try:
            found[int(name)] = _readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return {fd: target for fd, target in found.items() if not target.startswith("/proc/")}


def _method_codes(cls: type) -> set[CodeType]:
    """The code objects of a class's methods, its bases' included (not ``object``'s)."""
    found: set[CodeType] = set()
    for klass in cls.__mro__[:-1]:
        for value in vars(klass).values():
            function = getattr(value, "__func__", value)  # static and class methods
            code = getattr(function, "__code__", None)
            if isinstance(code, CodeType):
                found.add(code)
    return found


_EXECUTOR_CODES = frozenset().union(*(_method_codes(cls) for cls in _EXECUTOR_TYPES))


def _init_codes(cls: type) -> frozenset[CodeType]:
    """The ``__init__`` codes along a class's bases: the frames of a constructor chain (told
    apart by their code, not by reading ``self`` out of ``f_locals``)."""
    codes = (getattr(vars(k).get("__init__"), "__code__", None) for k in cls.__mro__)
    return frozenset(c for c in codes if isinstance(c, CodeType))


def _self_of(frame: FrameType) -> Any:
    return frame.f_locals.get("self")


def _ref(obj: Any) -> Callable[[], Any]:
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _holds(holder: Any, fd: int) -> bool:
    """Whether ``holder`` (a file, socket or pipe) is alive and still owns ``fd``. A process's
    descriptors (its sentinel, and what ``start()`` opened for it: a pipe to multiprocessing's
    resource tracker) are its own until it is joined; read without polling, which would reap
    a child nobody waited for."""
    if holder is None:
        return False
    if isinstance(holder, multiprocessing.process.BaseProcess):
        popen = getattr(holder, "_popen", None)
        return popen is not None and getattr(popen, "returncode", None) is None
    try:
        return bool(holder.fileno() == fd)
    except (OSError, ValueError, AttributeError):  # closed
        return False


def _watch_close(tracker: Tracker, connection: Any, record: Created) -> None:
    """sqlite3 connections cannot be weakly referenced nor warn before 3.13: remember each one by
    id and ask, later, whether it was closed (a closed connection refuses ``execute``)."""
    tracker.registry.by_id[id(connection)] = (type(connection).__name__, record)


TRACKER = Tracker()
