"""Each case with its history and its clocks, and the quotas per State and year -- the
*Procedures* page of the workbench and its JSON twin.

Source: issue 12, item 1 (*Procedures*: "a Chapter III case reads as request -> reply due
-> meeting due, with what happened when; quotas per State and year"); VD 2011 ¶16-17
(Chapter III), ¶74-76 and ¶108 (passive quotas). A case's *timeline* merges what was sent
(its history) and what was owed (its deadlines: due, and met when) in time order, so the
sequence of a procedure reads top to bottom. Built from one
:class:`csbm.services.replay.Replayed` (one projection of the log per request).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from csbm.procedures.base import CaseView, QuotaView
from csbm.services.documents import Document, Instant, QuotaDocument
from csbm.services.memo import derived
from csbm.services.paging import PageInfo, check_window, window
from csbm.services.replay import CaseDocument, Replayed

__all__ = ["ProceduresDocument", "TimelineStep", "procedures", "timeline"]


class TimelineStep(Document):
    """One step of a case: a message (``what`` = ``message``, its kind in ``label``, who
    sent it in ``by``) or a deadline (``what`` = ``due``, its rule in ``label``, who owes
    it in ``by``, its status, and when it was met)."""

    at: Instant | None
    at_local: str | None
    what: str
    label: str
    by: list[str]
    status: str | None = None
    met_at: Instant | None = None
    paragraph: str | None = None
    accepted: bool | None = None


class CaseWithClocks(CaseDocument):
    """A case of the replay with its timeline."""

    timeline: list[TimelineStep]


class ProceduresDocument(Document):
    """The window of cases (filtered by procedure and party when asked), newest activity
    first, and the window of quotas per State and year."""

    at: Instant
    zone: str
    procedure: str | None
    party: str | None
    procedures: list[str]
    cases: list[CaseWithClocks]
    cases_page: PageInfo
    quotas: list[QuotaDocument]
    quotas_page: PageInfo
    log_size: int | None = None


def timeline(case: CaseDocument, zone: tzinfo) -> list[TimelineStep]:
    """The messages and deadlines of ``case`` in time order (a deadline without a due
    instant last)."""
    steps = [
        TimelineStep(
            at=h.at, at_local=h.at.astimezone(zone).isoformat(), what="message", label=h.type,
            by=[h.sender], accepted=h.accepted,
        )
        for h in case.history
    ]
    steps += [
        TimelineStep(
            at=d.due, at_local=d.due.astimezone(zone).isoformat() if d.due else None,
            what="due", label=d.rule, by=list(d.owed_by), status=d.status, met_at=d.met_at,
            paragraph=d.paragraph,
        )
        for d in case.deadlines
    ]
    far = datetime.max.replace(tzinfo=UTC)
    steps.sort(key=lambda s: (s.at or far, 0 if s.what == "message" else 1))
    return steps


def _last(case: CaseView) -> datetime:
    return max((h.at for h in case.history), default=datetime.min.replace(tzinfo=UTC))


def _chosen(replayed: Replayed, procedure: str | None, who: str | None) -> list[CaseView]:
    """The cases of a procedure and party, newest activity first (once per projection)."""

    def make() -> list[CaseView]:
        chosen = [
            c
            for c in replayed.result.cases
            if (procedure is None or c.procedure == procedure)
            and (who is None or any(who in codes for codes in c.parties.values()))
        ]
        chosen.sort(key=_last, reverse=True)
        return chosen

    return derived(replayed, ("procedures.cases", procedure, who), make)


def _with_clocks(view: CaseView, zone: tzinfo) -> CaseWithClocks:
    c = CaseDocument.of(view)
    return CaseWithClocks(**c.model_dump(by_alias=True), timeline=timeline(c, zone))


def _quota(q: QuotaView) -> tuple[str, int, str]:
    return (q.state, q.year, q.rule)


def procedures(
    replayed: Replayed,
    zone: tzinfo,
    *,
    procedure: str | None = None,
    party: str | None = None,
    offset: int = 0,
    limit: int = 20,
    quotas_offset: int = 0,
    quotas_limit: int = 50,
    log_size: int | None = None,
) -> ProceduresDocument:
    """The *Procedures* document of a replay (due times also in ``zone``). The filtered
    and ordered cases and quotas are made once per projection
    (:func:`csbm.services.memo.derived`); only the windows shown become documents."""
    check_window(offset, limit)
    check_window(quotas_offset, quotas_limit, "quotas_")
    result = replayed.result
    names = derived(replayed, "procedures.names",
                    lambda: sorted({c.procedure for c in result.cases}))  # fmt: skip
    who = party.strip().upper() if party else None
    chosen = _chosen(replayed, procedure, who)
    shown, page = window(chosen, offset, limit)
    cases = [
        derived(replayed, ("procedures.case", view.case, view.procedure, str(zone)),
                lambda view=view: _with_clocks(view, zone))  # type: ignore[misc]
        for view in shown
    ]  # fmt: skip
    quotas = derived(replayed, "procedures.quotas", lambda: sorted(result.quotas, key=_quota))
    quota_rows, quota_page = window(quotas, quotas_offset, quotas_limit, "quotas_")
    return ProceduresDocument(
        at=result.at,
        zone=str(zone),
        procedure=procedure,
        party=who,
        procedures=names,
        cases=cases,
        cases_page=page,
        quotas=[QuotaDocument.of(q) for q in quota_rows],
        quotas_page=quota_page,
        log_size=log_size,
    )
