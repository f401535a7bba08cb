"""Which rule packs apply to an activity: the regime in force on its dates, for its States,
where it takes place (VD 2011 Annex I, zone of application; Chapter X, regional measures;
issue 5).

The rules, in order (each decision carries its reason; docs/regional-measures.md):

1. **Period.** A pack applies only to activities that start inside its period: from
   ``in_force`` until the day before ``terminated``. When ``in_force`` is unknown (null),
   the pack is not applied before ``signed`` and is applied *provisionally* from then on
   (the reason says the date of entry into force is unknown); with neither date it is
   provisional throughout. ``forced`` does not override the period.
2. **Multilateral packs** (``parties: all``, e.g. ``vd2011``) apply in the zone of
   application: an area outside it (csbm.geo.zone) drops the pack; an area the zone
   leaves open applies it provisionally; no area, no check. ``forced`` skips the check.
3. **Bilateral packs** apply only when the host State is a party. With a border zone,
   the geography decides, from the geodesic distance between the activity's area and the
   common border of the host and each other party (csbm.geo, with the dataset's
   tolerance):

   * width known: distance ≤ width → applies; ≤ width + tolerance → applies provisionally
     (at the edge, within the dataset's resolution); farther → does not apply;
   * width unknown (null): the pack cannot be placed; it applies *provisionally* when the
     area is within the pack's analyst screening distance ``options.unknown_zone_screen_km``
     (+ tolerance) of the border, so that its unknown thresholds show up as "unknown:
     fill in from the agreement" near that border and nowhere else; without that option
     it does not apply unless forced;
   * no area given: does not apply, and the decision says so (a border-zone measure
     cannot be placed without the area; give it, or force the pack);
   * ``forced`` (``--regime``): applies regardless of distance (the distances are still
     reported).

The distances that mattered are reported with every bilateral decision.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from csbm.domain.activity import Activity
from csbm.i18n import N_, phrase
from csbm.rules.pack import RulePack

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from csbm.geo.boundaries import Boundaries
    from csbm.geo.zone import ZoneOfApplication

SCREEN_OPTION = "unknown_zone_screen_km"


@dataclass(frozen=True)
class BorderDistance:
    """Distance from the activity's area to one common border that mattered."""

    states: tuple[str, str]
    km: float
    tolerance_km: float


@dataclass(frozen=True)
class PackApplication:
    """A pack applied to an activity, and why.

    ``provisional`` is True when the pack may apply but the engine cannot be sure (the
    zone width or the date of entry into force is unknown, the zone of application is
    open there, or the area is at the zone's edge within the dataset's tolerance); the
    reason says which.
    """

    pack: RulePack
    reason: str
    distances: tuple[BorderDistance, ...] = field(default_factory=tuple)
    provisional: bool = False


@dataclass(frozen=True)
class PackDecision:
    """Whether a pack applies to an activity, and why — also when it does not."""

    pack: RulePack
    applies: bool
    reason: str
    distances: tuple[BorderDistance, ...] = field(default_factory=tuple)
    provisional: bool = False

    def application(self) -> PackApplication:
        return self._application

    @cached_property
    def _application(self) -> PackApplication:
        # one per decision: a decision shared by many activities (_memo) gives one
        return PackApplication(self.pack, self.reason, self.distances, self.provisional)


def applicable_packs(
    activity: Activity,
    packs: Sequence[RulePack],
    forced: bool = False,
    *,
    boundaries: Boundaries | None = None,
    zone: ZoneOfApplication | None = None,
) -> list[PackApplication]:
    """The packs of ``packs`` that apply to ``activity``, each with the reason."""
    return [
        d.application()
        for d in decide_packs(activity, packs, forced, boundaries=boundaries, zone=zone)
        if d.applies
    ]


def decide_packs(
    activity: Activity,
    packs: Sequence[RulePack],
    forced: bool = False,
    *,
    boundaries: Boundaries | None = None,
    zone: ZoneOfApplication | None = None,
) -> list[PackDecision]:
    """One decision per pack, in order: applies or not, provisional or not, and why."""
    ctx = _Context(activity, boundaries, zone)
    return [_decide(ctx, pack, forced) for pack in packs]


