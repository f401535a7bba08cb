"""The inspection's specified area read by the one area reader (issue 8, item 7).

`csbm replay` reads a scenario (csbm.procedures.scenario.parse_scenario), validates each
body (InspectionRequestBody) and measures the area (area_km2). The rules are those
`csbm assess` applies (csbm.geo.areas.read_area; tests/geo/test_read_area.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.procedures.inspection import area_km2, polygons_of, specified_area
from csbm.procedures.runner import replay
from csbm.procedures.scenario import parse_scenario

SQUARE = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 51], [30, 50]]]}
LEAKS = ("numpy", "ndarray", "GEOS", "shapely", "Traceback", "array(")


def _scenario_text(area: Any) -> str:
    body = {"receiving_state": "RU", "area": area, "reasons": "notifiable activity suspected"}
    return json.dumps({"regime": ["vd2011"], "events": [
        {"at": "2015-03-01T09:00Z", "type": "inspection.request", "from": "DE", "to": "all",
         "case": "i1", "body": body}]})


def _refused(area: Any) -> str:
    """The one line `csbm replay` prints for the scenario (path and reason)."""
    with pytest.raises(InputError) as info:
        parse_scenario(_scenario_text(area))
    [line] = info.value.lines()
    assert line.startswith("events[0].body.area: "), line
    assert not any(leak in line for leak in LEAKS), line
    return line.removeprefix("events[0].body.area: ")


def _km2(area: Any) -> float:
    sc = parse_scenario(_scenario_text(area))
    result = replay(sc.events, sc.context, None)
    value = result.case("i1").details["area_km2"]
    assert isinstance(value, float)
    return value


def test_a_self_intersecting_area_is_refused_not_measured_as_nothing() -> None:
    """Before: a bow-tie was measured as 0.0 km² (its two lobes cancel)."""
    bowtie = {"type": "Polygon",
              "coordinates": [[[30, 50], [32, 51], [32, 50], [30, 51], [30, 50]]]}
    assert _refused(bowtie) == ("coordinates: the polygon is not valid: it crosses itself at "
                                "longitude 31, latitude 50.5")


def test_the_whole_globe_is_refused_not_measured_as_nothing() -> None:
    """Before: measured as 0.0 km² (the ring runs along one meridian and back)."""
    globe = {"type": "Polygon",
             "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}
    reason = _refused(globe)
    assert reason.startswith("coordinates: the ring goes round the whole globe")
    assert "not an area of military activity" in reason


def test_a_hemisphere_is_refused() -> None:
    """Before: measured as 255,032,811 km²."""
    hemisphere = {"type": "Polygon",
                  "coordinates": [[[0, -90], [180, -90], [180, 90], [0, 90], [0, -90]]]}
    assert "covers a hemisphere or more" in _refused(hemisphere)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ({"type": "Polygon", "coordinates": [[["30", "50"], [31, 50], [31, 51], ["30", "50"]]]},
         "coordinates[0][0]: the longitude must be a number, not text (got '30')"),
        ({"type": "Polygon", "coordinates": [[[30, "50"], [31, 50], [31, 51], [30, "50"]]]},
         "coordinates[0][0]: the latitude must be a number, not text (got '50')"),
        ({"type": "Polygon", "coordinates": [[[30, 50], [True, 50], [31, 51], [30, 50]]]},
         "coordinates[0][1]: the longitude must be a number, not true/false (got True)"),
        ({"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[30, 50], [31, 50], [31, 51], [30, 51]]]]}},
         "geometry.coordinates[0][0]: the ring is not closed: its first and last positions "
         "differ (RFC 7946 §3.1.6)"),
        ({"type": "MultiPoint", "coordinates": [[30, 50]]},
         "type: the specified area must be a Polygon or MultiPolygon, or a Feature holding "
         "one (got 'MultiPoint')"),
    ],
)
def test_bad_areas_are_refused_naming_the_member(area: Any, expected: str) -> None:
    assert _refused(area) == expected


def test_a_ring_across_the_antimeridian_is_measured_the_short_way() -> None:
    across = {"type": "Polygon",
              "coordinates": [[[179, 68], [-179, 68], [-179, 68.5], [179, 68.5], [179, 68]]]}
    at_0 = {"type": "Polygon",
            "coordinates": [[[-1, 68], [1, 68], [1, 68.5], [-1, 68.5], [-1, 68]]]}
    assert _km2(across) == _km2(at_0)
    assert 4_500 < _km2(across) < 4_700
    assert specified_area(across).crosses_antimeridian


def test_overlapping_polygons_are_measured_once() -> None:
    """Before: the two polygons' areas were added (the overlap counted twice)."""
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"],
                                                     SQUARE["coordinates"]]}
    assert area_km2(multi) == area_km2(SQUARE)


def test_a_hole_is_taken_out() -> None:
    hole = [[30.25, 50.25], [30.25, 50.75], [30.75, 50.75], [30.75, 50.25], [30.25, 50.25]]
    with_hole = {"type": "Polygon", "coordinates": [SQUARE["coordinates"][0], hole]}
    assert area_km2(with_hole) == pytest.approx(area_km2(SQUARE) * 0.75, rel=0.01)


def test_polygons_of_returns_the_rings_as_given() -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": SQUARE}
    assert polygons_of(feature) == [SQUARE["coordinates"]]
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}
    assert polygons_of(multi) == [SQUARE["coordinates"]]
    with pytest.raises(ValueError, match="not closed"):
        polygons_of({"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51],
                                                         [30, 51]]]})


def test_the_request_body_measures_its_area_once_and_as_area_km2_does() -> None:
    """The body is measured while it is validated (its area read once); the figure is
    area_km2's, for the body validated alone, in a batch, or copied."""
    from csbm.procedures.inspection import InspectionRequestBody

    areas = [{"type": "Polygon", "coordinates": [[[20 + i, 50], [20.5 + i, 50],
                                                  [20.5 + i, 50.2 + 0.3 * i], [20 + i, 50]]]}
             for i in range(3)]
    bodies = [InspectionRequestBody.model_validate(
        {"receiving_state": "BY", "area": a, "reasons": "r"}) for a in areas]
    for body, area in zip(bodies, areas, strict=True):
        assert body.km2() == area_km2(area) > 0
        assert body.model_copy().km2() == body.km2()
    assert len({b.km2() for b in bodies}) == 3  # each its own figure, not the last read
    built = InspectionRequestBody.model_construct(receiving_state="BY", area=areas[0],
                                                  reasons="r")  # fmt: skip
    assert built.km2() == area_km2(areas[0])  # not validated: measured when asked
