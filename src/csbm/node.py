"""A node: one State's data directory, configuration, signing key, key directory and log.

The data directory (``--data``, else ``$CSBM_DATA``, else ``./.csbm``) holds
``config.json`` (the State, the database URL, the signing key's file) and ``keys/`` (the
signing keys, mode 0600). The database defaults to ``ledger.sqlite3`` in the directory;
``--db`` (e.g. ``postgresql+psycopg://...``) overrides it. A passphrase for an encrypted
key comes from ``$CSBM_KEY_PASSPHRASE``.

This is the imperative shell around the ledger: every method takes the clock (``at``)
from its caller (DESIGN.md, principle 3).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csbm.domain.states import is_participating_state
from csbm.errors import CsbmError, InputError, LogError, NotFoundError, Problem
from csbm.ledger.checkpoint import Checkpoint, SignedCheckpoint
from csbm.ledger.envelope import Envelope, EnvelopeError, is_reserved_kind, parse_envelope, seal
from csbm.ledger.keys import (
    HANDOVER,
    KIND_REVOCATION,
    KIND_ROTATION,
    KeyDirectory,
    StateKey,
    generate_state_key,
    load_state_key,
    origin_for,
    parse_stamp,
    revocation_body,
    rotation_body,
    save_state_key,
    stamp,
    verifier_key,
)
from csbm.ledger.merkle import ConsistencyProof, InclusionProof, leaf_hash
from csbm.ledger.receipt import (
    Delivery,
    accept_deliveries,
    accept_delivery,
    record_receipt,
    record_receipts,
)
from csbm.store import AppendResult, CheckpointRecord, KeyRecord, LedgerStore, StoredEntry
from csbm.store.anchor import (
    ANCHOR_NAME,
    Anchor,
    advance_anchor,
    check_log,
    current_anchor,
    read_anchor,
    write_anchor,
)
from csbm.store.engine import sqlite_url
from csbm.store.errors import StoreLogError, location

if TYPE_CHECKING:
    from csbm.ledger.audit import AuditReport
    from csbm.store.accounts import AccountStore
    from csbm.store.outbox import OutboxRow, PeerRecord

CONFIG_NAME = "config.json"
DB_NAME = "ledger.sqlite3"
KIND_KEY_ANNOUNCEMENT = "csbm.key_announcement"
#: A peer's key added to the directory by ``keys add-peer`` (logged, signed by this node).
KIND_PEER_KEY = "csbm.peer_key"
PASSPHRASE_ENV = "CSBM_KEY_PASSPHRASE"
DATA_ENV = "CSBM_DATA"
#: The most consistency proofs from other sizes a delivery to all carries (the wire
#: allows 64).
ALTERNATIVES = 32
#: Of them, at most this many start at the sizes of our log handed out lately in
#: deliveries (:meth:`Node.delivery_to_all`, :meth:`Node.delivery_for`), which no receipt
#: may acknowledge yet: several messages to all sent at once reach each node one after
#: the other, each node's view then is the checkpoint of the one before, and the next
#: delivery proves from it (no stale-view refusal, no fresh delivery fetched per node).
RECENT_SIZES = 8


def data_dir(data: Path | None) -> Path:
    """``--data``, else ``$CSBM_DATA``, else ``./.csbm``."""
    if data is not None:
        return data
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(".csbm")


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


@dataclass(frozen=True)
class NodeConfig:
    """``config.json``. ``db`` is what the file says: a path relative to the data directory
    (the default ``ledger.sqlite3``, so a moved node folder keeps its log) or a database
    URL given to ``init --db``; ``db_url`` is the URL it resolves to."""

    state: str
    db_url: str
    key_file: str
    encrypted: bool = False
    db: str | None = None

    @property
    def origin(self) -> str:
        return origin_for(self.state)


def _write_config(path: Path, config: NodeConfig) -> None:
    doc = {
        "state": config.state,
        "db": config.db if config.db is not None else config.db_url,
        "key_file": config.key_file,
        "encrypted": config.encrypted,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _resolve_db(directory: Path, db: str) -> str:
    """A database URL as given, or a SQLite file path relative to the data directory."""
    if "://" in db:
        return db
    return sqlite_url(directory / db)


def _read_config(directory: Path) -> NodeConfig:
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise NotFoundError(
            f"{directory}: no csbm node here; run csbm init --state XX --data {directory}",
            code="node.missing",
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        db = str(doc["db"]) if "db" in doc else str(doc["db_url"])  # db_url: before 2026-11
        return NodeConfig(
            state=str(doc["state"]),
            db_url=_resolve_db(directory, db),
            key_file=str(doc["key_file"]),
            encrypted=bool(doc.get("encrypted", False)),
            db=db,
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            "bad node configuration", [Problem(str(path), "not a csbm config.json")]
        ) from None


def _key_file(state: str, key: StateKey) -> str:
    return f"keys/{state}-{key.key_id}.pem"


def init_node(state: str, at: datetime, data: Path | None = None, db: str | None = None) -> Node:
    """Create a node for ``state``: data directory, signing key, database, first entry."""
    code = state.strip().upper() if isinstance(state, str) else state
    if not isinstance(code, str) or not is_participating_state(code):
        raise InputError(
            "unknown State", [Problem("--state", "not an OSCE participating State code", state)]
        )
    directory = data_dir(data)
    if (directory / CONFIG_NAME).exists():
        raise InputError(
            "already initialised",
            [Problem("--data", "a csbm node already lives here", str(directory))],
        )
    made = _make_data_dir(directory)
    there = {n for n in _INIT_FILES if (directory / n).exists()}  # never remove those
    store: LedgerStore | None = None
    try:
        db_setting = db or DB_NAME
        url = _resolve_db(directory, db_setting)
        store = LedgerStore.open(url, create=True)
        if store.size() or store.meta("state"):
            raise InputError(
                "database in use",
                [Problem("--db", "this database already holds a csbm log", location(url))],
            )
        key = generate_state_key(code)
        passphrase = passphrase_from_env()
        key_file = _key_file(code, key)
        save_state_key(key, directory / key_file, passphrase)
        config = NodeConfig(code, url, key_file, bool(passphrase), db_setting)
        announcement = seal(
            {
                "kind": KIND_KEY_ANNOUNCEMENT,
                "body": {"state": code, "key": key.verifier_key, "valid_from": stamp(at)},
            },
            key,
            ["all"],
            at,
        )
        with store.write() as txn:
            txn.put_key(key.record(at))
            txn.set_meta("state", code)
            txn.set_meta("origin", config.origin)
            txn.append([announcement.record()])
        anchor = current_anchor(store, config.origin)
        write_anchor(directory, anchor)
        _write_config(directory / CONFIG_NAME, config)
    except BaseException as exc:
        if store is not None:
            store.close()
        _unmake_data_dir(directory, made, there)
        if isinstance(exc, OSError):
            raise _data_error(directory, exc) from None
        raise
    node = Node(directory, config, store, key)
    node._anchor = anchor
    return node


def _data_error(directory: Path, exc: OSError) -> InputError:
    reason = {
        errno.ENOTDIR: "a file stands where a directory is needed",
        errno.EEXIST: "a file stands where a directory is needed",
        errno.EACCES: "not writable (permission denied)",
        errno.EPERM: "not writable (permission denied)",
        errno.EROFS: "not writable (read-only file system)",
        errno.ENOSPC: "no space left on the device",
    }.get(exc.errno or 0, exc.strerror or "cannot be written")
    return InputError("bad data directory", [Problem("--data", reason, str(directory))])


def _make_data_dir(directory: Path) -> list[Path]:
    """Create the data directory and ``keys/``; what was created, to undo on failure."""
    if directory.exists() and not directory.is_dir():
        raise InputError(
            "bad data directory", [Problem("--data", "not a directory", str(directory))]
        )
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    made: list[Path] = []
    try:
        for path in reversed(missing):
            path.mkdir(mode=0o700)
            made.append(path)
        keys = directory / "keys"
        if not keys.exists():
            keys.mkdir(mode=0o700)
            made.append(keys)
        probe = directory / ".csbm-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        _unmake_data_dir(directory, made, set(_INIT_FILES))
        raise _data_error(directory, exc) from None
    return made


_INIT_FILES = (CONFIG_NAME, ANCHOR_NAME, DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm")


def _unmake_data_dir(directory: Path, made: list[Path], there: set[str]) -> None:
    """Undo a refused ``init``: remove the directories and files it created (never a file
    that was ``there`` before)."""
    import shutil

    if made and made[0] != directory / "keys":
        shutil.rmtree(made[0], ignore_errors=True)  # the topmost directory init created
        return
    for name in _INIT_FILES:
        if name not in there:
            with contextlib.suppress(OSError):
                (directory / name).unlink()
    keys = directory / "keys"
    if keys in made:
        shutil.rmtree(keys, ignore_errors=True)


@dataclass(frozen=True)
class DeliveryBatch:
    """What one node hands one peer at once: deliveries that share one signed checkpoint
    of the sender's log (one signature per batch, not per message)."""

    peer: str
    checkpoint: SignedCheckpoint
    deliveries: tuple[Delivery, ...]


