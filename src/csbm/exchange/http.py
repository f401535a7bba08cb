"""The HTTP transport: a node's (or the hub's) client side of the node-to-node protocol.

Source: issue 11, item 2. Every request is signed with the caller's key
(:mod:`csbm.exchange.wire`); a refusal comes back as RFC 9457 problem+json and is raised
as :class:`PeerRefusal` with the peer's code and problems, so the worker can tell a
permanent refusal from one to retry (``delivery.stale_view``: prove from the size named).
A peer that cannot be reached raises :class:`Unreachable`.

Endpoints (see :mod:`csbm.api` and docs/network.md)::

    GET  /.well-known/csbm                     the node's State, key and fingerprint
    POST /api/v1/inbox                         a delivery -> the signed receipt
    GET  /api/v1/log/checkpoint                a fresh signed checkpoint
    GET  /api/v1/log/inclusion?message_id&size the envelope and its inclusion proof
    GET  /api/v1/log/consistency?from&to       a consistency proof
    GET  /api/v1/log/deliveries/{id}?from=N    a fresh delivery of one message
    GET  /api/v1/hub/messages/{id}             on a hub: who has acknowledged
    POST /api/v1/hub/acknowledgements          on a hub: the same for many messages
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from csbm.errors import CsbmError, Problem
from csbm.exchange.wire import batch_to_json, delivery_from_json, delivery_to_json, sign_request
from csbm.ledger.checkpoint import SignedCheckpoint
from csbm.ledger.keys import StateKey, origin_for
from csbm.ledger.merkle import InclusionProof
from csbm.ledger.note import NoteVerifier
from csbm.ledger.receipt import Delivery
from csbm.node import DeliveryBatch

JSON = "application/json"
PROBLEM = "application/problem+json"
#: A node's inbox (and the hub's).
INBOX = "/api/v1/inbox"


class PeerRefusal(CsbmError):
    """The peer answered with a problem document: ``status``, the peer's ``code`` and
    problems (``problems[0].value`` is the size to prove from for a stale view). Passed
    on by this node's API as 502: the refusal is the peer's, not the caller's."""

    http_status = 502

    def __init__(self, status: int, code: str, detail: str, problems: Sequence[Problem]):
        super().__init__(message=detail, code=code, problems=tuple(problems))
        self.status = status


class Unreachable(CsbmError):
    """The peer could not be reached (connection refused, timeout, not HTTP).
    ``connection``: no answer came at all (refused, dropped, timed out), as opposed to an
    answer that could not be read."""

    http_status = 502

    def __init__(self, url: str, reason: str, *, connection: bool = False) -> None:
        super().__init__(
            message=f"{url}: {reason}",
            code="peer.unreachable",
            problems=(Problem(url, f"cannot reach the node: {reason}"),),
        )
        self.connection = connection


def _refusal(response: httpx.Response) -> PeerRefusal:
    return refusal_of(response.status_code, response.content, str(response.request.url))


def refusal_of(status: int, content: bytes, url: str) -> PeerRefusal:
    """The refusal in a problem document (``content``) answered with ``status`` to a
    request to ``url``."""
    try:
        doc = json.loads(content)
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    problems = []
    for item in doc.get("problems") or []:
        if isinstance(item, dict):
            problems.append(
                Problem(str(item.get("path", "")), str(item.get("reason", "")), item.get("value"))
            )
    detail = str(doc.get("detail") or doc.get("title") or f"HTTP {status}")
    code = str(doc.get("code") or f"http.{status}")
    if not problems:
        problems = [Problem(url, detail)]
    return PeerRefusal(status, code, detail, problems)


