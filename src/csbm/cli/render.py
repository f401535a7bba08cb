"""``csbm render notification FILE [--case LABEL] [--lang LANG] [--format text|html] [-o OUT]``.

Prints a Chapter V notification as its official form (VD 2011 ¶38–45, blocks A to D;
:mod:`csbm.forms.notification`) in one of the six OSCE languages: labels translated
(the gettext catalogues), weekday and month names from Babel's locale data, the data as
sent, instants in UTC. FILE is a message file in the scenario-event form or a scenario
whose events include notifications (``--case`` picks one). ``--format html`` prints a
self-contained printable page. Bad input — a file that does not exist or is not a
notification, an unknown language or format — is one line on stderr and exit 2.
"""

from __future__ import annotations

import gettext
from datetime import date
from pathlib import Path

import typer

from csbm.cli._output import console, handles_errors
from csbm.cli.export import write_file, write_stdout
from csbm.errors import InputError, Problem
from csbm.forms import (
    Localiser,
    notice_from_data,
    notification_form,
    render_html,
    render_text,
)
from csbm.i18n import LOCALES, OSCE_LANGUAGES, _, language
from csbm.reader import read_document

FORMATS = ("text", "html")

render_app = typer.Typer(help="Print a message as its official form.", no_args_is_help=True)


def localiser(lang: str) -> Localiser:
    """The :class:`csbm.forms.Localiser` of ``lang`` (catalogue and Babel locale data)."""
    from babel import Locale
    from babel.dates import format_date

    translation = gettext.translation("csbm", LOCALES, languages=[lang], fallback=True)
    locale = Locale.parse("en_GB" if lang == "en" else lang)  # the OSCE writes British English

    def date_words(day: date) -> str:
        return str(format_date(day, format="full", locale=locale))

    def state_name(code: str) -> str | None:
        name = locale.territories.get(code.upper())
        return str(name) if name else None

    return Localiser(lang, translation.gettext, date_words, state_name)


def _language(raw: str | None) -> str:
    if raw is None:
        user = language().lower()
        return user if user in OSCE_LANGUAGES else "en"
    lang = raw.strip().lower()
    if lang not in OSCE_LANGUAGES:
        raise InputError(
            "unknown language",
            [
                Problem(
                    "--lang", _("one of {choices}").format(choices=", ".join(OSCE_LANGUAGES)), raw
                )
            ],
        )
    return lang


def _format(raw: str) -> str:
    fmt = raw.strip().lower()
    if fmt not in FORMATS:
        raise InputError(
            "unknown format",
            [Problem("--format", _("one of {choices}").format(choices=", ".join(FORMATS)), raw)],
        )
    return fmt


@render_app.command("notification")
@handles_errors
def render_notification(
    file: Path = typer.Argument(
        ..., help="A notification message (YAML or JSON), or a scenario holding notifications."
    ),
    case: str | None = typer.Option(
        None, "--case", help="The case label of the notification to print from a scenario."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="en, ru, fr, de, it or es (default: your language, else en)."
    ),
    fmt: str = typer.Option("text", "--format", help="text or html."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write here (default: stdout)."
    ),
) -> None:
    """A Chapter V notification as its numbered form (blocks A to D)."""
    chosen = _language(lang)
    kind = _format(fmt)
    data = read_document(file)
    form = notification_form(notice_from_data(data, str(file), case=case))
    speaker = localiser(chosen)
    text = render_html(form, speaker) if kind == "html" else render_text(form, speaker)
    document = text.encode("utf-8")
    if output is None:
        write_stdout(document)
    else:
        write_file(output, document)
        console.print(_("wrote {path}").format(path=output), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(render_app, name="render")
