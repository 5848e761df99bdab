from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Optional

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.scopes import Scopes
from leaklint.analysis.timeouts import MissingTimeout, TimeoutCalls, Unbounded
from leaklint.fixers.source import indentation
from leaklint.fixers.timeouts import timeout_fix
from leaklint.model import Applicability, Confidence, Fix
from leaklint.rule import Report, Rule, RuleOption
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class CallWithoutTimeout(Rule):
    """
    ## What it does
    Flags network calls that can wait forever: `requests.get/post/...` and the same methods on
    a `requests.Session` without `timeout=`, with `timeout=None` or with a `(connect, None)`
    tuple; `httpx` calls and clients given `timeout=None`; `urllib.request.urlopen` and
    `socket.create_connection` without a timeout; `urllib3` `request`/`urlopen` on a
    `PoolManager` or `HTTPConnectionPool` built here when neither sets a timeout, and
    `urllib3.request(..., timeout=None)`.

    ## Why is this bad?
    requests has no default timeout, and the standard library falls back to the process-wide
    socket default, which is "wait forever". A server that accepts the connection and never
    answers hangs the calling thread, worker or request handler indefinitely; the thread and
    everything it holds leak. Setting `session.timeout = 5` does nothing: requests ignores it.

    ## Example
    ```python
    def fetch_status(url):
        return requests.get(url).json()
    ```

    ## Use instead
    ```python
    def fetch_status(url):
        return requests.get(url, timeout=(3.05, 10)).json()
    ```
    Calls that forward `**kwargs` are left to their callers, and a `Session` subclass that
    overrides `request` to inject a default timeout is trusted.

    ## Not flagged
    Calls that forward `**kwargs` (their callers decide); a `Session` subclass that injects
    a default timeout; a call inside a branch that checks for a timeout.

    ## Confidence
    Medium: calls in test code (it talks to its own servers, and hangs only when already
    failing), and `urlopen`/`create_connection` without a timeout for an address the
    function only passes through (a parameter, an attribute): they fall back to
    `socket.getdefaulttimeout()`, which the program sets once. High when the code builds the
    address of an endpoint it knows (an f-string, a `(host, port)` tuple).

    ## Autofix
    Unsafe (`--unsafe-fixes`): `timeout=10` is added (or replaces `None`); the number is the
    rule's `fix-timeout` option (`[tool.leaklint.LK305] fix-timeout = 30`). Unsafe because a
    call that legitimately takes longer now raises.
    """

    CODE = "LK305"
    AUTOFIX = Applicability.UNSAFE
    NAME = "call-without-timeout"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.BLOCKED, Kind.NO_TIMEOUT), stack_kinds=(Kind.BLOCKED,))
    SIMILAR_CHECKS = ("S113", "B113", "missing-timeout", "W3101")
    MESSAGE = "`{api}(...)` {how}; an unresponsive peer blocks this call forever"
    HOW: ClassVar[Mapping[Unbounded, str]] = {
        Unbounded.ABSENT: "has no timeout",
        Unbounded.NONE: "passes timeout=None",
        Unbounded.HTTPX_NONE: "passes httpx.Timeout(None)",
        Unbounded.TUPLE_WITH_NONE: "passes a timeout tuple containing None",
    }
    TRIGGERS = ("requests", "Session", "httpx", "urlopen", "create_connection", "urllib3")
    OPTIONS = (
        RuleOption("fix-timeout", 10, "seconds the (unsafe) fix passes as `timeout=`", float),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each reported call's finding and indentation, for the fix.
        self._missing: dict[cst.CSTNode, tuple[MissingTimeout, list[str]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        ancestors = self.analysis(Scopes).ancestors(node)
        missing = self.analysis(TimeoutCalls).missing_timeout(node, ancestors)
        if missing is not None:
            indents = indentation(self.context.module, ancestors)
            self._missing[node] = (missing, indents)
            confidence = _confidence(missing, self.context.path)
            self.report(node, api=missing.api, how=self.HOW[missing.why], confidence=confidence)

    def fix(self, report: Report) -> Optional[Fix]:
        missing, indents = self._missing[report.node]
        return timeout_fix(self.context, missing, self.options["fix-timeout"], indents)


def _confidence(missing: MissingTimeout, path: str) -> Confidence:
    """Medium where a hang matters little or the timeout is someone else's to choose: test
    code (it talks to its own servers and only hangs when already failing), and a library
    facility that passes through an address it is given and defers to the program's
    `socket.setdefaulttimeout()`."""
    if is_test_path(path) or missing.defers_to_default:
        return Confidence.MEDIUM
    return Confidence.HIGH
