"""Chapter III ¶16: request, reply, assessment, meetings — and every way they go wrong."""

from __future__ import annotations

from csbm.procedures.base import Deadline, Event
from csbm.procedures.runner import Live, ReplayResult
from tests.procedures._events import ev, numbered, run, t, vd

REQ = ev("2022-02-09T10:00Z", "ch3.request", "LT", "BY", body={"on_behalf_of": ["LT", "LV", "EE"]})
REPLY = ev("2022-02-11T09:00Z", "ch3.reply", "BY", ["LT", "LV", "EE"])


def _deadline(result: ReplayResult, rule: str) -> Deadline:
    return next(d for d in result.cases[0].deadlines if d.rule == rule)


def test_happy_path_several_requesters() -> None:
    result = run([REQ, REPLY])
    case = result.case("c1")
    assert case.parties == {"requesting": ("LT", "LV", "EE"), "responding": ("BY",)}
    reply = _deadline(result, "CH3_REPLY")
    assert (reply.due, reply.status, reply.met_at) == (
        t("2022-02-11T10:00Z"), "met", t("2022-02-11T09:00Z"))
    assert reply.owed_by == ("BY",) and reply.owed_to == ("LT", "LV", "EE")
    assert case.state == "replied_on_time"
    assert result.findings == ()


def test_open_before_due_then_missed_when_nobody_replies() -> None:
    assert run([REQ], at="2022-02-11T09:59Z").cases[0].deadlines[0].status == "open"
    assert run([REQ], at="2022-02-11T09:59Z").cases[0].state == "requested"
    later = run([REQ], at="2022-02-11T10:01Z")
    assert later.cases[0].deadlines[0].status == "missed"
    assert later.cases[0].state == "no_reply"
    assert [f.kind for f in later.findings] == ["missed"]
    assert later.findings[0].states == ("BY",)


def test_late_reply_is_recorded_as_late() -> None:
    late = ev("2022-02-11T13:30Z", "ch3.reply", "BY", "LT")
    result = run([REQ, late])
    reply = _deadline(result, "CH3_REPLY")
    assert reply.status == "missed" and reply.met_at == t("2022-02-11T13:30Z")
    assert result.cases[0].state == "replied_late"
    assert [f.kind for f in result.findings] == ["late"]
    assert "3.5 h late" in result.findings[0].message


def test_statement_outside_the_channel_is_not_a_reply() -> None:
    press = ev("2022-02-10T09:00Z", "ch3.reply", "BY", "LT", body={"channel": "press"})
    result = run([REQ, press], at="2022-02-12T00:00Z")
    assert _deadline(result, "CH3_REPLY").status == "missed"
    refused = [h for h in result.cases[0].history if not h.accepted]
    assert len(refused) == 1 and "not a reply" in (refused[0].reason or "")
    assert {f.kind for f in result.findings} == {"not_a_reply", "missed"}


def test_reply_from_a_state_that_is_not_a_party() -> None:
    result = run([REQ, ev("2022-02-10T09:00Z", "ch3.reply", "RU", "LT")], at="2022-02-10T10:00Z")
    assert _deadline(result, "CH3_REPLY").status == "open"
    assert [f.kind for f in result.findings] == ["not_a_party"]
    assert "RU is not a party" in result.findings[0].message


def test_reply_before_any_request() -> None:
    result = run([ev("2022-02-10T09:00Z", "ch3.reply", "BY", "LT")])
    assert result.cases[0].state == "empty" and result.cases[0].deadlines == ()
    assert [f.kind for f in result.findings] == ["out_of_sequence"]


def test_second_reply_and_second_request_are_refused() -> None:
    again = ev("2022-02-11T09:30Z", "ch3.reply", "BY", "LT", body={"text": "more"})
    req2 = ev("2022-02-09T11:00Z", "ch3.request", "LV", "BY")
    result = run([REQ, REPLY, again, req2])
    assert [f.kind for f in result.findings] == ["duplicate", "duplicate"]
    assert result.case("c1").parties["requesting"] == ("LT", "LV", "EE")


