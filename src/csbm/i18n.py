"""Translations of what the user sees (gettext catalogues under csbm/locales, made with Babel).

The language comes from ``CSBM_LANG``, else ``LANGUAGE`` / ``LC_ALL`` / ``LANG``. English is the
source language; a missing catalogue (or a missing entry) falls back to it.

The engine's texts (findings and notes of :mod:`csbm.rules` and :mod:`csbm.procedures`) are
:class:`Phrase` objects: an English ``str`` -- exactly the text the engine always gave, so
JSON output and comparisons are unchanged -- that also keeps its message template (marked
with :func:`N_` so that Babel extracts it) and its parameters. The edge that shows it
renders it in the reader's language (:func:`say`, :meth:`Phrase.render`): the template
through the catalogue, then the parameters, numbers formatted by Babel (CLDR) in the
reader's locale (12,700 in English, 12 700 in Russian). A client that gets the JSON renders
it the same way from ``message_id`` and ``params`` (:func:`phrase_json`,
:func:`phrase_from_json`).

Template fields (Python's format syntax, issue 12 item 2):

* ``{n:,}`` ``{n:g}`` ``{n:.1f}`` ``{n:.1%}``: a number; the English text uses Python's
  formatting, other languages Babel's ``format_decimal``/``format_percent`` in the locale;
* ``{word!t}``: a word that is itself a message id (``N_``-marked where it is chosen),
  translated;
* a parameter that is a :class:`Phrase` is rendered in the same language; a list parameter
  is joined (``{xs:or}``: "a or b", ``{xs:and}``, else ", "), its items rendered first;
* anything else (codes, names, ISO dates) is shown as it is.

Pure apart from reading the catalogues and, in :func:`language`, the environment.
"""

from __future__ import annotations

import gettext
import os
import string
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "LOCALES",
    "N_",
    "OSCE_LANGUAGES",
    "Phrase",
    "_",
    "gettext_in",
    "language",
    "phrase",
    "phrase_from_json",
    "phrase_json",
    "say",
]

LOCALES = Path(__file__).resolve().parent / "locales"
OSCE_LANGUAGES = ("en", "fr", "de", "it", "ru", "es")
SOURCE_LANGUAGE = "en"


@cache
def _translation(language: str) -> gettext.NullTranslations:
    return gettext.translation("csbm", LOCALES, languages=[language], fallback=True)


def language() -> str:
    for name in ("CSBM_LANG", "LANGUAGE", "LC_ALL", "LANG"):
        value = os.environ.get(name)
        if value:
            return value.split(":")[0].split(".")[0].split("_")[0] or "en"
    return "en"


def _(message: str) -> str:
    """The message in the user's language (a :class:`Phrase` rendered in it)."""
    if isinstance(message, Phrase):
        return message.render(language())
    return _translation(language()).gettext(message)


def gettext_in(message: str, lang: str) -> str:
    """``message`` (a message id) in ``lang``'s catalogue, else as it is."""
    return _translation(lang).gettext(message)


def N_(message: str) -> str:
    """Mark a message id for extraction (``make messages``); it is translated where shown."""
    return message


# -- phrases: the engine's texts as template + parameters


