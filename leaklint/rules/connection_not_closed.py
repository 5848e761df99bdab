from __future__ import annotations

from leaklint.model import Applicability
from leaklint.rules.resource_rule import ResourceRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class ConnectionNotClosed(ResourceRule):
    """
    ## What it does
    Flags a database or protocol connection (`sqlite3.connect`, DB-API `connect`s,
    `http.client.HTTPConnection`/`HTTPSConnection`, `ftplib.FTP`, `smtplib.SMTP`,
    `imaplib.IMAP4`, `poplib.POP3`, `telnetlib.Telnet`) created in a function that is not
    closed on every path and not handed off. `with sqlite3.connect(...)` does not close the
    connection: its `__exit__` only commits or rolls back.

    ## Why is this bad?
    Each connection holds a socket or a file descriptor, and on the server side a session, a
    lock or a slot in a connection limit. Leaked connections pile up until the server refuses
    new ones or the database stays locked.

    ## Example
    ```python
    def count(path):
        with sqlite3.connect(path) as db:
            return db.execute("select count(*) from t").fetchone()[0]
    ```

    ## Use instead
    ```python
    def count(path):
        with contextlib.closing(sqlite3.connect(path)) as db:
            return db.execute("select count(*) from t").fetchone()[0]
    ```

    ## Not flagged
    `quit()` of `smtplib`/`ftplib`/`poplib` connections, which closes them.

    ## Autofix
    Safe (`--fix`): a connection bound, used by a straight line of statements and closed by
    `conn.close()` right after them becomes `with contextlib.closing(...) as conn:` (the
    connection's own `with` would commit or send QUIT instead); `import contextlib` is added
    when the module has no such import. Other shapes are left for you to fix.
    """

    CODE = "LK303"
    AUTOFIX = Applicability.SAFE
    NAME = "connection-not-closed"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.SOCKET, Kind.CONNECTION))
    SIMILAR_CHECKS = ("SIM115", "R1732", "consider-using-with")