class Node:
    """An open node. Use :meth:`open`; close with :meth:`close` (or as a context manager)."""

    def __init__(
        self, directory: Path, config: NodeConfig, store: LedgerStore, key: StateKey | None = None
    ) -> None:
        self.directory = directory
        self.config = config
        self.store = store
        self._key = key
        self._anchor: Anchor | None = None
        #: the last receipt index read, and peer -> largest size of our log it
        #: acknowledged: :meth:`peers_seen_sizes`
        self._seen: tuple[int, dict[str, int]] = (-1, {})
        self._seen_lock = threading.Lock()
        #: the sizes of the checkpoints of our latest deliveries, the newest last
        #: (kept in memory: after a restart a node whose view is among them is sent a
        #: fresh delivery, as before)
        self._handed_out: deque[int] = deque(maxlen=RECENT_SIZES)

    @classmethod
    def open(cls, data: Path | None = None, db: str | None = None) -> Node:
        """Open the node in ``data``. Its log must be the one it had (``anchor.json``: see
        :mod:`csbm.store.anchor`): a database that is missing, empty, shorter than or
        inconsistent with the anchor is refused as lost (``node.log_lost``, exit 1) and
        nothing is created -- only :func:`init_node` creates a database."""
        directory = data_dir(data)
        config = _read_config(directory)
        url = db or config.db_url
        where = location(url)
        try:
            store = LedgerStore.open(url, create=False)
        except StoreLogError as exc:
            raise LogError(
                f"{where}: the log of {config.state} is lost",
                [
                    Problem(
                        where,
                        f"the node's log is lost: {exc.message}; restore it, never re-create it",
                    )
                ],
                code="node.log_lost",
            ) from None
        try:
            state = store.meta("state")
            if state is not None and state != config.state:
                raise InputError(
                    "database of another node",
                    [Problem("--db", f"this database is the log of {state}, not {config.state}")],
                )
            anchor = read_anchor(directory)
            check_log(store, anchor, where)
            if anchor is None:  # a node made before anchors: record what it has now
                anchor = advance_anchor(directory, store, config.origin, None)
        except BaseException:
            store.close()
            raise
        node = cls(directory, config, store)
        node._anchor = anchor
        return node

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Record the log's head in the anchor (when it grew), then close the database."""
        try:
            if self._anchor is not None:
                self._anchor = advance_anchor(
                    self.directory, self.store, self.origin, self._anchor
                )
        except (CsbmError, OSError):
            pass  # the anchor may lag: it is advanced on a later close
        finally:
            self.store.close()

    @property
    def state(self) -> str:
        return self.config.state

    @property
    def origin(self) -> str:
        return self.config.origin

    @property
    def key(self) -> StateKey:
        """The current signing key: the node's own key in the directory that has not been
        rotated out or revoked, read from ``keys/<STATE>-<key id>.pem`` (passphrase from
        the environment). The database decides, so a crash between a rotation's commit and
        the config rewrite cannot leave the node signing with a retired key."""
        if self._key is None:
            current = [
                r
                for r in self.store.key_records(self.state)
                if r.own and r.valid_until is None and r.revoked_at is None
            ]
            if not current:
                raise NotFoundError("no current signing key in the directory", code="key.missing")
            path = self.directory / f"keys/{self.state}-{current[-1].key_id}.pem"
            key = load_state_key(path, self.state, passphrase_from_env())
            if key.key_id != current[-1].key_id:
                raise NotFoundError(f"{path}: not the key {current[-1].key_id}", code="key.missing")
            self._key = key
        return self._key

    def directory_of_keys(self) -> KeyDirectory:
        """The key directory (read again only after a key changed: see
        :meth:`csbm.store.LedgerStore.key_directory`); do not change it."""
        return self.store.key_directory()

    # -- the log

    def sign(
        self,
        message: Mapping[str, Any],
        recipients: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> Envelope:
        return seal(message, self.key, recipients, at, message_id)

    def append(self, envelopes: Sequence[Envelope]) -> list[AppendResult]:
        """Append envelopes in one durable commit (group commit)."""
        return self.store.append([e.record() for e in envelopes])

    def append_message(
        self,
        message: Mapping[str, Any],
        recipients: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> AppendResult:
        """Sign and append one message. A retry with the same ``message_id`` and the same
        message and recipients is recognised (the logged entry is returned, nothing is
        written); the same id with anything else is a replay and is refused. Kinds that
        csbm writes itself (``csbm.*``: receipts, key statements) are refused: they come
        only from their own commands (issue 8, item 2)."""
        kind = message.get("kind") if isinstance(message, Mapping) else None
        if is_reserved_kind(kind):
            raise InputError(
                "reserved kind",
                [
                    Problem(
                        "kind",
                        "reserved for csbm's own entries (receipts, key statements)",
                        kind,
                    )
                ],
                code="message.reserved_kind",
            )
        if message_id is not None:
            logged = self.store.entry_by_message_id(message_id)
            if logged is not None:
                before = parse_envelope(logged.envelope)
                same = (
                    before.sender == self.state
                    and dict(before.message) == dict(message)
                    and list(before.recipients) == list(recipients)
                )
                if not same:
                    raise EnvelopeError(
                        "envelope.replayed",
                        f"message id already used at log index {logged.index} for another message",
                        "message_id",
                        message_id,
                    )
                return AppendResult(logged.index, leaf_hash(logged.envelope), message_id, True)
        (result,) = self.append([self.sign(message, recipients, at, message_id)])
        return result

    def checkpoint(self, at: datetime) -> SignedCheckpoint:
        """Sign a C2SP checkpoint (tlog-checkpoint, signed note) of the log as it is now,
        remember it, and return it: ``.size``, ``.root``, ``.origin`` and ``.note``."""
        with self.store.write() as txn:
            size = txn.nodes.size()
            root = txn.merkle.root(size)
            signed = Checkpoint(self.origin, size, root).sign(self.key.name, self.key.private)
            txn.add_checkpoint(
                CheckpointRecord(self.origin, True, size, root, signed.note, stamp(at))
            )
        return signed

    # -- exchange

    def delivery(self, envelope: bytes, index: int, peer_seen_size: int, at: datetime) -> Delivery:
        """What to hand a recipient for the envelope at ``index``: a fresh signed checkpoint,
        the inclusion proof, and the consistency proof from the size the peer last saw.
        (One delivery, one checkpoint; a batch shares one: :meth:`delivery_batch`.)"""
        signed = self.checkpoint(at)
        return self._delivery(envelope, index, peer_seen_size, signed)

    def _delivery(
        self, envelope: bytes, index: int, peer_seen_size: int, signed: SignedCheckpoint
    ) -> Delivery:
        inclusion = self.store.prove_inclusion(index, signed.size)
        consistency = (
            self.store.prove_consistency(peer_seen_size, signed.size).proof
            if 0 < peer_seen_size < signed.size
            else ()
        )
        return Delivery(
            envelope, signed.note, tuple(inclusion.proof), index, tuple(consistency),
            consistency_from=min(peer_seen_size, signed.size),
        )  # fmt: skip

    def delivery_batch(
        self, peer: str, indices: Sequence[int], signed: SignedCheckpoint
    ) -> DeliveryBatch:
        """The deliveries of the entries at ``indices`` to ``peer``, all under one signed
        checkpoint ``signed`` (take it once for a batch: :meth:`checkpoint`), each with the
        consistency proof from the size the peer last acknowledged (:meth:`peer_seen_size`),
        so any one of them may be the first the peer verifies (a retry, a duplicate)."""
        seen = self.peer_seen_size(peer)
        items = [
            self._delivery(self.store.entry(index).envelope, index, seen, signed)
            for index in indices
        ]
        return DeliveryBatch(peer, signed, tuple(items))

    def peer_seen_size(self, peer: str) -> int:
        """The largest size of our log that ``peer`` has acknowledged, read from the signed
        receipts of ``peer`` in our own log (``body.sender_checkpoint.size``); 0 if none.
        What a peer saw is derived from the log, never kept on the side."""
        return self.peers_seen_sizes().get(peer, 0)

    def peers_seen_sizes(self) -> dict[str, int]:
        """:meth:`peer_seen_size` of every peer that acknowledged something.

        Only the receipts logged since the last call are read, in one query and one read
        of their entries (a receipt is appended, never changed, so the running maximum
        over the older ones stays true): a delivery does not read every receipt of the
        log (issue 11, item 9)."""
        from sqlalchemy import select

        from csbm.store import schema

        t = schema.receipts
        with self._seen_lock:
            scanned, best = self._seen
            query = (
                select(t.c.receipt_index)
                .where(t.c.direction == "received", t.c.receipt_index > scanned)
                .order_by(t.c.receipt_index)
            )
            with self.store.read() as conn:
                indices = [int(i) for (i,) in conn.execute(query)]
            if not indices:
                return dict(best)
            best = dict(best)
            entries = self.store.entries_at(indices)
            for index in indices:
                receipt = parse_envelope(entries[index].envelope)
                checkpoint = receipt.body.get("sender_checkpoint")
                if isinstance(checkpoint, Mapping) and checkpoint.get("origin") == self.origin:
                    size = checkpoint.get("size")
                    if isinstance(size, int) and not isinstance(size, bool):
                        best[receipt.sender] = max(best.get(receipt.sender, 0), size)
            self._seen = (indices[-1], best)
            return dict(best)

    def delivery_to_all(self, message_id: str, at: datetime) -> Delivery:
        """A fresh delivery of one of our messages to all, for the hub to relay to every
        node: its consistency proof starts at the size most nodes last acknowledged, and
        it carries the proofs from the other sizes they acknowledged (at most
        :data:`csbm.exchange.wire.MAX_ALTERNATIVES`), so each node verifies it from its
        own last view of our log."""
        from collections import Counter

        entry = self.store.entry_by_message_id(message_id)
        if entry is None:
            raise NotFoundError(f"no message {message_id} in the log", code="message.unknown")
        signed = self.checkpoint(at)
        sizes = Counter(s for s in self.peers_seen_sizes().values() if 0 < s < signed.size)
        recent = list(dict.fromkeys(
            s for s in reversed(self._handed_out) if 0 < s < signed.size and s not in sizes
        ))  # fmt: skip
        ranked = [size for size, _n in sizes.most_common(ALTERNATIVES + 1 - len(recent))]
        ranked += recent
        self._handed_out.append(signed.size)
        main = ranked[0] if ranked else 0
        delivery = self._delivery(entry.envelope, entry.index, main, signed)
        others = tuple(
            (size, tuple(self.store.prove_consistency(size, signed.size).proof))
            for size in ranked[1:]
        )
        return replace(delivery, alternatives=others) if others else delivery

    def receive(
        self,
        delivery: Delivery,
        at: datetime,
        check: Callable[[Mapping[str, Any], Sequence[str]], object] | None = None,
        directory: KeyDirectory | None = None,
        envelope: Envelope | None = None,
    ) -> Envelope:
        """Verify a delivery, log it with a signed receipt (one commit); return the receipt.

        ``check`` (default: ``csbm.message.check_payload``, the one message validation)
        sees the signed message and its recipients first: a body its kind's schema refuses
        raises with the reason, and nothing is stored, no receipt signed. ``directory``:
        the key directory as the caller just read it (:meth:`directory_of_keys`; the API
        checked the request's signature with it), else read here. ``envelope``: the
        delivery's envelope as the caller parsed it (the same bytes: not parsed again;
        else ignored)."""
        if check is None:
            from csbm.message import check_payload

            check = check_payload
        if envelope is None or envelope.raw != delivery.envelope:
            envelope = parse_envelope(delivery.envelope)
        check(envelope.message, envelope.recipients)
        # The same delivery arriving twice at once (a retry racing the original) finds
        # the first one logged and gets its receipt back: accept_delivery checks for it
        # under the log's write lock, so no lock of ours is needed.
        keys = directory if directory is not None else self.directory_of_keys()
        return accept_delivery(self.store, self.key, keys, delivery, at, envelope)

    def receive_many(
        self,
        deliveries: Sequence[Delivery],
        at: datetime,
        directory: KeyDirectory | None = None,
        envelopes: Sequence[Envelope] | None = None,
    ) -> tuple[list[Envelope], CsbmError | None]:
        """:meth:`receive` for several deliveries, in order, in one commit: the receipts
        of those accepted, and the refusal that stopped the rest (None if none did; see
        :func:`csbm.ledger.receipt.accept_deliveries`). ``envelopes``: theirs, as the
        caller parsed them (the same bytes: not parsed again)."""
        from csbm.message import check_payload

        items: list[tuple[Delivery, Envelope | None]] = []
        refusal: CsbmError | None = None
        for k, delivery in enumerate(deliveries):
            envelope = envelopes[k] if envelopes is not None else None
            try:
                if envelope is None or envelope.raw != delivery.envelope:
                    envelope = parse_envelope(delivery.envelope)
                check_payload(envelope.message, envelope.recipients)
            except CsbmError as exc:
                refusal = exc
                break
            items.append((delivery, envelope))
        if not items:
            return [], refusal
        keys = directory if directory is not None else self.directory_of_keys()
        receipts, stopped = accept_deliveries(self.store, self.key, keys, items, at)
        if stopped is not None or len(receipts) < len(items):
            return receipts, stopped
        return receipts, refusal

    def receive_batch(self, batch: DeliveryBatch, at: datetime) -> list[Envelope]:
        """Receive every delivery of a batch in order; the receipts, one per delivery. The
        first refusal stops the batch (what was accepted before it stays logged) and is
        raised. In one commit (:meth:`receive_many`), but after a change of the sender's
        keys, which ends it."""
        receipts: list[Envelope] = []
        rest = list(batch.deliveries)
        while rest:
            got, refusal = self.receive_many(rest, at)
            receipts += got
            if refusal is not None:
                raise refusal
            rest = rest[len(got) :]
        return receipts

    def record_receipt(self, receipt: bytes, done: tuple[int, datetime] | None = None) -> int:
        """Verify a peer's receipt for one of our messages and log it; its log index.
        ``done``: the outbox row it answers and when, marked done in the same commit."""
        if done is None:
            return record_receipt(self.store, self.state, self.directory_of_keys(), receipt)
        from csbm.store import outbox

        row_id, at = done

        def mark(txn: Any) -> None:
            outbox.mark_in(txn.conn, row_id, status=outbox.DONE, attempted=True,
                           done_at=stamp(at))  # fmt: skip

        return record_receipt(self.store, self.state, self.directory_of_keys(), receipt, mark)

    def record_receipts(self, receipts: Sequence[bytes]) -> list[int | CsbmError]:
        """:meth:`record_receipt` for several receipts in one commit: each one's log
        index, or why it was refused (the others are logged all the same)."""
        return record_receipts(self.store, self.state, self.directory_of_keys(), receipts)

    # -- reading the log (so that services and shells never reach into the store)

    def size(self) -> int:
        """The number of entries in the log."""
        return self.store.size()

    def root(self, size: int | None = None) -> bytes:
        """The Merkle tree hash of the first ``size`` entries (default: all)."""
        return self.store.root(size)

    def entry(self, index: int) -> StoredEntry:
        """The log entry at ``index``."""
        return self.store.entry(index)

    def entry_by_message_id(self, message_id: str) -> StoredEntry | None:
        """The log entry of a message id, or None."""
        return self.store.entry_by_message_id(message_id)

    def entries(self) -> Iterator[StoredEntry]:
        """Every log entry, in log order (read in chunks)."""
        for chunk in self.store.iter_entries():
            yield from chunk

    def entries_between(self, start: int, end: int) -> list[StoredEntry]:
        """The entries with ``start <= index < end``, in log order (one query)."""
        return self.store.entries(start, end)

    def messages(
        self,
        *,
        sender: str | None = None,
        other_than: str | None = None,
        from_index: int = 0,
        newest_first: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> list[StoredEntry]:
        """A window of the log's messages (no ``csbm.*`` entries), paged in SQL: see
        :meth:`csbm.store.log.LedgerStore.message_entries`."""
        return self.store.message_entries(
            sender=sender, other_than=other_than, from_index=from_index,
            newest_first=newest_first, offset=offset, limit=limit,
        )  # fmt: skip

    def message_counts(self) -> dict[tuple[str, str], int]:
        """Entries per ``(sender, kind)`` (an SQL aggregate, kept per log size)."""
        return self.store.message_counts()

    def receipts_of(self, message_ids: Sequence[str], direction: str) -> list[dict[str, Any]]:
        """The receipt rows (``issued`` or ``received``) of some messages, in log order."""
        return self.store.receipts_of(message_ids, direction)

    def receipts_since(self, receipt_index: int, direction: str) -> list[dict[str, Any]]:
        """The receipt rows in one direction logged at ``receipt_index`` or later."""
        return self.store.receipts_since(receipt_index, direction)

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """RFC 9162 §2.1.3 inclusion proof of the entry at ``index`` in the tree of ``size``."""
        return self.store.prove_inclusion(index, size)

    def prove_consistency(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """RFC 9162 §2.1.4 consistency proof between two sizes of the log."""
        return self.store.prove_consistency(size1, size2)

    def audit(
        self, workers: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> AuditReport:
        """Audit the whole log (csbm.ledger.audit): signatures, hashes, receipts, tree."""
        from csbm.ledger.audit import audit

        return audit(self.store, self.state, workers=workers, progress=progress)

    def key_records(self, state: str | None = None) -> list[KeyRecord]:
        """The key directory's records (of one State, or all)."""
        return self.store.key_records(state)

    @property
    def accounts(self) -> AccountStore:
        """The node's accounts, their history and drafts (:mod:`csbm.store.accounts`), on
        the log's database."""
        from csbm.store.accounts import AccountStore

        return AccountStore.of(self.store)

    # -- keys

    def rotate(self, at: datetime) -> tuple[StateKey, AppendResult]:
        """A new signing key, announced in a statement signed by the old one (logged)."""
        old = self.key
        new = generate_state_key(self.state)
        while new.key_id == old.key_id:  # 1 in 2**32; a key id must name one key
            new = generate_state_key(self.state)
        handover = at + HANDOVER
        statement = seal(
            {"kind": KIND_ROTATION, "body": rotation_body(old, new, handover)}, old, ["all"], at
        )
        key_file = _key_file(self.state, new)
        passphrase = passphrase_from_env()
        save_state_key(new, self.directory / key_file, passphrase)
        with self.store.write() as txn:
            (result,) = txn.append([statement.record()])
            txn.end_key(self.state, old.key_id, valid_until=stamp(handover))
            txn.put_key(new.record(handover))
        self.config = replace(self.config, key_file=key_file, encrypted=bool(passphrase))
        _write_config(self.directory / CONFIG_NAME, self.config)
        self._key = new
        return new, result

    def revoke(
        self, key_id: str, at: datetime, reason: str = "revoked by the operator"
    ) -> AppendResult:
        """Revoke a key of the directory (own past key or a peer's); logged, signed now."""
        key_id = key_id.strip().lower()
        matches = [r for r in self.store.key_records() if r.key_id == key_id]
        if not matches:
            raise NotFoundError(f"no key {key_id} in the directory", code="key.unknown")
        record = matches[0]
        if record.revoked_at is not None:
            raise InputError(
                "already revoked", [Problem("KEYID", f"revoked at {record.revoked_at}", key_id)]
            )
        if record.own and record.key_id == self.key.key_id:
            raise InputError(
                "cannot revoke the signing key",
                [
                    Problem(
                        "KEYID", "this is the current signing key: csbm keys rotate first", key_id
                    )
                ],
            )
        statement = self.sign(
            {"kind": KIND_REVOCATION, "body": revocation_body(record.state, key_id, at, reason)},
            ["all"],
            at,
        )
        with self.store.write() as txn:
            (result,) = txn.append([statement.record()])
            txn.end_key(record.state, key_id, revoked_at=stamp(at))
        return result

    def add_peer_key(
        self,
        state: str,
        verifier: str,
        valid_from: datetime,
        valid_until: datetime | None = None,
        *,
        at: datetime | None = None,
    ) -> AppendResult | None:
        """Add a peer State's public key (a C2SP verifier key string) to the directory, and
        log the change as a signed ``csbm.peer_key`` entry in the same commit (every change
        to the key directory is in the log). The key's name must be the State's log origin
        (``csbm/PL`` for PL); the node's own State, an empty or reversed period, and another
        key under a known key id are refused. The same key with the same period again is
        recognised: nothing changes and None is returned. ``at`` (default ``valid_from``)
        dates the signed entry."""
        from csbm.ledger.keys import key_id_hex, parse_verifier_key

        if not is_participating_state(state):
            raise InputError(
                "unknown State", [Problem("STATE", "not a participating State", state)]
            )
        if state == self.state:
            raise InputError(
                "own State",
                [Problem("STATE", "this node's own State: its keys come from keys rotate", state)],
                code="key.own_state",
            )
        name, public = parse_verifier_key(verifier)
        if name != origin_for(state):
            raise InputError(
                "key of another State",
                [
                    Problem(
                        "KEY", f"the key is named {name!r}, not {origin_for(state)!r}", verifier
                    )
                ],
                code="key.wrong_state",
            )
        if valid_until is not None and valid_until <= valid_from:
            raise InputError(
                "bad validity period",
                [
                    Problem(
                        "--until", f"must be after --from ({stamp(valid_from)})", stamp(valid_until)
                    )
                ],
                code="key.bad_period",
            )
        record = KeyRecord(
            state=state,
            key_id=key_id_hex(name, public),
            name=name,
            public_key=public,
            own=False,
            valid_from=stamp(valid_from),
            valid_until=None if valid_until is None else stamp(valid_until),
        )
        for known in self.store.key_records(state):
            if known.key_id != record.key_id:
                continue
            covered = (
                known.public_key == record.public_key
                and known.valid_until == record.valid_until
                and parse_stamp(known.valid_from) <= valid_from
            )
            if covered and known.revoked_at is None:
                return None  # the same key again (e.g. --from defaulting to now): known
            raise InputError(
                "key already known",
                [
                    Problem(
                        "KEY",
                        f"key {known.key_id} of {state} is already in the directory "
                        f"(valid from {known.valid_from}"
                        + (f", revoked at {known.revoked_at}" if known.revoked_at else "")
                        + ")",
                        verifier,
                    )
                ],
                code="key.known",
            )
        body: dict[str, Any] = {
            "state": state,
            "key": verifier_key(name, public),
            "key_id": record.key_id,
            "valid_from": record.valid_from,
        }
        if record.valid_until is not None:
            body["valid_until"] = record.valid_until
        entry = self.sign({"kind": KIND_PEER_KEY, "body": body}, [self.state], at or valid_from)
        with self.store.write() as txn:
            (result,) = txn.append([entry.record()])
            txn.put_key(record)
        return result

    # -- the outbox and the peers (issue 11; csbm.store.outbox)

    def queue_message(
        self,
        message: Mapping[str, Any],
        recipients: Sequence[str],
        destinations: Sequence[str],
        at: datetime,
        message_id: str | None = None,
    ) -> AppendResult:
        """Sign and append one message and queue it for each of ``destinations`` (peer
        States, or ``hub`` for a message to all) in the same commit: a logged message is
        always queued, a queued one always logged (issue 11, item 4). A retry with the
        same ``message_id`` and message is recognised (nothing new is written)."""
        from csbm.store import outbox

        if message_id is not None and self.store.entry_by_message_id(message_id) is not None:
            return self.append_message(message, recipients, at, message_id)  # known or replay
        kind = message.get("kind") if isinstance(message, Mapping) else None
        if is_reserved_kind(kind):
            return self.append_message(message, recipients, at, message_id)  # refused there
        envelope = self.sign(message, recipients, at, message_id)
        with self.store.write() as txn:
            (result,) = txn.append([envelope.record()])
            outbox.queue(
                txn.conn, result.message_id, destinations, self.state, stamp(at),
                log_index=result.index,
            )  # fmt: skip
        return result

    def outbox_due(self, at: datetime, limit: int = 100) -> list[OutboxRow]:
        """The outbox rows due for an attempt at ``at``."""
        from csbm.store import outbox

        return outbox.due(self.store, stamp(at), limit)

    def outbox_next_due(self) -> str | None:
        """When the earliest outbox row still to attempt falls due (a stamp), or None."""
        from csbm.store import outbox

        return outbox.next_due(self.store)

    def outbox_rows(self, message_id: str | None = None) -> list[OutboxRow]:
        """Every outbox row (of one message), oldest first."""
        from csbm.store import outbox

        return outbox.rows(self.store, message_id)

    def outbox_rows_of(self, message_ids: Sequence[str]) -> list[OutboxRow]:
        """The outbox rows of some messages, in one query (oldest first)."""
        from csbm.store import outbox

        return outbox.rows_of(self.store, message_ids)

    def outbox_depth(self) -> int:
        """How many deliveries still wait for a receipt."""
        from csbm.store import outbox

        return outbox.depth(self.store)

    def outbox_mark(self, row_id: int, **values: Any) -> None:
        """Record an attempt or outcome on an outbox row (see csbm.store.outbox.mark)."""
        from csbm.store import outbox

        outbox.mark(self.store, row_id, **values)

    def delivery_for(
        self, message_id: str, peer_seen: int, at: datetime
    ) -> Delivery:
        """A fresh delivery of one of our logged messages: a new signed checkpoint, the
        inclusion proof and the consistency proof from ``peer_seen`` (the size the
        recipient says it last saw, or what its receipts tell)."""
        entry = self.store.entry_by_message_id(message_id)
        if entry is None:
            raise NotFoundError(f"no message {message_id} in the log", code="message.unknown")
        signed = self.checkpoint(at)
        self._handed_out.append(signed.size)
        return self._delivery(entry.envelope, entry.index, min(peer_seen, signed.size), signed)

    def issued_receipt(self, message_id: str) -> bytes | None:
        """The receipt this node signed for a message it received, or None."""
        row = self.store.receipt_for(message_id, "issued")
        return None if row is None else self.store.entry(int(row["receipt_index"])).envelope

    def received_receipts(self, message_id: str) -> dict[str, int]:
        """The peers that acknowledged one of our messages: State -> receipt log index."""
        from sqlalchemy import select

        from csbm.store import schema

        t = schema.receipts
        query = select(t.c.peer, t.c.receipt_index).where(
            t.c.direction == "received", t.c.message_id == message_id
        )
        with self.store.read() as conn:
            return {str(peer): int(index) for peer, index in conn.execute(query)}

    def receipt_rows(self) -> list[dict[str, Any]]:
        """Every receipt row (issued and received), in log order."""
        return self.store.receipts()

    def last_checkpoint_of(self, state: str) -> CheckpointRecord | None:
        """The last checkpoint of ``state``'s log this node verified, or None."""
        return self.store.last_checkpoint(origin_for(state))

    def peers(self) -> list[PeerRecord]:
        """The directory of peer nodes (States and the hub) with their URLs."""
        from csbm.store import outbox

        return outbox.list_peers(self.store)

    def peer(self, state: str) -> PeerRecord | None:
        from csbm.store import outbox

        return outbox.get_peer(self.store, state)

    def put_peer(self, record: PeerRecord) -> None:
        """Add or replace a peer's URL and pinned key (the key itself goes to the key
        directory by :meth:`add_peer_key`, logged)."""
        from csbm.store import outbox

        with self.store.write() as txn:
            outbox.put_peer(txn.conn, record)

    def remove_peer(self, state: str) -> bool:
        """Forget a peer's URL (its keys stay in the directory: the log needs them)."""
        from csbm.store import outbox

        return outbox.remove_peer(self.store, state)
