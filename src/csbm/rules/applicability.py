"""Which rule packs apply to an activity: the regime in force on its dates, for its States.

A multilateral pack (``vd2011``) applies to every activity from its entry into force. A
bilateral pack applies only inside its period (in force .. terminated) and only when the
host State is one of its parties; where the pack has a border zone, the geography decides
(csbm.geo, regional measures issue). ``forced`` packs (``--regime``) apply regardless of
geography but still not outside their period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from csbm.domain.activity import Activity
from csbm.rules.pack import RulePack


@dataclass(frozen=True)
class BorderDistance:
    """Distance from the activity's area to one common border that mattered."""

    states: tuple[str, str]
    km: float
    tolerance_km: float


@dataclass(frozen=True)
class PackApplication:
    """A pack applied to an activity, and why."""

    pack: RulePack
    reason: str
    distances: tuple[BorderDistance, ...] = field(default_factory=tuple)


def applicable_packs(
    activity: Activity, packs: Sequence[RulePack], forced: bool = False
) -> list[PackApplication]:
    """The packs of ``packs`` that apply to ``activity``, each with the reason."""
    out: list[PackApplication] = []
    day = activity.start.date()
    for pack in packs:
        if not pack.in_force_on(day):
            continue
        if pack.parties == "all":
            out.append(PackApplication(pack, "multilateral; in force on the start date"))
            continue
        if activity.host_state not in pack.parties:
            continue
        why = "forced with --regime" if forced else "host State is a party"
        out.append(PackApplication(pack, f"{why}; in force on the start date"))
    return out
