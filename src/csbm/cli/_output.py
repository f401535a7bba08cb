"""Shared output helpers of the command line: JSON, Rich consoles, error exit (code 2)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from csbm.errors import EXIT_BAD_INPUT, CsbmError

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)


def print_json(document: Any) -> None:
    """Write one JSON document to stdout (UTF-8, stable key order as given)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
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

    return wrapper
