"""Import a module only when one of its attributes is first read.

libcst takes about a quarter of a second to import, and a check needs it only for the files
some rule's screen keeps (``leaklint.screen``): ``leaklint check`` on files no rule can report
on, a pre-commit run on a few clean files, should not pay for it. So until then
``sys.modules["libcst"]`` holds a stand-in: ``import libcst as cst`` binds it, and the first
read of an attribute (``cst.Name``) imports libcst and copies its namespace into the stand-in,
after which reads are as fast as on the module itself. No module of leaklint reads libcst's
attributes while it is being imported: the tables of node classes are built on first call.

``importlib.util.LazyLoader`` is not enough: the ``import`` statement itself reads the
module's ``__spec__``, which makes a lazily loaded module load at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _StandIn(types.ModuleType):
    """Holds a module's place in ``sys.modules`` until one of its attributes is read."""

    def __getattr__(self, attribute: str) -> Any:
        # Called only for an attribute not yet copied in: the first read of any.
        return getattr(self.load(), attribute)

    def load(self) -> types.ModuleType:
        """Import the module (once) and copy its namespace in."""
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return module


def defer(name: str) -> None:
    """Make ``import name`` cheap until the module is used; nothing changes if it is imported
    already or cannot be found (the import will then say so itself)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _StandIn(name)
    stand_in.__spec__ = spec  # read by the `import` statement; must not load the module
    sys.modules[name] = stand_in


def load(name: str) -> None:
    """Import now a module :func:`defer` put off, if it still is."""
    stand_in = sys.modules.get(name)
    if isinstance(stand_in, _StandIn):
        stand_in.load()
