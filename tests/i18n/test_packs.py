"""The rule packs' texts in the reader's language (csbm.rules.texts): every title of every
bundled pack (and its border zone's note) is in the Russian and Ukrainian catalogues and
shown in them; the engine's texts that embed pack words or declaration sources are
phrases, also when they arrive as plain English."""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from csbm.i18n import LOCALES, Phrase, phrase_json, say
from csbm.rules import bundled_pack_ids, load_pack
from csbm.rules.pack import RulePack
from csbm.rules.texts import (
    calendar_source,
    constraint_broken,
    extract,
    finding_text,
    notification_source,
    pack_text,
    pack_texts,
    rephrase,
)


@cache
def _catalogue(language: str) -> dict[str, str]:
    with (LOCALES / language / "LC_MESSAGES" / "csbm.po").open("rb") as handle:
        return {str(m.id): str(m.string or "") for m in read_po(handle, locale=language) if m.id}


def _shown(pack: RulePack) -> list[str]:
    """The texts of a pack the pages and the CLI show: its title, its entries' titles, its
    border zone's note."""
    texts = [pack.title, *(rule.title for rule in pack.rules)]
    if pack.border_zone is not None and pack.border_zone.note:
        texts.append(pack.border_zone.note)
    return texts


def test_every_pack_is_checked() -> None:
    ids = bundled_pack_ids()
    assert {"vd2011", "by-lt", "by-lv-2004", "by-pl", "by-ua-2001", "ua-sk-2000"} <= set(ids)
    assert sum(len(_shown(load_pack(p))) for p in ids) > 100


@pytest.mark.parametrize("language", ["ru", "uk"])
@pytest.mark.parametrize("pack_id", bundled_pack_ids())
def test_every_title_of_every_pack_is_translated(pack_id: str, language: str) -> None:
    catalogue = _catalogue(language)
    pack = load_pack(pack_id)
    for text in _shown(pack):
        assert catalogue.get(text), f"{language}: {pack_id}: {text!r} untranslated"
        shown = pack_text(text, language)  # the compiled catalogue, as the pages use it
        assert shown == catalogue[text] and shown != text, (pack_id, text)
        assert any("а" <= c <= "я" or c in "іїєґ" for c in shown.lower()), shown


def test_a_text_no_catalogue_holds_is_shown_as_written() -> None:
    assert pack_text("My own pack's entry", "ru") == "My own pack's entry"
    assert pack_text(None, "ru") == "" and pack_text("", "uk") == ""
    title = "Prior notification 42 days or more before the start"
    assert pack_text(title, "en") == title
    assert pack_text(title, "ru").startswith("Предварительное уведомление")
    assert pack_text(title, "uk").startswith("Попереднє повідомлення")


def test_the_extractor_reads_titles_and_notes_with_their_lines() -> None:
    yaml_text = (
        "id: demo\n"
        "title: A demo pack\n"
        "border_zone:\n"
        "  width_km: 15\n"
        "  note: >-\n"
        "    A zone of\n"
        "    fifteen km\n"
        "notes: [not shown]\n"
        "rules:\n"
        "  - id: ONE\n"
        "    title: The first entry\n"
        "    provenance: {status: C, note: a citation, kept as written}\n"
        "  - id: TWO\n"
        "    title: 42\n"  # not a text
    )
    assert list(pack_texts(yaml_text)) == [
        (2, "A demo pack", "demo title"),
        (5, "A zone of fifteen km", "demo border_zone note"),
        (11, "The first entry", "demo ONE title"),
    ]
    extracted = list(extract(io.BytesIO(yaml_text.encode()), {}, [], {}))
    assert extracted[0] == (2, "", "A demo pack", ["rule pack: demo title"])
    assert [m for _l, _f, m, _c in extracted] == [
        "A demo pack", "A zone of fifteen km", "The first entry"]
    assert list(pack_texts("- a list, not a pack\n")) == []


def test_the_constraint_message_is_the_engines_english() -> None:
    title = "At most six activities above 13,000 troops or 300 tanks in a calendar year"
    made = constraint_broken("RU", 7, 6, "2017", title)
    # the engine's f-string (csbm.rules.engine._constraint_findings), word for word
    assert made == f"RU: 7 activities where at most 6 are allowed (2017): {title}"
    ru = made.render("ru")
    assert "не более 6" in ru and "Не более шести мероприятий военной деятельности" in ru
    assert title not in ru
    assert "не більше 6" in made.render("uk")


