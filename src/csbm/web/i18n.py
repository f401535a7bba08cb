"""The workbench's languages: which one a request is served in, its gettext catalogue in
the templates, and dates and numbers in its locale.

Source: issue 12, items 1-2 (every user-visible string through gettext with csbm's
catalogues, :mod:`csbm.i18n`; the language chosen by a switcher -- a cookie -- else the
browser's ``Accept-Language``, RFC 9110 §12.5.4; dates and numbers formatted by Babel,
CLDR, in the user's locale). The six OSCE languages and Ukrainian are offered; a language
without a catalogue falls back to English, the source language.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime, tzinfo
from functools import cache

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from csbm.forms import Localiser
from csbm.i18n import LOCALES, OSCE_LANGUAGES

__all__ = [
    "LANGUAGES",
    "LANG_COOKIE",
    "format_instant",
    "format_number",
    "localiser",
    "negotiate",
    "translation",
]

LANGUAGES: tuple[str, ...] = (*OSCE_LANGUAGES, "uk")
"""The languages offered by the switcher, in its order."""

LANG_COOKIE = "csbm_lang"


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the switcher's cookie when it names an offered
    language, else the first offered one of ``Accept-Language`` by quality, else ``en``."""
    if cookie and cookie.strip().lower() in LANGUAGES:
        return cookie.strip().lower()
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else "en"


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English, the source, when there is none)."""
    return gettext.translation("csbm", LOCALES, languages=[lang], fallback=True)


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse("en_GB" if lang == "en" else lang)  # the OSCE writes British English


def format_instant(at: datetime, lang: str, zone: tzinfo) -> str:
    """``at`` in ``zone``, in the words and order of ``lang``'s locale (CLDR medium)."""
    return str(format_datetime(at, format="medium", tzinfo=zone, locale=_locale(lang)))


def format_day(day: date, lang: str) -> str:
    return str(format_date(day, format="medium", locale=_locale(lang)))


def format_number(value: float | int, lang: str) -> str:
    """A number with the grouping and decimal signs of ``lang``'s locale."""
    return str(format_decimal(value, locale=_locale(lang)))


def state_name(code: str, lang: str) -> str:
    """A participating State's name in ``lang`` (CLDR), else its code."""
    name = _locale(lang).territories.get(code.upper())
    return str(name) if name else code


@cache
def localiser(lang: str) -> Localiser:
    """The :class:`csbm.forms.Localiser` of ``lang``: the printer of the official form
    speaks the page's language (labels translated, content as sent, instants in UTC)."""
    locale = _locale(lang)

    def date_words(day: date) -> str:
        return str(format_date(day, format="full", locale=locale))

    def name(code: str) -> str | None:
        found = locale.territories.get(code.upper())
        return str(found) if found else None

    return Localiser(lang, translation(lang).gettext, date_words, name)
