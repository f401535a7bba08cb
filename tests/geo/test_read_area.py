"""One area reader for `csbm assess` and the procedures (issue 8, item 7, "Geometry").

Each case is checked through the reader itself and through `csbm assess`'s path
(csbm.domain.activity_file.parse_activities); the replay path has its own file,
tests/procedures/test_inspection_area.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbm.domain.activity_file import parse_activities
from csbm.errors import InputError
from csbm.geo import Boundaries, ZoneOfApplication, area_geometry
from csbm.geo.areas import HEMISPHERE_KM2, Area, read_area
from csbm.geo.distance import GeodesicIndex, centre_of, geodesic_km, split_line

_OK = {
    "name": "Drill",
    "conducting_states": ["UA"],
    "host_state": "UA",
    "start": "2021-09-01T00:00:00Z",
    "end": "2021-09-05T00:00:00Z",
    "forces": {"troops": 4000},
}
SQUARE = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 51], [30, 50]]]}
# Chukotka, across the antimeridian: 179° E to 179° W, 68–68.5° N, the short way (2° wide)
ACROSS_180 = {
    "type": "Polygon",
    "coordinates": [[[179, 68], [-179, 68], [-179, 68.5], [179, 68.5], [179, 68]]],
}
# the same shape at the prime meridian (for the area)
AT_0 = {"type": "Polygon",
        "coordinates": [[[-1, 68], [1, 68], [1, 68.5], [-1, 68.5], [-1, 68]]]}
WHOLE_GLOBE = {
    "type": "Polygon",
    "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
}
BOWTIE = {"type": "Polygon", "coordinates": [[[30, 50], [32, 51], [32, 50], [30, 51], [30, 50]]]}
LEAKS = ("numpy", "ndarray", "GEOS", "shapely", "Traceback", "array(")


def _refused(area: Any, **kw: Any) -> tuple[str, str, Any]:
    with pytest.raises(InputError) as info:
        read_area(area, **kw)
    [problem] = info.value.problems
    for text in (problem.reason, str(problem.value), info.value.message):
        assert not any(leak in text for leak in LEAKS), text
    return problem.path, problem.reason, problem.value


def _assess_lines(area: Any) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_activities(json.dumps({"activities": [dict(_OK, area=area)]}))
    lines = info.value.lines()
    assert not any(leak in line for line in lines for leak in LEAKS), lines
    return lines


# ----------------------------------------------------------------------------- rings


UNCLOSED = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [31, 51], [30, 51]]]}


def test_an_unclosed_ring_is_refused_with_its_path() -> None:
    path, reason, _ = _refused(UNCLOSED)
    assert path == "area.coordinates[0]"
    assert "not closed" in reason


def test_assess_refuses_an_unclosed_ring_as_replay_does() -> None:
    """Before: `assess` closed the ring silently (shapely does), `replay` refused it."""
    [line] = _assess_lines(UNCLOSED)
    assert line.startswith("activities[0].area.coordinates[0]: the ring is not closed")


def test_an_unclosed_ring_in_a_multipolygon_names_polygon_and_ring() -> None:
    holes = [[30.2, 50.2], [30.4, 50.2], [30.4, 50.4], [30.2, 50.4]]  # not closed
    multi = {"type": "MultiPolygon",
             "coordinates": [SQUARE["coordinates"], [SQUARE["coordinates"][0], holes]]}
    path, reason, _ = _refused(multi)
    assert path == "area.coordinates[1][1]"
    assert "not closed" in reason


def test_a_ring_of_three_positions_is_refused() -> None:
    path, reason, value = _refused(
        {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [30, 50]]]}
    )
    assert (path, value) == ("area.coordinates[0]", 3)
    assert "at least 4 positions" in reason


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("coordinates", "path", "reason", "value"),
    [
        (["30", "50"], "area.coordinates", "the longitude must be a number, not text", "30"),
        ([30, "50"], "area.coordinates", "the latitude must be a number, not text", "50"),
        ([True, 50], "area.coordinates", "the longitude must be a number, not true/false",
         True),
        ([30, None], "area.coordinates", "the latitude must be a number, not null", None),
        ([30, 50, "high"], "area.coordinates", "the altitude must be a number", "high"),
        ([30], "area.coordinates", "a position is [longitude, latitude]", None),
        ([30, 50, 1, 2], "area.coordinates", "a position is [longitude, latitude]", None),
        ([200, 50], "area.coordinates", "longitude must be within -180..180", 200.0),
        ([30, -91], "area.coordinates", "latitude must be within -90..90", -91.0),
    ],
)
def test_positions_are_numbers_in_range(
    coordinates: list[Any], path: str, reason: str, value: Any
) -> None:
    got_path, got_reason, got_value = _refused({"type": "Point", "coordinates": coordinates})
    assert (got_path, got_value) == (path, value if value is not None else got_value)
    assert got_reason.startswith(reason)


def test_numbers_beyond_a_double_and_non_finite_numbers_are_refused_cleanly() -> None:
    """A 400-digit integer (Python reads it; a double cannot hold it) and NaN/Infinity
    (Python's json module reads them) are refused, never an OverflowError."""
    path, reason, value = _refused({"type": "Point", "coordinates": [10**400, 50]})
    assert (path, reason, value) == ("area.coordinates", "the longitude must be a finite "
                                     "number", "too large")
    polygon = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50, math.inf], [31, 51],
                                                   [30, 50]]]}
    path, reason, value = _refused(polygon)
    assert (path, reason, value) == ("area.coordinates[0][1]",
                                     "the altitude must be a finite number", "inf")
    _, reason, _ = _refused({"type": "MultiPoint", "coordinates": [[30, math.nan]]})
    assert reason == "the latitude must be a finite number"


