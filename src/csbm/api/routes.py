"""The node's JSON API: the node-to-node protocol, the auditors' reads, and the shell's
use cases (send, inbox, status, peers) over :mod:`csbm.services`.

Source: issue 11, items 2-6. Node-to-node requests are signed with the peer's State key
(:mod:`csbm.api.signed`); people use accounts (:mod:`csbm.api.auth`: Bearer token or
Basic password, roles). A State is served only the messages addressed to it, sent by it,
or sent to all (:func:`csbm.accounts.policy.visible_to`).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from csbm.accounts.policy import Action, Forbidden, Unauthenticated, require
from csbm.api.auth import require_action
from csbm.api.signed import check_signed, signed_peer, site_of, skew_of, target_of
from csbm.errors import CsbmError, InputError, NotFoundError, Problem
from csbm.exchange.wire import (
    MAX_DELIVERY,
    Signed,
    batch_from_json,
    delivery_from_json,
    delivery_to_json,
    item_problems,
)
from csbm.hub import HUB, Hub
from csbm.ledger.envelope import ALL, Envelope, parse_envelope
from csbm.ledger.keys import KeyDirectory, stamp
from csbm.ledger.receipt import Delivery, ReceiptError
from csbm.node import Node
from csbm.services import inbox as inbox_service
from csbm.services import peers as peer_service
from csbm.services import send as send_service
from csbm.services import status as status_service
from csbm.services.clock import wall_clock

log = structlog.get_logger("csbm.api")

router = APIRouter()
"""The routes of a State's node."""
shared_router = APIRouter()
"""The routes of a node and of a hub alike."""

_PEER: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed by a registered peer's key (problem+json)"},
    403: {"description": "Not served to this State (problem+json)"},
}
_ACCOUNT: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad credentials (problem+json)"},
    403: {"description": "The account's role does not allow it (problem+json)"},
}


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if callable(clock) else wall_clock()


def _node(request: Request) -> Node:
    site = site_of(request)
    if not isinstance(site, Node):
        raise NotFoundError("a hub has no log of its own", code="hub.no_log")
    return site


async def _local_account(request: Request, action: Action) -> None:
    """A person on this node: Bearer token or Basic password, with ``action`` allowed."""
    from csbm.services import users

    node = _node(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    at = _now(request)
    if scheme.lower() == "bearer" and value:
        account = await run_in_threadpool(users.authenticate_token, node, value.strip(), at)
    elif scheme.lower() == "basic" and value:
        try:
            name, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            raise Unauthenticated("bad Basic credentials") from None
        account = await run_in_threadpool(users.authenticate_password, node, name, password, at)
    else:
        raise Unauthenticated("credentials required: a node's signed request, or an account")
    require(account.role, action, who=account.name)


async def reader_of(request: Request) -> str | None:
    """Who reads: the State (or ``hub``) of a signed peer request, or None for a person
    with an account allowed to read the log (a person on this node is served all)."""
    if request.headers.get("csbm-signer"):
        return (await signed_peer(request)).signer
    await _local_account(request, Action.READ_LOG)
    return None


PeerDep = Annotated[Signed, Depends(signed_peer)]
ReaderDep = Annotated[str | None, Depends(reader_of)]


# -- who we are


@shared_router.get("/.well-known/csbm", tags=["network"])
async def well_known(request: Request) -> dict[str, Any]:
    """This node's State (or ``hub``), its public key, key id and fingerprint: what
    ``csbm peer add`` fetches and pins (compare the fingerprint out of band). Served on
    the event loop (no database, the key is read once): it answers even when every
    worker thread waits on the database, so a restarted node is seen to be up."""
    return peer_service.well_known(site_of(request))


# -- node to node


def _check_created(created: datetime, now: datetime, skew: timedelta) -> None:
    if created - now > skew:
        raise ReceiptError(
            "delivery.clock_skew",
            f"created_at is more than {int(skew.total_seconds())} s ahead of this node's "
            f"clock ({stamp(now)})",
            "created_at",
            stamp(created),
        )


#: The inbox's request body as the OpenAPI document shows it (the route reads the body
#: itself: see :func:`receive`).
_DELIVERY_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "additionalProperties": True,
                "type": "object",
                "title": "Delivery",
                "description": "A delivery: envelope, checkpoint, inclusion and consistency "
                "proofs; or several to a node, received in order in one commit: "
                '{"deliveries": [delivery, ...]} (at most 64; the answer: "receipts" -- '
                'on a hub, messages to all: "accepted" -- and "refused" when one was '
                'refused after some were accepted).',
            }
        }
    },
}
_INBOX: dict[int | str, dict[str, Any]] = {
    **_PEER,
    400: {"description": "A delivery this node refuses, with the reason (problem+json)"},
    422: {"description": "Not a JSON object (problem+json)"},
}


