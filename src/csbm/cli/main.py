"""The root of the ``csbm`` command; each sub-command lives in its own module."""

from __future__ import annotations

import typer

from csbm import __version__

app = typer.Typer(
    name="csbm",
    help="Confidence- and security-building measures: rule packs, procedures, a signed log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def _register() -> None:
    """Attach every sub-command module. Each module exposes ``register(app)``."""
    from csbm.cli import assess, deadlines, demo, export, replay, rules
    from csbm.cli import init as init_cmd
    from csbm.cli import keys as keys_cmd
    from csbm.cli import ledger as ledger_cmd

    for module in (assess, demo, rules, replay, deadlines, export, init_cmd, keys_cmd, ledger_cmd):
        module.register(app)


_register()


def main() -> None:
    app()
