"""Node-to-node authentication for the API: the request signed by a peer's State key
(:mod:`csbm.exchange.wire`), checked against this node's key directory (or, for the hub,
its pinned key). Every refusal is logged (structlog) and answered with problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from csbm.exchange.wire import Signed, verify_request
from csbm.hub import HUB, Hub
from csbm.ledger.keys import KeyDirectory, key_id_hex
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


#: Public-key objects of the pinned keys seen, by their raw bytes (a key object is made
#: once, not per request: the hub signs every delivery it relays).
_KEY_OBJECTS: dict[bytes, Ed25519PublicKey] = {}


def _key_object(raw: bytes) -> bytes | Ed25519PublicKey:
    """The key object of a raw Ed25519 public key, made once; the raw bytes when they are
    not a key (the request is then refused as before, by the signature check)."""
    key = _KEY_OBJECTS.get(raw)
    if key is None:
        try:
            key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            return raw
        if len(_KEY_OBJECTS) >= 64:
            _KEY_OBJECTS.clear()
        _KEY_OBJECTS[raw] = key
    return key


def _lookup(site: Node | Hub, directory: KeyDirectory | None = None) -> Any:
    """The key a peer signs its requests with: the hub's pinned key, or a State's key
    in the key directory (``directory``, else the site's: held between requests, read
    again only after a key write) -- unknown, own or revoked: None."""

    def public_key(signer: str, key_id: str) -> bytes | Ed25519PublicKey | None:
        if signer == HUB:
            if isinstance(site, Hub):
                return None
            hub = site.peer(HUB)
            if hub is None or key_id_hex(hub.key_name, hub.public_key) != key_id:
                return None
            return _key_object(hub.public_key)
        if signer == site.state:
            return None
        keys = directory if directory is not None else site.directory_of_keys()
        record = keys.get(signer, key_id)
        if record is None or record.own or record.revoked_at is not None:
            return None
        return keys.public(signer, key_id)  # the directory's key object, made once

    return public_key


def check_signed(
    site: Node | Hub,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: datetime,
    skew: timedelta,
    directory: KeyDirectory | None = None,
) -> Signed:
    """The peer that signed a request (blocking: it may read the key directory, unless
    ``directory`` is given); every refusal (401) is logged."""
    try:
        lookup = _lookup(site, directory)
        return verify_request(headers, method, target, body, now, skew, lookup)
    except Exception as exc:
        log.warning(
            "refused", path=target.partition("?")[0], method=method,
            signer=headers.get("csbm-signer"), code=getattr(exc, "code", None),
            reason=str(exc),
        )  # fmt: skip
        raise


def target_of(request: Request) -> str:
    """The path and query a request was signed for."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def signed_peer(request: Request) -> Signed:
    """The peer that signed this request (a State code, or ``hub``); 401 otherwise."""
    site = site_of(request)
    body = await request.body()
    clock = getattr(request.app.state, "clock", None)
    now = clock() if callable(clock) else wall_clock()
    return await run_in_threadpool(
        check_signed, site, request.headers, request.method, target_of(request), body, now,
        skew_of(request),
    )  # fmt: skip
