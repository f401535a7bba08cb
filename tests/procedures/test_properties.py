"""Rebuilding from the log = following it live: any arrival order, re-deliveries included,
gives the same answer as replaying the events in time order (DESIGN.md principle 1)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from csbm.procedures.base import Event
from csbm.procedures.runner import Live, replay, result_json
from tests.procedures._events import ev, t, vd

START = t("2022-02-01T00:00Z")

# a pool of message templates over two Chapter III cases, a hotline and a yearly cycle,
# including ones that will be refused (a reply from a third State, a duplicate request)
TEMPLATES: list[tuple[str, str, str | list[str], str, dict[str, object]]] = [
    ("ch3.request", "LT", "BY", "a", {"on_behalf_of": ["LV", "EE"]}),
    ("ch3.reply", "BY", ["LT", "LV", "EE"], "a", {}),
    ("ch3.reply", "RU", "LT", "a", {}),
    ("ch3.reply_assessment", "LV", "BY", "a", {"satisfactory": False}),
    ("ch3.meeting_request", "LT", "all", "a", {"scope": "all"}),
    ("ch3.meeting", "PL", "all", "a", {"scope": "all", "attended": ["BY"]}),
    ("ch3.meeting_request", "EE", "all", "a", {"scope": "joint"}),
    ("ch3.request", "UA", "RU", "b", {}),
    ("ch3.request", "UA", "RU", "b", {"activity": "again"}),
    ("ch3.meeting_request", "UA", "all", "b", {"scope": "joint"}),
    ("hotline.message", "BY", "UA", "h", {"priority": "urgent"}),
    ("hotline.ack", "UA", "BY", "h", {}),
    ("hotline.message", "UA", "BY", "h", {"priority": "routine"}),
    ("aemi", "LT", "all", "", {"year": 2022, "units": 70}),
    ("aemi", "BY", "all", "", {"year": 2022, "nil": True}),
]


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    picks = draw(st.lists(st.tuples(st.integers(0, len(TEMPLATES) - 1),
                                    st.integers(0, 24 * 8)), min_size=1, max_size=14))
    out = []
    for seq, (index, hours) in enumerate(picks):
        kind, sender, to, case, body = TEMPLATES[index]
        at = START + timedelta(hours=hours)
        e = ev(at.isoformat(), kind, sender, to, case, dict(body), seq=seq)
        out.append(e)
    return out


@settings(max_examples=120, deadline=None)
@given(log=logs(), data=st.data())
def test_arrival_order_and_time_order_agree(log: list[Event], data: st.DataObject) -> None:
    arrival = data.draw(st.permutations(log))
    redelivered = data.draw(st.lists(st.sampled_from(log), max_size=3))
    clock = data.draw(st.sampled_from([None, START + timedelta(hours=60)]))
    live = Live(vd())
    for event in [*arrival, *redelivered]:
        live.receive(event)
    assert result_json(live.view(clock)) == result_json(replay(log, vd(), clock))


@settings(max_examples=40, deadline=None)
@given(log=logs())
def test_viewing_earlier_equals_replaying_the_prefix(log: list[Event]) -> None:
    clock = START + timedelta(hours=72)
    live = Live(vd())
    for event in log:
        live.receive(event)
    prefix = [e for e in log if e.at <= clock]
    assert result_json(live.view(clock)) == result_json(replay(prefix, vd(), clock))
