"""The app factory of ``csbm serve``: one FastAPI app per node (or hub), its delivery
worker in the same process, every error as RFC 9457 problem+json, OpenAPI at
``/openapi.json``.

Source: issue 11, item 1. The lifespan opens the node, starts the worker, and on shutdown
(after uvicorn has let the requests in flight finish) stops the worker after its attempt
in flight and closes the node: the outbox is in the database, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from csbm import __version__
from csbm.api.config import Settings
from csbm.errors import CsbmError
from csbm.hub import Hub, is_hub
from csbm.node import Node
from csbm.services.clock import wall_clock

log = structlog.get_logger("csbm.api")


def _open(settings: Settings) -> Node | Hub:
    return Hub.open(settings.data) if is_hub(settings.data) else Node.open(settings.data)


def _worker(site: Node | Hub, settings: Settings, clock: Callable[[], datetime]) -> Any:
    from csbm.exchange.http import HttpClient
    from csbm.exchange.worker import Backoff, HubFanOut, NodeDelivery, Worker

    backoff = Backoff(base=settings.retry_base, cap=settings.retry_cap)
    client = HttpClient(site.key, site.state)
    step: HubFanOut | NodeDelivery = (
        HubFanOut(site, client, backoff) if isinstance(site, Hub)
        else NodeDelivery(site, client, backoff)
    )  # fmt: skip
    worker = Worker(step, clock, poll=settings.poll, next_due=step.next_due)
    worker.client = client  # type: ignore[attr-defined]
    return worker


def create_app(settings: Settings, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The app of the node (or hub) in ``settings.data``; ``clock`` for tests."""
    tick = clock or wall_clock
    hub = is_hub(settings.data)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        site = _open(settings)
        app.state.site = site
        app.state.clock = tick
        app.state.skew_seconds = settings.skew_seconds
        if isinstance(site, Node):
            from csbm.services.send import send_approved

            app.state.node = site
            app.state.send = send_approved
            from csbm.web.replays import warm  # the first replay, in the background

            warm(app.state, site, tick())
        worker = _worker(site, settings, tick) if settings.worker else None
        app.state.worker = worker
        if worker is not None:
            worker.start()
        log.info("serving", state=site.state, data=str(settings.data))
        try:
            yield
        finally:
            if worker is not None:
                worker.close()
                worker.client.close()
            replays = getattr(app.state, "web_replays", None)
            if replays is not None:
                replays.close()  # the background replay ends before the node closes
            site.close()
            log.info("stopped", state=site.state)

    app = FastAPI(
        title="csbm hub" if hub else "csbm node",
        version=__version__,
        description="A national verification centre's node: the node-to-node protocol "
        "(signed deliveries and receipts), auditors' reads, and the use cases of the "
        "shell. Every error is RFC 9457 problem+json.",
        lifespan=lifespan,
    )
    _problems(app)
    from csbm.api.routes import hub_router, router, shared_router

    app.include_router(shared_router)
    if hub:
        app.include_router(hub_router)
    else:
        from csbm.api.auth import router as accounts_router

        app.include_router(router)
        app.include_router(accounts_router, prefix="/api/v1")
        # the workbench's pages (csbm.web)
        __import__("csbm.web").web.install(app, warm=settings.warm_map)
    return app


def _problems(app: FastAPI) -> None:
    """problem+json for everything: csbm errors (each refusal logged), requests FastAPI
    cannot read, the framework's HTTP errors, and -- a bug -- anything else (500)."""
    from csbm.api.auth import csbm_problem, install_problem_handlers, problem_response

    install_problem_handlers(app)

    async def on_csbm(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CsbmError)
        response = csbm_problem(exc)
        log.warning(
            "refused", method=request.method, path=request.url.path, code=exc.code,
            status=response.status_code, reason="; ".join(exc.lines())[:500],
        )  # fmt: skip
        return response

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "internal_error", method=request.method, path=request.url.path,
            error=f"{type(exc).__name__}: {exc}"[:500],
        )  # fmt: skip
        return problem_response(500, "internal", "internal error; the node's log says more")

    app.add_exception_handler(CsbmError, on_csbm)
    app.add_exception_handler(Exception, on_bug)
