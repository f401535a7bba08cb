"""The shell of the network: ``csbm send`` (one line and exit 2 for anything bad, nothing
stored), the peer directory pinned by fingerprint, ``init --hub``, and the settings of
``csbm serve`` (data directory < environment < flags)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csbm.api.config import load_settings
from csbm.cli.main import run
from csbm.errors import InputError
from csbm.hub import Hub, init_hub
from csbm.node import Node, init_node
from csbm.services.peers import add_peer, list_peers, remove_peer, well_known
from csbm.store.outbox import PeerRecord

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def lt(tmp_path: Path) -> Path:
    init_node("LT", T0, data=tmp_path / "lt").close()
    return tmp_path / "lt"


def _one_line(capsys: pytest.CaptureFixture[str], code: int, expected: str) -> None:
    out = capsys.readouterr()
    assert code == 2
    assert out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("csbm: ") and expected in lines[0], lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type: nope\nto: BY\nbody: {}\n", "type: unknown message kind"),
        ("type: ch3.request\nto: XX\nbody: {}\n", "to: not a participating State"),
        ("type: ch3.request\nto: BY\nbody: {}\nfrom: LT\n", "from: unknown key"),
        ("type: ch3.request\nto: BY\nbody: {}\n", "to[0]: no peer BY"),
        ("type: ch3.request\nto: all\nbody: {}\n", "to: no peer hub"),
        ("- a list\n", "a message is a mapping"),
        ("type: ch3.request\ntype: ch3.reply\n", "given twice"),
    ],
)
def test_send_refuses_in_one_line_and_stores_nothing(
    lt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    with Node.open(lt) as node:
        size = node.size()
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    _one_line(capsys, run(["send", str(path), "--data", str(lt)]), expected)
    with Node.open(lt) as node:
        assert node.size() == size
        assert node.outbox_rows() == []


def test_send_logs_and_queues_in_one_step_and_prints_the_id(
    lt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Node.open(lt) as node:
        node.put_peer(PeerRecord("BY", "http://127.0.0.1:9", "csbm/BY", b"\x01" * 32,
                                 "SHA256:x", "2026-03-01T09:00:00Z"))  # fmt: skip
    path = tmp_path / "m.yaml"
    path.write_text("type: ch3.request\nto: BY\ncase: c\nbody: {}\n", encoding="utf-8")
    assert run(["send", str(path), "--data", str(lt)]) == 0
    mid = capsys.readouterr().out.strip()
    with Node.open(lt) as node:
        entry = node.entry_by_message_id(mid)
        assert entry is not None and entry.sender == "LT"
        (row,) = node.outbox_rows(mid)
        assert (row.destination, row.status, row.log_index) == ("BY", "pending", entry.index)


def _fetcher(doc: dict[str, Any]) -> Any:
    return lambda _url: doc


def test_peer_add_pins_the_fingerprint_as_ssh_does(tmp_path: Path) -> None:
    lt = init_node("LT", T0, data=tmp_path / "lt")
    by = init_node("BY", T0, data=tmp_path / "by")
    try:
        said = well_known(by)
        with pytest.raises(InputError) as wrong:
            add_peer(lt, "BY", "http://127.0.0.1:1", "SHA256:AAAA", T0, _fetcher(said))
        assert wrong.value.code == "peer.fingerprint_mismatch"
        with pytest.raises(InputError) as other:
            add_peer(lt, "PL", "http://127.0.0.1:1", by.key.fingerprint, T0, _fetcher(said))
        assert other.value.code == "peer.wrong_state"
        with pytest.raises(InputError):
            add_peer(lt, "BY", "ftp://x", by.key.fingerprint, T0, _fetcher(said))
        assert list_peers(lt).peers == []
        assert [r.state for r in lt.key_records() if not r.own] == []
        doc = add_peer(lt, "BY", "http://127.0.0.1:1/", by.key.fingerprint, T0, _fetcher(said))
        assert (doc.state, doc.url, doc.fingerprint) == ("BY", "http://127.0.0.1:1",
                                                         by.key.fingerprint)  # fmt: skip
        assert [r.state for r in lt.key_records() if not r.own] == ["BY"]
        assert remove_peer(lt, "BY").state == "BY"
        assert list_peers(lt).peers == []
    finally:
        lt.close()
        by.close()


def test_a_hub_registers_nodes_and_pins_like_a_node(tmp_path: Path) -> None:
    hub = init_hub(T0, tmp_path / "hub")
    lt = init_node("LT", T0, data=tmp_path / "lt")
    try:
        assert well_known(hub)["state"] == "hub"
        add_peer(hub, "LT", "http://127.0.0.1:2", lt.key.fingerprint, T0, _fetcher(well_known(lt)))
        assert [p.state for p in hub.peers()] == ["LT"]
        add_peer(lt, "hub", "http://127.0.0.1:3", hub.key.fingerprint, T0,
                 _fetcher(well_known(hub)))  # fmt: skip
        assert [p.state for p in lt.peers()] == ["hub"]
    finally:
        hub.close()
        lt.close()
    with Hub.open(tmp_path / "hub") as again:
        assert [p.state for p in again.peers()] == ["LT"]


def test_init_hub_refuses_a_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["init", "--hub", "--state", "LT", "--data", str(tmp_path / "h")])
    _one_line(capsys, code, "--state: not with --hub")
    _one_line(capsys, run(["init", "--data", str(tmp_path / "n")]), "--state: required")


def test_settings_data_directory_then_environment_then_flags(lt: Path) -> None:
    import json

    config = json.loads((lt / "config.json").read_text())
    config["serve"] = {"port": 9001, "skew_seconds": 60, "host": "127.0.0.2"}
    (lt / "config.json").write_text(json.dumps(config))
    assert load_settings(lt, env={}).port == 9001
    env = {"CSBM_PORT": "9002", "CSBM_SKEW": "120"}
    settings = load_settings(lt, env=env)
    assert (settings.port, settings.skew_seconds, settings.host) == (9002, 120.0, "127.0.0.2")
    assert load_settings(lt, {"port": 9003}, env=env).port == 9003
    with pytest.raises(InputError) as bad:
        load_settings(lt, env={"CSBM_PORT": "x"})
    assert bad.value.problems[0].path == "CSBM_PORT"
    with pytest.raises(InputError) as bad:
        load_settings(lt, {"port": 70000}, env={})
    assert bad.value.problems[0].path == "--port"


def test_a_pinned_key_is_valid_from_the_start_of_its_second(tmp_path: Path) -> None:
    """Instants in envelopes and receipts are to the second: a key pinned at 09:00:00.750
    must accept a receipt stamped 09:00:00 (signed in the same second)."""
    from datetime import timedelta

    lt = init_node("LT", T0, data=tmp_path / "lt")
    by = init_node("BY", T0, data=tmp_path / "by")
    try:
        pinned_at = T0 + timedelta(minutes=5, milliseconds=750)
        add_peer(lt, "BY", "http://127.0.0.1:1", by.key.fingerprint, pinned_at,
                 _fetcher(well_known(by)))  # fmt: skip
        (record,) = [r for r in lt.key_records() if r.state == "BY"]
        assert record.valid_from == "2026-03-01T09:05:00.000Z"  # the stamp keeps ms
    finally:
        lt.close()
        by.close()
