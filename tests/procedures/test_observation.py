"""Chapter VI observation through the runner: invitation, replies, silence, refusals."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.procedures.runner import Live, ReplayResult, replay, result_json
from csbm.procedures.scenario import Scenario, scenario_from_data

PROGRAMME = {"assembly_at": "2017-09-13T08:00 Europe/Minsk", "assembly_place": "Minsk",
             "languages": ["en", "ru"]}


def invitation(at: str, case: str = "o1", frm: str = "BY", to: Any = "all",
               **body: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"activity": "Zapad-2017", "programme": PROGRAMME}
    b.update(body)
    return {"at": at, "type": "observation.invitation", "from": frm, "to": to, "case": case,
            "body": b}


def reply(at: str, frm: str, decision: str = "accept", case: str = "o1",
          observers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if observers is None:
        observers = [{"name": "A. Officer", "rank": "Colonel"}] if decision == "accept" else []
    return {"at": at, "type": "observation.reply", "from": frm, "to": "BY", "case": case,
            "body": {"decision": decision, "observers": observers}}


def scenario(events: list[dict[str, Any]], **top: Any) -> Scenario:
    return scenario_from_data({"regime": ["vd2011"], "events": events, **top})


def run(events: list[dict[str, Any]], at: str | None = None, **top: Any) -> ReplayResult:
    sc = scenario(events, **top)
    clock = None if at is None else datetime.fromisoformat(at.replace("Z", "+00:00"))
    return replay(sc.events, sc.context, clock)


def reply_deadline(result: ReplayResult, state: str, case: str = "o1") -> Any:
    [d] = [d for d in result.case(case).deadlines
           if d.rule == "OBS_REPLY" and d.owed_by == (state,)]
    return d


def kinds(result: ReplayResult, case: str = "o1") -> list[tuple[str, str | None]]:
    return [(f.kind, f.rule) for f in result.case(case).findings]


PARTIES = ["BY", "RU", "LT", "LV", "EE", "PL", "UA"]


def test_happy_path_all_states_invited() -> None:
    r = run([invitation("2017-07-12T00:00Z", activity_start="2017-09-14T00:00Z",
                        forces={"troops": 13000}),
             reply("2017-07-20T00:00Z", "LT", observers=[
                 {"name": "A", "rank": "Major"}, {"name": "B", "civilian": True}]),
             reply("2017-07-21T00:00Z", "PL", "decline")],
            at="2017-07-22T00:00Z", participants=PARTIES)
    case = r.case("o1")
    assert case.state == "awaiting_replies"
    assert case.parties["invited"] == ("RU", "LT", "LV", "EE", "PL", "UA")
    assert case.details["observable"] is True and case.details["voluntary"] is False
    assert case.details["accepted"] == {"LT": [{"name": "A", "rank": "Major", "civilian": False},
                                               {"name": "B", "rank": None, "civilian": True}]}
    assert case.details["declined"] == ["PL"]
    assert case.details["observers_total"] == 2
    assert case.details["reply_due"] == "2017-08-02T00:00:00Z"
    lt = reply_deadline(r, "LT")
    assert lt.status == "met" and lt.due == datetime(2017, 8, 2, tzinfo=UTC)
    assert reply_deadline(r, "RU").status == "open"
    [timing] = [d for d in case.deadlines if d.rule == "OBS_INVITE_TIMING"]
    assert timing.status == "met" and timing.due == datetime(2017, 8, 3, tzinfo=UTC)
    assert case.findings == ()


def test_silence_is_a_decline_not_a_missed_deadline() -> None:
    r = run([invitation("2017-07-12T00:00Z", to=["LT", "LV"]),
             reply("2017-07-20T00:00Z", "LT")], at="2017-08-10T00:00Z")
    case = r.case("o1")
    assert case.state == "replies_closed"
    d = reply_deadline(r, "LV")
    assert d.status == "waived" and "silence" in (d.note or "")
    assert case.details["silent"] == ["LV"]
    assert kinds(r) == []


def test_late_reply_is_recorded_late() -> None:
    r = run([invitation("2017-07-12T00:00Z", to=["LT"]), reply("2017-08-05T00:00Z", "LT")])
    d = reply_deadline(r, "LT")
    assert d.status == "missed" and d.met_at == datetime(2017, 8, 5, tzinfo=UTC)
    assert ("late", "OBS_REPLY") in kinds(r)
    assert r.case("o1").details["late"] == ["LT"]


def test_too_many_observers_is_refused() -> None:
    three = [{"name": n, "rank": "Captain"} for n in "ABC"]
    r = run([invitation("2017-07-12T00:00Z", to=["LT"]),
             reply("2017-07-20T00:00Z", "LT", observers=three)])
    assert ("refused", "OBS_MAX") in kinds(r)
    assert r.case("o1").details["accepted"] == {}


def test_reply_from_a_state_not_invited_is_refused() -> None:
    r = run([invitation("2017-07-12T00:00Z", to=["LT"]), reply("2017-07-20T00:00Z", "PL")])
    assert ("not_a_party", None) in kinds(r)


def test_host_does_not_invite_itself() -> None:
    r = run([invitation("2017-07-12T00:00Z", to=["LT", "BY"]),
             reply("2017-07-20T00:00Z", "BY")])
    assert r.case("o1").parties["invited"] == ("LT",)
    assert ("not_a_party", None) in kinds(r)


def test_duplicate_and_second_reply() -> None:
    first = reply("2017-07-20T00:00Z", "LT")
    r = run([invitation("2017-07-12T00:00Z", to=["LT"]), first, dict(first),
             reply("2017-07-21T00:00Z", "LT", "decline")])
    assert [k for k in kinds(r) if k[0] == "duplicate"] == [("duplicate", None)] * 2
    assert r.case("o1").details["accepted"] == {"LT": [{"name": "A. Officer",
                                                         "rank": "Colonel",
                                                         "civilian": False}]}


def test_reply_before_the_invitation_is_refused_and_order_does_not_matter() -> None:
    events = [reply("2017-07-11T00:00Z", "LT"), invitation("2017-07-12T00:00Z", to=["LT", "LV"]),
              reply("2017-07-13T00:00Z", "LV"), reply("2017-07-14T00:00Z", "LT", "decline")]
    sc = scenario(events)
    expected = replay(sc.events, sc.context)
    assert ("out_of_order", None) in kinds(expected)
    shuffled = list(sc.events)
    random.Random(1).shuffle(shuffled)
    live = Live(sc.context)
    for ev in shuffled:
        live.receive(ev)
    assert result_json(live.view()) == result_json(expected)


def test_below_threshold_invitation_is_voluntary_and_owes_no_timing() -> None:
    r = run([invitation("2017-09-01T00:00Z", to=["LT"], activity_start="2017-09-14T00:00Z",
                        forces={"troops": 12700, "battle_tanks": 250, "acv": 230,
                                "artillery": 200})])
    case = r.case("o1")
    assert case.details["voluntary"] is True and case.details["observable"] is False
    assert not [d for d in case.deadlines if d.rule == "OBS_INVITE_TIMING"]


def test_declared_voluntary_invitation() -> None:
    r = run([invitation("2017-09-01T00:00Z", to=["LT"], voluntary=True,
                        activity_start="2017-09-14T00:00Z")])
    assert r.case("o1").details["voluntary"] is True
    assert not [d for d in r.case("o1").deadlines if d.rule == "OBS_INVITE_TIMING"]


def test_late_invitation_for_an_observable_activity() -> None:
    r = run([invitation("2017-08-20T00:00Z", to=["LT"], activity_start="2017-09-14T00:00Z",
                        forces={"troops": 20000})])
    assert ("late", "OBS_INVITE_TIMING") in kinds(r)


def test_snap_exercise_of_72_hours_or_less_is_not_observable() -> None:
    r = run([invitation("2014-02-26T12:00Z", to=["LT"], activity_kind="alert_activity",
                        activity_start="2014-02-26T00:00Z", activity_end="2014-02-28T00:00Z",
                        forces={"troops": 150000})])
    case = r.case("o1")
    assert case.details["observable"] is False and case.details["voluntary"] is True
    assert not [d for d in case.deadlines if d.rule == "OBS_INVITE_TIMING"]


def test_second_invitation_in_a_case_is_refused() -> None:
    r = run([invitation("2017-07-12T00:00Z", to=["LT"]),
             invitation("2017-07-13T00:00Z", to=["LV"])])
    assert ("duplicate", None) in kinds(r)
    assert r.case("o1").parties["invited"] == ("LT",)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"decision": "accept", "observers": []}, "events[1].body"),
        ({"decision": "decline", "observers": [{"name": "A", "rank": "Major"}]},
         "events[1].body"),
        ({"decision": "accept", "observers": [{"name": "A"}]}, "events[1].body.observers[0]"),
        ({"decision": "perhaps"}, "events[1].body.decision"),
    ],
)
def test_bad_replies_are_refused_with_paths(body: dict[str, Any], path: str) -> None:
    with pytest.raises(InputError) as info:
        scenario([invitation("2017-07-12T00:00Z", to=["LT"]),
                  {"at": "2017-07-13T00:00Z", "type": "observation.reply", "from": "LT",
                   "to": "BY", "case": "o1", "body": body}])
    assert [p.path for p in info.value.problems] == [path]


def test_invitation_needs_a_programme_and_activity() -> None:
    with pytest.raises(InputError) as info:
        scenario([{"at": "2017-07-12T00:00Z", "type": "observation.invitation", "from": "BY",
                   "to": "all", "case": "o1", "body": {}}])
    assert sorted(p.path for p in info.value.problems) == ["events[0].body.activity",
                                                           "events[0].body.programme"]
