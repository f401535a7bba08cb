"""The command line's help in the user's language: every command's and option's help text
is a message of the catalogues, translated when the command is loaded.

The texts stay where they are written -- each command's docstring, each option's
``help=`` -- in English, the source language. :func:`help_texts` walks the commands as
click sees them (after Typer has cleaned the docstrings), so the message ids are exactly
the texts ``--help`` shows; :func:`extract` gives them to Babel (``babel.cfg`` maps this
file to it), and :func:`translate_command` replaces each text, in place, by its
translation in the user's language (:func:`csbm.i18n.language`); a text without one stays
in English. The help panels' titles are Typer's (``Arguments``, ``Options``, ``Commands``)
and the ``--help`` option's help is click's: they are messages too, set for the user's
language by :func:`translate_panels` and :func:`translate_command`.

Loading every command (:func:`help_texts`) imports the whole CLI: only the extractor and
the tests do it; ``csbm --help`` and each command translate just what they show.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import typer.core
from typer import _click as click

from csbm.i18n import N_, SOURCE_LANGUAGE, _, language

#: Typer's help panels, as messages: ``(attribute of typer.rich_utils, English title)``.
PANELS = (
    ("ARGUMENTS_PANEL_TITLE", N_("Arguments")),
    ("OPTIONS_PANEL_TITLE", N_("Options")),
    ("COMMANDS_PANEL_TITLE", N_("Commands")),
)
#: The help of the ``--help`` option that click gives every command.
HELP_OPTION = N_("Show this message and exit.")


def command_texts(command: click.Command) -> Iterator[str]:
    """The help texts of ``command``, its parameters and its sub-commands, in order."""
    for text in (command.help, command.short_help):
        if text:
            yield text
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            yield text
    if isinstance(command, typer.core.TyperGroup):
        for sub in command.commands.values():
            yield from command_texts(sub)


def help_texts() -> list[str]:
    """Every help text of the command line, once each, in the order ``--help`` shows them:
    the root, then each command of :data:`csbm.cli.main.COMMANDS` (its one-line help, then
    the command, loaded), then the panels' titles and the ``--help`` option's help."""
    import typer.main

    from csbm.cli.main import COMMANDS, app, load_command

    texts = list(command_texts(typer.main.get_command(app)))
    for name, (_module, one_line) in COMMANDS.items():
        texts.append(one_line)
        texts.extend(command_texts(load_command(name, translated=False)))
    texts.extend(title for _attribute, title in PANELS)
    texts.append(HELP_OPTION)
    return list(dict.fromkeys(texts))


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Sequence[str],
            options: Mapping[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:  # fmt: skip
    """Babel extractor (``babel.cfg``: ``[extractors]``): each help text of the command
    line as a message (the file itself is only where the mapping points)."""
    for text in help_texts():
        yield 0, "", text, ["command line help"]


def translating() -> bool:
    """Whether the user's language is not the source language (English)."""
    return language() != SOURCE_LANGUAGE


def translate_command(command: click.Command) -> None:
    """Replace, in place, the help texts of ``command``, its parameters and sub-commands by
    their translations in the user's language."""
    if command.help:
        command.help = _(command.help)
    if command.short_help:
        command.short_help = _(command.short_help)
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            param.help = _(text)  # type: ignore[attr-defined]
    option = command.get_help_option(click.core.Context(command))  # made once, kept
    if option is not None and option.help:
        option.help = _(option.help)
    if isinstance(command, typer.core.TyperGroup):
        for sub in command.commands.values():
            translate_command(sub)


def translate_panels() -> None:
    """Typer's help panels' titles in the user's language (set again in English: they are
    Typer's module globals, and a process may show help in more than one language)."""
    import typer.rich_utils

    english = not translating()
    for attribute, title in PANELS:
        setattr(typer.rich_utils, attribute, title if english else _(title))
