"""The activity model's own readers: States (remembered lists) and instants (what was
assumed), read the same on the fast paths as on the slow ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from csbm.domain import activity as module
from csbm.domain.activity import Activity


def _activity(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "conducting_states": ["PL"], "host_state": "PL",
            "start": "2024-05-01T00:00:00Z", **fields}  # fmt: skip


def test_state_lists_read_in_upper_case_again_and_again() -> None:
    for _ in range(3):  # the second and third from the remembered lists
        a = Activity.model_validate(_activity(conducting_states=["by", "Ru"], host_state="by"))
        assert a.conducting_states == ("BY", "RU") and a.host_state == "BY"


@pytest.mark.parametrize(
    ("states", "reason"),
    [(["PL", "XX"], "'XX' is not an OSCE"), (["PL", "pl"], "a State is listed twice")],
)
def test_bad_state_lists_refused_every_time(states: list[str], reason: str) -> None:
    Activity.model_validate(_activity(conducting_states=["PL"]))
    for _ in range(2):
        with pytest.raises(ValidationError, match=reason):
            Activity.model_validate(_activity(conducting_states=states))


def test_remembered_lists_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_STATE_LISTS", {})
    monkeypatch.setattr(module, "_STATE_LISTS_KEPT", 2)
    lists = [["PL"], ["DE"], ["FR"], ["de", "pl"]]
    for states in lists * 2:
        a = Activity.model_validate(_activity(conducting_states=states))
        assert a.conducting_states == tuple(s.upper() for s in states)
    assert len(module._STATE_LISTS) == 2


def test_host_state_refused_with_its_value() -> None:
    with pytest.raises(ValidationError, match="'xx' is not an OSCE"):
        Activity.model_validate(_activity(host_state="xx"))


def test_instants_read_with_what_was_assumed_and_the_data_left_alone() -> None:
    plain = _activity(end="2024-05-03T12:00:00Z")
    kept = dict(plain)
    a = Activity.model_validate(plain)
    assert plain == kept
    assert a.start == datetime(2024, 5, 1, tzinfo=UTC) and a.start.tzinfo is UTC
    assert a.end == datetime(2024, 5, 3, 12, tzinfo=UTC) and a.assumed == ()
    bare = _activity(start="2024-05-01", end="2024-05-03T12:00:00Z", assumed=["given"])
    kept = dict(bare)
    b = Activity.model_validate(bare)
    assert bare == kept
    assert b.start == a.start and b.end == a.end
    assert b.assumed == ("given", "start: bare date 2024-05-01 read as 00:00 UTC")


@pytest.mark.parametrize(
    "start", ["2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01T25:00:00Z", 20240501]
)
def test_bad_instants_refused_on_the_field(start: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Activity.model_validate(_activity(start=start))
    assert caught.value.errors()[0]["loc"] == ("start",)


@pytest.mark.parametrize("text", [
    "2021-03-04T05:06:07Z", "2021-03-04T05:06:07.123456Z", "2021-03-04T05:06:07.000000Z",
    "1900-01-01T00:00:00.000001Z", "2199-12-31T23:59:59.999999Z", "2300-01-01T00:00:00.5Z",
    "2021-02-30T05:06:07.123456Z", "2021-03-04T05:06:07.12345aZ", "2021-03-04T25:06:07.123456Z",
    "2021-03-04 05:06:07.123456Z", "2021-03-04T05:06:07,123456Z", "2021-03-04T05:06:07.1234Z",
    "0999-03-04T05:06:07.123456Z", "2021-03-04T05:06:07.123456z",
])
def test_utc_text_reads_as_parse_instant(text: str) -> None:
    """The shortcut of activity instants (to the second or to the microsecond, ``Z``)
    gives what parse_instant gives, or leaves the text to it (None)."""
    from csbm.domain.activity import _utc_text
    from csbm.domain.time import InstantError, parse_instant

    quick = _utc_text(text)
    try:
        plain = parse_instant(text).at
    except InstantError:
        assert quick is None
        return
    assert quick is None or (quick == plain and quick.tzinfo is plain.tzinfo)
    if quick is None:
        return
    other = text[:-1] + "+00:00"  # the same activity, its instants read by parse_instant
    data = {"name": "x", "conducting_states": ["AT"], "host_state": "AT"}
    one = Activity.model_validate({**data, "start": text, "end": text})
    two = Activity.model_validate({**data, "start": other, "end": other})
    assert one == two and one.assumed == () and one.start.tzinfo is UTC