def _unreadable(error: dict[str, Any]) -> RequestValidationError:
    return RequestValidationError([error])


def _delivery_document(content_type: str | None, body: bytes) -> Any:
    """The JSON document of an inbox request, read as FastAPI reads a JSON body (a JSON
    media type required; 422 ``request.invalid`` otherwise, or when it is not JSON)."""
    if not body:
        raise _unreadable({"type": "missing", "loc": ("body",), "msg": "Field required",
                           "input": None})  # fmt: skip
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise _unreadable({"type": "dict_type", "loc": ("body",),
                           "msg": "Input should be a valid dictionary", "input": None})  # fmt: skip
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        raise _unreadable({"type": "json_invalid", "loc": ("body", position),
                           "msg": "JSON decode error", "input": {}}) from None  # fmt: skip
    if not isinstance(doc, dict):
        raise _unreadable({"type": "dict_type", "loc": ("body",),
                           "msg": "Input should be a valid dictionary", "input": None})  # fmt: skip
    return doc


def _receive(request: Request, body: bytes, at: datetime) -> JSONResponse:
    """The inbox's work, in one worker thread: the request's signature, the document,
    the checks of the route, then ``Node.receive`` (verify, log, fsync, receipt) or, on a
    hub, ``Hub.accept``."""
    site = site_of(request)
    with site.store.reading():  # the key directory's version and a pinned key: one read
        directory = site.directory_of_keys()  # for the signature and the receive
        peer = check_signed(site, request.headers, request.method, target_of(request), body,
                            at, skew_of(request), directory)  # fmt: skip
    delivery = _delivery_document(request.headers.get("content-type"), body)
    if "deliveries" in delivery:
        return _receive_many(request, site, peer, delivery, at, directory)
    parsed = delivery_from_json(delivery)
    envelope = parse_envelope(parsed.envelope)
    _check_relay(request, peer, envelope, at)
    if isinstance(site, Hub):
        accepted = _accept_relay(site, delivery, parsed, at)
        _wake_worker(request)
        return JSONResponse(accepted, status_code=202)
    receipt = site.receive(parsed, at, directory=directory, envelope=envelope)
    log.info("received", message_id=envelope.message_id, sender=envelope.sender, via=peer.signer)
    return JSONResponse(
        {
            "message_id": envelope.message_id,
            "log_index": receipt.body["log_index"],
            "receipt": base64.b64encode(receipt.raw).decode("ascii"),
        }
    )


def _check_relay(request: Request, peer: Signed, envelope: Envelope, at: datetime) -> None:
    """The envelope's time within the skew, and the peer allowed to hand it over: the
    hub only messages to all, a State only its own."""
    _check_created(envelope.created, at, skew_of(request))
    if peer.signer == HUB:
        if ALL not in envelope.recipients:
            raise Forbidden("the hub relays only messages to all", "recipients", "hub")
    elif envelope.sender != peer.signer:
        raise Forbidden(
            f"{peer.signer} may deliver only its own messages, not {envelope.sender}'s",
            "sender",
            envelope.sender,
        )


def _receive_many(
    request: Request,
    site: Node | Hub,
    peer: Signed,
    doc: dict[str, Any],
    at: datetime,
    directory: KeyDirectory,
) -> JSONResponse:
    """Several deliveries to a node in one request (``{"deliveries": [...]}``): each
    envelope checked as one alone would be -- any one refused refuses the request, its
    problems under ``deliveries[i]``, nothing stored -- then received in order in one
    commit (on a hub: accepted in order, :func:`_relay_many`). The answer: the receipts
    of those accepted (``receipts``, in order) and, when one was refused after some were
    accepted, its refusal (``refused``: its index, code and reason; those after it were
    not looked at: send them again). The first one refused is answered as it would be
    alone (problem+json)."""
    deliveries = batch_from_json(doc)
    envelopes: list[Envelope] = []
    for i, item in enumerate(deliveries):
        try:
            envelope = parse_envelope(item.envelope)
            _check_relay(request, peer, envelope, at)
        except CsbmError as exc:
            exc.problems = item_problems(exc, i)
            raise
        envelopes.append(envelope)
    if isinstance(site, Hub):
        return _relay_many(request, site, doc["deliveries"], deliveries, at)
    receipts, refusal = site.receive_many(deliveries, at, directory=directory,
                                          envelopes=envelopes)  # fmt: skip
    if refusal is not None and not receipts:
        raise refusal
    accepted = envelopes[: len(receipts)]
    # one line for the batch, each message id with its sender, in order (a line per
    # message cost about 5 % of a batch's CPU on the node)
    log.info("received", message_ids=[e.message_id for e in accepted],
             senders=[e.sender for e in accepted], via=peer.signer)  # fmt: skip
    answer: dict[str, Any] = {
        "receipts": [
            {
                "message_id": envelope.message_id,
                "log_index": receipt.body["log_index"],
                "receipt": base64.b64encode(receipt.raw).decode("ascii"),
            }
            for envelope, receipt in zip(accepted, receipts, strict=True)
        ]
    }
    if refusal is not None:
        answer["refused"] = _refused(request, refusal, len(receipts))
    return JSONResponse(answer)


