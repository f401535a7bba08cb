"""The audit: a streaming check of a node's whole log.

Checked, for every entry: the leaf hash against the stored tree (RFC 9162 §2.1.1), the
envelope's structure and RFC 8785 canonical form, the indexed columns against the
envelope, the signing key's validity at ``created_at``, the Ed25519 signature, and for
key rotations the new key's proof of possession; every receipt against the entry it
acknowledges and the receipts table; every stored Merkle node against a recomputation
from its children (which, with the leaf check, is the whole tree recomputed, level by
level, in bounded memory); every checkpoint's signature and root.

Entries are read in chunks (keyset pagination) and their signatures verified by a pool of
worker processes (one per core), with a bounded number of chunks in flight, so memory
stays flat whatever the log's size. The first fault (lowest log index) is named first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from csbm.ledger.envelope import EnvelopeError, parse_envelope, signed_part
from csbm.ledger.keys import (
    KIND_ROTATION,
    KeyDirectory,
    check_rotation_body,
    check_validity,
    parse_stamp,
)
from csbm.ledger.merkle import leaf_hash, node_hash
from csbm.ledger.receipt import KIND_RECEIPT, receipt_problems
from csbm.ledger.records import StoredEntry

if TYPE_CHECKING:
    from csbm.ledger.repository import LogRepository

_Row = tuple[int, str, str, str, str, str, bytes, bytes | None]
_KeyTable = dict[tuple[str, str], tuple[bytes, str, str | None, str | None]]


@dataclass(frozen=True)
class Fault:
    """One thing wrong in the log: where (``entry 17``, ``merkle node (2, 5)``), a code, why."""

    where: str
    code: str
    reason: str
    index: int | None = None

    def line(self) -> str:
        return f"{self.where}: {self.reason} [{self.code}]"

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "index": self.index, "code": self.code, "reason": self.reason}


@dataclass
class AuditReport:
    """What the audit checked and what it found."""

    size: int = 0
    entries: int = 0
    signatures: int = 0
    nodes: int = 0
    receipts: int = 0
    checkpoints: int = 0
    faults: list[Fault] = field(default_factory=list)
    faults_truncated: bool = False
    seconds: float = 0.0
    workers: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def first_fault(self) -> Fault | None:
        return self.faults[0] if self.faults else None

    def to_json(self) -> dict[str, Any]:
        first = self.first_fault
        return {
            "ok": self.ok,
            "size": self.size,
            "checked": {
                "entries": self.entries,
                "signatures": self.signatures,
                "merkle_nodes": self.nodes,
                "receipts": self.receipts,
                "checkpoints": self.checkpoints,
            },
            "first_fault": None if first is None else first.to_json(),
            "faults": [f.to_json() for f in self.faults],
            "faults_truncated": self.faults_truncated,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
        }


# --------------------------------------------------------------------------- workers

_KEYS: _KeyTable = {}
_PUBLIC: dict[tuple[str, str], Ed25519PublicKey] = {}


def _init_worker(table: _KeyTable) -> None:
    global _KEYS
    _KEYS = table
    _PUBLIC.clear()


def _check_rows(rows: Sequence[_Row]) -> tuple[list[Fault], int]:
    """Check a chunk of entries (runs in a worker process). Returns faults and the number
    of signatures verified."""
    faults: list[Fault] = []
    signatures = 0
    for idx, mid, kind, sender, key_id, created_at, raw, stored_leaf in rows:
        where = f"entry {idx}"

        def fault(code: str, reason: str, where: str = where, idx: int = idx) -> None:
            faults.append(Fault(where, code, reason, idx))

        if stored_leaf is None:
            fault("merkle.missing_leaf", "no leaf hash stored for this entry")
        elif leaf_hash(raw) != stored_leaf:
            fault("entry.leaf_hash", "the entry's bytes do not hash to the stored leaf")
        try:
            env = parse_envelope(raw)
        except EnvelopeError as exc:
            fault(exc.code, exc.lines()[0])
            continue
        columns = (mid, kind, sender, key_id, created_at)
        actual = (env.message_id, env.kind, env.sender, env.key_id, env.created_at)
        if columns != actual:
            names = ("message_id", "kind", "sender", "key_id", "created_at")
            wrong = [n for n, a, b in zip(names, columns, actual, strict=True) if a != b]
            fault("entry.columns", f"indexed columns {wrong} differ from the envelope")
        k = (env.sender, env.key_id)
        key = _KEYS.get(k)
        if key is None:
            fault("envelope.unknown_key", f"no key {env.key_id} of {env.sender} in the directory")
            continue
        at = parse_stamp(env.created_at)
        bad_key = check_validity(env.key_id, key[1], key[2], key[3], at, strict=False)
        if bad_key is not None:
            fault(bad_key.code, bad_key.reason)
        public = _PUBLIC.get(k)
        if public is None:
            public = _PUBLIC[k] = Ed25519PublicKey.from_public_bytes(key[0])
        signatures += 1
        try:
            public.verify(env.signature, signed_part(raw))
        except InvalidSignature:
            fault("envelope.bad_signature", "the signature does not verify")
            continue
        if env.kind == KIND_ROTATION:
            reason = check_rotation_body(env.body)
            if reason is not None:
                fault("key.rotation", reason)
    return faults, signatures


# --------------------------------------------------------------------------- the audit


Progress = Callable[[int, int], None]


def audit(
    store: LogRepository,
    own_state: str,
    *,
    workers: int | None = None,
    chunk: int = 500,
    progress: Progress | None = None,
    max_faults: int = 1000,
    at: datetime | None = None,
) -> AuditReport:
    """Check the whole log; see the module doc. ``workers=0`` checks in this process;
    ``None`` uses one worker per core (or none for a small log)."""
    started = time.perf_counter()
    report = AuditReport()
    size = store.size()
    report.size = size
    directory = KeyDirectory(store.key_records())
    table = directory.table()
    if workers is None:
        workers = (os.cpu_count() or 1) if size > 4 * chunk else 0
    report.workers = workers

    def add(faults: Sequence[Fault]) -> None:
        room = max_faults - len(report.faults)
        if len(faults) > room:
            report.faults_truncated = True
        report.faults.extend(faults[: max(room, 0)])

    pool: ProcessPoolExecutor | None = None
    if workers > 0:
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(table,),
        )
    else:
        _init_worker(table)
    try:
        in_flight: deque[tuple[Future[tuple[list[Fault], int]], int]] = deque()
        done = 0
        expected = 0
        while True:
            rows = store.audit_rows(expected, chunk)
            if not rows:
                break
            entry_faults, expected = _gaps(rows, expected)
            add(entry_faults)
            receipt_faults, receipt_count = _check_receipts(store, rows, own_state)
            add(receipt_faults)
            report.entries += len(rows)
            report.receipts += receipt_count
            if pool is None:
                faults, sigs = _check_rows(rows)
                add(faults)
                report.signatures += sigs
                done += len(rows)
                if progress:
                    progress(done, size)
                continue
            in_flight.append((pool.submit(_check_rows, rows), len(rows)))
            while len(in_flight) >= 2 * workers:
                done += _collect(in_flight, report, add)
                if progress:
                    progress(done, size)
        while in_flight:
            done += _collect(in_flight, report, add)
            if progress:
                progress(done, size)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if report.entries != size:
        add([Fault("log", "entry.missing", f"{size} leaves but {report.entries} entries")])
    add(_check_receipt_table(store, report.receipts))
    nodes, node_faults = _check_tree(store, size, chunk)
    report.nodes = nodes
    add(node_faults)
    count, cp_faults = _check_checkpoints(store, directory, size)
    report.checkpoints = count
    add(cp_faults)
    report.faults.sort(key=lambda f: (f.index is None, f.index or 0))
    report.seconds = time.perf_counter() - started
    return report


def _collect(
    in_flight: deque[tuple[Future[tuple[list[Fault], int]], int]],
    report: AuditReport,
    add: Callable[[Sequence[Fault]], None],
) -> int:
    future, n = in_flight.popleft()
    faults, sigs = future.result()
    add(faults)
    report.signatures += sigs
    return n


def _gaps(rows: Sequence[_Row], expected: int) -> tuple[list[Fault], int]:
    """Note indices missing before or between the rows of a chunk."""
    faults: list[Fault] = []
    for row in rows:
        index = row[0]
        if index != expected:
            faults.append(
                Fault(
                    f"entry {expected}",
                    "entry.missing",
                    f"entries {expected}..{index - 1} are missing",
                    expected,
                )
            )
        expected = index + 1
    return faults, expected


def _check_receipts(
    store: LogRepository, rows: Sequence[_Row], own_state: str
) -> tuple[list[Fault], int]:
    """Each receipt entry against the entry it acknowledges and its receipts row; returns
    the faults and the number of receipts (by the envelope's kind, not the column's)."""
    receipts: list[StoredEntry] = []
    docs: dict[int, Any] = {}
    mark = b'"kind":"' + KIND_RECEIPT.encode() + b'"'
    for row in rows:
        if mark not in row[6]:
            continue
        e = StoredEntry(*row[:7])
        try:
            doc = json.loads(e.envelope)
            if doc["message"]["kind"] != KIND_RECEIPT:
                continue
        except (ValueError, KeyError, TypeError):
            continue  # the entry check reports a malformed envelope
        receipts.append(e)
        docs[e.index] = doc
    if not receipts:
        return [], 0
    faults: list[Fault] = []
    receipt_rows = store.receipts_at([e.index for e in receipts])
    bodies: dict[int, dict[str, Any]] = {}
    for e in receipts:
        try:
            body = docs[e.index]["message"]["body"]
            problems = receipt_problems(body)
        except (ValueError, KeyError, TypeError):
            continue  # the entry check reports a malformed envelope
        if problems:
            faults.append(
                Fault(f"entry {e.index}", "receipt.malformed", problems[0].line(), e.index)
            )
            continue
        bodies[e.index] = body
    targets = store.entries_by_message_ids([b["message_id"] for b in bodies.values()])
    for e in receipts:
        body = bodies.get(e.index)
        if body is None:
            continue
        where = f"entry {e.index}"
        issued = e.sender == own_state
        target = targets.get(body["message_id"])
        stored = receipt_rows.get(e.index)
        if target is None:
            faults.append(
                Fault(
                    where,
                    "receipt.dangling",
                    f"acknowledges message {body['message_id']}, not in the log",
                    e.index,
                )
            )
            continue
        if hashlib.sha256(target.envelope).digest() != base64.b64decode(body["message_hash"]):
            faults.append(
                Fault(
                    where,
                    "receipt.hash",
                    f"message hash differs from entry {target.index}",
                    e.index,
                )
            )
        if issued and body["log_index"] != target.index:
            faults.append(
                Fault(
                    where,
                    "receipt.index",
                    f"names log index {body['log_index']}, the message is at {target.index}",
                    e.index,
                )
            )
        if not issued and target.sender != own_state:
            faults.append(
                Fault(
                    where,
                    "receipt.foreign",
                    "a peer's receipt for a message this node did not send",
                    e.index,
                )
            )
        expected_row = (
            "issued" if issued else "received",
            body["message_id"],
            hashlib.sha256(target.envelope).digest(),
            target.index,
        )
        if stored is None:
            faults.append(Fault(where, "receipt.row", "no row in the receipts table", e.index))
        elif (
            stored["direction"],
            stored["message_id"],
            bytes(stored["message_hash"]),
            stored["entry_index"],
        ) != expected_row:
            faults.append(
                Fault(
                    where, "receipt.row", "the receipts table row differs from the entry", e.index
                )
            )
    return faults, len(receipts)


def _check_receipt_table(store: LogRepository, receipt_entries: int) -> list[Fault]:
    rows = store.count_receipts()
    if rows != receipt_entries:
        return [
            Fault(
                "receipts",
                "receipt.row",
                f"{rows} rows in the receipts table but {receipt_entries} receipt entries",
            )
        ]
    return []


def _check_tree(store: LogRepository, size: int, chunk: int) -> tuple[int, list[Fault]]:
    """Every stored node above the leaves equals the hash of its stored children, and every
    node a log of ``size`` leaves must have is there (and no other)."""
    faults: list[Fault] = []
    checked = 0
    level = 1
    top = store.max_level()
    while (size >> level) > 0 or level <= top:
        want = size >> level
        pos = 0
        while pos < max(want, 1):
            stop = pos + chunk
            parents = store.nodes_range(level, pos, stop)
            children = dict(store.nodes_range(level - 1, 2 * pos, 2 * stop))
            seen = set()
            for idx, digest in parents:
                seen.add(idx)
                checked += 1
                where = f"merkle node ({level}, {idx})"
                left, right = children.get(2 * idx), children.get(2 * idx + 1)
                if idx >= want:
                    faults.append(
                        Fault(
                            where,
                            "merkle.extra_node",
                            f"beyond a log of {size} leaves",
                            (idx << level),
                        )
                    )
                elif left is None or right is None:
                    faults.append(
                        Fault(
                            where, "merkle.missing_node", "a child node is missing", (idx << level)
                        )
                    )
                elif node_hash(left, right) != digest:
                    faults.append(
                        Fault(
                            where,
                            "merkle.node_hash",
                            "does not match the hash of its children "
                            f"(leaves {idx << level}..{((idx + 1) << level) - 1})",
                            idx << level,
                        )
                    )
            for idx in range(pos, min(stop, want)):
                if idx not in seen:
                    faults.append(
                        Fault(
                            f"merkle node ({level}, {idx})",
                            "merkle.missing_node",
                            "not stored",
                            idx << level,
                        )
                    )
            pos = stop
        level += 1
    return checked, faults


def _check_checkpoints(
    store: LogRepository, directory: KeyDirectory, size: int
) -> tuple[int, list[Fault]]:
    from csbm.errors import CsbmError
    from csbm.ledger.checkpoint import Checkpoint
    from csbm.ledger.note import NoteVerifier, verify_note

    faults: list[Fault] = []
    count = 0
    with store.tree() as merkle:
        for number, record in enumerate(store.checkpoints(), start=1):
            count += 1
            where = f"checkpoint #{number} ({record.origin} size {record.size})"
            state = record.origin.rsplit("/", 1)[-1]
            verifiers = [
                NoteVerifier(r.name, r.public_key) for r in directory.records() if r.state == state
            ]
            try:
                parsed = Checkpoint.parse(verify_note(record.note, verifiers).text)
            except CsbmError as exc:
                faults.append(Fault(where, "checkpoint.signature", exc.lines()[0]))
                continue
            if (parsed.origin, parsed.size, parsed.root) != (
                record.origin,
                record.size,
                record.root,
            ):
                faults.append(
                    Fault(where, "checkpoint.columns", "the stored columns differ from the note")
                )
            if record.own:
                if record.size > size:
                    faults.append(
                        Fault(where, "checkpoint.beyond_log", f"the log has only {size} entries")
                    )
                elif merkle.root(record.size) != record.root:
                    faults.append(
                        Fault(
                            where,
                            "checkpoint.root",
                            "the log's root at this size differs from the signed one",
                        )
                    )
    return count, faults
