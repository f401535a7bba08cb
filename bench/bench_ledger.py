"""The signed log at scale (issue 3, item 9 (a) and (b)); proof times from the SQL store.

(a) Append throughput of signed envelopes into the log with durable commits (group
    commit: batches of 1,000, each acknowledged after its commit, SQLite WAL with
    synchronous=FULL), against the raw Ed25519 verification throughput of the same
    envelopes on one core, measured in the same run. Target: >= 0.5 of the raw rate.
    PostgreSQL is measured too when the server answers (reported, not a target).
(b) ``verify`` (the full audit: every signature, leaf hash, canonical form, receipt and
    stored tree node) over a 1,000,000-entry log (10,000 with quick=True), in a fresh
    process with one worker per core, against the raw verification rate of the same
    envelopes on one core. Targets: >= 0.7 of the raw rate, peak memory of the process
    tree (ru_maxrss of the auditor plus that of its largest worker) under 300 MB, both
    cores used (worker CPU time / wall time).
(c) Inclusion and consistency proof time from the SQL node store of that log.

The big log is built with batched appends of envelopes signed by a process pool; the
envelope bytes come from a template and are checked against RFC 8785 on a sample (and,
in full, by the audit itself, which refuses any non-canonical entry).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from csbm.ledger.envelope import parse_envelope, signed_part
from csbm.ledger.keys import StateKey, load_state_key
from csbm.node import Node, init_node
from csbm.store import EntryRecord, LedgerStore

NAME = "ledger"
APPEND_RATIO_TARGET = 0.5
VERIFY_RATIO_TARGET = 0.7
MEMORY_TARGET_MB = 300.0
#: "Both cores used": worker + auditor CPU time over wall time, on a 2-core machine.
CORES_BUSY_TARGET = 1.25
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SRC = Path(__file__).resolve().parent.parent / "src"

# ------------------------------------------------------------------ envelope factory

_WORKER_KEY: Ed25519PrivateKey | None = None
_WORKER_META: tuple[str, str] = ("", "")


def _init_signer(pem_seed: bytes, state: str, key_id: str) -> None:
    global _WORKER_KEY, _WORKER_META
    _WORKER_KEY = Ed25519PrivateKey.from_private_bytes(pem_seed)
    _WORKER_META = (state, key_id)


def _template(state: str, key_id: str, n: int, rng: random.Random) -> tuple[bytes, str, str]:
    """Canonical unsigned envelope bytes (RFC 8785 key order, ASCII only)."""
    created = (T0 + timedelta(milliseconds=n)).isoformat(timespec="milliseconds")
    created = created.replace("+00:00", "Z")
    mid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    troops = 9000 + n % 50000
    body = f'{{"activity":"exercise","area":"zone {n % 97}","n":{n},"troops":{troops}}}'
    unsigned = (
        f'{{"created_at":"{created}","csbm":1,"key_id":"{key_id}",'
        f'"message":{{"body":{body},"kind":"notification"}},'
        f'"message_id":"{mid}","recipients":["all"],"sender":"{state}"}}'
    )
    return unsigned.encode(), mid, created


def _sign_range(start: int, count: int) -> list[tuple[str, str, bytes]]:
    assert _WORKER_KEY is not None
    import base64

    state, key_id = _WORKER_META
    rng = random.Random(start)
    out: list[tuple[str, str, bytes]] = []
    for n in range(start, start + count):
        unsigned, mid, created = _template(state, key_id, n, rng)
        sig = base64.b64encode(_WORKER_KEY.sign(unsigned))
        out.append((mid, created, unsigned[:-1] + b',"signature":"' + sig + b'"}'))
    return out


def _records(rows: list[tuple[str, str, bytes]], state: str, key_id: str) -> list[EntryRecord]:
    return [
        EntryRecord(mid, "notification", state, key_id, created, raw) for mid, created, raw in rows
    ]


def _seed(key: StateKey) -> bytes:
    return key.private.private_bytes_raw()


# ------------------------------------------------------------------ measurements


def _raw_verify_rate(public: Ed25519PublicKey, envelopes: list[bytes]) -> float:
    """Ed25519 verifications per second on one core (signed bytes and signatures ready)."""
    prepared = [(parse_envelope(raw).signature, signed_part(raw)) for raw in envelopes]
    best = 0.0
    for _ in range(2):
        started = time.perf_counter()
        for sig, data in prepared:
            public.verify(sig, data)
        best = max(best, len(prepared) / (time.perf_counter() - started))
    return best


def _node(root: Path, db: str | None) -> tuple[Node, StateKey]:
    node = init_node("UA", T0 - timedelta(days=1), data=root, db=db)
    key = load_state_key(root / f"keys/UA-{node.key.key_id}.pem", "UA")
    return node, key


def _sign_all(
    key: StateKey, total: int, chunk: int, workers: int
) -> list[list[tuple[str, str, bytes]]]:
    with ProcessPoolExecutor(
        workers, initializer=_init_signer, initargs=(_seed(key), "UA", key.key_id)
    ) as pool:
        futures = [
            pool.submit(_sign_range, s, min(chunk, total - s)) for s in range(0, total, chunk)
        ]
        return [f.result() for f in futures]


def _append_bench(root: Path, n: int, db: str | None, batch: int = 1000) -> dict[str, Any]:
    node, key = _node(root, db)
    try:
        chunks = _sign_all(key, n, batch, os.cpu_count() or 1)
        envelopes = [raw for c in chunks for _m, _c, raw in c]
        sample = envelopes[:: max(1, len(envelopes) // 200)]
        for raw in sample:
            assert rfc8785.dumps(json.loads(raw)) == raw, "template is not canonical"
        raw_rate = _raw_verify_rate(key.private.public_key(), envelopes)
        records = [_records(c, "UA", key.key_id) for c in chunks]
        started = time.perf_counter()
        for group in records:
            node.store.append(group)  # one durable commit per batch
        seconds = time.perf_counter() - started
        assert node.store.size() == n + 1
        rate = n / seconds
        grouped = _group_commit_rate(node.store, key, n // 4)
        return {
            "backend": node.store.engine.dialect.name,
            "entries": n,
            "batch": batch,
            "seconds": round(seconds, 3),
            "appends_per_second": round(rate),
            "raw_verify_per_second_one_core": round(raw_rate),
            "ratio": round(rate / raw_rate, 3),
            "group_commit": grouped,
        }
    finally:
        node.close()


def _group_commit_rate(
    store: LedgerStore, key: StateKey, n: int, threads: int = 8
) -> dict[str, Any]:
    """Single-envelope appends from ``threads`` threads through the GroupCommitter: each
    caller waits for its own durable commit; concurrent callers share fsyncs."""
    import threading

    from csbm.store import GroupCommitter

    _init_signer(_seed(key), "UA", key.key_id)
    records = _records(_sign_range(10_000_000, n), "UA", key.key_id)
    per = len(records) // threads
    with GroupCommitter(store) as committer:

        def work(part: list[EntryRecord]) -> None:
            for record in part:
                committer.append([record])

        workers = [
            threading.Thread(target=work, args=(records[t * per : (t + 1) * per],))
            for t in range(threads)
        ]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - started
        commits = committer.commits
    return {
        "threads": threads,
        "appends": per * threads,
        "commits": commits,
        "appends_per_second": round(per * threads / seconds),
    }


_AUDIT_SCRIPT = r"""
import json, resource, sys, time
from csbm.ledger.audit import audit
from csbm.store import LedgerStore
store = LedgerStore.open(sys.argv[1])
me0 = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
report = audit(store, "UA", workers=int(sys.argv[2]), chunk=int(sys.argv[3]))
wall = time.perf_counter() - started
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "ok": report.ok, "size": report.size, "signatures": report.signatures,
    "nodes": report.nodes, "faults": [f.line() for f in report.faults[:3]],
    "wall": wall, "workers": report.workers,
    "self_maxrss_mb": me.ru_maxrss / 1024, "children_maxrss_mb": kids.ru_maxrss / 1024,
    "self_cpu": me.ru_utime + me.ru_stime - me0.ru_utime - me0.ru_stime,
    "children_cpu": kids.ru_utime + kids.ru_stime,
}))
"""


def _verify_bench(root: Path, n: int, quick: bool) -> dict[str, Any]:
    node, key = _node(root, None)
    url = node.config.db_url
    workers = os.cpu_count() or 1
    build_started = time.perf_counter()
    try:
        batch = 10_000
        for start in range(0, n, batch * 4):
            count = min(batch * 4, n - start)
            with ProcessPoolExecutor(
                workers, initializer=_init_signer, initargs=(_seed(key), "UA", key.key_id)
            ) as pool:
                futures = [
                    pool.submit(_sign_range, s, min(batch, start + count - s))
                    for s in range(start, start + count, batch)
                ]
                for f in futures:
                    node.store.append(_records(f.result(), "UA", key.key_id))
        node.checkpoint(T0 + timedelta(days=30))
        build_seconds = time.perf_counter() - build_started
        sample = [
            e.envelope
            for chunk in node.store.iter_entries(1, 1 + min(n, 20_000), 5000)
            for e in chunk
        ]
        raw_rate = _raw_verify_rate(key.private.public_key(), sample)
        proofs = _proof_times(node.store, n + 1)
    finally:
        node.close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", _AUDIT_SCRIPT, url, str(workers), "500"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    audit = json.loads(done.stdout)
    rate = audit["size"] / audit["wall"]
    tree_mb = audit["self_maxrss_mb"] + audit["children_maxrss_mb"]
    return {
        "entries": audit["size"],
        "build_seconds": round(build_seconds, 1),
        "db_bytes": os.path.getsize(root / "ledger.sqlite3"),
        "audit_ok": audit["ok"],
        "audit_faults": audit["faults"],
        "audit_seconds": round(audit["wall"], 2),
        "audit_entries_per_second": round(rate),
        "raw_verify_per_second_one_core": round(raw_rate),
        "ratio": round(rate / raw_rate, 3),
        "workers": audit["workers"],
        "worker_cpu_seconds": round(audit["children_cpu"], 1),
        "cores_busy": round((audit["children_cpu"] + audit["self_cpu"]) / audit["wall"], 2),
        "peak_rss_mb": {
            "auditor": round(audit["self_maxrss_mb"], 1),
            "largest_worker": round(audit["children_maxrss_mb"], 1),
            "tree_upper_bound": round(tree_mb, 1),
        },
        "proofs": proofs,
        "quick": quick,
    }


def _proof_times(store: LedgerStore, size: int) -> dict[str, Any]:
    rng = random.Random(1)
    inc: list[float] = []
    cons: list[float] = []
    for _ in range(200):
        i = rng.randrange(size)
        started = time.perf_counter()
        store.prove_inclusion(i, size)
        inc.append(time.perf_counter() - started)
        m = rng.randint(1, size - 1)
        started = time.perf_counter()
        store.prove_consistency(m, size)
        cons.append(time.perf_counter() - started)
    return {
        "tree_size": size,
        "inclusion_ms_median": round(statistics.median(inc) * 1000, 3),
        "consistency_ms_median": round(statistics.median(cons) * 1000, 3),
    }


def run(quick: bool = False) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="csbm-bench-ledger-"))
    try:
        n_append = 5_000 if quick else 20_000
        appends = [_append_bench(base / "append-sqlite", n_append, None)]
        pg = os.environ.get("CSBM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        try:
            appends.append(_append_bench_pg(base / "append-pg", n_append, pg))
        except Exception as exc:  # the server is optional for the bench
            appends.append({"backend": "postgresql", "skipped": str(exc)[:200]})
        n_verify = 10_000 if quick else 1_000_000
        verify = _verify_bench(base / "verify", n_verify, quick)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    sqlite_append = appends[0]
    met = (
        sqlite_append["ratio"] >= APPEND_RATIO_TARGET
        and verify["audit_ok"]
        and verify["ratio"] >= VERIFY_RATIO_TARGET
        and verify["peak_rss_mb"]["tree_upper_bound"] < MEMORY_TARGET_MB
        and verify["cores_busy"] >= CORES_BUSY_TARGET
    )
    summary = (
        f"append {sqlite_append['appends_per_second']}/s = {sqlite_append['ratio']}x raw verify "
        f"({sqlite_append['raw_verify_per_second_one_core']}/s, target {APPEND_RATIO_TARGET}); "
        f"verify {verify['entries']} entries in {verify['audit_seconds']} s = "
        f"{verify['audit_entries_per_second']}/s = {verify['ratio']}x raw "
        f"(target {VERIFY_RATIO_TARGET}), peak {verify['peak_rss_mb']['tree_upper_bound']} MB, "
        f"{verify['cores_busy']} cores busy; inclusion proof "
        f"{verify['proofs']['inclusion_ms_median']} ms at {verify['proofs']['tree_size']}"
    )
    return {
        "name": NAME,
        "append": appends,
        "verify": verify,
        "targets": {
            "append_ratio": APPEND_RATIO_TARGET,
            "verify_ratio": VERIFY_RATIO_TARGET,
            "peak_memory_mb": MEMORY_TARGET_MB,
        },
        "targets_met": met,
        "summary": summary,
    }


def _append_bench_pg(root: Path, n: int, base_url: str) -> dict[str, Any]:
    """The append bench on a throw-away PostgreSQL schema."""
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"csbm_bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return _append_bench(root, n, url.render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
