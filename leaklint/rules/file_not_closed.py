from __future__ import annotations

from leaklint.model import Applicability
from leaklint.rules.resource_rule import ResourceRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class FileNotClosed(ResourceRule):
    """
    ## What it does
    Flags a file opened in a function (`open`, `io.open`, `codecs.open`, `Path.open`,
    `gzip`/`bz2`/`lzma.open`, `tarfile.open`/`TarFile`, `zipfile.ZipFile`/`PyZipFile` and
    its members' `ZipFile.open(name)`, `tempfile.TemporaryFile` and friends, `os.fdopen`,
    `os.open`, `dbm.open`, `shelve.open`, `tokenize.open`, `wave.open(path)`,
    `fileinput.input`, `io.open_code`, `mmap.mmap`) that is not closed on every path and not
    handed off:
    used inline (`open(p).read()`, `return open(p).read()`), never closed, not closed on an
    early return, or closed only if no call before the close raises.

    ## Why is this bad?
    An open file holds an operating-system file descriptor until it is closed. CPython closes
    unreferenced files when they are collected, but not deterministically (PyPy, reference
    cycles, tracebacks that hold frames), written data may stay unflushed, and a process that
    opens files in a loop runs out of descriptors ("Too many open files"). It also emits a
    `ResourceWarning`.

    ## Example
    ```python
    def load(path):
        return json.loads(open(path).read())
    ```

    ## Use instead
    ```python
    def load(path):
        with open(path) as f:
            return json.load(f)
    ```

    ## Not flagged
    Archives over an in-memory buffer (`zipfile.ZipFile(io.BytesIO(...))`, `fileobj=`); a
    descriptor made a standard stream with `os.dup2(fd, 0/1/2)`; a local file dropped only
    when a call before its hand-off raises; `wave.open(f)` over a file object the caller
    owns; an anonymous `mmap.mmap(-1, n)`; `for line in fileinput.input(...)` read to the
    end (it closes each file).

    ## Autofix
    Safe (`--fix`): a file used inline in one simple statement that is done with it when the
    statement ends (`data = open(p).read()`, `json.load(open(p))`, `for line in open(p):`), or
    bound, used by a straight line of statements and closed by `f.close()` right after them,
    gets a `with` block that closes it where the code already stopped using it. A file that is
    returned, kept by a lazy reader (`csv.reader(open(p))`), opened under a condition or in a
    comprehension, or used after an exception could close it, is left for you to fix.
    """

    CODE = "LK301"
    AUTOFIX = Applicability.SAFE
    NAME = "file-not-closed"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.FILE, Kind.FD))
    SIMILAR_CHECKS = ("SIM115", "R1732", "consider-using-with")
