"""The framework: deadline status, rule lookup by parties and date, the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbm.domain.time import InstantError
from csbm.errors import InputError
from csbm.procedures.base import (
    EARLIEST,
    LATEST,
    Context,
    InstantOutOfRange,
    check_instant,
    deadline_status,
)
from csbm.procedures.registry import by_kind, message_kinds, message_schemas, validate_body
from csbm.rules.loader import load_pack
from csbm.rules.pack import RulePack
from tests.procedures._events import bilateral_pack, t

DUE = t("2022-02-11T10:00Z")


@pytest.mark.parametrize(
    ("now", "done", "waived", "expected"),
    [
        ("2022-02-10T00:00Z", None, False, "open"),
        ("2022-02-11T10:00Z", None, False, "open"),  # due instant itself is still in time
        ("2022-02-11T10:00:01Z", None, False, "missed"),
        ("2022-02-12T00:00Z", "2022-02-11T10:00Z", False, "met"),
        ("2022-02-12T00:00Z", "2022-02-11T11:00Z", False, "missed"),
        ("2022-02-11T08:00Z", "2022-02-11T09:00Z", False, "open"),  # done after the clock
        ("2022-02-12T00:00Z", None, True, "waived"),
    ],
)
def test_deadline_status(now: str, done: str | None, waived: bool, expected: str) -> None:
    assert deadline_status(DUE, t(now), t(done) if done else None, waived) == expected


def test_unknown_due_stays_unknown_even_when_done() -> None:
    assert deadline_status(None, t("2022-02-12T00:00Z"), t("2022-02-11T00:00Z")) == "unknown"


def test_period_deadline_from_the_pack() -> None:
    ctx = Context(packs=(load_pack("vd2011"),))
    d = ctx.period_deadline("CH3_REPLY", t("2022-02-09T10:00Z"), t("2022-02-11T09:30Z"),
                            done_at=t("2022-02-11T09:00Z"), owed_by=("BY",))
    assert (d.due, d.status, d.met_at) == (DUE, "met", t("2022-02-11T09:00Z"))
    assert (d.paragraph, d.pack) == ("16.1.3", "vd2011")


def test_late_done_is_missed_with_the_late_time() -> None:
    ctx = Context(packs=(load_pack("vd2011"),))
    d = ctx.period_deadline("CH3_REPLY", t("2022-02-09T10:00Z"), t("2022-02-12T00:00Z"),
                            done_at=t("2022-02-11T13:00Z"))
    assert d.status == "missed" and d.late and d.met_at == t("2022-02-11T13:00Z")


def test_null_number_is_unknown_with_a_note() -> None:
    ctx = Context(packs=(load_pack("vd2011"),))
    d = ctx.period_deadline("HAZ_REPORT", t("2021-12-04T12:00Z"), t("2021-12-05T00:00Z"))
    assert d.status == "unknown" and d.due is None
    assert d.note is not None and "fill in" in d.note


def test_rule_no_pack_sets_is_unknown() -> None:
    ctx = Context(packs=(load_pack("vd2011"),))
    d = ctx.period_deadline("HOTLINE_ACK", t("2021-12-04T12:00Z"), t("2021-12-05T00:00Z"),
                            parties=("BY", "UA"))
    assert d.status == "unknown" and d.pack is None
    assert d.note == "no rule pack of the scenario sets HOTLINE_ACK"


def test_bilateral_pack_only_for_its_parties_and_period(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path)))
    inside = ctx.find_rule("HOTLINE_ACK", ("UA", "BY"), t("2021-12-04T00:00Z").date())
    assert inside is not None and inside.pack_id == "test-by-ua"
    assert ctx.find_rule("HOTLINE_ACK", ("UA", "PL"), t("2021-12-04T00:00Z").date()) is None
    # terminated on 2023-01-03 (public cases §2.1), not yet in force before 2002-04-26
    assert ctx.find_rule("HOTLINE_ACK", ("UA", "BY"), t("2023-01-03T00:00Z").date()) is None
    assert ctx.find_rule("HOTLINE_ACK", ("UA", "BY"), t("2002-04-25T00:00Z").date()) is None
    # a multilateral rule is found whatever the parties
    assert ctx.find_rule("CH3_REPLY", ("UA", "BY"), t("2022-01-01T00:00Z").date()) is not None


def test_find_by_anchor(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path)))
    ref = ctx.find_by_anchor("hazardous_incident", "clarification_request", ("BY", "UA"),
                             t("2021-12-05T00:00Z").date())
    assert ref is not None and ref.rule.id == "HAZ_CLARIFY"
    assert ctx.find_by_anchor("hazardous_incident", "clarification_request", ("BY", "PL")) is None


def test_annual_deadline() -> None:
    ctx = Context(packs=(load_pack("vd2011"),))
    d = ctx.annual_deadline("CAL_DEADLINE", 2017, t("2016-11-16T00:00Z"))
    assert d.due == t("2016-11-15T23:59:59.999999Z") and d.status == "missed"
    assert ctx.annual_deadline("CH3_REPLY", 2017, t("2016-11-16T00:00Z")).status == "unknown"


MY_KINDS = {
    "ch3.request", "ch3.reply", "ch3.reply_assessment", "ch3.meeting_request", "ch3.meeting",
    "incident.report", "incident.clarification_request", "incident.clarification",
    "visit.invitation", "visit.acceptance", "visit.report", "aemi", "calendar",
    "hotline.message", "hotline.ack", "attache_visit.invitation", "attache_visit.reply",
}


def test_every_kind_has_a_schema() -> None:
    assert set(message_kinds()) >= MY_KINDS
    schemas = message_schemas()
    for kind in MY_KINDS:
        assert schemas[kind]["type"] == "object"
    assert schemas["ch3.meeting_request"]["properties"]["scope"]["enum"] == [
        "bilateral", "all", "joint"
    ]
    assert all(by_kind()[k].name for k in MY_KINDS)


def test_bad_body_is_refused_with_its_path() -> None:
    with pytest.raises(InputError) as info:
        validate_body("ch3.request", {"on_behalf_of": ["LT", "XX"], "colour": 1})
    lines = info.value.lines()
    assert any(line.startswith("body.on_behalf_of[1]: not a participating State") for line in lines)
    assert any(line.startswith("body.colour: ") for line in lines)


def test_nil_return_with_units_is_refused() -> None:
    with pytest.raises(InputError) as info:
        validate_body("aemi", {"year": 2021, "nil": True, "units": 3})
    assert "a nil return reports no units" in info.value.lines()[0]


# -- the range of instants: deadlines past year 9999 are refused centrally, never an
#    OverflowError (issue 8, item 6)


def _spec_pack(tmp: Path, spec: str) -> RulePack:
    path = tmp / "edge.yaml"
    path.write_text(
        "id: edge\ntitle: Edge of the calendar\nversion: '1'\nkind: multilateral\n"
        "parties: all\nrules:\n  - id: EDGE\n    title: Edge\n    strength: commitment\n"
        f"    measure: chapter_iii\n    spec: {spec}\n    provenance: {{status: analyst}}\n",
        encoding="utf-8")
    return load_pack(path)


def test_period_past_year_9999_is_refused_with_the_case(tmp_path: Path) -> None:
    ctx = Context(packs=(_spec_pack(
        tmp_path, "{type: period, amount: 2, unit: days, direction: after, anchor: request}"),))
    anchor = t("9999-12-31T00:00Z")
    with pytest.raises(InstantOutOfRange) as info:
        ctx.period_deadline("EDGE", anchor, anchor, case="c1")
    assert info.value.code == "instant.out_of_range"
    assert info.value.lines() == [
        "case c1: instant too late: the EDGE deadline would be past year 9999 "
        "(got '9999-12-31T00:00:00Z')"]


def test_period_before_year_1_is_refused(tmp_path: Path) -> None:
    ctx = Context(packs=(_spec_pack(
        tmp_path, "{type: period, amount: 2, unit: months, direction: before, anchor: x}"),))
    anchor = t("0001-01-05T00:00Z")
    with pytest.raises(InstantOutOfRange) as info:
        ctx.period_deadline("EDGE", anchor, anchor)
    assert info.value.lines()[0].startswith("EDGE: instant too early: the EDGE deadline would "
                                            "be before year 1")


def test_annual_date_past_year_9999_is_refused(tmp_path: Path) -> None:
    ctx = Context(packs=(_spec_pack(
        tmp_path, "{type: annual_date, month: 1, day: 1, year_offset: 1}"),))
    with pytest.raises(InstantOutOfRange) as info:
        ctx.annual_deadline("EDGE", 9999, t("2022-01-01T00:00Z"), case="c9")
    assert info.value.lines() == [
        "case c9: instant too late: the EDGE deadline for 9999 would be past year 9999 "
        "(got 9999)"]


@pytest.mark.parametrize(
    ("text", "ok"),
    [("9998-12-31T23:59:59Z", True), ("9999-01-01T00:00Z", False),
     ("0002-01-01T00:00Z", True), ("0001-12-31T23:59Z", False)],
)
def test_check_instant_bounds(text: str, ok: bool) -> None:
    if ok:
        assert check_instant(t(text)) == t(text)
    else:
        with pytest.raises(InstantError):
            check_instant(t(text))
    assert EARLIEST <= LATEST


def test_a_replacer_is_dataclasses_replace() -> None:
    """``replacer(cls)`` gives what ``dataclasses.replace`` gives for every state of the
    measures, refuses a name that is no field as it does, and falls back to it for a class
    whose ``__init__`` is not its fields in order."""
    import dataclasses
    from datetime import UTC, datetime
    from typing import Any

    from csbm.procedures.attache_visit import AttacheState
    from csbm.procedures.base import replacer
    from csbm.procedures.hotline import HotlineState, Message
    from csbm.procedures.prior_notification import NotificationState
    from csbm.procedures.visit import VisitState

    at = datetime(2022, 1, 1, tzinfo=UTC)
    cases: list[tuple[Any, dict[str, Any]]] = [
        (NotificationState("c", state="PL"), {"invited_at": at, "state": None}),
        (HotlineState("c"), {"pair": ("PL", "LT"), "messages": ()}),
        (Message(1, at, "PL", "LT", "urgent", None), {"acked_at": at}),
        (VisitState("c"), {"host": "PL", "invited_at": at}),
        (AttacheState("c"), {"host": "PL"}),
    ]
    for obj, changes in cases:
        made = replacer(type(obj))
        assert made(obj, **changes) == dataclasses.replace(obj, **changes)
        assert made(obj) == obj and made(obj) is not obj
        with pytest.raises(TypeError):
            made(obj, no_such_field=1)

    @dataclasses.dataclass(frozen=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=2)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordsOnly:
        a: int
        cls: int = 0

    assert replacer(Derived) is dataclasses.replace
    assert replacer(KeywordsOnly) is dataclasses.replace
    assert replacer(KeywordsOnly)(KeywordsOnly(a=1), cls=3) == KeywordsOnly(a=1, cls=3)


def test_find_rule_as_the_plain_search_finds_it() -> None:
    """Context.find_rule (references made once per context, the parties' set only when a
    bilateral pack is met) finds what the plain search over the packs finds."""
    from datetime import date

    from csbm.procedures.base import ALL, Context, RuleRef
    from csbm.rules.loader import bundled_pack_ids, load_pack

    packs = tuple(load_pack(p) for p in bundled_pack_ids())
    ctx = Context(packs=packs)

    def plain(rule_id: str, parties: list[str] | None, on: date | None) -> RuleRef | None:
        wanted = frozenset(parties) if parties is not None else None
        found: RuleRef | None = None
        for pack in packs:
            for entry in pack.rules:
                if entry.id != rule_id or (on is not None and not pack.in_force_on(on)):
                    continue
                if pack.parties == ALL:
                    found = RuleRef(pack, entry)
                elif wanted is not None and frozenset(pack.parties) == wanted:
                    return RuleRef(pack, entry)
        return found

    ids = [*sorted({r.id for p in packs for r in p.rules}), "NO_SUCH_RULE"]
    pairs = [None, ["BY", "UA"], ["UA", "BY"], ["LT", "BY"], ["AT"]] + [
        list(p.parties) for p in packs if p.parties != ALL]
    days = [None, date(1995, 1, 1), date(2012, 6, 1), date(2021, 3, 4), date(2023, 1, 1)]
    for rule_id in ids:
        for parties in pairs:
            for on in days:
                assert ctx.find_rule(rule_id, parties, on) == plain(rule_id, parties, on)
                assert ctx.find_rule(rule_id, iter(parties) if parties else None, on) == plain(
                    rule_id, parties, on)
