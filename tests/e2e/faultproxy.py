"""A fault-injecting HTTP/1.1 proxy for the fault tests: one process, one listening port
per node (each forwarding to that node's ``csbm serve`` port on 127.0.0.1), that drops,
delays, duplicates and reorders the requests the nodes send each other.

Source: issue 11, item 7. Every request that reaches a node through it may be

- **dropped** before it is forwarded (the connection is closed: the caller sees a reset),
- **dropped after** it was forwarded (the node acted on it; its answer is lost),
- **delayed** (0 to ``--max-delay`` seconds),
- **duplicated** (forwarded twice at once; the second answer is thrown away),
- **reordered** (forwarded again later, after 0.5 to ``--max-replay`` seconds, when newer
  requests have overtaken it; the late answer is thrown away).

Faults are on only while the file ``--faults-on`` exists, so the peers can be registered
and the network can settle without them; ``GET /.well-known/csbm`` is never touched. The
choices come from ``random.Random(--seed)``. Counts of what was done are written to
``--stats`` (JSON) every half second and at the end.

Bounded: at most 64 connections at once, 30 s per read, 16 MiB per body; the process ends
after ``--exit-after`` seconds or when its parent ends, whichever comes first::

    python -m tests.e2e.faultproxy --seed 7 --route 40001=39001 --route 40002=39002 \\
        --faults-on /tmp/x/faults --stats /tmp/x/stats.json --exit-after 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MAX_BODY = 16 * 1024 * 1024
READ_TIMEOUT = 30.0
CONNECTIONS = 64


@dataclass(frozen=True)
class Rates:
    drop: float = 0.04
    drop_answer: float = 0.04
    delay: float = 0.15
    duplicate: float = 0.05
    reorder: float = 0.05
    max_delay: float = 0.3
    max_replay: float = 3.0


@dataclass(frozen=True)
class Request:
    head: bytes
    body: bytes
    method: str
    path: str


class Closed(Exception):
    """The connection ended (or misbehaved): stop serving it."""


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """One HTTP/1.1 message: its first line, its headers (lower-cased) and its body
    (Content-Length or chunked)."""
    try:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        raise Closed from None
    lines = raw[:-4].split(b"\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    try:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), READ_TIMEOUT)
                size = int(size_line.split(b";")[0].strip(), 16)
                chunk = await asyncio.wait_for(reader.readexactly(size + 2), READ_TIMEOUT)
                if size == 0:
                    break
                parts.append(chunk[:-2])
                if sum(map(len, parts)) > MAX_BODY:
                    raise Closed
            body = b"".join(parts)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if not 0 <= length <= MAX_BODY:
                raise Closed
            body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
        raise Closed from None
    return lines[0], headers, body


def _rebuild(first: bytes, headers: dict[str, str], body: bytes, connection: str) -> bytes:
    skip = {"connection", "content-length", "transfer-encoding", "keep-alive"}
    out = [first]
    out += [f"{k}: {v}".encode("latin-1") for k, v in headers.items() if k not in skip]
    out += [f"content-length: {len(body)}".encode(), f"connection: {connection}".encode()]
    return b"\r\n".join(out) + b"\r\n\r\n" + body


class Proxy:
    def __init__(self, routes: dict[int, int], rates: Rates, seed: int, switch: Path) -> None:
        self.routes = routes
        self.rates = rates
        self.random = random.Random(seed)
        self.switch = switch
        self.stats: Counter[str] = Counter()
        self.slots = asyncio.Semaphore(CONNECTIONS)
        self.tasks: set[asyncio.Task[None]] = set()

    def faults_on(self) -> bool:
        return self.switch.exists()

    async def forward(self, port: int, request: Request) -> bytes | None:
        """The upstream's whole answer, rebuilt for a kept-alive connection; None when the
        node cannot be reached (it is down, or was killed mid-answer)."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), READ_TIMEOUT
            )
        except (OSError, TimeoutError):
            self.stats["upstream_down"] += 1
            return None
        try:
            writer.write(request.head + request.body)
            await writer.drain()
            first, headers, body = await _read_message(reader)
            return _rebuild(first, headers, body, "keep-alive")
        except (Closed, OSError):
            self.stats["upstream_broken"] += 1
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def later(self, port: int, request: Request, delay: float) -> None:
        async def again() -> None:
            await asyncio.sleep(delay)
            await self.forward(port, request)

        task = asyncio.ensure_future(again())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve(
        self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        async with self.slots:
            try:
                while True:
                    first, headers, body = await _read_message(reader)
                    method, path = [*first.decode("latin-1").split(" "), "", ""][:2]
                    head = _rebuild(first, headers, body, "close")
                    request = Request(head[: len(head) - len(body)], body, method, path)
                    answer = await self.one(port, request)
                    if answer is None:
                        break
                    writer.write(answer)
                    await writer.drain()
            except (Closed, OSError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def one(self, port: int, request: Request) -> bytes | None:
        upstream = self.routes[port]
        self.stats["requests"] += 1
        if not self.faults_on() or request.path.startswith("/.well-known/"):
            return await self.forward(upstream, request)
        rates, pick = self.rates, self.random.random
        if pick() < rates.drop:
            self.stats["dropped"] += 1
            return None
        if pick() < rates.delay:
            self.stats["delayed"] += 1
            await asyncio.sleep(pick() * rates.max_delay)
        if pick() < rates.duplicate:
            self.stats["duplicated"] += 1
            self.later(upstream, request, 0.0)
        if pick() < rates.reorder:
            self.stats["reordered"] += 1
            self.later(upstream, request, 0.5 + pick() * (rates.max_replay - 0.5))
        answer = await self.forward(upstream, request)
        if answer is not None and pick() < rates.drop_answer:
            self.stats["answer_dropped"] += 1
            return None
        return answer


async def main(args: argparse.Namespace) -> None:
    routes = dict(args.route)
    proxy = Proxy(routes, Rates(), args.seed, Path(args.faults_on))
    servers = []
    for listen in routes:

        async def handler(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int = listen
        ) -> None:
            await proxy.serve(port, reader, writer)

        servers.append(await asyncio.start_server(handler, "127.0.0.1", listen))
    parent = os.getppid()
    started = time.monotonic()
    stats = Path(args.stats)
    try:
        while time.monotonic() - started < args.exit_after and os.getppid() == parent:
            tmp = stats.with_suffix(".tmp")
            tmp.write_text(json.dumps(dict(proxy.stats)), encoding="utf-8")
            os.replace(tmp, stats)
            await asyncio.sleep(0.5)
    finally:
        for server in servers:
            server.close()
        stats.write_text(json.dumps(dict(proxy.stats)), encoding="utf-8")


def _route(text: str) -> tuple[int, int]:
    listen, _, upstream = text.partition("=")
    return int(listen), int(upstream)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--route", type=_route, action="append", required=True)
    parser.add_argument("--faults-on", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--exit-after", type=float, default=300.0)
    asyncio.run(main(parser.parse_args()))
