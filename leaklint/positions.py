"""Source positions of nodes, computed only as far into the file as needed.

libcst knows positions only by generating the code again (``PositionProvider``), which costs
about as much as the parse. Positions are needed only for files with findings, and usually
for one or two nodes, so the pass stops right after the node asked for; a later request for a
node further on runs one complete pass. Tokens without a line break (nearly all of them) skip
libcst's regular expression split.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Optional, cast

import libcst as cst

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

Positions = dict["cst.CSTNode", "CodeRange"]


class _Found(Exception):
    """Raised out of the code generation once the wanted node is done."""


@functools.cache
def _positions_until() -> Any:
    """The class of the code generation state that stops after a given node: built on first
    use, as libcst is imported only when a check needs it (see ``leaklint.deferred_import``)."""
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    class PositionsUntil(PositionProvidingCodegenState):
        stop_at: Optional[cst.CSTNode] = None
        done: Optional[Positions] = None

        def _update_position(self, value: str) -> None:
            if "\n" in value or "\r" in value:
                super()._update_position(value)
            else:
                self.column += len(value)

        def after_codegen(self, node: cst.CSTNode) -> None:
            super().after_codegen(node)
            if node is self.stop_at:
                # Copy now: while _Found unwinds, libcst's `finally` blocks record the
                # enclosing nodes with the position reached so far, which is not where they
                # end.
                self.done = dict(_computed(self.provider))
                raise _Found

    return PositionsUntil


def resolve_positions(module: cst.Module, stop_at: Optional[cst.CSTNode] = None) -> Positions:
    """Positions of every node up to ``stop_at`` (of every node when it is None or is not in
    the module)."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        provider = PositionProvider()
        state = _positions_until()(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=provider,
        )
    except (ImportError, TypeError, AttributeError):  # libcst's internals changed: the public road
        return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    state.stop_at = stop_at
    try:
        module._codegen(state)
    except Exception:
        # _Found itself, or the KeyError a libcst `finally` block raises while it unwinds.
        done: Optional[Positions] = state.done
        if done is None:
            raise
        return done
    return _computed(provider)


def _computed(provider: object) -> Positions:
    return cast("Positions", provider._computed)  # type: ignore[attr-defined]
