"""Bilateral attaché visits to drills: replies, with the time limit from the pair's pack."""

from __future__ import annotations

from pathlib import Path

from csbm.procedures.base import Context
from csbm.rules.loader import load_pack
from tests.procedures._events import bilateral_pack, ev, run, t

INVITE = ev("2021-09-01T09:00Z", "attache_visit.invitation", "BY", ["UA", "PL"],
            body={"activity": "drill", "starts": "2021-09-20", "places": 2})


def test_replies_with_and_without_a_pack(tmp_path: Path) -> None:
    reply = ev("2021-09-03T09:00Z", "attache_visit.reply", "UA", "BY", body={"accept": True})
    ctx = Context(packs=(load_pack("vd2011"), bilateral_pack(tmp_path, attache="7")))
    result = run([INVITE, reply], ctx, at="2021-09-10T00:00Z")
    by_state = {d.owed_by[0]: d for d in result.cases[0].deadlines}
    assert by_state["UA"].status == "met" and by_state["UA"].due == t("2021-09-08T09:00Z")
    assert by_state["PL"].status == "unknown"  # no BY–PL pack in the scenario
    assert result.cases[0].state == "invited"
    assert result.cases[0].details["awaiting_reply"] == ["PL"]


def test_wrong_ways() -> None:
    before = ev("2021-08-01T09:00Z", "attache_visit.reply", "UA", "BY", body={"accept": True})
    stranger = ev("2021-09-02T09:00Z", "attache_visit.reply", "RU", "BY", body={"accept": True})
    ok = ev("2021-09-02T10:00Z", "attache_visit.reply", "UA", "BY", body={"accept": False})
    twice = ev("2021-09-02T11:00Z", "attache_visit.reply", "UA", "BY", body={"accept": True})
    second = ev("2021-09-02T12:00Z", "attache_visit.invitation", "BY", "UA")
    result = run([before, INVITE, stranger, ok, twice, second])
    assert [f.kind for f in result.findings] == [
        "out_of_sequence", "not_a_party", "duplicate", "duplicate"]
    assert result.cases[0].details["declined"] == ["UA"]
