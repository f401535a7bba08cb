"""The assess service: its document, and the streamed JSON equal to the whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from csbm.errors import InputError
from csbm.services.assess import (
    assess_activities,
    assessment_document,
    json_chunks,
    load_regime,
    read_activities,
)

ROOT = Path(__file__).resolve().parents[2]
CLOCK = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "example", ["zapad-2017.yaml", "snap-2014.yaml", "union-resolve-2022.yaml"]
)
def test_streamed_json_is_the_document(example: str) -> None:
    path = ROOT / "examples" / example
    if not path.exists():
        pytest.skip(f"{example} not bundled")
    packs, forced = load_regime(None)
    result = assess_activities(read_activities(path), packs, CLOCK, forced=forced)
    whole = assessment_document(result, ["x"]).to_json()
    text = b"".join(json_chunks(result, ["x"])).decode("utf-8")
    assert text == json.dumps(whole, ensure_ascii=False, indent=2) + "\n"
    assert json.loads(text)["activities"][0]["obligations"]


def test_no_activities_streams_an_empty_list() -> None:
    packs, _ = load_regime(["vd2011"])
    result = assess_activities([], packs, CLOCK, forced=True)
    text = b"".join(json_chunks(result)).decode("utf-8")
    assert json.loads(text)["activities"] == []
    assert text == json.dumps(assessment_document(result).to_json(), indent=2) + "\n"


def test_zapad_obligation_in_the_one_owed_shape() -> None:
    packs, _ = load_regime(["vd2011"])
    result = assess_activities(
        read_activities(ROOT / "examples" / "zapad-2017.yaml"), packs, CLOCK, forced=True
    )
    doc = assessment_document(result).to_json()
    lead = next(o for o in doc["activities"][0]["obligations"] if o["rule"] == "NOTIF_LEAD")
    assert lead["due"] == "2017-08-03T00:00:00Z"
    assert lead["owed_by"] == ["BY", "RU"]
    assert isinstance(lead["owed_to"], list)


def test_bad_file_refused_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text("name: x\nname: y\n")
    with pytest.raises(InputError) as info:
        read_activities(bad)
    assert "given twice" in info.value.lines()[0]


def test_streamed_json_escapes_as_the_standard_library() -> None:
    """Names with quotes, backslashes, control characters, line separators and other
    scripts; instants with and without seconds' fractions; more activities than a batch:
    the streamed text is still ``json.dumps(..., indent=2, ensure_ascii=False)``."""
    from csbm.domain.activity import Activity
    from csbm.services import assess as service

    names = ['Запад "17"\\', "tab\there\x01", "sep\u2028x\u2029", "emoji 🛰", "𝔘nion"]
    activities = [
        Activity.model_validate(
            {
                "name": f"{names[i % len(names)]} {i}",
                "conducting_states": ["BY", "RU"] if i % 3 else ["PL"],
                "host_state": "BY" if i % 3 else "PL",
                "start": f"2017-09-{1 + i % 28:02d}T10:00:00.{i:06d}Z",
                "forces": {"troops": 9000 + 100 * i, "battle_tanks": 250 + i},
            }
        )
        for i in range(service.CHUNK + 7)
    ]
    packs, _ = load_regime(["vd2011"])
    result = assess_activities(activities, packs, CLOCK, forced=True)
    whole = assessment_document(result, ["ünïcode \"note\""]).to_json()
    text = b"".join(json_chunks(result, ["ünïcode \"note\""])).decode("utf-8")
    assert text == json.dumps(whole, ensure_ascii=False, indent=2) + "\n"
    assert len(json.loads(text)["activities"]) == service.CHUNK + 7
