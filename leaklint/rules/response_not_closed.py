from __future__ import annotations

from leaklint.model import Applicability
from leaklint.rules.resource_rule import ResourceRule
from leaklint.runtime.evidence import Evidence
from leaklint.runtime.records import Kind


class ResponseNotClosed(ResourceRule):
    """
    ## What it does
    Flags an HTTP session or response created in a function that is neither released on
    every path nor handed off: `requests.Session()`, `requests.get(..., stream=True)` and the
    other verbs (also on a session), `urllib.request.urlopen(...)`, `httpx.Client()`,
    `httpx.AsyncClient()`, `aiohttp.ClientSession()` and its `session.get(...)` responses.
    A streamed `requests` response read to completion (`.content`, `.text`, `.json()`) is
    released; a non-streamed one is never reported.

    ## Why is this bad?
    A session owns a connection pool; a streamed response holds its connection until it is
    read or closed. Leaking them keeps sockets open and, with a pool, blocks other requests
    once the pool is exhausted.

    ## Example
    ```python
    def download(url, path):
        response = requests.get(url, stream=True, timeout=10)
        with open(path, "wb") as out:
            for chunk in response.iter_content(65536):
                out.write(chunk)
    ```

    ## Use instead
    ```python
    def download(url, path):
        with requests.get(url, stream=True, timeout=10) as response:
            with open(path, "wb") as out:
                for chunk in response.iter_content(65536):
                    out.write(chunk)
    ```

    ## Not flagged
    Non-streamed `requests` responses (already read and released); streamed ones read to
    completion (`.content`, `.text`, `.json()`).

    ## Autofix
    Safe (`--fix`): a session or response bound, used by a straight line of statements and
    closed by `.close()` right after them, or used inline once (`urlopen(url).getcode()`),
    becomes a `with` block. Async sessions and clients (`aiohttp`, `httpx.AsyncClient`)
    are left for you.
    """

    CODE = "LK304"
    AUTOFIX = Applicability.SAFE
    NAME = "response-not-closed"
    # What `leaklint confirm` must see at run time to confirm a finding.
    EVIDENCE = Evidence((Kind.SOCKET, Kind.CONNECTION, Kind.RESPONSE))
    SIMILAR_CHECKS = ("SIM115", "R1732", "consider-using-with")
