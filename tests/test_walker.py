"""The read-only walker: order, ancestors, and the statement-level walk."""

from __future__ import annotations

import libcst as cst

from leaklint.walker import children, iter_nodes, iter_statements, walk

SOURCE = '''
import os
if os.name:
    import sys as system
else:
    from json import loads
try:
    from a import b
except* ImportError:
    import c
finally:
    global g
with open(os.devnull) as handle:
    for item in []:
        while item:
            import d
class K:
    import e
    def method(self):
        import f
        return lambda: [x for x in ()]
match os.name:
    case "posix":
        import h
async def run():
    async with x:
        import i
x = 1; import j
'''
STATEMENTS = (cst.Import, cst.ImportFrom, cst.Global, cst.FunctionDef, cst.ClassDef)


def test_statement_walk_finds_every_statement_without_entering_expressions() -> None:
    module = cst.parse_module(SOURCE)
    expected = [n for n in iter_nodes(module) if isinstance(n, STATEMENTS)]
    found = [n for n in iter_statements(module) if isinstance(n, STATEMENTS)]
    assert found == expected
    assert len([n for n in found if isinstance(n, (cst.Import, cst.ImportFrom))]) == 11
    assert not any(isinstance(n, (cst.Call, cst.Lambda, cst.Name)) for n in iter_statements(module))


def test_walk_visits_and_leaves_in_order() -> None:
    module = cst.parse_module("def f(a):\n    return g(a)\n")
    seen: list[tuple[str, str]] = []

    def note(event: str):  # type: ignore[no-untyped-def]
        return lambda node: seen.append((event, type(node).__name__))

    types = (cst.FunctionDef, cst.Call, cst.Name)
    walk(module, {t: [note("visit")] for t in types}, {t: [note("leave")] for t in types})
    assert seen == [
        ("visit", "FunctionDef"),
        ("visit", "Name"), ("leave", "Name"),  # f
        ("visit", "Name"), ("leave", "Name"),  # the parameter a
        ("visit", "Call"),
        ("visit", "Name"), ("leave", "Name"),  # g
        ("visit", "Name"), ("leave", "Name"),  # the argument a
        ("leave", "Call"),
        ("leave", "FunctionDef"),
    ]
    assert [type(n).__name__ for n in iter_nodes(module)][:3] == ["Module", "FunctionDef", "Name"]
    assert list(children(module)) == list(module.body)
