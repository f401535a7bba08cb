"""The vendored front-end files are the ones their provenance names (sha256), each with
its licence, and the node serves them itself with their media type (no CDN); nothing
outside the table is served (issue 12, item 1)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from csbm.web.static_files import router

STATIC = Path(__file__).resolve().parents[2] / "src" / "csbm" / "web" / "static"
VENDOR = STATIC / "vendor"


def test_every_vendored_file_matches_its_provenance() -> None:
    text = (VENDOR / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M)
    listed = {path: digest for digest, path in rows}
    on_disk = {
        str(p.relative_to(VENDOR)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "PROVENANCE.md"
    }
    assert on_disk == listed
    assert (VENDOR / "htmx" / "LICENSE").is_file() and (VENDOR / "leaflet" / "LICENSE").is_file()
    assert "htmx.org | 2.0.11" in text and "leaflet | 1.9.4" in text


def test_static_files_are_served_with_their_type_and_nothing_else() -> None:
    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    js = client.get("/web/static/vendor/htmx/htmx.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.content == (VENDOR / "htmx" / "htmx.min.js").read_bytes()
    again = client.get("/web/static/vendor/htmx/htmx.min.js",
                       headers={"If-None-Match": js.headers["etag"]})  # fmt: skip
    assert again.status_code == 304
    css = client.get("/web/static/vendor/leaflet/leaflet.css")
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/web/static/vendor/leaflet/images/layers.png").status_code == 200
    refused = ("../pages.py", "vendor/PROVENANCE.md", "vendor/htmx/LICENSE", "%2e%2e/x", "x.js")
    for path in refused:
        assert client.get(f"/web/static/{path}").status_code == 404, path


def test_no_template_loads_anything_from_another_origin() -> None:
    templates = STATIC.parent / "templates"
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', text), page.name
