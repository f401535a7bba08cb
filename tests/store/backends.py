"""Database fixtures: every storage test runs on SQLite and on the real PostgreSQL.

``db_url`` is parametrized over the two backends. On SQLite each test gets its own file in
``tmp_path``; on PostgreSQL its own freshly created schema (``csbm_t_<random>``) in the
test database, dropped afterwards. The server is ``$CSBM_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

Import the fixtures a test module needs: ``from tests.store.backends import db_url``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("CSBM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _admin_dsn() -> str:
    url = make_url(PG_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL schema in the test database (much faster than a database);
    returns a SQLAlchemy URL whose connections have it as their ``search_path``."""
    name = f"csbm_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    options = make_url(url).query.get("options", "")
    assert isinstance(options, str) and options.startswith("-csearch_path=csbm_t_")
    name = options.split("=", 1)[1]
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def new_db_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / f'db-{uuid.uuid4().hex[:8]}.sqlite3'}"
    return create_pg_database()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of the parametrized backend, removed after the test."""
    url = new_db_url(backend, tmp_path)
    try:
        yield url
    finally:
        if backend == "postgresql":
            drop_pg_database(url)


@pytest.fixture
def db_factory(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make more empty databases of the same backend (for tests with several nodes)."""
    made: list[str] = []

    def make() -> str:
        url = new_db_url(backend, tmp_path)
        made.append(url)
        return url

    try:
        yield make
    finally:
        if backend == "postgresql":
            for url in made:
                drop_pg_database(url)
