"""Property tests over random trees (sizes 0..300): the log's roots and proofs equal the
naive RFC 9162 recursion, verify, and any single-bit flip, wrong index or wrong size is
refused; batch splits do not change the tree."""

from __future__ import annotations

import itertools
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbm.ledger.merkle import (
    MemoryNodeStore,
    MerkleLog,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.test_merkle_naive import mth, path, proof

MAX = 300
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _leaves(n: int) -> tuple[bytes, ...]:
    # distinct leaves: with repeated leaves two siblings can be equal and a proof for one
    # index is then, correctly, a proof for its twin too
    return tuple(leaf_hash(b"leaf" + i.to_bytes(4, "big")) for i in range(n))


@cache
def _log(n: int) -> MerkleLog:
    log = MerkleLog(MemoryNodeStore())
    log.append(_leaves(n))
    return log


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _rejects(call: object, *args: object) -> bool:
    try:
        call(*args)  # type: ignore[operator]
    except ProofError:
        return True
    return False


@st.composite
def _splits(draw: st.DrawFn) -> tuple[int, list[int]]:
    n = draw(st.integers(0, MAX))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=12)))
    return n, cuts


@SETTINGS
@given(_splits())
def test_batch_splits_give_identical_roots_and_nodes(case: tuple[int, list[int]]) -> None:
    n, cuts = case
    leaves = _leaves(n)
    store = MemoryNodeStore()
    log = MerkleLog(store)
    bounds = [0, *cuts, n]
    for a, b in itertools.pairwise(bounds):
        assert log.append(leaves[a:b]) == a
    assert log.size() == n
    assert log.root() == mth(leaves)
    reference = _log(n).store
    for level in range(n.bit_length()):
        for index in range(n >> level):
            assert store.get(level, index) == reference.get(level, index)


@SETTINGS
@given(st.integers(0, MAX))
def test_roots_of_every_prefix_match_the_naive_recursion(n: int) -> None:
    log = _log(MAX)
    assert log.root(n) == mth(_leaves(n))


@SETTINGS
@given(st.integers(1, MAX), st.data())
def test_inclusion_proofs_match_naive_verify_and_refuse_tampering(
    n: int, data: st.DataObject
) -> None:
    log = _log(MAX)
    leaves = _leaves(n)
    m = data.draw(st.integers(0, n - 1), label="index")
    got = log.inclusion_proof(m, n)
    assert got == path(m, leaves)
    root = log.root(n)
    verify_inclusion(leaves[m], m, n, got, root)

    bit = data.draw(st.integers(0, 255), label="bit")
    assert _rejects(verify_inclusion, _flip(leaves[m], bit), m, n, got, root)
    assert _rejects(verify_inclusion, leaves[m], m, n, got, _flip(root, bit))
    if got:
        i = data.draw(st.integers(0, len(got) - 1), label="element")
        tampered = list(got)
        tampered[i] = _flip(tampered[i], bit)
        assert _rejects(verify_inclusion, leaves[m], m, n, tampered, root)
    other = data.draw(st.integers(0, MAX), label="other index")
    if other != m:
        assert _rejects(verify_inclusion, leaves[m], other, n, got, root)
    size = data.draw(st.integers(0, MAX), label="other size")
    if size != n:
        # RFC 9162 binds the size to the root through the signed tree head: the proof
        # must not pass for another size with that size's root. (Against the *same*
        # root a smaller size can pass -- e.g. index 0 of 130 leaves as of size 129 --
        # which is why a checkpoint signs size and root together.)
        assert _rejects(verify_inclusion, leaves[m], m, size, got, log.root(size))


@SETTINGS
@given(st.integers(1, MAX), st.data())
def test_consistency_proofs_match_naive_verify_and_refuse_tampering(
    n: int, data: st.DataObject
) -> None:
    log = _log(MAX)
    leaves = _leaves(n)
    m = data.draw(st.integers(1, n), label="size1")
    got = log.consistency_proof(m, n)
    assert got == (proof(m, leaves) if m < n else [])
    r1, r2 = log.root(m), log.root(n)
    verify_consistency(m, n, got, r1, r2)

    bit = data.draw(st.integers(0, 255), label="bit")
    assert _rejects(verify_consistency, m, n, got, _flip(r1, bit), r2)
    assert _rejects(verify_consistency, m, n, got, r1, _flip(r2, bit))
    if got:
        i = data.draw(st.integers(0, len(got) - 1), label="element")
        tampered = list(got)
        tampered[i] = _flip(tampered[i], bit)
        assert _rejects(verify_consistency, m, n, tampered, r1, r2)
    size1 = data.draw(st.integers(0, MAX), label="other size1")
    if size1 != m:
        assert _rejects(verify_consistency, size1, n, got, log.root(size1), r2)
    size2 = data.draw(st.integers(0, MAX), label="other size2")
    if size2 != n:
        assert _rejects(verify_consistency, m, size2, got, r1, log.root(size2))
