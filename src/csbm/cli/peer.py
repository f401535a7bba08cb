"""``csbm peer add STATE URL --fingerprint FP | list | remove STATE``: the peers of a node
(or, on a hub, the registered nodes). The use case is :mod:`csbm.services.peers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from csbm.cli._node import DATA_OPTION, open_node
from csbm.cli._output import console, handles_errors, print_json
from csbm.domain.time import now
from csbm.i18n import _


@contextlib.contextmanager
def _site(data: Path | None) -> Iterator[object]:
    from csbm.hub import Hub, is_hub

    site = Hub.open(data) if is_hub(data) else open_node(data, None)
    try:
        yield site
    finally:
        site.close()


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Peers: add (pinned by fingerprint), list, remove.")
    app.add_typer(group, name="peer", help="Peers: add (pinned by fingerprint), list, remove.")

    @group.command("add")
    @handles_errors
    def add_command(
        state: str = typer.Argument(..., help="The peer's State code, or hub."),
        url: str = typer.Argument(..., help="The peer node's URL."),
        fingerprint: str = typer.Option(
            ..., "--fingerprint", help="The peer key's fingerprint (its csbm keys show)."
        ),
        data: Path | None = DATA_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Fetch the peer's key from URL/.well-known/csbm; add it if FP matches."""
        from csbm.exchange.http import well_known
        from csbm.services.peers import add_peer

        with _site(data) as site:
            doc = add_peer(site, state, url, fingerprint, now(), well_known)  # type: ignore[arg-type]
        if as_json:
            print_json(doc.to_json())
            return
        console.print(
            _("Added peer {state} at {url} ({fp})").format(
                state=doc.state, url=doc.url, fp=doc.fingerprint
            ),
            highlight=False,
        )

    @group.command("list")
    @handles_errors
    def list_command(
        data: Path | None = DATA_OPTION,
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """The peers with their URLs and pinned fingerprints."""
        from csbm.services.peers import list_peers

        with _site(data) as site:
            doc = list_peers(site)  # type: ignore[arg-type]
        if as_json:
            print_json(doc.to_json())
            return
        if not doc.peers:
            console.print(_("No peers."), highlight=False)
        for p in doc.peers:
            console.print(f"{p.state}  {p.url}  {p.fingerprint}", highlight=False)

    @group.command("remove")
    @handles_errors
    def remove_command(
        state: str = typer.Argument(..., help="The peer's State code, or hub."),
        data: Path | None = DATA_OPTION,
    ) -> None:
        """Forget a peer's URL (its keys stay: the log needs them)."""
        from csbm.services.peers import remove_peer

        with _site(data) as site:
            doc = remove_peer(site, state)  # type: ignore[arg-type]
        console.print(_("Removed peer {state}").format(state=doc.state), highlight=False)
