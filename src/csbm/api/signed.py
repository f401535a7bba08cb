"""Node-to-node authentication for the API: the request signed by a peer's State key
(:mod:`csbm.exchange.wire`), checked against this node's key directory (or, for the hub,
its pinned key). Every refusal is logged (structlog) and answered with problem+json.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from csbm.exchange.wire import Signed, verify_request
from csbm.hub import HUB, Hub
from csbm.ledger.keys import key_id_hex
from csbm.node import Node
from csbm.services.clock import wall_clock

log = structlog.get_logger("csbm.api")


def site_of(request: Request) -> Node | Hub:
    """The node or hub this app serves (``app.state.site``)."""
    site = getattr(request.app.state, "site", None)
    if not isinstance(site, Node | Hub):
        raise RuntimeError("the app has no node (app.state.site)")
    return site


def skew_of(request: Request) -> timedelta:
    return timedelta(seconds=float(getattr(request.app.state, "skew_seconds", 300.0)))


def _lookup(site: Node | Hub) -> Any:
    def public_key(signer: str, key_id: str) -> bytes | None:
        if signer == HUB:
            if isinstance(site, Hub):
                return None
            hub = site.peer(HUB)
            if hub is None or key_id_hex(hub.key_name, hub.public_key) != key_id:
                return None
            return hub.public_key
        if signer == site.state:
            return None
        for record in site.key_records(signer):
            if record.key_id == key_id and not record.own and record.revoked_at is None:
                return record.public_key
        return None

    return public_key


async def signed_peer(request: Request) -> Signed:
    """The peer that signed this request (a State code, or ``hub``); 401 otherwise."""
    site = site_of(request)
    body = await request.body()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    clock = getattr(request.app.state, "clock", None)
    now = clock() if callable(clock) else wall_clock()
    lookup = _lookup(site)
    try:
        return await run_in_threadpool(
            verify_request, request.headers, request.method, target, body, now,
            skew_of(request), lookup,
        )  # fmt: skip
    except Exception as exc:
        log.warning(
            "refused", path=request.url.path, method=request.method,
            signer=request.headers.get("csbm-signer"), code=getattr(exc, "code", None),
            reason=str(exc),
        )  # fmt: skip
        raise
