"""``csbm rules list | show | check | packs``: read and validate rule packs.

The human views show the pack's and the entries' titles in the user's language
(:mod:`csbm.rules.texts`); ``--json`` keeps them in English, their message ids.

``list`` shows every entry with its numbers; ``show`` one entry with all its fields and its
provenance, sources resolved to their titles and URLs; ``check`` runs a pack's own cases and
checks that every rule id the procedures name exists in the packs, listing the pack's
measures that have no procedure yet (csbm.rules.coverage).

Tables keep codes whole at any width: a column is never narrower than its longest word
(rule ids are one word), so Rich wraps text between words and never cuts an id or a header.
"""

from __future__ import annotations

from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from csbm.cli._output import console, handles_errors, print_json
from csbm.errors import NotFoundError, Problem, RulePackError
from csbm.i18n import _
from csbm.rules import bundled_pack_ids, check_pack, load_pack
from csbm.rules.coverage import Coverage, coverage, procedure_rule_ids
from csbm.rules.evaluate import describe
from csbm.rules.pack import Rule, RulePack
from csbm.rules.texts import pack_text


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "chapter": rule.chapter,
        "paragraph": rule.paragraph,
        "paragraph_verified": rule.paragraph_verified,
        "strength": rule.strength,
        "measure": rule.measure,
        "numbers": describe(rule.spec),
        "spec": rule.spec.model_dump(mode="json"),
        "known": rule.known,
        "provenance": rule.provenance.model_dump(mode="json"),
        "cases": len(rule.cases),
    }


def _rule_full_json(pack: RulePack, rule: Rule) -> dict[str, Any]:
    doc = _rule_json(rule)
    doc.update(
        {
            "pack": pack.id,
            "applies_to": None if rule.applies_to is None else list(rule.applies_to),
            "owed_by": rule.owed_by,
            "owed_to": rule.owed_to,
            "citation": rule.citation,
            "sources": [
                {"key": key, **pack.source(key).model_dump(mode="json")}
                for key in rule.provenance.sources
            ],
            "cases": [case.model_dump(mode="json") for case in rule.cases],
        }
    )
    return doc


def _longest_word(texts: list[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


TEXT_MIN_WIDTH = 12
"""A text column is never narrower than this; a longer word in it (prose) is folded."""


def _table(
    title: str, headers: list[str], rows: list[list[str]], text: int, width: int
) -> Table:
    """A table that fits ``width`` columns without cutting a code. Every column but the
    ``text`` one holds codes (ids, paragraphs, tags): it is as wide as its longest word,
    header included, and never cut; the text column takes the rest and wraps between
    words; room left over widens the code columns so that they need not wrap."""
    columns = list(zip(headers, *rows, strict=True))
    words = [_longest_word(list(cells)) for cells in columns]
    full = [max(len(cell) for cell in cells) for cells in columns]
    gaps = len(headers) - 1  # one space between columns, none at the edges
    widths = list(words)
    # narrower than the codes need: the table is wider than the screen, codes stay whole
    width = max(width, gaps + TEXT_MIN_WIDTH + sum(w for i, w in enumerate(widths) if i != text))
    room = width - gaps - sum(w for i, w in enumerate(widths) if i != text)
    widths[text] = max(min(full[text], room), TEXT_MIN_WIDTH)
    spare = width - gaps - sum(widths)
    for i in range(len(widths)):
        if i != text and spare > 0:
            grow = min(full[i] - widths[i], spare)
            widths[i] += grow
            spare -= grow
    if spare > 0:
        widths[text] = min(full[text], widths[text] + spare)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0),
                  pad_edge=False, show_edge=False, width=sum(widths) + gaps)
    for i, header in enumerate(headers):
        table.add_column(header, width=widths[i], overflow="fold",
                         no_wrap=i != text and widths[i] >= full[i])
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _resolve(pack: str) -> RulePack:
    return load_pack(pack)


