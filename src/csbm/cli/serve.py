"""``csbm serve [--data DIR] [--host H] [--port N]``: run the node (or the hub): the JSON
API and the delivery worker, in one process (uvicorn).

Configuration: the data directory's ``config.json`` (``"serve": {...}``), then the
environment, then these flags (see :mod:`csbm.api.config`). SIGTERM or Ctrl-C stop it
gracefully: requests in flight finish, the worker ends its attempt, the outbox stays in
the database. ``--exit-after`` and ``--exit-with-parent`` make a test server stop by
itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer

from csbm.cli._node import DATA_OPTION
from csbm.cli._output import handles_errors

#: How often an idle server wakes (seconds): uvicorn's main loop wakes ten times a second
#: to refresh the Date header once a second and to see a stop; a node idles at a
#: fraction of that CPU when it wakes once a second (a stop still ends the wait at once).
TICK = 1.0


def _server_class() -> type[Any]:
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, its main loop waking once a :data:`TICK` (the Date header
        refreshed on each, as uvicorn does once a second) or at once when asked to stop
        (a signal, or :meth:`stop`)."""

        _loop: asyncio.AbstractEventLoop | None = None
        _wake: asyncio.Event | None = None

        async def main_loop(self) -> None:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            should_exit = await self.on_tick(0)
            while not should_exit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), TICK)
                should_exit = await self.on_tick(0)  # counter 0: the Date header each tick

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self.stop_soon()

        def stop(self) -> None:
            """Stop gracefully (from any thread)."""
            self.should_exit = True
            self.stop_soon()

        def stop_soon(self) -> None:
            loop, wake = self._loop, self._wake
            if loop is not None and wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop already closed
                    loop.call_soon_threadsafe(wake.set)

    return Server


def _watch(server: Any, exit_after: float | None, parent: int | None) -> None:
    started = time.monotonic()
    while not getattr(server, "should_exit", False):
        if exit_after is not None and time.monotonic() - started >= exit_after:
            server.stop()
        if parent is not None and os.getppid() != parent:
            server.stop()
        wait = TICK  # an idle node wakes seldom; the stop comes on time all the same
        if exit_after is not None:
            wait = min(wait, max(0.01, exit_after - (time.monotonic() - started)))
        time.sleep(wait)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @handles_errors
    def serve_command(
        data: Path | None = DATA_OPTION,
        host: str | None = typer.Option(None, "--host", help="Address (default 127.0.0.1)."),
        port: int | None = typer.Option(None, "--port", help="Port (default 8470)."),
        skew: float | None = typer.Option(
            None, "--skew", help="Allowed clock skew of peers, seconds (default 300)."
        ),
        retry_base: float | None = typer.Option(
            None, "--retry-base", help="First retry delay, seconds (default 0.25)."
        ),
        retry_cap: float | None = typer.Option(
            None, "--retry-cap", help="Longest retry delay, seconds (default 30)."
        ),
        poll: float | None = typer.Option(
            None, "--poll",
            help="Longest idle sleep of the delivery worker, seconds: how soon it sees a "
            "message queued by another process (default 1).",
        ),
        warm_map: bool | None = typer.Option(
            None, "--warm-map/--lazy-map",
            help="Load the map's geography at start (default), or at the first page.",
        ),
        exit_after: float | None = typer.Option(
            None, "--exit-after", help="Stop by itself after this many seconds (tests)."
        ),
        exit_with_parent: bool = typer.Option(
            False, "--exit-with-parent", help="Stop when the parent process ends (tests)."
        ),
    ) -> None:
        """Run the node: JSON API, node-to-node protocol and delivery worker."""
        # the parent as early as possible: one that ended while this process started
        # leaves it to init (pid 1), and a test server must not outlive it by minutes
        parent = os.getppid() if exit_with_parent else None
        if parent == 1:
            return
        import uvicorn

        from csbm.api import create_app, load_settings
        from csbm.hub import Hub, is_hub
        from csbm.node import Node

        flags = {
            "host": host, "port": port, "skew_seconds": skew, "retry_base": retry_base,
            "retry_cap": retry_cap, "poll": poll, "warm_map": warm_map,
        }  # fmt: skip
        settings = load_settings(data, flags)
        # open once before serving, so a missing or lost node is one line and exit 2/1
        (Hub.open(settings.data) if is_hub(settings.data) else Node.open(settings.data)).close()
        config = uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=10,
            # the C parsers and loop (pinned dependencies): a delivery's HTTP request
            # parsed by httptools, not the pure-Python h11, on uvloop (issue 11, item 9;
            # uvloop has no Windows build: asyncio there)
            http="httptools",
            loop="uvloop" if sys.platform != "win32" else "asyncio",
        )
        import structlog

        # the default structlog pipeline (the same lines), each module's logger bound once
        # instead of at every line it writes
        structlog.configure(cache_logger_on_first_use=True)
        server = _server_class()(config)
        if exit_after is not None or parent is not None:
            threading.Thread(
                target=_watch, args=(server, exit_after, parent), daemon=True
            ).start()
        server.run()
