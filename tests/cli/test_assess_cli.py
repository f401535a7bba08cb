"""``csbm assess``: the public cases end to end, and refusals with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from csbm.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["assess", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _by_kind(activity: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in activity["obligations"] if o["kind"] == kind]


def test_zapad_2017() -> None:
    doc = _json(str(EXAMPLES / "zapad-2017.yaml"), "--at", "2017-06-01T00:00:00Z")
    assert doc["regime"][0] == "vd2011"
    assert [p["pack"] for p in doc["activities"][0]["packs"]] == ["vd2011"]
    (zapad,) = doc["activities"]
    (notification,) = _by_kind(zapad, "prior_notification")
    assert notification["rule"] == "NOTIF_LEAD"
    assert notification["due"] == "2017-08-03T00:00:00Z"
    assert _by_kind(zapad, "observation_invitation") == []
    near = [f for f in zapad["findings"] if f["kind"] == "near_threshold"]
    assert [(f["rule"], f["details"]["threshold"]) for f in near] == [("OBS_INVITE", 13000)]
    assert any("bare date 2017-09-14 read as 00:00 UTC" in a for a in doc["assumed"])


def test_snap_2014() -> None:
    (snap,) = _json(str(EXAMPLES / "snap-2014.yaml"), "--at", "2014-03-10T00:00:00Z")["activities"]
    (notification,) = _by_kind(snap, "prior_notification")
    assert (notification["rule"], notification["due"], notification["status"]) == (
        "NOTIF_SNAP",
        "2014-02-26T00:00:00Z",
        "met",
    )
    (observation,) = _by_kind(snap, "observation_invitation")
    assert observation["rule"] == "OBS_SNAP_72H" and observation["status"] == "unknown"
    assert [o["status"] for o in _by_kind(snap, "annual_calendar")] == ["not_applicable"]


def test_union_resolve_2022() -> None:
    (ur,) = _json(str(EXAMPLES / "union-resolve-2022.yaml"), "--at", "2022-02-20T00:00:00Z")[
        "activities"
    ]
    assert {o["status"] for o in _by_kind(ur, "prior_notification")} == {"unknown"}
    inconsistencies = [f for f in ur["findings"] if f["kind"] == "inconsistency"]
    assert {f["rule"] for f in inconsistencies} == {"NOTIF_LAND", "OBS_INVITE"}
    assert ur["end"] is None


def test_human_output_shows_utc_and_local(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "assess",
            str(EXAMPLES / "zapad-2017.yaml"),
            "--at",
            "2017-06-01T00:00:00Z",
            "--tz",
            "Europe/Minsk",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "as at 2017-06-01 00:00 UTC (03:00 +03)" in " ".join(result.stdout.split())
    assert "2017-08-03" in result.stdout
    assert "near threshold" in result.stdout


def _write(tmp_path: Path, data: Any, name: str = "in.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


_BAD = {
    "activities": [
        {
            "name": "x",
            "conducting_states": ["RU"],
            "host_state": "RU",
            "start": "2020-01-01",
            "end": "2020-01-02",
            "forces": {"troops": -1},
        }
    ]
}


def test_bad_input_exit_2_nothing_on_stdout(tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", _write(tmp_path, _BAD), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "activities[0].forces.troops: must be ≥ 0 (got -1)" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--at", "tomorrow"], "--at: not an ISO 8601 instant"),
        (["--regime", "vd2099"], "no bundled rule pack 'vd2099'"),
        (["--tz", "Mars/Olympus"], "--tz: unknown IANA time zone"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    good = str(EXAMPLES / "zapad-2017.yaml")
    result = runner.invoke(app, ["assess", good, *args])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert result.stdout == ""


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_malformed_pack_exit_2_names_entry(tmp_path: Path) -> None:
    pack = {
        "id": "bad",
        "title": "bad",
        "version": "1",
        "rules": [
            {
                "id": "X",
                "title": "x",
                "strength": "commitment",
                "measure": "m",
                "spec": {
                    "type": "period",
                    "amount": "soon",
                    "unit": "days",
                    "direction": "after",
                    "anchor": "a",
                },
                "provenance": {"status": "U"},
            }
        ],
    }
    result = runner.invoke(
        app,
        [
            "assess",
            str(EXAMPLES / "zapad-2017.yaml"),
            "--regime",
            _write(tmp_path, pack, "bad.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert "rules[0] X: spec.amount: must be a number" in result.stderr


def test_corrected_pack_changes_the_answer(tmp_path: Path) -> None:
    corrected = {
        "id": "vd2011",
        "title": "corrected",
        "version": "2",
        "base": "vd2011",
        "rules": [
            {
                "id": "NOTIF_LEAD",
                "title": "lead",
                "paragraph": "38",
                "paragraph_verified": True,
                "strength": "commitment",
                "measure": "prior_notification",
                "applies_to": ["exercise", "transfer", "concentration"],
                "spec": {
                    "type": "period",
                    "amount": 49,
                    "unit": "days",
                    "direction": "before",
                    "anchor": "start",
                },
                "provenance": {"status": "C"},
                "cases": [{"given": {"anchor": "2017-09-14"}, "expect": "2017-07-27"}],
            }
        ],
    }
    doc = _json(
        str(EXAMPLES / "zapad-2017.yaml"), "--regime", _write(tmp_path, corrected, "c.yaml")
    )
    assert _by_kind(doc["activities"][0], "prior_notification")[0]["due"] == "2017-07-27T00:00:00Z"


def test_rules_check_and_list() -> None:
    result = runner.invoke(app, ["rules", "check", "vd2011"])
    assert result.exit_code == 0 and "cases pass" in result.stdout
    listed = json.loads(runner.invoke(app, ["rules", "list", "vd2011", "--json"]).stdout)
    assert {r["id"]: r["known"] for r in listed["rules"]}["HAZ_REPORT"] is False


def test_rules_check_refuses_a_pack_whose_cases_disagree(tmp_path: Path) -> None:
    wrong = {
        "id": "w",
        "title": "w",
        "version": "1",
        "rules": [
            {
                "id": "X",
                "title": "x",
                "strength": "commitment",
                "measure": "m",
                "spec": {
                    "type": "period",
                    "amount": 48,
                    "unit": "hours",
                    "direction": "after",
                    "anchor": "a",
                },
                "provenance": {"status": "U"},
                "cases": [
                    {"given": {"anchor": "2022-02-09T10:00Z"}, "expect": "2022-02-11T11:00Z"}
                ],
            }
        ],
    }
    result = runner.invoke(app, ["rules", "check", _write(tmp_path, wrong, "w.yaml")])
    assert result.exit_code == 2
    assert (
        "X.cases[0]: expected '2022-02-11T11:00:00Z', the engine answers '2022-02-11T10:00:00Z'"
        in result.stderr
    )


def test_demo_runs_on_the_examples() -> None:
    result = runner.invoke(app, ["demo", "--once", "--examples", str(EXAMPLES)])
    assert result.exit_code == 0, result.stderr
    assert "Zapad-2017" in result.stdout and "Union Resolve 2022" in result.stdout
    assert "joint_meeting_held" in result.stdout
    assert "agree with the scenario: yes" in " ".join(result.stdout.split())
    assert '"leafIdx"' in result.stdout


def test_large_file_keeps_stdout_a_single_json_document(tmp_path: Path) -> None:
    from bench.bench_assess import synthetic

    rows = synthetic(5200)
    for row in rows:
        row["start"] = row["start"].isoformat()
        row["end"] = row["end"].isoformat()
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"activities": rows}), encoding="utf-8")
    result = runner.invoke(app, ["assess", str(path), "--json", "--at", "2026-01-01"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["activities"]) == 5200
    assert doc["constraints"]
