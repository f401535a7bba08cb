"""Procedures: one state machine per measure, with deadlines derived from the rule packs.

See ``procedures.base`` for the framework and how a measure plugs in.
"""

from csbm.procedures.base import (
    ALL,
    CaseView,
    Context,
    Deadline,
    DeadlineStatus,
    Event,
    Finding,
    HistoryEntry,
    MeasureView,
    Procedure,
    QuotaView,
    Refusal,
    RuleRef,
    deadline_status,
    require_sender,
)

__all__ = [
    "ALL",
    "CaseView",
    "Context",
    "Deadline",
    "DeadlineStatus",
    "Event",
    "Finding",
    "HistoryEntry",
    "MeasureView",
    "Procedure",
    "QuotaView",
    "Refusal",
    "RuleRef",
    "deadline_status",
    "require_sender",
]