def test_identical_message_twice_changes_nothing() -> None:
    result = run([REQ, REPLY, REPLY])
    assert [h.accepted for h in result.cases[0].history] == [True, True, False]
    assert "duplicate of message #1" in (result.cases[0].history[2].reason or "")


def test_request_to_itself_or_without_a_responding_state() -> None:
    self_req = ev("2022-02-09T10:00Z", "ch3.request", "LT", "LT")
    nobody = ev("2022-02-09T10:00Z", "ch3.request", "LT", "all", case="c2")
    result = run([self_req, nobody])
    assert len([f for f in result.findings if f.kind == "refused"]) == 2


def test_assessment_rules() -> None:
    early = ev("2022-02-10T12:00Z", "ch3.reply_assessment", "LT", "BY",
               body={"satisfactory": False})
    stranger = ev("2022-02-12T12:00Z", "ch3.reply_assessment", "PL", "BY",
                  body={"satisfactory": True})
    ok = ev("2022-02-12T12:00Z", "ch3.reply_assessment", "LT", "BY",
            body={"satisfactory": False, "reasons": ["no figures"], "on_behalf_of": ["LV"]})
    twice = ev("2022-02-12T13:00Z", "ch3.reply_assessment", "LV", "BY",
               body={"satisfactory": True})
    result = run([REQ, early, REPLY, stranger, ok, twice])
    kinds = [f.kind for f in result.findings]
    assert kinds == ["out_of_sequence", "not_a_party", "duplicate"]
    case = result.cases[0]
    assert case.state == "reply_unsatisfactory"
    assert case.details["reply"]["assessment"] == "unsatisfactory"
    assert [a["state"] for a in case.details["reply"]["assessments"]] == ["LT", "LV"]


