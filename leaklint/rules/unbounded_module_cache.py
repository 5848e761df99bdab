from __future__ import annotations

import libcst as cst

from leaklint.analysis.container_screen import may_grow_container
from leaklint.analysis.containers import ContainerDefinitions, Containers
from leaklint.rule import Rule
from leaklint.screen import SourceFacts


class UnboundedModuleCache(Rule):
    """
    ## What it does
    Flags a module-level or class-level `dict`, `list`, `set`, `defaultdict`, `OrderedDict`,
    `Counter` or `deque()` without `maxlen` that functions grow at run time (`x[k] = v`,
    `append`, `add`, `setdefault`, `update`, `extend`, `insert`, `+=`, also through an alias,
    a helper of the same module, `ClassName.x` or `self.__class__.x`) while nothing in the
    module ever evicts from it (`del x[k]`, `pop`, `popitem`, `clear`, `remove`, `discard`,
    rebinding) or bounds its size (`len(x)` checks). Containers filled only at import time
    (registries filled by the module body, by decorators or by `__init_subclass__`) are not
    flagged, nor are weak containers and `deque(maxlen=...)`.

    ## Why is this bad?
    A module global lives as long as the process. A cache keyed by request data, a list of
    every connection ever seen, or a set of processed ids grows with every call and is never
    freed: the process's memory climbs until it is restarted or killed.

    ## Example
    ```python
    _sessions = {}

    def session_for(user_id):
        if user_id not in _sessions:
            _sessions[user_id] = load_session(user_id)
        return _sessions[user_id]
    ```

    ## Use instead
    ```python
    @functools.lru_cache(maxsize=1024)
    def session_for(user_id):
        return load_session(user_id)
    ```
    or evict entries when they are done (`_sessions.pop(user_id, None)`), or keep them in a
    `weakref.WeakValueDictionary`.
    """

    CODE = "LK201"
    NAME = "unbounded-module-cache"
    MESSAGE = (
        "{where} {kind} `{name}` grows in `{function}()` ({reason}) and nothing ever evicts from it"
    )
    TRIGGERS = (
        "append(",
        "add(",
        "setdefault(",
        "update(",
        "extend(",
        "insert(",
        "left(",
        "] =",
        "]=",
        "+=",
        "|=",
        "__setitem__",
        "defaultdict",
        "Counter",
    )

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_grow_container(facts, text)

    def visit_Module(self, node: cst.Module) -> None:
        if not self.analysis(ContainerDefinitions).any_used_again():
            return
        analysis = self.analysis(Containers)
        containers = [*analysis.module_containers.values(), *analysis.class_containers.values()]
        for container in containers:
            if container in analysis.evicted:
                continue
            growths = analysis.runtime_growths(container)
            if growths:
                growth, reason = growths[0]
                self.report(
                    container.assignment,
                    where=container.where,
                    kind=container.type.label,
                    name=container.name,
                    function=growth.function.name,
                    reason=reason,
                )
