"""Small builders shared by the rules tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csbm.domain.activity import Activity
from csbm.domain.time import parse_instant
from csbm.rules import load_pack
from csbm.rules.pack import RulePack


def at(text: str) -> datetime:
    return parse_instant(text).at


def activity(**fields: Any) -> Activity:
    base: dict[str, Any] = {
        "name": "Test activity",
        "conducting_states": ["RU"],
        "host_state": "RU",
        "start": "2024-09-10T06:00:00Z",
        "end": "2024-09-16T18:00:00Z",
        "forces": {"troops": 10000, "battle_tanks": 100, "acv": 200, "artillery": 80},
    }
    base.update(fields)
    return Activity.model_validate(base)


def vd2011() -> RulePack:
    return load_pack("vd2011")


def with_option(pack: RulePack, name: str, value: Any) -> RulePack:
    options = dict(pack.options)
    options[name] = options[name].model_copy(update={"value": value})
    return pack.model_copy(update={"options": options})
