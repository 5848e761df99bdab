from __future__ import annotations

import libcst as cst

from leaklint.analysis.decorators import CacheDecorators, may_hold_cache_decorators
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
        cached = self.analysis(CacheDecorators).cached_function(node)
        if cached is None or not cached.spec.unbounded:
            return
        scope = cached.scope
        if scope.owner is None and scope.parent is None and scope.params:
            self.report(cached.decorator, api=cached.api_name, name=node.name.value)
