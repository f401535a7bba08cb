"""``csbm rules list | show | check``: read and validate rule packs."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from csbm.cli._output import console, handles_errors, print_json
from csbm.errors import RulePackError
from csbm.i18n import _
from csbm.rules import bundled_pack_ids, check_pack, load_pack
from csbm.rules.evaluate import describe
from csbm.rules.pack import Rule


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "chapter": rule.chapter,
        "paragraph": rule.paragraph,
        "paragraph_verified": rule.paragraph_verified,
        "strength": rule.strength,
        "measure": rule.measure,
        "spec": rule.spec.model_dump(mode="json"),
        "known": rule.known,
        "provenance": rule.provenance.model_dump(mode="json"),
        "cases": len(rule.cases),
    }


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="Rule packs: list, show, check.", no_args_is_help=True)
    app.add_typer(rules_app, name="rules")

    @rules_app.command("list")
    @handles_errors
    def list_command(
        pack: str = typer.Argument("vd2011", help="Pack id or file."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Every entry of a pack with its paragraph, numbers and provenance."""
        loaded = load_pack(pack)
        if as_json:
            print_json({"pack": loaded.id, "rules": [_rule_json(r) for r in loaded.rules]})
            return
        table = Table(title=f"{loaded.id}: {loaded.title}")
        for header in ("id", "¶", _("strength"), _("numbers"), _("provenance")):
            table.add_column(header)
        for rule in loaded.rules:
            numbers = (
                describe(rule.spec) if rule.known else "[magenta]" + _("unknown") + "[/magenta]"
            )
            table.add_row(rule.id, rule.citation, rule.strength, numbers, rule.provenance.status)
        console.print(table)

    @rules_app.command("packs")
    def packs_command() -> None:
        """The packs shipped with csbm."""
        for pack_id in bundled_pack_ids():
            console.print(pack_id)

    @rules_app.command("check")
    @handles_errors
    def check_command(pack: str = typer.Argument(..., help="Pack id or file.")) -> None:
        """Validate a pack and run every entry's own test cases (exit 2 if any fails)."""
        loaded = load_pack(pack)
        problems = check_pack(loaded)
        if problems:
            raise RulePackError(f"{pack}: {len(problems)} case(s) disagree", problems)
        cases = sum(len(r.cases) for r in loaded.rules)
        console.print(
            _("{pack}: {entries} entries, {cases} cases pass").format(
                pack=loaded.id, entries=len(loaded.rules), cases=cases
            )
        )
