"""The yearly cycles shared by the annual exchange (Chapter I) and the calendar (Chapter VII).

Every participating State owes one submission per year by a date a pack sets
(``annual_date``); a nil return (``nil: true``) fulfils it. The case of a year is
``<kind>-<year>`` whatever label the message carries; a second submission of a State is
kept as an update and changes nothing about the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from csbm.domain.records import quick_init
from csbm.i18n import N_, phrase
from csbm.procedures.base import ALL, CaseView, Context, Event, Procedure, Refusal


@quick_init
@dataclass(frozen=True, slots=True)
class Submission:
    state: str
    at: datetime
    nil: bool
    updates: int = 0


@quick_init
@dataclass(frozen=True, slots=True)
class CycleState:
    case: str
    year: int | None = None
    submissions: tuple[Submission, ...] = ()


class YearlyCycle(Procedure[CycleState]):
    """A yearly submission owed by every participating State (subclasses set the rule)."""

    kind: str = ""
    rule_id: str = ""

    def case_key(self, event: Event) -> str:
        year = event.body.get("year")
        if not isinstance(year, int):
            raise Refusal(phrase(N_("a {kind} message names its year"), kind=event.type))
        return f"{self.kind}-{year}"

    def initial(self, case: str) -> CycleState:
        return CycleState(case=case)

    def apply(self, state: CycleState, event: Event, ctx: Context) -> CycleState:
        if ctx.participants and event.sender not in ctx.participants:
            raise Refusal(phrase(N_("{sender} is not a participating State of this scenario"),
                                 sender=event.sender),
                          kind="not_a_party")
        year = int(event.body["year"])
        for i, sub in enumerate(state.submissions):
            if sub.state == event.sender:
                updated = replace(sub, updates=sub.updates + 1)
                subs = (*state.submissions[:i], updated, *state.submissions[i + 1:])
                return replace(state, year=year, submissions=subs)
        new = Submission(event.sender, event.at, bool(event.body.get("nil", False)))
        return replace(state, year=year, submissions=(*state.submissions, new))

    def view(self, state: CycleState, at: datetime, ctx: Context) -> CaseView:
        year = state.year if state.year is not None else int(state.case.rsplit("-", 1)[1])
        done = {s.state: s for s in state.submissions if s.at <= at}
        owing = ctx.participants or tuple(sorted(done))
        deadlines = tuple(
            ctx.annual_deadline(
                self.rule_id, year, at,
                done_at=done[code].at if code in done else None,
                owed_by=(code,), owed_to=(ALL,), case=state.case,
                note=phrase(N_("nil return")) if code in done and done[code].nil else None,
            )
            for code in owing
        )
        missing = [d.owed_by[0] for d in deadlines if d.met_at is None]
        overdue = [d.owed_by[0] for d in deadlines if d.status == "missed" and d.met_at is None]
        late = [d.owed_by[0] for d in deadlines if d.late]
        due = deadlines[0].due if deadlines else None
        if not missing:
            name = "complete"
        elif overdue:
            name = "overdue"
        else:
            name = "open"
        details: dict[str, Any] = {
            "year": year,
            "due": due,
            "submitted": sorted(done),
            "nil_returns": sorted(c for c, s in done.items() if s.nil),
            "missing": missing,
            "late": late,
            "updates": {c: s.updates for c, s in done.items() if s.updates},
        }
        return CaseView(
            case=state.case,
            procedure=self.name,
            state=name,
            parties={"owed_by": tuple(owing)},
            deadlines=deadlines,
            details=details,
        )
