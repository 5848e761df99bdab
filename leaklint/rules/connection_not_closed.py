from __future__ import annotations

from leaklint.model import Applicability
from leaklint.rules.resource_rule import ResourceRule


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
    """

    CODE = "LK303"
    AUTOFIX = Applicability.SAFE
    NAME = "connection-not-closed"
    TRIGGERS = ("connect", "Connection", "FTP", "SMTP", "IMAP4", "POP3", "Telnet", "LMTP")