def test_plain_english_is_rephrased_without_changing_it() -> None:
    title = "At most six activities above 13,000 troops or 300 tanks in a calendar year"
    plain = f"BY: 7 activities where at most 6 are allowed (2017): {title}"
    made = rephrase(plain)
    assert isinstance(made, Phrase) and made == plain
    assert rephrase("PL's calendar for 2014") == calendar_source("PL", 2014)
    assert say(rephrase("PL's calendar for 2014"), "ru") == (
        "ежегодный календарь государства PL на 2014 год")
    at = "2014-08-20T00:00:00Z"
    assert say(rephrase(f"the notification of {at}"), "uk") == f"повідомлення від {at}"
    assert notification_source(at) == f"the notification of {at}"
    for other in ("observers' count", "PL's calendar", "a text", ""):
        assert rephrase(other) == other and not isinstance(rephrase(other), Phrase)


def test_a_findings_declaration_source_is_shown_in_the_readers_language() -> None:
    """The engine's inconsistency finding names the other declaration by its source, a
    plain English string today (csbm.procedures.prior_notification): shown translated."""
    message = Phrase("{field!t}: declared {declared:,}, but {source} declares {other:,}",
                     {"field": "troops", "declared": 13250, "source": "PL's calendar for 2014",
                      "other": 11000})  # fmt: skip
    message_id, params = phrase_json(message)
    english = "troops: declared 13,250, but PL's calendar for 2014 declares 11,000"
    assert str(message) == english
    assert finding_text(message_id, params, english, "en") == english
    ru = finding_text(message_id, params, english, "ru")
    assert "ежегодный календарь государства PL на 2014 год" in ru and "calendar" not in ru
    uk = finding_text(message_id, params, english, "uk")
    assert "щорічний календар держави PL на 2014 рік" in uk
    # a source given as a phrase is rendered as it is
    made = Phrase(message.template, {**message.params, "source": calendar_source("PL", 2014)})
    made_id, made_params = phrase_json(made)
    assert finding_text(made_id, made_params, english, "ru") == ru
    # a constraint finding with no message id (plain English) is translated too
    title = "At most six activities above 13,000 troops or 300 tanks in a calendar year"
    plain = f"BY: 7 activities where at most 6 are allowed (2017): {title}"
    assert "Не более шести" in finding_text(None, {}, plain, "ru")
    assert finding_text(None, {}, "something else", "ru") == "something else"


# -- the command line