@dataclass(frozen=True)
class Decided:
    """The decisions for an activity, one per pack in order, and the same split: those that
    apply, their applications, and those that do not."""

    decisions: tuple[PackDecision, ...]
    applied: tuple[PackDecision, ...]
    applications: tuple[PackApplication, ...]
    not_applied: tuple[PackDecision, ...]

    @classmethod
    def of(cls, decisions: Sequence[PackDecision]) -> Decided:
        applied = tuple(d for d in decisions if d.applies)
        return cls(
            tuple(decisions),
            applied,
            tuple(d.application() for d in applied),
            tuple(d for d in decisions if not d.applies),
        )


class Decisions:
    """:func:`decide_packs` for many activities under the same packs (the engine's).

    The decisions for an activity depend on its start date only through the date's place
    among the packs' dates (signed, in force, terminated), and on its host State and
    whether its area is given — but for the packs whose decision needs where the area is
    (:func:`_needs_place`). Without such a pack, the decisions are made once per (place
    of the date, host State, area given or not) and shared by the activities alike."""

    def __init__(self, packs: Sequence[RulePack], forced: bool = False) -> None:
        self.packs = tuple(packs)
        self.forced = forced
        self._dates = sorted(
            {d for p in self.packs for d in (p.signed, p.in_force, p.terminated) if d is not None}
        )
        self._made: dict[tuple[int, str, bool], Decided] = {}
        self._placed: set[tuple[int, str, bool]] = set()

    def __call__(self, activity: Activity) -> Decided:
        day = activity.start.date()
        key = (bisect_right(self._dates, day), activity.host_state, activity.area is None)
        made = self._made.get(key)
        if made is not None:
            return made
        decided = Decided.of(decide_packs(activity, self.packs, self.forced))
        if key in self._placed:
            return decided
        if activity.area is not None and any(
            _needs_place(p, day, activity.host_state, self.forced) for p in self.packs
        ):
            self._placed.add(key)
            return decided
        self._made[key] = decided
        return decided


def _needs_place(pack: RulePack, day: date, host: str, forced: bool) -> bool:
    """Whether :func:`_decide` reads the area (its geometry) of an activity that has one,
    starting on ``day`` with ``host`` as host State."""
    inside = _period_of(pack, day)[1][0]
    if not inside:
        return False
    if pack.parties == "all":
        return not forced
    return host in pack.parties


class _Context:
    """Lazily loaded geography for one activity (the dataset loads only when needed)."""

    def __init__(
        self, activity: Activity, boundaries: Boundaries | None, zone: ZoneOfApplication | None
    ) -> None:
        self.activity = activity
        self._boundaries = boundaries
        self._zone = zone
        self._area: BaseGeometry | None = None

    @property
    def has_area(self) -> bool:
        return self.activity.area is not None

    def area(self) -> BaseGeometry:
        if self._area is None:
            from csbm.geo.areas import area_geometry

            assert self.activity.area is not None
            self._area = area_geometry(self.activity.area)
        return self._area

    def boundaries(self) -> Boundaries:
        if self._boundaries is None:
            from csbm.geo.boundaries import default_boundaries

            self._boundaries = default_boundaries()
        return self._boundaries

    def zone(self) -> ZoneOfApplication:
        if self._zone is None:
            from csbm.geo.zone import ZoneOfApplication, zone_of_application

            self._zone = (
                zone_of_application()
                if self._boundaries is None
                else ZoneOfApplication(self._boundaries)
            )
        return self._zone


T = TypeVar("T")

_MEMO: dict[tuple[Any, ...], tuple[RulePack, Any]] = {}
"""Decisions and phrases that depend only on a pack and a few words (the branch taken),
made once per pack instead of once per activity (bench_assess: 10⁵ activities make three
phrases each otherwise). Keyed by the pack's id, checked by identity: the entry holds
the pack, so the id is not reused while the entry lives."""


