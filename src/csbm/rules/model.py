"""What the engine answers: obligations, findings, constraint results (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from csbm.domain.activity import Activity
from csbm.domain.records import quick_init
from csbm.rules.applicability import PackApplication, PackDecision

ObligationStatus = Literal["met", "missed", "open", "not_applicable", "unknown"]
FindingKind = Literal["violation", "near_threshold", "possible_split", "inconsistency"]
Severity = Literal["high", "medium", "low", "info"]

# Obligation kinds, named after the measures they serve.
PRIOR_NOTIFICATION = "prior_notification"
OBSERVATION_INVITATION = "observation_invitation"
ANNUAL_CALENDAR = "annual_calendar"
ADVANCE_COMMUNICATION = "advance_communication"


@quick_init
@dataclass(frozen=True, slots=True)
class Obligation:
    """What someone owes by when, and whether it is met given what is known."""

    rule: str
    paragraph: str | None
    pack: str
    kind: str
    owed_by: tuple[str, ...]
    owed_to: str
    due: datetime | None
    status: ObligationStatus
    triggered_by: tuple[str, ...] = ()
    note: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    """What the engine noticed."""

    rule: str
    kind: FindingKind
    severity: Severity
    message: str
    pack: str = "vd2011"
    activities: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class ActivityAssessment:
    activity: Activity
    packs: tuple[PackApplication, ...]
    obligations: tuple[Obligation, ...]
    findings: tuple[Finding, ...]
    members: tuple[str, ...] = ()
    not_applied: tuple[PackDecision, ...] = ()

    @property
    def name(self) -> str:
        return self.activity.name


@quick_init
@dataclass(frozen=True, slots=True)
class ConstraintResult:
    """One constraining provision for one State and window: how many, of how many allowed."""

    rule: str
    paragraph: str | None
    state: str
    window: str
    count: int
    limit: int | None
    status: Literal["within", "broken", "unknown"]
    activities: tuple[str, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class Assessment:
    regime: tuple[str, ...]
    at: datetime
    activities: tuple[ActivityAssessment, ...]
    constraints: tuple[ConstraintResult, ...]
    findings: tuple[Finding, ...]
    assumed: tuple[str, ...] = ()
