"""Bilateral hotline: the acknowledgement time comes from the pair's pack, or is unknown."""

from __future__ import annotations

from pathlib import Path

from csbm.procedures.base import Context
from csbm.rules.loader import load_pack
from tests.procedures._events import bilateral_pack, ev, run, t

MSG = ev("2021-12-04T20:00Z", "hotline.message", "BY", "UA",
         body={"priority": "urgent", "subject": "helicopter near Nova Rudnia"})
ACK = ev("2021-12-04T21:30Z", "hotline.ack", "UA", "BY")


def test_no_bilateral_pack_means_unknown() -> None:
    result = run([MSG, ACK])
    (d,) = result.cases[0].deadlines
    assert d.status == "unknown" and d.met_at == t("2021-12-04T21:30Z")
    assert d.note is not None and "HOTLINE_ACK" in d.note
    assert result.cases[0].state == "acknowledged"


def test_pack_with_a_null_number_says_fill_in(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path, hotline="null")))
    (d,) = run([MSG], ctx).cases[0].deadlines
    assert d.status == "unknown" and d.pack == "test-by-ua"
    assert d.note is not None and "fill in from the agreement" in d.note


def test_pack_number_met_missed_and_late(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path, hotline="2")))
    (met,) = run([MSG, ACK], ctx).cases[0].deadlines
    assert (met.due, met.status) == (t("2021-12-04T22:00Z"), "met")
    (missed,) = run([MSG], ctx, at="2021-12-04T22:01Z").cases[0].deadlines
    assert missed.status == "missed" and missed.met_at is None
    late = ev("2021-12-05T01:00Z", "hotline.ack", "UA", "BY")
    (late_d,) = run([MSG, late], ctx).cases[0].deadlines
    assert late_d.status == "missed" and late_d.met_at == t("2021-12-05T01:00Z")


def test_pack_out_of_force_is_not_used(tmp_path: Path) -> None:
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path)))
    after = ev("2023-02-01T10:00Z", "hotline.message", "BY", "UA")
    (d,) = run([after], ctx).cases[0].deadlines
    assert d.status == "unknown" and d.pack is None


def test_wrong_ways() -> None:
    to_all = ev("2021-12-04T19:00Z", "hotline.message", "BY", "all")
    third = ev("2021-12-04T20:30Z", "hotline.message", "PL", "UA")
    ack_stranger = ev("2021-12-04T20:40Z", "hotline.ack", "PL", "BY")
    ack_own = ev("2021-12-04T20:50Z", "hotline.ack", "BY", "UA")
    ack_twice = ev("2021-12-04T22:00Z", "hotline.ack", "UA", "BY")
    result = run([to_all, MSG, third, ack_stranger, ack_own, ACK, ack_twice])
    assert [f.kind for f in result.findings] == [
        "refused", "not_a_party", "not_a_party", "out_of_sequence", "out_of_sequence"]


def test_ack_before_message_and_by_seq() -> None:
    early = ev("2021-12-04T19:00Z", "hotline.ack", "UA", "BY")
    second = ev("2021-12-04T20:10Z", "hotline.message", "BY", "UA", body={"priority": "routine"})
    ack_second = ev("2021-12-04T20:20Z", "hotline.ack", "UA", "BY", body={"of_seq": 2})
    result = run([early, MSG, second, ack_second])
    assert [f.kind for f in result.findings] == ["out_of_sequence"]
    shown = result.cases[0].details["messages"]
    assert [m["acked_at"] is not None for m in shown] == [False, True]
    assert result.cases[0].state == "awaiting_ack"