def _memo(pack: RulePack, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    full = (id(pack), *key)
    hit = _MEMO.get(full)
    if hit is not None and hit[0] is pack:
        value: T = hit[1]
        return value
    made = make()
    if len(_MEMO) >= 4096:
        _MEMO.clear()
    _MEMO[full] = (pack, made)
    return made


def _branch(pack: RulePack, day: date) -> str:
    """Which case of :func:`_period` ``day`` falls in (the result depends on nothing else)."""
    if pack.terminated is not None and day >= pack.terminated:
        return "terminated"
    if pack.in_force is not None:
        return "before" if day < pack.in_force else "in_force"
    if pack.signed is not None:
        return "unsigned" if day < pack.signed else "signed"
    return "undated"


def _period_of(pack: RulePack, day: date) -> tuple[str, tuple[bool, bool, str]]:
    branch = _branch(pack, day)
    return branch, _memo(pack, ("period", branch), lambda: _period(pack, day))


def _period(pack: RulePack, day: date) -> tuple[bool, bool, str]:
    """(inside the period, provisionally, why) for an activity starting on ``day``."""
    if pack.terminated is not None and day >= pack.terminated:
        return False, False, phrase(N_("terminated on {day}"), day=pack.terminated.isoformat())
    if pack.in_force is not None:
        if day < pack.in_force:
            return False, False, phrase(N_("not yet in force (in force from {day})"),
                                        day=pack.in_force.isoformat())  # fmt: skip
        return True, False, phrase(N_("in force on the start date"))
    if pack.signed is not None:
        if day < pack.signed:
            return False, False, phrase(N_("not yet signed (signed {day})"),
                                        day=pack.signed.isoformat())  # fmt: skip
        return (
            True,
            True,
            phrase(N_("signed {day}, date of entry into force unknown: taken as in force"),
                   day=pack.signed.isoformat()),
        )  # fmt: skip
    return True, True, phrase(
        N_("dates of signature and entry into force unknown: taken as in force")
    )


def _decide(ctx: _Context, pack: RulePack, forced: bool) -> PackDecision:
    activity = ctx.activity
    branch, (inside, provisional, period_note) = _period_of(pack, activity.start.date())
    if not inside:
        return _memo(pack, ("outside", branch), lambda: PackDecision(pack, False, period_note))
    if pack.parties == "all":
        if forced or not ctx.has_area:  # the same for every activity in this period
            return _memo(
                pack, ("all", forced, branch),
                lambda: _multilateral(ctx, pack, forced, provisional, period_note),
            )  # fmt: skip
        return _multilateral(ctx, pack, forced, provisional, period_note)
    host = activity.host_state
    if host not in pack.parties:
        return _memo(
            pack, ("not_party", host, branch),
            lambda: PackDecision(
                pack, False, phrase(N_("host State {state} is not a party; {period}"),
                                    state=host, period=period_note),
            ),
        )  # fmt: skip
    return _bilateral(ctx, pack, forced, provisional, period_note)


def _multilateral(
    ctx: _Context, pack: RulePack, forced: bool, provisional: bool, period_note: str
) -> PackDecision:
    head = phrase(N_("forced with --regime")) if forced else phrase(N_("multilateral"))
    if forced:
        reason = phrase(N_("{head}; {period}"), head=head, period=period_note)
        return PackDecision(pack, True, reason, provisional=provisional)
    if not ctx.has_area:
        return PackDecision(
            pack, True,
            phrase(N_("{head}; {period}; area not given, zone of application not checked"),
                   head=head, period=period_note),
            provisional=provisional,
        )  # fmt: skip
    verdict = ctx.zone().classify(ctx.area())
    if verdict.inside is False:
        return PackDecision(pack, False, phrase(N_("outside the zone of application ({reason})"),
                                                reason=verdict.reason))  # fmt: skip
    if verdict.inside is None:
        return PackDecision(
            pack, True,
            phrase(N_("{head}; {period}; zone of application open ({reason})"),
                   head=head, period=period_note, reason=verdict.reason),
            provisional=True,
        )  # fmt: skip
    return PackDecision(
        pack, True, phrase(N_("{head}; {period}; {reason}"), head=head, period=period_note,
                           reason=verdict.reason),
        provisional=provisional,
    )  # fmt: skip


def _distances(ctx: _Context, pack: RulePack) -> tuple[BorderDistance, ...]:
    if not ctx.has_area or pack.parties == "all":
        return ()
    host = ctx.activity.host_state
    boundaries = ctx.boundaries()
    out: list[BorderDistance] = []
    for other in pack.parties:
        if other == host:
            continue
        nearest = boundaries.distance_to_border(ctx.area(), host, other)
        if nearest is not None:
            out.append(BorderDistance((host, other), round(nearest.km, 3), boundaries.tolerance_km))
    return tuple(out)


def _bilateral(
    ctx: _Context, pack: RulePack, forced: bool, provisional: bool, period_note: str
) -> PackDecision:
    host = ctx.activity.host_state
    head = (
        phrase(N_("forced with --regime"))
        if forced
        else phrase(N_("host State {state} is a party"), state=host)
    )
    zone = pack.border_zone
    distances = _distances(ctx, pack) if zone is not None or forced else ()

    def decision(applies: bool, why: str, maybe: bool = False) -> PackDecision:
        return PackDecision(pack, applies, why, distances, provisional or maybe)

    if zone is None:
        return decision(True, phrase(N_("{head}; {period}; the pack has no border zone"),
                                     head=head, period=period_note))  # fmt: skip
    if forced:
        return decision(True, phrase(N_("{head}; {period}"), head=head, period=period_note))
    if not ctx.has_area:
        return decision(
            False, phrase(N_("area not given: cannot tell whether the activity is in the border "
                             "zone (give its area, or force the pack with --regime)")),
        )  # fmt: skip
    if not distances:
        return decision(
            True, phrase(N_("{head}; {period}; no common border with the other party in the "
                            "boundary dataset ({source})"),
                         head=head, period=period_note, source=ctx.boundaries().source),
            maybe=True,
        )  # fmt: skip
    nearest = min(distances, key=lambda d: d.km)
    tol = nearest.tolerance_km
    if zone.width_km is not None:
        width = zone.width_km
        if nearest.km <= width:
            edge = nearest.km > width - tol
            template = (
                N_("{head}; {period}; within the {width:g} km border zone (near the edge, "
                   "within the dataset's tolerance)")
                if edge
                else N_("{head}; {period}; within the {width:g} km border zone")
            )  # fmt: skip
            return decision(True, phrase(template, head=head, period=period_note, width=width))
        if nearest.km <= width + tol:
            return decision(
                True, phrase(N_("{head}; {period}; at the edge of the {width:g} km border zone, "
                                "within the dataset's tolerance"),
                             head=head, period=period_note, width=width),
                maybe=True,
            )  # fmt: skip
        return decision(False, phrase(N_("outside the {width:g} km border zone"), width=width))
    screen = pack.option(SCREEN_OPTION)
    if screen is None:
        return decision(
            False, phrase(N_("border zone width unknown (border_zone.width_km is null) and no "
                             "{option} option; force with --regime"), option=SCREEN_OPTION),
        )  # fmt: skip
    if nearest.km <= float(screen) + tol:
        return decision(
            True, phrase(N_("{head}; {period}; border zone width unknown (fill in "
                            "border_zone.width_km from the agreement): within the {screen:g} "
                            "km screening distance (analyst setting)"),
                         head=head, period=period_note, screen=float(screen)),
            maybe=True,
        )  # fmt: skip
    return decision(
        False, phrase(N_("border zone width unknown; beyond the {screen:g} km screening "
                         "distance (analyst setting)"), screen=float(screen)),
    )  # fmt: skip
