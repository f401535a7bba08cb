"""The anchor: what a node knows of its own log, kept beside its keys, outside the database.

A node records in ``DIR/anchor.json`` the leaf hash of its log's first entry (its genesis:
the key announcement ``csbm init`` signs) and the size and root of the log as it last saw
it. On every open the database must hold that log: present, not empty, at least that
long, the same first entry, and the same root at the recorded size (an RFC 9162 tree of
that size is a prefix of the log only if its root matches, §2.1.2). A database that was
deleted, emptied, replaced, truncated or swapped for another node's is refused as lost
(``node.log_lost``, exit 1) -- never silently re-created (issue 8, item 1: "data loss
passes the audit").

The anchor only moves forward and is rewritten atomically (a temporary file, fsync,
rename, fsync of the directory), so a crash leaves the old one or the new one. It may lag
behind the log (another process appended since); a lagging anchor is still a prefix, and
is advanced on the next close.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from csbm.errors import InputError, LogError, Problem
from csbm.ledger.merkle import HASH_SIZE, leaf_hash
from csbm.store.log import LedgerStore

ANCHOR_NAME = "anchor.json"


@dataclass(frozen=True)
class Anchor:
    """A log's genesis leaf hash and a (size, root) the log has had."""

    origin: str
    genesis: bytes
    size: int
    root: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "genesis": base64.b64encode(self.genesis).decode("ascii"),
            "size": self.size,
            "root": base64.b64encode(self.root).decode("ascii"),
        }


def read_anchor(directory: Path) -> Anchor | None:
    """The anchor in ``directory``, or None for a node made before anchors existed."""
    path = directory / ANCHOR_NAME
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        genesis = base64.b64decode(doc["genesis"], validate=True)
        root = base64.b64decode(doc["root"], validate=True)
        size = doc["size"]
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or size < 1
            or len(genesis) != HASH_SIZE
            or len(root) != HASH_SIZE
            or not isinstance(doc["origin"], str)
        ):
            raise ValueError
        return Anchor(doc["origin"], genesis, size, root)
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        raise InputError(
            "bad anchor", [Problem(str(path), "not a csbm anchor.json")], code="node.bad_anchor"
        ) from None


def write_anchor(directory: Path, anchor: Anchor) -> None:
    """Replace ``DIR/anchor.json`` atomically and durably."""
    path = directory / ANCHOR_NAME
    tmp = path.with_name(path.name + ".tmp")
    data = (json.dumps(anchor.to_json(), indent=2) + "\n").encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def current_anchor(store: LedgerStore, origin: str) -> Anchor:
    """The anchor of the log as it is now (it must hold at least one entry)."""
    size = store.size()
    return Anchor(origin, leaf_hash(store.entry(0).envelope), size, store.root(size))


def _lost(where: str, reason: str) -> LogError:
    return LogError(
        f"{where}: {reason}",
        [Problem(where, f"the node's log is lost: {reason}; restore it, never re-create it")],
        code="node.log_lost",
    )


def check_log(store: LedgerStore, anchor: Anchor | None, where: str) -> None:
    """Refuse (``node.log_lost``) a database that does not hold the log the anchor names
    (or, without an anchor, holds no log at all)."""
    size = store.size()
    if size == 0:
        raise _lost(where, "the database holds no entries")
    if anchor is None:
        return
    if size < anchor.size:
        raise _lost(where, f"it holds {size} entries; this node's log had {anchor.size}")
    if leaf_hash(store.entry(0).envelope) != anchor.genesis:
        raise _lost(where, "its first entry is not this node's (another log)")
    if store.root(anchor.size) != anchor.root:
        raise _lost(where, f"its first {anchor.size} entries differ from this node's log")


def advance_anchor(
    directory: Path, store: LedgerStore, origin: str, anchor: Anchor | None
) -> Anchor:
    """Record the log's current head if it is beyond ``anchor``; the anchor now."""
    now = current_anchor(store, origin)
    if anchor is not None and now.size <= anchor.size:
        return anchor
    write_anchor(directory, now)
    return now
