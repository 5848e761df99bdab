"""Per-file result cache: keyed by content hash, leaklint version and effective settings.

Entries are written to a temporary file and renamed into place, so concurrent runs (pre-commit
starts several) never see half an entry; an entry that cannot be read or parsed is ignored and
the file is checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Optional

from leaklint import __version__
from leaklint.model import FileResult, Finding

CACHE_FOLDER = ".leaklint_cache"
_FORMAT = 1


class ResultCache:
    def __init__(self, folder: str, settings_fingerprint: str) -> None:
        self.folder = folder
        self.salt = f"{_FORMAT}\0{__version__}\0{settings_fingerprint}\0".encode()

    def key(self, path: str, data: bytes) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(path.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key[2:] + ".json")

    def get(self, key: str) -> Optional[FileResult]:
        try:
            with open(self._entry(key), encoding="utf-8") as handle:
                data = json.load(handle)
            return FileResult(
                data["path"], tuple(Finding.from_json(item) for item in data["findings"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, result: FileResult) -> None:
        if result.errors:
            return  # an internal error is not a result worth keeping
        entry = self._entry(key)
        payload = {"path": result.path, "findings": [f.to_json() for f in result.findings]}
        try:
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            self._write_marker()
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(entry), suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(payload, handle)
                os.replace(temporary, entry)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only or full disk only costs speed

    def _write_marker(self) -> None:
        marker = os.path.join(self.folder, ".gitignore")
        if not os.path.exists(marker):
            with open(marker, "w", encoding="utf-8") as handle:
                handle.write("# created by leaklint\n*\n")
