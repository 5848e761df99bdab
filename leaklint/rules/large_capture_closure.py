from __future__ import annotations

import libcst as cst

from leaklint.analysis.closures import (
    Capture,
    Closures,
    LargeValue,
    Outliving,
    Route,
    allocates_large_beside_closure,
    may_be_large,
)
from leaklint.analysis.names import ImportNames
from leaklint.rule import Rule, RuleOption
from leaklint.runtime.evidence import Evidence, Growth, Span
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts

MIB = 1024 * 1024


class LargeCaptureClosure(Rule):
    """
    ## What it does
    Flags a nested function or lambda that escapes its frame (returned, stored on `self`, a
    module global or a parameter, passed to `Thread`, `Timer`, `call_later`,
    `add_done_callback` and other callback registries) and closes over a local bound to a
    large allocation (`bytearray(N)`, `bytes(N)`, `b"x" * N`, `[v] * N`, `list(range(N))` with
    N at least the threshold, `numpy.zeros/ones/empty/full`) or a loaded blob (`.read()`,
    `.readlines()`, `json.load(s)`, `pickle.load(s)`, `pandas.read_*`) of which it uses only a
    small part: an index, a slice, an attribute or `len()`.

    The threshold is set per project:
    ```toml
    [tool.leaklint.LK401]
    min-bytes = 1048576     # allocations of this many bytes or more are large
    min-elements = 100000   # lists and arrays of this many elements or more are large
    ```

    ## Why is this bad?
    A closure keeps every variable it uses alive, whole, for as long as the closure lives. A
    callback that needs the first byte of a 100 MB buffer holds all 100 MB until the callback
    is dropped, which for a registered handler or a returned function may be never.

    ## Example
    ```python
    def make_checker(path):
        data = open(path, "rb").read()
        return lambda: data[:4] == b"\\x89PNG"
    ```

    ## Use instead
    ```python
    def make_checker(path):
        with open(path, "rb") as f:
            magic = f.read(4)          # keep only what the closure needs
        return lambda: magic == b"\\x89PNG"
    ```

    ## Not flagged
    Closures that do not escape their frame; closures that use the whole captured object;
    allocations below the `min-bytes`/`min-elements` thresholds.

    ## Confidence
    Always high.
    """

    CODE = "LK401"
    NAME = "large-capture-closure"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.CLOSURE,), Span.FUNCTION, growth=Growth.CLOSURE_CELLS)
    MESSAGE = (
        "{label} is {escape} and keeps all of `{name}` ({source}{size}) alive to use only "
        "`{use}`; copy that part out before making the closure"
    )
    TRIGGERS = ("lambda", "def ")
    # Set on the instance once the file binds something shaped like a large allocation.
    _allocates = False
    OPTIONS = (
        RuleOption("min-bytes", MIB, "allocations of at least this many bytes are large"),
        RuleOption("min-elements", 100_000, "lists/arrays of at least this many items are large"),
    )

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return allocates_large_beside_closure(facts)

    def visit_Assign(self, node: cst.Assign) -> None:
        # The closure analysis needs every function's scope; only a file that binds something
        # shaped like a large allocation or a load can have a finding, so only it pays.
        if not self._allocates and len(node.targets) == 1:
            self._allocates = may_be_large(node.value, self.analysis(ImportNames))

    def leave_Module(self, node: cst.Module) -> None:
        if not self._allocates:
            return
        reported: set[int] = set()
        for capture in self.analysis(Closures).captures:
            # One finding per closure: the first large capture names the problem.
            if self._large(capture) and id(capture.closure) not in reported:
                reported.add(id(capture.closure))
                value = capture.value
                label = "lambda" if capture.label == "lambda" else f"closure `{capture.label}`"
                self.report(
                    capture.closure,
                    label=label,
                    escape=outliving_words(capture.escape),
                    name=value.name,
                    source=value.source,
                    size=size_words(value),
                    use=capture.use,
                )

    def _large(self, capture: Capture) -> bool:
        return capture.value.is_large(self.options["min-bytes"], self.options["min-elements"])


# How a value outlives its frame, in the words of LK401 and LK402 (`{holder}`: what keeps it).
OUTLIVING_WORDS = {
    Route.RETURNED: "returned",
    Route.YIELDED: "yielded",
    Route.STORED: "stored in `{holder}`",
    Route.PASSED: "passed to `{holder}`",
    Route.REGISTERED: "registered by `@{holder}`",
    Route.ADDED: "added to `{holder}`",
}


def outliving_words(escape: Outliving) -> str:
    return OUTLIVING_WORDS[escape.route].format(holder=escape.holder)


def size_words(value: LargeValue) -> str:
    """``, 1,048,576 bytes`` after what made the value, when its size is a constant."""
    return f", {value.size:,} {value.unit.value}" if value.size is not None else ""
