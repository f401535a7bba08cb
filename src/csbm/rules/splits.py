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
windows are found by bisection in each State's sorted list), plus the size of the groups
(summed over the groups, which is the size of what is reported when many activities
overlap): the work per member of a group is done by the interpreter's builtins (tuples
picked by ``itemgetter``, ``zip``, ``sum``), not line by line.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import compress
from operator import eq, itemgetter, sub
from typing import Any

from csbm.domain.activity import FORCE_FIELDS, Activity, Forces
from csbm.i18n import N_, phrase
from csbm.rules.findings import force_word, shared_phrase
from csbm.rules.model import OBSERVATION_INVITATION, PRIOR_NOTIFICATION, Finding
from csbm.rules.obligations import CompiledPack, forces_test, test_thresholds

_LISTED = 12
_WORDS = {PRIOR_NOTIFICATION: N_("notification"), OBSERVATION_INVITATION: N_("observation")}
_FORCES = itemgetter(*FORCE_FIELDS)

AloneTest = Callable[[Activity, str], bool | None]


def possible_splits(
    compiled: CompiledPack,
    activities: Sequence[Activity],
    adjacency_days: float,
    alone: AloneTest | None = None,
    *,
    free: Mapping[str, Sequence[bool]] | None = None,
) -> list[Finding]:
    """Findings for every group that crosses a threshold together and not alone.

    ``alone(activity, measure)`` may give the activity's own threshold result when the
    caller has it already; otherwise it is computed. ``free[measure][i]``, when the caller
    has it, says the same for the activity at index ``i``: whether its own result is False
    (it does not reach the threshold alone); ``alone`` is then not asked.

    The activities are handled by their index in ``activities`` (start, last instant,
    name and identity read once each); the groups, their order and the findings are
    those of the plain reading of the module doc.
    """
    if free is None:
        met_alone: AloneTest = alone or (lambda a, m: test_thresholds(compiled, m, a).met)
        free = {m: [met_alone(a, m) is False for a in activities] for m in _WORDS}
    gap = timedelta(days=adjacency_days)
    starts = [a.start for a in activities]
    lasts = [a.start if a.end is None else a.end for a in activities]  # last_instant
    names = [a.name for a in activities]
    ids = [id(a) for a in activities]
    per_state: dict[str, list[int]] = defaultdict(list)
    for i, activity in enumerate(activities):
        for code in activity.conducting_states:
            per_state[code].append(i)
    order = list(zip(starts, lasts, names, strict=True))
    groups: list[list[int]] = []
    for code in sorted(per_state):
        members = per_state[code]
        # by (start, last, name), stably: by start alone when no two starts are equal
        by_start = list(map(starts.__getitem__, members))
        if len(set(by_start)) == len(by_start):
            members = sorted(members, key=starts.__getitem__)
        else:
            members = sorted(members, key=order.__getitem__)
        per_state[code] = members
        groups.extend(_time_clusters(members, starts, lasts, gap))
    groups.extend(_joint_windows(activities, per_state, starts, lasts, ids, gap))
    in_order = _Order(starts, names)
    out: list[Finding] = []
    # the groups checked, by the hash of their set of activities (by identity): the sets
    # themselves are made again only to tell two of the same hash apart, so that many
    # large groups are not all held as sets at once
    seen: dict[int, list[list[int]]] = {}
    columns = _Columns(activities, names, lasts)
    tests = [(m, word, free[m]) for m, word in _WORDS.items()]
    for group in groups:
        if len(group) < 2:
            continue
        pick = itemgetter(*group)
        # The measures no member reaches alone. A group without any gives no finding, and
        # nor does any group of the same members: it need not be remembered in ``seen``.
        measures = [(m, word) for m, word, alone_free in tests if False not in pick(alone_free)]
        if not measures:
            continue
        key = frozenset(pick(ids))
        alike = seen.setdefault(hash(key), [])
        if any(frozenset(itemgetter(*other)(ids)) == key for other in alike):
            continue
        alike.append(group)
        del key
        if type(group) is _Window:  # in its order now (only a group checked needs it)
            group = in_order.sorted(group)
            pick = itemgetter(*group)
        out.extend(_check(compiled, activities, group, pick, measures, columns))
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
) -> list[_Window]:
    """Around each joint activity, the activities of its States that overlap it or follow
    within ``gap``: the joint one, then each State's in reverse order of start, each
    activity (by identity) once. (Their order as a group is by start and name, ties in
    that order: :class:`_Order`, applied to the windows checked.)"""
    begins = {code: list(map(starts.__getitem__, members)) for code, members in per_state.items()}
    ends = {code: list(map(lasts.__getitem__, members)) for code, members in per_state.items()}
    longest = {
        code: max(map(sub, ends[code], begins[code]), default=timedelta(0)) for code in per_state
    }
    # One index per activity (by identity): the first at which it is in ``activities``.
    unique = len(set(ids)) == len(ids)
    canon: list[int] = []
    if not unique:
        first: dict[int, int] = {}
        canon = [first.setdefault(k, i) for i, k in enumerate(ids)]
    out: list[_Window] = []
    for j, joint in enumerate(activities):
        if len(joint.conducting_states) < 2:
            continue
        lo, hi = starts[j] - gap, lasts[j] + gap
        around = [j]
        for code in joint.conducting_states:
            begin = begins[code]
            top = bisect_right(begin, hi)
            bottom = bisect_left(begin, lo - longest[code], 0, top)
            if bottom < top:
                # those of [bottom, top) that end at lo or later, the latest start first
                near = compress(per_state[code][bottom:top], map(lo.__le__, ends[code][bottom:top]))
                around.extend(reversed(list(near)))
        window = dict.fromkeys(around if unique else map(canon.__getitem__, around))
        if len(window) > 1:
            out.append(_Window(window))
    return out


