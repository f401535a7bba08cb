"""The 57 OSCE participating States and whether their territory lies in the zone of
application (VD 2011, Introduction and Annex I; digest §2).

``zone`` is ``"whole"``, ``"part"`` (only some of the territory: Russia west of the Urals),
``"none"`` (United States, Canada: only their forces inside the zone count) or ``None``
where the digest does not say (Mongolia, which joined the OSCE in 2012). ``zone_note``
says what the part is and how sure we are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ZoneCoverage = Literal["whole", "part", "none"]


@dataclass(frozen=True)
class ParticipatingState:
    code: str
    name: str
    zone: ZoneCoverage | None
    zone_note: str | None = None

    @property
    def in_zone(self) -> bool | None:
        """True if wholly in the zone, False if not at all, None if it depends or is unknown."""
        if self.zone == "whole":
            return True
        if self.zone == "none":
            return False
        return None


_W: ZoneCoverage = "whole"

PARTICIPATING_STATES: tuple[ParticipatingState, ...] = (
    ParticipatingState("AL", "Albania", _W),
    ParticipatingState("AD", "Andorra", _W),
    ParticipatingState("AM", "Armenia", _W),
    ParticipatingState("AT", "Austria", _W),
    ParticipatingState("AZ", "Azerbaijan", _W),
    ParticipatingState("BY", "Belarus", _W),
    ParticipatingState("BE", "Belgium", _W),
    ParticipatingState("BA", "Bosnia and Herzegovina", _W),
    ParticipatingState("BG", "Bulgaria", _W),
    ParticipatingState(
        "CA", "Canada", "none", "only Canadian forces and activities inside the zone [C] S3"
    ),
    ParticipatingState("HR", "Croatia", _W),
    ParticipatingState("CY", "Cyprus", _W),
    ParticipatingState("CZ", "Czechia", _W),
    ParticipatingState("DK", "Denmark", _W),
    ParticipatingState("EE", "Estonia", _W),
    ParticipatingState("FI", "Finland", _W),
    ParticipatingState("FR", "France", _W),
    ParticipatingState("GE", "Georgia", _W),
    ParticipatingState("DE", "Germany", _W),
    ParticipatingState("GR", "Greece", _W),
    ParticipatingState("VA", "Holy See", _W),
    ParticipatingState("HU", "Hungary", _W),
    ParticipatingState("IS", "Iceland", _W),
    ParticipatingState("IE", "Ireland", _W),
    ParticipatingState("IT", "Italy", _W),
    ParticipatingState(
        "KZ",
        "Kazakhstan",
        "part",
        "Central Asian participating States are covered [C] S3; which part of Kazakhstan "
        "(all of it, or west of the Ural River as under the CFE Treaty) is unverified",
    ),
    ParticipatingState("KG", "Kyrgyzstan", _W, "Central Asian participating State [C] S3"),
    ParticipatingState("LV", "Latvia", _W),
    ParticipatingState("LI", "Liechtenstein", _W),
    ParticipatingState("LT", "Lithuania", _W),
    ParticipatingState("LU", "Luxembourg", _W),
    ParticipatingState("MT", "Malta", _W),
    ParticipatingState("MD", "Moldova", _W),
    ParticipatingState("MC", "Monaco", _W),
    ParticipatingState(
        "MN", "Mongolia", None, "joined the OSCE in 2012; the digest does not say (unknown)"
    ),
    ParticipatingState("ME", "Montenegro", _W),
    ParticipatingState("NL", "Netherlands", _W),
    ParticipatingState("MK", "North Macedonia", _W),
    ParticipatingState("NO", "Norway", _W),
    ParticipatingState("PL", "Poland", _W),
    ParticipatingState("PT", "Portugal", _W),
    ParticipatingState("RO", "Romania", _W),
    ParticipatingState(
        "RU", "Russian Federation", "part", "territory west of the Urals only [C] S23, S3"
    ),
    ParticipatingState("SM", "San Marino", _W),
    ParticipatingState("RS", "Serbia", _W),
    ParticipatingState("SK", "Slovakia", _W),
    ParticipatingState("SI", "Slovenia", _W),
    ParticipatingState("ES", "Spain", _W),
    ParticipatingState("SE", "Sweden", _W),
    ParticipatingState("CH", "Switzerland", _W),
    ParticipatingState("TJ", "Tajikistan", _W, "Central Asian participating State [C] S3"),
    ParticipatingState("TM", "Turkmenistan", _W, "Central Asian participating State [C] S3"),
    ParticipatingState(
        "TR",
        "Türkiye",
        "part",
        "European territory is in the zone; how Anatolia is treated is not in the digest",
    ),
    ParticipatingState("UA", "Ukraine", _W),
    ParticipatingState("GB", "United Kingdom", _W),
    ParticipatingState(
        "US",
        "United States of America",
        "none",
        "only US forces and activities inside the zone [C] S3",
    ),
    ParticipatingState("UZ", "Uzbekistan", _W, "Central Asian participating State [C] S3"),
)

STATES_BY_CODE: dict[str, ParticipatingState] = {s.code: s for s in PARTICIPATING_STATES}


def state(code: str) -> ParticipatingState:
    """The participating State with ISO 3166-1 alpha-2 ``code``; KeyError if none."""
    return STATES_BY_CODE[code.upper()]


def is_participating_state(code: str) -> bool:
    return code.upper() in STATES_BY_CODE
