"""``csbm keys show | list | rotate | revoke KEYID | add-peer STATE KEY``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.cli._time import both, user_zone
from csbm.domain.time import InstantError, now, parse_instant
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.ledger.keys import fingerprint, parse_stamp, verifier_key
from csbm.store import KeyRecord

keys_app = typer.Typer(
    help="The node's signing key and the directory of public keys.", no_args_is_help=True
)


def _record_json(r: KeyRecord) -> dict[str, Any]:
    return {
        "state": r.state,
        "key_id": r.key_id,
        "name": r.name,
        "public_key": verifier_key(r.name, r.public_key),
        "fingerprint": fingerprint(r.public_key),
        "own": r.own,
        "valid_from": r.valid_from,
        "valid_until": r.valid_until,
        "revoked_at": r.revoked_at,
    }


@keys_app.command("show")
@handles_errors
def show_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """The node's State, current key id, public key (C2SP verifier key) and fingerprint."""
    with open_node(data, db) as node:
        key = node.key
        doc = {
            "state": node.state,
            "key_id": key.key_id,
            "name": key.name,
            "public_key": key.verifier_key,
            "fingerprint": key.fingerprint,
            "encrypted": node.config.encrypted,
        }
    if as_json:
        print_json(doc)
        return
    for name in ("state", "key_id", "public_key", "fingerprint"):
        console.print(f"{name:<12} {doc[name]}", highlight=False)


@keys_app.command("list")
@handles_errors
def list_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    tz: str | None = typer.Option(None, "--tz", help="Show times in this zone as well as UTC."),
) -> None:
    """Every key in the directory, own and peers', with validity and revocation."""
    with open_node(data, db) as node:
        records = node.key_records()
    if as_json:
        print_json([_record_json(r) for r in records])
        return
    zone = user_zone(tz)

    def shown(value: str | None) -> str:
        return "" if value is None else both(parse_stamp(value), zone)

    table = Table("State", "key id", "own", "valid from", "valid until", "revoked at")
    for r in records:
        table.add_row(
            r.state,
            r.key_id,
            "yes" if r.own else "",
            shown(r.valid_from),
            shown(r.valid_until),
            shown(r.revoked_at),
        )
    console.print(table)


@keys_app.command("rotate")
@handles_errors
def rotate_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """A new signing key; the statement, signed by the old key, is appended to the log."""
    with open_node(data, db) as node:
        old = node.key.key_id
        new, result = node.rotate(now())
        doc = {
            "old_key_id": old,
            "key_id": new.key_id,
            "public_key": new.verifier_key,
            "fingerprint": new.fingerprint,
            "log_index": result.index,
        }
    if as_json:
        print_json(doc)
        return
    console.print(
        _("Rotated {old} -> {new} (log index {index})").format(
            old=old, new=doc["key_id"], index=doc["log_index"]
        ),
        highlight=False,
    )
    console.print(f"  public key  {doc['public_key']}", highlight=False)


@keys_app.command("revoke")
@handles_errors
def revoke_command(
    key_id: str = typer.Argument(..., metavar="KEYID", help="Key id (8 hex digits)."),
    reason: str = typer.Option("revoked by the operator", "--reason", help="Why, for the log."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Revoke a key (a past own key or a peer's); the revocation is a signed log entry."""
    with open_node(data, db) as node:
        result = node.revoke(key_id, now(), reason)
    doc = {"key_id": key_id.strip().lower(), "log_index": result.index}
    if as_json:
        print_json(doc)
        return
    console.print(
        _("Revoked {key} (log index {index})").format(key=doc["key_id"], index=doc["log_index"]),
        highlight=False,
    )


@keys_app.command("add-peer")
@handles_errors
def add_peer_command(
    state: str = typer.Argument(..., metavar="STATE", help="The peer State's code."),
    key: str = typer.Argument(..., metavar="KEY", help="Its C2SP verifier key NAME+KEYID+BASE64."),
    valid_from: str | None = typer.Option(None, "--from", help="Valid from (default: now)."),
    valid_until: str | None = typer.Option(None, "--until", help="Valid until (default: open)."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
) -> None:
    """Add a peer State's public key to the directory."""
    try:
        start = parse_instant(valid_from).at if valid_from else now()
        end = parse_instant(valid_until).at if valid_until else None
    except InstantError as exc:
        raise InputError("bad validity period", [Problem("--from/--until", str(exc))]) from None
    with open_node(data, db) as node:
        result = node.add_peer_key(state.strip().upper(), key.strip(), start, end, at=now())
    if result is None:
        console.print(
            _("This key of {state} is already in the directory: nothing changed").format(
                state=state.upper()
            ),
            highlight=False,
        )
        return
    console.print(
        _("Added a key of {state} (log index {index})").format(
            state=state.upper(), index=result.index
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