class _Window(list[int]):
    """A joint window, not yet in the order of its group."""


class _Order:
    """Indices sorted by (start, name), stably: by those pairs while the windows sorted are
    few, then by each pair's rank among them (the same order: equal pairs, equal ranks),
    which is cheaper to compare when many large windows are sorted (n log n once)."""

    def __init__(self, starts: list[datetime], names: list[str]) -> None:
        self._starts = starts
        self._names = names
        self._pairs: list[tuple[datetime, str]] = []
        self._rank: list[int] | None = None
        self._budget = 2 * len(starts)  # elements sorted by pairs before ranking them

    def sorted(self, indices: Iterable[int]) -> list[int]:
        if self._rank is not None:
            return sorted(indices, key=self._rank.__getitem__)
        ordered = list(indices)
        # by start alone when no two starts are equal (then no two pairs are either)
        out = sorted(ordered, key=self._starts.__getitem__)
        begins = list(map(self._starts.__getitem__, out))
        if not any(map(eq, begins[:-1], begins[1:])):
            return out
        if not self._pairs:
            self._pairs = list(zip(self._starts, self._names, strict=True))
        out = sorted(ordered, key=self._pairs.__getitem__)
        self._budget -= len(out)
        if self._budget < 0:
            pairs = self._pairs
            rank = [0] * len(pairs)
            previous: tuple[datetime, str] | None = None
            r = 0
            for i in sorted(range(len(pairs)), key=pairs.__getitem__):
                if pairs[i] != previous:
                    r += 1
                    previous = pairs[i]
                rank[i] = r
            self._rank = rank
        return out


