"""Accounts on a node (SQLite and PostgreSQL): add, list, remove, sign in, history."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from csbm.accounts.policy import Action, Forbidden, Role, Unauthenticated
from csbm.errors import InputError, NotFoundError
from csbm.node import Node
from csbm.services import users
from tests.accounts.conftest import PASSWORD
from tests.store.nodes import T0, at


def test_a_password_account_signs_in_and_a_wrong_password_is_refused(node: Node) -> None:
    added = users.add_user(node, "ana", Role.DRAFTER, T0, "cli:root", password=PASSWORD)
    assert added.token is None
    assert added.user.to_json() == {
        "name": "ana",
        "role": "drafter",
        "credential": "password",
        "created_at": "2026-03-01T09:00:00Z",
        "created_by": "cli:root",
    }
    account = users.authenticate_password(node, "ana", PASSWORD, at(1))
    assert (account.name, account.role) == ("ana", Role.DRAFTER)
    for name, password in [("ana", PASSWORD + "!"), ("ana", ""), ("bob", PASSWORD), ("", "")]:
        with pytest.raises(Unauthenticated) as info:
            users.authenticate_password(node, name, password, at(2))
        assert info.value.code == "auth.unauthenticated"
        assert info.value.http_status == 401
        assert info.value.lines() == ["authorization: wrong name or password"]
    refusals = [e for e in node.accounts.events() if e.action == "auth.refused"]
    assert [e.account for e in refusals] == ["ana", "ana", "bob", "(not a name)"]


def test_only_a_hash_of_a_password_is_stored(node: Node) -> None:
    users.add_user(node, "ana", Role.READER, T0, "test", password=PASSWORD)
    ((name, password_hash, token_hash),) = node.accounts.stored_secrets()
    assert name == "ana" and token_hash is None
    assert password_hash is not None and password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


def test_a_token_is_shown_once_and_only_its_hash_is_stored(node: Node) -> None:
    added = users.add_user(node, "svc", Role.READER, T0, "test", token=True)
    assert added.token is not None and added.token.startswith("csbm_")
    ((_name, password_hash, token_hash),) = node.accounts.stored_secrets()
    assert password_hash is None
    assert token_hash == hashlib.sha256(added.token.encode()).digest()
    with node.store.read() as conn:  # nowhere in the database is the token itself
        dump = repr(conn.execute(text("SELECT * FROM accounts")).all())
        dump += repr(conn.execute(text("SELECT * FROM account_events")).all())
    assert added.token not in dump and added.token.removeprefix("csbm_") not in dump
    assert set(users.list_users(node).to_json()["users"][0]) == {
        "name",
        "role",
        "credential",
        "created_at",
        "created_by",
    }
    assert users.authenticate_token(node, added.token, at(1)).name == "svc"
    with pytest.raises(Unauthenticated):
        wrong = added.token[:-1] + ("B" if added.token.endswith("A") else "A")
        users.authenticate_token(node, wrong, at(1))
    with pytest.raises(Unauthenticated):  # a token is not a password
        users.authenticate_password(node, "svc", added.token, at(1))


def test_a_removed_account_is_refused(node: Node) -> None:
    users.add_user(node, "ana", Role.SIGNING_OFFICER, T0, "cli:root", password=PASSWORD)
    token = users.add_user(node, "svc", Role.READER, T0, "cli:root", token=True).token
    assert token is not None
    assert users.remove_user(node, "ana", at(5), "cli:eve").name == "ana"
    users.remove_user(node, "svc", at(5), "cli:eve")
    with pytest.raises(Unauthenticated):
        users.authenticate_password(node, "ana", PASSWORD, at(6))
    with pytest.raises(Unauthenticated):
        users.authenticate_token(node, token, at(6))
    assert users.list_users(node).users == []
    with pytest.raises(NotFoundError) as info:
        users.remove_user(node, "ana", at(7), "cli:eve")
    assert info.value.code == "user.unknown"


def test_every_change_is_recorded_with_who_and_when(node: Node) -> None:
    users.add_user(node, "ana", Role.DRAFTER, T0, "cli:root", password=PASSWORD)
    users.add_user(node, "svc", Role.READER, at(1), "admin1", token=True)
    users.remove_user(node, "ana", at(2), "cli:eve")
    events = [(e.at, e.actor, e.action, e.account, e.role, e.detail)
              for e in users.history(node).events]  # fmt: skip
    assert events == [
        ("2026-03-01T09:00:00Z", "cli:root", "user.add", "ana", "drafter", "password"),
        ("2026-03-01T09:01:00Z", "admin1", "user.add", "svc", "reader", "token"),
        ("2026-03-01T09:02:00Z", "cli:eve", "user.remove", "ana", "drafter", None),
    ]
    assert [e.action for e in users.history(node, "ana").events] == ["user.add", "user.remove"]


def test_the_history_only_grows(node: Node) -> None:
    users.add_user(node, "ana", Role.DRAFTER, T0, "cli:root", password=PASSWORD)
    for statement in ("UPDATE account_events SET actor = 'x'", "DELETE FROM account_events"):
        with pytest.raises(SQLAlchemyError, match="append-only"), node.store.engine.connect() as c:
            c.execute(text(statement))
            c.commit()
    assert len(users.history(node).events) == 1


def test_a_name_in_use_is_refused_and_nothing_changes(node: Node) -> None:
    users.add_user(node, "ana", Role.DRAFTER, T0, "test", password=PASSWORD)
    with pytest.raises(InputError) as info:
        users.add_user(node, "ana", Role.ADMIN, at(1), "test", token=True)
    assert info.value.code == "user.exists"
    assert [(u.name, u.role) for u in users.list_users(node).users] == [("ana", "drafter")]
    assert len(users.history(node).events) == 1


def test_bad_names_and_passwords_store_nothing(node: Node) -> None:
    with pytest.raises(InputError):
        users.add_user(node, "ana petrova", Role.DRAFTER, T0, "test", password=PASSWORD)
    with pytest.raises(InputError):
        users.add_user(node, "ana", Role.DRAFTER, T0, "test", password="short")
    assert users.list_users(node).users == [] and users.history(node).events == []


def test_a_removed_name_can_be_added_again_with_another_role(node: Node) -> None:
    users.add_user(node, "ana", Role.DRAFTER, T0, "test", password=PASSWORD)
    users.remove_user(node, "ana", at(1), "test")
    users.add_user(node, "ana", Role.READER, at(2), "test", password=PASSWORD)
    assert users.authenticate_password(node, "ana", PASSWORD, at(3)).role is Role.READER


def test_authorize_records_the_refusal(node: Node) -> None:
    token = users.add_user(node, "rita", Role.READER, T0, "test", token=True).token
    assert token is not None
    rita = users.authenticate_token(node, token, T0)
    users.authorize(node, rita, Action.READ_LOG, at(1))
    with pytest.raises(Forbidden) as info:
        users.authorize(node, rita, Action.SEND, at(1))
    assert info.value.message == "rita (reader) may not send"
    last = users.history(node).events[-1]
    assert (last.action, last.account, last.role, last.detail) == (
        "auth.refused",
        "rita",
        "reader",
        "rita (reader) may not send",
    )


def test_an_older_password_hash_is_upgraded_at_sign_in(node: Node) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    node.accounts.add("old", Role.READER, "2020-01-01T00:00:00Z", "test", password_hash=weak)
    users.authenticate_password(node, "old", PASSWORD, T0)
    ((_n, stored, _t),) = node.accounts.stored_secrets()
    assert stored is not None and stored != weak and stored.startswith("$argon2id$v=19$m=65536")
    assert users.authenticate_password(node, "old", PASSWORD, T0).name == "old"
