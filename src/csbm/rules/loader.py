"""Loading rule packs: bundled ones by id (``vd2011``), or a user's file by path.

A malformed pack is refused whole, each problem naming the entry and the field
(``rules[4] NOTIF_LEAD: spec.amount: Input should be greater than or equal to 0``).
A pack with ``base: <id>`` corrects or extends that pack: its entries replace the base's
entries with the same id and add the others; its options override the base's.

Every pack is read through the strict reader (``csbm.reader``: libyaml, duplicate keys and
aliases refused, dates kept as text so that ``in_force: 2017-02-30`` is refused by the
pack's schema with its path, not by the YAML library). A pack of a format version other
than ``SCHEMA_VERSION`` is refused before anything else is read from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from csbm.errors import InputError, NotFoundError, Problem, RulePackError, reason_of
from csbm.reader import parse_document, read_text
from csbm.rules.pack import SCHEMA_VERSION, RulePack

_PACKAGE = "csbm.regimes"


def bundled_pack_ids() -> list[str]:
    """Ids of the packs shipped inside the package."""
    root = resources.files(_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_regime(refs: Sequence[str] | None = None) -> tuple[list[RulePack], bool]:
    """The one regime loader: the packs named (ids or paths; ``forced``), else every
    bundled pack, the multilateral one first, each to apply where it is in force
    (csbm.rules.applicability decides). Returns the packs and whether they were forced."""
    if refs:
        return [load_pack(r) for r in refs], True
    packs = [load_pack(p) for p in bundled_pack_ids()]
    return sorted(packs, key=lambda p: (p.kind != "multilateral", p.id)), False


def load_pack(ref: str | Path) -> RulePack:
    """A pack by bundled id or by path to a YAML/JSON file."""
    text_ref = str(ref)
    path = Path(text_ref)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        if not path.is_file():
            raise NotFoundError(f"rule pack file {text_ref!r} does not exist")
        try:
            text = read_text(path)
        except InputError as exc:
            raise RulePackError(exc.message, exc.problems) from None
        return _resolve_base(parse_pack(text, origin=text_ref))
    return _bundled(text_ref)


@cache
def _bundled(pack_id: str) -> RulePack:
    resource = resources.files(_PACKAGE) / f"{pack_id}.yaml"
    if not resource.is_file():
        known = ", ".join(bundled_pack_ids())
        raise NotFoundError(f"no bundled rule pack {pack_id!r} (bundled: {known}); or give a path")
    return _resolve_base(parse_pack(resource.read_text(encoding="utf-8"), origin=pack_id))


def parse_pack(text: str, origin: str = "<pack>") -> RulePack:
    """Validate a pack's text; raise RulePackError naming every bad entry and field."""
    try:
        data = parse_document(text, origin)
    except InputError as exc:
        raise RulePackError(exc.message, exc.problems) from None
    if not isinstance(data, dict):
        raise RulePackError(
            f"{origin}: a rule pack is a mapping", [Problem("", "a rule pack must be a mapping")]
        )
    _check_version(data, origin)
    try:
        return RulePack.model_validate(data)
    except ValidationError as exc:
        raise RulePackError(f"{origin}: malformed rule pack", _problems(exc, data)) from None


def _check_version(data: dict[str, Any], origin: str) -> None:
    """Refuse a pack of a format this csbm does not read, before reading anything else."""
    version = data.get("schema", SCHEMA_VERSION)
    if type(version) is not int or version != SCHEMA_VERSION:
        reason = (
            f"rule-pack format {version!r} is not supported: this csbm reads schema "
            f"{SCHEMA_VERSION}"
            + ("; a newer csbm may read it" if type(version) is int and version > 1 else "")
        )
        raise RulePackError(f"{origin}: {reason}", [Problem("schema", reason, version)])


def _problems(exc: ValidationError, data: dict[str, Any]) -> list[Problem]:
    raw_rules = data.get("rules")
    rules: list[Any] = raw_rules if isinstance(raw_rules, list) else []
    out: list[Problem] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        path = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            index = loc[1]
            entry = rules[index] if index < len(rules) else None
            rule_id = entry.get("id") if isinstance(entry, dict) else None
            path = f"rules[{index}]" + (f" {rule_id}" if rule_id else "") + ":"
            loc = loc[2:]
            # drop the discriminator tag pydantic puts after "spec"
            if (
                len(loc) >= 2
                and loc[0] == "spec"
                and isinstance(loc[1], str)
                and loc[1]
                in (
                    "threshold",
                    "duration",
                    "period",
                    "annual_date",
                    "quota",
                    "maximum",
                    "unit_quota",
                    "share",
                    "limit",
                    "standing",
                )
            ):
                loc = [loc[0], *loc[2:]]
        dotted = ""
        for part in loc:
            dotted += f"[{part}]" if isinstance(part, int) else ("." if dotted else "") + str(part)
        full = f"{path} {dotted}".strip() if path else dotted
        reason = reason_of(err)
        value = err.get("input")
        if isinstance(value, dict | list):
            value = None
        out.append(Problem(full, reason, value))
    return out


def _resolve_base(pack: RulePack) -> RulePack:
    if pack.base is None:
        return pack
    base = load_pack(pack.base)
    replaced = {r.id: r for r in pack.rules}
    rules = [replaced.pop(r.id, r) for r in base.rules] + list(replaced.values())
    merged: dict[str, Any] = {
        **base.model_dump(exclude={"rules", "options"}),
        **pack.model_dump(exclude_unset=True, exclude={"rules", "options", "base"}),
    }
    merged["options"] = {**base.options, **pack.options}
    merged["sources"] = {**base.sources, **pack.sources}
    merged["rules"] = rules
    merged["base"] = pack.base
    out = RulePack.model_validate(merged)
    try:
        out.check_sources()
    except ValueError as exc:
        raise RulePackError(f"{pack.id}: {exc}", [Problem("sources", str(exc))]) from None
    return out
