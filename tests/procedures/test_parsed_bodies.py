"""A body is validated once: the model the message check made is the one the measures use.

Source: issue 10, constraint "performance" (the replay of a year with a third of its
messages notifications, assessed on arrival); DESIGN.md principle 1 (a replay gives the
same answer however it is computed). ``csbm.message`` hands the validated model to the
event (``Event.parsed``) and the measures take it (``Event.model_of``) instead of
validating the body again: these tests check that the shortcut changes nothing — the
carried model equals the body validated again, on every example and on a synthetic year,
and a replay with the models gives exactly the replay without them.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from csbm.message import checked_message, to_event, validate_message
from csbm.procedures._activity import NotifiedActivity, PlannedActivity
from csbm.procedures.base import Event
from csbm.procedures.prior_notification import MEASURE as PRIOR
from csbm.procedures.prior_notification import NotificationBody
from csbm.procedures.runner import replay, result_json
from csbm.procedures.scenario import Scenario, load_scenario, scenario_from_data


def _scenarios(repo_root: Path) -> list[tuple[str, Scenario]]:
    out = []
    for path in sorted((repo_root / "examples").glob("*.yaml")):
        if "events:" in path.read_text(encoding="utf-8"):
            out.append((path.name, load_scenario(path)))
    return out


def _synthetic() -> Scenario:
    from bench.bench_replay import synthetic_year

    raw = synthetic_year(3000, seed=11, notifications=1 / 3)
    return scenario_from_data({"regime": ["vd2011"], "events": raw})


def _observed(events: tuple[Event, ...]) -> list[Event]:
    """The calendar and advance-communication entries as prior notification sees them."""
    return [seen for e in events if e.type in PRIOR.observes for _, seen in PRIOR.observe(e)]


def _check_models(events: list[Event] | tuple[Event, ...]) -> int:
    checked = 0
    for event in events:
        assert event.parsed is not None, event
        body, model = event.parsed
        assert body is event.body
        if "entry" in body and isinstance(model, PlannedActivity):  # an observed entry
            again: BaseModel = PlannedActivity.model_validate(body["entry"])
        else:
            again = type(model).model_validate(dict(body))
        assert again == model, event.type
        assert again.model_dump(mode="json") == model.model_dump(mode="json"), event.type
        if "entry" not in body:  # the body as the message check dumped it (Body.as_json)
            assert json.dumps(dict(body)) == json.dumps(model.model_dump(mode="json"))
        checked += 1
    return checked


def _without_models(events: tuple[Event, ...]) -> list[Event]:
    return [dataclasses.replace(e, parsed=None) for e in events]


def test_every_example_carries_models_equal_to_its_bodies_read_again(repo_root: Path) -> None:
    kinds: set[str] = set()
    for name, scenario in _scenarios(repo_root):
        assert _check_models(scenario.events), name
        _check_models(_observed(scenario.events))
        kinds |= {e.type for e in scenario.events}
    assert {"notification", "calendar"} <= kinds


def test_a_synthetic_year_carries_models_equal_to_its_bodies_read_again() -> None:
    scenario = _synthetic()
    assert _check_models(scenario.events) == len(scenario.events)
    assert _check_models(_observed(scenario.events)) > 100  # calendar entries


@pytest.mark.parametrize("clock", [None, datetime(2021, 6, 1, tzinfo=UTC)])
def test_replaying_with_the_models_equals_replaying_without(clock: datetime | None) -> None:
    scenario = _synthetic()
    fast = replay(scenario.events, scenario.context, clock)
    slow = replay(_without_models(scenario.events), scenario.context, clock)
    assert fast.findings and any(f.rule == "CAL_LATE_ENTRY" for f in fast.findings)
    assert result_json(fast) == result_json(slow)


def test_every_example_replays_the_same_with_and_without_the_models(repo_root: Path) -> None:
    for name, scenario in _scenarios(repo_root):
        fast = replay(scenario.events, scenario.context)
        slow = replay(_without_models(scenario.events), scenario.context)
        assert result_json(fast) == result_json(slow), name


def _notification(start: str) -> dict[str, Any]:
    return {
        "type": "notification", "to": "all", "case": "n1",
        "body": {"activity": {"name": "Test", "conducting_states": ["PL"], "host_state": "PL",
                              "start": start, "forces": {"troops": 9500}}},
    }


def _event(start: str) -> Event:
    checked, problems = checked_message(_notification(start))
    assert checked is not None and not problems
    return checked.event(datetime(2021, 8, 1, tzinfo=UTC), "PL", 1)


def test_a_bare_date_leaves_no_assumption_in_the_carried_activity() -> None:
    """A bare date is read as 00:00 UTC; the body carries the instant, so the activity the
    measure sees has no assumption left, as when the body is read again."""
    event = _event("2021-09-14")
    model = event.model_of(NotificationBody)
    assert model is not None
    assert model.activity.assumed == ()
    assert event.body["activity"]["start"] == "2021-09-14T00:00:00Z"
    assert NotificationBody.model_validate(dict(event.body)) == model


def test_a_replaced_body_is_validated_again_not_taken_from_the_stale_model() -> None:
    event = _event("2021-09-14T00:00:00Z")
    assert event.model_of(NotificationBody) is not None
    other = dataclasses.replace(event, body={"activity": {"name": "Other"}})
    assert other.model_of(NotificationBody) is None  # the model belongs to the old body
    assert event.model_of(NotifiedActivity) is None  # nor is it another kind's model


def test_an_event_from_a_message_carries_no_model_and_is_validated_where_used() -> None:
    checked, _ = checked_message(_notification("2021-09-14T00:00:00Z"))
    assert checked is not None
    message = validate_message(_notification("2021-09-14T00:00:00Z"))
    assert message == checked.message()
    event = to_event(message, datetime(2021, 8, 1, tzinfo=UTC), "PL", 1)
    assert event.parsed is None and event.model_of(NotificationBody) is None
    fast = replay([checked.event(event.at, "PL", 1)], scenario_from_data({"events": []}).context)
    slow = replay([event], scenario_from_data({"events": []}).context)
    assert result_json(fast) == result_json(slow)
    assert fast.case("n1").state == "notified"


def test_a_hand_made_event_with_a_bad_body_is_still_refused() -> None:
    event = Event(at=datetime(2021, 8, 1, tzinfo=UTC), type="notification", sender="PL",
                  recipients=("all",), case="n1", body={"activity": {"name": "x"}}, seq=1)
    result = replay([event], scenario_from_data({"events": []}).context)
    assert [f.kind for f in result.findings] == ["malformed"]


def test_a_refused_message_gives_no_parts() -> None:
    checked, problems = checked_message({**_notification("2021-09-14"), "to": "XX"})
    assert checked is None and [p.path for p in problems] == ["to"]


def test_a_planned_activity_reaches_the_engine_without_its_case_label() -> None:
    """A calendar entry not yet notified is assessed as the activity it plans: the entry's
    ``case`` is the message's, not the activity's, on either path."""
    from csbm.procedures.prior_notification import record_activities

    entry = {"name": "Planned", "conducting_states": ["PL"], "host_state": "PL",
             "start": "2022-09-24T00:00:00Z", "forces": {"troops": 14000}, "case": "p1"}
    scenario = scenario_from_data({"events": [
        {"at": "2021-11-10T00:00Z", "type": "calendar", "from": "PL",
         "body": {"year": 2022, "activities": [entry]}}]})
    clock = datetime(2022, 1, 1, tzinfo=UTC)
    for events in (list(scenario.events), _without_models(scenario.events)):
        (found,) = record_activities(events, scenario.context, clock)
        assert type(found) is NotifiedActivity and "case" not in found.model_dump()
        assert found.in_annual_calendar is True and found.forces.troops == 14000
        shown = replay(events, scenario.context, clock).case("p1")
        assert shown.state == "planned" and shown.details["activity"] == "Planned"


@pytest.mark.parametrize("nil", [False, True])
def test_the_bodies_dumped_with_less_work_are_their_json_dumps(nil: bool) -> None:
    """``Body.as_json`` of the bodies that give it themselves (notification, calendar,
    advance communication) is ``model_dump(mode="json")``, key order included."""
    from csbm.procedures._bodies import Body
    from csbm.procedures.registry import by_kind, validate_body_model

    entry = {"name": " Zapad ", "conducting_states": ["by", "RU"], "host_state": "BY",
             "start": "2021-09-10", "end": "2021-09-16T12:00+03:00", "phases": [],
             "forces": {"troops": 50000, "battle_tanks": None}, "sources": ["a"],
             "area": {"type": "Point", "coordinates": [27.5, 53.9]}}
    bodies = {
        "notification": {"activity": entry},
        "calendar": {"year": 2021, "nil": nil,
                     "activities": [] if nil else [{**entry, "case": " z21 "}]},
        "advance_communication": {"year": 2021, "nil": nil,
                                  "activities": [] if nil else [{**entry, "case": "z21"}]},
    }
    for kind, raw in bodies.items():
        if kind == "notification" and nil:
            continue
        model, body = validate_body_model(kind, raw)
        assert isinstance(model, Body) and type(model).as_json is not Body.as_json
        assert json.dumps(body) == json.dumps(model.model_dump(mode="json")), kind
        assert kind in by_kind()


def test_plain_bodies_dumped_as_their_values_are_their_json_dumps(repo_root: Path) -> None:
    """``Body.as_json`` of the bodies of plain fields (their values taken as they are) is
    ``model_dump(mode="json")``, key order included, on every example and a synthetic
    year; a value that is not plain (an instant, a fraction, a mapping) takes the dump."""
    from csbm.procedures._bodies import Body, _plain_fields

    events = [e for _, s in _scenarios(repo_root) for e in s.events] + list(
        _synthetic().events)
    plain_kinds: set[str] = set()
    for event in events:
        assert event.parsed is not None
        model = event.parsed[1]
        assert isinstance(model, Body)
        assert json.dumps(model.as_json()) == json.dumps(model.model_dump(mode="json"))
        if type(model).as_json is Body.as_json and _plain_fields(type(model)) is not None:
            plain_kinds.add(event.type)
    assert {"hotline.message", "hotline.ack", "ch3.request", "visit.acceptance"} <= plain_kinds
    odd = validate_message({"type": "ch3.meeting", "to": "all", "case": "c", "body": {
        "scope": "all", "attended": ["AT"], "absent": [{"state": "BY", "reason": None}]}})
    model, _body = _model_and_body(odd)
    assert json.dumps(model.as_json()) == json.dumps(model.model_dump(mode="json"))


def _model_and_body(message: Any) -> tuple[Any, Any]:
    from csbm.procedures.registry import validate_body_model

    return validate_body_model(message.type, dict(message.body))


def test_activity_data_leaves_out_what_the_plain_filter_leaves_out() -> None:
    """_activity.activity_data keeps a value unless it is an empty list (``v != []``) or a
    handling field (or ``case``, when asked): the plain filter, on the activities of a
    synthetic year and on values of every JSON type, empty and not."""
    from csbm.procedures import _activity
    from csbm.procedures._activity import _LEFT_OUT, activity_data

    models = [m for e in _synthetic().events if e.parsed is not None
              for m in ([e.parsed[1].activity] if isinstance(e.parsed[1], NotificationBody)
                        else getattr(e.parsed[1], "activities", ()))]
    assert len(models) > 500
    for model in models:
        for keep_case in (True, False):
            data = model.model_dump(mode="json", exclude_none=True)
            plain = {k: v for k, v in data.items() if v != [] and k not in _LEFT_OUT[keep_case]}
            assert json.dumps(activity_data(model, keep_case=keep_case)) == json.dumps(plain)

    class Fake:
        def model_dump(self, **_: Any) -> dict[str, Any]:
            return {"a": 0, "b": "", "c": [], "d": {}, "e": [0], "f": False, "g": 0.0,
                    "notified": True, "case": "x"}

    for keep_case in (True, False):
        data = Fake().model_dump()
        plain = {k: v for k, v in data.items() if v != [] and k not in _LEFT_OUT[keep_case]}
        assert _activity.activity_data(Fake(), keep_case=keep_case) == plain  # type: ignore[arg-type]