def test_meeting_request_refused_while_the_reply_is_still_due() -> None:
    early = ev("2022-02-10T10:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "all"})
    result = run([REQ, early])
    assert [f.kind for f in result.findings] == ["out_of_sequence"]
    assert result.findings[0].rule == "CH3_REPLY"


def test_meetings_and_escalation() -> None:
    ask = ev("2022-02-13T09:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "bilateral"})
    held = ev("2022-02-14T14:00Z", "ch3.meeting", "PL", "all", body={
        "scope": "bilateral", "attended": ["BY", "LT"],
        "absent": [{"state": "RU", "reason": "not invited as a party"}]})
    all_states = ev("2022-02-14T17:00Z", "ch3.meeting_request", "LV", "all",
                    body={"scope": "all"})
    result = run([REQ, REPLY, ask, held, all_states], at="2022-02-15T00:00Z")
    case = result.cases[0]
    assert case.state == "joint_meeting_requested"
    rules = {d.rule: d for d in case.deadlines}
    assert set(rules) == {"CH3_REPLY", "CH3_MEET_BILAT", "CH3_MEET_ALL"}
    assert rules["CH3_MEET_BILAT"].status == "met"
    assert rules["CH3_MEET_BILAT"].due == t("2022-02-15T09:00Z")
    assert rules["CH3_MEET_ALL"].status == "open"
    assert rules["CH3_MEET_ALL"].due == t("2022-02-16T17:00Z")
    assert rules["CH3_MEET_ALL"].paragraph == "16.3"
    assert rules["CH3_MEET_ALL"].owed_by == ("Chairperson-in-Office",)
    meeting = case.details["meetings"][0]
    assert meeting["attended"] == ["BY", "LT"]
    assert meeting["absent"] == [{"state": "RU", "reason": "not invited as a party"}]


def test_meeting_not_held_in_time_is_missed_and_held_late_is_late() -> None:
    ask = ev("2022-02-13T09:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "all"})
    late = ev("2022-02-16T09:00Z", "ch3.meeting", "PL", "all", body={"scope": "all"})
    missing = run([REQ, REPLY, ask], at="2022-02-15T09:01Z")
    assert {d.rule: d.status for d in missing.cases[0].deadlines}["CH3_MEET_ALL"] == "missed"
    held_late = run([REQ, REPLY, ask, late])
    d = {d.rule: d for d in held_late.cases[0].deadlines}["CH3_MEET_ALL"]
    assert d.status == "missed" and d.met_at == t("2022-02-16T09:00Z")


def test_meeting_without_a_request_and_request_from_a_third_state() -> None:
    held = ev("2022-02-14T14:00Z", "ch3.meeting", "PL", "all", body={"scope": "all"})
    third = ev("2022-02-13T09:00Z", "ch3.meeting_request", "PL", "all", body={"scope": "all"})
    result = run([REQ, REPLY, third, held])
    assert [f.kind for f in result.findings] == ["not_a_party", "out_of_sequence"]


def test_held_at_in_the_body_counts() -> None:
    ask = ev("2022-02-13T09:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "all"})
    record = ev("2022-02-16T09:00Z", "ch3.meeting", "PL", "all",
                body={"scope": "all", "held_at": "2022-02-15T09:00 Europe/Vienna"})
    d = {d.rule: d for d in run([REQ, REPLY, ask, record]).cases[0].deadlines}["CH3_MEET_ALL"]
    assert d.status == "met" and d.met_at == t("2022-02-15T08:00Z")


def test_out_of_order_arrival_is_handled() -> None:
    events = numbered([REQ, REPLY])
    live = Live(vd())
    live.receive(events[1])  # the reply arrives before the request
    assert live.view().findings[0].kind == "out_of_sequence"
    live.receive(events[0])
    result = live.view()
    assert result.findings == ()
    assert result.cases[0].state == "replied_on_time"


def test_view_at_an_earlier_clock_hides_later_messages() -> None:
    events: list[Event] = [REQ, REPLY]
    result = run(events, at="2022-02-10T00:00Z")
    assert len(result.cases[0].history) == 1
    assert result.cases[0].deadlines[0].status == "open"
    assert run(events, at="2022-02-01T00:00Z").cases == ()


def test_joint_and_all_are_one_meeting_of_all_participating_states() -> None:
    """¶16.3–16.3.1.1: the meeting of all States is held by the PC and the FSC jointly;
    ``scope: joint`` (as older logs write it) is that meeting, not a second one."""
    ask = ev("2022-02-13T09:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "all"})
    again = ev("2022-02-13T10:00Z", "ch3.meeting_request", "LV", "all", body={"scope": "joint"})
    held = ev("2022-02-14T14:00Z", "ch3.meeting", "PL", "all",
              body={"scope": "joint", "number": 84})
    result = run([REQ, REPLY, ask, again, held])
    case = result.cases[0]
    assert [f.kind for f in result.findings] == ["duplicate"]
    assert "meeting of all participating States (¶16.3)" in result.findings[0].message
    (meeting,) = case.details["meetings"]
    assert meeting["scope"] == "all" and meeting["number"] == 84
    deadlines = [d for d in case.deadlines if d.rule.startswith("CH3_MEET")]
    assert [(d.rule, d.status) for d in deadlines] == [("CH3_MEET_ALL", "met")]
    assert case.state == "joint_meeting_held"


def test_meeting_of_all_states_waits_for_the_reply_time_too() -> None:
    early = ev("2022-02-10T10:00Z", "ch3.meeting_request", "LT", "all", body={"scope": "joint"})
    result = run([REQ, early])
    assert [f.kind for f in result.findings] == ["out_of_sequence"]
    assert result.cases[0].details["meetings"] == []


def test_no_rule_id_the_procedure_names_is_missing_from_vd2011() -> None:
    from csbm.procedures.unusual_activity import MEETING_RULES
    from csbm.rules.loader import load_pack

    pack = load_pack("vd2011")
    for rule_id in ("CH3_REPLY", *MEETING_RULES.values()):
        assert pack.get(rule_id) is not None, rule_id
