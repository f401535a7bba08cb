"""Unit tests of ledger/merkle.py: the store, appends, roots, proof reads, JSON shapes and
the refusals (RFC 9162 §2.1)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import pytest

from csbm.errors import InputError
from csbm.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ConsistencyProof,
    InclusionProof,
    MemoryNodeStore,
    MerkleLog,
    NodeStore,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.test_merkle_naive import mth


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


class CountingStore(MemoryNodeStore):
    """A memory store that counts node reads, to check the O(log n) promise."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().get(level, index)


def test_hashing_is_domain_separated() -> None:
    assert leaf_hash(b"") != EMPTY_ROOT
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) != node_hash(b, a)
    assert node_hash(a, b) != leaf_hash(a + b)


def test_memory_store_is_a_node_store_and_refuses_gaps_and_rewrites() -> None:
    store = MemoryNodeStore()
    assert isinstance(store, NodeStore)
    assert store.size() == 0
    with pytest.raises(KeyError):
        store.get(0, 0)
    with pytest.raises(KeyError):
        store.get(-1, 0)
    h = leaf_hash(b"x")
    store.put_many([(0, 0, h)])
    store.put_many([(0, 0, h)])  # idempotent rewrite of the same value
    with pytest.raises(ValueError, match="another hash"):
        store.put_many([(0, 0, leaf_hash(b"y"))])
    with pytest.raises(ValueError, match="out of order"):
        store.put_many([(0, 5, h)])
    assert store.size() == 1


def test_empty_log() -> None:
    log = MerkleLog(MemoryNodeStore())
    assert log.size() == 0
    assert log.root() == EMPTY_ROOT
    assert log.append([]) == 0
    assert log.consistency_proof(0, 0) == []
    with pytest.raises(InputError):
        log.inclusion_proof(0, 0)


def test_append_returns_first_index_and_stores_only_completed_nodes() -> None:
    store = MemoryNodeStore()
    log = MerkleLog(store)
    assert log.append(_leaves(3)) == 0
    # 3 leaves complete one level-1 node; no level-2 node yet.
    assert store.get(1, 0) == node_hash(*_leaves(3)[:2])
    with pytest.raises(KeyError):
        store.get(1, 1)
    assert log.append(_leaves(5)[3:]) == 3
    leaves = _leaves(5)
    assert store.get(2, 0) == mth(leaves[:4])
    assert log.root() == mth(leaves)
    assert log.append_data([b"more"]) == 5
    assert log.leaf_hash(5) == leaf_hash(b"more")


@pytest.mark.parametrize("bad", [b"short", b"x" * 33, "a" * 32, None])
def test_append_refuses_a_malformed_leaf_hash_and_changes_nothing(bad: object) -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(2))
    with pytest.raises(InputError) as info:
        log.append([leaf_hash(b"ok"), bad])  # type: ignore[list-item]
    assert info.value.problems[0].path == "leaf_hashes[1]"
    assert log.size() == 2


def test_sizes_and_indices_out_of_range_are_refused() -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(4))
    for call in (
        lambda: log.root(5),
        lambda: log.root(-1),
        lambda: log.inclusion_proof(4, 4),
        lambda: log.inclusion_proof(-1, 4),
        lambda: log.inclusion_proof(2, 2),
        lambda: log.consistency_proof(3, 2),
        lambda: log.consistency_proof(-1, 2),
        lambda: log.consistency_proof(1, 9),
        lambda: log.leaf_hash(4),
    ):
        with pytest.raises(InputError):
            call()


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 1023, 1024, 1025, 4097])
def test_proofs_read_o_log_n_nodes(size: int) -> None:
    store = CountingStore()
    log = MerkleLog(store)
    log.append(_leaves(size))
    bound = 3 * max(1, math.ceil(math.log2(size))) + 3
    for index in {0, size // 2, size - 1}:
        store.reads = 0
        path = log.inclusion_proof(index, size)
        assert store.reads <= bound, (index, store.reads)
        assert len(path) <= math.ceil(math.log2(size)) if size > 1 else path == []
    for size1 in {1, size // 3 or 1, size - 1 or 1}:
        store.reads = 0
        log.consistency_proof(size1, size)
        assert store.reads <= bound, (size1, store.reads)
    store.reads = 0
    log.root(size)
    assert store.reads <= math.ceil(math.log2(size)) + 1


def test_append_reads_at_most_one_stored_node_per_level() -> None:
    store = CountingStore()
    log = MerkleLog(store)
    log.append(_leaves(1001))
    store.reads = 0
    log.append(_leaves(2000)[1001:])
    assert store.reads <= 11
    assert log.root() == mth(_leaves(2000))


def test_compact_range_matches_the_log_and_reports_completed_nodes() -> None:
    store = MemoryNodeStore()
    log = MerkleLog(store)
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for n, h in enumerate(_leaves(37), start=1):
        log.append([h])
        for level, index, digest in compact.append(h):
            assert store.get(level, index) == digest
        assert compact.size == n
        assert compact.root() == log.root()


def test_inclusion_proof_json_round_trip_and_verify() -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(11))
    proof = log.prove_inclusion(6, 9)
    doc = proof.to_json()
    assert set(doc) == {"leafIdx", "treeSize", "root", "leafHash", "proof"}
    again = InclusionProof.from_json(json.dumps(doc))
    assert again == proof
    again.verify()


def test_consistency_proof_json_round_trip_and_verify() -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(11))
    proof = log.prove_consistency(3, 11)
    doc = proof.to_json()
    assert set(doc) == {"size1", "size2", "root1", "root2", "proof"}
    again = ConsistencyProof.from_json(json.dumps(doc).encode())
    assert again == proof
    again.verify()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("leafIdx", -1),
        ("leafIdx", "3"),
        ("treeSize", True),
        ("root", "not base64!"),
        ("root", "AAE"),  # missing padding
        ("root", "AA E="),
        ("leafHash", 17),
        ("proof", "AAAA"),
        ("proof", ["AA-_"]),  # URL alphabet
    ],
)
def test_inclusion_json_refuses_malformed_fields(field: str, value: object) -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(4))
    doc = log.prove_inclusion(1, 4).to_json()
    doc[field] = value
    with pytest.raises(InputError) as info:
        InclusionProof.from_json(doc)
    assert info.value.problems[0].path.startswith(field)


