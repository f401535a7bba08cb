"""Translations of what the user sees (gettext catalogues under csbm/locales, made with Babel).

The language comes from ``CSBM_LANG``, else ``LANGUAGE`` / ``LC_ALL`` / ``LANG``. English is the
source language; a missing catalogue falls back to it.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
OSCE_LANGUAGES = ("en", "fr", "de", "it", "ru", "es")


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
    """The message in the user's language."""
    return _translation(language()).gettext(message)
