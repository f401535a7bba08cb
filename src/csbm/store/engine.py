"""Opening a node's database: SQLite (default; WAL, synchronous=FULL on every connection)
or PostgreSQL (``postgresql+psycopg://``), migrated to the newest schema on open.

Migrations are Alembic scripts shipped inside the package (``csbm/store/migrations``)
and run programmatically, so ``csbm init`` and every later open need no alembic.ini.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from csbm.errors import InputError, Problem

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = {"csbm_write": True}
#: Connections kept open, and the most opened at once beyond them. Sized to what one
#: ``csbm serve`` process runs at once: its delivery worker's threads (8 on a node, 32
#: on a hub: :mod:`csbm.exchange.worker`) and the API's thread pool (40, anyio's
#: default), instead of SQLAlchemy's 5 + 10, past which a request waits for a
#: connection (and fails after 30 s).
POOL_SIZE = 16
MAX_OVERFLOW = 64


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``url``, with the log's durability settings; migrated unless told not."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError("bad database URL", [Problem("--db", "not a database URL", url)]) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError(
            "unsupported database",
            [Problem("--db", "use sqlite:///FILE or postgresql+psycopg://...", url)],
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 60}
    if parsed.database not in (None, "", ":memory:"):
        kwargs["pool_size"] = POOL_SIZE
        kwargs["max_overflow"] = MAX_OVERFLOW
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise InputError(
            "unsupported database driver", [Problem("--db", "unknown driver", url)]
        ) from None
    if backend == "sqlite":
        _sqlite_durability(engine)
    if migrate:
        upgrade(engine)
    return engine


def _sqlite_durability(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver stays in autocommit; BEGIN is emitted below, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("csbm_write") else "BEGIN"
        # straight to the driver (every read and write transaction begins here); a driver
        # error raised as SQLAlchemy's exec_driver_sql raises it
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        try:
            raw.execute(sql)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        config = _alembic_config(conn)
        head = ScriptDirectory.from_config(config).get_current_head()
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    if current == head:
        return
    with engine.connect().execution_options(**WRITE) as conn:
        command.upgrade(_alembic_config(conn), "head")
        conn.commit()
