"""``csbm demo`` as a user runs it: a bad --data is refused before anything is printed, and
the signed checkpoint it prints verifies when copied from an 80-column terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csbm.ledger.checkpoint import verify_checkpoint
from csbm.ledger.note import NoteVerifier

ROOT = Path(__file__).resolve().parents[2]


def _csbm(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "CSBM_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "csbm", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("under", [False, True])
def test_data_onto_a_file_is_refused_before_any_output(tmp_path: Path, under: bool) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    out = _csbm("demo", "--data", str(target / "x" if under else target))
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("csbm: --data: ") and len(out.stderr.splitlines()) == 1


@pytest.mark.slow
def test_the_printed_checkpoint_verifies_at_80_columns(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    out = _csbm("demo", "--data", str(data))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    sig = max(i for i, line in enumerate(lines) if line.startswith("— csbm/"))
    start = max(i for i in range(sig) if lines[i].startswith("csbm/") and "—" not in lines[i])
    note = "\n".join(lines[start : sig + 1]) + "\n"
    state = lines[start].split("/")[1]
    shown = _csbm("keys", "show", "--data", str(data / "network" / state), "--json")
    verifier = NoteVerifier.from_text(json.loads(shown.stdout)["public_key"])
    checkpoint = verify_checkpoint(note, [verifier])
    assert checkpoint.size > 0
