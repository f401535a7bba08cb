"""``csbm replay``, ``csbm deadlines`` and ``csbm export ical`` from the command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from csbm.cli.main import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_done_when_baltic_replay_json(repo_root: Path) -> None:
    doc = json.loads(_ok("replay", str(repo_root / "examples/baltic-belarus-2022.yaml"), "--json"))
    (case,) = doc["cases"]
    assert len(case["parties"]["requesting"]) == 3
    reply = next(d for d in case["deadlines"] if d["rule"] == "CH3_REPLY")
    assert (reply["due"], reply["status"]) == ("2022-02-11T10:00:00Z", "met")
    assert case["details"]["reply"]["assessment"] == "unsatisfactory"
    meeting = case["details"]["meetings"][0]
    assert meeting["held_at"] and "BY" in meeting["attended"]
    assert meeting["absent"][0]["state"] == "RU"
    assert set(doc) == {"at", "cases", "quotas", "findings", "refused"} and doc["refused"] == []
    assert {"case", "procedure", "state", "parties", "deadlines", "history"} <= set(case)


def test_replay_at_and_human_timeline(repo_root: Path) -> None:
    out = _ok("replay", str(repo_root / "examples/ukraine-russia-2022.yaml"),
              "--at", "2022-02-13T13:00 Europe/Kyiv", "--tz", "Europe/Kyiv")
    assert "ua-ru-2022" in out and "no_reply" in out and "CH3_REPLY" in out


def test_bad_scenario_exits_2_with_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - {at: yesterday, type: ch3.request, from: LT, to: BY, case: x}\n"
                   "  - {at: 2022-02-09T10:00Z, type: nope, from: LT, to: BY, case: x}\n"
                   "  - {at: 2022-02-09T10:00Z, type: ch3.request, from: LT, to: BY}\n"
                   "  - {at: 2022-02-09T10:00Z, type: ch3.request, from: LT, to: BY, case: x,"
                   " body: {on_behalf_of: [XX]}}\n"
                   "  - {at: 2022-02-09T10:00Z, type: ch3.request, from: LT, to: BY, case: x}\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["replay", str(bad), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "events[0].at: not an ISO 8601 instant" in result.stderr
    assert "events[1].type: unknown message kind" in result.stderr
    assert "events[3].body.on_behalf_of[0]: not a participating State" in result.stderr
    assert "events[2]" not in result.stderr  # no case label: refused at replay, not input


def test_bad_at_and_missing_file(tmp_path: Path, repo_root: Path) -> None:
    result = runner.invoke(app, ["replay", str(repo_root / "examples/ukraine-russia-2022.yaml"),
                                 "--at", "2022-03-27T02:30 Europe/Vienna"])
    assert result.exit_code == 2 and "--at: 2022-03-27T02:30 does not exist" in result.stderr
    missing = runner.invoke(app, ["replay", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_schemas() -> None:
    schemas = json.loads(_ok("replay", "--schemas"))
    assert "ch3.request" in schemas and "hotline.ack" in schemas


def test_deadlines_soonest_first_in_utc_and_local(repo_root: Path) -> None:
    doc = json.loads(_ok("deadlines", str(repo_root / "examples/ukraine-russia-2022.yaml"),
                         "--at", "2022-02-14T00:00Z", "--tz", "Europe/Kyiv", "--json"))
    rows = doc["deadlines"]
    assert [r["rule"] for r in rows] == ["CH3_REPLY", "CH3_MEET_BILAT"]
    assert rows[0]["status"] == "overdue" and rows[0]["hours_overdue"] == 14.0
    assert rows[1]["status"] == "open" and rows[1]["hours_left"] == 40.0
    assert rows[1]["due"] == "2022-02-15T16:00:00Z"
    assert rows[1]["due_local"] == "2022-02-15T18:00:00+02:00"
    human = _ok("deadlines", str(repo_root / "examples/ukraine-russia-2022.yaml"),
                "--at", "2022-02-14T00:00Z", "--tz", "Europe/Kyiv")
    assert "overdue" in human and "EET" in human


def test_deadlines_bad_zone(repo_root: Path) -> None:
    result = runner.invoke(app, ["deadlines", str(repo_root / "examples/ukraine-russia-2022.yaml"),
                                 "--tz", "Mars/Olympus"])
    assert result.exit_code == 2 and "--tz" in result.stderr


def test_export_ical_is_parseable_and_uids_are_stable(tmp_path: Path, repo_root: Path) -> None:
    scenario = str(repo_root / "examples/ukraine-russia-2022.yaml")
    out = tmp_path / "d.ics"
    _ok("export", "ical", scenario, "--at", "2022-02-14T00:00Z", "-o", str(out))
    cal = Calendar.from_ical(out.read_bytes())
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert [str(e["summary"]).split(" ")[0:2] for e in events] == [
        ["OVERDUE", "CH3_REPLY"], ["CH3_MEET_BILAT", "¶16.2.1:"]]
    assert events[1].decoded("dtstart").isoformat() == "2022-02-15T16:00:00+00:00"
    later = _ok("export", "ical", scenario, "--at", "2022-02-15T00:00Z")
    again = Calendar.from_ical(later.encode("utf-8"))
    uids_later = {str(e["uid"]) for e in again.walk() if e.name == "VEVENT"}
    assert {str(e["uid"]) for e in events} <= uids_later
    # after the meeting was held nothing is open any more except the overdue reply
    final = Calendar.from_ical(_ok("export", "ical", scenario, "--at", "2022-02-20T00:00Z"))
    assert [str(e["summary"]).split(" ")[1] for e in final.walk() if e.name == "VEVENT"] == [
        "CH3_REPLY"]


def test_deadlines_at_now_is_one_instant_format(repo_root: Path) -> None:
    """Without --at the wall clock is taken to the second: ``...:56Z``, never ``.800000Z``."""
    doc = json.loads(_ok("deadlines", str(repo_root / "examples/ukraine-russia-2022.yaml"),
                         "--json"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["at"]), doc["at"]
    assert doc["refused"] == []


def test_export_ical_without_at_is_the_same_file_twice(repo_root: Path) -> None:
    scenario = str(repo_root / "examples/ukraine-russia-2022.yaml")
    first = runner.invoke(app, ["export", "ical", scenario])
    time.sleep(1.1)
    second = runner.invoke(app, ["export", "ical", scenario])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes
    assert b"DTSTAMP:20220218T090000Z" in first.stdout_bytes  # the case's last message


@pytest.mark.parametrize("where", ["missing/d.ics", "."])
def test_export_ical_output_it_cannot_write_is_one_line_exit_2(
    tmp_path: Path, repo_root: Path, where: str
) -> None:
    target = tmp_path / where
    scenario = str(repo_root / "examples/ukraine-russia-2022.yaml")
    result = runner.invoke(app, ["export", "ical", scenario, "--at", "2022-02-14T00:00Z",
                                 "-o", str(target)])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("csbm: --output: cannot write: ") and str(target) in line
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_export_ical_on_a_full_disk_is_one_line_exit_2(repo_root: Path) -> None:
    scenario = str(repo_root / "examples/ukraine-russia-2022.yaml")
    csbm = Path(sys.executable).with_name("csbm")
    for args, where in ((["-o", "/dev/full"], "--output"), ([], "stdout")):
        with open("/dev/full", "wb") as full:
            done = subprocess.run([str(csbm), "export", "ical", scenario, *args], stdout=full,
                                  stderr=subprocess.PIPE, timeout=120, check=False)
        lines = done.stderr.decode().splitlines()
        assert done.returncode == 2, lines
        assert lines == [f"csbm: {where}: cannot write: No space left on device"
                         + (" (got '/dev/full')" if args else "")]


def test_replay_of_a_nodes_log_shows_refused_entries(tmp_path: Path) -> None:
    from csbm.node import Node

    data = tmp_path / "ua"
    assert runner.invoke(app, ["init", "--state", "UA", "--data", str(data)]).exit_code == 0
    with Node.open(data) as node:
        bad = node.sign({"kind": "ch3.meeting_request", "case": "c1", "body": {}}, ["all"],
                        datetime(2022, 2, 11, 10, tzinfo=UTC))
        (logged,) = node.append([bad])  # behind the application's back
    doc = json.loads(_ok("replay", "--data", str(data), "--json"))
    assert doc["refused"] == [{"index": logged.index, "message_id": bad.message_id,
                               "sender": "UA", "kind": "ch3.meeting_request",
                               "reason": "message.body.scope: required"}]
    human = _ok("replay", "--data", str(data))
    assert f"log[{logged.index}] ch3.meeting_request from UA" in human
    assert "message.body.scope: required" in human
    both = runner.invoke(app, ["replay", "x.yaml", "--data", str(data)])
    assert both.exit_code == 2 and both.stdout == "" and "SCENARIO" in both.stderr
