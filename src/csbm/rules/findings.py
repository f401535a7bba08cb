"""Findings about one activity: violations, figures near a threshold, inconsistencies.

* ``violation``: a commitment whose obligation is missed, or an activity above the
  ¶~70 gate held without the advance communication or the calendar entry;
* ``near_threshold``: a declared figure within the analyst's margin below a notification
  or observation threshold (Zapad-2017: 12,700 troops against 13,000);
* ``inconsistency``: declarations of the same activity that contradict each other, observed
  figures that cross a threshold the declared ones stay under, or observation-level forces
  declared with no invitation while the invitation is still due.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from csbm.domain.activity import FORCE_FIELDS, Activity, ActivityKind
from csbm.domain.time import iso
from csbm.i18n import N_, Phrase, phrase
from csbm.rules.model import OBSERVATION_INVITATION, PRIOR_NOTIFICATION, Finding, Obligation
from csbm.rules.obligations import (
    CompiledPack,
    ThresholdTest,
    gate_above,
    plan_of,
    test_thresholds,
)
from csbm.rules.pack import RulePack, ThresholdSpec

_MEASURE_WORDS = {
    PRIOR_NOTIFICATION: N_("notification"),
    OBSERVATION_INVITATION: N_("observation"),
}

FORCE_WORDS = {
    "troops": N_("troops"),
    "battle_tanks": N_("battle tanks"),
    "acv": N_("acv"),
    "artillery": N_("artillery"),
    "fixed_wing_sorties": N_("fixed wing sorties"),
    "helicopters": N_("helicopters"),
    "amphibious_troops": N_("amphibious troops"),
    "airborne_troops": N_("airborne troops"),
}
"""The force criteria's names as the messages show them (message ids)."""

OBLIGATION_WORDS = {
    "prior_notification": N_("prior notification"),
    "observation_invitation": N_("observation invitation"),
    "annual_calendar": N_("annual calendar"),
    "advance_communication": N_("advance communication"),
}


_SHARED: dict[tuple[Any, ...], Phrase] = {}


def shared_phrase(template: str, /, **params: Any) -> Phrase:
    """``phrase(template, **params)``, one object for the same template and parameters when
    these are plain (str, int, float, bool, None; else a new phrase, as ``phrase`` makes):
    a phrase is never changed once made, and the same text made once is also turned into
    JSON once (csbm.i18n.phrase_json). Keyed by each parameter's type and value (a float
    by its bits: 0.0 and -0.0 are shown differently), so that equal-looking parameters
    of other types (1, 1.0, True) never share."""
    key: list[Any] = [template]
    for name, value in params.items():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            key += (name, kind, value)
        elif kind is float:
            key += (name, kind, value.hex())
        else:
            return phrase(template, **params)
    whole = tuple(key)
    found = _SHARED.get(whole)
    if found is None:
        if len(_SHARED) >= 65536:
            _SHARED.clear()
        found = _SHARED[whole] = phrase(template, **params)
    return found


def force_word(name: str) -> str:
    """A force criterion's name as a message id (``battle_tanks`` -> ``battle tanks``)."""
    return FORCE_WORDS.get(name, name.replace("_", " "))


def violations(
    pack: RulePack, obligations: Iterable[Obligation], activity: Activity
) -> list[Finding]:
    out: list[Finding] = []
    for ob in obligations:
        if ob.status != "missed":
            continue
        rule = pack.get(ob.rule)
        strength = rule.strength if rule is not None else "commitment"
        if strength == "right":
            continue
        due = iso(ob.due) if ob.due else "its time limit"
        what = OBLIGATION_WORDS.get(ob.kind, ob.kind.replace("_", " "))
        if ob.due is None:
            message: Phrase = (
                shared_phrase(N_("{what!t} due by its time limit was missed ({note})"),
                              what=what, note=ob.note)
                if ob.note
                else shared_phrase(N_("{what!t} due by its time limit was missed"), what=what)
            )  # fmt: skip
        elif ob.note:
            message = shared_phrase(N_("{what!t} due {due} was missed ({note})"),
                                    what=what, due=due, note=ob.note)  # fmt: skip
        else:
            message = shared_phrase(N_("{what!t} due {due} was missed"), what=what, due=due)
        out.append(
            Finding(
                rule=ob.rule,
                kind="violation",
                severity="high" if strength == "commitment" else "low",
                message=message,
                pack=ob.pack,
                activities=(activity.name,),
                details={"due": due, "owed_by": list(ob.owed_by)},
            )
        )
    return out


