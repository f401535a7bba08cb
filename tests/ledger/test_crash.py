"""Crash safety: an appender is SIGKILLed at random points, 100 times per backend; after
the restarts every append that had been acknowledged is in the log, nothing half-written
is visible, and the audit passes.

To keep 100 kills fast, a *zygote* subprocess imports everything once and forks a fresh
appender per round; the test kills the appender (SIGKILL) after a random delay, then asks
for the next one. The appender writes ``index message_id`` lines to an ack file right
after each group commit returns (one ``write`` per batch, which SIGKILL cannot tear
mid-line in a way that leaves a complete line: only complete lines are read back).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csbm.domain.time import now
from csbm.ledger.audit import audit
from csbm.node import Node
from tests.store.backends import backend, db_url
from tests.store.nodes import make_node

__all__ = ["backend", "db_url"]

ROUNDS = 100

ZYGOTE = r"""
import os, random, sys
from datetime import UTC, datetime
import alembic.command, alembic.config, alembic.runtime.migration, alembic.script  # noqa: F401
from csbm.node import Node
from csbm.store.engine import open_engine

data, db, ack_path = sys.argv[1:4]
open_engine(db).dispose()  # import the driver and dialect once, before any fork


def appender(seed):
    rng = random.Random(seed)
    node = Node.open(__import__("pathlib").Path(data), db)
    key = node.key
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    n = 0
    while True:
        batch = [
            node.sign({"kind": "crash-test", "body": {"seed": seed, "n": n + i}}, ["all"],
                      datetime.now(UTC))
            for i in range(rng.randint(1, 8))
        ]
        n += len(batch)
        results = node.append(batch)
        os.write(fd, "".join(f"{r.index} {r.message_id}\n" for r in results).encode())


print("ready", flush=True)
for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    if command == "fork":
        pid = os.fork()
        if pid == 0:
            try:
                appender(int(arg))
            finally:
                os._exit(3)
        print(pid, flush=True)
    elif command == "reap":
        _, status = os.waitpid(int(arg), 0)
        print(status, flush=True)
    else:
        break
"""


@pytest.mark.slow
def test_sigkill_while_appending_loses_no_acknowledged_entry(tmp_path: Path, db_url: str) -> None:
    node = make_node(tmp_path, db_url, "UA")
    data = node.directory
    node.close()
    acks = tmp_path / "acks.txt"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(data), db_url, str(acks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(20261127)
    killed = 0
    rounds_with_acks = 0
    try:
        assert zygote.stdout.readline().strip() == "ready"
        for round_ in range(ROUNDS):
            zygote.stdin.write(f"fork {round_}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            before = acks.stat().st_size if acks.exists() else 0
            if round_ % 10 == 0:
                # Every tenth round waits for an acknowledged append before its random kill
                # point, so the appenders get work done however loaded the machine is.
                patience = time.monotonic() + 20
                while time.monotonic() < patience and (
                    (acks.stat().st_size if acks.exists() else 0) <= before
                ):
                    time.sleep(0.01)
            time.sleep(rng.uniform(0.01, 0.25))
            os.kill(pid, signal.SIGKILL)
            zygote.stdin.write(f"reap {pid}\n")
            zygote.stdin.flush()
            status = int(zygote.stdout.readline())
            assert os.WIFSIGNALED(status), f"appender {pid} ended by itself ({status})"
            killed += 1
            rounds_with_acks += (acks.stat().st_size if acks.exists() else 0) > before
    finally:
        if zygote.poll() is None:
            zygote.stdin.write("quit\n")
            zygote.stdin.flush()
            zygote.wait(timeout=30)
    assert killed == ROUNDS

    acknowledged: dict[int, str] = {}
    for line in acks.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 36:
            acknowledged[int(parts[0])] = parts[1]
    # the appenders got work done between kills, and were killed at many points
    assert rounds_with_acks >= ROUNDS // 10, rounds_with_acks

    with Node.open(data) as restarted:
        size = restarted.store.size()
        assert size > max(acknowledged)
        for index, message_id in acknowledged.items():
            assert restarted.store.entry(index).message_id == message_id
        report = audit(restarted.store, "UA", workers=0)
        assert report.ok, [f.line() for f in report.faults[:5]]
        assert report.entries == size  # no entry without its leaf, no leaf without its entry
        # and the log goes on
        after = restarted.sign({"kind": "after", "body": {}}, ["all"], now())
        (result,) = restarted.append([after])
        assert result.index == size
