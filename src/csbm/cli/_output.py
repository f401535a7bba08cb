"""Shared output helpers of the command line: JSON, Rich consoles, error exit (code 2)."""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from csbm.errors import EXIT_BAD_INPUT, CsbmError

P = ParamSpec("P")
R = TypeVar("R")

# Made at import, before a command runs: Rich reads COLUMNS when a console is made and
# keeps it, so a console made later (first use) would keep whatever width the first
# command that printed ran with (tests run many commands in one process).
console = Console()
err_console = Console(stderr=True)


def print_json(document: Any) -> None:
    """Write one JSON document to stdout (UTF-8, stable key order as given). A service
    document (a pydantic model) is written by pydantic's serializer — the same text as
    ``json.dumps(doc.to_json(), indent=2, ensure_ascii=False)``, ten times faster than
    the standard library's indenting encoder, which is pure Python."""
    if isinstance(document, BaseModel):
        text = document.model_dump_json(indent=2, by_alias=True)
    else:
        text = json.dumps(document, ensure_ascii=False, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(error: CsbmError) -> NoReturn:
    """Print one line per problem to stderr and exit 2 (1 for a LogError: the log itself
    is bad); nothing goes to stdout."""
    for line in error.lines():
        sys.stderr.write(f"csbm: {line}\n")
    sys.stderr.flush()
    raise typer.Exit(code=getattr(error, "exit_code", EXIT_BAD_INPUT))


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for commands: a CsbmError becomes one line per problem and exit code 2."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CsbmError as exc:
            fail(exc)
        except OSError as exc:
            fail(os_error(exc))
        except RecursionError:
            fail(CsbmError("the input is nested too deeply", code="input.depth"))

    return wrapper


def os_error(exc: OSError) -> CsbmError:
    """An operating-system error (a file that cannot be read or written, a full disk, a
    closed pipe) as one line: ``PATH: reason``."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the device (nothing was written)"
    where = exc.filename if exc.filename is not None else "(output)"
    return CsbmError(
        f"{where}: {reason}", code=f"os.{errno.errorcode.get(exc.errno or 0, 'error')}"
    )


def streamed(chunks: Iterable[str]) -> None:
    """Write a large document to stdout piece by piece (never built whole in memory)."""
    write = sys.stdout.write
    for chunk in chunks:
        write(chunk)
    sys.stdout.flush()


def streamed_utf8(chunks: Iterable[bytes]) -> None:
    """:func:`streamed` for a document already encoded in UTF-8 (pydantic's encoder
    writes bytes): straight to stdout's binary buffer, without decoding and encoding it
    again; through the text layer when stdout has no buffer (a test's StringIO)."""
    out = sys.stdout
    binary = getattr(out, "buffer", None)
    out.flush()  # whatever the text layer holds goes first
    if binary is None:
        for chunk in chunks:
            out.write(chunk.decode("utf-8"))
        out.flush()
        return
    write = binary.write
    for chunk in chunks:
        write(chunk)
    binary.flush()
