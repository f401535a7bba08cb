"""The Merkle log: RFC 9162 (Certificate Transparency v2) §2.1 hashing, tree heads,
inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), with their verifiers.

Hashing (RFC 9162 §2.1.1): ``leaf_hash(d) = SHA-256(0x00 || d)``,
``node_hash(l, r) = SHA-256(0x01 || l || r)``, the empty tree's root is ``SHA-256()``.

Storage model. A log of ``n`` leaves is kept as its *perfect subtrees*: node
``(level, index)`` is the root of the complete subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. A node is
stored once, when its subtree is complete, and never changes (append-only). The root of
any prefix ``[0, size)`` -- and of every range the RFC recursion needs -- is assembled from
the O(log n) perfect subtrees that tile it, so no proof ever recomputes the tree.

The verifiers are pure and follow the RFC algorithms step by step (§2.1.3.2, §2.1.4.2);
they raise :class:`ProofError` naming the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from csbm.errors import CsbmError, InputError, Problem

HASH_SIZE = 32
"""SHA-256 output length; every leaf hash, node hash and root has this length."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()
"""MTH({}) -- the root of the empty tree (RFC 9162 §2.1.1)."""


class ProofError(CsbmError):
    """A Merkle proof, root or tree size does not check out; the problems say why."""

    def __init__(self, message: str, problems: Iterable[Problem] = (), code: str = "csbm.proof"):
        super().__init__(message=message, code=code, problems=tuple(problems))


def _fail(path: str, reason: str, value: Any = None) -> ProofError:
    return ProofError(reason, (Problem(path=path, reason=reason, value=value),))


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of a leaf, ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of an inner node, ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k in RFC 9162 §2.1.1: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- storage


