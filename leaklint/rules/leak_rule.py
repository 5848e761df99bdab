"""The shared wording of the rules about objects left unreleased (LK101, LK103, LK104, LK106,
LK107, LK301-LK304, LK306): what was created, the path it escapes on, and the fix that fits
that path. The analyses say what happened (a :class:`Resource` with its fate and escape); the
sentences are here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import libcst as cst

from leaklint.analysis.ownership_model import Escape, Fate, Resource
from leaklint.analysis.specs import ResourceSpec
from leaklint.rule import Rule
from leaklint.syntax import code_of

# The release a message suggests when a kind has several.
_PREFERRED_RELEASES = ("close", "wait", "join", "shutdown", "cancel", "quit", "logout")
# "joined" -> "join": the verb of the advice for a released verb.
_IMPERATIVES = {"joined": "join", "cancelled": "cancel", "waited for": "wait for",
                "awaited": "await", "closed": "close"}


class LeakRule(Rule):
    MESSAGE = "{subject} is never {verb} ({managed})"
    # By what happened (the escape; ", no with" where `with` does not release the kind).
    MESSAGES: ClassVar[Mapping[str, str]] = {
        "passed": "{subject} is passed to `{callee}(...)` and never {verb} "
                  "(use `with` and pass the handle)",
        "passed, no with": "{subject} is passed to `{callee}(...)` and never {verb} "
                           "(keep it in a name and {release} when done)",
        "inline": "{subject} is used inline and never {verb} ({managed})",
        "with does not release": "{created} in `with` {note}; the {noun} is never {verb} "
                                 "(wrap it in `contextlib.closing(...)` or {release} after the "
                                 "block)",
        "never released": "{subject} is never {verb} (use `with`, or {release} when done)",
        "never released, no with": "{subject} is never {verb} ({release} when done)",
        "early return": "{subject} is not {verb} on the return at line {line} "
                        "({release} before returning, or {managed})",
        "early return, no with": "{subject} is not {verb} on the return at line {line} "
                                 "({release} in `finally`, or before returning)",
        "raise": "{subject} is not {verb} when the `raise` at line {line} exits "
                 "({release} before raising, or {managed})",
        "raise, no with": "{subject} is not {verb} when the `raise` at line {line} exits "
                          "({release} in `finally`, or before raising)",
        "rebound": "{subject} is not {verb} before `{label}` is rebound at line {line} "
                   "({release} before rebinding it)",
        "loop": "{subject} is replaced on the next loop iteration before it is {verb} "
                "({release} at the end of each iteration, or {managed})",
        "some paths": "{subject} is not {verb} on every path ({managed})",
        "exception": "{subject} is not {verb} if `{risky}` raises "
                     "({release} in `finally` or use `with`)",
        "exception, no with": "{subject} is not {verb} if `{risky}` raises "
                              "({release} in `finally`)",
        "exception, kept on success": "{subject} is not {verb} if `{risky}` raises "
                                      "({release} in an `except` block and re-raise: it is "
                                      "kept on success)",
        "started inline": "{noun} from `{api}(...)` is started and its handle dropped; it can "
                          "never be {verb} (keep the handle and {imperative} it, or hand it to "
                          "an owner that does)",
    }
    _BY_ESCAPE: ClassVar[Mapping[Escape, str]] = {
        Escape.WITH_DOES_NOT_RELEASE: "with does not release",
        Escape.NEVER_RELEASED: "never released",
        Escape.EARLY_RETURN: "early return",
        Escape.RAISE: "raise",
        Escape.REBOUND: "rebound",
        Escape.LOOP: "loop",
        Escape.SOME_PATHS: "some paths",
        Escape.EXCEPTION: "exception",
    }
    def leak_message(self, resource: Resource, *, started_inline: bool = False) -> str:
        """The message for a leaked object, from what the analysis found."""
        spec = resource.spec
        fields = self._fields(resource)
        if started_inline:
            key = "started inline"
        elif resource.fate is Fate.DROPPED:
            passed = resource.escape is Escape.PASSED and isinstance(resource.escape_node, cst.Call)
            key = "passed" if passed else "inline"
        elif resource.escape in self._BY_ESCAPE:
            key = self._BY_ESCAPE[resource.escape]
            if key == "exception" and resource.kept_on_success:
                key = "exception, kept on success"
        else:
            return self.MESSAGE.format(**fields)
        if not spec.with_releases and f"{key}, no with" in self.MESSAGES:
            key = f"{key}, no with"
        return self.MESSAGES[key].format(**fields)

    def _fields(self, resource: Resource) -> dict[str, Any]:
        spec = resource.spec
        created = f"`{resource.api}(...)`"
        node = resource.escape_node
        release = _release_call(spec)
        return {
            "subject": f"{spec.noun} `{resource.label}` from {created}" if resource.label
            else f"{spec.noun} from {created}",
            "created": created,
            "api": resource.api,
            "noun": spec.noun,
            "label": resource.label,
            "verb": spec.released_verb,
            "imperative": _IMPERATIVES.get(spec.released_verb, spec.released_verb),
            "release": release,
            "managed": "use `with`" if spec.with_releases else f"{release} in `finally`",
            "note": spec.with_note or "does not release it",
            "line": self.context.position(node).start.line if node is not None else None,
            "callee": _shortened(code_of(node.func), 40) if isinstance(node, cst.Call) else "",
            "risky": _shortened(" ".join((resource.risky_call or "...").split()), 60),
        }


def _release_call(spec: ResourceSpec) -> str:
    """``call `close()``` / ``call `os.remove(...)``` : how this kind is released."""
    if spec.await_releases:
        return "await it or call `cancel()`"
    if spec.release_methods:
        preferred = sorted(spec.release_methods, key=lambda m: (
            _PREFERRED_RELEASES.index(m) if m in _PREFERRED_RELEASES else len(_PREFERRED_RELEASES),
            m,
        ))[0]
        return f"call `{preferred}()`"
    if spec.release_functions:
        wanted = "shutil.rmtree" if spec.noun.endswith("directory") else "os.remove"
        functions = spec.release_functions
        preferred = wanted if wanted in functions else sorted(functions)[0]
        return f"call `{preferred}(...)`"
    return "release it"


def _shortened(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
