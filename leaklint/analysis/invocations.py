"""How often the code of a module runs: who calls each function, how, and which classes exist
once per process.

Shared by the reference rules, whose findings matter only when the code runs many times (a
handler added per call, a cache on an object made per request). Computed once per file, only
for files where such a rule found something to report:

* every reference to a function of the module, with the function it is made from (None: the
  module body) and how it is used: called, called inside a loop or comprehension, or passed on
  as a value (a callback: ``signal.signal(SIGHUP, handler)``, ``Thread(target=work)``);
* the module-level classes that are only ever instantiated by the module body (``gc =
  GarbageCollector()``): process-lifetime singletons, as far as this module shows.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from leaklint.analysis.names import ImportNames
from leaklint.analysis.scopes import FunctionScope, Scopes
from leaklint.file_context import Analysis, FileContext
from leaklint.walker import children

# Registering a function to run at exit runs it once; it is not a repeated callback.
_RUN_ONCE_REGISTRARS = frozenset({"atexit.register"})


# Nodes whose ``name`` binds rather than uses a name.
@functools.cache
def _binders() -> frozenset[type]:
    return frozenset({cst.ClassDef, cst.Param})


class Use(enum.Enum):
    CALLED = "called"
    CALLED_IN_LOOP = "called in a loop"
    PASSED = "passed on as a callback"
    # Any other use by value: stored (``handlers[sig] = f``), chosen (``f = a if x else b``).
    REFERENCED = "referenced"


@dataclass(frozen=True)
class Reference:
    """``user`` refers to a function: None when the module body (or a class body) does."""

    user: Optional[FunctionScope]
    use: Use


@dataclass(frozen=True)
class _Frame:
    scope: Optional[FunctionScope]
    in_loop: bool
    called: bool  # the node is the ``func`` of a call
    registrar: Optional[str]  # the qualified call this node is an argument of
    argument: bool = False  # inside an argument of a call
    base: bool = False  # the object of an attribute (``f`` in ``f.cache_clear``): not a use


class Invocations(Analysis):
    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.scopes = context.analysis(Scopes)
        self.names = context.analysis(ImportNames)
        self.classes_by_name = {
            statement.name.value: statement
            for statement in context.module.body
            if isinstance(statement, cst.ClassDef)
        }
        self.references: dict[FunctionScope, list[Reference]] = {}
        # Class name -> the scopes instantiating it (None: the module body).
        self._instantiations: dict[str, list[Optional[FunctionScope]]] = {}
        self._walk(context.module)
        self.singletons = frozenset(
            self.classes_by_name[name]
            for name, users in self._instantiations.items()
            if users and all(user is None for user in users)
        )

    def references_to(self, scope: FunctionScope) -> list[Reference]:
        return self.references.get(scope, [])

    def is_singleton(self, owner: Optional[cst.ClassDef]) -> bool:
        """``gc = GarbageCollector()`` in the module body and nowhere else in the module."""
        return owner is not None and owner in self.singletons

    # --- the walk --------------------------------------------------------------------------
    def _walk(self, module: cst.Module) -> None:
        stack: list[tuple[cst.CSTNode, _Frame]] = [(module, _Frame(None, False, False, None))]
        while stack:
            node, frame = stack.pop()
            kind = type(node)
            if (kind is cst.Name or kind is cst.Attribute) and not frame.base:
                self._reference(node, frame)
            if kind is cst.FunctionDef or kind is cst.Lambda:
                inner = self.scopes.by_node.get(node)
                for child in children(node):
                    if child is getattr(node, "name", None):
                        continue  # the name a def binds is no use of it
                    body = child is node.body  # type: ignore[attr-defined]
                    scope = inner if body else frame.scope
                    stack.append((child, _Frame(scope, False if body else frame.in_loop,
                                                False, None)))
                continue
            if kind is cst.Call:
                assert isinstance(node, cst.Call)
                self._instantiation(node, frame.scope)
                registrar = self.names.call_name(node)
                stack.append((node.func, _Frame(frame.scope, frame.in_loop, True, None)))
                for arg in node.args:
                    stack.append(
                        (arg, _Frame(frame.scope, frame.in_loop, False, registrar, argument=True))
                    )
                continue
            for child in children(node):
                if kind in _binders() and child is getattr(node, "name", None):
                    continue
                stack.append((child, self._child_frame(node, child, frame)))

    @staticmethod
    def _child_frame(node: cst.CSTNode, child: cst.CSTNode, frame: _Frame) -> _Frame:
        in_loop = frame.in_loop
        loop_body = isinstance(node, (cst.For, cst.While)) and child is node.body
        repeated_part = isinstance(
            node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
        ) and child is not node.for_in
        if loop_body or repeated_part:
            in_loop = True
        # Only the argument itself is handed over: `f(g)` passes g, `f(g())` passes g's result.
        handed = isinstance(node, cst.Arg)
        registrar = frame.registrar if handed else None
        base = isinstance(node, cst.Attribute) and child is node.value
        return _Frame(frame.scope, in_loop, False, registrar, handed, base)

    def _reference(self, node: cst.CSTNode, frame: _Frame) -> None:
        if frame.called:
            use = Use.CALLED_IN_LOOP if frame.in_loop else Use.CALLED
        elif frame.registrar in _RUN_ONCE_REGISTRARS:
            use = Use.CALLED
        elif frame.argument:
            use = Use.PASSED
        else:
            use = Use.REFERENCED
        for callee in self.scopes.referenced_functions(node, frame.scope):
            if callee is not frame.scope:
                self.references.setdefault(callee, []).append(Reference(frame.scope, use))

    def _instantiation(self, call: cst.Call, scope: Optional[FunctionScope]) -> None:
        func = call.func
        if not isinstance(func, cst.Name) or func.value not in self.classes_by_name:
            return
        if scope is not None and scope.enclosing_binder(func.value) is not None:
            return
        self._instantiations.setdefault(func.value, []).append(scope)
