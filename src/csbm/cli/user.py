"""``csbm user add NAME --role ROLE [--token] | list | remove NAME | history``: the node's
accounts (issue 11, item 5; docs/accounts.md).

A password is never an argument (it would stay in the shell's history and in ``ps``): it
comes from ``$CSBM_USER_PASSWORD``, else from a prompt in a terminal (typed twice). An API
token is printed once, when it is made; only its SHA-256 digest is kept. Each change is
recorded with who made it (``cli:<login>``) and when.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import typer
from rich.table import Table

from csbm.accounts.credentials import check_name, check_password
from csbm.accounts.policy import parse_role
from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.services import users
from csbm.services.clock import wall_clock

PASSWORD_ENV = "CSBM_USER_PASSWORD"

user_app = typer.Typer(
    help="Accounts on the node: add, list, remove, history.", no_args_is_help=True
)


def cli_actor() -> str:
    """Who runs the command, for the account history: ``cli:<login>``."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        login = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{login}"


def read_password() -> str:
    """``$CSBM_USER_PASSWORD``, else a prompt typed twice (only in a terminal)."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise InputError(
            "no password",
            [
                Problem(
                    PASSWORD_ENV,
                    _("set it, or run in a terminal to be asked (never on the command line)"),
                )
            ],
            code="user.no_password",
        )
    first = getpass.getpass(_("Password: "))
    second = getpass.getpass(_("Password again: "))
    if first != second:
        raise InputError(
            "passwords differ",
            [Problem("password", _("the two passwords typed differ"))],
            code="user.password_mismatch",
        )
    return first


@user_app.command("add")
@handles_errors
def add_command(
    name: str = typer.Argument(..., help="The account name (letters, digits, . _ @ -)."),
    role: str = typer.Option(
        ...,
        "--role",
        help="drafter, signing_officer, reader, auditor or admin.",
    ),
    token: bool = typer.Option(
        False, "--token", help="Make an API token (printed once) instead of a password."
    ),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Add an account with a password ($CSBM_USER_PASSWORD or a prompt) or an API token."""
    chosen = parse_role(role)
    check_name(name)
    password = None if token else check_password(read_password())
    with open_node(data, db) as node:
        added = users.add_user(
            node, name, chosen, wall_clock(), cli_actor(), password=password, token=token
        )
    if as_json:
        print_json(added.to_json())
        return
    console.print(
        _("Added {name} ({role})").format(name=added.user.name, role=added.user.role),
        highlight=False,
    )
    if added.token is not None:
        console.print(_("API token (shown once; keep it secret):"), highlight=False)
        console.print(added.token, highlight=False, soft_wrap=True)


@user_app.command("list")
@handles_errors
def list_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Every account: name, role, credential, who added it and when."""
    with open_node(data, db) as node:
        doc = users.list_users(node)
    if as_json:
        print_json(doc.to_json())
        return
    if not doc.users:
        console.print(_("No accounts."), highlight=False)
        return
    table = Table(_("name"), _("role"), _("credential"), _("added"), _("by"))
    for user in doc.users:
        table.add_row(user.name, user.role, user.credential, user.created_at, user.created_by)
    console.print(table)


@user_app.command("remove")
@handles_errors
def remove_command(
    name: str = typer.Argument(..., help="The account to remove."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Remove an account: its password or token is refused from now on."""
    with open_node(data, db) as node:
        removed = users.remove_user(node, name, wall_clock(), cli_actor())
    if as_json:
        print_json(removed.to_json())
        return
    console.print(
        _("Removed {name} ({role})").format(name=removed.name, role=removed.role),
        highlight=False,
    )


@user_app.command("history")
@handles_errors
def history_command(
    name: str | None = typer.Argument(None, help="Only this account's events."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Account changes, drafts, approvals and refusals: who, what, when."""
    with open_node(data, db) as node:
        doc = users.history(node, name)
    if as_json:
        print_json(doc.to_json())
        return
    table = Table(_("when"), _("who"), _("what"), _("account"), _("detail"))
    for event in doc.events:
        table.add_row(event.at, event.actor, event.action, event.account, event.detail or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
