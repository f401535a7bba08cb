"""Distances to common borders, checked against independent geodesic computations.

Two independent references for every figure: (1) brute force — the border densified to
~100 m steps and pyproj's ellipsoidal geodesic to every vertex, no projection at all; and
(2) PROJ's ellipsoidal azimuthal equidistant projection centred on the place, then planar
distance. Real places have approximate coordinates (stated with each); their plausibility
bounds are wide, the agreement with the references is tight.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

from csbm.geo import Boundaries, area_geometry, geodesic_km, named_place
from csbm.geo.distance import LocalAeqd, split_line

_GEOD = Geod(ellps="WGS84")


def _brute_force_km(border: BaseGeometry, lon: float, lat: float) -> float:
    dense = shapely.segmentize(border, 0.001)
    xy = shapely.get_coordinates(dense)
    _, _, metres = _GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return float(np.min(metres)) / 1000.0


def _proj_aeqd_km(border: BaseGeometry, lon: float, lat: float) -> float:
    crs = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m"
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def fwd(c: np.ndarray) -> np.ndarray:
        x, y = t.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    line = shapely.transform(border, fwd)
    return float(shapely.Point(0.0, 0.0).distance(line)) / 1000.0


# (name, lon, lat, States of the border, plausible range in km). Coordinates approximate
# (from general knowledge, ± a few km); ranges are generous on purpose.
PLACES = [
    ("synthetic point 20 km from BY-UA (examples/)", 27.0, 51.51, ("BY", "UA"), (19.0, 21.0)),
    ("Chernobyl NPP (approx. 51.389 N, 30.099 E)", 30.099, 51.389, ("BY", "UA"), (5.0, 20.0)),
    ("Brest Fortress on the Bug (approx.)", 23.654, 52.083, ("BY", "PL"), (0.0, 5.08)),
    ("Brest Fortress to the UA border (approx.)", 23.654, 52.083, ("BY", "UA"), (35.0, 70.0)),
    ("Brestsky range near Brest (approx.)", 23.80, 52.02, ("BY", "PL"), (0.0, 25.0)),
    ("Obuz-Lesnovsky range (approx. 52.98 N, 25.80 E)", 25.80, 52.98, ("BY", "UA"), (80.0, 150.0)),
    ("Obuz-Lesnovsky range to PL (approx.)", 25.80, 52.98, ("BY", "PL"), (110.0, 190.0)),
    ("Vilnius (approx.)", 25.28, 54.69, ("BY", "LT"), (20.0, 45.0)),
    ("Daugavpils (approx.)", 26.53, 55.87, ("BY", "LV"), (10.0, 45.0)),
    ("Uzhhorod on the Uzh (approx.)", 22.29, 48.62, ("SK", "UA"), (0.0, 6.0)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lon", "lat", "states", "plausible"), PLACES)
def test_distance_matches_independent_geodesics(
    boundaries: Boundaries,
    name: str,
    lon: float,
    lat: float,
    states: tuple[str, str],
    plausible: tuple[float, float],
) -> None:
    border = boundaries.common_border(*states)
    got = border.distance(area_geometry(named_place(name, lon, lat)))
    assert got is not None
    assert got.km == pytest.approx(_brute_force_km(border.line, lon, lat), abs=0.05)
    assert got.km == pytest.approx(_proj_aeqd_km(border.line, lon, lat), abs=0.1)
    low, high = plausible
    assert low <= got.km <= high, f"{name}: {got.km:.1f} km"


def test_the_reported_figure_is_the_geodesic_between_the_reported_points(
    boundaries: Boundaries,
) -> None:
    got = boundaries.distance_to_border(area_geometry(named_place("x", 27.0, 51.51)), "UA", "BY")
    assert got is not None
    assert got.km == pytest.approx(geodesic_km(*got.area_point, *got.target_point), abs=1e-9)
    # the border point lies on the border
    assert shapely.Point(got.target_point).distance(
        boundaries.common_border("BY", "UA").line
    ) < 1e-6


def test_not_degrees_as_km(boundaries: Boundaries) -> None:
    """At 52° N a degree of longitude is ~69 km: planar degree distance would be far off."""
    border = boundaries.common_border("BY", "PL")
    point = shapely.Point(25.80, 52.98)
    got = border.distance(point)
    assert got is not None
    naive_km = point.distance(border.line) * 111.32
    assert abs(naive_km - got.km) > 5.0


def test_a_polygon_area_measures_from_its_nearest_edge(boundaries: Boundaries) -> None:
    point = area_geometry(named_place("x", 27.0, 51.51))
    square = area_geometry(
        {
            "type": "Polygon",
            "coordinates": [
                [[26.9, 51.45], [27.1, 51.45], [27.1, 51.6], [26.9, 51.6], [26.9, 51.45]]
            ],
        }
    )
    border = boundaries.common_border("BY", "UA")
    d_point, d_square = border.distance(point), border.distance(square)
    assert d_point is not None and d_square is not None
    assert d_square.km < d_point.km
    lon, lat = d_square.area_point
    assert d_square.km == pytest.approx(_brute_force_km(border.line, lon, lat), abs=0.05)


def test_an_area_across_the_border_is_at_zero(boundaries: Boundaries) -> None:
    across = area_geometry(
        {"type": "LineString", "coordinates": [[27.0, 51.3], [27.0, 52.2]]}
    )
    got = boundaries.distance_to_border(across, "BY", "UA")
    assert got is not None and got.km == 0.0


def test_multipoint_area_takes_the_nearest_point(boundaries: Boundaries) -> None:
    pts = area_geometry({"type": "MultiPoint", "coordinates": [[27.0, 51.51], [30.52, 50.45]]})
    got = boundaries.distance_to_border(pts, "BY", "UA")
    assert got is not None and got.km == pytest.approx(20.0, abs=0.1)


def test_states_without_a_common_border_have_none(boundaries: Boundaries) -> None:
    border = boundaries.common_border("UA", "LT")
    assert not border.exists
    assert border.distance(shapely.Point(25.0, 54.0)) is None


def test_common_border_is_symmetric_and_a_line(boundaries: Boundaries) -> None:
    a = boundaries.common_border("BY", "UA")
    b = boundaries.common_border("UA", "BY")
    assert a is b
    assert a.line.geom_type == "MultiLineString"
    # the BY-UA border is about 1,080 km long; generalised at 1:10m it is shorter (~860)
    length_km = sum(
        _GEOD.line_length(*np.asarray(part.coords).T) for part in a.line.geoms
    ) / 1000.0
    assert 800.0 < length_km < 1100.0


def test_local_projection_round_trips() -> None:
    proj = LocalAeqd(27.0, 51.5)
    xy = proj.forward(np.array([[28.0, 52.0], [27.0, 51.5]]))
    assert xy[1].tolist() == [0.0, 0.0]
    lon, lat = proj.inverse(float(xy[0][0]), float(xy[0][1]))
    assert lon == pytest.approx(28.0, abs=1e-9) and lat == pytest.approx(52.0, abs=1e-9)
    # distance from the centre is the geodesic (within the sphere/ellipsoid difference)
    assert float(np.hypot(*xy[0])) / 1000.0 == pytest.approx(
        geodesic_km(27.0, 51.5, 28.0, 52.0), rel=2e-3
    )


def test_split_line_keeps_every_vertex() -> None:
    line = shapely.LineString([(float(i), 0.0) for i in range(100)])
    pieces = split_line(line, max_vertices=10)
    assert all(len(p.coords) <= 10 for p in pieces)
    assert shapely.line_merge(shapely.MultiLineString(pieces)).equals(line)
