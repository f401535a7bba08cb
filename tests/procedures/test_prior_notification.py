"""Chapter V prior notification: calendar entries, notifications, amendments and
cancellations, their deadlines, and the assessment on arrival (issue 10, items 1-3)."""

from __future__ import annotations

from typing import Any

import pytest

from csbm.errors import InputError
from csbm.procedures.base import Context
from csbm.procedures.prior_notification import record_activities
from csbm.procedures.registry import message_schemas, validate_body
from csbm.procedures.runner import Live, ReplayResult, replay
from tests.procedures._events import ev, numbered, t, vd

PL = Context(packs=vd().packs, participants=("PL", "LT"))


def activity(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Anakonda-14", "conducting_states": ["PL"],
                            "host_state": "PL", "start": "2014-09-24", "end": "2014-10-03",
                            "forces": {"troops": 13250, "battle_tanks": 100, "acv": 200,
                                       "artillery": 100}}
    base.update(over)
    return base


def calendar(at: str = "2013-11-14T12:00Z", **over: Any) -> Any:
    return ev(at, "calendar", "PL", case="", body={
        "year": 2014, "activities": [{**activity(**over), "case": "a14"}]})


def notification(at: str = "2014-08-01T00:00Z", sender: str = "PL", **over: Any) -> Any:
    return ev(at, "notification", sender, case="a14", body={"activity": activity(**over)})


def run(events: list[Any], at: str | None = None) -> ReplayResult:
    return replay(numbered(events), PL, t(at) if at else None)


def deadline(result: ReplayResult, rule: str) -> Any:
    return next(d for d in result.case("a14").deadlines if d.rule == rule)


def test_a_notification_in_time_meets_the_notice_period() -> None:
    result = run([calendar(), notification()])
    lead = deadline(result, "NOTIF_LEAD")
    assert (lead.status, lead.met_at, lead.owed_by) == ("met", t("2014-08-01T00:00Z"), ("PL",))
    assert result.case("a14").state == "notified"


def test_a_calendar_entry_alone_opens_the_notice_period_and_it_can_be_missed() -> None:
    open_ = deadline(run([calendar()], "2014-08-12"), "NOTIF_LEAD")
    assert open_.status == "open" and open_.due == t("2014-08-13T00:00Z")
    missed = run([calendar()], "2014-09-01")
    assert deadline(missed, "NOTIF_LEAD").status == "missed"
    assert [f.kind for f in missed.findings if f.rule == "NOTIF_LEAD"] == ["missed"]


def test_an_alert_activity_is_due_at_its_start_and_not_in_the_calendar() -> None:
    snap = notification("2014-02-26T06:00Z", kind="alert_activity", start="2014-02-26",
                        end="2014-03-03", forces={"troops": 38000})
    result = run([snap])
    due = deadline(result, "NOTIF_SNAP")
    assert due.due == t("2014-02-26T00:00Z") and due.status == "missed"  # 6 h after the start
    assert not [f for f in result.findings if f.rule == "CAL_LATE_ENTRY"]
    # more than 72 h and above OBS_INVITE: an invitation is owed, with no time in the pack
    obs = deadline(result, "OBS_INVITE")
    assert obs.due is None and obs.status == "unknown"


def test_a_short_alert_activity_owes_no_invitation() -> None:
    snap = notification("2014-02-26T00:00Z", kind="alert_activity", start="2014-02-26",
                        end="2014-02-28", forces={"troops": 38000})
    rules = [d.rule for d in run([snap]).case("a14").deadlines]
    assert rules == ["NOTIF_SNAP"]


def test_the_invitation_that_names_the_case_meets_the_observation_deadline() -> None:
    invitation = ev("2014-08-01T00:00Z", "observation.invitation", "PL", case="obs-a14",
                    body={"activity": "a14", "programme": {}})
    result = run([calendar(), notification(), invitation])
    obs = deadline(result, "OBS_INVITE_TIMING")
    assert (obs.status, obs.met_at) == ("met", t("2014-08-01T00:00Z"))
    assert result.case("obs-a14").procedure == "observation"


def test_an_invitation_for_no_notification_makes_no_case() -> None:
    invitation = ev("2014-08-01T00:00Z", "observation.invitation", "PL", case="obs",
                    body={"activity": "nothing-notified", "programme": {}})
    result = run([invitation])
    assert [c.procedure for c in result.cases] == ["observation"]