@runtime_checkable
class NodeStore(Protocol):
    """Where the perfect-subtree nodes live.

    ``(level, index)`` names the root of the complete subtree over leaves
    ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds leaf hashes.

    A store may also offer ``get_many(keys: Sequence[tuple[int, int]]) -> list[bytes]``
    (hashes in the order of ``keys``, ``KeyError`` if one is absent): :class:`MerkleLog`
    then fetches all the nodes of a proof or root in one call.
    """

    def get(self, level: int, index: int) -> bytes:
        """The stored hash; ``KeyError`` when the node is not (yet) stored."""
        ...

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store ``(level, index, hash)`` nodes; called once per append batch."""
        ...

    def size(self) -> int:
        """The number of leaves (level-0 nodes) stored."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` in memory: one list per level, appended in index order."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = []

    def get(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0:
            raise KeyError((level, index))
        try:
            return self._levels[level][index]
        except IndexError:
            raise KeyError((level, index)) from None

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        levels = self._levels
        for level, index, digest in items:
            while len(levels) <= level:
                levels.append([])
            row = levels[level]
            if index == len(row):
                row.append(digest)
            elif index < len(row):
                if row[index] != digest:
                    raise ValueError(f"node ({level}, {index}) is already stored with another hash")
            else:
                raise ValueError(f"node ({level}, {index}) stored out of order (have {len(row)})")

    def size(self) -> int:
        return len(self._levels[0]) if self._levels else 0


# --------------------------------------------------------------------------- the log


class MerkleLog:
    """An append-only RFC 9162 Merkle log over a :class:`NodeStore`.

    ``append`` stores exactly the perfect-subtree nodes a batch completes (amortised
    O(1) hashes and O(log n) reads per leaf); ``root``, ``inclusion_proof`` and
    ``consistency_proof`` read O(log n) stored nodes and hash O(log n) times.
    """

    def __init__(self, store: NodeStore) -> None:
        self.store = store

    # -- writing

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append leaf hashes (each 32 bytes); return the index of the first one."""
        for i, digest in enumerate(leaf_hashes):
            if not isinstance(digest, bytes) or len(digest) != HASH_SIZE:
                raise InputError(
                    "a leaf hash must be 32 bytes",
                    (Problem(f"leaf_hashes[{i}]", "a leaf hash must be 32 bytes", _show(digest)),),
                )
        start = self.store.size()
        if not leaf_hashes:
            return start
        self.store.put_many(compute_new_nodes(start, leaf_hashes, self.store.get))
        return start

    def append_data(self, entries: Iterable[bytes]) -> int:
        """Append raw entries, hashing each as a leaf (RFC 9162 §2.1.1)."""
        return self.append([leaf_hash(e) for e in entries])

    # -- reading

    def size(self) -> int:
        """The number of leaves in the log."""
        return self.store.size()

    def leaf_hash(self, index: int) -> bytes:
        """The stored leaf hash at ``index``."""
        self._check_index(index, self.size())
        return self.store.get(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: the whole log), RFC 9162 §2.1.1."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._range_hashes([(0, size)])[0]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, deepest sibling first."""
        size = self._check_size(size)
        self._check_index(index, size)
        return self._range_hashes(inclusion_ranges(index, size))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1 (empty when size1 is 0 or size2)."""
        size2 = self._check_size(size2)
        if not isinstance(size1, int) or isinstance(size1, bool) or not 0 <= size1 <= size2:
            raise _input("size1", f"size1 must be between 0 and size2 ({size2})", size1)
        return self._range_hashes(consistency_ranges(size1, size2))

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """An :class:`InclusionProof` with its leaf hash and root, ready to serialise."""
        size = self._check_size(size)
        path = self.inclusion_proof(index, size)
        return InclusionProof(
            leaf_index=index,
            tree_size=size,
            root=self.root(size),
            leaf_hash=self.store.get(0, index),
            proof=tuple(path),
        )

    def prove_consistency(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """A :class:`ConsistencyProof` with both roots, ready to serialise."""
        size2 = self._check_size(size2)
        path = self.consistency_proof(size1, size2)
        return ConsistencyProof(
            size1=size1,
            size2=size2,
            root1=self.root(size1),
            root2=self.root(size2),
            proof=tuple(path),
        )

    # -- internals

    def _range_hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """MTH(D[start:end]) of each range, from the perfect subtrees that tile them,
        fetched in one ``get_many`` call when the store has one (one database round trip
        per proof), else node by node."""
        tilings = [_tiles(start, end) for start, end in ranges]
        keys = [key for tiles in tilings for key in tiles]
        get_many = getattr(self.store, "get_many", None)
        if get_many is not None:
            found = dict(zip(keys, get_many(keys), strict=True))
        else:
            get = self.store.get
            found = {key: get(*key) for key in keys}
        out: list[bytes] = []
        for tiles in tilings:
            digest = found[tiles[-1]]
            for key in reversed(tiles[:-1]):
                digest = node_hash(found[key], digest)
            out.append(digest)
        return out

    def _check_size(self, size: int | None) -> int:
        have = self.store.size()
        if size is None:
            return have
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= have:
            raise _input("size", f"tree size must be between 0 and the log size ({have})", size)
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
            raise _input("index", f"leaf index must be between 0 and {size - 1}", index)


def _tiles(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` tiling leaves ``[start, end)``, left to
    right, largest first. For the ranges of the RFC recursion (``start`` a multiple of a
    power of two >= ``end - start``) folding them right to left gives MTH(D[start:end])."""
    tiles: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        level = (end - pos).bit_length() - 1
        if pos:
            level = min(level, (pos & -pos).bit_length() - 1)
        tiles.append((level, pos >> level))
        pos += 1 << level
    return tiles


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PATH(index, D[0:size]) (RFC 9162 §2.1.3.1),
    deepest first. Pure: for stores that fetch nodes their own way."""
    start, end, m = 0, size, index
    top_down: list[tuple[int, int]] = []
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            start += k
            m -= k
    top_down.reverse()
    return top_down


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1),
    deepest first; empty when ``size1`` is 0 or equals ``size2``."""
    if size1 == 0 or size1 == size2:
        return []
    start, end, m, complete = 0, size2, size1, True
    top_down: list[tuple[int, int]] = []
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        top_down.append((start, end))
    top_down.reverse()
    return top_down


def compute_new_nodes(
    start: int, leaf_hashes: Sequence[bytes], get: Callable[[int, int], bytes]
) -> list[tuple[int, int, bytes]]:
    """The nodes completed by appending ``leaf_hashes`` at ``start``, level by level.

    ``get(level, index)`` reads an already stored node; it is called at most once per
    level (for a left sibling that was complete before this batch).
    """
    out: list[tuple[int, int, bytes]] = [(0, start + i, h) for i, h in enumerate(leaf_hashes)]
    level = 0
    row_first = start  # index of row[0] at this level
    row = list(leaf_hashes)
    end = start + len(leaf_hashes)
    while True:
        parent_first = start >> (level + 1)
        parent_end = end >> (level + 1)
        if parent_end <= parent_first:
            break
        parents: list[bytes] = []
        for j in range(parent_first, parent_end):
            left_i, right_i = 2 * j, 2 * j + 1
            left = row[left_i - row_first] if left_i >= row_first else get(level, left_i)
            right = row[right_i - row_first]
            parents.append(_sha256(_NODE_PREFIX + left + right).digest())
        level += 1
        out.extend((level, parent_first + i, h) for i, h in enumerate(parents))
        row, row_first = parents, parent_first
    return out


class CompactRange:
    """A streaming RFC 9162 root: O(log n) memory, one pass over leaf hashes.

    Useful for audits that recompute a log: ``append`` returns the perfect-subtree nodes
    the leaf completes (``(level, index, hash)``), to compare with the stored ones.
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []  # perfect subtrees, largest first

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        completed = [(0, index, leaf)]
        digest = leaf
        level = 0
        n = index
        while n & 1:
            digest = node_hash(self._peaks.pop(), digest)
            level += 1
            n >>= 1
            completed.append((level, n, digest))
        self._peaks.append(digest)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        digest = self._peaks[-1]
        for left in reversed(self._peaks[:-1]):
            digest = node_hash(left, digest)
        return digest


# --------------------------------------------------------------------------- verifiers


def _check_hash(path: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise _fail(path, f"must be a {HASH_SIZE}-byte SHA-256 hash", _show(value))


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4)."""
    if not _is_count(size):
        raise _fail("treeSize", "tree size must be a non-negative integer", size)
    if not _is_count(index) or index >= size:
        raise _fail("leafIdx", f"leaf index must be below the tree size ({size})", index)
    _check_hash("leafHash", leaf)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise _fail("proof", "proof is longer than the tree is deep", len(proof))
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("proof", "proof is shorter than the tree is deep", len(proof))
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that ``leaf`` is at ``index`` in the tree of ``size``
    with ``root``. Returns nothing; raises :class:`ProofError` with the reason."""
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf, index, size, proof)
    if computed != root:
        raise _fail("root", "the proof leads to another root", _b64(computed))


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: check that the tree of ``size2`` with ``root2`` extends the tree
    of ``size1`` with ``root1``. Raises :class:`ProofError` with the reason.

    Equal sizes need an empty proof and equal roots; the empty tree's root must be
    SHA-256() (§2.1.1); a proof from the empty tree to a larger one proves nothing and is
    refused (anything extends the empty tree, so no proof is needed for it).
    """
    if not _is_count(size1):
        raise _fail("size1", "tree size must be a non-negative integer", size1)
    if not _is_count(size2):
        raise _fail("size2", "tree size must be a non-negative integer", size2)
    if size2 < size1:
        raise _fail("size2", f"the new tree is smaller than the old one ({size1})", size2)
    if size1 == size2:
        if proof:
            raise _fail("proof", "trees of equal size need an empty proof", len(proof))
        if root1 != root2:
            raise _fail("root2", "trees of equal size have different roots", _show(root2))
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise _fail("root1", "the empty tree's root must be SHA-256()", _show(root1))
        return
    if size1 == 0:
        raise _fail("size1", "a consistency proof from the empty tree proves nothing", size1)
    if not proof:
        raise _fail("proof", "the proof is empty", 0)
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: an exact power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise _fail("proof", "proof is longer than the trees are deep", len(proof))
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise _fail("proof", "proof is shorter than the trees are deep", len(proof))
    if fr != root1:
        raise _fail("root1", "the proof does not lead to the old root", _b64(fr))
    if sr != root2:
        raise _fail("root2", "the proof does not lead to the new root", _b64(sr))


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class InclusionProof:
    """An inclusion proof in the JSON shape of the RFC 9162 test vectors
    (``leafIdx``, ``treeSize``, ``root``, ``leafHash``, ``proof`` as base64)."""

    leaf_index: int
    tree_size: int
    root: bytes
    leaf_hash: bytes
    proof: tuple[bytes, ...]

    def verify(self) -> None:
        verify_inclusion(self.leaf_hash, self.leaf_index, self.tree_size, self.proof, self.root)

    def to_json(self) -> dict[str, Any]:
        return {
            "leafIdx": self.leaf_index,
            "treeSize": self.tree_size,
            "root": _b64(self.root),
            "leafHash": _b64(self.leaf_hash),
            "proof": [_b64(p) for p in self.proof],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> InclusionProof:
        obj = _load(doc)
        return cls(
            leaf_index=_int_field(obj, "leafIdx"),
            tree_size=_int_field(obj, "treeSize"),
            root=_b64_field(obj, "root"),
            leaf_hash=_b64_field(obj, "leafHash"),
            proof=_b64_list(obj, "proof"),
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """A consistency proof in the JSON shape of the RFC 9162 test vectors
    (``size1``, ``size2``, ``root1``, ``root2``, ``proof`` as base64)."""

    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: tuple[bytes, ...]

    def verify(self) -> None:
        verify_consistency(self.size1, self.size2, self.proof, self.root1, self.root2)

    def to_json(self) -> dict[str, Any]:
        return {
            "size1": self.size1,
            "size2": self.size2,
            "root1": _b64(self.root1),
            "root2": _b64(self.root2),
            "proof": [_b64(p) for p in self.proof],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str | bytes) -> ConsistencyProof:
        obj = _load(doc)
        return cls(
            size1=_int_field(obj, "size1"),
            size2=_int_field(obj, "size2"),
            root1=_b64_field(obj, "root1"),
            root2=_b64_field(obj, "root2"),
            proof=_b64_list(obj, "proof"),
        )


# --------------------------------------------------------------------------- helpers


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _input(path: str, reason: str, value: Any) -> InputError:
    return InputError(reason, (Problem(path=path, reason=reason, value=value),))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _show(value: Any) -> Any:
    if isinstance(value, bytes):
        return _b64(value)
    return value if isinstance(value, str | int) else repr(value)


def b64decode_strict(text: object, path: str = "value") -> bytes:
    """Standard base64 with padding, nothing else (no whitespace, no URL alphabet)."""
    if not isinstance(text, str):
        raise _input(path, "must be a base64 string", _show(text))
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _input(path, "is not valid base64", text) from None
    if base64.b64encode(data).decode("ascii") != text:
        raise _input(path, "is not canonical base64", text)
    return data


def _load(doc: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(doc, str | bytes):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise _input("", f"is not JSON: {exc}", None) from None
    if not isinstance(doc, Mapping):
        raise _input("", "must be a JSON object", type(doc).__name__)
    return doc


def _int_field(obj: Mapping[str, Any], name: str) -> int:
    value = obj.get(name)
    if not _is_count(value):
        raise _input(name, "must be a non-negative integer", _show(value))
    assert isinstance(value, int)
    return value


def _b64_field(obj: Mapping[str, Any], name: str) -> bytes:
    if name not in obj:
        raise _input(name, "is missing", None)
    return b64decode_strict(obj[name], name)


def _b64_list(obj: Mapping[str, Any], name: str) -> tuple[bytes, ...]:
    value = obj.get(name)
    if value is None and name in obj:  # JSON null: an empty proof, as Go encodes a nil slice
        return ()
    if not isinstance(value, list):
        raise _input(name, "must be a list of base64 hashes", _show(value))
    return tuple(b64decode_strict(v, f"{name}[{i}]") for i, v in enumerate(value))
