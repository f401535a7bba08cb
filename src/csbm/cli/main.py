"""The root of the ``csbm`` command; each sub-command lives in its own module.

Sub-command modules are imported only when their command runs (click's lazy-group
pattern), so ``csbm --help`` and ``csbm --version`` start without loading the engine, the
database driver or the geography. :data:`COMMANDS` names each command, the module that
registers it and its one-line help; a test checks that the table agrees with the modules.

Errors of usage (a missing argument, an unknown option) are printed like every other
refusal — ``csbm: <what>`` on one line, exit 2 — not as a boxed block.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
import typer.core
from typer import _click as click  # Typer ≥ 0.26 carries its own click

from csbm import __version__
from csbm.cli._help import translate_command, translate_panels, translating
from csbm.i18n import _

EXIT_INTERNAL = 70
"""A bug of csbm's (EX_SOFTWARE of sysexits.h): the suite treats it as a failure."""

COMMANDS: dict[str, tuple[str, str]] = {
    "assess": (
        "assess",
        ("Obligations and findings for military activities under the rule packs."),
    ),
    "replay": (
        "replay",
        (
            "Run a timeline of messages (a scenario, or the node's log) "
            "through the procedures; show cases and deadlines, and any "
            "logged message a schema refuses."
        ),
    ),
    "deadlines": (
        "deadlines",
        ("Open and overdue deadlines, soonest first, in UTC and in your zone."),
    ),
    "export": (
        "export",
        "Export deadlines and data (ical).",
    ),
    "render": (
        "render",
        "Print a message as its official form.",
    ),
    "rules": (
        "rules",
        "Rule packs: list, show, check, packs.",
    ),
    "init": (
        "init",
        ("Create a node: data directory, signing key (0600), database, first log entry."),
    ),
    "keys": (
        "keys",
        "The node's signing key and the directory of public keys.",
    ),
    "ledger": (
        "ledger",
        "The node's signed, append-only Merkle log.",
    ),
    "user": (
        "user",
        "Accounts on the node: add, list, remove, history.",
    ),
    "serve": (
        "serve",
        ("Run the node: JSON API, node-to-node protocol and delivery worker."),
    ),
    "send": (
        "send",
        ("Sign, log and queue a message for delivery; print its message id."),
    ),
    "inbox": (
        "inbox",
        "The messages other States sent this node, in log order.",
    ),
    "status": (
        "status",
        ("Outbox depth, receipts of sent messages, peers' last checkpoints."),
    ),
    "peer": (
        "peer",
        "Peers: add (pinned by fingerprint), list, remove.",
    ),
    "demo": (
        "demo",
        ("Run the live demo network until Ctrl-C (or, with --once, the offline tour)."),
    ),
}
"""``{command: (module under csbm.cli, one-line help)}`` in the order ``--help`` lists."""


def load_command(name: str, translated: bool = True) -> click.Command:
    """Import ``csbm.cli.<module>``, let it register on a fresh app, return its command
    (with its help in the user's language unless ``translated`` is false)."""
    import importlib

    module_name, _help = COMMANDS[name]
    module = importlib.import_module(f"csbm.cli.{module_name}")
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @sub.callback()
    def _group() -> None:  # a callback makes the app a group, whatever it holds
        pass

    module.register(sub)
    group = typer.main.get_command(sub)
    command = group.commands.get(name) if isinstance(group, typer.core.TyperGroup) else None
    if command is None:
        raise RuntimeError(f"csbm.cli.{module_name} registers no command {name!r}")
    if translated:
        if translating():
            translate_command(command)
        translate_panels()
    return command


class LazyGroup(typer.core.TyperGroup):
    """The root group: commands listed from :data:`COMMANDS`, imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return load_command(cmd_name)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [r for p in self.get_params(ctx) if (r := p.get_help_record(ctx)) is not None]
        if rows:
            with formatter.section(_("Options")):
                formatter.write_dl(rows)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _(help_text)) for name, (_m, help_text) in COMMANDS.items()]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


app = typer.Typer(
    name="csbm",
    cls=LazyGroup,
    help="Confidence- and security-building measures: rule packs, procedures, a signed log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """Confidence- and security-building measures: rule packs, procedures, a signed log."""


def run(args: list[str] | None = None) -> int:
    """Run the command line; the exit code (0, 1 for a bad log, 2 for bad input)."""
    command = typer.main.get_command(app)
    if translating():
        translate_command(command)  # the root's own help; each command's when it loads
    try:
        result: Any = command.main(args=args, prog_name="csbm", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx is not None else str(exc))
        return 2
    except click.exceptions.UsageError as exc:
        sys.stderr.write(f"csbm: {_usage_line(exc)}\n")
        return 2
    except click.exceptions.ClickException as exc:
        sys.stderr.write(f"csbm: {exc.format_message()}\n")
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("csbm: interrupted\n")
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("CSBM_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:200]
        sys.stderr.write(
            f"csbm: internal error ({type(exc).__name__}: {text}); "
            "please report it (CSBM_DEBUG=1 shows where)\n"
        )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0


def _usage_line(exc: click.exceptions.UsageError) -> str:
    where = exc.ctx.command_path if exc.ctx is not None else "csbm"
    message = " ".join(exc.format_message().split())
    return f"{message} (see '{where} --help')"


ONE_SHOT = frozenset({"assess", "replay"})
"""Batch commands that read, compute, write and exit: run without the cyclic garbage
collector (``csbm._batch.one_shot``) when they are the process's one command."""


def main() -> None:
    """The ``csbm`` program: one command, then exit."""
    args = sys.argv[1:]
    if args and args[0] in ONE_SHOT:
        from csbm._batch import one_shot

        one_shot()
    sys.exit(run(args))