def test_an_amendment_below_the_threshold_keeps_the_obligation_and_is_a_finding() -> None:
    amend = ev("2014-08-10T00:00Z", "notification.amendment", "PL", case="a14",
               body={"reason": "fewer troops", "forces": {"troops": 12000}})
    result = run([calendar(), notification(), amend])
    case = result.case("a14")
    assert case.state == "amended" and case.details["forces"]["troops"] == 12000
    assert "OBS_INVITE_TIMING" in [d.rule for d in case.deadlines]
    below = [f for f in case.findings if f.kind == "inconsistency" and f.rule == "OBS_INVITE"]
    assert below and "fewer troops" in below[0].message
    # the figures differ between the notification and the amendment
    assert any("troops: declared 12,000" in f.message for f in case.findings)


def test_figures_and_dates_differing_from_the_calendar_are_findings() -> None:
    result = run([calendar(forces={"troops": 11000}),
                  notification(start="2014-09-25")])
    messages = [f.message for f in result.case("a14").findings if f.kind == "inconsistency"]
    assert any("troops: declared 13,250, but PL's calendar for 2014 declares 11,000" in m
               for m in messages)
    assert any(m.startswith("start: PL's calendar for 2014 gives 2014-09-24") for m in messages)


def test_a_cancellation_waives_what_was_still_owed_and_leaves_the_assessment() -> None:
    cancel = ev("2014-07-01T00:00Z", "notification.cancellation", "PL", case="a14",
                body={"reason": "postponed"})
    result = run([calendar(), cancel], "2014-09-01")
    case = result.case("a14")
    assert case.state == "cancelled"
    assert deadline(result, "NOTIF_LEAD").status == "waived"
    assert not [f for f in result.findings if f.case == "a14" and f.kind == "missed"]


@pytest.mark.parametrize(
    ("events", "kind", "words"),
    [
        ([notification(), notification("2014-08-02T00:00Z")], "duplicate", "already holds"),
        ([ev("2014-08-02T00:00Z", "notification.amendment", "PL", case="a14",
             body={"reason": "r", "end": "2014-10-05"})], "out_of_order", "before the notif"),
        ([notification(sender="LT")], "not_a_party", "neither hosts nor takes part"),
        ([calendar(), notification(sender="LT", conducting_states=["PL", "LT"])],
         "not_a_party", "is PL's activity"),
        ([notification(), ev("2014-08-02T00:00Z", "notification.amendment", "PL", case="a14",
                             body={"reason": "r", "end": "2014-09-01"})],
         "malformed", "end is before start"),
        ([ev("2014-08-02T00:00Z", "notification.cancellation", "PL", case="a14")],
         "out_of_order", "nothing to cancel"),
    ],
)
def test_refusals(events: list[Any], kind: str, words: str) -> None:
    result = run(events)
    refused = [f for f in result.findings if f.kind == kind]
    assert refused and words in refused[0].message