def test_number_subclasses_from_callers_are_numbers() -> None:
    import numpy as np

    area = read_area({"type": "Polygon", "coordinates": [
        [[np.float64(30), 50], [31, 50], [31, np.float64(51)], [np.float64(30), 50]]]})
    assert area.km2 > 0


def test_string_coordinates_are_refused_by_assess_with_the_path() -> None:
    """Before: shapely read "30" as 30.0 and `assess` took the area."""
    polygon = {"type": "Polygon", "coordinates": [[["30", "50"], [31, 50], [31, 51],
                                                   ["30", "50"]]]}
    assert _assess_lines(polygon) == [
        "activities[0].area.coordinates[0][0]: the longitude must be a number, not text "
        "(got '30')"
    ]
    point = {"type": "Feature", "properties": {"name": "x"},
             "geometry": {"type": "Point", "coordinates": ["30", "50"]}}
    assert _assess_lines(point) == [
        "activities[0].area.geometry.coordinates: the longitude must be a number, not text "
        "(got '30')"
    ]


def test_boolean_coordinates_are_refused_by_assess() -> None:
    lines = _assess_lines({"type": "MultiPoint", "coordinates": [[30, 50], [True, False]]})
    assert lines == ["activities[0].area.coordinates[1]: the longitude must be a number, "
                     "not true/false (got True)"]


# ----------------------------------------------------------------------------- validity


def test_a_self_intersecting_polygon_is_refused_saying_where() -> None:
    path, reason, _ = _refused(BOWTIE)
    assert path == "area.coordinates"
    assert reason == "the polygon is not valid: it crosses itself at longitude 31, latitude 50.5"


def test_assess_refuses_a_self_intersecting_polygon() -> None:
    """Before: `assess` repaired the bow-tie silently into two triangles."""
    [line] = _assess_lines(BOWTIE)
    assert line == ("activities[0].area.coordinates: the polygon is not valid: it crosses "
                    "itself at longitude 31, latitude 50.5")


