"""Official forms as structured data, and their printers (text, HTML).

A form is a list of lettered blocks of numbered fields (:class:`Form`); the printers lay it
out in one of the six OSCE languages through a :class:`Localiser` — labels translated, data
as sent, instants in UTC. The command line (``csbm render``) and the workbench's print view
share them.

Pure: nothing here reads a file, a catalogue or the clock; the caller passes the data and
the :class:`Localiser` in.
"""

from csbm.forms.html import render_html
from csbm.forms.model import (
    ENGLISH,
    Area,
    Block,
    Codes,
    Field,
    Figure,
    Form,
    Group,
    Instant,
    Localiser,
    NotStated,
    Period,
    Table,
    Text,
    Value,
    Vocabulary,
)
from csbm.forms.notification import (
    Notice,
    notice_from_data,
    notification_form,
)
from csbm.forms.text import render_text

__all__ = [
    "ENGLISH",
    "Area",
    "Block",
    "Codes",
    "Field",
    "Figure",
    "Form",
    "Group",
    "Instant",
    "Localiser",
    "NotStated",
    "Notice",
    "Period",
    "Table",
    "Text",
    "Value",
    "Vocabulary",
    "notice_from_data",
    "notification_form",
    "render_html",
    "render_text",
]