def _coverage(checked: RulePack) -> Coverage:
    """The code's rule ids against the bundled packs and ``checked``; measures of
    ``checked`` with no consumer."""
    from csbm.procedures.registry import measures  # the shell may import the procedures

    packs = [load_pack(p) for p in bundled_pack_ids() if p != checked.id]
    consumers = [m.name for m in measures()]
    everywhere = coverage([*packs, checked], procedure_rule_ids(), consumers)
    own = coverage([checked], {}, consumers)
    return Coverage(everywhere.used, everywhere.missing, own.without_consumer)


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="Rule packs: list, show, check, packs.", no_args_is_help=True)
    app.add_typer(rules_app, name="rules")

    @rules_app.command("list")
    @handles_errors
    def list_command(
        pack: str = typer.Argument("vd2011", help="Pack id or file."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Every entry of a pack with its paragraph, numbers and provenance."""
        loaded = _resolve(pack)
        if as_json:
            print_json({"pack": loaded.id, "rules": [_rule_json(r) for r in loaded.rules]})
            return
        rows = [
            [
                rule.id,
                rule.citation,
                _(rule.strength),
                describe(rule.spec) if rule.known else _("unknown") + ": " + describe(rule.spec),
                rule.provenance.status,
            ]
            for rule in loaded.rules
        ]
        headers = ["id", "¶", _("strength"), _("numbers"), _("provenance")]
        screen = console.width
        table = _table(f"{loaded.id}: {pack_text(loaded.title)}", headers, rows, 3, screen)
        if (table.width or 0) > screen:  # too narrow for the codes: wider, never cut
            Console(width=table.width, no_color=console.no_color).print(table)
        else:
            console.print(table)

    @rules_app.command("show")
    @handles_errors
    def show_command(
        pack: str = typer.Argument(..., help="Pack id or file."),
        rule_id: str = typer.Argument(..., help="Entry id, e.g. CH3_REPLY."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """One entry of a pack: every field, its numbers, its cases and its sources."""
        loaded = _resolve(pack)
        rule = loaded.get(rule_id)
        if rule is None:
            near = [r.id for r in loaded.rules if rule_id.upper() in r.id][:5]
            hint = f"; did you mean {', '.join(near)}" if near else ""
            raise NotFoundError(
                _("no entry {rule} in pack {pack}").format(rule=rule_id, pack=loaded.id) + hint
            )
        doc = _rule_full_json(loaded, rule)
        if as_json:
            print_json(doc)
            return
        table = Table(title=f"{loaded.id} {rule.id}", title_justify="left", show_header=False,
                      padding=(0, 1), pad_edge=False)
        table.add_column(min_width=_longest_word(["paragraph_verified"]), no_wrap=True)
        table.add_column(overflow="fold")
        fields = [
            ("title", pack_text(rule.title)),
            ("chapter", rule.chapter),
            ("paragraph", rule.citation),
            ("strength", rule.strength),
            ("measure", rule.measure),
            ("applies_to", None if rule.applies_to is None else ", ".join(rule.applies_to)),
            ("owed_by", rule.owed_by),
            ("owed_to", rule.owed_to),
            ("numbers", describe(rule.spec) + ("" if rule.known else f" ({_('unknown')})")),
            ("spec", ", ".join(f"{k}: {v}" for k, v in doc["spec"].items())),
            ("provenance", rule.provenance.status),
            ("note", rule.provenance.note),
            ("parts", ", ".join(f"{k}: {v}" for k, v in rule.provenance.parts.items()) or None),
        ]
        for name, value in fields:
            if value is not None:
                table.add_row(name, escape(str(value)))
        for source in doc["sources"]:
            where = f" {source['url']}" if source.get("url") else ""
            table.add_row("source", escape(f"{source['key']}: {source['title']}{where}"))
        for case in rule.cases:
            label = f"{case.name}: " if case.name else ""
            table.add_row("case", escape(f"{label}{case.given} → {case.expect}"))
        console.print(table)

    @rules_app.command("packs")
    def packs_command() -> None:
        """The packs shipped with csbm."""
        for pack_id in bundled_pack_ids():
            console.print(pack_id)

    @rules_app.command("check")
    @handles_errors
    def check_command(pack: str = typer.Argument(..., help="Pack id or file.")) -> None:
        """Run a pack's own cases, check the procedures' rule ids, list measures with no
        procedure yet."""
        loaded = _resolve(pack)
        problems = check_pack(loaded)
        if problems:
            raise RulePackError(f"{pack}: {len(problems)} case(s) disagree", problems)
        found = _coverage(loaded)
        if not found.ok:
            raise RulePackError(
                f"{pack}: rule ids the procedures name are in no pack",
                [
                    Problem(
                        rule_id,
                        _("named by {modules} but in no rule pack").format(
                            modules=", ".join(sorted(modules))
                        ),
                    )
                    for rule_id, modules in found.missing.items()
                ],
            )
        cases = sum(len(r.cases) for r in loaded.rules)
        console.print(
            _("{pack}: {entries} entries, {cases} cases pass").format(
                pack=loaded.id, entries=len(loaded.rules), cases=cases
            )
        )
        console.print(
            _("rule ids named by the procedures: {n}, all in the packs").format(
                n=len(found.used)
            )
        )
        for measure, ids in found.without_consumer.items():
            console.print(
                _("no procedure yet: {measure} ({ids})").format(
                    measure=measure, ids=", ".join(ids)
                ),
                soft_wrap=True,
            )