@pytest.mark.parametrize(
    ("rings", "words"),
    [
        ([[[30, 50], [31, 51], [32, 52], [30, 50]]], "crosses itself"),  # on a line
        ([[[30, 50], [30, 50], [30, 50], [30, 50]]], "no area"),
        ([SQUARE["coordinates"][0], [[40, 40], [41, 40], [41, 41], [40, 40]]],
         "a hole lies outside its exterior ring"),
    ],
)
def test_degenerate_polygons_are_refused(rings: list[Any], words: str) -> None:
    _, reason, _ = _refused({"type": "Polygon", "coordinates": rings})
    assert reason.startswith("the polygon is not valid: ")
    assert words in reason


def test_overlapping_parts_of_a_multipolygon_are_one_area() -> None:
    other = [[[30.5, 50], [31.5, 50], [31.5, 51], [30.5, 51], [30.5, 50]]]
    area = read_area({"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"], other]})
    assert area.geometry.is_valid
    assert area.km2 == pytest.approx(read_area(SQUARE).km2 * 1.5, rel=0.01)


# ----------------------------------------------------------------------------- antimeridian


def test_a_ring_across_the_antimeridian_goes_the_short_way() -> None:
    area = read_area(ACROSS_180)
    assert area.crosses_antimeridian
    assert area.geometry.is_valid
    assert area.geometry.geom_type == "MultiPolygon"  # cut in two (RFC 7946 §3.1.9)
    assert area.geometry.contains(shapely.Point(179.5, 68.2))
    assert area.geometry.contains(shapely.Point(-179.5, 68.2))
    assert not area.geometry.intersects(shapely.Point(60, 68.2))  # not round the globe
    assert area.km2 == pytest.approx(read_area(AT_0).km2, rel=1e-9)
    assert 4_500 < area.km2 < 4_700  # 2° x 0.5° at 68.25° N: ~82.6 km x ~55.7 km


def test_a_ring_across_the_antimeridian_is_placed_in_chukotka(
    zone: ZoneOfApplication,
) -> None:
    """Before: `assess` read the ring as a band round the globe and placed it in "Russia
    west of the Urals" (in the zone)."""
    verdict = zone.classify(ACROSS_180)
    assert verdict.inside is False
    assert "Russia east of the Urals" in verdict.reason


def test_the_distance_is_measured_across_the_antimeridian() -> None:
    """A line at 179.5° W and an area ending at 179.9° E are 0.6° of longitude apart."""
    # vertices every 0.01° (as a border's are): the projection picks the pair between them
    line = shapely.segmentize(shapely.LineString([(-179.5, 60.0), (-179.5, 70.0)]), 0.01)
    area = read_area({"type": "Polygon", "coordinates": [[[179.0, 65.0], [-179.9, 65.0],
                                                          [-179.9, 65.5], [179.0, 65.5],
                                                          [179.0, 65.0]]]}).geometry
    expected = _to_meridian_km(-179.9, 65.5, -179.5)  # from the north-east corner
    for direct_below in (10**6, 0):  # measured whole, and through the tree
        index = GeodesicIndex(split_line(line), direct_below=direct_below)
        nearest = index.nearest(area)
        assert nearest is not None
        assert nearest.km == pytest.approx(expected, abs=0.05)
    # the same area on the other side of the line, measured from 179.9° E
    west = read_area({"type": "Polygon", "coordinates": [[[179.0, 65.0], [179.9, 65.0],
                                                          [179.9, 65.5], [179.0, 65.5],
                                                          [179.0, 65.0]]]}).geometry
    far = GeodesicIndex(split_line(line), direct_below=0).nearest(west)
    assert far is not None
    assert far.km == pytest.approx(_to_meridian_km(179.9, 65.5, -179.5), abs=0.05)


def _to_meridian_km(lon: float, lat: float, meridian: float) -> float:
    """Brute force: the nearest of 10,001 points of the meridian between 60° and 70° N."""
    return min(geodesic_km(lon, lat, meridian, 60.0 + k / 1000.0) for k in range(10_001))


