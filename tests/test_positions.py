"""leaklint.positions agrees with libcst's PositionProvider, whole or stopped early."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.file_context import FileContext
from leaklint.positions import resolve_positions
from leaklint.walker import iter_nodes

SOURCES = {
    "plain": "import os\n\n\ndef f(a, *, b=1):\n    if a:\n        return os.path.join(a, b)\n",
    "crlf": "x = 1\r\ny = (\r\n    x + 1\r\n)\r\n",
    "cr": "x = 1\ry = [\r  1,\r]\r",
    "strings": 'text = (\n    "a\\n"\n    """b\nc"""\n    f"{x!r:>{w}}"\n)\n',
    "compound": "class A:\n    @d\n    def m(self):\n        try:\n            pass\n"
    "        finally:\n            del self\n\n\nfor i in range(3):\n    pass\nelse:\n    pass\n",
}
SAMPLE = Path(__file__).resolve().parent / "data" / "robustness_sample"


def _reference(module: cst.Module) -> dict[cst.CSTNode, object]:
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


def _modules() -> list[tuple[str, cst.Module]]:
    found = [(name, cst.parse_module(text)) for name, text in SOURCES.items()]
    for path in sorted(SAMPLE.glob("*.py")):
        try:
            found.append((path.name, cst.parse_module(path.read_bytes())))
        except Exception:
            continue  # the deliberately broken ones
    return found


@pytest.mark.parametrize(("name", "module"), _modules(), ids=lambda value: str(value)[:40])
def test_positions_match_libcst(name: str, module: cst.Module) -> None:
    reference = _reference(module)
    assert resolve_positions(module) == reference
    nodes = list(iter_nodes(module))
    for node in nodes[:: max(1, len(nodes) // 15)] + nodes[-1:]:
        partial = resolve_positions(module, node)
        assert partial[node] == reference[node]
        assert all(reference[key] == value for key, value in partial.items())


def test_context_answers_later_nodes_with_one_more_pass() -> None:
    module = cst.parse_module(SOURCES["compound"])
    reference = _reference(module)
    context = FileContext("x.py", SOURCES["compound"], module)
    nodes = list(iter_nodes(module))
    for node in (nodes[len(nodes) // 2], nodes[1], nodes[-1], nodes[3]):
        assert context.position(node) == reference[node]
    with pytest.raises(KeyError):
        context.position(cst.Name("elsewhere"))
