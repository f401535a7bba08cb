"""An area as geometry: one reader for activity areas and inspection areas (issue 8, item 7).

The area of a notified activity (VD 2011 ¶~42, block C, "area of the activity delimited by
geographic features and/or geographic coordinates"; digest §7.3) and the specified area of
an inspection (VD 2011 Chapter IX; digest IX-I7) arrive as GeoJSON (RFC 7946): a geometry,
a Feature or a FeatureCollection. A named place is a Feature whose ``properties.name``
names it and whose geometry is a Point. :func:`read_area` is the one reader both
``csbm assess`` (via :func:`area_geometry`) and the procedures use; its rules, once:

1. **Structure** (RFC 7946 §3.1): Point, MultiPoint, LineString, MultiLineString, Polygon,
   MultiPolygon, GeometryCollection, Feature (its ``geometry``), FeatureCollection (its
   ``features``). A position is ``[longitude, latitude]`` or with an altitude (§3.1.1),
   each a finite number — text (``"30"``) and ``true``/``false`` are refused —, longitude
   within -180..180 and latitude within -90..90 (WGS 84, §4). A linear ring has at least
   four positions and is closed: its first and last positions are the same (§3.1.6).
   Every refusal names the path of the offending member (``area.coordinates[0][3]``).
2. **Antimeridian** (§3.1.9): an area whose longitudes span more than 180° is read as
   crossing the antimeridian, the short way (``[179, …]`` to ``[-179, …]`` is 2° wide, not
   358°). An area that is wider than 180° of longitude either way (a band round the
   globe) is refused. The geometry is returned cut at the antimeridian, each piece in
   -180..180, as §3.1.9 asks; placement (csbm.geo.zone), distance (csbm.geo.distance) and
   area all use that one reading.
3. **Validity**: each polygon must be valid (OGC Simple Features §6.1.11): a ring that
   crosses itself or another, a hole outside its shell, a polygon with no area are refused
   with GEOS's reason and where (``self-intersection at lon 30.5, lat 50.5``). The polygons
   of a MultiPolygon (or collection) may overlap: their union is the area.
4. **Size**: an area covering a hemisphere or more is refused — it is not an area of
   military activity (and a ring is ambiguous at that size: on the sphere it bounds two
   regions, RFC 7946 §3.1.6). A ring drawn round the whole globe in longitude is refused
   for the same reason.
5. **Area** (``Area.km2``): the geodesic area on the WGS 84 ellipsoid (Karney's algorithm,
   ``pyproj.Geod``) of the union of the polygons, with edges of more than 1° densified
   along the longitude/latitude plane so that the figure measures the region that
   placement tests (edges of an inspection area are far shorter: there it is the geodesic
   polygon). Points and lines have no area (0 km²).

Pure: no I/O; errors are :class:`csbm.errors.InputError` with one :class:`Problem`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from csbm.errors import InputError, Problem
from csbm.geo._topojson import split_antimeridian

__all__ = [
    "GEOMETRY_TYPES",
    "HEMISPHERE_KM2",
    "Area",
    "area_geometry",
    "named_place",
    "place_name",
    "read_area",
]

GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
_TYPES = (*GEOMETRY_TYPES, "Feature", "FeatureCollection")
_POLYGONAL = ("Polygon", "MultiPolygon")
_GEOD = Geod(ellps="WGS84")
# half the surface of the WGS 84 ellipsoid (4 pi R_authalic^2 / 2 = 510,065,622 km^2 / 2)
HEMISPHERE_KM2 = 255_032_811.0
_DENSIFY_DEG = 1.0
_MAX_DEPTH = 16  # GeometryCollection / FeatureCollection nesting
_REFUSED = "the area is not a valid GeoJSON area"


class _Refused(Exception):
    def __init__(self, path: str, reason: str, value: Any = None) -> None:
        super().__init__(reason)
        self.problem = Problem(path, reason, value)


@dataclass(frozen=True)
class Area:
    """An area read by :func:`read_area`.

    ``geometry`` is in longitude/latitude, cut at the antimeridian (every piece within
    -180..180); ``crosses_antimeridian`` says it was; ``km2`` is the geodesic area of its
    polygons (0 for points and lines), computed on first use.
    """

    geometry: BaseGeometry
    crosses_antimeridian: bool
    _polygons: tuple[shapely.Polygon, ...] = field(default=(), repr=False, compare=False)

    @cached_property
    def km2(self) -> float:
        return _geodesic_km2(self._polygons)


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
    name = props.get("name") if isinstance(props, Mapping) else None
    return str(name) if name is not None else None


def read_area(area: Any, path: str = "area", *, polygons_only: bool = False) -> Area:
    """The area under the rules of the module doc; InputError naming the bad member.

    ``polygons_only``: only a Polygon or MultiPolygon (or a Feature holding one) is an
    area — an inspection's specified area (digest IX-I7).
    """
    try:
        parts: list[_Part] = []
        _collect(area, path, parts, polygons_only, 0)
        if not parts:
            raise _Refused(path, "the area has no coordinates")
        return _build(parts, path)
    except _Refused as exc:
        raise InputError(_REFUSED, [exc.problem]) from None


def area_geometry(area: Mapping[str, Any] | BaseGeometry, path: str = "area") -> BaseGeometry:
    """The area as a shapely geometry in lon/lat (:func:`read_area`'s ``geometry``).

    A shapely geometry (a caller's own, already in lon/lat) is checked for its range only.
    """
    if isinstance(area, BaseGeometry):
        return _checked_geometry(area, path)
    return read_area(area, path).geometry


# ----------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class _Part:
    kind: str  # "point", "line" or "polygon"
    rings: tuple[NDArray[np.float64], ...]  # one array for a point or a line
    path: str


def _collect(obj: Any, path: str, out: list[_Part], polygons_only: bool, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _Refused(path, f"nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(obj, Mapping):
        raise _Refused(path, "must be a GeoJSON object (a mapping with a 'type')", _short(obj))
    kind = obj.get("type")
    allowed = ("Feature", *_POLYGONAL) if polygons_only else _TYPES
    if kind not in allowed:
        if polygons_only:
            reason = ("the specified area must be a Polygon or MultiPolygon, or a Feature "
                      "holding one")
        else:
            reason = f"GeoJSON 'type' must be one of {', '.join(_TYPES)}"
        raise _Refused(f"{path}.type" if "type" in obj else path, reason, _short(kind))
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            raise _Refused(f"{path}.geometry", "a Feature needs a geometry")
        if isinstance(geometry, Mapping) and geometry.get("type") in ("Feature",
                                                                      "FeatureCollection"):
            raise _Refused(f"{path}.geometry.type", "a Feature's geometry is a geometry",
                           geometry.get("type"))
        _collect(geometry, f"{path}.geometry", out, polygons_only, depth + 1)
        return
    if kind in ("FeatureCollection", "GeometryCollection"):
        member = "features" if kind == "FeatureCollection" else "geometries"
        items = obj.get(member)
        if not isinstance(items, list):
            raise _Refused(f"{path}.{member}", "must be a list", _short(items))
        for i, item in enumerate(items):
            where = f"{path}.{member}[{i}]"
            if kind == "FeatureCollection" and (
                not isinstance(item, Mapping) or item.get("type") != "Feature"
            ):
                raise _Refused(where, "a FeatureCollection holds Features",
                               _short(item.get("type") if isinstance(item, Mapping) else item))
            _collect(item, where, out, polygons_only, depth + 1)
        return
    if "coordinates" not in obj:
        raise _Refused(path, "a GeoJSON geometry needs 'coordinates'")
    coords = obj["coordinates"]
    where = f"{path}.coordinates"
    if kind == "Point":
        out.append(_Part("point", (np.array([_check_position(coords, where)]),), where))
    elif kind == "MultiPoint":
        for i, pos in enumerate(_list(coords, where)):
            at = f"{where}[{i}]"
            out.append(_Part("point", (_positions([pos], at, indexed=False),), at))
    elif kind == "LineString":
        out.append(_Part("line", (_line(coords, where),), where))
    elif kind == "MultiLineString":
        for i, line in enumerate(_list(coords, where)):
            out.append(_Part("line", (_line(line, f"{where}[{i}]"),), f"{where}[{i}]"))
    elif kind == "Polygon":
        out.append(_Part("polygon", _polygon(coords, where), where))
    else:  # MultiPolygon
        for i, polygon in enumerate(_list(coords, where)):
            out.append(_Part("polygon", _polygon(polygon, f"{where}[{i}]"), f"{where}[{i}]"))


def _short(value: Any) -> Any:
    """A value fit to show in a message: scalars as given, containers by their kind."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return type(value).__name__


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _Refused(path, "must be a list", _short(value))
    return list(value)


def _line(coords: Any, path: str) -> NDArray[np.float64]:
    positions = _list(coords, path)
    if len(positions) < 2:
        raise _Refused(path, "a line needs at least 2 positions (RFC 7946 §3.1.4)")
    xy = _positions(positions, path)
    if bool((xy == xy[0]).all()):
        raise _Refused(path, "a line needs at least 2 distinct positions (RFC 7946 §3.1.4)")
    return xy


def _polygon(coords: Any, path: str) -> tuple[NDArray[np.float64], ...]:
    rings = _list(coords, path)
    if not rings:
        raise _Refused(path, "a polygon needs its exterior ring")
    out: list[NDArray[np.float64]] = []
    for k, ring in enumerate(rings):
        where = f"{path}[{k}]"
        positions = _list(ring, where)
        if len(positions) < 4:
            raise _Refused(where, "a linear ring needs at least 4 positions (RFC 7946 §3.1.6)",
                           len(positions))
        xy = _positions(positions, where)
        if positions[0][0] != positions[-1][0] or positions[0][1] != positions[-1][1]:
            raise _Refused(where, "the ring is not closed: its first and last positions "
                                  "differ (RFC 7946 §3.1.6)")
        out.append(xy)
    return tuple(out)


_AXES = ("longitude", "latitude", "altitude")


def _positions(positions: Sequence[Any], path: str, indexed: bool = True) -> NDArray[np.float64]:
    """Positions as an (n, 2) array of lon/lat; each checked (RFC 7946 §3.1.1, §4).

    ``path`` names the list (``indexed``: position ``j`` is ``path[j]``) or, for a Point,
    the one position. The common case (lists of two or three ints or floats, in range) is
    checked in one pass; the first bad position is then found and named.
    """
    for pos in positions:
        if type(pos) not in _SEQ or not 2 <= len(pos) <= 3:
            break
        if any(type(c) not in _NUM for c in pos):
            break
    else:
        try:
            xy = np.array([pos[:2] for pos in positions], dtype=np.float64)
            alt_ok = all(math.isfinite(pos[2]) for pos in positions if len(pos) == 3)
        except OverflowError:  # an integer beyond the range of a double
            pass
        else:
            # one comparison checks range and finiteness (NaN compares false)
            if alt_ok and bool((np.abs(xy) <= _LIMITS).all()):
                return xy
    # slow path: name the first bad position (or accept number subclasses, e.g. numpy's)
    return np.array([_check_position(pos, f"{path}[{j}]" if indexed else path)
                     for j, pos in enumerate(positions)], dtype=np.float64).reshape(-1, 2)


_LIMITS = np.array([180.0, 90.0])
_SEQ = (list, tuple)
_NUM = (int, float)  # by exact type: bool (a subclass of int) is not a number here


def _check_position(pos: Any, where: str) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) not in (2, 3):
        raise _Refused(where, "a position is [longitude, latitude] (RFC 7946 §3.1.1)",
                       _short(pos))
    numbers: list[float] = []
    for axis, value in enumerate(pos):
        name = _AXES[axis]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused(where, f"the {name} must be a number, not {_kind_of(value)}",
                           _short(value))
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Refused(where, f"the {name} must be a finite number",
                           str(value) if isinstance(value, float) else "too large")
        numbers.append(number)
    lon, lat = numbers[0], numbers[1]
    if not -180.0 <= lon <= 180.0:
        raise _Refused(where, "longitude must be within -180..180", lon)
    if not -90.0 <= lat <= 90.0:
        raise _Refused(where, "latitude must be within -90..90", lat)
    return lon, lat


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "a " + type(value).__name__


# ----------------------------------------------------------------------------- geometry


def _build(parts: list[_Part], path: str) -> Area:
    if len(parts) == 1 and parts[0].kind == "point":  # the common named place: quick
        lon, lat = parts[0].rings[0][0].tolist()
        return Area(shapely.Point(lon, lat), False)
    rings = [ring for p in parts for ring in p.rings]
    xy = rings[0] if len(rings) == 1 else np.concatenate(rings)
    (west, south), (east, north) = xy.min(axis=0), xy.max(axis=0)
    crosses = bool(east - west > 180.0)
    if crosses:
        lon = np.where(xy[:, 0] < 0.0, xy[:, 0] + 360.0, xy[:, 0])
        west, east = lon.min(), lon.max()
        if east - west > 180.0:
            raise _Refused(path, "the area spans more than 180° of longitude either way "
                                 "round: not an area of military activity")
    polygons: list[shapely.Polygon] = []
    others: list[BaseGeometry] = []
    for part in parts:
        if part.kind == "point":
            others.append(shapely.Point(part.rings[0][0]))
        elif part.kind == "line":
            line = shapely.LineString(_east(part.rings[0]) if crosses else part.rings[0])
            others.append(split_antimeridian_line(line) if crosses else line)
        else:
            shifted = [_east(r) for r in part.rings] if crosses else list(part.rings)
            polygons.append(_valid_polygon(shifted, part))
    pieces: list[BaseGeometry] = []
    if polygons:
        # a hemisphere or more? The polygons lie in the box: its area on the authalic
        # sphere (R = 6371.0072 km), R^2 dlon (sin north - sin south), bounds theirs.
        box_km2 = 6371.0072**2 * math.radians(float(east - west)) * (
            math.sin(math.radians(float(north))) - math.sin(math.radians(float(south))))
        if box_km2 >= 0.9 * HEMISPHERE_KM2:
            km2 = _geodesic_km2(polygons)
            if km2 >= HEMISPHERE_KM2 * (1.0 - 1e-6):
                raise _Refused(path, f"the area covers a hemisphere or more ({km2:,.0f} km²): "
                                     "not an area of military activity")
        union = polygons[0] if len(polygons) == 1 else shapely.union_all(polygons)
        if crosses:
            union = split_antimeridian(union)
        pieces.extend(shapely.get_parts(union) if len(polygons) > 1 or crosses else [union])
    pieces.extend(others)
    if len(pieces) == 1:
        geometry = pieces[0]
    elif all(p.geom_type == "Polygon" for p in pieces):
        geometry = shapely.MultiPolygon(pieces)
    elif all(p.geom_type == "Point" for p in pieces):
        geometry = shapely.MultiPoint(pieces)
    else:
        geometry = shapely.GeometryCollection(pieces)
    return Area(geometry, crosses, tuple(polygons))


def _east(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    """Western-hemisphere longitudes moved past 180 (the short way across it)."""
    out = ring.copy()
    out[:, 0] = np.where(out[:, 0] < 0.0, out[:, 0] + 360.0, out[:, 0])
    return out


def split_antimeridian_line(line: BaseGeometry) -> BaseGeometry:
    """A line drawn with longitudes beyond 180 cut there, pieces moved into -180..180."""
    west = shapely.clip_by_rect(line, -180.0, -90.0, 180.0, 90.0)
    east = shapely.clip_by_rect(line, 180.0, -90.0, 540.0, 90.0)
    east = shapely.transform(east, lambda c: c - np.array([360.0, 0.0]))
    lines = [g for g in (*shapely.get_parts(west), *shapely.get_parts(east))
             if g.geom_type == "LineString" and not g.is_empty]
    return lines[0] if len(lines) == 1 else shapely.MultiLineString(lines)


_WHERE = re.compile(r"^(?P<what>[^\[]*)\[(?P<x>[-+0-9.eE]+) (?P<y>[-+0-9.eE]+)\]$")


def _valid_polygon(rings: list[NDArray[np.float64]], part: _Part) -> shapely.Polygon:
    polygon = shapely.Polygon(rings[0], rings[1:])
    if polygon.is_valid and polygon.area > 0.0:
        return polygon
    span = float(part.rings[0][:, 0].max() - part.rings[0][:, 0].min())
    if span >= 360.0:
        raise _Refused(part.path, "the ring goes round the whole globe (from -180 to 180 of "
                                  "longitude): not an area of military activity")
    raise _Refused(part.path, f"the polygon is not valid: {_explain(polygon)}")


def _explain(polygon: shapely.Polygon) -> str:
    """GEOS's reason in csbm's words: what, and where in lon/lat (no library internals)."""
    text = str(shapely.is_valid_reason(polygon) or "")
    if polygon.is_valid:  # valid but of no area
        return "it has no area (its positions lie on a line)"
    match = _WHERE.match(text.strip())
    if match is None:
        return "its rings are malformed"
    what = match["what"].strip().lower()
    what = {
        "self-intersection": "it crosses itself",
        "ring self-intersection": "a ring crosses itself",
        "too few points in geometry component": "it has no area (too few distinct positions)",
        "hole lies outside shell": "a hole lies outside its exterior ring",
        "nested holes": "a hole lies inside another hole",
        "interior is disconnected": "its holes cut it in pieces",
        "nested shells": "a ring lies inside another",
        "duplicate rings": "a ring is given twice",
    }.get(what, what or "its rings are malformed")
    x, y = float(match["x"]), float(match["y"])
    if x > 180.0:
        x -= 360.0
    return f"{what} at longitude {x:.6g}, latitude {y:.6g}"


def _geodesic_km2(polygons: Sequence[shapely.Polygon]) -> float:
    if not polygons:
        return 0.0
    union = polygons[0] if len(polygons) == 1 else shapely.union_all(list(polygons))
    total = 0.0
    for part in shapely.get_parts(union):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        dense = orient(shapely.segmentize(part, _DENSIFY_DEG), 1.0)
        metres2, _ = _GEOD.geometry_area_perimeter(dense)
        total += abs(float(metres2))
    return total / 1e6


def _checked_geometry(geom: BaseGeometry, path: str) -> BaseGeometry:
    if geom.is_empty:
        raise InputError(_REFUSED, [Problem(path, "the area has no coordinates")])
    coords = shapely.get_coordinates(geom)
    lon, lat = coords[:, 0], coords[:, 1]
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InputError(_REFUSED, [Problem(path, "coordinates must be finite numbers")])
    if (np.abs(lon) > 180.0).any():
        bad = float(lon[np.abs(lon) > 180.0][0])
        raise InputError(_REFUSED, [Problem(path, "longitude must be within -180..180", bad)])
    if (np.abs(lat) > 90.0).any():
        bad = float(lat[np.abs(lat) > 90.0][0])
        raise InputError(_REFUSED, [Problem(path, "latitude must be within -90..90", bad)])
    return geom if geom.is_valid else shapely.make_valid(geom)
