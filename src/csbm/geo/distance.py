"""Geodesic distance from an activity area to lines and polygons on the WGS 84 ellipsoid.

Method (issue 5: "computed properly, not degrees as if they were km"):

1. Candidates come from an STRtree over short pieces of the target (a border cut into runs
   of a few dozen vertices, a land polygon cut into tiles). The nearest piece in
   degree space gives an upper bound D on the distance; every piece that could be nearer
   lies within D of the area, so the tree is queried again with the area's envelope grown
   by D expressed in degrees at the area's most poleward latitude.
2. The area and the candidates go into a local azimuthal equidistant projection centred on
   the area (on the sphere of the ellipsoid's Gaussian radius at that latitude; Snyder,
   *Map Projections — A Working Manual*, USGS PP 1395, §25), where shapely finds the
   nearest pair of points.
3. That pair is mapped back to longitude/latitude and its distance is the ellipsoidal
   geodesic (Karney's algorithm, via ``pyproj.Geod``).

The projection only chooses the pair; the reported figure is a true geodesic length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

__all__ = [
    "GeodesicIndex",
    "LocalAeqd",
    "Nearest",
    "centre_of",
    "geodesic_km",
    "nearest_geodesic",
    "split_line",
    "tile",
]

_GEOD = Geod(ellps="WGS84")
_A = 6378137.0
_E2 = 0.00669437999014  # WGS 84 first eccentricity squared
_KM_PER_DEG_LAT_MIN = 110.574  # meridian degree at the equator (the shortest)
_KM_PER_DEG_LON_EQ = 111.320  # parallel degree at the equator


@dataclass(frozen=True)
class Nearest:
    """The geodesic distance and the pair of points (lon, lat) that realise it."""

    km: float
    area_point: tuple[float, float]
    target_point: tuple[float, float]


def geodesic_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ellipsoidal geodesic distance in km (WGS 84)."""
    _, _, metres = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(metres) / 1000.0


def _gaussian_radius(lat_deg: float) -> float:
    s2 = math.sin(math.radians(lat_deg)) ** 2
    m = _A * (1 - _E2) / (1 - _E2 * s2) ** 1.5
    n = _A / math.sqrt(1 - _E2 * s2)
    return math.sqrt(m * n)


class LocalAeqd:
    """Spherical azimuthal equidistant projection centred at (lon0, lat0), metres."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = math.radians(lon0)
        self.lat0 = math.radians(lat0)
        self.radius = _gaussian_radius(lat0)
        self._sin0 = math.sin(self.lat0)
        self._cos0 = math.cos(self.lat0)

    def forward(self, coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon = np.radians(coords[:, 0])
        lat = np.radians(coords[:, 1])
        dlon = lon - self.lon0
        sin_lat, cos_lat = np.sin(lat), np.cos(lat)
        cos_dlon = np.cos(dlon)
        cos_c = np.clip(self._sin0 * sin_lat + self._cos0 * cos_lat * cos_dlon, -1.0, 1.0)
        c = np.arccos(cos_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            k = np.where(c < 1e-12, 1.0, c / np.sin(c))
        x = self.radius * k * cos_lat * np.sin(dlon)
        y = self.radius * k * (self._cos0 * sin_lat - self._sin0 * cos_lat * cos_dlon)
        return np.column_stack([x, y])

    def inverse(self, x: float, y: float) -> tuple[float, float]:
        rho = math.hypot(x, y)
        if rho < 1e-9:
            return math.degrees(self.lon0), math.degrees(self.lat0)
        c = rho / self.radius
        sin_c, cos_c = math.sin(c), math.cos(c)
        lat = math.asin(cos_c * self._sin0 + y * sin_c * self._cos0 / rho)
        lon = self.lon0 + math.atan2(
            x * sin_c, rho * self._cos0 * cos_c - y * self._sin0 * sin_c
        )
        lon_deg = (math.degrees(lon) + 540.0) % 360.0 - 180.0
        return lon_deg, math.degrees(lat)


def nearest_geodesic(area: BaseGeometry, target: BaseGeometry) -> Nearest:
    """Geodesic distance between two lon/lat geometries (steps 2–3 of the module doc)."""
    lon0, lat0 = centre_of(area)
    proj = LocalAeqd(lon0, lat0)
    # one projection call for both (numpy's per-call overhead dominates small inputs)
    a, t = shapely.get_parts(
        shapely.transform(shapely.GeometryCollection([area, target]), proj.forward)
    )
    pa, pt = shapely.shortest_line(a, t).coords
    lon1, lat1 = proj.inverse(pa[0], pa[1])
    lon2, lat2 = proj.inverse(pt[0], pt[1])
    if pa == pt:
        return Nearest(0.0, (lon1, lat1), (lon2, lat2))
    return Nearest(geodesic_km(lon1, lat1, lon2, lat2), (lon1, lat1), (lon2, lat2))


def _east(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    out = coords.copy()
    out[:, 0] = np.where(out[:, 0] < 0.0, out[:, 0] + 360.0, out[:, 0])
    return out


def _across_antimeridian(area: BaseGeometry) -> bool:
    """An area cut at the antimeridian (csbm.geo.areas, RFC 7946 §3.1.9) has pieces near
    both ends of the longitude range: its plain bounds span more than 180°."""
    minx, _, maxx, _ = area.bounds
    return bool(maxx - minx > 180.0)


def centre_of(area: BaseGeometry) -> tuple[float, float]:
    """The area's centroid (lon, lat); across the antimeridian, taken the short way."""
    if area.is_empty:
        return 0.0, 0.0
    if not _across_antimeridian(area):
        c = area.centroid
        return c.x, c.y
    c = shapely.transform(area, _east).centroid
    return (c.x - 360.0 if c.x > 180.0 else c.x), c.y


