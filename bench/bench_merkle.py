"""Merkle proofs at scale (issue 3, item 9c): inclusion and consistency proof time at
10^3, 10^4, 10^5 and 10^6 leaves from ``csbm.ledger.merkle.MerkleLog`` over the
in-memory node store, with build time, against ``pymerkle`` (InmemoryTree) building and
proving the same tree in the same run (roots cross-checked). Ratios are pymerkle time
over csbm time (above 1: csbm is faster). Target: a proof in under 1 ms at 10^6 leaves.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pymerkle import InmemoryTree
from rich.console import Console
from rich.progress import Progress

from csbm.ledger.merkle import (
    MemoryNodeStore,
    MerkleLog,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

NAME = "merkle"
TARGET_PROOF_MS = 1.0
SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
QUERIES = 300
BATCH = 10_000


def _entries(n: int) -> list[bytes]:
    return [b"csbm-entry-%d" % i for i in range(n)]


def _per_call_us(calls: list[Callable[[], object]]) -> dict[str, float]:
    """Median, 99th percentile and mean of single calls, in microseconds."""
    times: list[float] = []
    gc.collect()
    gc.disable()  # the same for both libraries: time the work, not a collector pause
    try:
        for call in calls:
            started = time.perf_counter_ns()
            call()
            times.append((time.perf_counter_ns() - started) / 1000)
    finally:
        gc.enable()
    times.sort()
    return {
        "median": round(statistics.median(times), 2),
        "p99": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
        "mean": round(statistics.fmean(times), 2),
    }


def _measure(n: int, rng: random.Random) -> dict[str, Any]:
    entries = _entries(n)

    started = time.perf_counter()
    log = MerkleLog(MemoryNodeStore())
    for i in range(0, n, BATCH):
        log.append([leaf_hash(e) for e in entries[i : i + BATCH]])
    ours_build = time.perf_counter() - started

    started = time.perf_counter()
    tree = InmemoryTree(algorithm="sha256")
    for e in entries:
        tree.append_entry(e)
    theirs_build = time.perf_counter() - started

    roots_match = tree.get_root() == log.root()
    indices = [rng.randrange(n) for _ in range(QUERIES)]
    firsts = [rng.randrange(1, n) for _ in range(QUERIES)]

    ours_incl = _per_call_us([partial(log.inclusion_proof, i, n) for i in indices])
    theirs_incl = _per_call_us([partial(tree.prove_inclusion, i + 1, n) for i in indices])
    ours_cons = _per_call_us([partial(log.consistency_proof, m, n) for m in firsts])
    theirs_cons = _per_call_us([partial(tree.prove_consistency, m, n) for m in firsts])

    root = log.root()
    incl_cases = [(log.leaf_hash(i), i, log.inclusion_proof(i, n)) for i in indices[:50]]
    verify_incl = _per_call_us(
        [partial(verify_inclusion, c[0], c[1], n, c[2], root) for c in incl_cases]
    )
    cons_cases = [(m, log.consistency_proof(m, n), log.root(m)) for m in firsts[:50]]
    verify_cons = _per_call_us(
        [partial(verify_consistency, c[0], n, c[1], c[2], root) for c in cons_cases]
    )
    root_us = _per_call_us([partial(log.root, m) for m in firsts[:100]])

    return {
        "leaves": n,
        "roots_match_pymerkle": roots_match,
        "build_seconds": {"csbm": round(ours_build, 3), "pymerkle": round(theirs_build, 3)},
        "inclusion_proof_us": {"csbm": ours_incl, "pymerkle": theirs_incl},
        "consistency_proof_us": {"csbm": ours_cons, "pymerkle": theirs_cons},
        "verify_inclusion_us": verify_incl,
        "verify_consistency_us": verify_cons,
        "root_us": root_us,
        "ratio_vs_pymerkle": {
            "build": round(theirs_build / ours_build, 2),
            "inclusion": round(theirs_incl["median"] / ours_incl["median"], 2),
            "consistency": round(theirs_cons["median"] / ours_cons["median"], 2),
        },
    }


def run(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else SIZES
    rng = random.Random(9162)
    rows: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("merkle proofs", total=len(sizes))
        for n in sizes:
            progress.update(task, description=f"merkle: {n:,} leaves")
            rows.append(_measure(n, rng))
            progress.advance(task)

    top = rows[-1]
    worst_p99_ms = (
        max(
            max(r["inclusion_proof_us"]["csbm"]["p99"], r["consistency_proof_us"]["csbm"]["p99"])
            for r in rows
        )
        / 1000
    )
    at_top_ms = (
        max(
            top["inclusion_proof_us"]["csbm"]["median"],
            top["consistency_proof_us"]["csbm"]["median"],
        )
        / 1000
    )
    targets_met = at_top_ms < TARGET_PROOF_MS and all(r["roots_match_pymerkle"] for r in rows)
    ratio = top["ratio_vs_pymerkle"]
    summary = (
        f"at {top['leaves']:,} leaves: inclusion {top['inclusion_proof_us']['csbm']['median']} µs, "
        f"consistency {top['consistency_proof_us']['csbm']['median']} µs (median; target < "
        f"{TARGET_PROOF_MS:g} ms), build {top['build_seconds']['csbm']} s; vs pymerkle "
        f"x{ratio['inclusion']} inclusion, x{ratio['consistency']} consistency, "
        f"x{ratio['build']} build"
    )
    return {
        "name": NAME,
        "summary": summary,
        "targets_met": targets_met,
        "target_proof_ms": TARGET_PROOF_MS,
        "proof_ms_at_largest_size": round(at_top_ms, 4),
        "worst_p99_proof_ms": round(worst_p99_ms, 4),
        "queries_per_size": QUERIES,
        "baseline": "pymerkle InmemoryTree (same entries, same queries, same run)",
        "quick": quick,
        "sizes": rows,
    }
