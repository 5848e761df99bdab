"""Per-file result cache: keyed by content hash, leaklint version and effective settings.

Entries are written to a temporary file and renamed into place, so concurrent runs (pre-commit
starts several) never see half an entry; an entry that cannot be read, parsed or validated is
ignored and the file is checked again. A cache folder that cannot be created or written only
costs speed. The key also covers the size and modification time of leaklint's own modules, so
an editable install that changes a rule never serves results of the old code.

Each combination of version, code and settings writes to its own subfolder (a namespace);
only the most recently used few are kept, so upgrades and edits do not grow the cache forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from typing import Any, Optional

from leaklint import __version__
from leaklint.atomic import write_atomically
from leaklint.model import FileResult, Finding

CACHE_FOLDER = ".leaklint_cache"
_FORMAT = 4
# Namespaces kept: enough for a few selections used side by side (pre-commit hooks, CI, editor).
KEEP_NAMESPACES = 8
_NAMESPACE = re.compile(r"^[0-9a-f]{16}$")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_FINDING_FIELDS = {
    "path": str,
    "line": int,
    "column": int,
    "end_line": int,
    "end_column": int,
    "code": str,
    "name": str,
    "message": str,
}


def code_fingerprint(package: str = _PACKAGE) -> str:
    """Size and modification time of every module of the package: cheap (a stat per file)
    and changes whenever the code that computes results does."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                try:
                    status = os.stat(path)
                except OSError:
                    continue
                relative = os.path.relpath(path, package)
                digest.update(f"{relative}\0{status.st_size}\0{status.st_mtime_ns}\0".encode())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, folder: str, settings_fingerprint: str, code: Optional[str] = None) -> None:
        self.root = folder
        code = code_fingerprint() if code is None else code
        self.salt = f"{_FORMAT}\0{__version__}\0{code}\0{settings_fingerprint}\0".encode()
        self.folder = os.path.join(folder, hashlib.sha256(self.salt).hexdigest()[:16])

    def key(self, path: str, data: bytes) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(path.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _entry(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key[2:] + ".json")

    def get(self, key: str, path: Optional[str] = None) -> Optional[FileResult]:
        """The cached result, or None when there is none or it cannot be trusted."""
        try:
            with open(self._entry(key), encoding="utf-8") as handle:
                data = json.load(handle)
            return _result_from_json(data, path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, result: FileResult) -> None:
        if result.errors:
            return  # an internal error is not a result worth keeping
        entry = self._entry(key)
        payload = {
            "path": result.path,
            "findings": [f.to_json() for f in result.findings],
            "digest": result.digest,
        }
        try:
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            self._write_marker()
            write_atomically(entry, json.dumps(payload).encode("utf-8"))
        except (OSError, ValueError):
            pass  # a read-only or full disk only costs speed

    def _write_marker(self) -> None:
        marker = os.path.join(self.root, ".gitignore")
        if not os.path.exists(marker):
            with open(marker, "w", encoding="utf-8") as handle:
                handle.write("# created by leaklint\n*\n")

    def prune(self, keep: int = KEEP_NAMESPACES) -> None:
        """Mark this namespace as used now and remove all but the ``keep`` most recently used.
        A run still writing into a removed namespace only loses those entries."""
        try:
            if os.path.isdir(self.folder):
                os.utime(self.folder)
            namespaces = []
            for entry in os.scandir(self.root):
                if _NAMESPACE.match(entry.name) and entry.is_dir(follow_symlinks=False):
                    namespaces.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        except OSError:
            return
        namespaces.sort(reverse=True)
        for _, path in namespaces[keep:]:
            if os.path.abspath(path) != os.path.abspath(self.folder):
                shutil.rmtree(path, ignore_errors=True)


def _result_from_json(data: Any, path: Optional[str]) -> Optional[FileResult]:
    """A FileResult if ``data`` has exactly the shape ``put`` writes, else None."""
    if not isinstance(data, dict) or not isinstance(data.get("path"), str):
        return None
    if path is not None and data["path"] != path:
        return None
    findings = data.get("findings")
    if not isinstance(findings, list):
        return None
    for item in findings:
        if not isinstance(item, dict):
            return None
        for name, kind in _FINDING_FIELDS.items():
            value = item.get(name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return None
    digest = data.get("digest", "")
    if not isinstance(digest, str):
        return None
    return FileResult(
        data["path"], tuple(Finding.from_json(item) for item in findings), digest=digest
    )
