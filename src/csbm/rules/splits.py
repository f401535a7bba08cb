"""Possible splits: activities that together cross a threshold none crosses alone.

Splitting one operation into nominally separate activities, each under a threshold, is the
evasion critics describe (digest §7.2, S10, S16; ¶40.1 single operational command). The
engine groups the activities of one State — or of States acting together, i.e. linked by
activities they conduct jointly — that overlap in time or follow each other within
``adjacency_days`` (an analyst setting), sums their peak forces, and reports each group
whose sum reaches a notification or observation threshold that no member reaches alone.
Cost: O(n log n).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from csbm.domain.activity import Activity, Forces
from csbm.rules.model import OBSERVATION_INVITATION, PRIOR_NOTIFICATION, Finding
from csbm.rules.obligations import CompiledPack, test_thresholds

_LISTED = 12
_WORDS = {PRIOR_NOTIFICATION: "notification", OBSERVATION_INVITATION: "observation"}


class _Groups:
    """Union-find over State codes: States that conduct an activity together."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, code: str) -> str:
        root = self.parent.setdefault(code, code)
        while root != self.parent[root]:
            root = self.parent[root]
        while code != root:
            self.parent[code], code = root, self.parent[code]
        return root

    def join(self, codes: Sequence[str]) -> None:
        first = self.find(codes[0])
        for other in codes[1:]:
            self.parent[self.find(other)] = first


def possible_splits(
    compiled: CompiledPack, activities: Sequence[Activity], adjacency_days: float
) -> list[Finding]:
    groups = _Groups()
    for activity in activities:
        groups.join(activity.conducting_states)
    by_group: dict[str, list[Activity]] = defaultdict(list)
    for activity in activities:
        by_group[groups.find(activity.conducting_states[0])].append(activity)
    gap = timedelta(days=adjacency_days)
    out: list[Finding] = []
    for key in sorted(by_group):
        members = sorted(by_group[key], key=lambda a: (a.start, a.last_instant, a.name))
        cluster: list[Activity] = []
        cluster_end = None
        for activity in members:
            if cluster and cluster_end is not None and activity.start <= cluster_end + gap:
                cluster.append(activity)
                cluster_end = max(cluster_end, activity.last_instant)
                continue
            out.extend(_check(compiled, cluster))
            cluster, cluster_end = [activity], activity.last_instant
        out.extend(_check(compiled, cluster))
    return out


def _check(compiled: CompiledPack, cluster: list[Activity]) -> list[Finding]:
    if len(cluster) < 2:
        return []
    total = Forces()
    for activity in cluster:
        total = total.plus(activity.forces)
    combined = cluster[0].model_copy(update={"forces": total})
    out: list[Finding] = []
    for measure, word in _WORDS.items():
        if any(test_thresholds(compiled, measure, a).met is not False for a in cluster):
            continue
        summed = test_thresholds(compiled, measure, combined)
        if not summed.met:
            continue
        names = [a.name for a in cluster]
        shown = ", ".join(names[:_LISTED]) + (
            f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        )
        states = sorted({s for a in cluster for s in a.conducting_states})
        sums = {c: total.get(c) for c in summed.criteria_met}
        last = max(a.last_instant for a in cluster)
        out.append(
            Finding(
                rule=summed.rules_met[0],
                kind="possible_split",
                severity="medium",
                message=(
                    f"{len(cluster)} activities of {'+'.join(states)} overlapping or adjacent "
                    f"({cluster[0].start.date()} – {last.date()}) reach "
                    f"the {word} threshold together ("
                    + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sums.items())
                    + f"), none alone: {shown}"
                ),
                pack=compiled.pack.id,
                activities=tuple(names),
                details={"states": states, "sums": sums, "measure": measure},
            )
        )
    return out
