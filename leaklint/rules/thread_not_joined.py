from __future__ import annotations

from leaklint.analysis.concurrency import Verdict
from leaklint.rules.concurrency_rule import ConcurrencyRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class ThreadNotJoined(ConcurrencyRule):
    """
    ## What it does
    Flags a non-daemon `threading.Thread` (or an instance of a subclass defined in the module)
    that is started and then neither joined on every path nor handed off: started with its
    handle dropped (`Thread(...).start()`), kept in a local that is never joined, joined only
    on the normal path, or started in a loop where only the last one is joined.

    ## Why is this bad?
    A thread nobody joins runs on unobserved: its exceptions go to `threading.excepthook`, the
    caller returns before the work is done, and a non-daemon thread keeps the interpreter from
    exiting. Started once per request, such threads pile up.

    ## Example
    ```python
    def handle_signup(address):
        threading.Thread(target=send_welcome_mail, args=(address,)).start()
    ```

    ## Use instead
    ```python
    def handle_signup(address):
        mailer = threading.Thread(target=send_welcome_mail, args=(address,))
        mailer.start()
        try:
            return "created"
        finally:
            mailer.join()
    ```
    or hand the thread to an owner that joins it (return it, store it on `self`), or submit
    the work to a long-lived executor. Daemon threads are left to LK102.

    ## Not flagged
    Daemon threads (LK102 covers their loops); threads joined on every path, in `finally`,
    or collected in a list joined in a later loop; threads handed off (returned, stored on
    `self`, passed to an owner); threads stopped by a method of their own class that joins
    them.

    ## Confidence
    Medium: a thread that runs one of its owner's own methods and is given no data of its
    own (`Thread(target=self._watch).start()`, no `args`/`kwargs`): the object's
    housekeeping, usually one at a time by design (a call kept off a UI thread, a restart
    watcher). A thread handed a job (`args=(request,)`) is the one that piles up.
    """

    CODE = "LK101"
    NAME = "thread-not-joined"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.THREAD,), own_code_only=True)

    def applies(self, verdict: Verdict) -> bool:
        return not verdict.daemon
