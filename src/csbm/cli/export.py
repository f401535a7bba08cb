"""``csbm export ical [SCENARIO] [--at INSTANT] [-o FILE]``: deadlines for a calendar.

An RFC 5545 calendar of the open and overdue deadlines (:mod:`csbm.services.export`):
stable UIDs, DTSTAMP from the data (the last message of each case), so the same data give
the same file. ``-o`` writes the file; a folder that does not exist, a folder given as the
file, or a full disk is one line on stderr and exit 2.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.services.clock import clock_or_now
from csbm.services.export import ical
from csbm.services.replay import replay_source

export_app = typer.Typer(help="Export deadlines and data (ical).", no_args_is_help=True)


def _cannot_write(exc: OSError, where: str, value: str | None = None) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(
        "cannot write", [Problem(where, _("cannot write: {reason}").format(reason=reason), value)]
    )


def write_file(path: Path, data: bytes, option: str = "--output") -> None:
    """Write ``data`` to ``path``. A regular file is written whole or not at all (a
    temporary file beside it, then an atomic rename); a device or pipe (``/dev/stdout``) is
    written directly. An OSError (no such folder, a folder, no space, no permission) is an
    InputError at ``option`` and no partial file is left."""
    if path.is_dir():
        raise _cannot_write(IsADirectoryError(errno.EISDIR, "Is a directory"), option, str(path))
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise _cannot_write(exc, option, str(path)) from None
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _cannot_write(exc, option, str(path)) from None


def write_stdout(data: bytes) -> None:
    """Write ``data`` to stdout, unbuffered when stdout is a file descriptor (so that a
    failed write, e.g. a full disk, leaves nothing to flush at exit); an OSError is an
    InputError."""
    try:
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        sys.stdout.flush()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _cannot_write(exc, "stdout") from None


@export_app.command("ical")
@handles_errors
def export_ical(
    scenario: Path | None = typer.Argument(
        None, help="A scenario file (see csbm replay); default: this node's log."
    ),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    at: str | None = typer.Option(None, "--at", help="The clock (default: now)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write here (default: stdout)."
    ),
) -> None:
    """An RFC 5545 calendar of the open and overdue deadlines."""
    clock = clock_or_now(at, "--at")
    replayed = replay_source(scenario, lambda: open_node(data, db), clock)
    document = ical(replayed.result, clock)
    if output is None:
        write_stdout(document)
    else:
        write_file(output, document)
        console.print(_("wrote {path}").format(path=output), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
