"""Deadlines: what is owed, soonest first, at a clock (issue 4, item 4).

Source: DESIGN.md principle 1 (deadlines are projections of the log); the open and overdue
deadlines of every procedure at the clock, then the undone ones whose number no pack gives
("unknown"). The result is a :class:`DeadlinesDocument`: ``csbm deadlines --json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import Field

from csbm.procedures.base import CaseView, Deadline, Finding
from csbm.procedures.prior_notification import ASSESSMENT_KINDS
from csbm.procedures.runner import ReplayResult
from csbm.services.documents import Document, FindingDocument, Instant, Owed, RefusedEntry
from csbm.services.replay import Replayed


def pending(result: ReplayResult) -> list[tuple[CaseView, Deadline]]:
    """Open and overdue deadlines, soonest first; undone unknown ones last."""
    rows: list[tuple[CaseView, Deadline]] = []
    for view in result.cases:
        for d in view.deadlines:
            if (
                d.status == "open"
                or (d.status == "missed" and d.met_at is None)
                or (d.status == "unknown" and d.met_at is None)
            ):
                rows.append((view, d))
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (r[1].due or far, r[0].case, r[1].rule, r[1].owed_by))
    return rows


class PendingDeadline(Owed):
    """One pending deadline: the :class:`Owed` shape with its case and procedure, the due
    instant in the user's zone, and hours left (or overdue) at the clock. ``status`` is
    ``overdue`` for a deadline missed and not done."""

    case: str
    procedure: str
    due_local: str | None = None
    hours_left: float | None = Field(default=None)
    hours_overdue: float | None = Field(default=None)

    @classmethod
    def of(cls, view: CaseView, d: Deadline, clock: datetime, zone: tzinfo) -> PendingDeadline:
        owed = Owed.of_deadline(d).model_dump()
        owed["status"] = "overdue" if d.status == "missed" else d.status
        left: float | None = None
        over: float | None = None
        if d.due is not None:
            seconds = (d.due - clock).total_seconds()
            hours = abs(round(seconds / 3600, 1))
            left, over = (hours, None) if seconds >= 0 else (None, hours)
        return cls(
            **owed,
            case=view.case,
            procedure=view.procedure,
            due_local=d.due.astimezone(zone).isoformat() if d.due else None,
            hours_left=left,
            hours_overdue=over,
        )


def assessment_findings(result: ReplayResult) -> list[Finding]:
    """The findings of the assessment on arrival (notifications, amendments, calendars:
    ``procedures.prior_notification``), in the replay's order."""
    return [f for f in result.findings if f.kind in ASSESSMENT_KINDS]


class DeadlinesDocument(Document):
    """The pending deadlines at ``at``, the findings of the activities assessed on
    arrival, and the log entries a schema refused."""

    at: Instant
    zone: str
    deadlines: list[PendingDeadline]
    findings: list[FindingDocument] = Field(default_factory=list)
    refused: list[RefusedEntry] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Hours left or overdue: only the one that applies is written."""
        doc = super().to_json()
        for row in doc["deadlines"]:
            for name in ("hours_left", "hours_overdue"):
                if row[name] is None:
                    del row[name]
        return doc


def deadlines(replayed: Replayed, clock: datetime, zone: tzinfo) -> DeadlinesDocument:
    """The pending deadlines of a replay at ``clock``, due times also in ``zone``."""
    rows: Sequence[tuple[CaseView, Deadline]] = pending(replayed.result)
    return DeadlinesDocument(
        at=clock,
        zone=str(zone),
        deadlines=[PendingDeadline.of(v, d, clock, zone) for v, d in rows],
        findings=[FindingDocument.of(f) for f in assessment_findings(replayed.result)],
        refused=list(replayed.refused),
    )
