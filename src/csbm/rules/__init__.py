"""Rule packs and their evaluation: obligations, findings, quotas, constraining provisions."""

from csbm.rules.applicability import BorderDistance, PackApplication, applicable_packs
from csbm.rules.cases import check_pack, check_rule
from csbm.rules.engine import Regime, assess, assess_activity
from csbm.rules.loader import bundled_pack_ids, load_pack, load_regime, parse_pack
from csbm.rules.model import (
    ActivityAssessment,
    Assessment,
    ConstraintResult,
    Finding,
    Obligation,
)
from csbm.rules.pack import Rule, RulePack

__all__ = [
    "ActivityAssessment",
    "Assessment",
    "BorderDistance",
    "ConstraintResult",
    "Finding",
    "Obligation",
    "PackApplication",
    "Regime",
    "Rule",
    "RulePack",
    "applicable_packs",
    "assess",
    "assess_activity",
    "bundled_pack_ids",
    "check_pack",
    "check_rule",
    "load_pack",
    "load_regime",
    "parse_pack",
]
