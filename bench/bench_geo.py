"""Distance from 10,000 activity areas to a common border (issue 5, item 5).

Areas (points, small polygons of 5–30 km, multipoints) are spread over Belarus and Ukraine;
each gets its geodesic distance to the Belarus–Ukraine border and to the Belarus–Poland
border with csbm.geo (STRtree of border pieces, local azimuthal equidistant projection,
ellipsoidal geodesic of the nearest pair). Target: 10,000 areas in under 10 s.

Baselines measured in the same run, on a sample, extrapolated to 10,000:

* ``naive``: the textbook method — for each area, a fresh PROJ ellipsoidal azimuthal
  equidistant transformer centred on the area, the whole border projected, unprepared
  shapely distance;
* ``high_resolution_border``: the STRtree against measuring the whole line, on the BY–UA
  line densified to ~100 m (~11,000 vertices, as a deployment's own file might be). On
  the 1:10m borders (a few hundred vertices) csbm measures the whole line
  (csbm.geo.distance.DIRECT_BELOW_VERTICES), which is faster there.
* ``brute_geodesic``: pyproj's raw geodesic from the area's points to every vertex of
  the border densified to ~100 m (the exact reference the tests use; points and
  multipoints only).

Accuracy is reported too: the largest difference from the brute-force reference.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer
from rich.progress import Progress
from shapely.geometry.base import BaseGeometry

from csbm.geo import default_boundaries
from csbm.geo.distance import GeodesicIndex, split_line

NAME = "geo"
TARGET_SECONDS_10K = 10.0
_GEOD = Geod(ellps="WGS84")


def synthetic_areas(n: int, seed: int = 2001) -> list[BaseGeometry]:
    """n areas over Belarus and Ukraine: a third points, polygons, multipoints."""
    rng = random.Random(seed)
    out: list[BaseGeometry] = []
    for i in range(n):
        lon, lat = rng.uniform(23.5, 32.5), rng.uniform(47.0, 55.5)
        kind = i % 3
        if kind == 0:
            out.append(shapely.Point(lon, lat))
        elif kind == 1:
            half = rng.uniform(5.0, 30.0) / 2 / 111.0
            out.append(shapely.box(lon - half * 1.6, lat - half, lon + half * 1.6, lat + half))
        else:
            pts = [(lon + rng.uniform(-0.2, 0.2), lat + rng.uniform(-0.1, 0.1)) for _ in range(4)]
            out.append(shapely.MultiPoint(pts))
    return out


def _naive_km(area: BaseGeometry, line: BaseGeometry) -> float:
    c = area.centroid
    crs = f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m"
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def fwd(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return float(shapely.transform(area, fwd).distance(shapely.transform(line, fwd))) / 1000.0


def _brute_km(area: BaseGeometry, dense_xy: NDArray[np.float64]) -> float:
    best = float("inf")
    for lon, lat in shapely.get_coordinates(area):
        n = len(dense_xy)
        _, _, m = _GEOD.inv(np.full(n, lon), np.full(n, lat), dense_xy[:, 0], dense_xy[:, 1])
        best = min(best, float(np.min(m)) / 1000.0)
    return best


def run(quick: bool = False) -> dict[str, Any]:
    n = 1_000 if quick else 10_000
    sample = 50 if quick else 200
    started = time.perf_counter()
    boundaries = default_boundaries()
    borders = [boundaries.common_border("BY", "UA"), boundaries.common_border("BY", "PL")]
    load_s = time.perf_counter() - started
    areas = synthetic_areas(n)

    t0 = time.perf_counter()
    results: list[float] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("distance to border", total=n)
        for i, area in enumerate(areas):
            for border in borders:
                got = border.distance(area)
                results.append(got.km if got is not None else float("nan"))
            if i % 500 == 499:
                progress.update(task, advance=500)
    ours_s = time.perf_counter() - t0
    per_area_ours = ours_s / n

    by_ua = borders[0].line
    picks = areas[:: max(n // sample, 1)][:sample]
    t1 = time.perf_counter()
    naive = [_naive_km(a, by_ua) for a in picks]
    naive_per_area = (time.perf_counter() - t1) / len(picks)

    # a high-resolution deployment file, simulated: the BY-UA line densified to ~100 m
    fine = shapely.segmentize(by_ua, 0.001)
    fine_vertices = int(shapely.get_num_coordinates(fine))
    fine_index = GeodesicIndex(split_line(fine))
    fine_direct = GeodesicIndex(split_line(fine), direct_below=10**9)
    fine_picks = picks[:100]
    t4 = time.perf_counter()
    for a in fine_picks:
        fine_index.nearest(a)
    fine_index_per_area = (time.perf_counter() - t4) / len(fine_picks)
    t5 = time.perf_counter()
    for a in fine_picks:
        fine_direct.nearest(a)
    fine_direct_per_area = (time.perf_counter() - t5) / len(fine_picks)

    dense = shapely.get_coordinates(shapely.segmentize(by_ua, 0.001))
    # points and multipoints only: brute force over a densified polygon is far too slow
    brute_picks = [a for a in picks if a.geom_type != "Polygon"][: max(len(picks) // 4, 10)]
    t2 = time.perf_counter()
    brute = [_brute_km(a, dense) for a in brute_picks]
    brute_per_area = (time.perf_counter() - t2) / len(brute_picks)

    ours_sample = [borders[0].distance(a) for a in picks]
    ours_km = [g.km if g is not None else float("nan") for g in ours_sample]
    brute_ours = [o for o, a in zip(ours_km, picks, strict=True) if a.geom_type != "Polygon"]
    err_brute = max(abs(o - b) for o, b in zip(brute_ours, brute, strict=False))
    err_naive = max(abs(o - v) for o, v in zip(ours_km, naive, strict=True))

    # the per-area cost, for 10,000 areas and one border (the bench measures two borders)
    ours_10k_one_border = per_area_ours / 2 * 10_000
    naive_10k = naive_per_area * 10_000
    brute_10k = brute_per_area * 10_000
    met = ours_s * (10_000 / n) <= TARGET_SECONDS_10K
    return {
        "name": NAME,
        "areas": n,
        "borders_per_area": len(borders),
        "dataset_load_seconds": round(load_s, 3),
        "ours_seconds": round(ours_s, 3),
        "ours_seconds_per_10k_areas_one_border": round(ours_10k_one_border, 3),
        "baseline_naive_seconds_per_10k_extrapolated": round(naive_10k, 2),
        "baseline_brute_geodesic_seconds_per_10k_extrapolated": round(brute_10k, 2),
        "speedup_vs_naive": round(naive_10k / ours_10k_one_border, 1),
        "speedup_vs_brute_geodesic": round(brute_10k / ours_10k_one_border, 1),
        "max_abs_error_km_vs_brute_geodesic": round(err_brute, 4),
        "max_abs_diff_km_vs_proj_aeqd": round(err_naive, 4),
        "high_resolution_border": {
            "vertices": fine_vertices,
            "strtree_seconds_per_10k": round(fine_index_per_area * 10_000, 2),
            "whole_line_seconds_per_10k": round(fine_direct_per_area * 10_000, 2),
            "speedup_of_strtree": round(fine_direct_per_area / fine_index_per_area, 1),
        },
        "sample_sizes": {
            "naive": len(picks),
            "brute_geodesic": len(brute_picks),
        },
        "target_seconds_10k": TARGET_SECONDS_10K,
        "targets_met": met,
        "summary": (
            f"{n} areas x {len(borders)} borders in {ours_s:.2f} s "
            f"({ours_10k_one_border:.2f} s per 10k areas and border; naive PROJ+shapely "
            f"{naive_10k:.1f} s, brute geodesic {brute_10k:.1f} s extrapolated); "
            f"max error {err_brute * 1000:.0f} m vs brute force"
        ),
    }
