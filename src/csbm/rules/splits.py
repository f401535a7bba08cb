"""Possible splits: activities that together cross a threshold none crosses alone.

Splitting one operation into nominally separate activities, each under a threshold, is the
evasion critics describe (digest §7.2, S10, S16; ¶40.1 single operational command). Two
kinds of group are summed:

* the activities of one State that overlap in time or follow each other within
  ``adjacency_days`` (an analyst setting) — a joint activity counts for each of its States;
* States acting together: around each joint activity, the activities of its States that
  overlap it (or follow within ``adjacency_days``) — so a joint exercise flanked by
  national ones of each partner is summed with them.

Each group whose summed peak forces reach a notification or observation threshold that no
member reaches alone is reported once. Cost: O(n log n) (sorts, then sweeps; the joint
windows are found by bisection in each State's sorted list).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from csbm.domain.activity import FORCE_FIELDS, Activity, Forces
from csbm.i18n import N_, phrase
from csbm.rules.findings import force_word
from csbm.rules.model import OBSERVATION_INVITATION, PRIOR_NOTIFICATION, Finding
from csbm.rules.obligations import CompiledPack, test_thresholds

_LISTED = 12
_WORDS = {PRIOR_NOTIFICATION: N_("notification"), OBSERVATION_INVITATION: N_("observation")}

AloneTest = Callable[[Activity, str], bool | None]


def possible_splits(
    compiled: CompiledPack,
    activities: Sequence[Activity],
    adjacency_days: float,
    alone: AloneTest | None = None,
) -> list[Finding]:
    """Findings for every group that crosses a threshold together and not alone.

    ``alone(activity, measure)`` may give the activity's own threshold result when the
    caller has it already; otherwise it is computed.
    """
    met_alone: AloneTest = alone or (lambda a, m: test_thresholds(compiled, m, a).met)
    gap = timedelta(days=adjacency_days)
    per_state: dict[str, list[Activity]] = defaultdict(list)
    for activity in activities:
        for code in activity.conducting_states:
            per_state[code].append(activity)
    groups: list[list[Activity]] = []
    for code in sorted(per_state):
        members = sorted(per_state[code], key=lambda a: (a.start, a.last_instant, a.name))
        per_state[code] = members
        groups.extend(_time_clusters(members, gap))
    groups.extend(_joint_windows(activities, per_state, gap))
    out: list[Finding] = []
    seen: set[frozenset[int]] = set()
    for group in groups:
        if len(group) < 2:
            continue
        key = frozenset(id(a) for a in group)
        if key in seen:
            continue
        seen.add(key)
        out.extend(_check(compiled, group, met_alone))
    return out


def _time_clusters(members: list[Activity], gap: timedelta) -> list[list[Activity]]:
    clusters: list[list[Activity]] = []
    cluster: list[Activity] = []
    end = None
    for activity in members:
        if cluster and end is not None and activity.start <= end + gap:
            cluster.append(activity)
            end = max(end, activity.last_instant)
            continue
        if len(cluster) > 1:
            clusters.append(cluster)
        cluster, end = [activity], activity.last_instant
    if len(cluster) > 1:
        clusters.append(cluster)
    return clusters


def _joint_windows(
    activities: Sequence[Activity], per_state: dict[str, list[Activity]], gap: timedelta
) -> list[list[Activity]]:
    starts = {code: [a.start for a in members] for code, members in per_state.items()}
    longest = {
        code: max((a.last_instant - a.start for a in members), default=timedelta(0))
        for code, members in per_state.items()
    }
    out: list[list[Activity]] = []
    for joint in activities:
        if len(joint.conducting_states) < 2:
            continue
        lo, hi = joint.start - gap, joint.last_instant + gap
        window: dict[int, Activity] = {id(joint): joint}
        for code in joint.conducting_states:
            members, begin = per_state[code], starts[code]
            i = bisect_right(begin, hi)
            earliest = lo - longest[code]
            while i > 0 and begin[i - 1] >= earliest:
                i -= 1
                other = members[i]
                if other.last_instant >= lo:
                    window[id(other)] = other
        if len(window) > 1:
            out.append(sorted(window.values(), key=lambda a: (a.start, a.name)))
    return out


def _sum(group: list[Activity]) -> Forces:
    totals: dict[str, int | None] = dict.fromkeys(FORCE_FIELDS)
    for activity in group:
        values = activity.forces.__dict__
        for name in FORCE_FIELDS:
            value = values[name]
            if value is not None:
                current = totals[name]
                totals[name] = value if current is None else current + value
    return Forces(**totals)


def _check(compiled: CompiledPack, group: list[Activity], met_alone: AloneTest) -> list[Finding]:
    total: Forces | None = None
    out: list[Finding] = []
    for measure, word in _WORDS.items():
        if any(met_alone(a, measure) is not False for a in group):
            continue
        if total is None:
            total = _sum(group)
        combined = group[0].model_copy(update={"forces": total})
        summed = test_thresholds(compiled, measure, combined)
        if not summed.met:
            continue
        names = [a.name for a in group]
        shown: str = ", ".join(names[:_LISTED])
        if len(names) > _LISTED:
            shown = phrase(N_("{names} and {more} more"), names=names[:_LISTED],
                           more=len(names) - _LISTED)  # fmt: skip
        states = sorted({s for a in group for s in a.conducting_states})
        sums = {c: total.get(c) for c in summed.criteria_met}
        last = max(a.last_instant for a in group)
        out.append(
            Finding(
                rule=summed.rules_met[0],
                kind="possible_split",
                severity="medium",
                message=phrase(
                    N_("{count} activities of {states} overlapping or adjacent ({first} – "
                       "{last}) reach the {measure!t} threshold together ({sums}), none "
                       "alone: {shown}"),
                    count=len(group), states="+".join(states),
                    first=group[0].start.date().isoformat(), last=last.date().isoformat(),
                    measure=word,
                    sums=[phrase(N_("{criterion!t} {value:,}"), criterion=force_word(k), value=v)
                          for k, v in sums.items()],
                    shown=shown,
                ),
                pack=compiled.pack.id,
                activities=tuple(names),
                details={"states": states, "sums": sums, "measure": measure},
            )
        )
    return out
