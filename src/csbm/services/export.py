"""Export: the pending deadlines as an RFC 5545 calendar (``csbm export ical``).

One VEVENT per open or overdue deadline whose due instant is known: it starts at the due
instant (UTC), carries the rule, paragraph, case and who owes whom, and has a stable UID —
the same deadline gets the same UID in every export, so a subscribed calendar updates it
in place (RFC 5545 §3.8.4.7). The calendar has no METHOD, so DTSTAMP is "the date and
time that the information associated with the calendar component was last revised"
(§3.8.7.2): the instant of the last message of the deadline's case at the clock (the clock
itself for a case without one), never the wall time — the same data give the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from csbm import __version__
from csbm.procedures.base import CaseView, Deadline
from csbm.procedures.runner import ReplayResult
from csbm.services.deadlines import pending


def deadline_uid(view: CaseView, d: Deadline) -> str:
    """A UID that names the obligation, not its current due time."""
    key = "|".join([view.procedure, view.case, d.rule, ",".join(d.owed_by), d.note or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + "@csbm"


def last_revised(view: CaseView, clock: datetime) -> datetime:
    """When the case was last revised: its last message at or before ``clock``."""
    times = [h.at for h in view.history if h.at <= clock]
    return max(times, default=clock).replace(microsecond=0)


def calendar(result: ReplayResult, clock: datetime) -> Calendar:
    """The calendar of the open and overdue deadlines of ``result`` at ``clock``."""
    cal = Calendar()
    cal.add("prodid", f"-//csbm//csbm {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "CSBM deadlines")
    for view, d in pending(result):
        if d.due is None:
            continue
        event = Event()
        event.add("uid", deadline_uid(view, d))
        event.add("dtstamp", last_revised(view, clock))
        event.add("dtstart", d.due)
        event.add("dtend", d.due + timedelta(minutes=15))
        para = f" ¶{d.paragraph}" if d.paragraph else ""
        overdue = "OVERDUE " if d.status == "missed" else ""
        event.add("summary", f"{overdue}{d.rule}{para}: {', '.join(d.owed_by)} — {view.case}")
        lines = [
            d.title or d.rule,
            f"case: {view.case} ({view.procedure}, {view.state})",
            f"owed by: {', '.join(d.owed_by)}; to: {', '.join(d.owed_to)}",
            f"rule pack: {d.pack}" if d.pack else "",
            d.note or "",
        ]
        event.add("description", "\n".join(line for line in lines if line))
        event.add("categories", [view.procedure])
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    return cal


def ical(result: ReplayResult, clock: datetime) -> bytes:
    """The calendar as RFC 5545 bytes (UTF-8, CRLF line ends)."""
    return bytes(calendar(result, clock).to_ical())
