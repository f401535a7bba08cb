"""The web workbench of a node: server-rendered pages (Jinja2 + htmx, Leaflet, vendored)
over the services, and their JSON twins in the API.

Source: issue 12, items 1 and 3; DESIGN.md, layout (``web/``). :func:`install` adds the
pages (``/web/...``), the static files (``/web/static/...``) and the twins
(``/api/v1/workbench/...``) to a node's app; :func:`csbm.api.create_app` calls it, so
``csbm serve`` and the tests (``TestClient(create_app(settings, clock))``) start the same
page set. ``tile_url`` (optional) adds a tile layer under the borders of the map.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI

__all__ = ["install", "warm_up"]

_warming: list[threading.Thread] = []


def warm_up() -> threading.Thread:
    """Load, once per process and in the background, what the first map page and the
    first composer check of an area would otherwise load while a user waits (seconds):
    the vendored borders, the zone of application, the map's borders GeoJSON."""
    if not _warming:

        def load() -> None:
            from csbm.geo.zone import zone_of_application
            from csbm.services.map import borders_geojson

            zone_of_application()
            borders_geojson()

        thread = threading.Thread(target=load, name="csbm-web-warm-up", daemon=True)
        _warming.append(thread)
        thread.start()
    return _warming[0]


def install(app: FastAPI, tile_url: str | None = None) -> None:
    """Add the workbench's pages, static files and JSON twins to ``app`` (a node's)."""
    from csbm.web import views  # noqa: F401  (registers the pages on the router)
    from csbm.web.pages import router as pages
    from csbm.web.static_files import router as static
    from csbm.web.twins import router as twins

    app.state.web_tile_url = tile_url
    app.include_router(static)
    app.include_router(pages)
    app.include_router(twins)
    warm_up()
