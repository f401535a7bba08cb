"""Issue 8, items 1, 6 and 7 in the node's commands: a lost log is named (exit 1) and never
re-created; storage faults and bad key-directory input are one line on stderr, exit 2,
nothing on stdout, nothing changed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.domain.time import now
from csbm.ledger.keys import generate_state_key
from csbm.node import Node

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_line(code: int, out: str, err: str, want: int, text: str) -> None:
    assert code == want, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("csbm: "), err
    assert text in lines[0], lines[0]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "ua"
    code, _out, err = run("init", "--state", "UA", "--data", str(data))
    assert code == 0, err
    yield data


def _entries(data: Path) -> int:
    with Node.open(data) as n:
        return n.store.size()


# -- item 1: data loss


@pytest.mark.parametrize("how", ["deleted", "emptied", "random", "truncated", "directory"])
def test_a_lost_or_broken_log_is_named_and_never_recreated(node: Path, how: str) -> None:
    db = node / "ledger.sqlite3"
    for suffix in ("-wal", "-shm"):
        (node / f"ledger.sqlite3{suffix}").unlink(missing_ok=True)
    if how == "deleted":
        db.unlink()
    elif how == "emptied":
        db.write_bytes(b"")
    elif how == "random":
        db.write_bytes(os.urandom(8192))
    elif how == "truncated":
        db.write_bytes(db.read_bytes()[:1000])
    else:
        db.unlink()
        db.mkdir()
    before = sorted(p.name for p in node.iterdir())
    for command in (["ledger", "verify"], ["ledger", "checkpoint"], ["keys", "show"]):
        code, out, err = run(*command, "--data", str(node))
        want = 2 if how == "directory" else 1
        one_line(code, out, err, want, str(db))
    assert sorted(p.name for p in node.iterdir()) == before  # nothing created
    if how == "deleted":
        assert not db.exists()


def test_a_moved_node_keeps_its_log_and_the_old_path_is_not_used(node: Path) -> None:
    moved = node.parent / "moved"
    shutil.move(str(node), str(moved))
    node.mkdir()  # the old path recreated, empty
    code, out, err = run("ledger", "verify", "--data", str(moved))
    assert code == 0, err
    assert out.startswith("OK: 1 entries")
    assert list(node.iterdir()) == []
    assert json.loads((moved / "config.json").read_text())["db"] == "ledger.sqlite3"


def test_a_log_swapped_for_a_shorter_or_another_one_is_refused(tmp_path: Path, node: Path) -> None:
    other = tmp_path / "other"
    assert run("init", "--state", "UA", "--data", str(other))[0] == 0
    # the node's log grows (the anchor follows), then is replaced by another node's log
    with Node.open(node) as n:
        n.add_peer_key("AT", generate_state_key("AT").verifier_key, now(), at=now())
    assert json.loads((node / "anchor.json").read_text())["size"] == 2
    shutil.copy(other / "ledger.sqlite3", node / "ledger.sqlite3")
    code, out, err = run("ledger", "verify", "--data", str(node))
    one_line(code, out, err, 1, "log is lost")


def test_an_old_node_without_an_anchor_gets_one_but_an_empty_log_is_refused(node: Path) -> None:
    (node / "anchor.json").unlink()
    assert run("ledger", "verify", "--data", str(node))[0] == 0
    assert (node / "anchor.json").is_file()


# -- item 6: storage faults


def test_init_on_an_unreachable_postgresql_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "n"
    code, out, err = run(
        "init", "--state", "UA", "--data", str(data), "--db",
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
    )  # fmt: skip
    one_line(code, out, err, 2, "does not answer")
    assert not data.exists()


def test_init_with_a_database_in_a_missing_directory_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "n"
    db = f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}"
    code, out, err = run("init", "--state", "UA", "--data", str(data), "--db", db)
    one_line(code, out, err, 2, "no such directory")
    assert not data.exists()


def test_init_in_an_existing_folder_refused_removes_only_what_it_made(tmp_path: Path) -> None:
    data = tmp_path / "n"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    db = f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}"
    code, out, _err = run("init", "--state", "UA", "--data", str(data), "--db", db)
    assert code == 2 and out == ""
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_init_data_that_is_a_file_or_under_one(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    data = blocker if where == "file" else blocker / "sub"
    code, out, err = run("init", "--state", "UA", "--data", str(data))
    one_line(code, out, err, 2, "--data")
    assert blocker.read_text() == "x"


def test_init_data_not_writable(tmp_path: Path) -> None:
    """A read-only mount (as root, chmod does not stop a write)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        if os.geteuid() == 0:
            pytest.skip("cannot mount a read-only tmpfs here")
        mount.chmod(0o500)
    try:
        code, out, err = run("init", "--state", "UA", "--data", str(mount / "n"))
        one_line(code, out, err, 2, "--data")
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        mount.chmod(0o700)


def test_a_full_disk_during_append_is_one_line_and_nothing_half_written(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        data = mount / "ua"
        assert run("init", "--state", "UA", "--data", str(data))[0] == 0
        msg = tmp_path / "big.json"
        body = {"scope": "x" * 60_000}
        msg.write_text(json.dumps({"type": "note", "to": ["AT"], "case": "c", "body": body}))
        sizes = []
        for _ in range(40):
            code, out, err = run("ledger", "append", str(msg), "--data", str(data))
            if code != 0:
                break
            sizes.append(out)
        assert code == 2 and out == "", err
        assert len(err.splitlines()) == 1 and err.startswith("csbm: ")
        ok_size = len(sizes) + 1
        with sqlite3.connect(data / "ledger.sqlite3") as conn:
            assert conn.execute("SELECT count(*) FROM log_entries").fetchone()[0] == ok_size
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


# -- item 7: the key directory


@pytest.mark.parametrize(
    ("state", "key_of", "extra", "text"),
    [
        ("PL", "BY", [], "not 'csbm/PL'"),
        ("UA", "UA", [], "own State"),
        ("PL", "PL", ["--from", "2026-05-01T00:00:00Z", "--until", "2026-04-01T00:00:00Z"],
         "must be after --from"),
    ],
)  # fmt: skip
def test_add_peer_refusals(
    node: Path, state: str, key_of: str, extra: list[str], text: str
) -> None:
    before = _entries(node)
    key = generate_state_key(key_of).verifier_key
    code, out, err = run("keys", "add-peer", state, key, *extra, "--data", str(node))
    one_line(code, out, err, 2, text)
    assert _entries(node) == before


def test_add_peer_is_logged_once_and_recognised_the_second_time(node: Path) -> None:
    key = generate_state_key("PL").verifier_key
    before = _entries(node)
    code, out, err = run("keys", "add-peer", "PL", key, "--data", str(node))
    assert code == 0, err
    assert "log index" in out
    assert _entries(node) == before + 1
    with Node.open(node) as n:
        entry = n.store.entry(before)
        assert entry.kind == "csbm.peer_key" and entry.sender == "UA"
        assert n.audit(workers=0).ok
    code, out, err = run("keys", "add-peer", "PL", key, "--data", str(node))
    assert code == 0 and "already" in out and err == ""
    assert _entries(node) == before + 1


def test_verify_refuses_negative_workers(node: Path) -> None:
    code, out, err = run("ledger", "verify", "--workers", "-1", "--data", str(node))
    one_line(code, out, err, 2, "--workers")
