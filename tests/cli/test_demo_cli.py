"""``csbm demo --once`` (the offline tour) as a user runs it: a bad --data is refused before
anything is printed, and the signed checkpoint it prints verifies when copied from an
80-column terminal. ``csbm demo`` (the live network) refuses a bad folder or port the same
way, before anything is started."""

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
    out = _csbm("demo", "--once", "--data", str(target / "x" if under else target))
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("csbm: --data: ") and len(out.stderr.splitlines()) == 1


@pytest.mark.slow
def test_the_printed_checkpoint_verifies_at_80_columns(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    out = _csbm("demo", "--once", "--data", str(data))
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


def _refused(out: subprocess.CompletedProcess[str], where: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr.startswith(f"csbm: {where}: "), out.stderr


@pytest.mark.parametrize("under", [False, True])
def test_live_demo_onto_a_file_is_refused(tmp_path: Path, under: bool) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    _refused(_csbm("demo", "--data", str(target / "x" if under else target)), "--data")
    assert target.read_text() == "x"


def test_live_demo_never_touches_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for extra in ((), ("--reset",)):
        out = _csbm("demo", "--data", str(folder), "--port-base", "0", *extra)
        _refused(out, "--data")
        assert "not a demo folder" in out.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("base", ["80", "65534", "-1"])
def test_live_demo_refuses_a_bad_port_base(tmp_path: Path, base: str) -> None:
    _refused(_csbm("demo", "--data", str(tmp_path / "d"), "--port-base", base), "--port-base")
    assert not (tmp_path / "d").exists()


def test_live_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        if taken > 65535 - 8:
            pytest.skip("the free port is too high to be a base")
        out = _csbm("demo", "--data", str(tmp_path / "d"), "--port-base", str(taken))
    _refused(out, "--port-base")
    assert f"port {taken} (hub) is in use" in out.stderr
    assert not (tmp_path / "d").exists()


def test_the_live_demo_refuses_the_tours_zone(tmp_path: Path) -> None:
    _refused(_csbm("demo", "--data", str(tmp_path / "d"), "--tz", "Europe/Kyiv"), "--tz")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("flag", [("--reset",), ("--port-base", "0")])
def test_once_refuses_the_live_demos_flags(flag: tuple[str, ...]) -> None:
    _refused(_csbm("demo", "--once", *flag), flag[0])


def test_an_unfinished_demo_asks_for_reset(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    layout = {"version": 1, "ports": {s: 0 for s in ("hub", "UA", "BY", "RU", "LT", "LV",
              "EE", "PL")}, "logins": {}, "loaded": False, "messages": 0}  # fmt: skip
    (folder / "demo.json").write_text(json.dumps(layout))
    out = _csbm("demo", "--data", str(folder))
    _refused(out, "--data")
    assert "csbm demo --reset" in out.stderr
    (folder / "demo.json").write_text("[1, 2]")
    _refused(_csbm("demo", "--data", str(folder)), str(folder / "demo.json"))