def _degrees_envelopes(area: BaseGeometry, km: float) -> list[BaseGeometry]:
    """Boxes in degrees that hold every point within ``km`` of the area, wrapped at ±180."""
    shifted = shapely.transform(area, _east) if _across_antimeridian(area) else area
    minx, miny, maxx, maxy = shifted.bounds
    dlat = km / _KM_PER_DEG_LAT_MIN * 1.01
    far = min(max(abs(miny - dlat), abs(maxy + dlat)), 89.0)
    dlon = min(km / (_KM_PER_DEG_LON_EQ * math.cos(math.radians(far))) * 1.01, 360.0)
    x0, y0, x1, y1 = minx - dlon, miny - dlat, maxx + dlon, maxy + dlat
    boxes = [shapely.box(x0, y0, x1, y1)]
    if x0 < -180.0:
        boxes.append(shapely.box(x0 + 360.0, y0, x1 + 360.0, y1))
    if x1 > 180.0:
        boxes.append(shapely.box(x0 - 360.0, y0, x1 - 360.0, y1))
    return boxes


# Below this many vertices, projecting the whole target costs less than querying the tree
# (measured by bench/bench_geo.py: the 1:10m borders have a few hundred vertices each).
DIRECT_BELOW_VERTICES = 1000


class GeodesicIndex:
    """Pieces of a target (lines or polygons, lon/lat) in an STRtree, for nearest queries.

    A small target (fewer than ``direct_below`` vertices) is measured whole, without the
    tree: the answer is the same, only faster.
    """

    def __init__(
        self, pieces: Sequence[BaseGeometry], direct_below: int = DIRECT_BELOW_VERTICES
    ) -> None:
        self.pieces = np.asarray([p for p in pieces if not p.is_empty], dtype=object)
        for piece in self.pieces:
            shapely.prepare(piece)
        self.tree = shapely.STRtree(self.pieces)
        vertices = int(shapely.get_num_coordinates(self.pieces).sum()) if len(self.pieces) else 0
        self._whole: BaseGeometry | None = None
        if 0 < vertices < direct_below:
            self._whole = shapely.GeometryCollection(list(self.pieces))

    def __len__(self) -> int:
        return len(self.pieces)

    def nearest(self, area: BaseGeometry) -> Nearest | None:
        """The nearest point of any piece; None if the index is empty."""
        if len(self.pieces) == 0:
            return None
        if self._whole is not None:
            return nearest_geodesic(area, self._whole)
        first = self.pieces[int(self.tree.query_nearest(area, all_matches=False)[0])]
        # an upper bound: the geodesic length of a real pair of points (nearest in degrees)
        (x1, y1), (x2, y2) = shapely.shortest_line(area, first).coords
        bound_km = geodesic_km(x1, y1, x2, y2)
        if bound_km == 0.0:
            return Nearest(0.0, (x1, y1), (x2, y2))
        boxes = _degrees_envelopes(area, bound_km)
        candidates = (self.tree.query(boxes[0]) if len(boxes) == 1
                      else np.unique(np.concatenate([self.tree.query(b) for b in boxes])))
        pieces = list(self.pieces[candidates]) if len(candidates) else [first]
        target = pieces[0] if len(pieces) == 1 else shapely.GeometryCollection(pieces)
        best = nearest_geodesic(area, target)
        if best.km <= bound_km:
            return best
        return Nearest(bound_km, (x1, y1), (x2, y2))


def split_line(line: BaseGeometry, max_vertices: int = 24) -> list[BaseGeometry]:
    """Cut a (multi)line into runs of at most ``max_vertices`` vertices (STRtree pieces)."""
    out: list[BaseGeometry] = []
    for part in shapely.get_parts(line):
        coords = np.asarray(part.coords)
        step = max_vertices - 1
        for start in range(0, max(len(coords) - 1, 1), step):
            chunk = coords[start : start + max_vertices]
            if len(chunk) >= 2:
                out.append(shapely.LineString(chunk))
    return out


def tile(geometry: BaseGeometry, degrees: float = 5.0) -> list[BaseGeometry]:
    """Cut a (multi)polygon into ``degrees``-square tiles (smaller STRtree pieces)."""
    out: list[BaseGeometry] = []
    for part in shapely.get_parts(geometry):
        if part.is_empty or part.geom_type != "Polygon":
            continue
        minx, miny, maxx, maxy = part.bounds
        if maxx - minx <= degrees and maxy - miny <= degrees:
            out.append(part)
            continue
        x = math.floor(minx / degrees) * degrees
        while x < maxx:
            y = math.floor(miny / degrees) * degrees
            while y < maxy:
                piece = shapely.clip_by_rect(part, x, y, x + degrees, y + degrees)
                if not piece.is_empty:
                    out.extend(
                        g for g in shapely.get_parts(piece) if g.geom_type == "Polygon"
                    )
                y += degrees
            x += degrees
    return out
