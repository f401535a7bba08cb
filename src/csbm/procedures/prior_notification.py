"""Chapter V: prior notification of military activities, assessed as they arrive.

Source: VD 2011 ¶38–45 as the digest gives it (§7: notice period NOTIF_LEAD, 42 days
before the start; an activity without advance notice to the troops is notified when it
starts, NOTIF_SNAP, ¶41.1; the content blocks A–D, ¶42–45); ¶~61–65 (the calendar entry,
and CAL_LATE_ENTRY: a notifiable activity missing from the calendar); ¶~47–48 (the
observation invitation owed when the notified figures reach OBS_INVITE, or OBS_SNAP_72H
for an alert activity); ¶67–70 (the constraining provisions, CONSTR_*, and the gate
CONSTR_40K_GATE); issue 10, items 2 and 3.

Messages (one case per activity; the case label is the notification's ``case``):

``notification``               the notifying State → all: ``activity``, an activity in the
                               one form of ``csbm assess`` without the handling fields
                               (``procedures._activity``);
``notification.amendment``     changed figures (``forces``: the fields given replace the
                               notified ones), ``start``, ``end``, ``area`` or ``phases``,
                               with the ``reason``;
``notification.cancellation``  the activity will not take place (``reason``).

Observed (consumed by other measures, seen here under each entry's case label): each
entry of a ``calendar`` (Chapter VII) and of an ``advance_communication`` (¶68), and an
``observation.invitation`` whose ``activity`` names the case.

Deadlines, from the one engine of ``csbm assess`` (``csbm.rules``), never from code:

* the notification of each activity (NOTIF_LEAD, or NOTIF_SNAP for an alert activity),
  opened by its calendar entry (the other States learn when to expect it) or by the
  notification itself, owed by the notifying State to all, met at the notification's
  sending time (on time, late, or missed);
* the observation invitation (OBS_INVITE_TIMING; for an alert activity lasting more
  than OBS_SNAP_72H the pack gives no time: "unknown"), opened when the notified figures
  reach OBS_INVITE, owed by the host State, met by the ``observation.invitation`` that
  names the case (the observation procedure then follows the replies).

Assessed on arrival: at the clock, every case's activity (the notification as amended,
else the calendar entry) goes through :func:`csbm.rules.assess` together with every other
activity notified or planned in the record, with the handling fields the record gives
(notified at the notification's time; in the calendar when a calendar of its year lists
its case; communicated two years ahead when an advance communication does; observers
invited when an invitation names it). The record is taken as complete: an activity no
calendar of its State lists is not in the calendar. Findings: figures near a threshold,
possible splits, constraining provisions (CONSTR_*), the gate (CONSTR_40K_GATE),
CAL_LATE_ENTRY, an amendment taking the figures below a threshold the notified ones
reached, and figures or dates that differ between calendar, notification and amendment.
A missed deadline is the runner's ``late``/``missed`` finding, not repeated here. The
engine runs once per view over all activities: O(n log n) in the number of activities.
A notification's ``command_group`` (an analyst's grouping in ``csbm assess``) is not used
here: each notification is its own activity.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from csbm.domain.activity import Activity, ActivityKind, Declaration, Forces, Phase
from csbm.domain.records import quick_init
from csbm.domain.time import iso
from csbm.i18n import N_, Phrase, phrase
from csbm.procedures._activity import NotifiedActivity, PlannedActivity, activity_data
from csbm.procedures._bodies import Body, instant_text, parse_body
from csbm.procedures.advance_communication import AdvanceCommunicationBody
from csbm.procedures.annual_calendar import CalendarBody
from csbm.procedures.base import (
    ALL,
    CaseView,
    Context,
    Deadline,
    Event,
    Finding,
    MeasureView,
    Procedure,
    Refusal,
    RuleRef,
    deadline_status,
    join_notes,
    replacer,
)
from csbm.rules.engine import Regime, assess
from csbm.rules.model import (
    OBSERVATION_INVITATION,
    PRIOR_NOTIFICATION,
    ActivityAssessment,
    Obligation,
)
from csbm.rules.model import Finding as EngineFinding
from csbm.rules.obligations import obligations_for, test_thresholds
from csbm.rules.pack import RulePack
from csbm.rules.texts import calendar_source, notification_source

NOTIFICATION = "notification"
AMENDMENT = "notification.amendment"
CANCELLATION = "notification.cancellation"
CALENDAR = "calendar"
ADVANCE = "advance_communication"
INVITATION = "observation.invitation"

_WORDS = {PRIOR_NOTIFICATION: N_("notification"), OBSERVATION_INVITATION: N_("observation")}

ASSESSMENT_KINDS: frozenset[str] = frozenset(
    {"violation", "near_threshold", "possible_split", "inconsistency", "not_in_calendar"}
)
"""The kinds of finding the assessment on arrival gives (``csbm deadlines`` lists them)."""


# ------------------------------------------------------------------ bodies


class NotificationBody(Body):
    """``notification``: the activity, in the one activity form (blocks A–D as fields)."""

    activity: NotifiedActivity

    @field_serializer("activity")
    def _as_sent(self, value: NotifiedActivity) -> dict[str, Any]:
        return activity_data(value)

    def as_json(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` without a second pass over the activity's data."""
        return {"activity": activity_data(self.activity)}


