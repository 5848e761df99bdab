"""Code that cannot run is not reported: constant flags, TYPE_CHECKING, old-version checks."""

from __future__ import annotations

import textwrap

import pytest

from leaklint import registry
from leaklint.engine import check_bytes

RULES = registry.rule_set(["LK301"])


def lines_found(source: str) -> list[int]:
    result = check_bytes(textwrap.dedent(source).encode(), "m.py", RULES)
    assert not result.errors
    return [f.line for f in result.findings]


@pytest.mark.parametrize(
    "test",
    [
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
        "sys.version_info < (3, 9)",
        "sys.version_info <= (3, 8, 10)",
        "sys.version_info[0] == 2",
        "sys.version_info[0] < 3",
        "sys.version_info[:2] < (3, 0)",
        "_FLAG",
        "_PY2",
        "not _PY3",
        "False",
        "0",
        "_FLAG and whatever()",
        "TYPE_CHECKING or _FLAG",
    ],
)
def test_a_decided_false_test_hides_its_body(test: str) -> None:
    source = f"""\
        import sys, typing
        from typing import TYPE_CHECKING
        _FLAG = False
        _PY2 = sys.version_info[0] == 2
        _PY3 = not _PY2
        def f(p):
            if {test}:
                return open(p).read()
            return open(p).read()
    """
    assert lines_found(source) == [9]


@pytest.mark.parametrize(
    "test",
    [
        "sys.version_info >= (3, 12)",  # true on some supported Pythons only
        "sys.version_info[1] > 10",
        "FLAG",  # public: users can set it
        "_REBOUND",  # bound twice
        "_GLOBAL",  # rebound through `global`
        "_FLAG or whatever()",
        "_COUNT",  # not a bool
    ],
)
def test_an_undecided_test_keeps_its_body(test: str) -> None:
    source = f"""\
        import sys
        FLAG = False
        _FLAG = False
        _REBOUND = False
        _REBOUND = True
        _GLOBAL = False
        _COUNT = 0
        def enable():
            global _GLOBAL
            _GLOBAL = True
        def f(p):
            if {test}:
                return open(p).read()
    """
    assert lines_found(source) == [13]


def test_a_decided_true_test_hides_the_else_branch_only() -> None:
    source = """\
        import sys
        _SYNC = True
        def f(p):
            if sys.version_info >= (3, 0):
                pass
            else:
                return open(p).read()
            if not _SYNC:
                return open(p).read()
            elif p:
                return open(p).read()
            return None
    """
    assert lines_found(source) == [11]


def test_a_module_that_replaces_itself_hides_functions_nobody_names() -> None:
    source = """\
        import sys
        def orphan(p):
            return open(p).read()
        def used(p):
            return open(p).read()
        class _Module:
            read = staticmethod(used)
        sys.modules[__name__] = _Module()
    """
    assert lines_found(source) == [5]


def test_a_module_importing_what_no_supported_python_has_cannot_run() -> None:
    source = """\
        import sys
        import stackless
        def read(p):
            return open(p).read()
    """
    assert lines_found(source) == []
    assert lines_found(source.replace("import stackless", "import json")) == [4]
    guarded = source.replace(
        "import stackless",
        "try:\n            import stackless\n        except ImportError:\n            pass",
    )
    assert lines_found(guarded) == [7]
