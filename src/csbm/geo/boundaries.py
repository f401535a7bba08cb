"""Country boundaries and the common border between two participating States.

The default dataset is Natural Earth 1:10m admin-0 countries, version 4.1.0, as
redistributed by the npm package ``world-atlas@2.0.2`` (TopoJSON, quantized), vendored in
``csbm/geo/data`` with its provenance (``PROVENANCE.md``). A deployment can replace it
with its own boundary file: a GeoJSON FeatureCollection (or a TopoJSON topology) given as
an argument or in the environment variable ``CSBM_BOUNDARIES``; such a file must state its
own positional tolerance (``tolerance_km`` member, argument, or
``CSBM_BOUNDARIES_TOLERANCE_KM``) — csbm does not guess it.

The common border of States A and B is the part of A's boundary that lies within a small
buffer of B's boundary (the two outlines are digitised separately in some datasets; in
the vendored topology they share their arcs and the buffer is one quantization step).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from csbm.errors import InputError, NotFoundError, Problem
from csbm.geo import _topojson
from csbm.geo.codes import NUMERIC_TO_ALPHA2
from csbm.geo.distance import GeodesicIndex, Nearest, split_line

__all__ = [
    "DEFAULT_TOLERANCE_KM",
    "ENV_BOUNDARIES",
    "ENV_TOLERANCE",
    "Boundaries",
    "CommonBorder",
    "default_boundaries",
    "load_boundaries",
]

ENV_BOUNDARIES = "CSBM_BOUNDARIES"
ENV_TOLERANCE = "CSBM_BOUNDARIES_TOLERANCE_KM"

# The vendored dataset's positional tolerance: 1/50 inch at the publication scale
# 1:10,000,000 (US National Map Accuracy Standards, 1947, for scales smaller than
# 1:20,000) = 0.508 mm x 10^7 = 5.08 km. See data/PROVENANCE.md.
DEFAULT_TOLERANCE_KM = 5.08
_VENDORED = "countries-10m.json.gz"
_VENDORED_NAME = "Natural Earth 1:10m admin-0 countries 4.1.0 (world-atlas 2.0.2)"
# one quantization step of the vendored topology (transform.scale[0]), in degrees
_VENDORED_EPS_DEG = 0.0036


class CommonBorder:
    """The common border of two States, prepared for geodesic distance queries."""

    def __init__(self, states: tuple[str, str], line: BaseGeometry, tolerance_km: float):
        self.states = states
        self.line = line
        self.tolerance_km = tolerance_km
        self._index = GeodesicIndex(split_line(line))

    @property
    def exists(self) -> bool:
        return not self.line.is_empty

    def distance(self, area: BaseGeometry) -> Nearest | None:
        """Geodesic distance from ``area`` (lon/lat) to the border; None if there is none."""
        return self._index.nearest(area)


class Boundaries:
    """Admin-0 polygons keyed by alpha-2 (participating States) plus every other land unit."""

    def __init__(
        self,
        countries: Mapping[str, BaseGeometry],
        others: Mapping[str, BaseGeometry],
        *,
        tolerance_km: float,
        source: str,
        border_eps_deg: float,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.countries = dict(countries)
        self.others = dict(others)
        self.names = dict(names or {})
        self.tolerance_km = tolerance_km
        self.source = source
        self.border_eps_deg = border_eps_deg
        self._borders: dict[tuple[str, str], CommonBorder] = {}
        for geom in self.countries.values():
            shapely.prepare(geom)

    def country(self, code: str) -> BaseGeometry:
        try:
            return self.countries[code.upper()]
        except KeyError:
            raise NotFoundError(f"no boundary for {code!r} in {self.source}") from None

    def common_border(self, a: str, b: str) -> CommonBorder:
        """The common border of ``a`` and ``b`` (cached; empty line if not neighbours)."""
        key = tuple(sorted((a.upper(), b.upper())))
        pair = (key[0], key[1])
        if pair not in self._borders:
            line = _shared_line(self.country(pair[0]), self.country(pair[1]), self.border_eps_deg)
            self._borders[pair] = CommonBorder(pair, line, self.tolerance_km)
        return self._borders[pair]

    def distance_to_border(self, area: BaseGeometry, a: str, b: str) -> Nearest | None:
        return self.common_border(a, b).distance(area)


def _shared_line(a: BaseGeometry, b: BaseGeometry, eps: float) -> BaseGeometry:
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    x0, y0 = max(ax0, bx0) - eps, max(ay0, by0) - eps
    x1, y1 = min(ax1, bx1) + eps, min(ay1, by1) + eps
    if x0 > x1 or y0 > y1:
        return shapely.MultiLineString()
    a_edge = shapely.clip_by_rect(a.boundary, x0, y0, x1, y1)
    b_edge = shapely.clip_by_rect(b.boundary, x0, y0, x1, y1)
    if a_edge.is_empty or b_edge.is_empty:
        return shapely.MultiLineString()
    shared = a_edge.intersection(b_edge.buffer(eps, quad_segs=2))
    lines = [g for g in shapely.get_parts(shared) if g.geom_type == "LineString"]
    if not lines:
        return shapely.MultiLineString()
    merged = shapely.line_merge(shapely.MultiLineString(lines))
    return merged if merged.geom_type == "MultiLineString" else shapely.MultiLineString([merged])


# ----------------------------------------------------------------------------- loading


def _from_topology(
    topology: Mapping[str, Any], names: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = topology.get("objects", {})
    collection = objects.get("countries") or next(iter(objects.values()), None)
    if collection is None:
        raise InputError("boundary file: a topology without objects", [Problem("objects", "empty")])
    arcs = _topojson.decode_arcs(topology)
    countries: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for i, obj in enumerate(collection.get("geometries", [])):
        props = obj.get("properties") or {}
        key = _code_of(obj.get("id"), props)
        # valid: the decoder cuts rings at the antimeridian, repairs each polygon and
        # merges the parts of a multipolygon that overlap (csbm.geo._topojson)
        geom = _topojson.geometry(arcs, obj)
        if key in _ALPHA2:
            countries[key] = geom
        else:
            unit = str(obj.get("id") or props.get("name") or f"#{i}")
            others[unit] = geom
            if names is not None and props.get("name"):
                names[unit] = str(props["name"])
    return countries, others


def _from_geojson(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    countries: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for i, feature in enumerate(data.get("features", [])):
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        raw = feature.get("geometry") if isinstance(feature, Mapping) else None
        try:
            geom = shape(raw)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                shapely.errors.GEOSException):
            # one clean reason: the library's own text names its internals (issue 8)
            kind = raw.get("type") if isinstance(raw, Mapping) else None
            raise InputError(
                "boundary file: a feature without a valid geometry",
                [Problem(f"features[{i}].geometry",
                         "not a GeoJSON geometry (type and coordinates, RFC 7946 §3.1)",
                         kind if isinstance(kind, str) else None)],
            ) from None
        if not geom.is_valid:
            geom = _topojson.valid_polygonal(geom) if geom.geom_type in (
                "Polygon", "MultiPolygon") else shapely.make_valid(geom)
        key = _code_of(feature.get("id"), props)
        if key in _ALPHA2:
            countries[key] = geom if key not in countries else countries[key].union(geom)
        else:
            others[str(feature.get("id") or props.get("name") or f"#{i}")] = geom
    return countries, others


_ALPHA2 = frozenset(NUMERIC_TO_ALPHA2.values())
_CODE_KEYS = ("iso_a2", "ISO_A2", "ISO_A2_EH", "iso_3166_1_alpha_2", "alpha2", "code")


def _code_of(fid: Any, props: Mapping[str, Any]) -> str | None:
    for key in _CODE_KEYS:
        value = props.get(key)
        if isinstance(value, str) and value.upper() in _ALPHA2:
            return value.upper()
    for value in (fid, props.get("iso_n3"), props.get("ISO_N3")):
        if value is None:
            continue
        text = str(value)
        if text.upper() in _ALPHA2:
            return text.upper()
        if text.isdigit() and text.zfill(3) in NUMERIC_TO_ALPHA2:
            return NUMERIC_TO_ALPHA2[text.zfill(3)]
    return None


def _tolerance(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(
            "boundary file: the tolerance must be a number of km",
            [Problem(where, "must be a number of km", value)],
        ) from None
    if not number > 0:
        raise InputError(
            "boundary file: the tolerance must be positive",
            [Problem(where, "must be greater than 0 km", value)],
        )
    return number


def load_boundaries(
    path: str | Path | None = None, tolerance_km: float | None = None
) -> Boundaries:
    """The boundaries: ``path``, else ``$CSBM_BOUNDARIES``, else the vendored dataset."""
    if path is None:
        env = os.environ.get(ENV_BOUNDARIES)
        if not env:
            return _vendored()
        path = env
    if tolerance_km is None and os.environ.get(ENV_TOLERANCE):
        tolerance_km = _tolerance(os.environ[ENV_TOLERANCE], ENV_TOLERANCE)
    return _from_file(str(path), tolerance_km)


def default_boundaries() -> Boundaries:
    """The boundaries the engine uses (environment override or the vendored dataset)."""
    env = os.environ.get(ENV_BOUNDARIES)
    if env:
        tol = os.environ.get(ENV_TOLERANCE)
        return _from_file(env, _tolerance(tol, ENV_TOLERANCE) if tol else None)
    return _vendored()


@cache
def _vendored() -> Boundaries:
    raw = (resources.files("csbm.geo") / "data" / _VENDORED).read_bytes()
    topology = json.loads(gzip.decompress(raw))
    names: dict[str, str] = {}
    countries, others = _from_topology(topology, names)
    return Boundaries(
        countries,
        others,
        tolerance_km=DEFAULT_TOLERANCE_KM,
        source=_VENDORED_NAME,
        border_eps_deg=_VENDORED_EPS_DEG,
        names=names,
    )


@cache
def _from_file(path: str, tolerance_km: float | None) -> Boundaries:
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"boundary file {path!r} does not exist")
    raw = file.read_bytes()
    if file.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"boundary file {path!r} is not JSON", [Problem(path, f"not JSON: {exc}")]
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            f"boundary file {path!r}", [Problem(path, "must be a GeoJSON FeatureCollection")]
        )
    if tolerance_km is None:
        if data.get("tolerance_km") is None:
            raise InputError(
                f"boundary file {path!r} does not state its positional tolerance",
                [
                    Problem(
                        "tolerance_km",
                        f"give the dataset's tolerance in km (a top-level 'tolerance_km' "
                        f"member, or {ENV_TOLERANCE})",
                    )
                ],
            )
        tolerance_km = _tolerance(data["tolerance_km"], "tolerance_km")
    if data.get("type") == "Topology":
        countries, others = _from_topology(data)
    elif data.get("type") == "FeatureCollection":
        countries, others = _from_geojson(data)
    else:
        raise InputError(
            f"boundary file {path!r}",
            [Problem("type", "must be FeatureCollection or Topology", data.get("type"))],
        )
    if not countries:
        raise InputError(
            f"boundary file {path!r} names no participating State",
            [Problem("features", "no feature carries an ISO 3166-1 code of a participating State")],
        )
    eps = min(tolerance_km, 1.0) / 111.32
    return Boundaries(
        countries, others, tolerance_km=tolerance_km, source=str(file), border_eps_deg=eps
    )
