"""A form as one self-contained, printable HTML page.

The page needs nothing beyond itself: the style is inline (no stylesheet, font, script or
image is fetched), ``<html lang>`` names the language of the labels, the heading is a
``<dl>``, each block is a ``<table>`` whose rows are headed by their field (``<th
scope="row">``), and every piece of data is escaped (a designation holding ``<script>``
prints as text). Labels are translated, data is shown as sent, instants in UTC with the
day spelled in the reader's language beside them (the same rules as the text form).

Pure: returns a string.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from csbm.domain.time import iso
from csbm.forms.model import (
    ENGLISH,
    N_,
    Area,
    Block,
    Codes,
    Figure,
    Form,
    Instant,
    Localiser,
    NotStated,
    Period,
    Table,
    Text,
    Value,
    Vocabulary,
)
from csbm.forms.text import (
    COORDINATES,
    END,
    FEATURES,
    GEOMETRY,
    NOT_GIVEN,
    NOT_STATED,
    START,
    code_text,
)

__all__ = ["render_html"]

NUMBER = N_("No.")
FIELD = N_("Field")
CONTENT = N_("Content")

STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt;
  color: #000; background: #fff; margin: 0 auto; max-width: 190mm; line-height: 1.35; }
h1 { font-size: 15pt; margin: 0 0 2pt; text-transform: uppercase; letter-spacing: .02em; }
h2 { font-size: 12pt; margin: 14pt 0 4pt; }
p.source { margin: 0 0 10pt; font-style: italic; }
dl.heading { display: grid; grid-template-columns: max-content 1fr; gap: 2pt 10pt;
  margin: 0 0 8pt; padding: 6pt 8pt; border: 1px solid #000; }
dl.heading dt { font-weight: bold; }
dl.heading dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 0 0 6pt; }
th, td { border: 1px solid #000; padding: 3pt 5pt; text-align: left; vertical-align: top; }
thead th { background: #e8e8e8; }
th[scope="row"] { font-weight: normal; width: 45%; }
td.number { white-space: nowrap; width: 3.5em; }
tr.group th { background: #f2f2f2; font-weight: bold; }
table.inner { margin: 2pt 0; }
table.inner th, table.inner td { border-color: #777; font-size: 9.5pt; }
.missing { font-style: italic; }
.data { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.positions { margin: 2pt 0; padding-left: 1.6em; font-size: 9.5pt; }
section { break-inside: avoid-page; }
tr { break-inside: avoid; }
@media print { a { color: #000; text-decoration: none; } }
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _missing(label: str, loc: Localiser) -> str:
    return f'<span class="missing">{_e(loc.gettext(label))}</span>'


def _value(value: Value, loc: Localiser) -> str:
    t = loc.gettext
    if isinstance(value, NotStated):
        return _missing(NOT_STATED, loc)
    if isinstance(value, Text):
        return f'<span class="data">{_e(value.text)}</span>'
    if isinstance(value, Figure):
        main = _missing(NOT_GIVEN, loc) if value.value is None else _e(str(value.value))
        parts = [(code_text(code, loc), n) for code, n in value.by_state]
        parts += list(value.by_category)
        if not parts:
            return main
        rows = "".join(
            f'<tr><th scope="row">{_e(name)}</th>'
            f"<td>{_missing(NOT_GIVEN, loc) if n is None else _e(str(n))}</td></tr>"
            for name, n in parts
        )
        return f'{main}<table class="inner"><tbody>{rows}</tbody></table>'
    if isinstance(value, Instant):
        return _time(value.at, loc)
    if isinstance(value, Period):
        return (
            f"<dl><dt>{_e(t(START))}</dt><dd>{_time(value.start, loc)}</dd>"
            f"<dt>{_e(t(END))}</dt><dd>{_time(value.end, loc)}</dd></dl>"
        )
    if isinstance(value, Codes):
        return _e(", ".join(code_text(c, loc) for c in value.codes))
    if isinstance(value, Vocabulary):
        gloss = t(value.gloss)
        shown = value.code if gloss == value.code else f"{value.code} ({gloss})"
        return _e(shown)
    if isinstance(value, Area):
        return _area(value, loc)
    return _table(value, loc)


def _time(at: datetime | None, loc: Localiser) -> str:
    if at is None:
        return _missing(NOT_GIVEN, loc)
    return f'<time datetime="{_e(iso(at))}">{_e(iso(at))}</time> ({_e(loc.date_words(at.date()))})'


def _area(area: Area, loc: Localiser) -> str:
    t = loc.gettext
    out: list[str] = ["<dl>"]
    if area.names:
        out.append(f"<dt>{_e(t(FEATURES))}</dt><dd>{_e('; '.join(area.names))}</dd>")
    if area.kinds:
        out.append(f"<dt>{_e(t(GEOMETRY))}</dt><dd>{_e(', '.join(area.kinds))}</dd>")
    if area.parts:
        items = "".join(
            "<li>" + _e("; ".join(f"{lat}, {lon}" for lat, lon in part)) + "</li>"
            for part in area.parts
        )
        out.append(f'<dt>{_e(t(COORDINATES))}</dt><dd><ol class="positions">{items}</ol></dd>')
    out.append("</dl>")
    if len(out) == 2:
        return _missing(NOT_STATED, loc)
    return "".join(out)


def _table(table: Table, loc: Localiser) -> str:
    head = "".join(f'<th scope="col">{_e(loc.gettext(c))}</th>' for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_value(cell, loc)}</td>" for cell in row) + "</tr>"
        for row in table.rows
    )
    return f'<table class="inner"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _block(block: Block, loc: Localiser) -> str:
    t = loc.gettext
    anchor = f"block-{block.letter}"
    out = [
        f'<section aria-labelledby="{anchor}">',
        f'<h2 id="{anchor}">{_e(block.letter)}. {_e(t(block.title))}</h2>',
    ]
    if not block.groups:
        out.append(f"<p>{_missing(NOT_STATED, loc)}</p></section>")
        return "\n".join(out)
    out.append(f'<table aria-labelledby="{anchor}">')
    out.append(
        f'<thead><tr><th scope="col">{_e(t(NUMBER))}</th><th scope="col">{_e(t(FIELD))}</th>'
        f'<th scope="col">{_e(t(CONTENT))}</th></tr></thead>'
    )
    for group in block.groups:
        out.append("<tbody>")
        if group.number is not None and group.title is not None:
            out.append(
                f'<tr class="group"><th scope="rowgroup" colspan="3">{_e(group.number)} '
                f"{_e(t(group.title))}</th></tr>"
            )
        for field in group.fields:
            out.append(
                f'<tr><td class="number">{_e(field.number)}</td>'
                f'<th scope="row">{_e(t(field.label))}</th>'
                f"<td>{_value(field.value, loc)}</td></tr>"
            )
        out.append("</tbody>")
    out.append("</table></section>")
    return "\n".join(out)


def render_html(form: Form, loc: Localiser = ENGLISH) -> str:
    """``form`` as a complete HTML5 document in the language of ``loc``."""
    t = loc.gettext
    title = t(form.title)
    heading = "".join(
        f"<dt>{_e(t(f.label))}</dt><dd>{_value(f.value, loc)}</dd>" for f in form.heading
    )
    blocks = "\n".join(_block(b, loc) for b in form.blocks)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(loc.language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_e(title)}</h1>\n"
        f'<p class="source">{_e(t(form.source))}</p>\n'
        f'<dl class="heading">{heading}</dl>\n{blocks}\n</main>\n</body>\n</html>\n'
    )
