"""The Chapter V notification as a structured form, read from a message or a scenario."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.forms import (
    ENGLISH,
    Area,
    Codes,
    Figure,
    Form,
    NotStated,
    Period,
    Table,
    Text,
    notice_from_data,
    notification_form,
    render_html,
    render_text,
)
from csbm.reader import read_document

DATA = Path(__file__).resolve().parent / "data"
ZAPAD = DATA / "zapad-2017-notification.yaml"


def _zapad() -> dict[str, Any]:
    data = read_document(ZAPAD)
    assert isinstance(data, dict)
    return data


def _form(data: Any, case: str | None = None) -> Form:
    return notification_form(notice_from_data(data, "test", case=case))


def _problems(data: Any, case: str | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        notice_from_data(data, "test", case=case)
    return caught.value.lines()


def test_zapad_2017_fields() -> None:
    form = _form(_zapad())
    assert [b.letter for b in form.blocks] == ["A", "B", "C", "D"]
    assert form.field("A.1").value == Text("Zapad-2017")
    assert form.field("A.2").value == Text(
        "joint strategic exercise of the armed forces of Russia and Belarus"
    )
    assert form.field("A.3").value == Codes(("RU", "BY"))
    assert form.field("A.4").value == NotStated()
    assert form.field("A.5").value == Period(
        datetime(2017, 9, 14, tzinfo=UTC), datetime(2017, 9, 20, tzinfo=UTC)
    )
    assert form.field("from").value == Codes(("BY",))
    assert form.field("to").value == Codes(("all",))
    assert form.field("case").value == Text("zapad-2017")
    # an exercise: land forces (B.1) only
    (types,) = [b for b in form.blocks if b.letter == "B"]
    assert [g.number for g in types.groups] == ["B.1"]
    assert form.field("B.1.1").value == Figure(12700)
    assert form.field("B.1.3").value == Figure(250)
    assert form.field("B.1.5").value == Figure(200)
    assert form.field("B.1.6").value == Figure(230)
    # figures the notification does not give are None, never 0
    assert form.field("B.1.7").value == Figure(None)
    assert form.field("B.1.8").value == Figure(None)
    assert form.field("C.1").value == NotStated()
    numbers = [f.number for b in form.blocks for f in b.fields]
    assert numbers[:5] == ["A.1", "A.2", "A.3", "A.4", "A.5"]
    assert numbers[5:18] == [f"B.1.{i}" for i in range(1, 14)]
    assert numbers[18:] == ["C.1", "C.2", "C.3", "D.1", "D.2"]
    with pytest.raises(KeyError):
        form.field("B.3.1")


def test_text_in_english() -> None:
    text = render_text(_form(_zapad()), ENGLISH)
    lines = text.splitlines()
    assert lines[0] == "NOTIFICATION OF A MILITARY ACTIVITY"
    assert "A.1 Designation of the military activity" in lines
    assert lines[lines.index("A.1 Designation of the military activity") + 1].strip() == (
        "Zapad-2017"
    )
    assert "Start: 2017-09-14T00:00:00Z (Thursday, 14 September 2017)" in text
    assert "Sent: 2017-08-01T09:00:00Z (Tuesday, 1 August 2017)" in text
    b17 = lines.index("B.1.7 Total number of combat helicopters, by category")
    assert lines[b17 + 1].strip() == "not given"
    a4 = next(i for i, line in enumerate(lines) if line.startswith("A.4 "))
    assert lines[a4 + 1].strip() == "not stated in the notification"
    assert " 0\n" not in text and not any(line.strip() == "0" for line in lines)
    assert all(len(line) <= 80 for line in lines)


def test_unknown_figures_are_not_given_never_zero() -> None:
    data = _zapad()
    data["body"]["activity"]["forces"] = {"troops": 9500}
    form = _form(data)
    assert form.field("B.1.1").value == Figure(9500)
    for number in ("B.1.3", "B.1.5", "B.1.6"):
        assert form.field(number).value == Figure(None)
    text = render_text(form)
    assert text.count("not given") >= 6
    assert not any(line.strip() == "0" for line in text.splitlines())
    # an explicit zero is data, and prints as 0
    data["body"]["activity"]["forces"] = {"troops": 9500, "battle_tanks": 0}
    assert _form(data).field("B.1.3").value == Figure(0)


def test_transfer_and_landing_groups() -> None:
    data = _zapad()
    activity = data["body"]["activity"]
    activity["kind"] = "transfer"
    activity["forces"] = {"troops": 10000, "airborne_troops": 3200}
    form = _form(data)
    (types,) = [b for b in form.blocks if b.letter == "B"]
    assert [g.number for g in types.groups] == ["B.2", "B.3"]
    assert form.field("B.3.1").value == Figure(10000)
    landing = form.field("B.2.1").value
    assert isinstance(landing, Table)
    assert landing.rows == ((Figure(None), Figure(3200)),)
    text = render_text(form)
    assert "Amphibious troops: not given" in text
    assert "Airborne troops: 3200" in text


def test_area_and_phases() -> None:
    data = _zapad()
    activity = data["body"]["activity"]
    activity["area"] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Test range"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[27.5, 53.9], [28.1, 53.9], [28.1, 54.2], [27.5, 53.9]]],
                },
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [30, 55.25]},
            },
        ],
    }
    activity["phases"] = [
        {"name": "deployment", "start": "2017-09-10T00:00Z", "end": "2017-09-13T18:00Z"},
        {"name": "active", "start": "2017-09-14", "end": "2017-09-20", "purpose": "defence"},
    ]
    form = _form(data)
    area = form.field("C.1").value
    assert isinstance(area, Area)
    assert area.names == ("Test range",)
    assert area.kinds == ("Polygon", "Point")
    # GeoJSON gives longitude first; the form shows latitude first
    assert area.parts[0][0] == (53.9, 27.5)
    assert area.parts[1] == ((55.25, 30),)
    phases = form.field("C.2").value
    assert isinstance(phases, Table)
    assert [row[0] for row in phases.rows] == [Text("deployment"), Text("active")]
    assert phases.rows[0][3] == NotStated() and phases.rows[1][3] == Text("defence")
    text = render_text(form)
    assert "1. 53.9, 27.5; 53.9, 28.1; 54.2, 28.1; 53.9, 27.5" in text
    assert "Features: Test range" in text
    assert "Start: 2017-09-10T00:00:00Z (Sunday, 10 September 2017)" in text
    assert "Tactical purpose: defence" in text


def test_html_escapes_and_stands_alone() -> None:
    data = _zapad()
    data["body"]["activity"]["name"] = '<script>alert("x")</script> & "Zapad"'
    page = render_html(_form(data), ENGLISH)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Zapad&quot;" in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    for external in ("http://", "https://", "<link", "@import", "src=", "url("):
        assert external not in page, external
    assert '<th scope="row">Designation of the military activity</th>' in page
    assert '<th scope="col">No.</th>' in page
    assert '<dl class="heading">' in page and "<dt>Notifying State</dt>" in page
    assert '<time datetime="2017-09-14T00:00:00Z">' in page
    assert page.count("<table") == page.count("</table>")
    assert page.count("<tr") == page.count("</tr>")


def test_scenario_picks_a_notification_by_case() -> None:
    first = _zapad()
    second = copy.deepcopy(first)
    second["case"] = "other"
    second["body"]["activity"]["name"] = "Other-2017"
    request = {
        "at": "2017-08-02T00:00Z",
        "from": "LT",
        "to": "BY",
        "type": "ch3.request",
        "case": "q",
        "body": {},
    }
    scenario = {"regime": ["vd2011"], "events": [request, first, second]}
    assert _form(scenario, "other").field("A.1").value == Text("Other-2017")
    assert _form(scenario, "zapad-2017").field("A.1").value == Text("Zapad-2017")
    (line,) = _problems(scenario)
    assert line.startswith("--case: the scenario holds 2 notifications; choose one with --case")
    assert "other, zapad-2017" in line
    assert _problems(scenario, "nope") == [
        "--case: no notification in the scenario has this case label (got 'nope')"
    ]
    only = {"events": [request, first]}
    assert _form(only).field("A.1").value == Text("Zapad-2017")
    assert _problems({"events": [request]}) == [
        "events: the scenario holds no 'notification' event"
    ]


def test_the_path_of_a_scenario_event_problem() -> None:
    bad = _zapad()
    bad["body"]["activity"]["forces"]["troops"] = "12700"
    (line,) = _problems({"events": [bad]})
    assert line.startswith("events[0].body.activity.forces.troops:")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d.update(type="ch3.request"),
            "type: not a notification (type 'notification') (got 'ch3.request')",
        ),
        (lambda d: d.pop("type"), "type: not a notification (type 'notification')"),
        (
            lambda d: d["body"]["activity"].update(notified_at="2017-08-01T00:00Z"),
            "body.activity.notified_at: set by the message",
        ),
        (
            lambda d: d["body"]["activity"].update(notified=True),
            "body.activity.notified: set by the message",
        ),
        (
            lambda d: d["body"]["activity"]["forces"].update(troops=-1),
            "body.activity.forces.troops:",
        ),
        (lambda d: d["body"]["activity"].pop("name"), "body.activity.name:"),
        (lambda d: d["body"]["activity"].update(end="2017-09-01T00:00Z"), "body.activity:"),
        (lambda d: d.update(at="yesterday"), "at:"),
        (lambda d: d.update(**{"from": "XX"}), "from: not a participating State"),
        (lambda d: d.update(to=["BY", "BY"]), "to"),
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (lambda d: d.update(body=[]), "body"),
        (lambda d: d["body"].pop("activity"), "body.activity"),
    ],
)
def test_bad_notifications_name_the_path(change: Any, expected: str) -> None:
    data = _zapad()
    change(data)
    lines = _problems(data)
    assert lines, "refused without a reason"
    assert any(line.startswith(expected) for line in lines), lines


def test_not_a_mapping() -> None:
    assert _problems([1, 2]) == ["(file): a notification is a mapping {type, to, case, body}"]
    assert _problems("notification") == [
        "(file): a notification is a mapping {type, to, case, body}"
    ]


def test_case_of_a_message_file_must_match() -> None:
    assert _form(_zapad(), "zapad-2017").field("case").value == Text("zapad-2017")
    assert _problems(_zapad(), "other") == [
        "--case: the notification in the file has another case label (got 'other')"
    ]


def test_a_draft_without_sender_or_time_says_so() -> None:
    data = _zapad()
    del data["at"], data["from"], data["case"]
    form = _form(data)
    assert form.field("from").value == NotStated()
    assert form.field("case").value == NotStated()
    text = render_text(form)
    assert "Notifying State: not stated in the notification" in text
    assert "Sent: not given" in text


def test_the_content_fields_beyond_the_figures() -> None:
    data = _zapad()
    activity = data["body"]["activity"]
    activity.update(
        level_of_command="Joint command of the Western Military District",
        forces_by_state={"BY": {"troops": 7200}, "RU": {"troops": 5500, "battle_tanks": 70}},
        divisions="none; brigades and regiments",
        atgm_launchers=0,
        helicopters_by_category={"attack": 12, "transport": 8},
        air_purpose="close air support",
        aircraft_categories=["fighter", "transport"],
        air_command_level="air force command",
        naval_support="none",
        naval_command_level="Baltic Fleet",
        calendar_changes="dates moved by one week",
        related_activities=["Zapad-2017 (Russia)", "Union Shield"],
        phases=[
            {
                "name": "active",
                "start": "2017-09-14",
                "end": "2017-09-20",
                "description": "defensive then offensive operations",
            }
        ],
    )
    form = _form(data)
    assert form.field("A.4").value == Text("Joint command of the Western Military District")
    assert form.field("B.1.1").value == Figure(12700, by_state=(("BY", 7200), ("RU", 5500)))
    assert form.field("B.1.3").value == Figure(250, by_state=(("BY", None), ("RU", 70)))
    assert form.field("B.1.4").value == Figure(0)
    assert form.field("B.1.7").value == Figure(None, by_category=(("attack", 12), ("transport", 8)))
    assert form.field("B.1.9").value == Text("close air support")
    assert form.field("B.1.10").value == Text("fighter\ntransport")
    assert form.field("B.1.11").value == Text("air force command")
    assert form.field("B.1.12").value == Text("none")
    assert form.field("B.1.13").value == Text("Baltic Fleet")
    assert form.field("D.1").value == Text("dates moved by one week")
    assert form.field("D.2").value == Text("Zapad-2017 (Russia)\nUnion Shield")
    descriptions = form.field("C.3").value
    assert isinstance(descriptions, Table)
    assert descriptions.rows == ((Text("active"), Text("defensive then offensive operations")),)
    text = render_text(form)
    assert "BY: 7200" in text and "RU: 5500" in text and "BY: not given" in text
    assert "attack: 12" in text
    page = render_html(form)
    assert '<th scope="row">RU</th><td>5500</td>' in page
