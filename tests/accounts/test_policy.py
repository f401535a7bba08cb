"""The access policy: every role × action, allowed and refused; what a State is served."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from csbm.accounts.policy import (
    PERMISSIONS,
    Action,
    Forbidden,
    Role,
    allowed,
    parse_role,
    require,
    roles_for,
    visible_to,
)
from csbm.errors import InputError

A = Action
# Written out by hand (not derived from PERMISSIONS): the test holds the table.
EXPECTED: dict[Role, set[Action]] = {
    Role.DRAFTER: {A.READ_LOG, A.READ_INBOX, A.DRAFT},
    Role.SIGNING_OFFICER: {A.READ_LOG, A.READ_INBOX, A.APPROVE, A.SEND},
    Role.READER: {A.READ_LOG, A.READ_INBOX},
    Role.AUDITOR: {A.READ_LOG, A.READ_INBOX, A.AUDIT},
    Role.ADMIN: {A.MANAGE_PEERS, A.MANAGE_USERS},
}
CASES = [(role, action, action in EXPECTED[role]) for role in Role for action in Action]


@pytest.mark.parametrize(("role", "action", "expected"), CASES)
def test_each_role_and_action(role: Role, action: Action, expected: bool) -> None:
    assert allowed(role, action) is expected
    assert allowed(role.value, action.value) is expected  # the stored spelling too
    if expected:
        require(role, action)
    else:
        with pytest.raises(Forbidden) as info:
            require(role, action, who="ana")
        assert info.value.code == "auth.forbidden"
        assert info.value.http_status == 403
        assert info.value.lines() == [f"role: ana ({role}) may not {action} (got '{role}')"]


def test_the_table_has_every_role_and_eight_actions() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert len(Action) == 8
    assert len(CASES) == 40


def test_separation_of_duties() -> None:
    """Who drafts does not sign; who signs does not draft; the admin reads nothing."""
    assert roles_for(Action.APPROVE) == [Role.SIGNING_OFFICER]
    assert roles_for(Action.SEND) == [Role.SIGNING_OFFICER]
    assert roles_for(Action.DRAFT) == [Role.DRAFTER]
    assert roles_for(Action.MANAGE_USERS) == [Role.ADMIN]
    assert not allowed(Role.ADMIN, Action.READ_LOG)


@pytest.mark.parametrize(
    ("role", "action"),
    [("root", "draft"), ("drafter", "delete_log"), ("", ""), ("ADMIN", "manage_users")],
)
def test_unknown_roles_and_actions_are_never_allowed(role: str, action: str) -> None:
    assert allowed(role, action) is False


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("signing_officer", Role.SIGNING_OFFICER),
        ("Signing-Officer", Role.SIGNING_OFFICER),
        (" reader ", Role.READER),
        ("admin", Role.ADMIN),
    ],
)
def test_parse_role(text: str, role: Role) -> None:
    assert parse_role(text) is role


@pytest.mark.parametrize("text", ["root", "", None, 3, "drafter,admin"])
def test_parse_role_refuses_others(text: object) -> None:
    with pytest.raises(InputError) as info:
        parse_role(text)
    assert info.value.code == "user.bad_role"
    assert info.value.problems[0].path == "--role"


@pytest.mark.parametrize(
    ("state", "sender", "recipients", "served"),
    [
        ("LT", "LT", ["BY"], True),  # sent by it
        ("LT", "BY", ["LT"], True),  # addressed to it
        ("LT", "BY", ["PL", "LT"], True),  # one of several
        ("LT", "BY", ["all"], True),  # to all
        ("LT", "BY", ["ALL"], True),
        ("lt", "by", ["lt"], True),  # codes in any case
        ("LT", "BY", ["PL"], False),  # bilateral between two others: never
        ("LT", "BY", ["PL", "LV"], False),
        ("LT", "PL", [], False),
        ("HUB", "BY", ["PL"], False),  # not even the hub is served it as a State
    ],
)
def test_visible_to(state: str, sender: str, recipients: list[str], served: bool) -> None:
    assert visible_to(state, sender, recipients) is served


def test_the_accounts_package_is_pure() -> None:
    """csbm.accounts imports nothing of csbm but csbm.errors (no store, node, shells)."""
    src = Path(__file__).resolve().parents[2] / "src" / "csbm" / "accounts"
    names: set[str] = set()
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
    ours = {n for n in names if n.startswith("csbm")}
    assert ours and all(n == "csbm.errors" or n.startswith("csbm.accounts") for n in ours), ours
