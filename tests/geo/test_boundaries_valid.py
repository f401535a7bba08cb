"""The decoded borders are valid geometries and hold the places they should (issue 8, item 7).

Natural Earth's rings are drawn on the sphere: world-atlas keeps Russia's and Fiji's rings
uncut across the antimeridian (a step of ~360° of longitude), and the quantized topology
lets a few parts of Canada and Japan overlap or share an edge. Read in the plane the old
decoder left Russia and Canada invalid and Chukotka outside Russia.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from csbm.errors import InputError
from csbm.geo import Boundaries, _topojson, load_boundaries
from csbm.geo.distance import geodesic_km


def test_every_decoded_geometry_is_valid(boundaries: Boundaries) -> None:
    units = {**boundaries.countries, **boundaries.others}
    invalid = {k: shapely.is_valid_reason(g) for k, g in units.items() if not g.is_valid}
    assert invalid == {}
    # and nothing leaves the longitude range (pieces beyond 180° were cut and moved back)
    for key, geom in units.items():
        if geom.is_empty:  # the Vatican is below the 1:10m quantization
            continue
        minx, _, maxx, _ = geom.bounds
        assert minx >= -180.0, key
        assert maxx <= 180.0, key


@pytest.mark.parametrize(
    ("code", "lon", "lat", "where"),
    [
        ("RU", 175.0, 66.0, "Chukotka, inland west of 180°"),
        ("RU", 178.0, 68.0, "Chukotka, near the antimeridian"),
        ("RU", 179.5, 68.5, "Chukotka, just west of 180°"),
        ("RU", -179.5, 68.5, "Chukotka, just east of 180°"),
        ("RU", -173.0, 65.5, "Chukotka, Provideniya district"),
        ("RU", 20.5, 54.7, "Kaliningrad"),
        ("RU", 37.6, 55.75, "Moscow"),
        ("CA", -135.05, 60.72, "Whitehorse, Yukon"),
        ("CA", -137.0, 63.0, "Yukon, inland"),
        ("CA", -75.7, 45.4, "Ottawa"),
    ],
)
def test_known_places_are_inside_their_country(
    boundaries: Boundaries, code: str, lon: float, lat: float, where: str
) -> None:
    assert boundaries.country(code).contains(shapely.Point(lon, lat)), where


def test_anadyr_is_within_the_dataset_tolerance_of_russia(boundaries: Boundaries) -> None:
    """Anadyr (177.5° E, 64.7° N) sits on its estuary: at 1:10m the point is in the water,
    a few km off the coast, inside the dataset's 5.08 km tolerance (the points above are
    the ones that tell the old decoder from the new)."""
    russia = boundaries.country("RU")
    point = shapely.Point(177.5, 64.7)
    (x, y), _ = shapely.shortest_line(russia, point).coords
    assert geodesic_km(x, y, 177.5, 64.7) < boundaries.tolerance_km


def test_a_ring_across_the_antimeridian_is_cut_in_two() -> None:
    """A square from 179° E to 179° W, drawn as the sphere has it (one step of -358°)."""
    ring = np.array([[179.0, 10.0], [-179.0, 10.0], [-179.0, 11.0], [179.0, 11.0],
                     [179.0, 10.0]])  # fmt: skip
    arcs = _topojson.Arcs([ring])
    arcs.crossing = frozenset({0})
    geom = _topojson.geometry(arcs, {"type": "Polygon", "arcs": [[0]]})
    assert geom.is_valid
    assert geom.geom_type == "MultiPolygon"
    assert geom.area == pytest.approx(2.0)  # two 1°x1° halves, not a 358°-wide band
    assert geom.contains(shapely.Point(179.5, 10.5))
    assert geom.contains(shapely.Point(-179.5, 10.5))
    assert not geom.intersects(shapely.Point(0.0, 10.5))


def test_crossing_arcs_are_found_without_the_attribute() -> None:
    ring = np.array([[179.0, 10.0], [-179.0, 10.0], [-179.0, 11.0], [179.0, 11.0],
                     [179.0, 10.0]])  # fmt: skip
    geom = _topojson.geometry([ring], {"type": "Polygon", "arcs": [[0]]})
    assert geom.area == pytest.approx(2.0)


def test_overlapping_parts_are_merged_into_a_valid_multipolygon() -> None:
    a = shapely.box(0, 0, 2, 2)
    b = shapely.box(1, 1, 3, 3)  # interiors overlap
    c = shapely.box(2, 3, 4, 4)  # shares an edge with b
    d = shapely.box(10, 10, 11, 11)  # apart
    e = shapely.box(11, 11, 12, 12)  # touches d at a point only: allowed
    assert not shapely.MultiPolygon([a, b, c, d, e]).is_valid
    merged = _topojson.valid_multipolygon([a, b, c, d, e])
    assert merged.is_valid
    assert len(merged.geoms) == 3
    assert merged.area == pytest.approx(shapely.union_all([a, b, c, d, e]).area)


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[0, 0, 0, 0, 0], [1, 1], [1, 0], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
        {"type": "Polygon", "coordinates": "nonsense"},
        {"type": "Polygon"},
        None,
    ],
)
def test_a_deployment_file_with_a_bad_geometry_gives_one_clean_line(
    tmp_path: Path, geometry: object
) -> None:
    """Before: the reason carried numpy's own text ("setting an array element with a
    sequence. The requested array has an inhomogeneous shape ...")."""
    path = tmp_path / "borders.geojson"
    feature = {"type": "Feature", "properties": {"iso_a2": "BY"}, "geometry": geometry}
    path.write_text(json.dumps({"type": "FeatureCollection", "tolerance_km": 1,
                                "features": [feature]}), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_boundaries(path)
    [line] = info.value.lines()
    assert line.startswith("features[0].geometry: not a GeoJSON geometry (type and "
                           "coordinates, RFC 7946 §3.1)")
    assert not any(leak in line for leak in ("array", "numpy", "linearring", "convert")), line


def test_a_deployment_file_with_a_self_intersecting_border_is_repaired(tmp_path: Path) -> None:
    bowtie = {"type": "Polygon",
              "coordinates": [[[20, 50], [22, 51], [22, 50], [20, 51], [20, 50]]]}
    path = tmp_path / "borders.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "tolerance_km": 1, "features": [
        {"type": "Feature", "properties": {"iso_a2": "BY"}, "geometry": bowtie}]}),
        encoding="utf-8")
    belarus = load_boundaries(path).country("BY")
    assert belarus.is_valid
    assert belarus.geom_type == "MultiPolygon"  # polygonal, both lobes kept
    assert belarus.area == pytest.approx(1.0)
