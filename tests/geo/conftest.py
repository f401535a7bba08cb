"""Shared geography fixtures: the vendored dataset and the zone, loaded once per worker."""

from __future__ import annotations

import pytest

from csbm.geo import Boundaries, ZoneOfApplication, default_boundaries, zone_of_application


@pytest.fixture(scope="session")
def boundaries() -> Boundaries:
    return default_boundaries()


@pytest.fixture(scope="session")
def zone() -> ZoneOfApplication:
    return zone_of_application()