VD_TITLE = "Vienna Document 2011 on Confidence- and Security-Building Measures"
CONSTR = "At most six activities above 13,000 troops or 300 tanks in a calendar year"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cli(args: list[str], language: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from typer.testing import CliRunner

    from csbm.cli.main import app

    monkeypatch.setenv("CSBM_LANG", language)
    monkeypatch.setenv("COLUMNS", "300")
    # Rich reads COLUMNS when the console is made (at import; under pytest-xdist a worker
    # may have COLUMNS set then) and keeps it: the width is set here, whatever ran before.
    from csbm.cli._output import console

    monkeypatch.setattr(console, "_width", 300)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(
    ("language", "title", "entry"),
    [("ru", "Венский документ 2011 года о мерах укрепления доверия и безопасности",
      "Не более шести мероприятий военной деятельности свыше 13 000 военнослужащих"),
     ("uk", "Віденський документ 2011 року щодо заходів зміцнення довіри та безпеки",
      "Не більше шести заходів військової діяльності понад 13 000 військовослужбовців")],
)  # fmt: skip
def test_rules_list_and_show_in_the_users_language(
    language: str, title: str, entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _cli(["rules", "list", "vd2011"], language, monkeypatch)
    assert title in listed and VD_TITLE not in listed
    shown = _cli(["rules", "show", "vd2011", "CONSTR_13K_YEAR"], language, monkeypatch)
    assert entry in " ".join(shown.split()) and CONSTR not in shown
    as_json = json.loads(_cli(["rules", "show", "vd2011", "CONSTR_13K_YEAR", "--json"],
                              language, monkeypatch))  # fmt: skip
    assert as_json["title"] == CONSTR  # JSON: the English text, its message id


def test_assess_gives_the_zone_of_application_in_the_users_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = str(EXAMPLES / "by-ua-border-2021.yaml")
    english = _cli(["assess", scenario, "--at", "2021-06-01T00:00Z"], "en", monkeypatch)
    assert "in the zone: Ukraine" in english
    ru = _cli(["assess", scenario, "--at", "2021-06-01T00:00Z"], "ru", monkeypatch)
    assert "в зоне: Украина" in ru and "in the zone" not in ru
    uk = _cli(["assess", scenario, "--at", "2021-06-01T00:00Z"], "uk", monkeypatch)
    assert "у зоні: Україна" in uk


def _seven(tmp_path: Path) -> str:
    """Seven activities of Russia above 13,000 troops in 2017: CONSTR_13K_YEAR broken."""
    rows = ["activities:"]
    for month in range(1, 8):
        rows += [
            f"  - name: Exercise {month}",
            "    conducting_states: [RU]",
            "    host_state: RU",
            f"    start: 2017-{month:02d}-03T00:00:00Z",
            f"    end: 2017-{month:02d}-06T00:00:00Z",
            "    forces: {troops: 14000}",
        ]
    path = tmp_path / "seven.yaml"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_a_broken_constraint_in_english_names_the_entrys_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _cli(["assess", _seven(tmp_path), "--at", "2018-01-01T00:00Z"], "en", monkeypatch)
    assert f"RU: 7 activities where at most 6 are allowed (2017): {CONSTR}" in out
    # the same English as the template of csbm.rules.texts (what the pages rephrase)
    assert constraint_broken("RU", 7, 6, "2017", CONSTR) in out


def test_assess_in_russian_names_the_broken_constraint_in_russian(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _cli(["assess", _seven(tmp_path), "--at", "2018-01-01T00:00Z"], "ru", monkeypatch)
    assert "Не более шести мероприятий военной деятельности" in out and CONSTR not in out


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_a_declaration_keeps_the_phrase_of_its_source(lang: str) -> None:
    """A declaration csbm writes (a calendar's, an earlier notification's) keeps its phrase
    through validation and copies, so it is shown in the reader's language."""
    from csbm.domain.activity import Declaration, Forces
    from csbm.rules.texts import calendar_source, notification_source

    for source in (calendar_source("PL", 2014), notification_source("2014-08-20T00:00:00Z")):
        declared = Declaration(source=source, forces=Forces(troops=13250))
        kept = declared.model_copy().source
        assert isinstance(kept, Phrase) and kept == source  # the same English
        shown = say(kept, lang)
        assert shown != str(source) and ("PL" in shown or "2014-08-20" in shown)
    plain = Declaration(source="observers' count", forces=Forces(troops=1)).source
    assert type(plain) is str
    with pytest.raises(ValueError):
        Declaration(source="", forces=Forces(troops=1))


@pytest.mark.parametrize(
    ("language", "said"),
    [("ru", "дата 2017-01-03 без времени прочитана как 00:00 UTC"), ("uk", None)],
)
def test_assess_says_what_it_assumed_in_the_readers_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, said: str | None
) -> None:
    """A bare date in the file and in --at: the "assumed" lines name the field and say
    the assumption in the reader's language (not the English inside a translated line)."""
    from csbm.i18n import N_, phrase

    path = tmp_path / "bare.yaml"
    path.write_text(
        "activities:\n  - name: Bare\n    conducting_states: [RU]\n    host_state: RU\n"
        "    start: 2017-01-03\n    end: 2017-01-06T00:00:00Z\n    forces: {troops: 100}\n",
        encoding="utf-8",
    )
    out = " ".join(_cli(["assess", str(path), "--at", "2018-01-01"], language,
                        monkeypatch).split())  # fmt: skip
    english = phrase(N_("bare date {date} read as 00:00 UTC"), date="2017-01-03")
    expected = said or english.render(language)
    assert expected != str(english)
    assert f"start: {expected}" in out
    assert "--at: " + phrase(N_("bare date {date} read as 00:00 UTC"),
                             date="2018-01-01").render(language) in out  # fmt: skip
    assert "read as 00:00 UTC" not in out
