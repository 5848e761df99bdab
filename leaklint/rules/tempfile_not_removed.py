from __future__ import annotations

from leaklint.rules.resource_rule import ResourceRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class TempfileNotRemoved(ResourceRule):
    """
    ## What it does
    Flags a temporary file or directory that is created in a function and neither removed
    (`os.remove`/`os.unlink`, `Path.unlink`, `shutil.rmtree`, `os.rmdir`) on every path nor
    handed off: `tempfile.mkstemp()` (its file descriptor must be closed too),
    `tempfile.mkdtemp()`, `tempfile.NamedTemporaryFile(delete=False)`.

    ## Why is this bad?
    Temporary files are not removed when the process exits. Every call leaves a file (or a
    whole directory tree) behind in the temporary directory; long-running services fill the
    disk, and the files may hold sensitive data.

    ## Example
    ```python
    def render(data):
        path = tempfile.mkdtemp()
        build(data, path)
        return archive(path)
    ```

    ## Use instead
    ```python
    def render(data):
        with tempfile.TemporaryDirectory() as path:
            build(data, path)
            return archive(path)
    ```

    ## Not flagged
    `mkstemp(dir=...)`/`mkdtemp(dir=...)` in a directory the caller chose (a deliberate,
    persistent file); a path returned to the caller or yielded by a fixture that removes it.
    """

    CODE = "LK306"
    NAME = "tempfile-not-removed"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.TEMPFILE,))
