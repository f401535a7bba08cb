"""Activity areas: GeoJSON geometries, Features, collections, named places; bad input."""

from __future__ import annotations

import pytest
import shapely

from csbm.errors import InputError
from csbm.geo import area_geometry, named_place, place_name


def test_named_place_is_a_point_feature() -> None:
    place = named_place("Obuz-Lesnovsky (approx.)", 25.80, 52.98)
    assert place_name(place) == "Obuz-Lesnovsky (approx.)"
    assert area_geometry(place).equals(shapely.Point(25.80, 52.98))


def test_geometry_feature_and_collection() -> None:
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert area_geometry(poly).geom_type == "Polygon"
    assert area_geometry({"type": "Feature", "properties": {}, "geometry": poly}).area > 0
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": poly}, named_place("p", 3, 3)],
    }
    assert len(area_geometry(fc).geoms) == 2
    assert place_name(poly) is None


@pytest.mark.parametrize(
    ("area", "path"),
    [
        ({"type": "Point", "coordinates": [200.0, 50.0]}, "area.coordinates"),
        ({"type": "Point", "coordinates": [20.0, 95.0]}, "area.coordinates"),
        ({"type": "Feature", "properties": {}, "geometry": None}, "area.geometry"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "area.coordinates"),
        ({"type": "Point", "coordinates": []}, "area.coordinates"),
    ],
)
def test_bad_areas_are_refused_with_the_field(area: dict[str, object], path: str) -> None:
    with pytest.raises(InputError) as err:
        area_geometry(area)
    assert err.value.problems[0].path == path


def test_latitude_longitude_swap_is_caught() -> None:
    """A (lat, lon) pair for Minsk puts the latitude 53.9 where longitude goes: fine; but a
    place far north gives a latitude over 90 and is refused."""
    with pytest.raises(InputError):
        area_geometry({"type": "Point", "coordinates": [78.2, 155.6]})
