"""The network's hub (in the OSCE, its Conflict Prevention Centre): it relays messages
addressed to all participating States to every registered node, stores them for nodes
that are offline, collects their receipts and shows who has acknowledged what.

Source: issue 11, item 4 ("a message to ``all`` goes to the hub, which fans it out to
every registered node, collects their receipts and serves who has acknowledged what") and
item 5 (bilateral traffic between two other States is never served, not even by the hub:
the hub accepts only messages addressed to all).

A hub holds no log of its own and signs no message: it cannot speak for any State. Its key
(``csbm/hub``) signs only its requests to the nodes (:mod:`csbm.exchange.wire`), and the
nodes pin it by fingerprint as they pin each other's. Its database has the node's schema;
it uses the key directory (the registered States' public keys), ``peers`` (their URLs) and
``outbox`` (one row per message and registered node, the delivery to relay as payload,
the receipt once in).

The data directory holds ``config.json`` (``{"hub": true, "db": ..., "key_file": ...}``),
``keys/hub-<key id>.pem`` (0600) and, by default, ``hub.sqlite3``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from csbm.domain.states import is_participating_state
from csbm.errors import CsbmError, InputError, NotFoundError, Problem
from csbm.ledger.checkpoint import verify_checkpoint
from csbm.ledger.envelope import ALL, Envelope, verify_envelope
from csbm.ledger.keys import (
    KeyDirectory,
    StateKey,
    key_id_hex,
    load_state_key,
    origin_for,
    parse_verifier_key,
    save_state_key,
    stamp,
)
from csbm.ledger.merkle import leaf_hash, verify_inclusion
from csbm.ledger.note import NoteVerifier
from csbm.ledger.receipt import KIND_RECEIPT, Delivery, ReceiptError
from csbm.ledger.records import KeyRecord
from csbm.node import CONFIG_NAME, _make_data_dir, _resolve_db, _unmake_data_dir, data_dir
from csbm.store import LedgerStore
from csbm.store import outbox as _outbox
from csbm.store.outbox import OutboxRow, PeerRecord

HUB = _outbox.HUB
HUB_KEY_NAME = "csbm/hub"
HUB_DB = "hub.sqlite3"


def is_hub(data: Path | None) -> bool:
    """Whether the data directory holds a hub (``"hub": true`` in its config)."""
    path = data_dir(data) / CONFIG_NAME
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("hub"))
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class HubConfig:
    db_url: str
    key_file: str
    db: str


def init_hub(at: datetime, data: Path | None = None, db: str | None = None) -> Hub:
    """Create a hub: data directory, its request-signing key, database."""
    directory = data_dir(data)
    if (directory / CONFIG_NAME).exists():
        raise InputError(
            "already initialised",
            [Problem("--data", "a csbm node already lives here", str(directory))],
        )
    made = _make_data_dir(directory)
    store: LedgerStore | None = None
    try:
        setting = db or HUB_DB
        url = _resolve_db(directory, setting)
        store = LedgerStore.open(url, create=True)
        if store.size() or store.meta("state") or store.meta("role"):
            raise InputError(
                "database in use", [Problem("--db", "this database is already in use", url)]
            )
        key = StateKey(HUB, HUB_KEY_NAME, Ed25519PrivateKey.generate())
        key_file = f"keys/hub-{key.key_id}.pem"
        save_state_key(key, directory / key_file, None)
        with store.write() as txn:
            txn.set_meta("role", HUB)
            txn.set_meta("created_at", stamp(at))
        doc = {"hub": True, "db": setting, "key_file": key_file}
        tmp = directory / (CONFIG_NAME + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, directory / CONFIG_NAME)
    except BaseException:
        if store is not None:
            store.close()
        _unmake_data_dir(directory, made, set())
        raise
    return Hub(directory, HubConfig(url, key_file, setting), store, key)


class Hub:
    """An open hub. Use :meth:`open`; close with :meth:`close`."""

    state = HUB

    def __init__(
        self, directory: Path, config: HubConfig, store: LedgerStore, key: StateKey | None = None
    ) -> None:
        self.directory = directory
        self.config = config
        self.store = store
        self._key = key

    @classmethod
    def open(cls, data: Path | None = None) -> Hub:
        directory = data_dir(data)
        path = directory / CONFIG_NAME
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            setting = str(doc["db"])
            config = HubConfig(_resolve_db(directory, setting), str(doc["key_file"]), setting)
        except FileNotFoundError:
            raise NotFoundError(
                f"{directory}: no csbm hub here; run csbm init --hub --data {directory}",
                code="node.missing",
            ) from None
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(
                "bad hub configuration", [Problem(str(path), "not a csbm hub config.json")]
            ) from None
        if not doc.get("hub"):
            raise InputError("not a hub", [Problem("--data", "this is a State's node", str(path))])
        store = LedgerStore.open(config.db_url, create=False)
        return cls(directory, config, store)

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def key(self) -> StateKey:
        if self._key is None:
            self._key = load_state_key(self.directory / self.config.key_file, HUB, None)
            self._key = StateKey(HUB, HUB_KEY_NAME, self._key.private)
        return self._key

    # -- the directory of nodes

    def directory_of_keys(self) -> KeyDirectory:
        """The key directory (read again only after a key changed: see
        :meth:`csbm.store.LedgerStore.key_directory`); do not change it."""
        return self.store.key_directory()

    def register(self, state: str, verifier: str, url: str, fingerprint: str, at: datetime) -> None:
        """Register a State's node: its public key (pinned by ``fingerprint``) and URL."""
        if not is_participating_state(state):
            raise InputError(
                "unknown State", [Problem("STATE", "not a participating State", state)]
            )
        name, public = parse_verifier_key(verifier)
        if name != origin_for(state):
            raise InputError(
                "key of another State",
                [Problem("KEY", f"the key is named {name!r}, not {origin_for(state)!r}")],
                code="key.wrong_state",
            )
        key_id = key_id_hex(name, public)
        known = {r.key_id: r for r in self.store.key_records(state)}
        with self.store.write() as txn:
            if key_id not in known:
                txn.put_key(KeyRecord(state, key_id, name, public, False, stamp(at)))
            _outbox.put_peer(txn.conn, PeerRecord(state, url, name, public, fingerprint, stamp(at)))

    def unregister(self, state: str) -> bool:
        return _outbox.remove_peer(self.store, state)

    def peers(self) -> list[PeerRecord]:
        return _outbox.list_peers(self.store)

    def peer(self, state: str) -> PeerRecord | None:
        return _outbox.get_peer(self.store, state)

    def key_records(self, state: str | None = None) -> list[KeyRecord]:
        return self.store.key_records(state)

    # -- relaying

    def accept(
        self, delivery: Delivery, payload: str, at: datetime
    ) -> tuple[Envelope, list[str]]:
        """Verify a delivery of a message to all (the sender's signature, checkpoint and
        inclusion proof) and queue it (``payload``: its JSON form) for every registered node
        but the sender's; the envelope and the States it goes to. A message already
        accepted is recognised."""
        directory = self.directory_of_keys()
        envelope = verify_envelope(delivery.envelope, directory)
        if tuple(envelope.recipients) != (ALL,):
            raise ReceiptError(
                "hub.not_all",
                "the hub relays only messages addressed to all participating States",
                "recipients",
                ",".join(envelope.recipients),
            )
        verifiers = [
            NoteVerifier(r.name, r.public_key)
            for r in directory.records()
            if r.state == envelope.sender and r.revoked_at is None
        ]
        try:
            checkpoint = verify_checkpoint(
                delivery.checkpoint, verifiers, origin=origin_for(envelope.sender)
            )
            verify_inclusion(
                leaf_hash(delivery.envelope), delivery.leaf_index, checkpoint.size,
                list(delivery.inclusion), checkpoint.root,
            )  # fmt: skip
        except CsbmError as exc:
            raise ReceiptError("delivery.checkpoint", exc.lines()[0], "checkpoint") from None
        existing = _outbox.rows(self.store, envelope.message_id)
        if existing:
            if any(r.sender != envelope.sender for r in existing):
                raise ReceiptError("envelope.replayed", "message id already relayed", "message_id")
            return envelope, [r.destination for r in existing]
        targets = [p.state for p in self.peers() if p.state != envelope.sender]
        with self.store.write() as txn:
            _outbox.queue(
                txn.conn, envelope.message_id, targets, envelope.sender, stamp(at),
                payload=payload,
            )  # fmt: skip
        return envelope, targets

    def relay_rows(self, message_id: str | None = None) -> list[OutboxRow]:
        return _outbox.rows(self.store, message_id)

    def relay_rows_of(self, message_ids: list[str]) -> list[OutboxRow]:
        """The relay rows of several messages, in one query."""
        return _outbox.rows_of(self.store, message_ids)

    def due(self, at: datetime, limit: int = 100) -> list[OutboxRow]:
        return _outbox.due(self.store, stamp(at), limit)

    def next_due(self) -> str | None:
        """When the earliest relay still to attempt falls due (a stamp), or None."""
        return _outbox.next_due(self.store)

    def depth(self) -> int:
        return _outbox.depth(self.store)

    def mark(self, row_id: int, **values: object) -> None:
        _outbox.mark(self.store, row_id, **values)  # type: ignore[arg-type]

    def mark_done(self, done: list[tuple[int, bytes, str]]) -> None:
        """Record several receipts at once, ``(row id, receipt, done at)``: one commit for
        a whole fan-out step instead of one per node."""
        _outbox.mark_done(self.store, done)

    def check_receipt_for(
        self,
        row_id: int,
        state: str,
        message_id: str,
        raw: bytes,
        directory: KeyDirectory | None = None,
    ) -> Envelope:
        """A receipt from ``state`` for ``message_id``, verified (``row_id``: the relay
        row it answers, named in the refusal; ``directory``: the key directory, when the
        caller read it once for many receipts)."""
        receipt = verify_envelope(raw, directory or self.directory_of_keys())
        body = receipt.body if isinstance(receipt.body, dict) else {}
        if (
            receipt.kind != KIND_RECEIPT
            or receipt.sender != state
            or body.get("message_id") != message_id
        ):
            raise ReceiptError(
                "receipt.dangling",
                f"not {state}'s receipt for this message (relay row {row_id})",
                "receipt",
            )
        return receipt