@pytest.mark.parametrize("doc", ["[1, 2]", "{not json", b"null", "{}"])
def test_consistency_json_refuses_non_objects_and_missing_fields(doc: str | bytes) -> None:
    with pytest.raises(InputError):
        ConsistencyProof.from_json(doc)


def _verify_all(items: Iterable[tuple[object, ...]]) -> None:
    for args in items:
        with pytest.raises(ProofError) as info:
            verify_inclusion(*args)  # type: ignore[arg-type]
        assert info.value.problems and info.value.problems[0].reason


def test_inclusion_refusals_name_their_reason() -> None:
    leaves = _leaves(5)
    log = MerkleLog(MemoryNodeStore())
    log.append(leaves)
    proof = log.inclusion_proof(2, 5)
    root = log.root()
    verify_inclusion(leaves[2], 2, 5, proof, root)
    cases = {
        "index past size": (leaves[2], 5, 5, proof, root),
        "truncated": (leaves[2], 2, 5, proof[:-1], root),
        "extended": (leaves[2], 2, 5, [*proof, root], root),
        "short hash": (leaves[2], 2, 5, [proof[0][:31], *proof[1:]], root),
        "short root": (leaves[2], 2, 5, proof, root[:31]),
        "wrong leaf": (leaves[3], 2, 5, proof, root),
        "negative size": (leaves[2], 0, -1, proof, root),
    }
    _verify_all(cases.values())


def test_consistency_refusals() -> None:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(9))
    r = [log.root(n) for n in range(10)]
    proof = log.consistency_proof(3, 9)
    verify_consistency(3, 9, proof, r[3], r[9])
    verify_consistency(9, 9, [], r[9], r[9])
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    bad = [
        (9, 3, proof, r[9], r[3]),  # shrinking
        (3, 9, [], r[3], r[9]),  # empty proof
        (0, 9, proof, EMPTY_ROOT, r[9]),  # from the empty tree
        (3, 9, proof[:-1], r[3], r[9]),
        (3, 9, [*proof, r[1]], r[3], r[9]),
        (3, 9, proof, r[4], r[9]),
        (3, 9, proof, r[3], r[8]),
        (9, 9, [r[9]], r[9], r[9]),  # equal sizes need an empty proof
        (9, 9, [], r[9], r[8]),
        (0, 0, [], r[1], r[1]),  # the empty tree has one root
        (3, 9, [p[:16] for p in proof], r[3], r[9]),
        (-1, 9, proof, r[3], r[9]),
    ]
    for args in bad:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_proof_error_is_a_csbm_error_with_a_code() -> None:
    from csbm.errors import CsbmError

    with pytest.raises(CsbmError) as info:
        verify_inclusion(leaf_hash(b"a"), 0, 1, [], leaf_hash(b"b"))
    assert info.value.code == "csbm.proof"
    assert "root" in info.value.lines()[0]


class BatchStore(MemoryNodeStore):
    """A store with the optional ``get_many``: one call per proof, no single reads."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.single_reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.single_reads += 1
        return super().get(level, index)

    def get_many(self, keys: list[tuple[int, int]]) -> list[bytes]:
        self.batches.append(len(keys))
        return [MemoryNodeStore.get(self, level, index) for level, index in keys]


def test_stores_with_get_many_serve_each_proof_in_one_call() -> None:
    batch, plain = BatchStore(), MemoryNodeStore()
    for store in (batch, plain):
        MerkleLog(store).append(_leaves(1000))
    fast, slow = MerkleLog(batch), MerkleLog(plain)
    batch.single_reads = 0
    for index, size in ((0, 1000), (999, 1000), (517, 733), (3, 4)):
        batch.batches.clear()
        assert fast.inclusion_proof(index, size) == slow.inclusion_proof(index, size)
        assert len(batch.batches) == 1
    for size1, size2 in ((1, 1000), (512, 1000), (733, 999), (3, 4)):
        batch.batches.clear()
        assert fast.consistency_proof(size1, size2) == slow.consistency_proof(size1, size2)
        assert len(batch.batches) == 1
    batch.batches.clear()
    assert fast.root(777) == slow.root(777) == mth(_leaves(777))
    assert batch.batches == [bin(777).count("1")]  # one tile per set bit of the size
    assert batch.single_reads == 0


def test_missing_node_surfaces_as_key_error() -> None:
    store = MemoryNodeStore()
    log = MerkleLog(store)
    log.append(_leaves(4))
    store._levels[2].clear()  # a damaged store: the level-2 node is gone
    with pytest.raises(KeyError):
        log.root(4)
