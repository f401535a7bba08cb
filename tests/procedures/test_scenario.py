"""Scenario files: every problem with its path; local times with zones and their DST edges."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.errors import InputError, NotFoundError
from csbm.procedures.base import InstantOutOfRange
from csbm.procedures.runner import replay
from csbm.procedures.scenario import load_scenario, parse_scenario
from tests.procedures._events import t


def _lines(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_scenario(text)
    return info.value.lines()


def test_every_problem_is_named_with_its_path() -> None:
    lines = _lines("""
regime: [vd2011, no-such-pack]
colour: blue
events:
  - {at: 2022-02-09T10:00, type: ch3.request, from: LT, to: BY, case: x}
  - {at: 2022-02-09T10:00Z, type: ch3.requets, from: LT, to: BY, case: x}
  - {at: 2022-02-09T10:00Z, type: ch3.request, from: XX, to: [BY, QQ], case: x}
  - {at: 2022-02-09T10:00Z, type: ch3.reply, from: BY, to: LT, case: x, body: {channel: 3}}
  - {at: 2022-02-09T10:00Z, type: ch3.meeting_request, from: LT, case: x, body: {scope: some}}
  - {at: 2022-02-09T10:00Z, type: ch3.reply, from: [BY, RU], to: LT, case: x, extra: 1}
  - just text
""")
    joined = "\n".join(lines)
    assert any(line.startswith("regime[1]: ") for line in lines)
    assert "colour: unknown key" in joined
    assert "events[0].at: a date-time needs an offset" in joined
    assert "events[1].type: unknown message kind" in joined
    assert "events[2].from: not a participating State's ISO 3166-1 code (got 'XX')" in joined
    assert "events[2].to[1]: not a participating State's ISO 3166-1 code (got 'QQ')" in joined
    assert "events[3].body.channel: " in joined
    assert "events[4].body.scope: " in joined
    assert "events[5].from: one sender per message" in joined
    assert "events[5].extra: unknown key" in joined
    assert "events[6]: an event is a mapping" in joined


def test_not_a_mapping_and_no_events() -> None:
    assert _lines("- 1\n- 2\n")[0].startswith("(file): a scenario must be a mapping")
    assert _lines("regime: [vd2011]\n")[0].startswith("events: a list of events is required")
    assert "not valid JSON" in _lines("{not json")[0]


def test_missing_file() -> None:
    with pytest.raises(NotFoundError):
        load_scenario("/nonexistent/scenario.yaml")


def test_json_scenario_and_defaults() -> None:
    scenario = parse_scenario(
        '{"events": [{"at": "2022-02-09T10:00Z", "type": "ch3.request", "from": "LT",'
        ' "to": "BY", "case": "x"}]}'
    )
    assert [p.id for p in scenario.context.packs] == ["vd2011"]
    assert len(scenario.context.participants) == 57
    assert scenario.events[0].seq == 0 and scenario.events[0].recipients == ("BY",)


def test_units_and_participants_are_checked() -> None:
    lines = _lines("participants: [LT, XX]\nunits: {BY: {2022: -1}, ZZ: {2022: 3}}\nevents: []\n")
    joined = "\n".join(lines)
    assert "participants[1]: not a participating State's code" in joined
    assert "units.BY.2022: a number of units ≥ 0" in joined
    assert "units.ZZ: not a participating State's code" in joined


REQUEST = """
events:
  - {{at: "{at}", type: ch3.request, from: UA, to: RU, case: x}}