def _refused(request: Request, refusal: CsbmError, index: int) -> dict[str, Any]:
    """A batch's delivery refused after some were accepted: logged, and as the answer
    names it (its index, code and reason)."""
    reason = "; ".join(refusal.lines())[:500]
    log.warning("refused", method=request.method, path=request.url.path, code=refusal.code,
                index=index, reason=reason)  # fmt: skip
    return {"index": index, "code": refusal.code, "detail": reason}


def _accept_relay(
    hub: Hub, doc: Any, parsed: Delivery, at: datetime, where: str = "(delivery)"
) -> dict[str, Any]:
    """A message to all accepted by the hub (stored, its JSON form ``doc`` at most
    :data:`MAX_DELIVERY` -- else refused at ``where`` -- and queued for every node): its
    id and the States it goes to."""
    text = json.dumps(doc)
    if len(text) > MAX_DELIVERY:
        raise InputError("too large", [Problem(where, "larger than 8 MiB")])
    envelope, targets = hub.accept(parsed, text, at)
    log.info("relay.accepted", message_id=envelope.message_id, to=targets)
    return {"message_id": envelope.message_id, "relayed_to": targets}


def _wake_worker(request: Request) -> None:
    """The hub's worker told that deliveries wait (it relays them at once)."""
    waker = getattr(request.app.state, "worker", None)
    if waker is not None:
        waker.wake.set()


def _relay_many(
    request: Request, hub: Hub, docs: list[Any], deliveries: list[Delivery], at: datetime
) -> JSONResponse:
    """Several messages to all handed to the hub in one request, each accepted (stored
    and queued for every node) as one alone would be, in order: 202 with ``accepted``
    (each message id and the States it goes to) and, when one was refused after some
    were accepted, ``refused`` (its index, code and reason; send the rest again). The
    first one refused is answered as it would be alone."""
    accepted: list[dict[str, Any]] = []
    refusal: CsbmError | None = None
    for i, (item, parsed) in enumerate(zip(docs, deliveries, strict=True)):
        try:
            accepted.append(_accept_relay(hub, item, parsed, at, f"deliveries[{i}]"))
        except CsbmError as exc:
            refusal = exc
            break
    if refusal is not None and not accepted:
        raise refusal
    _wake_worker(request)
    answer: dict[str, Any] = {"accepted": accepted}
    if refusal is not None:
        answer["refused"] = _refused(request, refusal, len(accepted))
    return JSONResponse(answer, status_code=202)


@shared_router.post(
    "/api/v1/inbox", tags=["network"], responses=_INBOX,
    openapi_extra={"requestBody": _DELIVERY_BODY}, response_class=JSONResponse,
)  # fmt: skip
async def receive(request: Request) -> JSONResponse:
    """Receive a delivery from a peer (or relayed by the hub): verified as
    ``Node.receive`` does, logged with a signed receipt, which is the answer. The same
    message again gets the same receipt. On a hub: a message to all, stored and relayed
    to every registered node (202)."""
    # The hot path of a fan-out (issue 11, item 9): the body read once, as bytes (the
    # signature covers them; the wire decoder validates the document, no model of it),
    # and everything that blocks -- key directory, signature, SQLite, fsync -- in one
    # worker thread.
    body = await request.body()
    return await run_in_threadpool(_receive, request, body, _now(request))


