"""``csbm init``, ``csbm keys`` and ``csbm ledger`` end to end, on both backends: proofs
printed by ``prove --json`` verify with an RFC 9162 verifier, bad input exits 2 with one
line per problem and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.ledger.checkpoint import verify_checkpoint
from csbm.ledger.merkle import ConsistencyProof, InclusionProof, leaf_hash
from csbm.ledger.note import NoteVerifier
from csbm.node import Node
from tests.store.backends import backend, db_url

__all__ = ["backend", "db_url"]

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def node_dir(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, str]]:
    data = tmp_path / "node"
    code, out, err = run("init", "--state", "UA", "--data", str(data), "--db", db_url, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["state"] == "UA" and doc["key_id"] in doc["public_key"]
    yield data, db_url


N = "type: ch3.request\ncase: c1\n"
"""The head of a message file in the one message form (csbm.message)."""
NIL = {"type": "aemi", "body": {"year": 2021, "nil": True}}


def _message(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _size(data: Path, db: str) -> int:
    with Node.open(data, db) as node:
        return node.store.size()


def test_append_prove_consistency_checkpoint_verify(
    tmp_path: Path, node_dir: tuple[Path, str]
) -> None:
    data, db = node_dir
    common = ["--data", str(data), "--db", db]
    yaml_file = _message(
        tmp_path, "m.yaml", f"{N}to: [AT, BY]\nbody:\n  activity: exercise\n"
    )
    reply = {"type": "ch3.reply", "to": "AT", "case": "c1", "body": {"text": "why?"}}
    json_file = _message(tmp_path, "m.json", json.dumps(reply))
    for f in (yaml_file, json_file, yaml_file):
        code, out, err = run("ledger", "append", str(f), *common, "--json")
        assert code == 0, err
    appended = json.loads(out)
    assert appended["index"] == 3 and appended["duplicate"] is False

    code, out, _ = run("ledger", "prove", "--index", "2", *common, "--json")
    assert code == 0
    proof = json.loads(out)
    assert set(proof) == {"leafIdx", "treeSize", "root", "leafHash", "proof"}
    InclusionProof.from_json(proof).verify()
    with Node.open(data, db) as node:
        assert InclusionProof.from_json(proof).leaf_hash == leaf_hash(node.store.entry(2).envelope)

    code, out, _ = run("ledger", "prove", "--index", "0", "--size", "3", *common, "--json")
    assert code == 0 and json.loads(out)["treeSize"] == 3

    code, out, _ = run("ledger", "consistency", "--from", "1", "--to", "4", *common, "--json")
    assert code == 0
    ConsistencyProof.from_json(json.loads(out)).verify()

    code, out, _ = run("keys", "show", *common, "--json")
    vkey = json.loads(out)["public_key"]
    code, out, _ = run("ledger", "checkpoint", *common)
    assert code == 0
    signed = verify_checkpoint(out, [NoteVerifier.from_text(vkey)], origin="csbm/UA")
    assert signed.size == 4 and signed.root == InclusionProof.from_json(proof).root
    code, out, _ = run("ledger", "checkpoint", *common, "--json")
    assert json.loads(out)["size"] == 4

    code, out, _ = run("ledger", "verify", *common, "--json")
    assert code == 0
    report = json.loads(out)
    assert (
        report["ok"] and report["checked"]["entries"] == 4 and report["checked"]["checkpoints"] == 2
    )
    code, out, _ = run("ledger", "verify", *common)
    assert code == 0 and out.startswith("OK: 4 entries")


def test_keys_rotate_and_revoke(node_dir: tuple[Path, str], tmp_path: Path) -> None:
    data, db = node_dir
    common = ["--data", str(data), "--db", db]
    _, out, _ = run("keys", "show", *common, "--json")
    old = json.loads(out)["key_id"]
    code, out, _ = run("keys", "rotate", *common, "--json")
    assert code == 0
    rotated = json.loads(out)
    assert rotated["old_key_id"] == old and rotated["key_id"] != old
    _, out, _ = run("keys", "show", *common, "--json")
    assert json.loads(out)["key_id"] == rotated["key_id"]
    code, _, err = run("keys", "revoke", rotated["key_id"], *common)
    assert code == 2 and "rotate first" in err
    code, out, _ = run("keys", "revoke", old, *common, "--json")
    assert code == 0 and json.loads(out)["log_index"] == 2
    code, _, err = run("keys", "revoke", old, *common)
    assert code == 2 and "revoked at" in err
    code, _, err = run("keys", "revoke", "deadbeef", *common)
    assert code == 2 and "no key deadbeef" in err
    _, out, _ = run("keys", "list", *common, "--json")
    listed = {k["key_id"]: k for k in json.loads(out)}
    assert listed[old]["revoked_at"] and listed[old]["valid_until"]
    f = _message(tmp_path, "m.json", json.dumps(NIL))
    assert run("ledger", "append", str(f), *common)[0] == 0
    code, out, _ = run("ledger", "verify", *common)
    assert code == 0, out


def test_add_peer_key(node_dir: tuple[Path, str], tmp_path: Path) -> None:
    data, db = node_dir
    common = ["--data", str(data), "--db", db]
    peer = tmp_path / "peer"
    _, out, _ = run("init", "--state", "AT", "--data", str(peer), "--json")
    vkey = json.loads(out)["public_key"]
    assert run("keys", "add-peer", "AT", vkey, *common)[0] == 0
    code, _, err = run("keys", "add-peer", "AT", vkey + "x", *common)
    assert code == 2
    code, _, err = run("keys", "add-peer", "ZZ", vkey, *common)
    assert code == 2 and "participating State" in err
    code, _, err = run("keys", "add-peer", "AT", vkey, "--from", "someday", *common)
    assert code == 2


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "type: [unclosed\n", ["not valid YAML"]),
        ("bad.json", "{not json", ["not valid JSON"]),
        ("list.yaml", "- 1\n- 2\n", ["must be a mapping"]),
        ("nokind.yaml", "body: {a: 1}\n", ["type: unknown message kind"]),
        ("oldform.yaml", "kind: n\nbody: {}\n", ["kind: unknown key", "type: unknown"]),
        ("nobody.yaml", "type: ch3.meeting_request\ncase: x\n", ["body.scope: required"]),
        ("extra.yaml", f"{N}colour: red\n", ["colour: unknown key"]),
        ("recipients.yaml", f"{N}to: [ZZ, AT, QQ]\n", ["to[0]", "to[2]"]),
        ("all.yaml", f"{N}to: [all, AT]\n", ["stands alone"]),
        ("date.yaml", "type: ch3.request\ncase: x\nbody: {when: 2026-01-01}\n", ["body.when"]),
        ("xx.yaml", "type: ch3.request\ncase: x\nbody: {on_behalf_of: [XX]}\n",
         ["body.on_behalf_of[0]"]),
        ("receipt.yaml", "type: csbm.receipt\nbody: {}\n", ["type: unknown message kind"]),
        ("big.json", '{"type": "aemi", "body": {"year": 18014398509481984}}', ["I-JSON"]),
        ("mid.yaml", f"{N}message_id: 42\n", ["message_id"]),
    ],
)
def test_malformed_message_files_exit_2_and_change_nothing(
    tmp_path: Path, node_dir: tuple[Path, str], name: str, text: str, expected: list[str]
) -> None:
    data, db = node_dir
    before = _size(data, db)
    path = _message(tmp_path, name, text)
    code, out, err = run("ledger", "append", str(path), "--data", str(data), "--db", db)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(expected)
    for line, word in zip(lines, expected, strict=True):
        assert line.startswith("csbm: ") and word in line
    assert _size(data, db) == before


def test_bad_options_exit_2(tmp_path: Path, node_dir: tuple[Path, str]) -> None:
    data, db = node_dir
    common = ["--data", str(data), "--db", db]
    for args in (
        ("ledger", "prove", "--index", "9", *common),
        ("ledger", "prove", "--index", "-1", *common),
        ("ledger", "prove", "--index", "0", "--size", "99", *common),
        ("ledger", "consistency", "--from", "3", "--to", "1", *common),
        ("ledger", "consistency", "--from", "0", "--to", "7", *common),
        ("ledger", "append", str(tmp_path / "missing.yaml"), *common),
        ("ledger", "verify", "--data", str(tmp_path / "nowhere")),
        ("ledger", "verify", "--data", str(data), "--db", "mysql://x/y"),
    ):
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert out == "" and err.startswith("csbm: ")


def test_init_refuses_unknown_state_and_second_init(
    tmp_path: Path, node_dir: tuple[Path, str]
) -> None:
    data, db = node_dir
    code, out, err = run("init", "--state", "XX", "--data", str(tmp_path / "x"))
    assert code == 2 and "--state" in err and out == ""
    assert not (tmp_path / "x").exists()
    code, _, err = run("init", "--state", "UA", "--data", str(data), "--db", db)
    assert code == 2 and "already" in err
    code, _, err = run("init", "--state", "AT", "--data", str(tmp_path / "other"), "--db", db)
    assert code == 2 and "already holds a csbm log" in err


def test_default_data_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSBM_DATA", str(tmp_path / "envdata"))
    code, _, err = run("init", "--state", "AT", "--json")
    assert code == 0, err
    assert (tmp_path / "envdata" / "ledger.sqlite3").is_file()
    assert run("ledger", "verify")[0] == 0


def test_encrypted_key_needs_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "enc"
    monkeypatch.setenv("CSBM_KEY_PASSPHRASE", "s3cret")
    code, out, _ = run("init", "--state", "AT", "--data", str(data), "--json")
    assert code == 0 and json.loads(out)["encrypted"] is True
    f = _message(tmp_path, "m.json", json.dumps(NIL))
    assert run("ledger", "append", str(f), "--data", str(data))[0] == 0
    monkeypatch.setenv("CSBM_KEY_PASSPHRASE", "wrong")
    code, out, err = run("ledger", "append", str(f), "--data", str(data))
    assert code == 2 and "passphrase" in err
    monkeypatch.delenv("CSBM_KEY_PASSPHRASE")
    code, out, err = run("ledger", "append", str(f), "--data", str(data))
    assert code == 2 and "CSBM_KEY_PASSPHRASE" in err


def test_another_nodes_database_is_refused(tmp_path: Path, node_dir: tuple[Path, str]) -> None:
    _data, db = node_dir
    other = tmp_path / "other"
    code, _, err = run("init", "--state", "AT", "--data", str(other), "--json")
    assert code == 0, err
    code, out, err = run("ledger", "verify", "--data", str(other), "--db", db)
    assert code == 2 and out == ""
    assert "log of UA, not AT" in err


def test_append_retry_with_the_same_message_id(tmp_path: Path, node_dir: tuple[Path, str]) -> None:
    data, db = node_dir
    common = ["--data", str(data), "--db", db, "--json"]
    mid = "5b0c3c3e-2f7e-4c55-9a39-3a6f0f5f7d10"
    first = _message(tmp_path, "a.yaml", f"{N}body: {{activity: a1}}\nmessage_id: {mid}\n")
    code, out, err = run("ledger", "append", str(first), *common)
    assert code == 0, err
    index = json.loads(out)["index"]
    code, out, err = run("ledger", "append", str(first), *common)
    assert code == 0, err
    assert json.loads(out) == {**json.loads(out), "index": index, "duplicate": True}
    size = _size(data, db)
    other = _message(tmp_path, "b.yaml", f"{N}body: {{activity: a2}}\nmessage_id: {mid}\n")
    code, out, err = run("ledger", "append", str(other), *common)
    assert code == 2 and out == "" and "already used" in err
    assert _size(data, db) == size
