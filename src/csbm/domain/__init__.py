"""The treaty's nouns: participating States, military activities, forces, instants."""

from csbm.domain.activity import (
    FORCE_FIELDS,
    Activity,
    ActivityKind,
    Declaration,
    Forces,
    Organisation,
    Phase,
)
from csbm.domain.states import (
    PARTICIPATING_STATES,
    ParticipatingState,
    is_participating_state,
    state,
)
from csbm.domain.time import InstantError, ParsedInstant, iso, parse_instant

__all__ = [
    "FORCE_FIELDS",
    "PARTICIPATING_STATES",
    "Activity",
    "ActivityKind",
    "Declaration",
    "Forces",
    "InstantError",
    "Organisation",
    "ParsedInstant",
    "ParticipatingState",
    "Phase",
    "is_participating_state",
    "iso",
    "parse_instant",
    "state",
]