"""


def test_local_time_across_the_spring_change() -> None:
    # Saturday 26 March 2022 12:00 CET; clocks go forward on the 27th in Vienna.
    scenario = parse_scenario(REQUEST.format(at="2022-03-26T12:00 Europe/Vienna"))
    assert scenario.events[0].at == t("2022-03-26T11:00Z")
    (reply,) = replay(scenario.events, scenario.context).cases[0].deadlines
    assert reply.due == t("2022-03-28T11:00Z")  # 48 h are 48 real hours ...
    assert reply.due is not None
    local = reply.due.astimezone(ZoneInfo("Europe/Vienna"))
    assert (local.hour, local.tzname()) == (13, "CEST")  # ... so 13:00 local, not 12:00


def test_local_time_that_does_not_exist_is_refused() -> None:
    lines = _lines(REQUEST.format(at="2022-03-27T02:30 Europe/Vienna"))
    assert lines[0].startswith("events[0].at: 2022-03-27T02:30 does not exist in Europe/Vienna")


def test_local_time_that_happens_twice_is_refused() -> None:
    lines = _lines(REQUEST.format(at="2022-10-30T02:30 Europe/Vienna"))
    assert lines[0].startswith("events[0].at: 2022-10-30T02:30 happens twice in Europe/Vienna")


def test_kyiv_and_minsk_local_times() -> None:
    scenario = parse_scenario("""
events:
  - {at: "2022-02-11T12:00 Europe/Kyiv", type: ch3.request, from: UA, to: RU, case: x}
  - {at: "2022-02-11T12:00 Europe/Minsk", type: ch3.reply, from: RU, to: UA, case: x}
""")
    assert [e.at for e in scenario.events] == [t("2022-02-11T10:00Z"), t("2022-02-11T09:00Z")]
    # the reply is earlier in time than the request: it is refused (reply before request)
    result = replay(scenario.events, scenario.context)
    assert [f.kind for f in result.findings] == ["out_of_sequence"]


def test_relative_pack_path(tmp_path: Path) -> None:
    (tmp_path / "packs").mkdir()
    pack = tmp_path / "packs" / "mine.yaml"
    pack.write_text("id: mine\ntitle: Mine\nversion: '1'\nkind: bilateral\nparties: [BY, UA]\n",
                    encoding="utf-8")
    file = tmp_path / "s.yaml"
    file.write_text("regime: [vd2011, packs/mine.yaml]\nevents: []\n", encoding="utf-8")
    assert [p.id for p in load_scenario(file).context.packs] == ["vd2011", "mine"]


# -- the strict reader and the one message form (issue 8 items 4 and 6, issue 9 item 1)

ONE = """
events:
  - {at: 2022-02-09T10:00Z, type: ch3.request, from: LT, to: BY, case: x%s}