class _Columns:
    """Per activity, by index: the name and the last instant; the force figures (a list per
    criterion, in ``FORCE_FIELDS`` order) and the conducting States are read member by
    member for the first groups summed, and made into columns once as many members as
    twice the activities have been read so (many large groups)."""

    def __init__(self, activities: Sequence[Activity], names: list[str], lasts: list[datetime]):
        self._activities = activities
        self.names = names
        self.lasts = lasts
        self._forces: list[tuple[list[int | None], bool | None]] | None = None
        self._states: list[tuple[str, ...]] | None = None
        self._budget = 2 * len(activities)

    def _by_member(self, indices: list[int]) -> bool:
        if self._budget < len(indices):
            return False
        self._budget -= len(indices)
        return True

    def sum(self, indices: list[int], pick: Callable[[Sequence[Any]], tuple[Any, ...]]) -> Forces:
        """The figures of the group summed per criterion; None where none of them is
        given (a 0 adds nothing: filter(None, ...) drops it with the Nones)."""
        totals: dict[str, int | None] = {}
        if self._forces is None and self._by_member(indices):
            activities = self._activities
            rows = [_FORCES(activities[i].forces.__dict__) for i in indices]
            for name, figures in zip(FORCE_FIELDS, zip(*rows, strict=True), strict=True):
                if figures[0] is None and figures.count(None) == len(figures):
                    totals[name] = None
                else:
                    totals[name] = sum(filter(None, figures))
            return Forces.model_construct(None, **totals)  # sums of validated counts
        for name, (column, gaps) in zip(FORCE_FIELDS, self._columns(), strict=True):
            if gaps is None:
                totals[name] = None  # not given for any activity
                continue
            figures = pick(column)
            if not gaps:
                totals[name] = sum(figures)
            elif figures[0] is None and figures.count(None) == len(figures):
                totals[name] = None
            else:
                totals[name] = sum(filter(None, figures))
        return Forces.model_construct(None, **totals)  # sums of validated counts

    def _columns(self) -> list[tuple[list[int | None], bool | None]]:
        """Per criterion: the figures, and whether any of them is not given (None: none of
        them is given)."""
        if self._forces is None:
            rows = [_FORCES(a.forces.__dict__) for a in self._activities]
            columns: list[list[int | None]] = (
                [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in FORCE_FIELDS]
            )
            self._forces = [
                (c, None if c.count(None) == len(c) else None in c) for c in columns
            ]
        return self._forces

    def states(self, indices: list[int], pick: Callable[[Sequence[Any]], tuple[Any, ...]]
               ) -> list[str]:  # fmt: skip
        """The States conducting the group's activities, sorted."""
        if self._states is None:
            if self._by_member(indices):
                activities = self._activities
                return sorted(set().union(*[activities[i].conducting_states for i in indices]))
            self._states = [a.conducting_states for a in self._activities]
        return sorted(set().union(*pick(self._states)))


def _check(
    compiled: CompiledPack,
    activities: Sequence[Activity],
    indices: list[int],
    pick: Callable[[Sequence[Any]], tuple[Any, ...]],
    measures: list[tuple[str, str]],
    columns: _Columns,
) -> list[Finding]:
    """The findings of one group (``pick``: its members' items of a column, in order) for
    the ``measures`` no member reaches alone."""
    total = columns.sum(indices, pick)
    first = activities[indices[0]]
    out: list[Finding] = []
    names: tuple[str, ...] = ()
    states: list[str] = []
    last = first.start
    for measure, word in measures:
        summed = forces_test(compiled, measure, first.kind, first.organisation, total)
        if not summed.met:
            continue
        if not names:  # the same for each measure: read once (a tuple: shared)
            names = pick(columns.names)
            states = columns.states(indices, pick)
            last = max(pick(columns.lasts))
        shown: str = ", ".join(names[:_LISTED])
        if len(names) > _LISTED:
            shown = phrase(N_("{names} and {more} more"), names=list(names[:_LISTED]),
                           more=len(names) - _LISTED)  # fmt: skip
        sums = {c: total.get(c) for c in summed.criteria_met}
        out.append(
            Finding(
                rule=summed.rules_met[0],
                kind="possible_split",
                severity="medium",
                message=phrase(
                    N_("{count} activities of {states} overlapping or adjacent ({first} – "
                       "{last}) reach the {measure!t} threshold together ({sums}), none "
                       "alone: {shown}"),
                    count=len(indices), states="+".join(states),
                    first=first.start.date().isoformat(), last=last.date().isoformat(),
                    measure=word,
                    sums=[shared_phrase(N_("{criterion!t} {value:,}"), criterion=force_word(k),
                                        value=v) for k, v in sums.items()],
                    shown=shown,
                ),
                pack=compiled.pack.id,
                activities=names,
                details={"states": list(states), "sums": sums, "measure": measure},
            )
        )
    return out