class AmendmentBody(Body):
    """``notification.amendment``: what changes, and why (the case names the notification)."""

    reason: str = Field(min_length=1, description="why the notification changes")
    forces: Forces | None = Field(
        default=None, description="changed figures: the fields given replace the notified ones"
    )
    start: str | None = Field(default=None, description="the new start")
    end: str | None = Field(default=None, description="the new end")
    area: dict[str, Any] | None = Field(default=None, description="the new area (GeoJSON)")
    phases: tuple[Phase, ...] | None = Field(default=None, description="the new phases")

    _instants = field_validator("start", "end")(instant_text)

    @model_validator(mode="after")
    def _changes_something(self) -> AmendmentBody:
        if all(getattr(self, k) is None for k in ("forces", "start", "end", "area", "phases")):
            raise ValueError("an amendment changes forces, start, end, area or phases")
        return self


class CancellationBody(Body):
    """``notification.cancellation``: the notified (or planned) activity will not be held."""

    reason: str | None = None


# ------------------------------------------------------------------ state


@quick_init
@dataclass(frozen=True, slots=True)
class Listing:
    """An entry of a calendar or of an advance communication that names this case (the
    entry as the message check read it: the activity and its ``case`` label)."""

    at: datetime
    year: int
    activity: PlannedActivity