class Phrase(str):
    """An English text that keeps its message template and parameters.

    It *is* the English text (a ``str``), so everything that stores, compares or prints the
    engine's messages keeps working; :meth:`render` gives it in another language."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any] | None = None) -> Phrase:
        return _make(cls, template, dict(params) if params else {})

    def __getnewargs__(self) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        return (self.template, self.params)

    def render(self, lang: str | None) -> str:
        """The text in ``lang`` (None or English: the English text itself)."""
        if lang is None or lang == SOURCE_LANGUAGE:
            return str(self)
        translated = _translation(lang).gettext(self.template)
        try:
            return _Formatter(lang).format(translated, **self.params)
        except (KeyError, IndexError, ValueError):  # a broken translation: say it in English
            return _Formatter(lang).format(self.template, **self.params)


def phrase(template: str, /, **params: Any) -> Phrase:
    """The phrase of an ``N_``-marked ``template`` with its parameters (one shared object
    per template without parameters: a phrase is never changed once made)."""
    if not params:
        return _constant(template)
    return _make(Phrase, template, params)


def _make(cls: type[Phrase], template: str, values: dict[str, Any]) -> Phrase:
    """A phrase of ``template`` owning ``values`` (a dict nobody else holds)."""
    english, specced = _english(template)
    if english is not None:
        for k, v in values.items():
            kind = type(v)
            if not (kind in _PLAIN or (kind is Phrase and k not in specced)):
                english = None
                break
    if english is not None:
        text = english.format_map(values)  # the same text, without string.Formatter
    else:
        text = _Formatter(None).format(template, **values)
    self = _new_str(cls, text)
    held = self.__dict__  # the two attributes set in the instance's dict at once
    held["template"] = template
    held["params"] = values
    return self


_new_str = str.__new__


@lru_cache(maxsize=4096)
def _constant(template: str) -> Phrase:
    return _make(Phrase, template, {})


def say(text: str | None, lang: str | None = None) -> str:
    """``text`` in ``lang`` (default: the user's): a :class:`Phrase` rendered, a plain
    string looked up as a message id (a fixed engine text), ``None`` as empty."""
    if text is None:
        return ""
    lang = language() if lang is None else lang
    if isinstance(text, Phrase):
        return text.render(lang)
    return _translation(lang).gettext(text) if text else text


def phrase_json(text: str | None) -> tuple[str | None, dict[str, Any]]:
    """``(message_id, params)`` of a text for JSON (``(None, {})`` for a text that is not a
    :class:`Phrase`); a parameter that is a phrase is ``{"message_id", "params"}``."""
    if not isinstance(text, Phrase):
        return None, {}
    cached: dict[str, Any] | None = text.__dict__.get("_json")
    if cached is None:  # made once per phrase: a phrase shared by 10⁵ results is one
        cached = {k: _plain(v) for k, v in text.params.items()}
        text.__dict__["_json"] = cached
    return text.template, dict(cached)


def phrase_from_json(message_id: str | None, params: Mapping[str, Any] | None,
                     fallback: str = "") -> str:  # fmt: skip
    """The text a client renders from ``message_id`` and ``params`` (the inverse of
    :func:`phrase_json`); without an id, ``fallback`` (the English message)."""
    if not message_id:
        return fallback
    try:
        return Phrase(message_id, {k: _unplain(v) for k, v in (params or {}).items()})
    except (KeyError, IndexError, ValueError, TypeError):
        return fallback


def _plain(value: Any) -> Any:
    if isinstance(value, Phrase):
        return {"message_id": value.template, "params": phrase_json(value)[1]}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(value.get("message_id"), str):
        params = value.get("params")
        given = params if isinstance(params, Mapping) else {}
        return Phrase(value["message_id"], {k: _unplain(v) for k, v in given.items()})
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


_JOINERS = {"or": " or ", "and": " and ", "": ", "}

_PLAIN = frozenset((str, int, float))
"""Parameter types the English text formats exactly as ``str.format`` does."""


@cache
def _english(template: str) -> tuple[str | None, frozenset[str]]:
    """``template`` for ``str.format`` in English: ``!t`` dropped (an English word is its
    own message id), so that a phrase whose parameters are plain text, numbers and phrases
    (in a field without a format) is made without :class:`_Formatter` (10⁵ findings in a
    replay: issue 10's performance constraint); None when a field joins a list
    (``{xs:or}``). With it, the names of the fields that have a format."""
    out: list[str] = []
    specced: set[str] = set()
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if spec in ("or", "and"):
            return None, frozenset()
        if spec:
            specced.add(name)
        kept = f"!{conversion}" if conversion and conversion != "t" else ""
        out.append("{" + name + kept + (f":{spec}" if spec else "") + "}")
    return "".join(out), frozenset(specced)


class _Formatter(string.Formatter):
    """Fields of a phrase: in English (``lang`` None) exactly as Python formats them;
    in another language through the catalogue and Babel's CLDR formats."""

    def __init__(self, lang: str | None) -> None:
        self.lang = lang

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "t":
            return _Translated(value)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        translate = isinstance(value, _Translated)
        if translate:
            value = value.value
        if isinstance(value, (list, tuple)):
            items = [self._one(v, "", translate) for v in value]
            return self._join(items, format_spec)
        return self._one(value, format_spec, translate)

    def _one(self, value: Any, spec: str, translate: bool) -> str:
        lang = self.lang
        if isinstance(value, Phrase):
            return value.render(lang)
        if value is None:
            return ""
        if isinstance(value, str):
            if translate and lang is not None:
                value = _translation(lang).gettext(value)
            return format(value, spec)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and spec:
            if lang is None:
                return format(value, spec)
            return _number(value, spec, lang)
        return format(value, spec)

    def _join(self, items: Sequence[str], spec: str) -> str:
        if self.lang is None or spec not in ("or", "and") or len(items) < 2:
            return _JOINERS.get(spec, spec).join(items)
        from babel.lists import format_list

        if spec == "or":
            return str(format_list(list(items), style="or", locale=_locale(self.lang)))
        return str(format_list(list(items), style="standard", locale=_locale(self.lang)))


class _Translated:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@cache
def _locale(lang: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse("en_GB" if lang == "en" else lang)
    except (ValueError, LookupError, UnknownLocaleError):  # an unknown language: English
        return Locale.parse("en_GB")


def _number(value: float, spec: str, lang: str) -> str:
    from babel.numbers import format_decimal, format_percent

    locale = _locale(lang)
    digits = spec[1:-1] if spec.startswith(".") and len(spec) > 2 else ""
    places = int(digits) if digits.isdigit() else 0
    pattern = "#,##0" + ("." + "0" * places if places else "")
    if spec.endswith("%"):
        return str(format_percent(value, format=pattern + "%", locale=locale))
    if spec.endswith("f"):
        return str(format_decimal(value, format=pattern, locale=locale))
    return str(format_decimal(value, locale=locale))
