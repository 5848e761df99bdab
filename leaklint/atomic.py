"""Write a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile
from typing import Optional


def write_atomically(path: str, data: bytes, mode: Optional[int] = None) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``
    (``os.replace`` is atomic on one file system). ``mode`` sets the new file's permissions
    (a fixed source file keeps its own). The temporary file never outlives a failure."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".leaklint"
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
