"""Storage fixtures (see tests/store/backends.py): each test runs on SQLite and PostgreSQL."""

from tests.store.backends import backend, db_factory, db_url

__all__ = ["backend", "db_factory", "db_url"]