class HttpClient:
    """Signed requests to other nodes, as ``signer`` (a State code, or ``hub``) with
    ``key``. ``client`` may be given (tests); the default has a short timeout."""

    def __init__(
        self,
        key: StateKey,
        signer: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.key = key
        self.signer = signer
        self.timeout = timeout
        #: whether requests go out through this class's own pooled httpx client (not one
        #: given by a test): the hub's fan-out then uses its lean client
        #: (:mod:`csbm.exchange.fanout`) for its deliveries
        self.default_client = client is None
        # one pooled client for every peer and thread: connections are kept alive and
        # reused (a hub keeps one to each of the 56 nodes it fans out to)
        self._client = client or httpx.Client(
            timeout=timeout, trust_env=False,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256,
                                keepalive_expiry=60.0),
        )  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        base_url: str,
        path: str,
        at: datetime,
        *,
        query: dict[str, Any] | None = None,
        document: Any = None,
    ) -> Any:
        """A signed request; the JSON answer, or PeerRefusal / Unreachable."""
        target = path + ("?" + urlencode(query) if query else "")
        body = b"" if document is None else document_bytes(document)
        prefix = urlsplit(base_url).path.rstrip("/")
        headers = sign_request(self.key, self.signer, method, prefix + target, body, at)
        if document is not None:
            headers["content-type"] = JSON
        url = base_url.rstrip("/") + target
        try:
            response = self._client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Unreachable(base_url, type(exc).__name__, connection=True) from None
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return response.json()
        except ValueError:
            raise Unreachable(base_url, "the answer is not JSON") from None

    # -- the protocol

    def post_delivery(self, base_url: str, delivery: Delivery, at: datetime) -> dict[str, Any]:
        """POST a delivery to a node's (or the hub's) inbox; its answer."""
        answer = self.request("POST", base_url, INBOX, at,
                              document=delivery_to_json(delivery))  # fmt: skip
        if not isinstance(answer, dict):
            raise Unreachable(base_url, "the answer is not a JSON object")
        return answer

    def post_deliveries(
        self, base_url: str, deliveries: Sequence[Delivery], at: datetime
    ) -> dict[str, Any]:
        """POST several deliveries to a node's inbox in one request (``{"deliveries":
        [...]}``, received in order in one commit); its answer (``receipts``, and
        ``refused`` when one was refused after some were accepted)."""
        answer = self.request("POST", base_url, INBOX, at,
                              document=batch_to_json(deliveries))  # fmt: skip
        if not isinstance(answer, dict):
            raise Unreachable(base_url, "the answer is not a JSON object")
        return answer

    def fetch_delivery(
        self, base_url: str, message_id: str, from_size: int, at: datetime
    ) -> Delivery:
        """A fresh delivery of ``message_id`` from its sender's node."""
        doc = self.request(
            "GET", base_url, f"/api/v1/log/deliveries/{message_id}", at,
            query={"from": from_size},
        )  # fmt: skip
        return delivery_from_json(doc)

    def hub_message(self, base_url: str, message_id: str, at: datetime) -> dict[str, Any]:
        """The hub's account of one message to all: who acknowledged, with receipts."""
        answer = self.request("GET", base_url, f"/api/v1/hub/messages/{message_id}", at)
        if not isinstance(answer, dict):
            raise Unreachable(base_url, "the answer is not a JSON object")
        return answer


    def hub_acknowledgements(
        self, base_url: str, message_ids: Sequence[str], at: datetime
    ) -> dict[str, dict[str, Any]]:
        """The hub's account of several messages to all at once: message id -> who
        acknowledged, with receipts (ids the hub does not hold are absent)."""
        answer = self.request("POST", base_url, "/api/v1/hub/acknowledgements", at,
                              document={"message_ids": list(message_ids)})  # fmt: skip
        items = answer.get("messages") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise Unreachable(base_url, "the answer holds no messages")
        return {
            str(m["message_id"]): m
            for m in items
            if isinstance(m, dict) and isinstance(m.get("message_id"), str)
        }


def document_bytes(document: Any) -> bytes:
    """The body of a request carrying ``document`` (JSON)."""
    return json.dumps(document).encode("utf-8")


def answer_of(base_url: str, status: int, content: bytes, url: str) -> dict[str, Any]:
    """An inbox's answer (``status``, ``content``) to a POST to ``url`` as
    :meth:`HttpClient.post_delivery` reads it: the JSON object, or PeerRefusal /
    Unreachable."""
    if status >= 400:
        raise refusal_of(status, content, url)
    try:
        answer = json.loads(content)
    except ValueError:
        raise Unreachable(base_url, "the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise Unreachable(base_url, "the answer is not a JSON object")
    return answer


def receipt_of(answer: dict[str, Any]) -> bytes:
    """The raw receipt in an inbox answer (``{"receipt": base64}``)."""
    value = answer.get("receipt")
    if not isinstance(value, str):
        raise CsbmError("the peer's answer holds no receipt", code="receipt.missing")
    return base64.b64decode(value)


def well_known(url: str, *, client: httpx.Client | None = None) -> dict[str, Any]:
    """``GET URL/.well-known/csbm``: what a node says it is (unsigned: the caller pins
    the key by its fingerprint)."""
    own = client is None
    http = client or httpx.Client(timeout=10.0, trust_env=False)
    try:
        response = http.get(url.rstrip("/") + "/.well-known/csbm")
    except httpx.HTTPError as exc:
        raise Unreachable(url, type(exc).__name__, connection=True) from None
    finally:
        if own:
            http.close()
    if response.status_code != 200:
        raise _refusal(response)
    try:
        doc = response.json()
    except ValueError:
        raise Unreachable(url, "the answer is not JSON") from None
    if not isinstance(doc, dict):
        raise Unreachable(url, "the answer is not a JSON object")
    return doc


class HttpTransport:
    """:class:`csbm.exchange.transport.Transport` over HTTP: the peers' URLs by State
    (``url_of``) and their keys (``keys_of``, to open fetched checkpoints)."""

    def __init__(
        self,
        client: HttpClient,
        url_of: Callable[[str], str],
        keys_of: Callable[[str], list[NoteVerifier]],
    ) -> None:
        self._client = client
        self._url = url_of
        self._keys = keys_of

    def deliver(self, batch: DeliveryBatch, at: datetime) -> list[bytes]:
        url = self._url(batch.peer)
        return [receipt_of(self._client.post_delivery(url, d, at)) for d in batch.deliveries]

    def fetch_checkpoint(self, state: str, at: datetime) -> SignedCheckpoint:
        doc = self._client.request("GET", self._url(state), "/api/v1/log/checkpoint", at)
        note = doc.get("note") if isinstance(doc, dict) else None
        if not isinstance(note, str):
            raise CsbmError("the peer's answer holds no checkpoint", code="checkpoint.missing")
        return SignedCheckpoint.open(note, self._keys(state), origin=origin_for(state))

    def fetch_inclusion(
        self, state: str, message_id: str, size: int, at: datetime | None = None
    ) -> tuple[bytes, InclusionProof]:
        from csbm.domain.time import now

        doc = self._client.request(
            "GET", self._url(state), "/api/v1/log/inclusion", at or now(),
            query={"message_id": message_id, "size": size},
        )  # fmt: skip
        if not isinstance(doc, dict) or not isinstance(doc.get("envelope"), str):
            raise CsbmError("the peer's answer holds no envelope", code="inclusion.missing")
        return base64.b64decode(doc["envelope"]), InclusionProof.from_json(doc["inclusion"])
