"""Reading activity files: every problem named with its path; no input crashes the loader."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbm.domain.activity_file import parse_activities
from csbm.errors import InputError

_OK = {
    "name": "Drill",
    "conducting_states": ["UA"],
    "host_state": "UA",
    "start": "2021-09-01T00:00:00Z",
    "end": "2021-09-05T00:00:00Z",
    "forces": {"troops": 4000},
}


def _lines(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_activities(text)
    return info.value.lines()


def test_one_activity_or_a_list() -> None:
    assert len(parse_activities(json.dumps(_OK))) == 1
    assert len(parse_activities(json.dumps({"activities": [_OK, dict(_OK, name="Other")]}))) == 2


def test_negative_troops_named_with_path() -> None:
    bad = dict(_OK, forces={"troops": -5})
    assert _lines(json.dumps({"activities": [bad]})) == [
        "activities[0].forces.troops: must be ≥ 0 (got -5)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    bad1 = dict(_OK, host_state="XX")
    bad2 = dict(_OK, name="B", end="2021-08-01T00:00:00Z")
    bad3 = {k: v for k, v in _OK.items() if k != "start"} | {"name": "C"}
    lines = _lines(json.dumps({"activities": [bad1, bad2, bad3]}))
    assert lines[0].startswith("activities[0].host_state: 'XX' is not an OSCE participating State")
    assert lines[1].startswith("activities[1]: end is before start")
    assert lines[2] == "activities[2].start: required"


def test_unknown_field_and_unknown_kind() -> None:
    lines = _lines(json.dumps(dict(_OK, tanks=5, kind="parade")))
    assert "tanks: unknown field (got 5)" in lines
    assert any(line.startswith("kind: must be one of") for line in lines)


def test_naive_time_refused_with_reason() -> None:
    assert _lines(json.dumps(dict(_OK, start="2021-09-01T10:00"))) == [
        "start: a date-time needs an offset (Z, +02:00) or a named zone (got '2021-09-01T10:00')"
    ]


def test_duplicate_name_and_duplicate_key() -> None:
    lines = _lines(json.dumps({"activities": [_OK, _OK]}))
    assert lines[0].startswith("activities[1].name: already used by activities[0]")
    assert "given twice" in _lines("name: a\nname: b\n")[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "5",
        "activities: 5",
        "activities: []",
        "activities: [1]",
        "{a: [",
        "activities: [{}]\nx: 1",
    ],
)
def test_malformed_files(text: str) -> None:
    assert _lines(text)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_text_never_crashes(text: str) -> None:
    try:
        parse_activities(text)
    except InputError as exc:
        assert exc.lines()


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*sorted(_OK), "kind", "declarations", "phases", "x"]), _json, max_size=8
    )
)
def test_fuzz_structures_never_crash(fields: dict[str, object]) -> None:
    candidate = dict(_OK) | fields
    try:
        parse_activities(json.dumps({"activities": [candidate]}, default=str))
    except InputError as exc:
        assert all(line for line in exc.lines())


def test_bad_area_coordinates_named_with_the_activity_path() -> None:
    bad = dict(_OK, area={"type": "Point", "coordinates": [200, 50]})
    lines = _lines(json.dumps({"activities": [_OK | {"name": "Fine"}, bad]}))
    assert lines == [
        "activities[1].area.coordinates: longitude must be within -180..180 (got 200.0)"
    ]
