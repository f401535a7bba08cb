"""The 57 participating States and the zone of application flags."""

from __future__ import annotations

import pytest

from csbm.domain.states import PARTICIPATING_STATES, is_participating_state, state


def test_fifty_seven_unique_states() -> None:
    codes = [s.code for s in PARTICIPATING_STATES]
    assert len(codes) == 57 and len(set(codes)) == 57
    assert all(len(c) == 2 and c.isupper() for c in codes)


def test_zone_flags() -> None:
    assert state("RU").zone == "part" and "Urals" in (state("RU").zone_note or "")
    assert state("KZ").zone == "part"
    assert state("US").in_zone is False and state("CA").in_zone is False
    assert state("DE").in_zone is True and state("TJ").in_zone is True
    assert state("MN").zone is None and state("MN").in_zone is None


@pytest.mark.parametrize("code", ["XK", "CN", "JP", "", "RUS"])
def test_not_participating(code: str) -> None:
    assert not is_participating_state(code)
