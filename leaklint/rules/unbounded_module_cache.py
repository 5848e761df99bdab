from __future__ import annotations

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.container_screen import may_grow_container
from leaklint.analysis.containers import (
    Container,
    ContainerDefinitions,
    Containers,
    Shape,
    Unbounded,
)
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Growth
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts


class UnboundedModuleCache(Rule):
    """
    ## What it does
    Flags a module-level or class-level `dict`, `list`, `set`, `defaultdict`, `OrderedDict`,
    `Counter` or `deque()` without `maxlen` that functions grow at run time (`x[k] = v`,
    `append`, `add`, `setdefault`, `update`, `extend`, `insert`, `+=`, also through an alias,
    a helper of the same module, `ClassName.x` or `self.__class__.x`) with what is new on every
    call - one element per call, keys that are per-request data (`session_id`, `connection`,
    `request.id`), fresh values (`uuid4()`, `time.time()`) or instances - while nothing in the
    module ever evicts from it.

    It is `medium` when the code does not show that the keys keep coming: a memo keyed by an
    argument (`if text not in _memo: _memo[text] = ...`), keys that are thread identities
    (recycled), `id(obj)` of objects that are not per-request (a handle table), and anything
    in test code.

    ## Not flagged
    - eviction or a size bound anywhere in the module (`del x[k]`, `pop`, `popitem`, `clear`,
      `remove`, `discard`, rebinding, a `len(x)` check), or the container handed to another
      object that may evict;
    - containers filled only at import time: by the module body, decorators, class-creation
      hooks, entry points (`prepare`, `bootstrap`) and registration APIs (`register*`,
      `add_*`, `install*`, `setup*`) meant to be called while the program starts;
    - a registry keyed by an argument that is only added to (its callers decide its range);
    - lists of modules (`sys.modules[...]`): each module exists once per process;
    - weak containers (`WeakValueDictionary`, `WeakKeyDictionary`, `WeakSet`) and
      `deque(maxlen=...)`.

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
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.MEMORY,), growth=Growth.CONTAINER)
    MESSAGE = (
        "{where} {kind} `{name}` grows in `{function}()` ({reason}) and nothing ever evicts "
        "from it; {fix}"
    )
    # The words of each reason nothing bounds the container (``{subject}``: what it names).
    REASONS = {
        Unbounded.ONE_PER_CALL: "one element per call",
        Unbounded.FRESH_VALUE: "keyed by a fresh value from `{subject}()`",
        Unbounded.INSTANCE: "keyed by instance, pinning every one",
        Unbounded.REQUEST_DATA: "keyed by per-request data `{subject}`",
        Unbounded.REQUEST_IDENTITY: "keyed by the identity of per-request objects `{subject}`",
        Unbounded.REORDERED_NEVER_TRIMMED: (
            "kept in least-recently-used order (`move_to_end`) but never trimmed "
            "(`popitem(last=False)`)"
        ),
        Unbounded.THREAD_IDENTITY: "keyed by thread identity, which threads recycle",
        Unbounded.OBJECT_IDENTITY: "keyed by object identity",
        Unbounded.ARGUMENT: (
            "one entry per distinct argument `{subject}`, whose range the code does not show"
        ),
    }
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
        in_tests = is_test_path(self.context.path)
        for container in containers:
            if container in analysis.evicted:
                continue
            growths = analysis.runtime_growths(container)
            if not growths:
                continue
            first = growths[0]
            doubtful = first.reason.doubtful or in_tests
            self.report(
                container.assignment,
                where=container.where,
                kind=container.type.label,
                name=container.name,
                function=first.growth.function.name,
                reason=self.REASONS[first.reason.why].format(subject=first.reason.subject),
                fix=_fix(container),
                confidence=Confidence.MEDIUM if doubtful else Confidence.HIGH,
            )


def _fix(container: Container) -> str:
    if container.type.shape is Shape.SEQUENCE:
        return "bound it (`collections.deque(maxlen=N)`) or remove what is done with"
    return (
        "pop entries when they are done with, hold them weakly (`weakref.WeakKeyDictionary`), "
        "or bound it (`functools.lru_cache(maxsize=N)`)"
    )
