"""An activity's area as geometry: a GeoJSON polygon, points, or a named place.

The area of a notified activity (VD 2011 ¶~42, block C, "area of the activity delimited by
geographic features and/or geographic coordinates"; digest §7.3) arrives as GeoJSON
(RFC 7946): a geometry, a Feature or a FeatureCollection. A named place is a Feature whose
``properties.name`` names it and whose geometry is a Point. Coordinates are longitude,
latitude in WGS 84 (RFC 7946 §3.1.1, §4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from csbm.errors import InputError, Problem

__all__ = ["area_geometry", "named_place", "place_name"]


def named_place(name: str, lon: float, lat: float) -> dict[str, Any]:
    """A GeoJSON Feature for a named place (a range, a town, a border crossing)."""
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def place_name(area: Mapping[str, Any] | None) -> str | None:
    """The name of a named-place area, if it is one."""
    if not area or area.get("type") != "Feature":
        return None
    props = area.get("properties") or {}
    name = props.get("name")
    return str(name) if name is not None else None


def area_geometry(area: Mapping[str, Any] | BaseGeometry, path: str = "area") -> BaseGeometry:
    """The area as a shapely geometry in lon/lat; InputError naming the bad field."""
    geom = area if isinstance(area, BaseGeometry) else _from_geojson(area, path)
    if geom.is_empty:
        raise InputError("the area is empty", [Problem(path, "the area has no coordinates")])
    coords = shapely.get_coordinates(geom)
    for x, y in coords:
        if not (math.isfinite(x) and math.isfinite(y)) or not -180 <= x <= 180:
            raise InputError(
                "the area's coordinates are not longitude, latitude",
                [Problem(f"{path}.coordinates", "longitude must be within -180..180", float(x))],
            )
        if not -90 <= y <= 90:
            raise InputError(
                "the area's coordinates are not longitude, latitude",
                [Problem(f"{path}.coordinates", "latitude must be within -90..90", float(y))],
            )
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _from_geojson(area: Mapping[str, Any], path: str) -> BaseGeometry:
    kind = area.get("type")
    if kind == "Feature":
        if area.get("geometry") is None:
            raise InputError("a Feature without geometry", [Problem(f"{path}.geometry", "missing")])
        return _from_geojson(area["geometry"], f"{path}.geometry")
    if kind == "FeatureCollection":
        parts = [
            _from_geojson(f, f"{path}.features[{i}]")
            for i, f in enumerate(area.get("features") or [])
        ]
        return shapely.GeometryCollection(parts)
    try:
        return shape(area)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputError(
            "the area is not a GeoJSON geometry", [Problem(path, f"not GeoJSON: {exc}", kind)]
        ) from None