@router.get("/api/v1/log/checkpoint", tags=["audit"], responses=_PEER)
def checkpoint(request: Request, _reader: ReaderDep) -> dict[str, Any]:
    """A fresh signed checkpoint of this node's log (C2SP tlog-checkpoint)."""
    node = _node(request)
    signed = node.checkpoint(_now(request))
    return {
        "origin": signed.origin,
        "size": signed.size,
        "root": base64.b64encode(signed.root).decode("ascii"),
        "note": signed.note,
    }


def _visible(node: Node, message_id: str, reader: str | None) -> bytes:
    if reader is None:
        entry = node.entry_by_message_id(message_id)
        if entry is None:
            raise NotFoundError(f"no message {message_id}", code="message.unknown")
        return entry.envelope
    try:
        return inbox_service.message_for(node, message_id, reader)[1]
    except Forbidden:
        log.warning("refused", reason="not served", message_id=message_id, reader=reader)
        raise


@router.get("/api/v1/log/inclusion", tags=["audit"], responses=_PEER)
def inclusion(
    request: Request,
    reader: ReaderDep,
    message_id: Annotated[str, Query(max_length=36)],
    size: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> dict[str, Any]:
    """The envelope of a message and its RFC 9162 inclusion proof (§2.1.3) in the tree
    of ``size`` entries (default: the whole log) -- served only to whom it may be."""
    node = _node(request)
    raw = _visible(node, message_id, reader)
    entry = node.entry_by_message_id(message_id)
    assert entry is not None
    total = node.size()
    if size is not None and not entry.index < size <= total:
        raise InputError(
            "bad size", [Problem("size", f"between {entry.index + 1} and {total}", size)]
        )
    proof = node.prove_inclusion(entry.index, size or total)
    return {"envelope": base64.b64encode(raw).decode("ascii"), "inclusion": proof.to_json()}


@router.get("/api/v1/log/consistency", tags=["audit"], responses=_PEER)
def consistency(
    request: Request,
    _reader: ReaderDep,
    from_size: Annotated[int, Query(alias="from", ge=1, le=2**53)],
    to_size: Annotated[int | None, Query(alias="to", ge=1, le=2**53)] = None,
) -> dict[str, Any]:
    """An RFC 9162 consistency proof (§2.1.4) between two sizes of this node's log."""
    node = _node(request)
    total = node.size()
    end = to_size or total
    if not from_size <= end <= total:
        raise InputError(
            "bad size", [Problem("to", f"between {from_size} and {total}", to_size)]
        )
    proof = node.prove_consistency(from_size, end)
    return {
        "from": from_size,
        "to": end,
        "proof": [base64.b64encode(h).decode("ascii") for h in proof.proof],
    }


@router.get("/api/v1/log/deliveries/{message_id}", tags=["network"], responses=_PEER)
def fresh_delivery(
    request: Request,
    reader: ReaderDep,
    message_id: str,
    from_size: Annotated[int, Query(alias="from", ge=0, le=2**53)] = 0,
) -> dict[str, Any]:
    """A fresh delivery of one of this node's messages (new checkpoint, inclusion proof,
    consistency proof from ``from``): what the hub fetches when a node it relays to has
    seen more of the sender's log than the stored delivery proves."""
    node = _node(request)
    _visible(node, message_id, reader)
    entry = node.entry_by_message_id(message_id)
    if entry is None or entry.sender != node.state:
        raise NotFoundError(f"{node.state} sent no message {message_id}", code="message.unknown")
    return delivery_to_json(node.delivery_for(message_id, from_size, _now(request)))


@router.get("/api/v1/messages/{message_id}", tags=["messages"], responses=_PEER)
def message(
    request: Request, reader: ReaderDep, message_id: str
) -> inbox_service.InboxMessage:
    """One message in the one message form, with its sender and time; served to a peer
    State only when it is to it, from it, or to all."""
    node = _node(request)
    if reader is None:
        return inbox_service.message_for(node, message_id, node.state)[0]
    _visible(node, message_id, reader)
    return inbox_service.message_for(node, message_id, reader)[0]


# -- people on this node


class PeerToAdd(BaseModel):
    """A peer to add: its State (or ``hub``), URL and the fingerprint to pin."""

    model_config = ConfigDict(extra="forbid")

    state: str
    url: str
    fingerprint: str


@router.post("/api/v1/messages", status_code=201, tags=["messages"], responses=_ACCOUNT)
def send(
    request: Request,
    _account: Annotated[Any, Depends(require_action(Action.SEND))],
    data: Annotated[dict[str, Any], Body(description="A message {type, to, case, body}.")],
) -> send_service.SentDocument:
    """Sign, log and queue a message (signing officer); the worker delivers it."""
    node = _node(request)
    sent = send_service.send_data(node, data, _now(request))
    waker = getattr(request.app.state, "worker", None)
    if waker is not None:
        waker.wake.set()
    return sent


@router.get("/api/v1/inbox", tags=["messages"], responses=_ACCOUNT)
def inbox(
    request: Request, _account: Annotated[Any, Depends(require_action(Action.READ_INBOX))]
) -> inbox_service.InboxDocument:
    """The messages other States sent this node."""
    return inbox_service.inbox(_node(request))


@shared_router.get("/api/v1/status", tags=["network"], responses=_PEER)
def node_status(request: Request, reader: ReaderDep) -> dict[str, Any]:
    """Outbox depth, each sent message with its receipts or whom it waits for, the
    peers' last checkpoints (a person on this node); on a hub, who acknowledged what."""
    site = site_of(request)
    if isinstance(site, Hub):
        return status_service.hub_status(site).to_json()
    if reader is not None:
        raise Forbidden("a node's status is for the people of that node", "reader", reader)
    return status_service.status(site).to_json()


@router.get("/api/v1/peers", tags=["peers"], responses=_ACCOUNT)
def peers(
    request: Request, _account: Annotated[Any, Depends(require_action(Action.MANAGE_PEERS))]
) -> peer_service.PeersDocument:
    """The peers and the hub, with URL and pinned fingerprint (admin)."""
    return peer_service.list_peers(_node(request))


@router.post("/api/v1/peers", status_code=201, tags=["peers"], responses=_ACCOUNT)
def add_peer(
    request: Request,
    _account: Annotated[Any, Depends(require_action(Action.MANAGE_PEERS))],
    new: PeerToAdd,
) -> peer_service.PeerDocument:
    """Fetch a peer's key from ``url/.well-known/csbm``, refuse it unless its fingerprint
    matches, and record the peer (admin)."""
    from csbm.exchange.http import well_known as fetch

    return peer_service.add_peer(
        _node(request), new.state, new.url, new.fingerprint, _now(request), fetch
    )


@router.delete("/api/v1/peers/{state}", tags=["peers"], responses=_ACCOUNT)
def remove_peer(
    request: Request,
    _account: Annotated[Any, Depends(require_action(Action.MANAGE_PEERS))],
    state: str,
) -> peer_service.PeerDocument:
    """Forget a peer's URL (admin); its keys stay in the directory."""
    return peer_service.remove_peer(_node(request), state)


# -- the hub


hub_router = APIRouter(tags=["hub"])


@hub_router.get("/api/v1/hub/messages/{message_id}", responses=_PEER)
def relayed_message(
    request: Request, peer: PeerDep, message_id: str
) -> status_service.RelayedMessage:
    """Who has acknowledged a message to all the hub relays, with their receipts."""
    site = site_of(request)
    if not isinstance(site, Hub):
        raise NotFoundError("this node is not a hub", code="hub.not_hub")
    _ = peer
    return status_service.relay_of(site, message_id)


class Acknowledgements(BaseModel):
    """The messages to all a node asks the hub about (at most 100 at once)."""

    model_config = ConfigDict(extra="forbid")

    message_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=36)]],
        Field(max_length=100),
    ]


