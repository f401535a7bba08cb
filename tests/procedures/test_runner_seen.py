"""The runner's duplicate checks, whose body text is only made when all else matches.

Source: procedures.runner (an identical message received twice is kept once; a second
message with the same content is "duplicate of #seq; changes nothing"); issue 10's
performance constraint (the fingerprint of 10⁵ bodies is not made when nothing collides).
"""

from __future__ import annotations

from csbm.procedures.base import Event
from csbm.procedures.runner import Live
from tests.procedures._events import ev, numbered, run, vd

AT = "2022-03-01T10:00Z"


def _msg(priority: str = "urgent", at: str = AT) -> Event:
    return ev(at, "hotline.message", "LT", "BY", case="h1", body={"priority": priority})


def test_same_content_twice_is_a_duplicate_naming_the_first() -> None:
    result = run([_msg(), _msg()])
    history = result.case("h1").history
    assert [h.accepted for h in history] == [True, False]
    assert history[1].reason == "duplicate of message #0; changes nothing"


def test_a_different_body_with_all_else_equal_is_not_a_duplicate() -> None:
    result = run([_msg("urgent"), _msg("routine")])
    assert all(h.accepted for h in result.case("h1").history)
    assert not [f for f in result.findings if f.kind == "duplicate"]


def test_the_same_body_at_another_instant_is_not_a_duplicate() -> None:
    result = run([_msg(), _msg(at="2022-03-01T10:05Z")])
    assert all(h.accepted for h in result.case("h1").history)


def test_the_same_log_entry_received_twice_is_kept_once() -> None:
    live = Live(vd())
    first, second = numbered([_msg(), _msg("routine")])
    for event in (first, first, second, first):
        live.receive(event)
    assert live.count == 2
    assert [h.accepted for h in live.view().case("h1").history] == [True, True]


def test_the_same_content_at_another_log_position_is_received_and_refused() -> None:
    live = Live(vd())
    first, second = numbered([_msg(), _msg()])
    live.receive(first)
    live.receive(second)
    assert live.count == 2
    history = live.view().case("h1").history
    assert [h.accepted for h in history] == [True, False]


def test_three_of_the_same_content_each_name_the_first() -> None:
    """The messages kept under one fingerprint: one alone, then a list (runner._events)."""
    result = run([_msg(), _msg(), _msg(), _msg("routine"), _msg("routine")])
    history = result.case("h1").history
    assert [h.accepted for h in history] == [True, False, False, True, False]
    assert [h.reason for h in history if not h.accepted] == [
        "duplicate of message #0; changes nothing", "duplicate of message #0; changes nothing",
        "duplicate of message #3; changes nothing"]


def test_messages_of_one_log_position_told_apart_by_all_else() -> None:
    """Two different messages given the same ``seq`` are both taken; each, received again,
    is kept once (the messages taken are kept by ``seq``, one alone or a list)."""
    import dataclasses

    live = Live(vd())
    first = numbered([_msg()])[0]
    other = dataclasses.replace(first, at=first.at.replace(minute=7))
    third = dataclasses.replace(first, body={"priority": "routine"})
    for event in (first, other, third, other, first, third):
        live.receive(event)
    assert live.count == 3
    history = live.view().case("h1").history
    assert [h.accepted for h in history] == [True, True, True]
