"""When a finding is doubtful: shapes that leak in some code and are noise in most.

Each predicate here names one such shape; rules ask :func:`resource_confidence` (or the
predicates directly) and report the doubtful shapes at ``medium``, which the default selection
does not show.
"""

from __future__ import annotations

import os
import re

import libcst as cst

from leaklint.analysis.ownership_model import Fate, Resource
from leaklint.analysis.specs import Kind
from leaklint.file_context import Analysis, FileContext
from leaklint.model import Confidence

# How pytest and unittest discover tests: test_*.py / *_test.py / conftest.py files, and what
# lives in folders named test or tests (their helpers and fixtures are test-support code).
_TEST_FOLDERS = frozenset({"test", "tests", "testing"})
# Functions that start a program: they run once per process, which ends right after them.
_ENTRY_NAMES = frozenset({"main", "_main"})


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


class EntryPoints(Analysis):
    """The functions of a file that run once per process: ``main()`` and what the module's
    ``if __name__ == "__main__":`` block calls."""

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.names: set[str] = set(_ENTRY_NAMES)
        for statement in context.module.body:
            if isinstance(statement, cst.If) and _is_main_guard(statement.test):
                self.names.update(_called_names(statement.body))

    def runs_once(self, scope: cst.CSTNode) -> bool:
        return isinstance(scope, cst.FunctionDef) and scope.name.value in self.names


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = (test.left, test.comparisons[0].comparator)
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides) and any(
        isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__" for s in sides
    )


def _called_names(block: cst.BaseSuite) -> set[str]:
    found: set[str] = set()
    stack: list[cst.CSTNode] = [block]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            found.add(node.func.value)
        stack.extend(node.children)
    return found


def leaks_only_when_raising(resource: Resource) -> bool:
    """Released on the normal path, leaked only if a call before the release raises."""
    return resource.fate is Fate.RELEASED_ON_NORMAL_PATH_ONLY


def resource_confidence(resource: Resource, context: FileContext) -> Confidence:
    """``medium`` for a leak only on an exception path inside test code (it matters only when
    a test is already failing) and for what a program's entry point holds (it runs once, and
    the process that ends after it releases everything); ``high`` otherwise."""
    if leaks_only_when_raising(resource) and is_test_path(context.path):
        return Confidence.MEDIUM
    if context.analysis(EntryPoints).runs_once(resource.scope):
        return Confidence.MEDIUM
    return Confidence.HIGH


def launched_detached(call: cst.Call) -> bool:
    """``Popen(cmd, start_new_session=True)``, ``preexec_fn=os.setsid``: a process started in a
    session of its own, to run in the background on purpose (a browser, a daemon)."""
    for arg in call.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "start_new_session":
            return not (isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None"))
        if keyword == "preexec_fn" and isinstance(arg.value, cst.Attribute):
            return arg.value.attr.value in ("setsid", "setpgrp")
    return False


def runs_own_housekeeping(call: cst.Call) -> bool:
    """``Thread(target=self._watch).start()``: a thread that runs one of its owner's own
    methods and is handed no data of its own (no ``args``/``kwargs``) does the object's
    housekeeping, usually one at a time by design (an off-UI-thread call, a restart
    watcher); the thread per job that piles up is given the job (``args=(request,)``)."""
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    target = keywords.get("target")
    if target is None or "args" in keywords or "kwargs" in keywords:
        return False
    positional = [arg for arg in call.args if arg.keyword is None]
    return (
        not positional
        and isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "self"
    )


def concurrency_confidence(resource: Resource, context: FileContext) -> Confidence:
    """Threads, timers, processes and executors left behind by test code live as long as the
    test run, whatever the path: ``medium`` there (``pytest --leaklint`` is the tool that
    checks what a test leaves behind); so is a process launched detached on purpose, and one
    started only on Windows, where an unwaited child leaves no zombie, and an object whose own
    finalizer releases it (a multiprocessing manager) lost only on an exception path; otherwise as
    :func:`resource_confidence`."""
    if is_test_path(context.path) or launched_detached(resource.call):
        return Confidence.MEDIUM
    if resource.spec.kind is Kind.PROCESS and resource.windows_only:
        return Confidence.MEDIUM  # an unwaited child is a zombie on POSIX, not on Windows
    if resource.spec.kind is Kind.THREAD and runs_own_housekeeping(resource.call):
        return Confidence.MEDIUM
    if resource.spec.finalized_when_collected and leaks_only_when_raising(resource):
        return Confidence.MEDIUM  # its finalizer releases it once the exception unwinds
    return resource_confidence(resource, context)


# "this module is pretty much obsolete", "This module is deprecated": its maintainers have
# said they will not change it any more.
_OBSOLETE = re.compile(
    r"\bthis (?:module|file|package)\b[^.]{0,40}?\b(?:is|has been)\b[^.]{0,30}?"
    r"\b(?:obsolete|deprecated|unmaintained|no longer (?:maintained|used|supported))\b",
    re.IGNORECASE,
)
_DEPRECATION_CALLS = frozenset({"warnings._deprecated"})
_DEPRECATION_WARNINGS = frozenset({"DeprecationWarning", "PendingDeprecationWarning"})


def declared_obsolete(module: cst.Module) -> bool:
    """Whether the module says it is on its way out: a docstring that calls the module
    obsolete or deprecated, or a deprecation warning issued at import. Patches to such code
    are declined: what is found there is ``medium``."""
    docstring = module.get_docstring()
    if docstring and _OBSOLETE.search(docstring):
        return True
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and _warns_deprecation(small.value)
            ):
                return True
    return False


def _warns_deprecation(call: cst.Call) -> bool:
    """``warnings.warn("...", DeprecationWarning)``, ``warnings._deprecated(__name__, ...)``."""
    func = call.func
    name = ""
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        name = f"{func.value.value}.{func.attr.value}"
    if name in _DEPRECATION_CALLS:
        return True
    if name != "warnings.warn":
        return False
    return any(
        isinstance(arg.value, cst.Name) and arg.value.value in _DEPRECATION_WARNINGS
        for arg in call.args[1:]
    )
