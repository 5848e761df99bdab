from __future__ import annotations

import libcst as cst

from leaklint.analysis.confidence import is_test_path
from leaklint.analysis.registrations import Registration, Registrations, Why, may_register
from leaklint.model import Confidence
from leaklint.rule import Rule
from leaklint.runtime.evidence import Evidence, Growth
from leaklint.runtime.records import Kind
from leaklint.screen import SourceFacts


class HandlerAddedPerCall(Rule):
    """
    ## What it does
    Flags `logger.addHandler(...)` and `logger.addFilter(...)` on a `logging` logger, and
    `atexit.register(...)`, inside a function that runs more than once, with no matching
    removal (`removeHandler`, `atexit.unregister`) and no guard.

    A finding is `high` when the code shows that the function runs again and again: it is
    named as a per-request handler (`handle*`, `process*`, `on_*`, `*_job`), takes
    per-request data (`request`, `job_id`), is a callback (passed to `signal.signal`,
    `Thread`, `call_later`...) or is called in a loop, or one of its callers is. Otherwise it
    is `medium` (the function may well run once), as are an exit callback that releases what
    the call made (`atexit.register(os.remove, path)`) and everything in test code.

    ## Not flagged
    - one-time set-up: `main`, `setup*`, `configure*`, `init*`, `install*`, `start*`,
      `enable_*`, `log_to_*`, `set_*_logger`, `parse_args`, methods of `*Config*` classes,
      functions only called at import time or only from such functions;
    - `__init__` of a class that only the module body instantiates (a process-lifetime
      singleton);
    - command-line start-up code: a function that ends the process (`sys.exit`) on error;
    - a guard: `if not logger.handlers`, a membership test on the logging manager's
      `loggerDict`, a module-level "configured" flag, an early `return` once an attribute is
      set, first-time set-up in the `except LookupError` of a context-variable lookup;
    - a matching removal in the function or its class, also scheduled (`atexit.unregister`
      pushed on an `ExitStack`, a callback that unregisters);
    - `addHandler` on objects not known to be `logging` loggers (a project's own logger
      classes own their handlers);
    - `signal.signal`: it replaces the one handler of a signal, nothing piles up.

    ## Why is this bad?
    These registries live as long as the process. A handler added per request stays attached
    to the logger forever (and every log line is written once more per call); an atexit
    callback registered per call keeps its arguments alive until exit.

    ## Example
    ```python
    def process(job):
        log = logging.getLogger("jobs")
        log.addHandler(logging.FileHandler(job.log_path))
        log.info("processing %s", job.id)
    ```

    ## Use instead
    ```python
    def process(job):
        log = logging.getLogger("jobs")
        handler = logging.FileHandler(job.log_path)
        log.addHandler(handler)
        try:
            log.info("processing %s", job.id)
        finally:
            log.removeHandler(handler)
            handler.close()
    ```
    """

    CODE = "LK204"
    NAME = "handler-added-per-call"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.HANDLER,), growth=Growth.REGISTRATIONS)
    MESSAGE = (
        "{label} added by `{call}` in `{function}()` is never removed, and {evidence}: "
        "every run adds one more for the life of the process; {fix}"
    )
    UNPROVEN_MESSAGE = (
        "{label} added by `{call}` in `{function}()` is never removed: each call adds one more "
        "for the life of the process if {runs}; {fix}"
    )
    # The words of each reason a function runs again and again (``{subject}``: what it names).
    REASONS = {
        Why.NAMED_PER_EVENT: "runs per request or event (its name says so)",
        Why.NAMED_PER_WORD: "runs per {subject} (its name says so)",
        Why.TAKES_ENTITY: "runs per request (it takes `{subject}`)",
        Why.CALLBACK: "is a callback, run each time it fires",
        Why.CALLED_IN_LOOP: "is called in a loop",
    }
    TRIGGERS = ("addHandler", "addFilter", "atexit")

    @classmethod
    def may_report_in(cls, facts: SourceFacts, text: str) -> bool:
        return may_register(facts)

    def visit_Module(self, node: cst.Module) -> None:
        for registration in self.analysis(Registrations).found:
            self._report(registration)

    def _report(self, registration: Registration) -> None:
        """``high`` with the evidence that the function runs again and again; ``medium``
        without it, in test code, and for an exit callback that releases what the call made."""
        scope = registration.function
        function = scope.name if scope.owner is None else f"{scope.owner.name.value}.{scope.name}"
        fields = {"label": registration.registry.label, "call": registration.spelled,
                  "function": function, "fix": registration.registry.fix}
        repetition = registration.repetition
        if repetition is None or is_test_path(self.context.path) or registration.cleans_up_at_exit:
            if scope.name == "__init__" and scope.owner is not None:
                runs = f"more than one `{scope.owner.name.value}` is made"
            else:
                runs = f"`{function}()` runs more than once"
            self.report(registration.call, self.UNPROVEN_MESSAGE.format(runs=runs, **fields),
                        confidence=Confidence.MEDIUM)
            return
        reason = self.REASONS[repetition.why].format(subject=repetition.subject)
        if repetition.culprit is scope:
            evidence = f"it {reason}"
        else:
            evidence = f"it runs whenever `{repetition.culprit.name}()` does, which {reason}"
        self.report(registration.call, self.MESSAGE.format(evidence=evidence, **fields))
