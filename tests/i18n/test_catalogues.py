"""The catalogues (issue 12, item 2): English, Russian and Ukrainian complete -- every
string of the CLI, the pages, the official form and the engine's findings and notes --;
French, German, Italian and Spanish at least for the pages' navigation and forms.

The messages are extracted afresh from the code and the rule packs (with the mapping of
babel.cfg, as ``make messages`` does: the packs' titles and notes by
:func:`csbm.rules.texts.extract`), so a template or a pack entry added without its
translations fails here, not in front of a reader.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from csbm.i18n import LOCALES

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
COMPLETE = ("en", "ru", "uk")
NAVIGATION_AND_FORMS = ("fr", "de", "it", "es")
# The templates holding the pages' navigation (header, pager) and their forms (sign-in,
# composer and its live check, drafts to approve).
NAVIGATION_AND_FORM_TEMPLATES = (
    "csbm/web/templates/base.html",
    "csbm/web/templates/_macros.html",
    "csbm/web/templates/login.html",
    "csbm/web/templates/compose.html",
    "csbm/web/templates/compose_check.html",
    "csbm/web/templates/drafts.html",
)
FIELD = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)s")


@cache
def _extracted() -> dict[str, set[str]]:
    """Every message id in the code and the packs, with the files it comes from (relative
    to src), extracted with babel.cfg's mapping."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")  # type: ignore[no-untyped-call]
    found: dict[str, set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(SRC), method_map, options_map, keywords={"_": None, "N_": None}
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, set()).add(filename)
    return found


def _catalogue(language: str) -> dict[str, tuple[str, bool]]:
    with (LOCALES / language / "LC_MESSAGES" / "csbm.po").open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    return {str(m.id): (str(m.string or ""), m.fuzzy) for m in catalogue if m.id}


def test_the_code_marks_the_engines_texts() -> None:
    """The engine's findings and notes are message templates (marked with N_)."""
    files = {f for where in _extracted().values() for f in where}
    for module in ("findings.py", "obligations.py", "applicability.py", "splits.py",
                   "constraints.py"):  # fmt: skip
        assert f"csbm/rules/{module}" in files, module
    assert "{criterion!t} {value:,} is {below:,} ({fraction:.1%}) below the {measure!t} " \
        "threshold {limit:,}" in _extracted()


def test_the_mapping_extracts_the_packs_texts() -> None:
    """babel.cfg maps the packs' YAML to their extractor: titles and notes are messages."""
    found = _extracted()
    assert "csbm/regimes/vd2011.yaml" in found[
        "Vienna Document 2011 on Confidence- and Security-Building Measures"]
    assert "csbm/regimes/vd2011.yaml" in found[
        "At most six activities above 13,000 troops or 300 tanks in a calendar year"]
    assert any(where == {"csbm/regimes/by-pl.yaml"} and m.startswith("Not confirmed.")
               for m, where in found.items())  # a border zone's note  # fmt: skip


def test_the_template_is_up_to_date() -> None:
    with (LOCALES / "csbm.pot").open("rb") as handle:
        template = {str(m.id) for m in read_po(handle) if m.id}
    missing = sorted(set(_extracted()) - template)
    assert not missing, f"run `make messages`: {missing[:5]}"


@pytest.mark.parametrize("language", COMPLETE)
def test_complete_catalogues_translate_every_message(language: str) -> None:
    catalogue = _catalogue(language)
    untranslated = sorted(
        m for m in _extracted() if not catalogue.get(m, ("", False))[0] or catalogue[m][1]
    )
    assert not untranslated, f"{language}: {len(untranslated)} untranslated: {untranslated[:5]}"


@pytest.mark.parametrize("language", NAVIGATION_AND_FORMS)
def test_other_languages_translate_navigation_and_forms(language: str) -> None:
    catalogue = _catalogue(language)
    wanted = sorted(
        m for m, where in _extracted().items()
        if where & set(NAVIGATION_AND_FORM_TEMPLATES)
    )  # fmt: skip
    assert len(wanted) > 40
    untranslated = [m for m in wanted if not catalogue.get(m, ("", False))[0]]
    assert not untranslated, f"{language}: {untranslated[:5]}"


@pytest.mark.parametrize("language", COMPLETE + NAVIGATION_AND_FORMS)
def test_translations_keep_every_field(language: str) -> None:
    """A translation names the same fields as its message id (else formatting fails or
    drops a figure)."""
    for msgid, (msgstr, _fuzzy) in _catalogue(language).items():
        if msgstr:
            assert sorted(FIELD.findall(msgid)) == sorted(FIELD.findall(msgstr)), (
                language, msgid, msgstr
            )


def test_the_treaty_terms_in_their_official_renderings() -> None:
    ru, uk = _catalogue("ru"), _catalogue("uk")
    assert ru["Vienna Document 2011, Chapter V (¶38–45)"][0].startswith(
        "Венский документ 2011 года"
    )
    assert uk["Vienna Document 2011, Chapter V (¶38–45)"][0].startswith(
        "Віденський документ 2011 року"
    )
    assert ru["all participating States"][0] == "все государства-участники"
    assert uk["all participating States"][0] == "усі держави-учасниці"
    assert "зоны применения мер укрепления доверия и безопасности" in ru[
        "outside the zone of application ({reason})"][0]
    assert "зоною застосування заходів зміцнення довіри та безпеки" in uk[
        "outside the zone of application ({reason})"][0]
    assert ru["prior notification"][0] == "предварительное уведомление"
    assert uk["prior notification"][0] == "попереднє повідомлення"
    vd = "Vienna Document 2011 on Confidence- and Security-Building Measures"
    assert ru[vd][0] == "Венский документ 2011 года о мерах укрепления доверия и безопасности"
    assert uk[vd][0] == "Віденський документ 2011 року щодо заходів зміцнення довіри та безпеки"
    notif = "Prior notification 42 days or more before the start"
    assert "уведомление" in ru[notif][0] and "повідомлення" in uk[notif][0]
    obs = "Observers from all participating States invited — observation thresholds"
    assert "наблюдени" in ru[obs][0] and "спостереженн" in uk[obs][0]


def test_a_missing_entry_is_caught() -> None:
    """The completeness check fails on an empty msgstr (negative case)."""
    catalogue = dict(_catalogue("ru"))
    some = next(iter(_extracted()))
    catalogue[some] = ("", False)
    assert [m for m in _extracted() if not catalogue.get(m, ("", False))[0]] == [some]
