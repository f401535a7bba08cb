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

Arcs = list[NDArray[np.float64]]


def decode_arcs(topology: Mapping[str, Any]) -> Arcs:
    """Every arc as an (n, 2) array of longitude/latitude."""
    transform = topology.get("transform")
    out: Arcs = []
    for arc in topology["arcs"]:
        points = np.asarray(arc, dtype=np.float64)[:, :2]
        if transform is not None:
            points = np.cumsum(points, axis=0)
            points *= np.asarray(transform["scale"], dtype=np.float64)
            points += np.asarray(transform["translate"], dtype=np.float64)
        out.append(points)
    return out


def _ring(arcs: Arcs, indices: Sequence[int]) -> NDArray[np.float64]:
    parts: list[NDArray[np.float64]] = []
    for k, index in enumerate(indices):
        points = arcs[~index][::-1] if index < 0 else arcs[index]
        # consecutive arcs share their joining position: drop the repeat
        parts.append(points if k == 0 else points[1:])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _polygon(arcs: Arcs, rings: Sequence[Sequence[int]]) -> BaseGeometry | None:
    coords = [_ring(arcs, r) for r in rings]
    coords = [c for c in coords if len(c) >= 4]
    if not coords:
        return None
    polygon = shapely.Polygon(coords[0], coords[1:])
    return polygon if polygon.is_valid else shapely.make_valid(polygon, method="structure")


def geometry(arcs: Arcs, obj: Mapping[str, Any]) -> BaseGeometry:
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
        return shapely.MultiPolygon(parts)
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
