"""The web workbench of a node: server-rendered pages (Jinja2 + htmx, Leaflet, vendored)
over the services, and their JSON twins in the API.

Source: issue 12, items 1 and 3; DESIGN.md, layout (``web/``). :func:`install` adds the
pages (``/web/...``), the static files (``/web/static/...``) and the twins
(``/api/v1/workbench/...``) to a node's app; :func:`csbm.api.create_app` calls it, so
``csbm serve`` and the tests (``TestClient(create_app(settings, clock))``) start the same
page set. ``tile_url`` (optional) adds a tile layer under the borders of the map.

The map's geography (:func:`warm_up`, seconds of CPU) is loaded in the background when
the server starts, so that the first map page, the composer's check of an area and the
first replay of a message with an area (which the pages serve) find it loaded; with
``--lazy-map`` it is loaded when the first request for a page or a twin arrives
(:class:`WarmOnFirstPage`): a node that only exchanges messages (a network of 56 nodes on
one machine) never loads it.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI

__all__ = ["WarmOnFirstPage", "install", "warm_up"]

_warming: list[threading.Thread] = []


def warm_up() -> threading.Thread:
    """Load, once per process and in the background, what the first map page and the
    first composer check of an area would otherwise load while a user waits (seconds):
    the vendored borders, the zone of application, the map's borders GeoJSON and the
    border zones of the bilateral packs."""
    if not _warming:

        def load() -> None:
            from csbm.geo.zone import zone_of_application
            from csbm.projection import node_context
            from csbm.services.map import border_zones, borders_geojson

            zone_of_application()
            borders_geojson()
            border_zones(node_context().packs)  # each band computed once per process

        thread = threading.Thread(target=load, name="csbm-web-warm-up", daemon=True)
        _warming.append(thread)
        thread.start()
    return _warming[0]


#: The paths whose first request starts :func:`warm_up`: the pages and their JSON twins.
WARM_PREFIXES = ("/web", "/api/v1/workbench")


class WarmOnFirstPage:
    """ASGI middleware: the first request for a page or a twin (:data:`WARM_PREFIXES`)
    starts :func:`warm_up` in the background; every request passes through unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.started and scope["type"] == "http":
            path = scope.get("path", "")
            if isinstance(path, str) and path.startswith(WARM_PREFIXES):
                self.started = True
                warm_up()
        await self.app(scope, receive, send)


#: What a client is told to wait before asking again while the view of the log is being
#: built (seconds; ``Retry-After``).
RETRY_AFTER = 1


def _not_ready_answers(app: FastAPI) -> None:
    """The JSON twins' answers while the view of the log cannot be served: 503 with
    ``Retry-After`` and the replay's progress while it is being built; 500 when it failed
    (problem+json, RFC 9457; the pages show both as pages: :mod:`csbm.web.pages`)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from csbm.api.auth import PROBLEM_JSON
    from csbm.web.replays import NotReady, ReplayFailed

    async def not_ready(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NotReady)
        body = {
            "type": "about:blank", "title": "Service Unavailable", "status": 503,
            "detail": f"{exc}; ask again in a moment", "code": "web.not_ready",
            "progress": exc.progress.as_dict(),
        }  # fmt: skip
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON,
                            headers={"Retry-After": str(RETRY_AFTER),
                                     "Cache-Control": "no-store"})  # fmt: skip

    async def failed(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ReplayFailed)
        body = {
            "type": "about:blank", "title": "Internal Server Error", "status": 500,
            "detail": f"the replay of the node's log failed: {exc.reason}; it is tried again "
            "after a minute; the node's log says more",
            "code": "web.replay_failed",
        }  # fmt: skip
        return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON,
                            headers={"Cache-Control": "no-store"})  # fmt: skip

    app.add_exception_handler(NotReady, not_ready)
    app.add_exception_handler(ReplayFailed, failed)


def install(app: FastAPI, tile_url: str | None = None, *, warm: bool = True) -> None:
    """Add the workbench's pages, static files and JSON twins to ``app`` (a node's).
    ``warm``: the map's geography loaded from now on in the background (``csbm serve``'s
    default); else at the first page (:class:`WarmOnFirstPage`, ``--lazy-map``)."""
    from csbm.web import views  # noqa: F401  (registers the pages on the router)
    from csbm.web.pages import router as pages
    from csbm.web.static_files import router as static
    from csbm.web.twins import router as twins

    app.state.web_tile_url = tile_url
    app.include_router(static)
    app.include_router(pages)
    app.include_router(twins)
    _not_ready_answers(app)
    if warm:
        warm_up()
    else:
        app.add_middleware(WarmOnFirstPage)  # the geography, at the first page