@hub_router.post(
    "/api/v1/hub/acknowledgements", responses=_PEER, response_model=dict[str, Any]
)  # fmt: skip
def acknowledgements(request: Request, peer: PeerDep, wanted: Acknowledgements) -> JSONResponse:
    """Who has acknowledged each of several messages to all (the ones the hub relays;
    unknown ids are left out): each node the hub relays it to, with its status and
    receipt. What a node's worker asks, in one request and one query, for every message
    it waits on, instead of one request per message (issue 11, item 9)."""
    site = site_of(request)
    if not isinstance(site, Hub):
        raise NotFoundError("this node is not a hub", code="hub.not_hub")
    _ = peer
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in site.relay_rows_of(list(dict.fromkeys(wanted.message_ids))):
        grouped.setdefault(row.message_id, []).append(
            {
                "state": row.destination,
                "status": row.status,
                "receipt": None if row.receipt is None else base64.b64encode(row.receipt).decode(),
                "acknowledged_at": row.done_at,
            }
        )
    # the answer as JSON at once: every value is already JSON's (text, null), which
    # FastAPI's encoder would walk and copy first (0.4 ms with 56 receipts); the same
    # bytes (test), the same schema in OpenAPI (response_model)
    return JSONResponse(
        {"messages": [{"message_id": mid, "recipients": items} for mid, items in grouped.items()]}
    )