@quick_init
@dataclass(frozen=True, slots=True)
class Amendment:
    at: datetime
    reason: str
    changed: tuple[str, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class NotificationState:
    case: str
    state: str | None = None  # the notifying State
    calendar: tuple[Listing, ...] = ()
    advance: tuple[Listing, ...] = ()
    notified_at: datetime | None = None
    notified: Activity | None = None  # as first notified
    current: Activity | None = None  # as amended
    amendments: tuple[Amendment, ...] = ()
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    invited_at: datetime | None = None
    last_at: datetime | None = None

    def evolve(self, changes: Mapping[str, Any]) -> NotificationState:
        """``dataclasses.replace(self, **changes)``, made for the one message in three that
        changes a case (issue 10's performance constraint)."""
        return _REPLACE_STATE(self, **changes)

    @property
    def shown(self) -> bool:
        """A case with a notification or a calendar entry (not only observed messages)."""
        return self.state is not None and (self.notified is not None or bool(self.calendar))

    @property
    def activity(self) -> Activity | None:
        if self.current is not None:
            return self.current
        return self.calendar[-1].activity if self.calendar else None


_REPLACE_STATE = replacer(NotificationState)


# ------------------------------------------------------------------ the measure


class PriorNotification(Procedure[NotificationState]):
    """Chapter V notifications, their amendments and cancellations, assessed on arrival."""

    name = "prior_notification"
    bodies: ClassVar[Mapping[str, type[BaseModel]]] = {
        NOTIFICATION: NotificationBody,
        AMENDMENT: AmendmentBody,
        CANCELLATION: CancellationBody,
    }
    observes: ClassVar[frozenset[str]] = frozenset({CALENDAR, ADVANCE, INVITATION})

    def observe(self, event: Event) -> Sequence[tuple[str, Event]]:
        if event.type == INVITATION:
            label = event.body.get("activity")
            return [(label, event)] if isinstance(label, str) and label else []
        year = event.body.get("year")
        done = (event.model_of(CalendarBody) if event.type == CALENDAR
                else event.model_of(AdvanceCommunicationBody))
        models = done.activities if done is not None else None
        out: list[tuple[str, Event]] = []
        for i, entry in enumerate(event.body.get("activities") or ()):
            if isinstance(entry, Mapping) and isinstance(entry.get("case"), str):
                body = {"year": year, "entry": entry}
                parsed = None
                if models is not None and i < len(models) and models[i].case == entry["case"]:
                    parsed = (body, models[i])
                out.append((entry["case"], Event(
                    event.at, event.type, event.sender, event.recipients, event.case, body,
                    event.seq, parsed)))  # dataclasses.replace(event, body=..., parsed=...)
        return out

    def initial(self, case: str) -> NotificationState:
        return NotificationState(case)

    def apply(self, state: NotificationState, event: Event, ctx: Context) -> NotificationState:
        if event.type == INVITATION:
            if state.invited_at is None:
                return _REPLACE_STATE(state, invited_at=event.at)
            return state
        if event.type in (CALENDAR, ADVANCE):
            changes = self._listing(state, event)
        elif event.type == NOTIFICATION:
            changes = self._notification(state, event)
        elif event.type == AMENDMENT:
            changes = self._amendment(state, event)
        else:
            changes = self._cancellation(state, event)
        changes["last_at"] = event.at
        return state.evolve(changes)

    # -- messages

    @staticmethod
    def _owner(state: NotificationState, event: Event) -> None:
        if state.state is not None and event.sender != state.state:
            raise Refusal(phrase(N_("case {case} is {owner}'s activity; {sender} cannot "
                                    "notify, list or change it under this label"),
                                 case=state.case, owner=state.state, sender=event.sender),
                          kind="not_a_party")

    def _listing(self, state: NotificationState, event: Event) -> dict[str, Any]:
        self._owner(state, event)
        activity = event.model_of(PlannedActivity)  # validated with the message
        if activity is None:
            try:
                activity = PlannedActivity.model_validate(event.body["entry"])
            except ValidationError as exc:  # validated with the message: a hand-made event
                raise Refusal(phrase(N_("bad {kind} entry: {error}"), kind=event.type,
                                     error=f"{exc.errors()[0].get('msg')}"),
                              kind="malformed") from None
        listing = Listing(event.at, int(event.body["year"]), activity)
        if event.type == CALENDAR:
            return {"state": event.sender, "calendar": (*state.calendar, listing)}
        return {"state": event.sender, "advance": (*state.advance, listing)}

    def _notification(self, state: NotificationState, event: Event) -> dict[str, Any]:
        if state.cancelled_at is not None:
            raise Refusal(_cancelled(state.case), kind="out_of_order")
        if state.notified is not None:
            raise Refusal(phrase(N_("this case already holds its notification; change it "
                                    "with notification.amendment")), kind="duplicate")
        self._owner(state, event)
        activity = parse_body(NotificationBody, event).activity
        if event.sender not in (activity.host_state, *activity.conducting_states):
            raise Refusal(phrase(N_("{sender} neither hosts nor takes part in {activity}; "
                                    "the host State and the States taking part notify (¶39)"),
                                 sender=event.sender, activity=activity.name),
                          rule="NOTIF_HOST", kind="not_a_party")
        return {"state": event.sender, "notified_at": event.at, "notified": activity,
                "current": activity}

    def _amendment(self, state: NotificationState, event: Event) -> dict[str, Any]:
        if state.current is None:
            raise Refusal(phrase(N_("an amendment before the notification of this case")),
                          kind="out_of_order")
        if state.cancelled_at is not None:
            raise Refusal(_cancelled(state.case), kind="out_of_order")
        self._owner(state, event)
        body = parse_body(AmendmentBody, event)
        changed: list[str] = []
        given: dict[str, Any] = {}
        if body.forces is not None:
            given = body.forces.model_dump(exclude_none=True)
            changed.extend(f"forces.{k}" for k in given)
        for name in ("start", "end", "area", "phases"):
            if getattr(body, name) is not None:
                changed.append(name)
        if body.forces is not None and len(changed) == len(given):
            amended = _with_forces(state.current, given)
        else:
            amended = _amended(state.current, body, given)
        amendment = Amendment(event.at, body.reason, tuple(changed))
        return {"current": amended, "amendments": (*state.amendments, amendment)}

    def _cancellation(self, state: NotificationState, event: Event) -> dict[str, Any]:
        if state.notified is None and not state.calendar:
            raise Refusal(phrase(N_("nothing to cancel: no notification or calendar entry in "
                                    "this case")), kind="out_of_order")
        if state.cancelled_at is not None:
            raise Refusal(phrase(N_("already cancelled")), kind="duplicate")
        self._owner(state, event)
        reason = event.body.get("reason")
        return {"cancelled_at": event.at,
                "cancel_reason": reason if isinstance(reason, str) else None}

    # -- views

    def view(self, state: NotificationState, at: datetime, ctx: Context) -> CaseView:
        shown = self.view_all({state.case: state}, at, ctx).cases
        if shown:
            return shown[0]
        return CaseView(case=state.case, procedure=self.name, state="empty", parties={})

    def view_all(self, states: Mapping[str, NotificationState], at: datetime,
                 ctx: Context) -> MeasureView:
        cases = {label: s for label, s in states.items() if s.shown}
        if not cases:
            return MeasureView()
        book = _Book(ctx)
        live = {label: s for label, s in cases.items() if s.cancelled_at is None}
        named = assessed_activities(live)
        # the violations saying an obligation was missed are not built: the runner's
        # late/missed finding says it (dropped in _case_view when given)
        result = assess([a for a, _ in named.values()], list(ctx.packs), at,
                        missed_violations=False)
        by_name = {item.activity.name: item for item in result.activities}
        label_of = {activity.name: label for label, (activity, _) in named.items()}
        views: list[CaseView] = []
        for label in sorted(cases):
            s = cases[label]
            item = by_name.get(named[label][0].name) if label in named else None
            views.append(self._case_view(s, item, at, ctx, book))
        findings = [
            book.finding(f, label_of, cases, at) for f in result.findings
        ]
        return MeasureView(cases=tuple(views), findings=tuple(findings))

    def _case_view(self, s: NotificationState, item: ActivityAssessment | None, at: datetime,
                   ctx: Context, book: _Book) -> CaseView:
        activity = s.activity
        assert activity is not None and s.state is not None
        deadlines: list[Deadline] = []
        findings: list[Finding] = []
        obligations: list[Obligation] = list(item.obligations) if item is not None else []
        if item is None:  # cancelled: what was owed until then, waived
            base = book.base_compiled()
            if base is not None:
                obligations = obligations_for(base, _handled(s, activity), at)
        if s.notified is not None and s.current is not None and s.amendments:
            more, notes = book.below_after_amendment(s, at)
            findings.extend(notes)
            have = {ob.rule for ob in obligations if ob.status != "not_applicable"}
            obligations.extend(ob for ob in more if ob.rule not in have)
        for ob in obligations:
            d = book.deadline(s, activity, ob, at)
            if d is not None:
                deadlines.append(d)
        if item is not None:
            missed = {ob.rule for ob in item.obligations if ob.status == "missed"}
            for f in item.findings:
                if f.kind == "violation" and f.rule in missed:
                    continue  # a missed deadline: the runner's late/missed finding says it
                findings.append(book.case_finding(f, s, at))
            findings.extend(book.late_entry(s, activity, item))
        findings.extend(book.dates_differ(s))
        year = activity.start.year
        details: dict[str, Any] = {
            "activity": activity.name,
            "kind": str(activity.kind),
            "notifying_state": s.state,
            "start": activity.start,
            "end": activity.end,
            "forces": {k: v for k, v in activity.forces.__dict__.items() if v is not None},
            "notified_at": s.notified_at,
            "in_calendar": _lists_year(s.calendar, year),
            "calendar_listed_at": [c.at for c in s.calendar],
            "advance_communicated_at": [c.at for c in s.advance],
            "amendments": [
                {"at": a.at, "reason": a.reason, "changed": list(a.changed)} for a in s.amendments
            ],
            "cancelled_at": s.cancelled_at,
            "cancel_reason": s.cancel_reason,
            "observers_invited_at": s.invited_at,
        }
        if s.cancelled_at is not None:
            name = "cancelled"
        elif s.notified is None:
            name = "planned"
        else:
            name = "amended" if s.amendments else "notified"
        return CaseView(
            case=s.case, procedure=self.name, state=name,
            parties={"notifying": (s.state,), "host": (activity.host_state,),
                     "conducting": activity.conducting_states},
            deadlines=tuple(deadlines), findings=tuple(findings), details=details,
        )


def _amended(current: Activity, body: AmendmentBody, forces: Mapping[str, int]) -> Activity:
    """``current`` with the amendment's changes, validated again as a whole, as a
    notification is (an end before the start, a phase out of range, an unreadable area are
    refused, naming the field)."""
    data = activity_data(current)
    if body.forces is not None:
        data["forces"] = {**data.get("forces", {}), **forces}
    for name in ("start", "end", "area"):
        value = getattr(body, name)
        if value is not None:
            data[name] = value
    if body.phases is not None:
        data["phases"] = [p.model_dump(mode="json", exclude_none=True) for p in body.phases]
    try:
        return NotifiedActivity.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "activity"
        raise Refusal(phrase(N_("the amended activity is refused: {where}: {error}"),
                             where=where, error=f"{err.get('msg')}"),
                      kind="malformed") from None


def _with_forces(current: Activity, forces: Mapping[str, int]) -> Activity:
    """:func:`_amended` for an amendment that changes figures only (most do): the figures
    given replace the notified ones, the rest of ``current`` (validated when notified) kept
    as it is -- no check of an activity reads its figures, so validating it again as a
    whole would give the same activity (``tests/procedures/test_prior_notification.py``
    compares the two)."""
    figures = {**current.forces.model_dump(exclude_none=True), **forces}
    return current.model_copy(update={"forces": Forces(**figures)})


def _without_case(entry: PlannedActivity) -> NotifiedActivity:
    """A calendar entry's activity without its ``case`` label: the values the message
    check validated, not validated a second time."""
    return _copied(entry, NotifiedActivity, {}, drop="case")


M = TypeVar("M", bound=BaseModel)


def _copied(model: BaseModel, cls: type[M], update: Mapping[str, Any],
            drop: str | None = None) -> M:
    """``model.model_copy(update=update)`` as a ``cls`` (``model``'s class or a base of
    it, without the field ``drop``), made directly: what pydantic's copy does (the fields,
    those set, no extra or private values: activities have none), at half its cost -- or a
    tenth of ``model_construct``'s (``tests/procedures/test_prior_notification.py``
    compares them)."""
    values = model.__dict__
    kept = model.__pydantic_fields_set__
    if drop is not None:
        values = {k: v for k, v in values.items() if k != drop}
        kept = kept - {drop}
    new = cls.__new__(cls)
    _set(new, "__dict__", {**values, **update})
    _set(new, "__pydantic_fields_set__", kept | update.keys())
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new


_set = object.__setattr__


def _declaration(source: str, forces: Forces) -> Declaration:
    """``Declaration(source=source, forces=forces)`` for a source csbm wrote (a phrase,
    never blank) and figures validated already: the model the validation gives, made
    directly (``tests/procedures/test_prior_notification.py`` compares them)."""
    new = Declaration.__new__(Declaration)
    _set(new, "__dict__", {"source": source, "kind": "declared", "forces": forces})
    _set(new, "__pydantic_fields_set__", {"source", "forces"})
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new


# ------------------------------------------------------------------ assessment


def _handled(s: NotificationState, activity: Activity, name: str | None = None) -> Activity:
    """The activity with the handling fields the record gives (see the module docstring);
    a calendar entry's without its ``case`` label."""
    if isinstance(activity, PlannedActivity):
        activity = _without_case(activity)
    year = activity.start.year
    declarations = activity.declarations
    if s.notified is not None and s.calendar:
        last = s.calendar[-1]
        declarations = (*declarations,
                        _declaration(_calendar_source(str(s.state), last.year),
                                     last.activity.forces))
    if s.amendments and s.notified is not None and s.notified_at is not None:
        declarations = (*declarations,
                        _declaration(notification_source(iso(s.notified_at)),
                                     s.notified.forces))
    update: dict[str, Any] = {
        "notified": True if s.notified_at is not None else None,
        "notified_at": s.notified_at,
        "in_annual_calendar": _lists_year(s.calendar, year),
        "communicated_two_years_ahead": _lists_year(s.advance, year),
        "observers_invited": True if s.invited_at is not None else None,
        "declarations": declarations,
        "command_group": None,
    }
    if name is not None:
        update["name"] = name
    return _copied(activity, type(activity), update)


def _lists_year(listings: tuple[Listing, ...], year: int) -> bool:
    """Whether one of ``listings`` is of ``year`` (most cases have one listing or none)."""
    if not listings:
        return False
    if len(listings) == 1:
        return listings[0].year == year
    return any(c.year == year for c in listings)


@functools.lru_cache(maxsize=4096)
def _calendar_source(state: str, year: int) -> str:
    """:func:`calendar_source` made once per State and year (a phrase is never changed
    once made: one object serves every activity of that calendar)."""
    return calendar_source(state, year)


def assessed_activities(
    cases: Mapping[str, NotificationState],
) -> dict[str, tuple[Activity, NotificationState]]:
    """``{case label: (activity as the engine sees it, case)}``: each shown, not cancelled
    case's activity with its handling fields; names made unique (`` [case]`` added)."""
    out: dict[str, tuple[Activity, NotificationState]] = {}
    names: set[str] = set()
    for label in sorted(cases):
        s = cases[label]
        activity = s.activity
        if not s.shown or s.cancelled_at is not None or activity is None:
            continue
        name = activity.name if activity.name not in names else f"{activity.name} [{label}]"
        names.add(name)
        out[label] = (_handled(s, activity, name), s)
    return out


class _Book:
    """Look-ups for one view: the packs' paragraphs and titles, the base pack compiled."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._regime: Regime | None = None
        self._rules: dict[tuple[str, str], tuple[str | None, str]] = {}
        self._opened: dict[tuple[str, ...], Phrase] = {}
        self._tested: dict[tuple[int, str, int], tuple[Any, Any, Activity]] = {}
        self._late_entry: tuple[RuleRef | None] | None = None
        for pack in ctx.packs:
            for rule in pack.rules:
                self._rules[(pack.id, rule.id)] = (rule.paragraph, rule.title)

    def paragraph(self, pack: str | None, rule: str | None) -> str | None:
        if rule is None:
            return None
        found = self._rules.get((pack or "", rule))
        if found is None:
            ref = self.ctx.find_rule(rule)
            return ref.rule.paragraph if ref else None
        return found[0]

    def title(self, pack: str, rule: str) -> str | None:
        found = self._rules.get((pack, rule))
        return found[1] if found else None

    def regime(self) -> Regime:
        if self._regime is None:
            self._regime = Regime(list(self.ctx.packs))
        return self._regime

    def base_compiled(self) -> Any:
        base: RulePack | None = self.regime().base
        return None if base is None else self.regime().compiled[base.id]

    # -- deadlines

    def deadline(self, s: NotificationState, activity: Activity, ob: Obligation,
                 at: datetime) -> Deadline | None:
        if ob.status == "not_applicable" or s.state is None:
            return None
        if ob.kind == PRIOR_NOTIFICATION:
            done, owed_by = s.notified_at, (s.state,)
            note = ob.note if ob.due is None else None
            if s.notified is None:
                note = join_notes(note, phrase(N_("opened by the calendar entry")))
        elif ob.kind == OBSERVATION_INVITATION:
            if s.notified is None:
                return None  # the notified figures open it, not the calendar's
            done, owed_by = s.invited_at, (activity.host_state,)
            compiled = self.regime().compiled.get(ob.pack)
            met = None if compiled is None else self.thresholds(
                compiled, OBSERVATION_INVITATION, activity).met
            if met is None:
                ob = replace(ob, due=None)
                note = phrase(N_("not known whether the notified figures reach {rules}: a "
                                 "figure it needs is not notified"),
                              rules=", ".join(ob.triggered_by))
            else:
                note = join_notes(ob.note if ob.due is None else None,
                                  self.opened(ob.triggered_by))
        else:
            return None  # the calendar and the advance communication: their own cycles
        waived = s.cancelled_at is not None and (done is None or done > s.cancelled_at)
        if waived:
            note = join_notes(note, phrase(N_("cancelled on {date}"), date=iso(s.cancelled_at))
                              if s.cancelled_at else None)
        status = deadline_status(ob.due, at, done, waived)
        return Deadline(
            rule=ob.rule, paragraph=ob.paragraph or self.paragraph(ob.pack, ob.rule),
            pack=ob.pack, due=ob.due, status=status, owed_by=owed_by, owed_to=(ALL,),
            met_at=done if done is not None and done <= at else None, note=note,
            title=self.title(ob.pack, ob.rule), case=s.case,
        )

    def thresholds(self, compiled: Any, measure: str, activity: Activity) -> Any:
        """``test_thresholds(compiled, measure, activity)``, once per activity of the view
        (an amended activity's is asked for its finding and for its deadline)."""
        key = (id(compiled), measure, id(activity))
        found = self._tested.get(key)
        if found is None:
            found = self._tested[key] = (test_thresholds(compiled, measure, activity),
                                         compiled, activity)  # held: their ids stay theirs
        return found[0]

    def opened(self, rules: tuple[str, ...]) -> Phrase:
        """The note of an observation invitation the notified figures opened (one phrase
        per set of rules: a phrase is never changed once made)."""
        found = self._opened.get(rules)
        if found is None:
            found = phrase(N_("opened by the notified figures ({rules})"),
                           rules=", ".join(rules))
            self._opened[rules] = found
        return found

    # -- findings

    def case_finding(self, f: EngineFinding, s: NotificationState, at: datetime) -> Finding:
        return Finding(kind=f.kind, message=f.message, case=s.case, at=s.last_at or at,
                       rule=f.rule, paragraph=self.paragraph(f.pack, f.rule),
                       states=(s.state,) if s.state else ())

    def finding(self, f: EngineFinding, label_of: Mapping[str, str],
                cases: Mapping[str, NotificationState], at: datetime) -> Finding:
        """A finding across activities (a possible split, a constraining provision)."""
        labels = [label_of[n] for n in f.activities if n in label_of]
        states = tuple(dict.fromkeys(
            cases[lb].state for lb in labels if cases[lb].state is not None))
        times = [t for t in (cases[lb].last_at for lb in labels) if t is not None]
        when = max(times, default=at)
        return Finding(kind=f.kind, message=f.message, case=labels[0] if labels else None,
                       at=when, rule=f.rule, paragraph=self.paragraph(f.pack, f.rule),
                       states=tuple(s for s in states if s is not None))

    def late_entry(self, s: NotificationState, activity: Activity,
                   item: ActivityAssessment) -> list[Finding]:
        """CAL_LATE_ENTRY: a notifiable activity notified, absent from its calendar."""
        if s.notified_at is None or activity.kind == ActivityKind.ALERT:
            return []
        year = activity.start.year
        if _lists_year(s.calendar, year):
            return []
        notifiable = any(ob.kind == PRIOR_NOTIFICATION and ob.status != "not_applicable"
                         for ob in item.obligations)
        if self._late_entry is None:
            self._late_entry = (self.ctx.find_rule("CAL_LATE_ENTRY"),)
        ref = self._late_entry[0]
        if not notifiable or ref is None:
            return []
        return [Finding(
            kind="not_in_calendar",
            message=phrase(N_("{activity}: notified on {date} but in no calendar of {state} for "
                              "{year}: a notifiable activity missing from the calendar is "
                              "reported as soon as possible, in the calendar format"),
                           activity=activity.name, date=iso(s.notified_at), state=s.state,
                           year=year),
            case=s.case, at=s.notified_at, rule=ref.rule.id, paragraph=ref.rule.paragraph,
            states=(s.state,) if s.state else (),
        )]

    def below_after_amendment(self, s: NotificationState,
                              at: datetime) -> tuple[list[Obligation], list[Finding]]:
        """Thresholds the notified figures reached and the amended ones do not: a finding,
        and the obligations they triggered (still owed)."""
        compiled = self.base_compiled()
        if compiled is None or s.notified is None or s.current is None:
            return [], []
        findings: list[Finding] = []
        kinds: set[str] = set()
        last = s.amendments[-1]
        for measure, word in _WORDS.items():
            before = test_thresholds(compiled, measure, s.notified)
            if not before.met:
                continue
            after = self.thresholds(compiled, measure, s.current)
            if after.met is False:
                kinds.add(measure)
                rule = before.rules_met[0]
                findings.append(Finding(
                    kind="inconsistency",
                    message=phrase(N_("the amendment of {date} takes the figures below the "
                                      "{measure!t} threshold ({rule}) that the notified figures "
                                      "reached ({criteria}); the obligation it triggered "
                                      "stands; reason given: {reason}"),
                                   date=iso(last.at), measure=word, rule=rule,
                                   criteria=", ".join(before.criteria_met), reason=last.reason),
                    case=s.case, at=last.at, rule=rule,
                    paragraph=self.paragraph(compiled.pack.id, rule),
                    states=(s.state,) if s.state else (),
                ))
        if not kinds:
            return [], findings
        original = _handled(s, s.notified)
        more = [ob for ob in obligations_for(compiled, original, at) if ob.kind in kinds]
        return more, findings

    def dates_differ(self, s: NotificationState) -> list[Finding]:
        """Start or end differing between the calendar entry and the notification."""
        if s.notified is None or not s.calendar or s.notified_at is None:
            return []
        planned = s.calendar[-1].activity
        out: list[Finding] = []
        for name in (N_("start"), N_("end")):
            a, b = getattr(planned, name), getattr(s.notified, name)
            if a is not None and b is not None and a != b:
                fields = {"field": name, "state": s.state, "year": s.calendar[-1].year,
                          "planned": iso(a), "notified": iso(b)}
                message = (
                    phrase(N_("{field!t}: {state}'s calendar for {year} gives {planned}, the "
                              "notification {notified}; the notification states the changes: "
                              "{changes}"), changes=s.notified.calendar_changes, **fields)
                    if s.notified.calendar_changes
                    else phrase(N_("{field!t}: {state}'s calendar for {year} gives {planned}, "
                                   "the notification {notified}"), **fields)
                )  # fmt: skip
                out.append(Finding(
                    kind="inconsistency",
                    message=message,
                    case=s.case, at=s.notified_at, rule="NOTIF_CONTENT",
                    paragraph=self.paragraph(None, "NOTIF_CONTENT"),
                    states=(s.state,) if s.state else (),
                ))
        return out


def _cancelled(case: str) -> str:
    return phrase(N_("the activity of case {case} was cancelled"), case=case)


# ------------------------------------------------------------------ the record's activities


def record_states(events: Iterable[Event], ctx: Context,
                  at: datetime | None = None) -> dict[str, NotificationState]:
    """Every prior-notification case of ``events`` at ``at`` (pure; refused messages
    change nothing, as in the runner)."""
    states: dict[str, NotificationState] = {}
    for event in sorted(events, key=attrgetter("at", "seq")):  # Event.order
        if at is not None and event.at > at:
            break
        if event.type in MEASURE.bodies:
            pairs: Sequence[tuple[str, Event]] = [(event.case, event)] if event.case else []
        elif event.type in MEASURE.observes:
            pairs = MEASURE.observe(event)
        else:
            continue
        for label, seen in pairs:
            current = states.get(label) or MEASURE.initial(label)
            try:
                states[label] = MEASURE.apply(current, seen, ctx)
            except Refusal:
                continue
    return states


def record_activities(events: Iterable[Event], ctx: Context,
                      at: datetime | None = None) -> list[Activity]:
    """The activities of the notifications and calendar entries of ``events`` at ``at``,
    with the handling fields the record gives (``csbm assess`` of a scenario or a log)."""
    named = assessed_activities(record_states(events, ctx, at))
    return [activity for activity, _ in named.values()]


MEASURE = PriorNotification()
