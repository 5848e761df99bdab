from __future__ import annotations

import libcst as cst

from leaklint.analysis.views import BufferViews, may_view_large_buffer
from leaklint.rule import Rule
from leaklint.rules.large_capture_closure import (
    LargeCaptureClosure,
    outliving_words,
    size_words,
)
from leaklint.runtime.evidence import Evidence, Growth
from leaklint.screen import SourceFacts


class ViewPinsBuffer(Rule):
    """
    ## What it does
    Flags a view of a part of a large buffer that leaves its function - returned, yielded,
    stored on `self`, a parameter or a module global, or added to a container reached from
    one - while the buffer itself is dropped: a `memoryview` slice of a large `bytes` or
    `bytearray` (`memoryview(data)[:16]`, also through a local holding the memoryview) and a
    numpy view of a large array (basic slicing `arr[:10]`, `arr[1:, ::2]`, `.view()` and
    `.reshape()` of a slice). Large means what LK401 calls large, with the same size folding
    and the same thresholds (`bytearray(N)`, `bytes(N)`, `b"x" * N`, `numpy.zeros/ones/empty/
    full`, a blob from `.read()`): set them under `[tool.leaklint.LK402]`.

    ## Why is this bad?
    A view shares the memory of the object it was taken from: `view.obj` (a memoryview) or
    `view.base` (a numpy array) is the whole buffer, and it stays alive as long as the view.
    Keeping the first 16 bytes of a 100 MB read keeps all 100 MB, for as long as the caller
    keeps the 16 bytes - in a cache or on a long-lived object, possibly forever. This is
    Python's form of "a sub-slice keeps the whole backing array".

    ## Example
    ```python
    def read_header(path):
        with open(path, "rb") as f:
            data = f.read()
        return memoryview(data)[:16]
    ```

    ## Use instead
    ```python
    def read_header(path):
        with open(path, "rb") as f:
            data = f.read()
        return bytes(memoryview(data)[:16])     # a copy: the buffer can be freed
    ```
    For a numpy view, return `arr[:10].copy()`.

    ## Not flagged
    - a copy of the part: `bytes(view)`, `view.tobytes()`, `arr[:10].copy()`, `np.array(view)`;
    - a slice of `bytes` or `bytearray` itself (`data[:16]` copies);
    - a view of the whole buffer (`memoryview(data)`, `arr.reshape(...)`, `arr.view(...)`):
      it keeps nothing it does not show;
    - a view that stays in the function, and a buffer that escapes too (`self.data = data`
      beside `self.header = memoryview(data)[:16]`): the view pins nothing extra;
    - fancy indexing (`arr[[1, 2]]`, `arr[mask]`), which copies;
    - buffers below the thresholds.
    """

    CODE = "LK402"
    NAME = "view-pins-buffer"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence(growth=Growth.VIEW_BUFFERS)
    MESSAGE = (
        "view `{view}` is {escape} and keeps all of `{name}` ({source}{size}) alive; "
        "copy the part out ({copy})"
    )
    TRIGGERS = ("memoryview", "numpy")
    # The same thresholds as LK401, set per rule.
    OPTIONS = LargeCaptureClosure.OPTIONS

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_view_large_buffer(facts)

    def leave_Module(self, node: cst.Module) -> None:
        for view in self.analysis(BufferViews).views:
            value = view.buffer
            if not value.is_large(self.options["min-bytes"], self.options["min-elements"]):
                continue
            code = self.context.code_of(view.node)
            self.report(
                view.node,
                view=code,
                escape=outliving_words(view.escape),
                name=value.name,
                source=value.source,
                size=size_words(value),
                copy=f"`{code}.copy()`" if view.numpy else f"`bytes({code})`",
            )
