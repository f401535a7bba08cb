"""Names of States and territories inside the geography's reasons, in the reader's
language.

A :class:`Territory` is a :class:`csbm.i18n.Phrase` whose English text is the name the
data gives (``Poland``, ``Russian Federation``, a Natural Earth label); rendered in
another language it is the name CLDR gives the ISO 3166 code in that language (Babel's
``Locale.territories``), else the name as it is. A reason such as ``in the zone:
Poland`` is a phrase holding one (``{place}``), so the whole reason reads in the reader's
language (``в зоне: Польша``). In JSON it is ``{"message_id": <the English name>,
"params": {"code": ...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from csbm.i18n import SOURCE_LANGUAGE, Phrase, gettext_in

__all__ = ["Territory", "territory"]


class Territory(Phrase):
    """A State's or territory's name: English as the data gives it, CLDR's elsewhere."""

    def __new__(cls, template: str, params: Mapping[str, Any] | None = None) -> Territory:
        name = template.replace("{", "(").replace("}", ")")  # a name, never a template
        self = super().__new__(cls, name, params)
        return self  # type: ignore[return-value]

    def render(self, lang: str | None) -> str:
        if lang is None or lang == SOURCE_LANGUAGE:
            return str(self)
        code = self.params.get("code")
        found = _cldr_name(code, lang) if isinstance(code, str) and code else None
        return found or gettext_in(self.template, lang)


def territory(name: str, code: str | None) -> Territory:
    """``name`` (English) of the territory whose ISO 3166-1 alpha-2 code is ``code``; for a
    code that is not one (a numeric code of a unit of the boundaries dataset), the code
    CLDR's English names give ``name``, if any."""
    if not (code and len(code) == 2 and code.isalpha()):
        code = _english_codes().get(name.casefold())
    return Territory(name, {"code": code} if code else {})


@cache
def _english_codes() -> dict[str, str]:
    from babel import Locale

    return {
        str(name).casefold(): str(code)
        for code, name in Locale.parse("en").territories.items()
        if len(code) == 2 and code.isalpha()
    }


@cache
def _cldr_name(code: str, lang: str) -> str | None:
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(lang)
    except (ValueError, LookupError, UnknownLocaleError):
        return None
    found = locale.territories.get(code.upper())
    return str(found) if found else None
