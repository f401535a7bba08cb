"""Activities on the map: each notified or planned activity as an area coloured by where
it stands, its figures against every threshold of the packs, its findings; the borders
of the participating States; the border zones and provisional screening distances of the
bilateral packs -- the *Map* page of the workbench and its JSON twin.

Source: issue 12, item 1 (*Map*); VD 2011 ¶38-40 (notification thresholds), ¶47
(observation thresholds); VD 2011 Chapter X and the bilateral packs' ``border_zone`` (and,
while its width is unknown, the analyst's ``unknown_zone_screen_km``:
:mod:`csbm.rules.applicability`). No threshold is written here: each comes from its pack
entry (``spec.type: threshold``). The borders are Natural Earth 1:10m as vendored in
:mod:`csbm.geo`, simplified for the screen; the zones are buffered geodesically (an
azimuthal equidistant projection centred on the border).

An activity's area is the one its messages give (the calendar entry, the notification,
then each amendment that changes it), read by the one area reader
(:func:`csbm.geo.area_geometry`); an area that reader refuses is left off the map and
said so (``area_problem``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from csbm.errors import CsbmError
from csbm.rules.pack import RulePack
from csbm.services.documents import Document, FindingDocument, Instant
from csbm.services.memo import derived
from csbm.services.replay import CaseDocument, Replayed

__all__ = [
    "NOTIFICATION_PROCEDURE",
    "ActivityFeature",
    "BorderZoneFeature",
    "Criterion",
    "MapDocument",
    "ThresholdCheck",
    "activities",
    "activity_map",
    "border_zones",
    "borders_geojson",
]

NOTIFICATION_PROCEDURE = "prior_notification"
SCREEN_OPTION = "unknown_zone_screen_km"


class Criterion(Document):
    """One figure against one criterion: ``met`` None when the figure or the number is
    unknown."""

    name: str
    limit: int | None
    value: int | None
    met: bool | None


class ThresholdCheck(Document):
    """An activity's figures against a threshold entry of a pack (any criterion met
    reaches it)."""

    pack: str
    rule: str
    paragraph: str | None
    title: str
    comparison: str
    criteria: list[Criterion]
    reached: bool | None


class ActivityFeature(Document):
    """A notified or planned activity: its case, where it stands (``planned``,
    ``notified``, ``amended``, ``cancelled``), who notifies, when, its figures, its area
    (GeoJSON geometry, or None with ``area_problem``), thresholds and findings."""

    case: str
    status: str
    name: str | None
    kind: str | None
    notifying_state: str | None
    host_state: str | None
    start: Instant | None
    end: Instant | None
    forces: dict[str, Any]
    notified_at: Instant | None
    in_calendar: bool | None
    geometry: dict[str, Any] | None
    area_problem: str | None = None
    thresholds: list[ThresholdCheck]
    findings: list[FindingDocument]


class BorderZoneFeature(Document):
    """A bilateral pack's zone along its parties' common border: ``width_km`` from the
    agreement, or (``provisional``) the analyst's screening distance while the width is
    unknown. ``geometry`` is GeoJSON (None when the parties share no border)."""

    pack: str
    title: str
    parties: list[str]
    width_km: float | None
    provisional: bool
    note: str | None
    geometry: dict[str, Any] | None


class MapDocument(Document):
    """The *Map* page: activities (filtered by year and State when asked) and the border
    zones. The borders themselves are served once, apart (:func:`borders_geojson`)."""

    at: Instant
    year: int | None
    state: str | None
    activities: list[ActivityFeature]
    zones: list[BorderZoneFeature]
    log_size: int | None = None


def _area_of(case: CaseDocument) -> Any:
    """The area the case's messages give, the last change winning."""
    area: Any = None
    for h in case.history:
        if not h.accepted:
            continue
        body = h.body
        if h.type == "calendar":
            for entry in body.get("activities") or ():
                if isinstance(entry, Mapping) and str(entry.get("case")) == case.case:
                    activity = entry.get("activity", entry)
                    if isinstance(activity, Mapping) and activity.get("area") is not None:
                        area = activity["area"]
        elif h.type == "notification":
            activity = body.get("activity")
            if isinstance(activity, Mapping) and activity.get("area") is not None:
                area = activity["area"]
        elif h.type == "notification.amendment" and body.get("area") is not None:
            area = body["area"]
    return area


def _host_of(case: CaseDocument) -> str | None:
    hosts = case.parties.get("host") or []
    return hosts[0] if hosts else None


def thresholds(packs: Sequence[RulePack], kind: str | None, host: str | None,
               forces: Mapping[str, Any]) -> list[ThresholdCheck]:  # fmt: skip
    """The activity's figures against every threshold entry of the multilateral packs and
    of the bilateral packs whose parties include the host State."""
    out: list[ThresholdCheck] = []
    for pack in packs:
        if pack.parties != "all" and (host is None or host not in pack.parties):
            continue
        for rule in pack.rules:
            spec = rule.spec
            if getattr(spec, "type", None) != "threshold":
                continue
            if rule.applies_to is not None and kind not in {str(k) for k in rule.applies_to}:
                continue
            criteria: list[Criterion] = []
            for name, limit in spec.criteria.items():  # type: ignore[union-attr]
                raw = forces.get(name)
                value = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
                met = None
                if value is not None and limit is not None:
                    met = value >= limit if spec.comparison == ">=" else value > limit  # type: ignore[union-attr]
                criteria.append(Criterion(name=name, limit=limit, value=value, met=met))
            reached: bool | None
            if any(c.met for c in criteria):
                reached = True
            elif all(c.met is False for c in criteria):
                reached = False
            else:
                reached = None
            out.append(
                ThresholdCheck(
                    pack=pack.id, rule=rule.id, paragraph=rule.paragraph, title=rule.title,
                    comparison=str(spec.comparison), criteria=criteria,  # type: ignore[union-attr]
                    reached=reached,
                )
            )
    return out


