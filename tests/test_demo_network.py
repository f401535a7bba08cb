"""The demo network (csbm.exchange.demo): the Baltic States → Belarus messages through one
signed log per State, over the in-process transport."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbm.errors import InputError
from csbm.exchange.demo import run_network
from csbm.ledger.merkle import InclusionProof
from csbm.node import Node
from csbm.procedures.scenario import load_scenario
from csbm.projection import events_from_log

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_network_logs_agree_with_the_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    steps: list[str] = []
    report, expected = run_network(scenario, tmp_path / "net", steps.append)
    assert len(steps) == report.messages == len(scenario.events)
    assert report.receipts == report.deliveries > report.messages
    assert report.logs_agree_with_scenario
    states = {n.state for n in report.nodes}
    assert {"LT", "BY", "PL"} <= states
    for node in report.nodes:
        assert node.audit.ok, node.audit.first_fault
        assert node.agrees_with_scenario
    by = next(n for n in report.nodes if n.state == "BY")
    assert by.complete_cases == 1
    proof = InclusionProof.from_json(report.proof["inclusion"])
    proof.verify()
    assert report.proof["state"] in states
    assert expected.cases and expected.cases[0].state == "joint_meeting_held"
    # one signed checkpoint per message sent (a batch to all its recipients), not one per
    # delivery: 7 messages, 21 deliveries, 7 checkpoints
    assert report.checkpoints == report.messages < report.deliveries


def test_a_nodes_log_holds_what_it_sent_and_received(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    run_network(scenario, tmp_path / "net")
    with Node.open(tmp_path / "net" / "LT") as lt:
        held = events_from_log(lt).events
        sent = events_from_log(lt, sent_only=True).events
    assert {e.sender for e in sent} == {"LT"}
    assert len(held) > len(sent)
    assert [e.type for e in held][:2] == ["ch3.request", "ch3.reply"]


def test_the_network_refuses_a_used_folder(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "baltic-belarus-2022.yaml")
    run_network(scenario, tmp_path / "net")
    with pytest.raises(InputError, match="already"):
        run_network(scenario, tmp_path / "net")


# -- the live demo's cases (csbm.demo.cases): what it sends, in which order


def test_the_live_demo_sends_the_public_cases_in_time_order() -> None:
    from csbm.demo.cases import STATES, demo_messages

    messages = demo_messages(EXAMPLES)
    assert len(messages) == 15
    instants = [m.at for m in messages]
    assert instants == sorted(instants)
    assert {m.source for m in messages} == {
        "zapad-2017-notified.yaml", "belarus-ukraine-2021.yaml",
        "baltic-belarus-2022.yaml", "ukraine-russia-2022.yaml",
    }  # fmt: skip
    first, last = messages[0], messages[-1]
    assert (first.message.type, first.sender, first.at.isoformat()) == (
        "calendar", "BY", "2016-11-14T12:00:00+00:00",
    )  # fmt: skip
    assert (last.message.type, last.message.case) == ("ch3.meeting", "ua-ru-2022")
    # a message to all waits for every other node's receipt; a bilateral one for its own
    assert first.recipients == [s for s in STATES if s != "BY"]
    reply = next(m for m in messages if m.message.type == "ch3.reply")
    assert reply.recipients == ["LT", "LV", "EE"]
    # every sender and addressee has a node
    assert {m.sender for m in messages} <= set(STATES)


def test_a_case_outside_the_demo_network_is_refused(tmp_path: Path) -> None:
    from csbm.demo.cases import demo_messages

    (tmp_path / "far.yaml").write_text(
        "title: far\nregime: [vd2011]\nevents:\n"
        "  - {at: 2022-02-09T10:00Z, type: ch3.request, from: UA, to: FR, case: x, body: {}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        demo_messages(tmp_path, ["far.yaml"])
    (problem,) = refused.value.problems
    assert problem.value == "FR" and "no demo node for FR" in problem.reason


def test_a_missing_case_file_is_refused(tmp_path: Path) -> None:
    from csbm.demo.cases import demo_messages
    from csbm.errors import NotFoundError

    with pytest.raises(NotFoundError):
        demo_messages(tmp_path)


# -- the live demo's folder (csbm.demo.live.prepare): restart, reset, refusals


def _loaded_layout(folder: Path) -> None:
    from csbm.demo.live import Layout, _ports

    folder.mkdir()
    layout = Layout(folder, _ports(0), loaded=True, messages=15)
    layout.save()
    (folder / "UA").mkdir()  # stands for a node's data


def test_a_loaded_demo_restarts_on_its_ports_and_reset_starts_clean(tmp_path: Path) -> None:
    from csbm.demo.live import LAYOUT, Layout, prepare

    folder = tmp_path / "demo"
    _loaded_layout(folder)
    ports = Layout.read(folder).ports
    again = prepare(folder)
    assert again.loaded and again.ports == ports
    assert (folder / "UA").is_dir()
    assert oct((folder / LAYOUT).stat().st_mode & 0o777) == "0o600"  # passwords inside
    with pytest.raises(InputError) as refused:
        prepare(folder, port_base=ports["hub"] + 100 if ports["hub"] < 60000 else 2000)
    assert refused.value.problems[0].path == "--port-base"
    fresh = prepare(folder, reset=True, port_base=0)
    assert not fresh.loaded and not folder.exists()


def test_reset_never_removes_the_folder_of_a_demo_that_runs(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from csbm.demo.live import Layout, prepare

    class WellKnown(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    folder = tmp_path / "demo"
    _loaded_layout(folder)
    layout = Layout.read(folder)
    server = HTTPServer(("127.0.0.1", layout.ports["BY"]), WellKnown)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(InputError, match="running") as refused:
            prepare(folder, reset=True)
        assert "Stop it first" in refused.value.problems[0].reason
        assert (folder / "UA").is_dir()
    finally:
        server.shutdown()
        server.server_close()
