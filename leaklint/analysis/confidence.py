"""When a finding is doubtful: shapes that leak in some code and are noise in most.

Each predicate here names one such shape; rules ask :func:`resource_confidence` (or the
predicates directly) and report the doubtful shapes at ``medium``, which the default selection
does not show.
"""

from __future__ import annotations

import os

from leaklint.analysis.ownership_model import Fate, Resource
from leaklint.model import Confidence

# How pytest and unittest discover tests: test_*.py / *_test.py / conftest.py files, and what
# lives in folders named test or tests (their helpers and fixtures are test-support code).
_TEST_FOLDERS = frozenset({"test", "tests", "testing"})


def is_test_path(path: str) -> bool:
    """Whether ``path`` is test or test-support code, by the names test runners discover.

    ``tests/test_io.py``, ``pkg/io_test.py``, ``conftest.py`` and ``tests/helpers.py`` are;
    ``pkg/testing_utils.py`` outside such a folder is not.
    """
    # Judge the path below the current folder when it is there, so that a project that
    # happens to live in a folder named "test" is not all test code.
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute) if absolute.startswith(os.getcwd() + os.sep) else path
    parts = os.path.normpath(relative).replace(os.sep, "/").split("/")
    name = parts[-1]
    if name == "conftest.py" or name.startswith("test") or name.endswith("_test.py"):
        return True
    return any(part in _TEST_FOLDERS for part in parts[:-1])


def leaks_only_when_raising(resource: Resource) -> bool:
    """Released on the normal path, leaked only if a call before the release raises."""
    return resource.fate is Fate.RELEASED_ON_NORMAL_PATH_ONLY


def resource_confidence(resource: Resource, path: str) -> Confidence:
    """A leak only on an exception path inside test code matters only when a test is already
    failing: ``medium``. Everything else the ownership analysis finds is ``high``."""
    if leaks_only_when_raising(resource) and is_test_path(path):
        return Confidence.MEDIUM
    return Confidence.HIGH
