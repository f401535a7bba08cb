"""Decoding TopoJSON into shapely geometries (TopoJSON specification 1.0, §2.1–2.2).

A topology stores each line once, as an *arc*; geometries list arc indices (a negative
index ``~i`` means arc ``i`` reversed). With a ``transform`` the arcs are quantized and
delta-encoded: each position is the offset from the previous one in integer grid steps,
and ``x * scale + translate`` gives longitude and latitude (§2.1.2, §2.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry


class Arcs(list[NDArray[np.float64]]):
    """The decoded arcs, and the indices of those that cross the antimeridian."""

    crossing: frozenset[int] = frozenset()


def decode_arcs(topology: Mapping[str, Any]) -> Arcs:
    """Every arc as an (n, 2) array of longitude/latitude."""
    transform = topology.get("transform")
    out = Arcs()
    for arc in topology["arcs"]:
        points = np.asarray(arc, dtype=np.float64)[:, :2]
        if transform is not None:
            points = np.cumsum(points, axis=0)
            points *= np.asarray(transform["scale"], dtype=np.float64)
            points += np.asarray(transform["translate"], dtype=np.float64)
        out.append(points)
    out.crossing = _crossing_arcs(out)
    return out


def _crossing_arcs(arcs: Sequence[NDArray[np.float64]]) -> frozenset[int]:
    """The arcs with two consecutive positions more than 180° of longitude apart.

    Such a step is the antimeridian crossing of a line drawn on the sphere (world-atlas
    keeps Natural Earth's spherical rings uncut): read in the plane it would run the long
    way round the globe (Russia's Chukotka, Fiji). Arcs join at a shared position, so a
    ring crosses exactly where one of its arcs does. One vectorised pass over all arcs.
    """
    if not arcs:
        return frozenset()
    lon = np.concatenate([a[:, 0] for a in arcs])
    ends = np.cumsum([len(a) for a in arcs])
    steps = np.flatnonzero(np.abs(np.diff(lon)) > 180.0)  # step k joins positions k, k+1
    owner = np.searchsorted(ends, steps, side="right")  # the arc holding position k
    inside = steps + 1 < ends[owner]  # not the step from one arc to the next
    return frozenset(int(i) for i in owner[inside])


def _ring(arcs: Sequence[NDArray[np.float64]], indices: Sequence[int]) -> NDArray[np.float64]:
    parts: list[NDArray[np.float64]] = []
    for k, index in enumerate(indices):
        points = arcs[~index][::-1] if index < 0 else arcs[index]
        # consecutive arcs share their joining position: drop the repeat
        parts.append(points if k == 0 else points[1:])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _polygon(
    arcs: Sequence[NDArray[np.float64]], rings: Sequence[Sequence[int]]
) -> BaseGeometry | None:
    coords = [_ring(arcs, r) for r in rings]
    coords = [c for c in coords if len(c) >= 4]
    if not coords:
        return None
    crossing = getattr(arcs, "crossing", None)
    if crossing is None:
        crossing = _crossing_arcs(arcs)
    if any((~i if i < 0 else i) in crossing for ring in rings for i in ring):
        unwrapped = _unwrap(coords)
        if unwrapped is not None:
            return split_antimeridian(valid_polygonal(shapely.Polygon(unwrapped[0],
                                                                      unwrapped[1:])))
    polygon = shapely.Polygon(coords[0], coords[1:])
    return polygon if polygon.is_valid else valid_polygonal(polygon)


def _unwrap(coords: list[NDArray[np.float64]]) -> list[NDArray[np.float64]] | None:
    """The rings with continuous longitudes (beyond ±180 where they cross), or None for a
    ring that goes round a pole (it does not close once unwrapped; left as drawn)."""
    out: list[NDArray[np.float64]] = []
    for ring in coords:
        lon = np.unwrap(ring[:, 0], period=360.0)
        if abs(lon[-1] - lon[0]) > 1e-9:
            return None
        if out:  # a hole goes in the same 360° window as its exterior
            centre = (out[0][:, 0].min() + out[0][:, 0].max()) / 2
            lon = lon + 360.0 * np.round((centre - lon.mean()) / 360.0)
        # positions on the antimeridian come out of the quantization a hair off it: put
        # them on it, so that the cut below leaves no sliver (and areas cut at exactly
        # ±180 by csbm.geo.areas meet the country's edge exactly)
        meridian = np.round((lon - 180.0) / 360.0) * 360.0 + 180.0
        lon = np.where(np.abs(lon - meridian) < _SNAP_DEG, meridian, lon)
        out.append(np.column_stack([lon, ring[:, 1]]))
    return out


_SNAP_DEG = 1e-7  # ~1 cm; the quantization step is 0.0036°


def valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` repaired (GEOS make_valid, "structure" method) and kept polygonal."""
    if geom.is_valid:
        return geom
    fixed = shapely.make_valid(geom, method="structure")
    polygons = [g for g in shapely.get_parts(fixed) if isinstance(g, shapely.Polygon)]
    if len(polygons) == 1:
        return polygons[0]
    return shapely.MultiPolygon(polygons)


def split_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """A polygon drawn with longitudes beyond ±180 cut at the antimeridian, each piece
    moved back into -180..180 (RFC 7946 §3.1.9: "cutting it in two")."""
    minx, _, maxx, _ = geom.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return geom
    parts: list[shapely.Polygon] = []
    for west, shift in ((-540.0, 360.0), (-180.0, 0.0), (180.0, -360.0)):
        piece = shapely.clip_by_rect(geom, west, -90.0, west + 360.0, 90.0)
        if piece.is_empty:
            continue
        if shift:
            piece = shapely.transform(piece, lambda c, s=shift: c + np.array([s, 0.0]))
        parts.extend(p for p in shapely.get_parts(valid_polygonal(piece))
                     if isinstance(p, shapely.Polygon) and not p.is_empty)
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def geometry(arcs: Sequence[NDArray[np.float64]], obj: Mapping[str, Any]) -> BaseGeometry:
    """One TopoJSON geometry object (Polygon, MultiPolygon, LineString, ...) as shapely."""
    kind = obj.get("type")
    data = obj.get("arcs", [])
    if kind == "Polygon":
        poly = _polygon(arcs, data)
        return poly if poly is not None else shapely.Polygon()
    if kind == "MultiPolygon":
        parts: list[shapely.Polygon] = []
        for rings in data:
            poly = _polygon(arcs, rings)
            if poly is not None:
                parts.extend(
                    g for g in shapely.get_parts(poly) if isinstance(g, shapely.Polygon)
                )
        return valid_multipolygon(parts)
    if kind == "LineString":
        return shapely.LineString(_ring(arcs, data))
    if kind == "MultiLineString":
        return shapely.MultiLineString([_ring(arcs, d) for d in data])
    if kind == "Point":
        return shapely.Point(_position(obj["coordinates"], None))
    return shapely.GeometryCollection()


def _position(coords: Sequence[float], transform: Mapping[str, Any] | None) -> tuple[float, float]:
    x, y = float(coords[0]), float(coords[1])
    if transform is not None:
        sx, sy = transform["scale"]
        tx, ty = transform["translate"]
        x, y = x * sx + tx, y * sy + ty
    return x, y


def arc_indices(obj: Mapping[str, Any]) -> set[int]:
    """The (non-negative) indices of every arc a polygon geometry uses."""
    out: set[int] = set()
    kind = obj.get("type")
    data = obj.get("arcs", [])
    polygons = [data] if kind == "Polygon" else data if kind == "MultiPolygon" else []
    for rings in polygons:
        for ring in rings:
            for index in ring:
                out.add(~index if index < 0 else index)
    return out


def valid_multipolygon(parts: Sequence[shapely.Polygon]) -> BaseGeometry:
    """Valid parts as one valid MultiPolygon (OGC Simple Features §6.1.14: the parts'
    interiors do not meet and their boundaries touch at points only).

    The quantized topology lets a few neighbouring parts overlap or share an edge (Canada's
    islands, Japan's): only the parts in such a cluster are merged (GEOS union), so the
    cost is that of the few clusters, not of the whole country.
    """
    if len(parts) < 2:
        return shapely.MultiPolygon(list(parts))
    geoms = np.asarray(parts, dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms)  # envelopes meet
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left):
        shapely.prepare(geoms)  # prepared: ~10x faster here (measured on the 1:10m set)
        meet = shapely.intersects(geoms[left], geoms[right])
        left, right = left[meet], right[meet]
    if len(left):
        # interiors meet (T********) or boundaries share a line (****1****)
        bad = shapely.relate_pattern(geoms[left], geoms[right], "T********") | (
            shapely.relate_pattern(geoms[left], geoms[right], "****1****")
        )
        left, right = left[bad], right[bad]
    if not len(left):
        return shapely.MultiPolygon(list(parts))
    root = list(range(len(geoms)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        root[find(i)] = find(j)
    groups: dict[int, list[BaseGeometry]] = {}
    for i, geom in enumerate(geoms):
        groups.setdefault(find(i), []).append(geom)
    out: list[shapely.Polygon] = []
    for group in groups.values():
        merged = group[0] if len(group) == 1 else shapely.union_all(group)
        out.extend(g for g in shapely.get_parts(merged) if isinstance(g, shapely.Polygon))
    return shapely.MultiPolygon(out)
