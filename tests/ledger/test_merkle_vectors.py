"""Every RFC 9162 vector in tests/vectors/merkle (transparency-dev/merkle testdata, vendored):
accept each ``wantErr: false``, reject each ``wantErr: true``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from csbm.ledger.merkle import (
    ConsistencyProof,
    InclusionProof,
    MemoryNodeStore,
    MerkleLog,
    ProofError,
    leaf_hash,
)
from tests.ledger.test_merkle_naive import RFC6962_LEAVES

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json")) if VECTORS.is_dir() else []
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json")) if VECTORS.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def test_vector_directory_is_present_and_complete() -> None:
    """Fails (never skips) when the vectors are missing: a run without them proves nothing."""
    assert VECTORS.is_dir(), f"Merkle vectors not found at {VECTORS}"
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    wants = {_load(p)["wantErr"] for p in INCLUSION + CONSISTENCY}
    assert wants == {True, False}


@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_vector(path: Path) -> None:
    doc = _load(path)
    proof = InclusionProof.from_json(doc)
    if doc["wantErr"]:
        with pytest.raises(ProofError):
            proof.verify()
    else:
        proof.verify()


@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_vector(path: Path) -> None:
    doc = _load(path)
    proof = ConsistencyProof.from_json(doc)
    if doc["wantErr"]:
        with pytest.raises(ProofError):
            proof.verify()
    else:
        proof.verify()


def _happy(kind: str) -> list[Path]:
    files = INCLUSION if kind == "inclusion" else CONSISTENCY
    return [p for p in files if p.stem == "happy-path"]


def _rfc_log() -> MerkleLog:
    log = MerkleLog(MemoryNodeStore())
    log.append([leaf_hash(d) for d in RFC6962_LEAVES])
    return log


@pytest.mark.parametrize("path", _happy("inclusion"), ids=_id)
def test_log_produces_the_happy_inclusion_vector(path: Path) -> None:
    """The vectors' happy paths are over the RFC 6962 test leaves: our log must produce
    them byte for byte (round-tripping through the same JSON shape)."""
    doc = _load(path)
    made = _rfc_log().prove_inclusion(doc["leafIdx"], doc["treeSize"])
    want = {k: doc[k] for k in ("leafIdx", "treeSize", "root", "leafHash")}
    want["proof"] = doc["proof"] or []
    assert made.to_json() == want


@pytest.mark.parametrize("path", _happy("consistency"), ids=_id)
def test_log_produces_the_happy_consistency_vector(path: Path) -> None:
    doc = _load(path)
    made = _rfc_log().prove_consistency(doc["size1"], doc["size2"])
    want = {k: doc[k] for k in ("size1", "size2", "root1", "root2")}
    want["proof"] = doc["proof"] or []
    assert made.to_json() == want


def _documented_verifier() -> dict[str, Any]:
    """The standalone verifier printed in docs/ledger-merkle.md, executed as is."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ledger-merkle.md").read_text(
        encoding="utf-8"
    )
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/ledger-merkle.md", "exec"), namespace)
    return namespace


def test_documented_standalone_verifier_agrees_with_the_vectors() -> None:
    ns = _documented_verifier()
    for path in INCLUSION:
        doc = _load(path)
        assert ns["check_inclusion"](doc) is not doc["wantErr"], _id(path)
    checked = 0
    for path in CONSISTENCY:
        doc = _load(path)
        if 0 < doc["size1"] < doc["size2"]:
            checked += 1
            assert ns["check_consistency"](doc) is not doc["wantErr"], _id(path)
    assert checked > 50


def test_documented_standalone_verifier_accepts_proofs_the_log_makes() -> None:
    ns = _documented_verifier()
    log = MerkleLog(MemoryNodeStore())
    log.append_data([b"entry %d" % i for i in range(37)])
    for size in (1, 2, 5, 16, 37):
        for index in range(size):
            assert ns["check_inclusion"](log.prove_inclusion(index, size).to_json())
        for size1 in range(1, size):
            assert ns["check_consistency"](log.prove_consistency(size1, size).to_json())
