"""The possible-split search as it was before its per-member work went to builtins
(csbm.rules.splits at b75119f, verbatim but for this docstring): the reference the
tests compare the engine's with, finding for finding."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from csbm.domain.activity import FORCE_FIELDS, Activity, Forces
from csbm.i18n import N_, phrase
from csbm.rules.findings import force_word
from csbm.rules.model import OBSERVATION_INVITATION, PRIOR_NOTIFICATION, Finding
from csbm.rules.obligations import CompiledPack, forces_test, test_thresholds

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

    The activities are handled by their index in ``activities`` (start, last instant,
    name and identity read once each); the groups, their order and the findings are
    those of the plain reading of the module doc.
    """
    met_alone: AloneTest = alone or (lambda a, m: test_thresholds(compiled, m, a).met)
    gap = timedelta(days=adjacency_days)
    starts = [a.start for a in activities]
    lasts = [a.start if a.end is None else a.end for a in activities]  # last_instant
    ids = [id(a) for a in activities]
    per_state: dict[str, list[int]] = defaultdict(list)
    for i, activity in enumerate(activities):
        for code in activity.conducting_states:
            per_state[code].append(i)
    order = [(starts[i], lasts[i], a.name) for i, a in enumerate(activities)]
    groups: list[list[int]] = []
    for code in sorted(per_state):
        members = sorted(per_state[code], key=order.__getitem__)
        per_state[code] = members
        groups.extend(_time_clusters(members, starts, lasts, gap))
    groups.extend(_joint_windows(activities, per_state, starts, lasts, ids, gap))
    out: list[Finding] = []
    seen: set[frozenset[int]] = set()
    free: dict[str, list[bool | None]] = {m: [None] * len(activities) for m in _WORDS}
    for group in groups:
        if len(group) < 2:
            continue
        key = frozenset(map(ids.__getitem__, group))
        if key in seen:
            continue
        seen.add(key)
        out.extend(_check(compiled, activities, group, met_alone, free))
    return out


def _time_clusters(
    members: list[int], starts: list[datetime], lasts: list[datetime], gap: timedelta
) -> list[list[int]]:
    clusters: list[list[int]] = []
    cluster: list[int] = []
    end: datetime | None = None
    for i in members:
        if cluster and end is not None and starts[i] <= end + gap:
            cluster.append(i)
            if lasts[i] > end:
                end = lasts[i]
            continue
        if len(cluster) > 1:
            clusters.append(cluster)
        cluster, end = [i], lasts[i]
    if len(cluster) > 1:
        clusters.append(cluster)
    return clusters


def _joint_windows(
    activities: Sequence[Activity],
    per_state: dict[str, list[int]],
    starts: list[datetime],
    lasts: list[datetime],
    ids: list[int],
    gap: timedelta,
) -> list[list[int]]:
    begins = {code: [starts[i] for i in members] for code, members in per_state.items()}
    longest = {
        code: max((lasts[i] - starts[i] for i in members), default=timedelta(0))
        for code, members in per_state.items()
    }
    out: list[list[int]] = []
    for j, joint in enumerate(activities):
        if len(joint.conducting_states) < 2:
            continue
        lo, hi = starts[j] - gap, lasts[j] + gap
        window: dict[int, int] = {ids[j]: j}
        for code in joint.conducting_states:
            members, begin = per_state[code], begins[code]
            i = bisect_right(begin, hi)
            earliest = lo - longest[code]
            while i > 0 and begin[i - 1] >= earliest:
                i -= 1
                other = members[i]
                if lasts[other] >= lo:
                    window[ids[other]] = other
        if len(window) > 1:
            out.append(sorted(window.values(), key=lambda k: (starts[k], activities[k].name)))
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
    return Forces.model_construct(None, **totals)  # sums of validated counts


def _check(
    compiled: CompiledPack,
    activities: Sequence[Activity],
    indices: list[int],
    met_alone: AloneTest,
    free: dict[str, list[bool | None]],
) -> list[Finding]:
    """The findings of one group; ``free[measure][i]``: whether activity ``i`` does not
    reach the measure's threshold alone (asked of ``met_alone`` once per activity)."""
    group = [activities[i] for i in indices]
    total: Forces | None = None
    out: list[Finding] = []
    for measure, word in _WORDS.items():
        alone_free = free[measure]
        crossed_alone = False
        for i in indices:
            known = alone_free[i]
            if known is None:
                known = alone_free[i] = met_alone(activities[i], measure) is False
            if not known:
                crossed_alone = True
                break
        if crossed_alone:
            continue
        if total is None:
            total = _sum(group)
        first = group[0]
        summed = forces_test(compiled, measure, first.kind, first.organisation, total)
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
