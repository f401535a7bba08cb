"""The boundary dataset: the vendored Natural Earth file, and a deployment's replacement."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest
import shapely

from csbm.domain.states import STATES_BY_CODE
from csbm.errors import InputError, NotFoundError
from csbm.geo import (
    DEFAULT_TOLERANCE_KM,
    ENV_BOUNDARIES,
    ENV_TOLERANCE,
    Boundaries,
    area_geometry,
    default_boundaries,
    load_boundaries,
    named_place,
)


def test_vendored_dataset_has_every_participating_state(boundaries: Boundaries) -> None:
    assert set(boundaries.countries) == set(STATES_BY_CODE)
    assert boundaries.tolerance_km == DEFAULT_TOLERANCE_KM
    assert "Natural Earth" in boundaries.source
    assert boundaries.country("by").contains(shapely.Point(27.56, 53.90))  # Minsk
    assert not boundaries.country("BY").contains(shapely.Point(30.52, 50.45))  # Kyiv


def test_vendored_file_matches_its_provenance() -> None:
    data = resources.files("csbm.geo") / "data"
    provenance = (data / "PROVENANCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((data / "countries-10m.json.gz").read_bytes()).hexdigest()
    assert digest in provenance
    assert "world-atlas" in provenance and "4.1.0" in provenance
    assert (data / "LICENSE").is_file()


def test_unknown_state_is_not_found(boundaries: Boundaries) -> None:
    with pytest.raises(NotFoundError):
        boundaries.country("XX")


def _square(code: str, x0: float, x1: float) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"iso_a2": code},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, 50.0], [x1, 50.0], [x1, 51.0], [x0, 51.0], [x0, 50.0]]],
        },
    }


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "borders.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_deployment_file_replaces_the_dataset(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "type": "FeatureCollection",
            "tolerance_km": 0.05,
            "features": [_square("BY", 20.0, 21.0), _square("UA", 21.0, 22.0)],
        },
    )
    own = load_boundaries(path)
    assert own.tolerance_km == 0.05
    assert set(own.countries) == {"BY", "UA"}
    border = own.common_border("BY", "UA")
    got = border.distance(area_geometry(named_place("x", 21.5, 50.5)))
    assert got is not None
    # half a degree of longitude at 50.5 N: ~35.5 km, along the parallel's geodesic
    assert got.km == pytest.approx(35.5, abs=0.3)


def test_a_deployment_file_must_state_its_tolerance(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"type": "FeatureCollection", "features": [_square("BY", 20.0, 21.0)]}
    )
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert err.value.problems[0].path == "tolerance_km"
    assert load_boundaries(path, tolerance_km=1.0).tolerance_km == 1.0


def test_bad_tolerance_and_bad_files_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"type": "FeatureCollection", "tolerance_km": -1, "features": [_square("BY", 20, 21)]},
    )
    with pytest.raises(InputError) as err:
        load_boundaries(path)
    assert err.value.problems[0].path == "tolerance_km"
    nothing = _write(tmp_path, {"type": "FeatureCollection", "tolerance_km": 1, "features": []})
    with pytest.raises(InputError, match="no participating State"):
        load_boundaries(nothing)
    with pytest.raises(NotFoundError):
        load_boundaries(tmp_path / "missing.geojson")


def test_environment_variable_selects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(
        tmp_path,
        {"type": "FeatureCollection", "features": [_square("PL", 20.0, 21.0)]},
    )
    monkeypatch.setenv(ENV_BOUNDARIES, str(path))
    monkeypatch.setenv(ENV_TOLERANCE, "0.2")
    own = default_boundaries()
    assert set(own.countries) == {"PL"}
    assert own.tolerance_km == 0.2
    monkeypatch.delenv(ENV_BOUNDARIES)
    assert "Natural Earth" in default_boundaries().source