"""


def test_a_key_given_twice_is_refused() -> None:
    lines = _lines('{"events": [{"at": "2022-02-09T10:00Z", "type": "ch3.request", '
                   '"from": "LT", "from": "LV", "to": "BY", "case": "x"}]}')
    assert lines == ["<scenario>: key 'from' is given twice"]
    yaml_lines = _lines("events:\n  - at: 2022-02-09T10:00Z\n    type: ch3.request\n"
                        "    from: LT\n    from: LV\n    to: BY\n")
    assert len(yaml_lines) == 1 and "key 'from' is given twice" in yaml_lines[0]


def test_yaml_aliases_are_refused() -> None:
    lines = _lines("events:\n  - &e {at: 2022-02-09T10:00Z, type: ch3.request, from: LT,"
                   " to: BY, case: x}\n  - *e\n")
    assert len(lines) == 1 and "aliases are not accepted" in lines[0]


def test_an_impossible_date_unquoted_is_one_line() -> None:
    lines = _lines(ONE.replace("2022-02-09T10:00Z", "2022-02-30T10:00:00Z") % "")
    assert lines == ["events[0].at: not an ISO 8601 instant (examples: 2022-02-09T10:00Z, "
                     "2022-02-15T16:00 Europe/Vienna, 2017-09-14) (got '2022-02-30T10:00:00Z')"]


def test_yes_and_no_stay_text_so_norway_is_a_state() -> None:
    scenario = parse_scenario(ONE.replace("to: BY", "to: NO") % "")
    assert scenario.events[0].recipients == ("NO",)


def test_a_scenario_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes((ONE % ", body: {activity: 'Man\xf6ver'}").encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_scenario(file)
    (line,) = info.value.lines()
    assert line.startswith(f"{file}: not UTF-8 text")


def test_an_event_in_year_9999_is_refused_with_its_path() -> None:
    lines = _lines(ONE.replace("2022-02-09T10:00Z", "9999-12-30T10:00Z") % "")
    assert lines == ["events[0].at: instant too late: deadlines from it could pass year 9999 "
                     "(the latest accepted is 9998-12-31T23:59:59Z) (got '9999-12-30T10:00Z')"]
    early = _lines(ONE.replace("2022-02-09T10:00Z", "0001-01-05T10:00Z") % "")
    assert early[0].startswith("events[0].at: instant too early")


def test_the_last_accepted_instant_gives_deadlines() -> None:
    scenario = parse_scenario(ONE.replace("2022-02-09T10:00Z", "9998-12-31T10:00Z") % "")
    (reply,) = replay(scenario.events, scenario.context).cases[0].deadlines
    assert reply.due == t("9999-01-02T10:00Z")


def test_a_pack_period_past_year_9999_is_refused_centrally(tmp_path: Path) -> None:
    pack = tmp_path / "long.yaml"
    pack.write_text(
        "id: long\ntitle: A pack with a very long reply period\nversion: '1'\n"
        "kind: multilateral\nparties: all\nrules:\n  - id: CH3_REPLY\n"
        "    title: Reply\n    strength: commitment\n    measure: chapter_iii\n"
        "    spec: {type: period, amount: 3000000, unit: days, direction: after,"
        " anchor: request}\n    provenance: {status: analyst}\n",
        encoding="utf-8")
    file = tmp_path / "s.yaml"
    file.write_text("regime: [long.yaml]\n" + ONE % "", encoding="utf-8")
    scenario = load_scenario(file)
    with pytest.raises(InstantOutOfRange) as info:
        replay(scenario.events, scenario.context)
    assert info.value.lines() == [
        "case x: instant too late: the CH3_REPLY deadline would be past year 9999 "
        "(got '2022-02-09T10:00:00Z')"]


def test_the_message_form_is_checked_in_scenarios() -> None:
    lines = _lines(ONE % ", body: {on_behalf_of: [XX], colour: 1}")
    assert lines == [
        "events[0].body.on_behalf_of[0]: not a participating State's ISO 3166-1 alpha-2 code "
        "(got 'XX')",
        "events[0].body.colour: unknown field (got 1)",
    ]
    assert _lines(ONE.replace("from: LT, ", "") % "") == [
        "events[0].from: the sender's State code is required"]


runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ONE.replace("2022-02-09T10:00Z", "9999-12-30T10:00Z") % "", "events[0].at: instant "
         "too late"),
        (ONE.replace("2022-02-09T10:00Z", "2022-02-30T10:00:00Z") % "", "events[0].at: not an "
         "ISO 8601 instant"),
        ("events:\n  - &e {at: 2022-02-09T10:00Z}\n  - *e\n", "YAML anchors and aliases"),
        ('{"events": [{"at": "2022-02-09T10:00Z", "from": "LT", "from": "LV"}]}',
         "key 'from' is given twice"),
        ("events:\n  - {at: 2017-02-28T10:00Z, type: inspection.arrival, from: LT, to: BY,"
         " case: x, body: {entered_at: 2017-02-30T10:00Z}}\n",
         "events[0].body.entered_at: not an ISO 8601 instant"),
        ("events:\n  - {at: 2022-02-09T10:00Z, type: aemi, from: LT, body: {year: "
         + "9" * 5001 + "}}\n", "beyond"),
        ("events: " + "[" * 50_000 + "]" * 50_000 + "\n", "nesting depth"),
        ('{"events": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper than 100"),
    ],
)
def test_replay_refuses_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["replay", str(file)])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("csbm: ") and expected in line