def activities(replayed: Replayed, packs: Sequence[RulePack]) -> list[ActivityFeature]:
    """Every activity of the record (one per notification case), in start order; made
    once per projection and packs (:func:`csbm.services.memo.derived`)."""
    key = ("map.activities", tuple(p.id for p in packs))
    return derived(replayed, key, lambda: _activities(replayed, packs))


def _activities(replayed: Replayed, packs: Sequence[RulePack]) -> list[ActivityFeature]:
    out: list[ActivityFeature] = []
    for view in replayed.result.cases:
        if view.procedure != NOTIFICATION_PROCEDURE:
            continue
        case = CaseDocument.of(view)
        d = case.details
        forces = d.get("forces") if isinstance(d.get("forces"), dict) else {}
        geometry: dict[str, Any] | None = None
        problem: str | None = None
        area = _area_of(case)
        if area is None:
            problem = "no area given"
        else:
            try:
                geometry = _geojson(area)
            except CsbmError as exc:
                problem = "; ".join(exc.lines())
        host = _host_of(case)
        kind = d.get("kind") if isinstance(d.get("kind"), str) else None
        out.append(
            ActivityFeature(
                case=case.case,
                status=case.state,
                name=d.get("activity"),
                kind=kind,
                notifying_state=d.get("notifying_state"),
                host_state=host,
                start=d.get("start"),
                end=d.get("end"),
                forces=dict(forces or {}),
                notified_at=d.get("notified_at"),
                in_calendar=d.get("in_calendar"),
                geometry=geometry,
                area_problem=problem,
                thresholds=thresholds(packs, kind, host, forces or {}),
                findings=list(case.findings),
            )
        )
    out.sort(key=lambda a: (a.start is None, a.start, a.case))
    return out


def _geojson(area: Any) -> dict[str, Any]:
    from shapely.geometry import mapping

    from csbm.geo import area_geometry

    return _rounded(mapping(area_geometry(area)), 5)  # type: ignore[no-any-return]


def activity_map(
    replayed: Replayed,
    packs: Sequence[RulePack],
    *,
    year: int | None = None,
    state: str | None = None,
    log_size: int | None = None,
) -> MapDocument:
    """The *Map* document: the activities (of ``year`` and ``state`` when given: the
    notifying or host State) and the border zones of the bilateral packs; made once per
    projection, packs, year and State. ``log_size``: the size of the log the projection
    was made from (:mod:`csbm.web.replays`)."""
    code = state.strip().upper() if state else None

    def make() -> MapDocument:
        rows = [
            a
            for a in activities(replayed, packs)
            if (year is None or (a.start is not None and a.start.year == year))
            and (code is None or code in (a.notifying_state, a.host_state))
        ]
        return MapDocument(
            at=replayed.result.at, year=year, state=code, activities=rows,
            zones=border_zones(packs),
        )  # fmt: skip

    doc = derived(replayed, ("map", tuple(p.id for p in packs), year, code), make)
    return doc if log_size is None else doc.model_copy(update={"log_size": log_size})


def border_zones(packs: Sequence[RulePack]) -> list[BorderZoneFeature]:
    """The zone of each bilateral pack of two parties (each band computed once per
    process)."""
    out: list[BorderZoneFeature] = []
    for pack in packs:
        if pack.parties == "all" or len(pack.parties) != 2:
            continue
        width = pack.border_zone.width_km if pack.border_zone is not None else None
        provisional = width is None
        if width is None:
            screen = pack.option(SCREEN_OPTION)
            width = float(screen) if isinstance(screen, int | float) else None
        note = pack.border_zone.note if pack.border_zone is not None else None
        geometry = None
        if width is not None:
            geometry = _zone(pack.parties[0], pack.parties[1], float(width))
        out.append(
            BorderZoneFeature(
                pack=pack.id, title=pack.title, parties=list(pack.parties), width_km=width,
                provisional=provisional, note=note, geometry=geometry,
            )
        )
    return out


@cache
def _zone(a: str, b: str, width_km: float) -> dict[str, Any] | None:
    """The band of ``width_km`` on both sides of the common border of ``a`` and ``b``."""
    import numpy as np
    import shapely
    from pyproj import Transformer
    from shapely.geometry import mapping

    from csbm.geo import default_boundaries

    line = default_boundaries().common_border(a, b).line
    if line.is_empty:
        return None
    centre = line.centroid
    aeqd = f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m"
    forward = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    back = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)

    def through(t: Transformer) -> Any:
        return lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))

    band = shapely.transform(line, through(forward)).buffer(width_km * 1000.0, quad_segs=8)
    shape = shapely.transform(band, through(back)).simplify(0.01, preserve_topology=True)
    return _rounded(mapping(shape))  # type: ignore[no-any-return]


def _rounded(value: Any, digits: int = 3) -> Any:
    """GeoJSON coordinates to ``digits`` decimals (about 100 m: the screen needs no more),
    tuples as lists."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, Mapping):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


@cache
def borders_geojson(tolerance_deg: float = 0.03) -> bytes:
    """The participating States' borders (Natural Earth 1:10m, as vendored in
    :mod:`csbm.geo`), simplified by ``tolerance_deg``, as a GeoJSON FeatureCollection
    (RFC 7946), serialised once per process."""
    from shapely.geometry import mapping

    from csbm.geo import default_boundaries

    boundaries = default_boundaries()
    features = []
    for code, geom in sorted(boundaries.countries.items()):
        shape = geom.simplify(tolerance_deg, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code},
                "geometry": _rounded(mapping(shape)),
            }
        )
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")
