"""Fixtures of the account tests: a node on each backend (SQLite and PostgreSQL), and
accounts of every role on it (tokens: no Argon2 cost per request)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from csbm.accounts.policy import Role
from csbm.accounts.records import Account
from csbm.node import Node
from csbm.services import users
from tests.store.backends import backend, db_factory, db_url
from tests.store.nodes import T0, make_node

__all__ = ["accounts", "backend", "db_factory", "db_url", "node", "tokens"]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def node(tmp_path: Path, db_url: str) -> Iterator[Node]:
    opened = make_node(tmp_path, db_url, "LT")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tokens(node: Node) -> dict[Role, str]:
    """One token account per role, named after it (``drafter``, ``signing_officer``...)."""
    out: dict[Role, str] = {}
    for role in Role:
        added = users.add_user(node, role.value, role, T0, "test", token=True)
        assert added.token is not None
        out[role] = added.token
    return out


@pytest.fixture
def accounts(node: Node, tokens: dict[Role, str]) -> dict[Role, Account]:
    return {role: users.authenticate_token(node, token, T0) for role, token in tokens.items()}
