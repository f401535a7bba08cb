"""Storage faults as csbm errors: one line that names the database and says what is wrong.

The store wraps every SQLAlchemy, driver and OS error it meets (opening, reading,
writing) in :class:`StoreError` with a stable code, so no shell ever shows a traceback for
a full disk or an unreachable server (issue 8, item 6). A database that is not a
database, or is damaged, is the log itself gone bad: :class:`StoreLogError`, a
:class:`csbm.errors.LogError` (exit 1). Codes:

``store.full``         no space left (SQLite ``SQLITE_FULL``, PostgreSQL class 53)
``store.read_only``    the database or its directory cannot be written
``store.unreadable``   the file cannot be opened (a directory, no permission)
``store.unreachable``  the server does not answer, or the directory does not exist
``store.busy``         another writer holds the lock beyond the timeout
``store.conflict``     a row that must be unique is there already
``store.corrupt``      not a database, or a damaged one (exit 1)
``store.missing``      no database where the node's log should be (exit 1)
``store.empty``        a database without the log's tables (exit 1)
``store.failed``       anything else the driver reports
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from csbm.errors import CsbmError, LogError, Problem


class StoreError(CsbmError):
    """The database cannot do what was asked: ``code`` says why (see the module doc)."""

    def __init__(self, where: str, reason: str, code: str = "store.failed"):
        super().__init__(message=reason, code=code, problems=(Problem(where, reason),))


class StoreLogError(LogError):
    """The database is not (or no longer) a readable log: missing, empty, corrupt."""

    def __init__(self, where: str, reason: str, code: str = "store.corrupt"):
        super().__init__(reason, [Problem(where, reason)], code=code)


def location(url: str) -> str:
    """Where a database is, for messages: a SQLite file's path, else the URL without its
    password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


_SQLITE = (
    ("database or disk is full", "store.full", "no space left on the device"),
    ("disk i/o error", "store.failed", "disk I/O error"),
    ("readonly database", "store.read_only", "the database cannot be written (read-only)"),
    ("file is not a database", "store.corrupt", "not a SQLite database (damaged or foreign)"),
    ("disk image is malformed", "store.corrupt", "the database file is damaged"),
    ("unable to open database file", "store.unreadable", "cannot open the database file"),
    ("database is locked", "store.busy", "another process holds the database's lock"),
)


def translate(exc: BaseException, url: str) -> CsbmError:
    """The csbm error for a driver, SQLAlchemy or OS error met on the database at ``url``."""
    where = location(url)
    if isinstance(exc, CsbmError):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, SQLAlchemyError):
        return _os_error(exc, where)
    text = str(getattr(exc, "orig", None) or exc)
    low = text.lower()
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", "") or "")
    for needle, code, reason in _SQLITE:
        if needle in low:
            if code == "store.corrupt":
                return StoreLogError(where, reason, code)
            return StoreError(where, reason, code)
    if sqlstate.startswith("53") or "no space left" in low or "could not extend file" in low:
        return StoreError(where, "no space left on the database server", "store.full")
    if sqlstate == "25006" or "read-only transaction" in low:
        return StoreError(where, "the database is read-only", "store.read_only")
    if isinstance(exc, IntegrityError):
        return StoreError(where, f"already there: {_first_line(text)}", "store.conflict")
    if (
        sqlstate.startswith("08")
        or "connection refused" in low
        or "could not connect" in low
        or "connection failed" in low
        or "could not translate host name" in low
        or "timeout expired" in low
    ):
        return StoreError(where, "the database server does not answer", "store.unreachable")
    return StoreError(where, f"database error: {_first_line(text)}", "store.failed")


def _os_error(exc: OSError, where: str) -> StoreError:
    import errno

    number = exc.errno
    if number == errno.ENOSPC:
        return StoreError(where, "no space left on the device", "store.full")
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = "cannot write here (read-only or no permission)"
        return StoreError(where, reason, "store.read_only")
    if number in (errno.ENOENT, errno.ENOTDIR):
        return StoreError(where, "no such directory", "store.unreachable")
    if number == errno.EISDIR:
        return StoreError(where, "is a directory, not a database file", "store.unreadable")
    return StoreError(where, exc.strerror or type(exc).__name__, "store.failed")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:200]