def gate_violation(
    compiled: CompiledPack, activity: Activity, above: bool | None = None
) -> list[Finding]:
    """An activity above the gate held without the advance communication or the calendar
    entry (``above``: :func:`gate_above` of it, when the caller has it already)."""
    gate = compiled.gate
    if gate is None:
        return []
    assert isinstance(gate.spec, ThresholdSpec)
    if above is None:
        above = gate_above(compiled, activity.forces)
    if not above:
        return []
    not_ahead = activity.communicated_two_years_ahead is False
    not_listed = activity.in_annual_calendar is False
    if not (not_ahead or not_listed):
        return []
    if not_ahead and not_listed:
        template = N_("above {criteria:or} but not communicated two years ahead nor in the "
                      "annual calendar")  # fmt: skip
    elif not_ahead:
        template = N_("above {criteria:or} but not communicated two years ahead")
    else:
        template = N_("above {criteria:or} but not in the annual calendar")
    key = ("gate_violation", template)
    message = compiled._texts.get(key)
    if message is None:  # the same for every activity: made once per pack and template
        message = phrase(template, criteria=criteria_phrases(gate.spec.criteria))
        compiled._texts[key] = message
    return [
        Finding(
            rule=gate.id,
            kind="violation",
            severity="high",
            message=message,
            pack=compiled.pack.id,
            activities=(activity.name,),
        )
    ]


def near_thresholds(
    compiled: CompiledPack,
    activity: Activity,
    margin: float,
    tests: dict[str, ThresholdTest] | None = None,
) -> list[Finding]:
    """Declared figures within ``margin`` (a fraction) below a ``>=`` threshold not met."""
    out: list[Finding] = []
    values = activity.forces.__dict__
    for name, floor in near_floors(compiled, None, activity.kind, margin):
        value = values[name]
        if value is not None and value >= floor:
            break
    else:
        return out  # every figure too far below every threshold: nothing near
    for measure, word in _MEASURE_WORDS.items():
        test = tests[measure] if tests else test_thresholds(compiled, measure, activity)
        if test.met:
            continue
        for name, floor in near_floors(compiled, measure, activity.kind, margin):
            value = values[name]
            if value is not None and value >= floor:
                break
        else:
            continue  # every figure too far below: nothing near
        # every criterion of test.rules with a number, in order (compiled once per kind)
        for rule, name, limit in plan_of(compiled, measure, activity.kind, False).criteria:
            value = values[name]
            if value is None or value >= limit:
                continue
            below = limit - value
            if below <= limit * margin:
                out.append(
                    Finding(
                        rule=rule.id,
                        kind="near_threshold",
                        severity="info",
                        message=shared_phrase(
                            N_("{criterion!t} {value:,} is {below:,} ({fraction:.1%}) "
                               "below the {measure!t} threshold {limit:,}"),
                            criterion=force_word(name), value=value, below=below,
                            fraction=below / limit, measure=word, limit=limit,
                        ),
                        pack=compiled.pack.id,
                        activities=(activity.name,),
                        details={
                            "criterion": name,
                            "declared": value,
                            "threshold": limit,
                            "below_by": below,
                            "below_by_fraction": round(below / limit, 4),
                            "margin": margin,
                        },
                    )
                )
    return out


