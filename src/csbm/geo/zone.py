"""The zone of application (VD 2011 Introduction and Annex I; digest §2) as geometry.

The Document covers "the whole of Europe as well as the adjoining sea area and air space"
[C] S23, the Central Asian participating States [C] S3, and for Russia only the territory
west of the Urals [C] S23, S3. This module turns that into land and sea geometry, with
three answers: ``True`` (in the zone), ``False`` (outside) and ``None`` (the geometry or the
text leaves it open). Every approximation below is an analyst's reading, documented in
docs/regional-measures.md, and each verdict carries its reason.

Land (the boundaries dataset, csbm.geo.boundaries):

* States whose whole territory is in the zone (csbm.domain.states, ``zone == "whole"``):
  their land north of 27° N and east of 32° W ("the Europe frame"), which keeps Europe,
  the Caucasus, Cyprus, the Central Asian States and the Atlantic islands the CFE Treaty
  lists as European (Azores, Madeira, Canary Islands, Faroe, Svalbard; CFE Art. II.1(B),
  used by analogy [U]) and leaves out overseas territories (French Guiana, Réunion,
  Caribbean Netherlands ...). Units of the dataset that are not States but whose land is
  in Europe go with a State (csbm.geo.codes.ZONE_ASSOCIATES).
* Russia: west of the Urals line (below) → in; east → out; within
  ``urals_uncertainty_km`` of the line → None.
* Kazakhstan: west of the Ural River (the same line) → in — the zone covers it under
  either reading; the rest depends on the ``kazakhstan`` reading: ``"unknown"`` (default,
  None), ``"whole"`` (every Central Asian State wholly in) or ``"west_of_ural_river"``
  (as the CFE area of application).
* Türkiye: the European part (Thrace) → in; Anatolia → None (the digest does not say).
* Mongolia → None (the digest does not say); United States, Canada → out (only their
  forces inside the zone count); every other State's land → out.

Sea: water within ``adjoining_sea_km`` of land in the zone is the "adjoining sea area" → in.
The default, 370.4 km (200 nautical miles, the breadth of an exclusive economic zone,
UNCLOS Art. 57), is an analyst's proxy: the Document does not delimit the sea area.
Farther out, water in the North-East Atlantic and European Arctic (27–90° N, 45° W–75° E)
→ None ("ocean areas adjoining Europe" are in but not delimited); elsewhere → out.
Air space follows the land or water below it.

The Urals line (``URALS_LINE``) follows the CFE Treaty's definition of the Soviet part of
its area of application (west of the Ural Mountains, the Ural River and the Caspian Sea,
CFE Art. II.1(B)), hand-digitised from named summits and river towns: Konstantinov Kamen,
Payer, Narodnaya, the Konzhakovsky and Kachkanar massifs, the watershed west of
Yekaterinburg, Zlatoust, the Ural River's source on the Uraltau, Magnitogorsk, Orsk,
Orenburg, Oral (Uralsk), Atyrau and the river mouth, then down the middle of the Caspian;
north of the mainland it runs through the Kara Sea so that Novaya Zemlya and Franz Josef
Land (listed by CFE) are west of it. Coordinates are from memory and straight segments
cut the bends: the uncertainty is put at 30 km [U].

Every reason is a :class:`csbm.i18n.Phrase` (issue 12, item 2): its English text as
before, shown in the reader's language at the edge, the names of States and territories
as CLDR gives them in that language (:mod:`csbm.geo.names`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from csbm.domain.states import STATES_BY_CODE
from csbm.geo.areas import area_geometry
from csbm.geo.boundaries import Boundaries, default_boundaries
from csbm.geo.codes import NUMERIC_TO_ALPHA2, ZONE_ASSOCIATES
from csbm.geo.distance import GeodesicIndex, tile
from csbm.geo.names import territory
from csbm.i18n import N_, phrase

__all__ = [
    "ADJOINING_SEA_KM",
    "URALS_LINE",
    "URALS_UNCERTAINTY_KM",
    "KazakhstanReading",
    "ZoneOfApplication",
    "ZoneVerdict",
    "in_zone",
    "zone_of_application",
]

KazakhstanReading = Literal["unknown", "whole", "west_of_ural_river"]

ADJOINING_SEA_KM = 370.4  # analyst's proxy (200 NM, UNCLOS Art. 57); see the module doc
URALS_UNCERTAINTY_KM = 30.0  # [U] see the module doc

# (longitude, latitude), north to south. Approximate; see the module doc.
URALS_LINE: tuple[tuple[float, float], ...] = (
    (71.0, 85.0),  # Arctic Ocean, east of Franz Josef Land
    (71.0, 79.0),  # between Franz Josef Land and Vize Island
    (72.0, 76.5),  # east of Novaya Zemlya's northern tip (Cape Zhelaniya)
    (64.0, 73.5),  # Kara Sea, between Novaya Zemlya and Yamal
    (64.0, 70.5),  # Kara Sea, between Vaygach and Yamal
    (66.3, 68.5),  # Konstantinov Kamen, northern end of the Polar Urals
    (64.4, 66.9),  # Payer
    (60.1, 65.0),  # Narodnaya
    (59.2, 62.0),  # Northern Urals watershed
    (59.1, 59.6),  # Konzhakovsky Kamen
    (59.5, 58.7),  # Kachkanar
    (60.05, 56.85),  # watershed west of Yekaterinburg (Europe–Asia obelisk)
    (59.7, 55.2),  # Zlatoust
    (59.45, 54.7),  # source of the Ural River (Uraltau)
    (59.2, 53.9),  # Verkhneuralsk
    (58.98, 53.41),  # Magnitogorsk
    (58.57, 51.2),  # Orsk
    (57.5, 51.0),  # between Orsk and Orenburg
    (55.1, 51.77),  # Orenburg
    (53.3, 51.45),  # mouth of the Ilek
    (51.37, 51.23),  # Oral (Uralsk)
    (51.15, 50.2),  # Chapaev
    (51.78, 48.55),  # Inderbor
    (51.88, 47.11),  # Atyrau
    (51.7, 46.9),  # mouth of the Ural River
    (49.5, 45.3),  # northern Caspian
    (49.0, 44.0),  # middle Caspian
    (49.5, 42.0),  # middle Caspian, south of Russia's coast
)

_EUROPE_FRAME = shapely.box(-32.0, 27.0, 180.0, 90.0)
_ATLANTIC_ARCTIC = shapely.box(-45.0, 27.0, 75.0, 90.0)
# Thrace and the Gallipoli peninsula (west of the Bosporus, the Sea of Marmara and the
# Dardanelles), as a generous outline that keeps Anatolia out.
_THRACE = shapely.Polygon(
    [(25.6, 40.0), (26.3, 40.0), (26.8, 40.5), (29.05, 41.0), (29.2, 41.3), (29.2, 42.2),
     (25.6, 42.2)]
)  # fmt: skip


_ZONE_NOTES = (
    N_("joined the OSCE in 2012; the digest does not say (unknown)"),
    N_("not known"),
)
"""The ``zone_note`` of a State whose coverage the digest leaves open
(:mod:`csbm.domain.states`), as message ids: shown translated (``{note!t}``)."""


@dataclass(frozen=True)
class ZoneVerdict:
    """Whether a geometry is in the zone of application, and why."""

    inside: bool | None
    reason: str


@dataclass(frozen=True)
class _Piece:
    inside: bool | None
    reason: str


def _west_of_urals() -> BaseGeometry:
    ring = [(0.0, 35.0), (0.0, 85.0), *URALS_LINE, (49.5, 35.0)]
    return shapely.Polygon(ring)


def _urals_band(km: float) -> BaseGeometry:
    to_m = Transformer.from_crs(
        "EPSG:4326", "+proj=aeqd +lat_0=60 +lon_0=60 +datum=WGS84 +units=m", always_xy=True
    )
    to_deg = Transformer.from_crs(
        "+proj=aeqd +lat_0=60 +lon_0=60 +datum=WGS84 +units=m", "EPSG:4326", always_xy=True
    )

    def fwd(c: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = to_m.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    def inv(c: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = to_deg.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    line = shapely.transform(shapely.LineString(URALS_LINE), fwd)
    return shapely.transform(line.buffer(km * 1000.0, quad_segs=4), inv)


class ZoneOfApplication:
    """The zone of application over a boundaries dataset (see the module doc)."""

    def __init__(
        self,
        boundaries: Boundaries,
        *,
        kazakhstan: KazakhstanReading = "unknown",
        adjoining_sea_km: float = ADJOINING_SEA_KM,
        urals_uncertainty_km: float = URALS_UNCERTAINTY_KM,
    ) -> None:
        self.boundaries = boundaries
        self.kazakhstan = kazakhstan
        self.adjoining_sea_km = adjoining_sea_km
        self.urals_uncertainty_km = urals_uncertainty_km
        west = _west_of_urals()
        band = _urals_band(urals_uncertainty_km)
        pieces: list[BaseGeometry] = []
        labels: list[_Piece] = []

        def add(geom: BaseGeometry, piece: _Piece) -> None:
            for part in tile(geom):
                pieces.append(part)
                labels.append(piece)

        units: list[tuple[str, str | None, BaseGeometry]] = [
            (code, code, g) for code, g in boundaries.countries.items()
        ]
        for key, g in boundaries.others.items():
            units.append((key, ZONE_ASSOCIATES.get(key) or NUMERIC_TO_ALPHA2.get(key), g))
        for key, code, geom in units:
            for part in shapely.get_parts(geom):
                for geom_part, piece in self._classify_unit(key, code, part, west, band):
                    add(geom_part, piece)
        self._pieces = np.asarray(pieces, dtype=object)
        self._labels = labels
        for p in pieces:
            shapely.prepare(p)
        self._tree = shapely.STRtree(self._pieces)
        self._inside_land = GeodesicIndex([p for p, lab in zip(pieces, labels, strict=True)
                                           if lab.inside is True])

    def _classify_unit(
        self, key: str, code: str | None, geom: BaseGeometry, west: BaseGeometry,
        band: BaseGeometry,
    ) -> list[tuple[BaseGeometry, _Piece]]:
        state = STATES_BY_CODE.get(code) if code else None
        if state is None:
            label = territory(self.boundaries.names.get(key, key), code)
            return [(geom, _Piece(False, phrase(N_("{place}: not a participating State"),
                                                place=label)))]  # fmt: skip
        name = territory(state.name, code)
        if code == "RU":
            return [
                (geom.intersection(west).difference(band),
                 _Piece(True, phrase(N_("Russia west of the Urals")))),
                (geom.intersection(band),
                 _Piece(None, phrase(N_("Russia within {km:g} km of the approximate Urals "
                                        "line"), km=self.urals_uncertainty_km))),
                (geom.difference(west).difference(band),
                 _Piece(False, phrase(N_("Russia east of the Urals")))),
            ]  # fmt: skip
        if code == "KZ":
            rest: bool | None = {"unknown": None, "whole": True, "west_of_ural_river": False}[
                self.kazakhstan
            ]
            return [
                (geom.intersection(west).difference(band),
                 _Piece(True, phrase(N_("Kazakhstan west of the Ural River")))),
                (geom.intersection(band),
                 _Piece(rest if rest is True else None,
                        phrase(N_("Kazakhstan near the approximate Ural River line")))),
                (geom.difference(west).difference(band),
                 _Piece(rest, phrase(N_("Kazakhstan east of the Ural River (reading: "
                                        "{reading})"), reading=self.kazakhstan))),
            ]  # fmt: skip
        if code == "TR":
            if _THRACE.contains(geom.representative_point()):
                return [(geom, _Piece(True, phrase(N_("Türkiye, European part (Thrace)"))))]
            return [(geom, _Piece(None, phrase(N_("Türkiye, Anatolia: the digest does not say "
                                                  "(unknown)"))))]  # fmt: skip
        if state.zone == "whole":
            if _EUROPE_FRAME.contains(geom):
                return [(geom, _Piece(True, name))]
            return [
                (geom.intersection(_EUROPE_FRAME), _Piece(True, name)),
                (geom.difference(_EUROPE_FRAME),
                 _Piece(False, phrase(N_("{state}: territory outside Europe"), state=name))),
            ]  # fmt: skip
        if state.zone == "none":
            return [(geom, _Piece(False, phrase(N_("{state}: only its forces inside the zone "
                                                   "count"), state=name)))]  # fmt: skip
        return [(geom, _Piece(None, phrase(N_("{state}: {note!t}"), state=name,
                                           note=state.zone_note or _ZONE_NOTES[1])))]  # fmt: skip

    def classify(self, area: Mapping[str, Any] | BaseGeometry) -> ZoneVerdict:
        """In the zone (some part of the area certainly is), outside, or None (open).

        A geometry on one polygon part of a State gets that part's answer; an area that
        touches land in the zone anywhere is in the zone (an activity partly in the zone
        takes place in it).
        """
        geom = area_geometry(area)
        hits = self._tree.query(geom, predicate="intersects")
        labels = [self._labels[int(i)] for i in hits]
        inside = [lab for lab in labels if lab.inside is True]
        if inside:
            return ZoneVerdict(True, phrase(N_("in the zone: {reason}"), reason=inside[0].reason))
        open_ = [lab for lab in labels if lab.inside is None]
        on_land = len(hits) > 0 and geom.difference(
            shapely.union_all(list(self._pieces[hits]))
        ).is_empty
        if not on_land:
            nearest = self._inside_land.nearest(geom)
            if nearest is not None and nearest.km <= self.adjoining_sea_km:
                return ZoneVerdict(
                    True,
                    phrase(N_("adjoining sea area: {km:.0f} km from land in the zone "
                              "(≤ {limit:g} km, analyst's proxy)"),
                           km=nearest.km, limit=self.adjoining_sea_km),
                )  # fmt: skip
            if open_:
                return ZoneVerdict(None, phrase(N_("open: {reason}"), reason=open_[0].reason))
            if _ATLANTIC_ARCTIC.intersects(geom):
                return ZoneVerdict(
                    None, phrase(N_("open sea adjoining Europe beyond the proxy belt: not "
                                    "delimited"))
                )  # fmt: skip
            return ZoneVerdict(False, phrase(N_("at sea, far from the zone")))
        if open_:
            return ZoneVerdict(None, phrase(N_("open: {reason}"), reason=open_[0].reason))
        return ZoneVerdict(False, phrase(N_("outside the zone: {reason}"),
                                         reason=labels[0].reason))  # fmt: skip


@cache
def zone_of_application(kazakhstan: KazakhstanReading = "unknown") -> ZoneOfApplication:
    """The zone over the default boundaries (cached per process)."""
    return ZoneOfApplication(default_boundaries(), kazakhstan=kazakhstan)


def in_zone(
    area: Mapping[str, Any] | BaseGeometry, zone: ZoneOfApplication | None = None
) -> bool | None:
    """True if (some of) ``area`` is in the zone of application, False if not, None if open."""
    return (zone or zone_of_application()).classify(area).inside
