"""What the code relies on in the packs: every rule id a procedure names exists in some
pack, and which pack measures have no consumer yet (issue 9: "procedures hard-code rule
ids that nothing checks against the packs").

Rule ids are collected by reading the procedures' source with :mod:`ast` — not by
importing them (``rules`` sits below ``procedures`` and never imports it) — as every
string constant shaped like a rule id (upper-case words joined by ``_``: ``CH3_REPLY``,
``BILAT_INSP_QUOTA``). The scan needs no cooperation from the procedure modules, so a
rule id added anywhere in them — an argument of ``period_deadline``, a ``rule=`` of a
refusal, a module constant, a table — is checked the day it is written; a constant of
that shape that is not a rule id must be listed in :data:`NOT_RULE_IDS` with its reason.
Rule ids a procedure builds at run time (an f-string) cannot be seen: the procedures find
such entries by measure and anchor (``Context.find_by_anchor``) instead.

Measures: a pack entry's ``measure`` is consumed by the assessment engine
(:data:`ENGINE_MEASURES`) or by a procedure whose ``name`` is that measure; the others are
reported as "no procedure yet".
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from csbm.rules.model import (
    ADVANCE_COMMUNICATION,
    ANNUAL_CALENDAR,
    OBSERVATION_INVITATION,
    PRIOR_NOTIFICATION,
)
from csbm.rules.pack import RulePack

ENGINE_MEASURES: frozenset[str] = frozenset({
    PRIOR_NOTIFICATION,      # rules.obligations: thresholds and notice periods (Ch. V)
    OBSERVATION_INVITATION,  # rules.obligations: observation thresholds and timing (Ch. VI)
    ANNUAL_CALENDAR,         # rules.obligations: the calendar of an activity (Ch. VII)
    ADVANCE_COMMUNICATION,   # rules.obligations: ¶68 communication two years ahead
    "constraint",            # rules.constraints: the limits of Chapter VIII
    "constraint_gate",       # rules.obligations and rules.findings: ¶70
})
"""Measures the assessment engine (``csbm assess``) consumes itself."""

RULE_ID_SHAPE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
"""A string constant of this shape in a procedure is taken for a rule id."""

NOT_RULE_IDS: Mapping[str, str] = {}
"""Constants of the rule-id shape in the procedures that are not rule ids, with why."""

PROCEDURES_PACKAGE = "csbm.procedures"


def rule_ids_in_source(text: str, filename: str = "<source>") -> set[str]:
    """Every string constant of ``text`` (Python source) shaped like a rule id."""
    tree = ast.parse(text, filename=filename)
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and RULE_ID_SHAPE.match(node.value)
        and node.value not in NOT_RULE_IDS
    }


def procedure_sources(package: str = PROCEDURES_PACKAGE) -> list[Path]:
    """The ``.py`` files of the procedures package (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    files: list[Path] = []
    for folder in spec.submodule_search_locations:
        files.extend(sorted(Path(folder).glob("*.py")))
    return files


def procedure_rule_ids(package: str = PROCEDURES_PACKAGE) -> dict[str, set[str]]:
    """``{rule id: {modules naming it}}`` over the procedures' source."""
    used: dict[str, set[str]] = {}
    for path in procedure_sources(package):
        for rule_id in rule_ids_in_source(path.read_text(encoding="utf-8"), str(path)):
            used.setdefault(rule_id, set()).add(path.stem)
    return used


@dataclass(frozen=True)
class Coverage:
    """How the packs and the code meet."""

    used: Mapping[str, frozenset[str]]
    """rule ids the code names, with the modules naming them"""
    missing: Mapping[str, frozenset[str]]
    """rule ids the code names that no pack has"""
    without_consumer: Mapping[str, tuple[str, ...]]
    """``{measure: entries}`` of pack measures no engine part or procedure consumes"""

    @property
    def ok(self) -> bool:
        return not self.missing


def coverage(
    packs: Sequence[RulePack],
    used: Mapping[str, Iterable[str]],
    consumers: Iterable[str],
) -> Coverage:
    """Check ``used`` rule ids against ``packs``; list the measures ``consumers`` miss."""
    known = {rule.id for pack in packs for rule in pack.rules}
    frozen = {rule_id: frozenset(mods) for rule_id, mods in sorted(used.items())}
    missing = {rule_id: mods for rule_id, mods in frozen.items() if rule_id not in known}
    consumed = set(consumers) | ENGINE_MEASURES
    orphans: dict[str, list[str]] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.measure not in consumed:
                entries = orphans.setdefault(rule.measure, [])
                if rule.id not in entries:
                    entries.append(rule.id)
    return Coverage(
        used=frozen,
        missing=missing,
        without_consumer={m: tuple(ids) for m, ids in sorted(orphans.items())},
    )


__all__ = [
    "ENGINE_MEASURES",
    "NOT_RULE_IDS",
    "RULE_ID_SHAPE",
    "Coverage",
    "coverage",
    "procedure_rule_ids",
    "procedure_sources",
    "rule_ids_in_source",
]