def near_floors(
    compiled: CompiledPack, measure: str | None, kind: ActivityKind, margin: float
) -> tuple[tuple[str, float], ...]:
    """Per criterion of :func:`near_thresholds` for ``measure`` (None: both) and ``kind``: a
    figure below which it is near none of the criterion's numbers (one less than the least
    number less the margin: what is near is ``limit - value <= limit * margin``)."""
    if margin != margin:
        return ()  # a NaN margin: nothing is near (no comparison with it holds)
    key = (measure, kind, margin)
    found = compiled._floors.get(key)
    if found is None:
        floors: dict[str, float] = {}
        measures = _MEASURE_WORDS if measure is None else (measure,)
        criteria = [c for m in measures for c in plan_of(compiled, m, kind, False).criteria]
        for _, name, limit in criteria:
            floor = limit - limit * margin - 1
            floors[name] = min(floors.get(name, floor), floor)
        found = compiled._floors[key] = tuple(floors.items())
    return found


def inconsistencies(
    compiled: CompiledPack,
    activity: Activity,
    obligations: Iterable[Obligation],
    tests: dict[str, ThresholdTest] | None = None,
) -> list[Finding]:
    out: list[Finding] = []
    declared = activity.forces.__dict__
    for decl in activity.declarations:
        if decl.kind == "declared":
            other = decl.forces.__dict__
            for name in FORCE_FIELDS:
                a, b = declared[name], other[name]
                if a is not None and b is not None and a != b:
                    out.append(
                        Finding(
                            rule="NOTIF_CONTENT",
                            kind="inconsistency",
                            severity="medium",
                            message=phrase(
                                N_("{field!t}: declared {declared:,}, but {source} declares "
                                   "{other:,}"),
                                field=force_word(name), declared=a, source=decl.source, other=b,
                            ),
                            pack=compiled.pack.id,
                            activities=(activity.name,),
                            details={
                                "field": name,
                                "declared": a,
                                "other": b,
                                "source": decl.source,
                            },
                        )
                    )
        else:
            observed = activity.model_copy(update={"forces": decl.forces})
            for measure, word in _MEASURE_WORDS.items():
                declared_test = (
                    tests[measure] if tests else test_thresholds(compiled, measure, activity)
                )
                observed_test: ThresholdTest = test_thresholds(compiled, measure, observed)
                if observed_test.met and not declared_test.met:
                    out.append(
                        Finding(
                            rule=observed_test.rules_met[0],
                            kind="inconsistency",
                            severity="medium",
                            message=phrase(
                                N_("{source} observed figures at the {measure!t} threshold "
                                   "({criteria!t}); the declared figures stay below it")
                                if declared_test.met is False
                                else N_("{source} observed figures at the {measure!t} "
                                        "threshold ({criteria!t}); the declared figures do "
                                        "not show it (not given)"),
                                source=decl.source, measure=word,
                                criteria=[force_word(c) for c in observed_test.criteria_met],
                            ),
                            pack=compiled.pack.id,
                            activities=(activity.name,),
                            details={
                                "source": decl.source,
                                "criteria": list(observed_test.criteria_met),
                            },
                        )
                    )
    for ob in obligations:
        if (
            ob.kind == OBSERVATION_INVITATION
            and ob.status == "open"
            and activity.observers_invited is False
        ):
            out.append(
                Finding(
                    rule=ob.rule,
                    kind="inconsistency",
                    severity="medium",
                    message=phrase(
                        N_("observation-level forces declared, and no observers invited")
                    ),
                    pack=ob.pack,
                    activities=(activity.name,),
                )
            )
    return out


def criteria_phrases(criteria: dict[str, int | None]) -> list[Phrase]:
    """Each criterion with its figure (``troops 13,000``), to be joined by the message."""
    return [
        shared_phrase(N_("{criterion!t} {value:,}"), criterion=force_word(k), value=v)
        for k, v in criteria.items()
        if v is not None
    ]
