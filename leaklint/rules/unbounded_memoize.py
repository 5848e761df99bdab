from __future__ import annotations

import libcst as cst

from leaklint.analysis.decorators import CacheDecorators, may_hold_cache_decorators
from leaklint.analysis.scopes import Scopes
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Growth, Span
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts


class UnboundedMemoize(Rule):
    """
    ## What it does
    Flags `functools.cache` and `functools.lru_cache(maxsize=None)` (also through an alias) on a
    module-level function that takes arguments. Off by default: select it with `LK203`.

    ## Why is this bad?
    An unbounded cache keeps one entry per distinct argument tuple for the life of the process.
    Over a small, fixed domain that is the point; over request data (ids, paths, user input) it
    is a slow memory leak that no one evicts.

    ## Example
    ```python
    @functools.cache
    def render(template_name, user_id):
        ...
    ```

    ## Use instead
    ```python
    @functools.lru_cache(maxsize=1024)
    def render(template_name, user_id):
        ...
    ```
    """

    CODE = "LK203"
    NAME = "unbounded-memoize"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.CACHE,), Span.STATEMENT_AND_LINE, growth=Growth.CACHE)
    MESSAGE = (
        "`@{api}` on `{name}()` keeps one entry per distinct argument forever; give it a maxsize"
    )
    DEFAULT_ENABLED = False
    TRIGGERS = ("cache",)

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_hold_cache_decorators(facts)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        found = self.analysis(CacheDecorators).cache_decorator(node)
        if found is None or not found[1].unbounded:
            return
        scope = self.analysis(Scopes).by_node.get(node)
        if scope is None or scope.owner is not None or scope.parent is not None:
            return
        if scope.params:
            self.report(found[0], api=found[1].api.rsplit(".", 1)[-1], name=node.name.value)
