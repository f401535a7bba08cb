"""The app factory of ``csbm serve``: one FastAPI app per node (or hub), its delivery
worker in the same process, every error as RFC 9457 problem+json, OpenAPI at
``/openapi.json``.

Source: issue 11, item 1. The lifespan opens the node, starts the worker, and on shutdown
(after uvicorn has let the requests in flight finish) stops the worker after its attempt
in flight and closes the node: the outbox is in the database, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from csbm import __version__
from csbm.api.config import Settings
from csbm.domain.time import now
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


#: The path of the inbox (``POST``: a delivery), served by :meth:`App.inbox`.
INBOX = "/api/v1/inbox"
#: The inbox's worker threads, as many as anyio's default thread pool (which served it
#: before: see :meth:`App.inbox`).
INBOX_THREADS = 40


class App(FastAPI):
    """The FastAPI app with a lean path for ``POST /api/v1/inbox``, the hot path of a
    fan-out (issue 11, item 9): a delivery goes from the server straight to the same
    handler as the route's (:func:`csbm.api.routes._receive`), in a worker thread of its
    own pool -- without the framework's middleware, routing and anyio's hand-off (about
    half of a node's CPU per delivery outside the handler). Everything else, and the
    inbox when the app has no site open (no lifespan), takes the plain path. The answers
    are the route's: the same handlers of errors (problem+json, RFC 9457) in the same
    order, a bug answered 500 and raised to the server, as Starlette's middleware does
    (tests compare both paths)."""

    #: False: the inbox takes the plain path (the FastAPI route) too
    lean_inbox: bool = True
    _inbox_pool: ThreadPoolExecutor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == INBOX
            and scope["method"] == "POST"
            and self._inbox_pool is not None
            and self.lean_inbox
            and not scope.get("root_path")
        ):
            await self.inbox(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def inbox(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A delivery, as the route would serve it: the body read by Starlette's
        request, then :func:`csbm.api.routes._receive` in a worker thread; an exception
        answered by the handler the app has for it (as Starlette's ExceptionMiddleware
        finds it), else -- a bug -- by the app's handler of ``Exception`` and raised, as
        Starlette's ServerErrorMiddleware does."""
        from starlette.requests import Request as StarletteRequest

        from csbm.api.routes import _now, _receive

        scope["app"] = self
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        request = StarletteRequest(scope, receive, sender)
        try:
            try:
                body = await request.body()
                pool = self._inbox_pool
                assert pool is not None
                context = contextvars.copy_context()  # as anyio's hand-off does
                response = await asyncio.get_running_loop().run_in_executor(
                    pool, context.run, _receive, request, body, _now(request)
                )
            except Exception as exc:
                handler = self._handler_of(exc)
                if handler is None:
                    raise
                if started:  # pragma: no cover - as Starlette says
                    raise RuntimeError(
                        "Caught handled exception, but response already started."
                    ) from exc
                response = handler(request, exc)
                if inspect.isawaitable(response):
                    response = await response
            await response(scope, receive, sender)
        except Exception as exc:
            bug = self.exception_handlers.get(500) or self.exception_handlers.get(Exception)
            if bug is None:  # pragma: no cover - _problems installs it
                raise
            answer = bug(request, exc)
            if inspect.isawaitable(answer):
                answer = await answer
            if not started:
                await answer(scope, receive, send)
            raise exc

    def _handler_of(self, exc: Exception) -> Any:
        """The handler the app has for ``exc`` (by its class, the nearest first; an HTTP
        error by its status first), leaving a bug (``Exception``, 500) to the caller."""
        from starlette.exceptions import HTTPException

        handlers = self.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None  # pragma: no cover


def create_app(settings: Settings, clock: Callable[[], datetime] | None = None) -> App:
    """The app of the node (or hub) in ``settings.data``; ``clock`` for tests."""
    tick = clock or wall_clock
    hub = is_hub(settings.data)

    @asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
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
        app._inbox_pool = ThreadPoolExecutor(INBOX_THREADS, thread_name_prefix="csbm-inbox")
        # the worker reads the clock to the millisecond (a retry due in 0.25 s falls due
        # then, not at the next whole second); a test's clock as given
        worker = _worker(site, settings, clock or now) if settings.worker else None
        app.state.worker = worker
        if worker is not None:
            worker.start()
        log.info("serving", state=site.state, data=str(settings.data))
        try:
            yield
        finally:
            pool, app._inbox_pool = app._inbox_pool, None
            if pool is not None:  # the requests in flight have finished (uvicorn)
                pool.shutdown(wait=True)
            if worker is not None:
                worker.close()
                worker.client.close()
            replays = getattr(app.state, "web_replays", None)
            if replays is not None:
                replays.close()  # the background replay ends before the node closes
            site.close()
            log.info("stopped", state=site.state)

    app = App(
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