@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        ("notification.amendment", {"reason": "nothing"}, "an amendment changes"),
        ("notification.amendment", {"forces": {"troops": 1}}, "reason"),
        ("calendar", {"year": 2014, "nil": True, "activities": [{**activity(), "case": "a"}]},
         "a nil return lists no activities"),
        ("calendar", {"year": 2015, "activities": [{**activity(), "case": "a"}]},
         "not in 2015"),
        ("calendar", {"year": 2014, "activities": [{**activity(), "case": "a"},
                                                   {**activity(), "case": "a"}]},
         "listed twice"),
        ("calendar", {"year": 2014, "activities": [activity()]}, "case"),
        ("calendar", {"year": 2014, "activities": 3}, "activities"),
        ("advance_communication", {"year": 2016}, "nil report"),
        ("notification", {"activity": {**activity(), "in_annual_calendar": True}},
         "in_annual_calendar"),
        ("notification", {"activity": {**activity(), "start": "9999-12-31", "end": None}},
         "too late"),
    ],
)
def test_bad_bodies_are_refused_with_their_reason(kind: str, body: dict[str, Any],
                                                  words: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_body(kind, body)
    assert words in " ".join(caught.value.lines())


def test_the_notification_schema_is_the_activity_without_handling_fields() -> None:
    schemas = message_schemas()
    notified = schemas["notification"]["$defs"]["NotifiedActivity"]["properties"]
    assert {"name", "forces", "forces_by_state", "divisions", "calendar_changes"} <= set(notified)
    assert not {"notified", "notified_at", "in_annual_calendar", "observers_invited",
                "communicated_two_years_ahead", "assumed"} & set(notified)
    entry = schemas["calendar"]["$defs"]["PlannedActivity"]["properties"]
    assert "case" in entry and "notified_at" not in entry
    assert {"notification.amendment", "notification.cancellation",
            "advance_communication"} <= set(schemas)


def test_possible_split_across_two_notifications_of_one_state() -> None:
    a = ev("2014-07-01T00:00Z", "notification", "PL", case="east", body={"activity": activity(
        name="East", forces={"troops": 7000, "battle_tanks": 0, "acv": 0, "artillery": 0})})
    b = ev("2014-07-01T00:00Z", "notification", "PL", case="west", body={"activity": activity(
        name="West", forces={"troops": 7000, "battle_tanks": 0, "acv": 0, "artillery": 0})})
    result = run([a, b])
    splits = [f for f in result.findings if f.kind == "possible_split"]
    assert splits and splits[0].case in ("east", "west") and splits[0].states == ("PL",)


def test_live_in_any_order_equals_the_replay() -> None:
    invitation = ev("2014-08-01T00:00Z", "observation.invitation", "PL", case="obs",
                    body={"activity": "a14", "programme": {}})
    amend = ev("2014-08-10T00:00Z", "notification.amendment", "PL", case="a14",
               body={"reason": "more", "forces": {"troops": 14000}})
    events = numbered([calendar(), notification(), invitation, amend])
    at = t("2014-09-01")
    expected = replay(events, PL, at)
    live = Live(PL)
    for event in reversed(events):
        live.receive(event)
    got = live.view(at)
    assert [c.deadlines for c in got.cases] == [c.deadlines for c in expected.cases]
    assert got.findings == expected.findings


def test_record_activities_carry_the_record_s_handling() -> None:
    (found,) = record_activities(numbered([calendar(), notification()]), PL, t("2014-09-01"))
    assert found.notified_at == t("2014-08-01T00:00Z") and found.in_annual_calendar is True
    assert found.communicated_two_years_ahead is False
    assert record_activities(numbered([calendar()]), PL, t("2013-01-01")) == []


def test_the_replay_bench_year_is_a_valid_scenario_with_notifications() -> None:
    """bench_replay.synthetic_year: no empty case label (refused since issue 9), and its
    notification variant replays with prior-notification cases."""
    from bench.bench_replay import CODES, synthetic_year

    from csbm.procedures.scenario import scenario_from_data

    raw = synthetic_year(600, notifications=1 / 3)
    assert all(e.get("case", "derived") for e in raw)
    scenario = scenario_from_data({"regime": ["vd2011"], "events": raw})
    ctx = Context(packs=scenario.context.packs, participants=tuple(CODES))
    result = replay(scenario.events, ctx, t("2022-01-01"))
    assert sum(c.procedure == "prior_notification" for c in result.cases) > 50


def test_a_case_state_evolves_as_dataclasses_replace_does() -> None:
    import dataclasses

    from csbm.procedures.prior_notification import NotificationState

    state = NotificationState(case="a14", state="PL", last_at=t("2014-08-01"))
    changes: dict[str, Any] = {"notified_at": t("2014-08-20"), "last_at": t("2014-08-20")}
    assert state.evolve(changes) == dataclasses.replace(state, **changes)
    assert state.last_at == t("2014-08-01")  # the state itself is unchanged
    with pytest.raises(TypeError):
        state.evolve({"no_such_field": 1})


def test_a_counted_replay_tells_its_progress_and_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``replay(..., counted=...)``: the count rises every COUNT_EVERY events to the number
    of events (those after the clock included: they are taken, not applied), and the
    result is the one of the replay without a count."""
    from bench.bench_replay import CODES, synthetic_year

    import csbm.procedures.runner as runner
    from csbm.procedures.scenario import scenario_from_data

    events = scenario_from_data({"events": synthetic_year(400, notifications=1 / 3)}).events
    ctx = Context(packs=vd().packs, participants=tuple(CODES))
    monkeypatch.setattr(runner, "COUNT_EVERY", 64)
    seen: list[int] = []
    clock = t("2021-09-01")
    counted = replay(events, ctx, clock, counted=seen.append)
    assert seen == [*range(64, len(events), 64), len(events)]
    assert counted == replay(events, ctx, clock)
    assert len(counted.cases) > 20


@pytest.mark.parametrize(
    "change",
    [
        {"forces": {"troops": 12000}},
        {"forces": {"troops": 0, "helicopters": 40, "acv": None}},
        {"forces": {}},
        {"forces": {"troops": 9000}, "end": "2014-10-05"},
        {"start": "2014-09-20T06:00+02:00"},
        {"phases": [{"name": "active", "start": "2014-09-25", "end": "2014-09-30"}]},
        {"area": {"type": "Polygon", "coordinates": [[[20, 50], [21, 50], [21, 51], [20, 50]]]}},
    ],
)
def test_an_amended_activity_is_the_one_the_whole_validation_gives(
    change: dict[str, Any],
) -> None:
    """An amendment of figures only keeps the rest of the notified activity as it is
    (``_with_forces``); any other change validates the amended activity again as a whole
    (``_amended``). Either way the activity is the one the whole validation of the amended
    data gives: equal, field for field."""
    from csbm.procedures._activity import NotifiedActivity, activity_data
    from csbm.procedures.prior_notification import MEASURE, AmendmentBody, NotificationState

    amend = ev("2014-08-10T00:00Z", "notification.amendment", "PL", case="a14",
               body={"reason": "r", **change})
    state = NotificationState("a14")
    for event in numbered([notification(declarations=[{"source": "x", "forces": {"acv": 1}}]),
                           amend]):
        state = MEASURE.apply(state, event, PL)
    assert state.current is not None and state.notified is not None
    data = activity_data(state.notified)
    body = AmendmentBody.model_validate(amend.body)
    if body.forces is not None:
        data["forces"] = {**data["forces"], **body.forces.model_dump(exclude_none=True)}
    for name in ("start", "end", "area"):
        if getattr(body, name) is not None:
            data[name] = getattr(body, name)
    if body.phases is not None:
        data["phases"] = [p.model_dump(mode="json", exclude_none=True) for p in body.phases]
    whole = NotifiedActivity.model_validate(data)
    assert state.current == whole and type(state.current) is type(whole)
    assert dict(state.current) == dict(whole)
    expected = [*(f"forces.{k}" for k, v in change.get("forces", {}).items() if v is not None),
                *(k for k in ("start", "end", "area", "phases") if k in change)]
    assert list(state.amendments[-1].changed) == expected


def test_an_amendment_of_figures_only_cannot_hide_an_amended_end_before_start() -> None:
    """The refusals of the whole validation stay when figures change with a date."""
    events = [notification(), ev("2014-08-02T00:00Z", "notification.amendment", "PL",
                                 case="a14", body={"reason": "r", "forces": {"troops": 5},
                                                   "end": "2014-09-01"})]
    refused = [f for f in run(events).findings if f.kind == "malformed"]
    assert refused and "the amended activity is refused: activity: Value error, end is before " \
        "start" in refused[0].message


def test_the_activities_made_directly_equal_pydantic_s() -> None:
    """``_copied`` and ``_declaration`` make what model_copy, model_construct and the
    validation make: the same fields, values, fields set, class."""
    from datetime import UTC, datetime

    from csbm.domain.activity import Declaration, Forces
    from csbm.i18n import phrase
    from csbm.procedures._activity import NotifiedActivity, PlannedActivity
    from csbm.procedures.prior_notification import _copied, _declaration, _without_case

    entry = PlannedActivity.model_validate({**activity(kind="alert_activity"), "case": "a14"})
    update = {"notified": True, "notified_at": datetime(2014, 8, 1, tzinfo=UTC),
              "name": "Other", "declarations": ()}
    for made, expected in [
        (_copied(entry, PlannedActivity, update), entry.model_copy(update=update)),
        (_without_case(entry), NotifiedActivity.model_construct(
            _fields_set=entry.model_fields_set - {"case"},
            **{name: getattr(entry, name) for name in NotifiedActivity.model_fields})),
    ]:
        assert type(made) is type(expected) and made == expected
        assert list(made.__dict__) == list(expected.__dict__)
        assert made.model_fields_set == expected.model_fields_set
        assert made.model_dump(mode="json") == expected.model_dump(mode="json")
        assert made.__pydantic_extra__ is None and made.__pydantic_private__ is None
    forces = Forces(troops=3)
    source = phrase("{state}'s calendar for {year}", state="PL", year=2014)
    made_d, valid = _declaration(source, forces), Declaration(source=source, forces=forces)
    assert made_d == valid and made_d.model_fields_set == valid.model_fields_set
    assert made_d.source is valid.source and list(made_d.__dict__) == list(valid.__dict__)


@pytest.mark.parametrize(
    ("over", "lines"),
    [
        ({"notified": True, "observers_invited": False},
         ["body.activity.notified: set by the messages themselves",
          "body.activity.observers_invited: set by the messages themselves"]),
        ({"end": "9999-06-01"}, ["body.activity: instant too late"]),
        ({"start": "0001-06-01", "end": None}, ["body.activity: instant too early"]),
        ({"phases": [{"name": "p", "start": "2014-09-24", "end": "9999-06-01"}]},
         ["body.activity: instant too late"]),
        ({"phases": [{"name": "p", "start": "0001-01-02", "end": "2014-09-25"}]},
         ["body.activity: instant too early"]),
    ],
)
def test_handling_fields_and_instants_out_of_range_are_refused_by_name(
    over: dict[str, Any], lines: list[str],
) -> None:
    with pytest.raises(InputError) as caught:
        validate_body("notification", {"activity": activity(**over)})
    found = caught.value.lines()
    assert len(found) == len(lines)
    for line, start in zip(found, lines, strict=True):
        assert line.startswith(start), (line, start)
