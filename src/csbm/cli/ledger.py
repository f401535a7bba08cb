"""``csbm ledger append | checkpoint | prove | consistency | verify``: the node's log."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from csbm.cli._node import DATA_OPTION, DB_OPTION, open_node
from csbm.cli._output import console, err_console, handles_errors, print_json
from csbm.domain.time import now
from csbm.errors import InputError, Problem
from csbm.i18n import _
from csbm.message import FILE_KEYS, message_problems, to_payload
from csbm.reader import read_document
from csbm.services import ledger as ledger_services

ledger_app = typer.Typer(help="The node's signed, append-only Merkle log.", no_args_is_help=True)


def read_message_file(path: Path) -> tuple[dict[str, Any], list[str], str | None]:
    """A message file in the one message form (``csbm.message``): ``type``, ``to``
    (default ``all``), ``case``, ``body`` — validated by the kind's schema — and an
    optional ``message_id``; JSON or YAML through the strict reader (``csbm.reader``).
    Every problem is reported at once. Returns the payload to sign, its recipients and
    the message id."""
    doc = read_document(path)
    if not isinstance(doc, dict):
        raise InputError(
            "not a message", [Problem(str(path), "must be a mapping {type, to, case, body}")]
        )
    message, problems = message_problems(doc, extra_keys=FILE_KEYS)
    message_id = doc.get("message_id")
    if message_id is not None:
        try:
            if not isinstance(message_id, str) or str(uuid.UUID(message_id)) != message_id:
                raise ValueError
        except ValueError:
            problems.append(
                Problem("message_id", "must be a lower-case hyphenated UUID", message_id)
            )
    if problems or message is None:
        raise InputError("bad message file", problems)
    return to_payload(message), list(message.to), message_id


@ledger_app.command("append")
@handles_errors
def append_command(
    file: Path = typer.Argument(
        ..., help="JSON or YAML: type, to (default all), case, body; optional message_id."
    ),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Sign a message as this node's State and append it to the log (durably)."""
    message, recipients, message_id = read_message_file(file)
    with open_node(data, db) as node:
        result = node.append_message(message, recipients, now(), message_id)
    doc = {
        "index": result.index,
        "message_id": result.message_id,
        "leaf_hash": base64.b64encode(result.leaf_hash).decode("ascii"),
        "duplicate": result.duplicate,
    }
    if as_json:
        print_json(doc)
        return
    template = (
        _("Message {id} is already in the log at index {index}: nothing changed")
        if result.duplicate
        else _("Appended message {id} at index {index}")
    )
    console.print(template.format(id=doc["message_id"], index=doc["index"]), highlight=False)


@ledger_app.command("checkpoint")
@handles_errors
def checkpoint_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Sign a checkpoint (C2SP tlog-checkpoint, signed note) of the log as it is now."""
    with open_node(data, db) as node:
        signed = ledger_services.checkpoint(node, now())
    if as_json:
        print_json(signed.to_json())
        return
    typer.echo(signed.note, nl=False)


@ledger_app.command("prove")
@handles_errors
def prove_command(
    index: int = typer.Option(..., "--index", help="Leaf index."),
    size: int | None = typer.Option(None, "--size", help="Tree size (default: the log's size)."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="RFC 9162 vector field names."),
) -> None:
    """An inclusion proof (RFC 9162 §2.1.3): leafIdx, treeSize, root, leafHash, proof."""
    with open_node(data, db) as node:
        proof = ledger_services.prove_inclusion(node, index, size)
    _print_proof(proof.to_json(), ("leafIdx", "treeSize", "root", "leafHash"), as_json)


def _print_proof(doc: dict[str, Any], fields: tuple[str, ...], as_json: bool) -> None:
    """A proof in the RFC 9162 vectors' field names: JSON, or one field a line."""
    if as_json:
        print_json(doc)
        return
    for name in fields:
        console.print(f"{name:<9} {doc[name]}", highlight=False)
    for i, p in enumerate(doc["proof"]):
        console.print(f"proof[{i}]  {p}", highlight=False)


@ledger_app.command("consistency")
@handles_errors
def consistency_command(
    size1: int = typer.Option(..., "--from", help="The older tree size."),
    size2: int = typer.Option(..., "--to", help="The newer tree size."),
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="RFC 9162 vector field names."),
) -> None:
    """A consistency proof (RFC 9162 §2.1.4) between two sizes of the log."""
    if size1 > size2:
        raise InputError("bad sizes", [Problem("--from", f"must not exceed --to ({size2})", size1)])
    with open_node(data, db) as node:
        proof = ledger_services.prove_consistency(node, size1, size2)
    _print_proof(proof.to_json(), ("size1", "size2", "root1", "root2"), as_json)


@ledger_app.command("verify")
@handles_errors
def verify_command(
    data: Path | None = DATA_OPTION,
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    workers: int | None = typer.Option(
        None, "--workers", help="Worker processes (default: one per core)."
    ),
) -> None:
    """Audit the whole log: signatures, hashes, receipts, the stored tree, checkpoints.
    Exits 1 and names the first bad entry if anything is wrong."""
    if workers is not None and workers < 0:
        raise InputError(
            "bad --workers", [Problem("--workers", "must be 0 (in this process) or more", workers)]
        )
    with open_node(data, db) as node:
        # The bar starts at the first report, after the worker processes were forked,
        # so no Rich thread exists when they are.
        bar: list[Progress] = []

        def advance(done: int, total: int) -> None:
            if not bar:
                bar.append(
                    Progress(
                        TextColumn("verifying"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeRemainingColumn(),
                        console=err_console,
                        transient=True,
                    )
                )
                bar[0].start()
                bar[0].add_task("verify", total=total)
            bar[0].update(bar[0].task_ids[0], completed=done, total=total)

        try:
            report = node.audit(workers=workers, progress=advance)
        finally:
            if bar:
                bar[0].stop()
    if as_json:
        print_json(report.to_json())
    elif report.ok:
        typer.echo(
            _(
                "OK: {entries} entries, {signatures} signatures, {nodes} tree nodes, "
                "{receipts} receipts, {checkpoints} checkpoints verified in {seconds} s"
            ).format(
                entries=report.size,
                signatures=report.signatures,
                nodes=report.nodes,
                receipts=report.receipts,
                checkpoints=report.checkpoints,
                seconds=f"{report.seconds:.1f}",
            )
        )
    else:
        first = report.first_fault
        assert first is not None
        typer.echo(_("FAILED: first bad: {fault}").format(fault=first.line()))
        for fault in report.faults[1:20]:
            typer.echo(f"  {fault.line()}")
        if len(report.faults) > 20:
            typer.echo("  " + _("... {n} more").format(n=len(report.faults) - 20))
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