def test_the_centre_of_a_cut_area_is_on_the_antimeridian() -> None:
    lon, lat = centre_of(read_area(ACROSS_180).geometry)
    assert abs(abs(lon) - 180.0) < 1e-6
    assert lat == pytest.approx(68.25, abs=0.01)


def test_points_across_the_antimeridian_stay_where_they_are() -> None:
    area = read_area({"type": "MultiPoint", "coordinates": [[179.5, 65], [-179.5, 65]]})
    assert area.crosses_antimeridian
    assert sorted(p.x for p in area.geometry.geoms) == [-179.5, 179.5]
    assert area.km2 == 0.0


def test_an_rfc7946_cut_multipolygon_is_one_area() -> None:
    east = [[[179, 68], [180, 68], [180, 68.5], [179, 68.5], [179, 68]]]
    west = [[[-180, 68], [-179, 68], [-179, 68.5], [-180, 68.5], [-180, 68]]]
    area = read_area({"type": "MultiPolygon", "coordinates": [east, west]})
    assert area.crosses_antimeridian
    assert area.km2 == pytest.approx(read_area(ACROSS_180).km2, rel=1e-6)


def test_an_area_wider_than_180_degrees_either_way_is_refused() -> None:
    points = {"type": "MultiPoint", "coordinates": [[-170, 0], [-10, 0], [10, 0], [170, 0]]}
    path, reason, _ = _refused(points)
    assert path == "area"
    assert "more than 180° of longitude" in reason


# ----------------------------------------------------------------------------- size


def test_the_whole_globe_is_refused_not_measured_as_nothing() -> None:
    path, reason, _ = _refused(WHOLE_GLOBE)
    assert path == "area.coordinates"
    assert "whole globe" in reason
    assert "not an area of military activity" in reason
    [line] = _assess_lines(WHOLE_GLOBE)
    assert "whole globe" in line


def test_a_hemisphere_is_refused() -> None:
    hemisphere = {"type": "Polygon",
                  "coordinates": [[[0, -90], [180, -90], [180, 90], [0, 90], [0, -90]]]}
    _, reason, _ = _refused(hemisphere)
    assert "hemisphere or more" in reason


def test_a_large_area_under_a_hemisphere_is_measured() -> None:
    quarter = {"type": "Polygon", "coordinates": [[[0, 0], [90, 0], [90, 90], [0, 90], [0, 0]]]}
    area = read_area(quarter)
    # one eighth of the ellipsoid's surface
    assert area.km2 == pytest.approx(HEMISPHERE_KM2 / 4, rel=1e-3)


def test_a_small_area_is_the_geodesic_figure() -> None:
    km2 = read_area(SQUARE).km2
    # 1° x 1° at 50.5° N on WGS 84: ~111.2 km x ~70.9 km
    assert 7_800 < km2 < 7_950


# ----------------------------------------------------------------------------- structure


@pytest.mark.parametrize(
    ("area", "path", "words"),
    [
        ("nonsense", "area", "must be a GeoJSON object"),
        ({"type": "Circle", "coordinates": [0, 0]}, "area.type", "must be one of"),
        ({"type": "Polygon"}, "area", "needs 'coordinates'"),
        ({"type": "Feature", "geometry": None}, "area.geometry", "needs a geometry"),
        ({"type": "FeatureCollection", "features": [SQUARE]}, "area.features[0]",
         "holds Features"),
        ({"type": "FeatureCollection", "features": []}, "area", "no coordinates"),
        ({"type": "GeometryCollection", "geometries": "x"}, "area.geometries",
         "must be a list"),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "area.coordinates",
         "at least 2 positions"),
        ({"type": "Polygon", "coordinates": []}, "area.coordinates", "exterior ring"),
        ({"type": "MultiLineString", "coordinates": [[[0, 0], [0, 0], [0, 0]]]},
         "area.coordinates[0]", "2 distinct positions"),  # found by the fuzzer below
    ],
)
def test_structure_is_refused_with_its_path(area: Any, path: str, words: str) -> None:
    got_path, reason, _ = _refused(area)
    assert got_path == path
    assert words in reason


