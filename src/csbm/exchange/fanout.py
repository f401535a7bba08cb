"""The hub's lean HTTP/1.1 client for its fan-out: one asyncio event loop (uvloop where
there is one) in the hub's delivery thread, one kept-alive connection per node, each
answer parsed by httptools (the C parser uvicorn serves with).

Source: issue 11, item 9 (the hub's fan-out rate). Under py-spy, the hub spent most of
its CPU per delivery in httpx's machinery (its pool's lock and per-connection checks for
every request, 32 threads handing the GIL to each other) rather than in the fan-out's own
work. Here a request is a few bytes written to a socket and its answer a few callbacks of
a C parser, all on one thread: the hub keeps every node in flight at once for next to
nothing.

It speaks only what the fan-out needs: ``POST`` of a JSON body to a plain ``http://``
URL (host, port, an optional path prefix), the answer's status and body (Content-Length
or chunked). Anything else (``https``, user info, a query in the base URL) goes through
the plain client (:class:`csbm.exchange.http.HttpClient`), and so does every other
request of the hub. A failure is reported by the name of the httpx error the plain
client would have met in its place (``ConnectError``, ``ConnectTimeout``,
``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``), so the outbox records the same
reason either way (:class:`csbm.exchange.http.Unreachable`).

Why not httpx's own async client (measured 2026-11-30, issue 11): ``httpx.AsyncClient``
(0.28.1, httpcore 1.0.9; HTTP/1.1, limits of 256 connections, kept alive) put in this
client's place -- the same one event loop in the delivery thread, the body and the
signature still made once per message, every test of tests/exchange/test_hub_fanout.py
passing through it -- cost the hub, in ``python -m bench.bench_network fanout 56 8``
(``cpu_ms_per_delivery.hub``, CPU time from /proc, the two clients run back to back,
load average 30-55), 3.04, 3.19 and 3.55 ms per delivery against 0.74, 0.58, 0.49,
0.54 and 0.58 ms through this client: about +2.6 ms, where it would have had to stay
within +0.15 ms. One ``AsyncClient`` per node (each pool holding one connection): 1.58,
1.74 and 1.61 ms, still about +1.1 ms.
In-process (56 uvicorn servers in another process, 56 POSTs at once, CPU per request):
this client 0.034 ms; ``AsyncClient`` 2.1 ms, one per node 0.85 ms. Under cProfile the
shared pool spends it in httpcore's ``_assign_requests_to_connections``, which looks at
every connection (``is_idle``, ``has_expired``: a socket poll each) for every request
it queues or finishes -- quadratic in the requests in flight -- and every request,
one pool per node or not, tries to import ``sniffio`` (not installed beside anyio 4:
a failed import, a search of sys.path, each time).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools
import httpx

#: How long a kept-alive connection may sit idle before it is closed rather than reused
#: (uvicorn closes its side after 5 s: a connection it is closing must not be written to).
IDLE_EXPIRY = 4.0
#: A path prefix sent as it is (anything else goes through the plain client, which
#: percent-encodes it).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~/%!$&'()*+,;=:@-]*")


class Broken(Exception):
    """The request failed on the way: ``name`` is the httpx error of the plain client."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Target:
    """Where a plain ``http://`` base URL points."""

    host: str
    port: int
    #: the Host header, as httpx sends it
    authority: str
    #: the path before ``/api/...`` (no trailing slash), as the request signature has it
    prefix: str
    #: the base URL plus a path, as httpx prints the request's URL (for refusals)
    base: str

    def url(self, path: str) -> str:
        return self.base + path


def target_of(base_url: str) -> Target | None:
    """The target of ``base_url`` (``http://host[:port][/prefix]``), or None when the
    lean client does not speak to it (the plain client does)."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return None
    if (
        parts.scheme.lower() != "http"
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or not _PLAIN_PATH.fullmatch(parts.path)
    ):
        return None
    prefix = parts.path.rstrip("/")
    try:
        url = httpx.URL(base_url.rstrip("/") + "/")
    except (httpx.InvalidURL, ValueError):
        return None
    authority = url.netloc.decode("ascii")
    base = str(url)[: -1] if str(url).endswith("/") else str(url)
    if not base.endswith(prefix):  # httpx would normalise the path: let it
        return None
    return Target(host, 80 if port is None else port, authority, prefix, base)


class _Connection(asyncio.Protocol):
    """One kept-alive connection: at most one request in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._body: list[bytes] = []
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.lost = False
        self.idle_since = 0.0

    # -- asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("RemoteProtocolError")
            self.close()

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail("RemoteProtocolError" if exc is None else "ReadError")

    # -- httptools

    def on_message_begin(self) -> None:
        self._body = []

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None:  # an answer nobody asked for: the connection is not ours
            self.close()
            return
        if not waiter.done():
            keep = self._parser.should_keep_alive()
            waiter.set_result((self._parser.get_status_code(), b"".join(self._body), keep))

    # --

    def _fail(self, name: str) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(Broken(name))

    def usable(self) -> bool:
        return (
            not self.lost
            and self.transport is not None
            and not self.transport.is_closing()
            and time.monotonic() - self.idle_since < IDLE_EXPIRY
        )

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        waiter: asyncio.Future[tuple[int, bytes, bool]] = self._loop.create_future()
        if self.lost or self.transport is None or self.transport.is_closing():
            waiter.set_exception(Broken("RemoteProtocolError"))  # closed meanwhile
            return waiter
        self._waiter = waiter
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class FanOutClient:
    """POSTs on kept-alive connections, on the running event loop (one thread); a
    request either gets its answer ``(status, body)`` or raises :class:`Broken`."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def post(self, target: Target, path: str, head: bytes, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``path`` with the header lines ``head`` (each ending CRLF,
        Content-Length included)."""
        key = (target.host, target.port)
        conn = self._take(key)
        if conn is None:
            conn = await self._connect(target)
        data = b"".join((
            b"POST ", path.encode("ascii"), b" HTTP/1.1\r\nhost: ",
            target.authority.encode("ascii"), b"\r\n", head, b"\r\n", body,
        ))  # fmt: skip
        try:
            status, content, keep = await asyncio.wait_for(conn.send(data), self.timeout)
        except TimeoutError:
            conn.close()
            raise Broken("ReadTimeout") from None
        except BaseException:
            conn.close()
            raise
        if keep and not conn.lost:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()
        return status, content

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _transport, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop), target.host, target.port),
                self.timeout,
            )
        except TimeoutError:
            raise Broken("ConnectTimeout") from None
        except OSError:
            raise Broken("ConnectError") from None
        return conn

    def close(self) -> None:
        """Close every kept-alive connection."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def new_loop() -> asyncio.AbstractEventLoop:
    """An event loop for the fan-out: uvloop's where it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
