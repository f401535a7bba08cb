"""The zone of application: east and west of the Urals, Kazakhstan, Türkiye, sea, overseas."""

from __future__ import annotations

import pytest

from csbm.geo import ZoneOfApplication, in_zone, named_place

# (name, lon, lat, expected). Coordinates approximate (city centres).
POINTS = [
    ("Perm, west of the Urals", 56.25, 58.01, True),
    ("Ufa, west of the southern Urals", 55.96, 54.74, True),
    ("Moscow", 37.62, 55.76, True),
    ("Kaliningrad", 20.51, 54.71, True),
    ("Chelyabinsk, east of the Urals", 61.40, 55.16, False),
    ("Tyumen, east of the Urals", 65.53, 57.15, False),
    ("Novosibirsk", 82.92, 55.03, False),
    ("Vladivostok", 131.89, 43.12, False),
    ("Orenburg, on the Ural River: within the line's uncertainty", 55.10, 51.77, None),
    ("West Kazakhstan between the Volga and the Ural", 49.5, 48.5, True),
    ("Almaty: which part of Kazakhstan is unverified", 76.89, 43.24, None),
    ("Bishkek, Central Asian State", 74.59, 42.87, True),
    ("Ashgabat", 58.38, 37.95, True),
    ("Paris", 2.35, 48.86, True),
    ("Tenerife (Canary Islands, CFE island list by analogy)", -16.5, 28.3, True),
    ("Cayenne, French Guiana: overseas", -52.33, 4.93, False),
    ("Edirne, Thrace", 26.56, 41.68, True),
    ("Istanbul, European side", 28.98, 41.01, True),
    ("Ankara, Anatolia: the digest does not say", 32.85, 39.93, None),
    ("Washington: only US forces in the zone count", -77.04, 38.90, False),
    ("Tehran: not a participating State", 51.39, 35.69, False),
    ("Pristina (Kosovo unit of the dataset): Europe", 21.16, 42.66, True),
    ("Nicosia north (N. Cyprus unit)", 33.36, 35.20, True),
    ("Ulaanbaatar: Mongolia, not in the digest", 106.92, 47.92, None),
    ("North Sea, adjoining sea area", 3.0, 56.0, True),
    ("Black Sea", 34.0, 43.0, True),
    ("Mid-Atlantic beyond the belt: not delimited", -30.0, 45.0, None),
    ("Red Sea: far from the zone", 38.0, 20.0, False),
]


@pytest.mark.parametrize(("name", "lon", "lat", "expected"), POINTS)
def test_points(
    zone: ZoneOfApplication, name: str, lon: float, lat: float, expected: bool | None
) -> None:
    verdict = zone.classify(named_place(name, lon, lat))
    assert verdict.inside is expected, verdict.reason
    assert verdict.reason


def test_east_and_west_of_the_urals_differ_by_reason(zone: ZoneOfApplication) -> None:
    west = zone.classify(named_place("Perm", 56.25, 58.01))
    east = zone.classify(named_place("Chelyabinsk", 61.40, 55.16))
    assert "west of the Urals" in west.reason
    assert "east of the Urals" in east.reason


def test_an_area_across_the_urals_is_in_the_zone(zone: ZoneOfApplication) -> None:
    across = {"type": "LineString", "coordinates": [[56.25, 58.01], [65.53, 57.15]]}
    assert zone.classify(across).inside is True


def test_an_area_wholly_east_is_out(zone: ZoneOfApplication) -> None:
    east = {
        "type": "Polygon",
        "coordinates": [[[70, 57], [80, 57], [80, 62], [70, 62], [70, 57]]],
    }
    assert zone.classify(east).inside is False


@pytest.mark.parametrize(
    ("reading", "expected"), [("unknown", None), ("whole", True), ("west_of_ural_river", False)]
)
def test_kazakhstan_readings(zone: ZoneOfApplication, reading: str, expected: bool | None) -> None:
    other = ZoneOfApplication(zone.boundaries, kazakhstan=reading)  # type: ignore[arg-type]
    assert other.classify(named_place("Almaty", 76.89, 43.24)).inside is expected
    # west of the Ural River is in under every reading
    assert other.classify(named_place("West KZ", 49.5, 48.5)).inside is True


def test_in_zone_helper_uses_the_default_zone() -> None:
    assert in_zone(named_place("Perm", 56.25, 58.01)) is True
    assert in_zone({"type": "Point", "coordinates": [82.92, 55.03]}) is False


def test_a_wider_urals_band_turns_a_near_city_open(zone: ZoneOfApplication) -> None:
    yekaterinburg = named_place("Yekaterinburg", 60.61, 56.84)
    assert zone.classify(yekaterinburg).inside is False
    wide = ZoneOfApplication(zone.boundaries, urals_uncertainty_km=60.0)
    assert wide.classify(yekaterinburg).inside is None


# (name, lon, lat, English reason, Russian, Ukrainian): the reasons are phrases, in the
# reader's language at the edge, the States named as CLDR names them in it.
REASONS = [
    ("Perm", 56.25, 58.01, "in the zone: Russia west of the Urals",
     "в зоне: Россия к западу от Урала", "у зоні: Росія на захід від Уралу"),
    ("Chelyabinsk", 61.40, 55.16, "outside the zone: Russia east of the Urals",
     "вне зоны: Россия к востоку от Урала", "поза зоною: Росія на схід від Уралу"),
    ("Warsaw", 21.01, 52.23, "in the zone: Poland", "в зоне: Польша", "у зоні: Польща"),
    ("Orenburg", 55.10, 51.77, "open: Russia within 30 km of the approximate Urals line",
     "не установлено: Россия в пределах 30 км от приблизительной линии Урала",
     "не встановлено: Росія в межах 30 км від приблизної лінії Уралу"),
    ("Tehran", 51.39, 35.69, "outside the zone: Iran: not a participating State",
     "вне зоны: Иран: не является государством-участником",
     "поза зоною: Іран: не є державою-учасницею"),
    ("Red Sea", 38.0, 20.0, "at sea, far from the zone", "в море, далеко от зоны",
     "у морі, далеко від зони"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "lon", "lat", "english", "ru", "uk"), REASONS)
def test_reasons_in_the_readers_language(
    zone: ZoneOfApplication, name: str, lon: float, lat: float, english: str, ru: str, uk: str
) -> None:
    from csbm.i18n import say

    reason = zone.classify(named_place(name, lon, lat)).reason
    assert reason == english  # the English text as before
    assert say(reason, "ru") == ru
    assert say(reason, "uk") == uk


def test_a_reason_in_json_keeps_its_template(zone: ZoneOfApplication) -> None:
    from csbm.i18n import phrase_from_json, phrase_json, say

    reason = zone.classify(named_place("North Sea", 3.0, 56.0)).reason
    assert reason.startswith("adjoining sea area: ") and "analyst's proxy" in reason
    message_id, params = phrase_json(reason)
    assert message_id is not None and message_id.startswith("adjoining sea area: {km:.0f}")
    again = phrase_from_json(message_id, params)
    assert again == reason
    assert say(again, "ru").startswith("прилегающий морской район: ")
    assert "370,4" in say(again, "ru")  # the number in the reader's locale


def test_a_reason_survives_pickling_with_its_names(zone: ZoneOfApplication) -> None:
    """Projections are copied between processes: a reason keeps its State's name."""
    import pickle

    from csbm.i18n import say

    reason = zone.classify(named_place("Warsaw", 21.01, 52.23)).reason
    again = pickle.loads(pickle.dumps(reason))
    assert again == "in the zone: Poland" and say(again, "uk") == "у зоні: Польща"
