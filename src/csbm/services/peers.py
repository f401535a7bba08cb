"""The directory of peers: add one by URL and pinned fingerprint, list, remove.

Source: issue 11, item 4: ``csbm peer add STATE URL --fingerprint FP`` fetches the peer's
public key from ``URL/.well-known/csbm`` and refuses it unless its fingerprint (from the
peer's ``csbm keys show``) matches, as SSH pins a host key (RFC 4251 §4.1: the host key
is verified out of band). On a State's node the key goes to the key directory (logged as a
signed ``csbm.peer_key`` entry) and the URL to ``peers``; ``STATE`` may be ``hub`` (the
hub's request key is pinned the same way). On a hub, ``peer add`` registers a State's node
for the fan-out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from csbm.domain.states import is_participating_state
from csbm.errors import InputError, NotFoundError, Problem
from csbm.hub import HUB, HUB_KEY_NAME, Hub
from csbm.ledger.keys import fingerprint as fingerprint_of
from csbm.ledger.keys import parse_verifier_key, stamp
from csbm.node import Node
from csbm.services.documents import Document
from csbm.store.outbox import PeerRecord

WellKnown = Callable[[str], dict[str, Any]]
"""How a peer's ``/.well-known/csbm`` is fetched (``csbm.exchange.http.well_known``)."""


class PeerDocument(Document):
    state: str
    url: str
    fingerprint: str
    key: str
    added_at: str


class PeersDocument(Document):
    peers: list[PeerDocument]


def _doc(p: PeerRecord) -> PeerDocument:
    from csbm.ledger.keys import verifier_key

    return PeerDocument(
        state=p.state,
        url=p.url,
        fingerprint=p.fingerprint,
        key=verifier_key(p.key_name, p.public_key),
        added_at=p.added_at,
    )


def check_url(url: str) -> str:
    """An http(s) URL without query or fragment; the trailing slash cut."""
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError("bad URL", [Problem("URL", "an http:// or https:// URL", url)])
    if parts.query or parts.fragment:
        raise InputError("bad URL", [Problem("URL", "no query or fragment", url)])
    return url.strip().rstrip("/")


def _state(code: str) -> str:
    text = code.strip() if isinstance(code, str) else ""
    if text.lower() == HUB:
        return HUB
    if not is_participating_state(text.upper()):
        raise InputError(
            "unknown State",
            [Problem("STATE", "a participating State's code, or hub", code)],
        )
    return text.upper()


def add_peer(
    site: Node | Hub,
    state: str,
    url: str,
    fingerprint: str,
    at: datetime,
    fetch: WellKnown,
) -> PeerDocument:
    """Fetch the peer's key from ``url``, pin it by ``fingerprint`` and record the peer.

    The key is valid from the start of the second ``at`` falls in: envelopes and receipts
    carry their instants to the second, so one signed in the same second as the pinning
    must not read as signed before the key was valid."""
    at = at.replace(microsecond=0)
    code = _state(state)
    base = check_url(url)
    wanted = fingerprint.strip() if isinstance(fingerprint, str) else ""
    if not wanted.startswith("SHA256:"):
        raise InputError(
            "bad fingerprint",
            [Problem("--fingerprint", "SHA256:... as csbm keys show prints it", fingerprint)],
        )
    if code == site.state:
        raise InputError("own node", [Problem("STATE", "this node itself", state)])
    doc = fetch(base)
    key = doc.get("key")
    said = doc.get("state")
    if not isinstance(key, str) or not isinstance(said, str):
        raise InputError(
            "not a csbm node", [Problem("URL", "no key at /.well-known/csbm", base)],
            code="peer.not_csbm",
        )  # fmt: skip
    name, public = parse_verifier_key(key)
    if said != code or name != (HUB_KEY_NAME if code == HUB else f"csbm/{code}"):
        raise InputError(
            "another node",
            [Problem("STATE", f"the node at {base} is {said!r}, not {code!r}", said)],
            code="peer.wrong_state",
        )
    got = fingerprint_of(public)
    if got != wanted:
        raise InputError(
            "fingerprint mismatch",
            [
                Problem(
                    "--fingerprint",
                    f"the key at {base} has fingerprint {got}: not the one given; "
                    "check it with the peer out of band",
                    wanted,
                )
            ],
            code="peer.fingerprint_mismatch",
        )
    if isinstance(site, Hub):
        if code == HUB:
            raise InputError("hub", [Problem("STATE", "a hub registers States' nodes", state)])
        site.register(code, key, base, got, at)
    else:
        if code != HUB:
            site.add_peer_key(code, key, at)
        site.put_peer(PeerRecord(code, base, name, public, got, stamp(at)))
    record = site.peer(code)
    assert record is not None
    return _doc(record)


def list_peers(site: Node | Hub) -> PeersDocument:
    return PeersDocument(peers=[_doc(p) for p in site.peers()])


def remove_peer(site: Node | Hub, state: str) -> PeerDocument:
    """Forget a peer's URL (on a hub: stop relaying to it). Its keys stay in the key
    directory: the log's entries signed with them must still verify."""
    code = _state(state)
    record = site.peer(code)
    if record is None:
        raise NotFoundError(f"no peer {code}", code="peer.unknown")
    if isinstance(site, Hub):
        site.unregister(code)
    else:
        site.remove_peer(code)
    return _doc(record)


def well_known(site: Node | Hub) -> dict[str, Any]:
    """What this node says at ``/.well-known/csbm``: its State (or ``hub``), its current
    public key (C2SP verifier key), key id and fingerprint."""
    key = site.key
    return {
        "csbm": 1,
        "state": site.state,
        "role": HUB if isinstance(site, Hub) else "node",
        "key": key.verifier_key,
        "key_id": key.key_id,
        "fingerprint": key.fingerprint,
    }
