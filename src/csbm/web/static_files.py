"""The workbench's own static files and the vendored front-end libraries (htmx, Leaflet:
``static/vendor/PROVENANCE.md``), served by the node itself: no CDN, no build step.

Only the files shipped in the package are served (a fixed table made once; no path is
ever joined from a request), with their media type, a strong ETag (sha256) and a day of
caching.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(prefix="/web/static", include_in_schema=False)

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@cache
def files() -> dict[str, tuple[bytes, str, str]]:
    """Every servable file: its path under ``static/`` -> (bytes, media type, ETag)."""
    out: dict[str, tuple[bytes, str, str]] = {}
    root = resources.files("csbm.web") / "static"

    def walk(node: object, prefix: str) -> None:
        for child in node.iterdir():  # type: ignore[attr-defined]
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
                continue
            suffix = "." + child.name.rsplit(".", 1)[-1] if "." in child.name else ""
            if suffix in TYPES:
                raw = child.read_bytes()
                out[name] = (raw, TYPES[suffix], '"' + hashlib.sha256(raw).hexdigest()[:32] + '"')

    walk(root, "")
    return out


@router.get("/{path:path}")
def static(path: str, request: Request) -> Response:
    """One static file, or 404."""
    found = files().get(path)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    raw, media, etag = found
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400",
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type=media, headers=headers)
