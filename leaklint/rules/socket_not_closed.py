from __future__ import annotations

from leaklint.model import Applicability
from leaklint.rules.resource_rule import ResourceRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class SocketNotClosed(ResourceRule):
    """
    ## What it does
    Flags a socket (`socket.socket`, `socket.create_connection`, `socket.socketpair`,
    `socket.fromfd`, `ssl.wrap_socket`/`SSLContext.wrap_socket`) or a selector
    (`selectors.DefaultSelector()`) created in a function that is not closed on every path
    and not handed off — typically one that leaks when `connect()` raises. A `socketserver`
    server (`TCPServer`, `UDPServer`, `ThreadingTCPServer`, `http.server.HTTPServer`, ...)
    counts too: `shutdown()` only stops `serve_forever`, `server_close()` (or `with`) closes
    the listening socket.

    ## Why is this bad?
    A socket holds a file descriptor and, once connected, a connection the peer keeps open.
    A server that leaks a socket per failed request exhausts its descriptors; the peer sees
    half-open connections until the garbage collector happens to run.

    ## Example
    ```python
    def probe(host, port):
        sock = socket.socket()
        sock.connect((host, port))
        sock.close()
    ```

    ## Use instead
    ```python
    def probe(host, port):
        with socket.socket() as sock:
            sock.connect((host, port))
    ```

    ## Not flagged
    A socket pair made on this machine (binding an ephemeral loopback port, listening,
    connecting to one's own listener and accepting on it do not fail in practice);
    `socket.socket(fileno=fd)`, which adopts a descriptor that existed before; `wrap_socket`
    on a receiver that is not named like an SSL context (a project's own method of that
    name).

    ## Autofix
    Safe (`--fix`): a socket bound, used by a straight line of statements and closed by
    `sock.close()` right after them becomes a `with` block, which also closes it when
    `connect()` or `sendall()` raises. Other shapes are left for you to fix.
    """

    CODE = "LK302"
    AUTOFIX = Applicability.SAFE
    NAME = "socket-not-closed"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.SOCKET,))
    SIMILAR_CHECKS = ("SIM115", "R1732", "consider-using-with")