def test_polygons_only_refuses_points_and_collections() -> None:
    for area in ({"type": "Point", "coordinates": [30, 50]},
                 {"type": "FeatureCollection", "features": []}):
        _, reason, _ = _refused(area, polygons_only=True)
        assert "must be a Polygon or MultiPolygon" in reason
    assert read_area({"type": "Feature", "geometry": SQUARE}, polygons_only=True).km2 > 0


def test_area_geometry_keeps_its_signature() -> None:
    assert area_geometry(SQUARE).equals(shapely.box(30, 50, 31, 51))
    assert area_geometry(SQUARE, "x.area").equals(read_area(SQUARE).geometry)
    with pytest.raises(InputError) as info:
        area_geometry(UNCLOSED, "activities[2].area")
    assert info.value.problems[0].path == "activities[2].area.coordinates[0]"
    # a caller's own shapely geometry is range-checked only
    assert area_geometry(shapely.Point(30, 50)).equals(shapely.Point(30, 50))
    with pytest.raises(InputError):
        area_geometry(shapely.Point(200, 50))


def test_the_reader_is_consistent_with_the_assess_classifier(
    boundaries: Boundaries, zone: ZoneOfApplication
) -> None:
    """What assess places is what the reader returns (one reading for all)."""
    area = read_area(SQUARE)
    assert isinstance(area, Area)
    assert zone.classify(SQUARE) == zone.classify(area.geometry)
    assert boundaries.country("UA").intersects(area.geometry)


# ----------------------------------------------------------------------------- fuzz


_number = st.one_of(
    st.integers(-400, 400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 200),
    st.sampled_from([180, -180, 90, -90, 0, 179.9, -179.9]),
)
_scalar = st.one_of(_number, st.text(max_size=3), st.booleans(), st.none())
_position = st.one_of(st.lists(_number, min_size=2, max_size=3), st.lists(_scalar, max_size=4))
_ring = st.one_of(
    st.lists(_position, max_size=6),
    # closed rings, so that the geometry rules (not only the structure) are reached
    st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), min_size=3, max_size=6).map(
        lambda pts: [list(p) for p in pts] + [list(pts[0])]
    ),
)
_coords = st.one_of(_position, st.lists(_position, max_size=4), st.lists(_ring, max_size=3),
                    st.lists(st.lists(_ring, max_size=2), max_size=2), _scalar)
_types = st.sampled_from(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                          "MultiPolygon", "GeometryCollection", "Feature", "FeatureCollection",
                          "Nope"])
_geometry = st.fixed_dictionaries({"type": _types, "coordinates": _coords})
_geojson = st.recursive(
    _geometry,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"type": st.just("Feature"), "geometry": inner}),
        st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                               "features": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"type": st.just("GeometryCollection"),
                               "geometries": st.lists(inner, max_size=3)}),
        st.dictionaries(st.sampled_from(["type", "geometry", "features", "coordinates"]),
                        inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_geojson, st.booleans())
def test_fuzz_an_area_or_an_input_error(area: Any, polygons_only: bool) -> None:
    try:
        result = read_area(area, polygons_only=polygons_only)
    except InputError as exc:
        [problem] = exc.problems
        assert problem.path.startswith("area")
        assert problem.reason
        text = problem.line()
        assert not any(leak in text for leak in LEAKS), text
        return
    assert result.geometry.is_valid
    assert not result.geometry.is_empty
    minx, miny, maxx, maxy = result.geometry.bounds
    assert minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90
    assert math.isfinite(result.km2)
    assert 0 <= result.km2 < HEMISPHERE_KM2
