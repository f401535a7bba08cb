"""The annual calendars and notifications of each State on a timeline per year, with the
constraining provisions -- the *Calendar* page of the workbench and its JSON twin.

Source: issue 12, item 1 (*Calendar*: "annual calendars and notifications on a timeline
per State and year, with the constraining provisions: how many above 13,000 this year,
which overlap"); VD 2011 Chapter VII (¶61-65, the annual calendar) and Chapter VIII
(¶67-70: the limits per calendar year, per three years and at the same time). The
numbers come from the packs' ``limit`` entries (CONSTR_*), never from code; the
engine's own findings of those entries (assessment on arrival) are shown beside the
counts, and they are what is authoritative.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from csbm.rules.pack import RulePack
from csbm.services.documents import Document, FindingDocument, Instant
from csbm.services.map import ActivityFeature, activities
from csbm.services.memo import derived
from csbm.services.replay import Replayed

__all__ = ["CalendarDocument", "LimitCount", "Overlap", "StateYear", "calendar"]


class TimelineBar(Document):
    """One activity on the year's timeline: ``left`` and ``width`` in per cent of the
    year (clipped to it), for a bar chart that needs no script."""

    case: str
    name: str | None
    status: str
    start: Instant | None
    end: Instant | None
    troops: int | None
    in_calendar: bool | None
    left: float
    width: float


class LimitCount(Document):
    """A pack's limit entry against the State's activities of the year: how many reach
    its criteria (``count``) out of at most ``max_count``, and which."""

    pack: str
    rule: str
    paragraph: str | None
    title: str
    window: str
    max_count: int | None
    count: int
    cases: list[str]


class Overlap(Document):
    """Two activities of the State that run at the same time."""

    first: str
    second: str
    start: Instant
    end: Instant


class StateYear(Document):
    """One State's year: its activities as bars, the limit counts, the overlaps, and the
    engine's findings of the constraining provisions for it."""

    state: str
    year: int
    bars: list[TimelineBar]
    limits: list[LimitCount]
    overlaps: list[Overlap]
    findings: list[FindingDocument]


class CalendarDocument(Document):
    """The *Calendar* page for ``year``: one row per notifying State (or only ``state``),
    and the years the record holds."""

    at: Instant
    year: int
    state: str | None
    years: list[int]
    states: list[StateYear]
    log_size: int | None = None


def _meets(a: ActivityFeature, criteria: dict[str, int | None], comparison: str) -> bool:
    for name, limit in criteria.items():
        value = a.forces.get(name)
        if isinstance(value, int) and limit is not None and (
            value >= limit if comparison == ">=" else value > limit
        ):
            return True
    return False


def _bar(a: ActivityFeature, year: int) -> TimelineBar:
    begin = datetime(year, 1, 1, tzinfo=a.start.tzinfo if a.start else None)
    span = (begin.replace(year=year + 1) - begin).total_seconds()
    start = a.start or begin
    end = a.end or start
    left = max(0.0, min(100.0, (start - begin).total_seconds() / span * 100))
    right = max(0.0, min(100.0, (end - begin).total_seconds() / span * 100))
    troops = a.forces.get("troops")
    return TimelineBar(
        case=a.case, name=a.name, status=a.status, start=a.start, end=a.end,
        troops=troops if isinstance(troops, int) else None, in_calendar=a.in_calendar,
        left=round(left, 2), width=round(max(right - left, 0.4), 2),
    )  # fmt: skip


def _overlaps(rows: Sequence[ActivityFeature]) -> list[Overlap]:
    """Pairs that run at the same time (a sweep over the start order)."""
    timed = sorted((a for a in rows if a.start and a.end), key=lambda a: a.start)  # type: ignore[arg-type, return-value]
    out: list[Overlap] = []
    for i, a in enumerate(timed):
        assert a.start is not None and a.end is not None
        for b in timed[i + 1 :]:
            assert b.start is not None and b.end is not None
            if b.start >= a.end:
                break
            out.append(Overlap(first=a.case, second=b.case, start=b.start, end=min(a.end, b.end)))
    return out


def calendar(
    replayed: Replayed,
    packs: Sequence[RulePack],
    year: int,
    state: str | None = None,
    *,
    log_size: int | None = None,
) -> CalendarDocument:
    """The *Calendar* document of ``year`` (for ``state`` only, when given); made once per
    projection, packs, year and State (:func:`csbm.services.memo.derived`). ``log_size``:
    the size of the log the projection was made from (:mod:`csbm.web.replays`)."""
    code = state.strip().upper() if state else None
    key = ("calendar", tuple(p.id for p in packs), year, code)
    doc = derived(replayed, key, lambda: _calendar(replayed, packs, year, code))
    return doc if log_size is None else doc.model_copy(update={"log_size": log_size})


def _constraining(replayed: Replayed) -> list[FindingDocument]:
    """The engine's findings of the constraining provisions (``CONSTR*``), once."""
    result = replayed.result
    return [
        FindingDocument.of(f)
        for f in list(result.findings) + [f for c in result.cases for f in c.findings]
        if f.rule and f.rule.startswith("CONSTR")
    ]


def _calendar(
    replayed: Replayed, packs: Sequence[RulePack], year: int, code: str | None
) -> CalendarDocument:
    every = activities(replayed, packs)
    years = sorted({a.start.year for a in every if a.start is not None})
    constraining = derived(replayed, "calendar.constraining", lambda: _constraining(replayed))
    limits = [
        (pack, rule)
        for pack in packs
        if pack.parties == "all"
        for rule in pack.rules
        if getattr(rule.spec, "type", None) == "limit"
    ]
    by_state: dict[str, list[ActivityFeature]] = {}
    for a in every:
        if a.start is None or a.start.year != year or a.notifying_state is None:
            continue
        if code is not None and a.notifying_state != code:
            continue
        by_state.setdefault(a.notifying_state, []).append(a)
    rows: list[StateYear] = []
    for who, mine in sorted(by_state.items()):
        counts = []
        for pack, rule in limits:
            spec = rule.spec
            met = [a.case for a in mine if _meets(a, spec.criteria, spec.comparison)]  # type: ignore[union-attr]
            counts.append(
                LimitCount(
                    pack=pack.id, rule=rule.id, paragraph=rule.paragraph, title=rule.title,
                    window=spec.window, max_count=spec.max_count,  # type: ignore[union-attr]
                    count=len(met), cases=met,
                )
            )
        findings = [f for f in constraining if who in f.states]
        rows.append(
            StateYear(
                state=who, year=year, bars=[_bar(a, year) for a in mine], limits=counts,
                overlaps=_overlaps(mine), findings=findings,
            )
        )
    return CalendarDocument(at=replayed.result.at, year=year, state=code, years=years,
                            states=rows)  # fmt: skip
