"""Geography for regional measures (issue 5): borders, distances, the zone of application.

* :mod:`csbm.geo.boundaries` — Natural Earth 1:10m admin-0 polygons (vendored, public
  domain; replaceable by a deployment's file) and the common border of two States.
* :mod:`csbm.geo.distance` — geodesic distance from an area to a border (WGS 84).
* :mod:`csbm.geo.areas` — the one area reader (GeoJSON polygon, points, named place):
  validity, antimeridian and size rules shared by ``assess`` and the procedures.
* :mod:`csbm.geo.zone` — the zone of application (VD 2011 Annex I; digest §2).
"""

from csbm.geo.areas import Area, area_geometry, named_place, place_name, read_area
from csbm.geo.boundaries import (
    DEFAULT_TOLERANCE_KM,
    ENV_BOUNDARIES,
    ENV_TOLERANCE,
    Boundaries,
    CommonBorder,
    default_boundaries,
    load_boundaries,
)
from csbm.geo.distance import GeodesicIndex, Nearest, geodesic_km
from csbm.geo.zone import (
    ADJOINING_SEA_KM,
    URALS_LINE,
    URALS_UNCERTAINTY_KM,
    KazakhstanReading,
    ZoneOfApplication,
    ZoneVerdict,
    in_zone,
    zone_of_application,
)

__all__ = [
    "ADJOINING_SEA_KM",
    "DEFAULT_TOLERANCE_KM",
    "ENV_BOUNDARIES",
    "ENV_TOLERANCE",
    "URALS_LINE",
    "URALS_UNCERTAINTY_KM",
    "Area",
    "Boundaries",
    "CommonBorder",
    "GeodesicIndex",
    "KazakhstanReading",
    "Nearest",
    "ZoneOfApplication",
    "ZoneVerdict",
    "area_geometry",
    "default_boundaries",
    "geodesic_km",
    "in_zone",
    "load_boundaries",
    "named_place",
    "place_name",
    "read_area",
    "zone_of_application",
]
