from __future__ import annotations

from leaklint.rules.resource_rule import ResourceRule


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
    released with `with`, `contextlib.closing` or an `ExitStack`, or in `finally`; handed
    off (returned, yielded, stored on an object or a container that outlives the call,
    passed to an owner that keeps or releases it); code that cannot run (`if
    TYPE_CHECKING:`, branches for Pythons leaklint does not support, a module-private
    constant flag); a call that `pytest.raises`/`assertRaises` expects to fail; code under
    `if __name__ == "__main__":`. Also: `mkstemp(dir=...)`/`mkdtemp(dir=...)` in a directory
    the caller chose (a deliberate, persistent file); a path returned to the caller or
    yielded by a fixture that removes it.

    ## Confidence
    Medium: a leak only on an exception path inside test code (files and folders named as
    pytest and unittest discover them, `conftest.py`), and what a program's entry point
    holds (`main()` and the functions the `__main__` block calls run once; the process ends
    after them).
    """

    CODE = "LK306"
    NAME = "tempfile-not-removed"
    TRIGGERS = ("mkstemp", "mkdtemp", "NamedTemporaryFile")
