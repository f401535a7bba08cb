"""The engine's texts as data (issue 12, item 2): a finding or a note is an English text
that keeps its message template and parameters, rendered at the edge in the reader's
language with the numbers formatted by Babel in the reader's locale."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.i18n import LOCALES, N_, Phrase, phrase, phrase_from_json, phrase_json, say

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NEAR = N_("{criterion!t} {value:,} is {below:,} ({fraction:.1%}) below the {measure!t} "
          "threshold {limit:,}")  # fmt: skip


def _spaces(text: str) -> str:
    """CLDR groups digits with a no-break space (ru, uk, fr): compare with plain ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _near() -> Phrase:
    return phrase(NEAR, criterion="troops", value=12700, below=300, fraction=300 / 13000,
                  measure="observation", limit=13000)  # fmt: skip


def test_a_phrase_is_its_english_text() -> None:
    near = _near()
    assert isinstance(near, str)
    assert near == "troops 12,700 is 300 (2.3%) below the observation threshold 13,000"
    assert near.render("en") == near.render(None) == str(near)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "военнослужащие: 12 700, что на 300 (2,3%) ниже порога наблюдения 13 000"),
        ("uk", "військовослужбовці: 12 700, що на 300 (2,3%) нижче за поріг спостереження "
               "13 000"),
    ],
)
def test_a_phrase_in_the_readers_language(lang: str, expected: str) -> None:
    assert _spaces(_near().render(lang)) == expected
    assert _spaces(say(_near(), lang)) == expected


def test_numbers_follow_the_locale_even_without_a_translation() -> None:
    """German has no entry for the engine's texts: English words, German numbers."""
    assert _near().render("de") == (
        "troops 12.700 is 300 (2,3%) below the observation threshold 13.000"
    )


def test_nested_phrases_and_lists() -> None:
    item = N_("{criterion!t} {value:,}")
    above = phrase(
        N_("above {criteria:or} but not in the annual calendar"),
        criteria=[phrase(item, criterion="troops", value=13000),
                  phrase(item, criterion="battle tanks", value=300)],
    )  # fmt: skip
    assert above == "above troops 13,000 or battle tanks 300 but not in the annual calendar"
    assert _spaces(above.render("ru")) == (
        "превышает военнослужащие 13 000 или боевые танки 300, но не включено в ежегодный "
        "календарь"
    )


def test_json_round_trip() -> None:
    near = _near()
    message_id, params = phrase_json(near)
    assert message_id == NEAR and params["value"] == 12700
    again = phrase_from_json(*json.loads(json.dumps([message_id, params])))
    assert again == near and _spaces(say(again, "ru")).startswith("военнослужащие: 12 700")
    nested = phrase(N_("unknown: {reason}"), reason=phrase(N_("the figures this threshold "
                                                             "needs are not known")))  # fmt: skip
    nid, nparams = phrase_json(nested)
    assert nparams == {"reason": {"message_id": "the figures this threshold needs are not known",
                                  "params": {}}}  # fmt: skip
    assert say(phrase_from_json(nid, nparams), "uk") == (
        "невідомо: значення, потрібні для цього порогу, невідомі"
    )


def test_json_of_plain_or_broken_texts() -> None:
    assert phrase_json("a plain text") == (None, {})
    assert phrase_json(None) == (None, {})
    assert phrase_from_json(None, {}, "fallback") == "fallback"
    # a template naming a parameter the data does not carry: the English message stands
    assert phrase_from_json("{missing} x", {}, "the English") == "the English"


def test_an_unknown_language_is_english() -> None:
    assert _near().render("xx") == str(_near())  # no catalogue, no CLDR locale: English


def test_a_broken_translation_falls_back_to_the_english_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gettext

    import csbm.i18n

    class Broken(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "{nothing_such} " + message if "{" in message else message

    monkeypatch.setattr(csbm.i18n, "_translation", lambda lang: Broken())
    assert _spaces(_near().render("ru")) == (
        "troops 12 700 is 300 (2,3%) below the observation threshold 13 000"
    )


def test_phrases_survive_copy_and_pickle() -> None:
    near = _near()
    for other in (copy.deepcopy(near), pickle.loads(pickle.dumps(near))):
        assert isinstance(other, Phrase) and other == near
        assert other.template == near.template and other.params == near.params


def _assess(lang: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> str:
    assert (LOCALES / lang / "LC_MESSAGES" / "csbm.mo").is_file(), "run make (compiles)"
    monkeypatch.setenv("CSBM_LANG", lang)
    result = CliRunner().invoke(
        app, ["assess", str(EXAMPLES / "zapad-2017.yaml"), "--at", "2017-10-01", *args]
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("lang", "near", "note"),
    [
        ("ru", "военнослужащие: 12 700, что на 300 (2,3%) ниже порога наблюдения 13 000",
         "когда —"),
        ("uk", "військовослужбовці: 12 700, що на 300 (2,3%) нижче за поріг спостереження "
               "13 000", "коли —"),
    ],
)
def test_assess_shows_the_near_threshold_finding_in_the_readers_language(
    lang: str, near: str, note: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = " ".join(_spaces(_assess(lang, monkeypatch=monkeypatch)).split())
    assert near in out
    assert note in out
    assert "below the" not in out and "when is not known" not in out


def test_assess_json_keeps_english_and_adds_the_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    english = json.loads(_assess("en", "--json", monkeypatch=monkeypatch))
    russian = json.loads(_assess("ru", "--json", monkeypatch=monkeypatch))
    assert english == russian  # JSON does not depend on the reader's language
    activity = english["activities"][0]
    (finding,) = [f for f in activity["findings"] if f["kind"] == "near_threshold"]
    assert set(finding) == {"rule", "kind", "severity", "message", "pack", "activities",
                            "details", "message_id", "params"}  # fmt: skip
    assert finding["message"] == (
        "troops 12,700 is 300 (2.3%) below the observation threshold 13,000"
    )
    assert finding["message_id"] == NEAR
    assert finding["params"]["value"] == 12700 and finding["params"]["limit"] == 13000
    rendered = phrase_from_json(finding["message_id"], finding["params"])
    assert rendered == finding["message"]
    notes = [o for o in activity["obligations"] if o["note"]]
    assert notes and all(o["note_id"] and o["note"] for o in notes)
    assert {"note_id", "note_params"} <= set(activity["obligations"][0])


def test_a_phrase_without_parameters_is_one_object() -> None:
    assert phrase(N_("in force on the start date")) is phrase(N_("in force on the start date"))
    assert Phrase(N_("in force on the start date")) == phrase(N_("in force on the start date"))


def test_phrase_json_is_made_once_and_handed_out_as_a_copy() -> None:
    outer = phrase(N_("{head}; {period}"), head=phrase(N_("forced with --regime")),
                   period=_near())  # fmt: skip
    first = phrase_json(outer)
    first[1]["head"] = "changed"
    second = phrase_json(outer)
    assert second[1]["head"] == {"message_id": "forced with --regime", "params": {}}
    assert second[1]["period"]["params"]["value"] == 12700
    assert phrase_from_json(*second) == outer


def test_a_phrase_made_holds_its_template_and_parameters_as_attributes() -> None:
    """i18n._make sets both attributes in the instance's dict at once: the phrase reads,
    pickles and turns into JSON as one whose attributes were set one by one."""
    import pickle

    from csbm.i18n import Phrase, phrase, phrase_json

    made = phrase("{a} and {b}", a="x", b=2)
    assert type(made) is Phrase and str(made) == "x and 2"
    assert made.template == "{a} and {b}" and made.params == {"a": "x", "b": 2}
    assert list(vars(made)) == ["template", "params"]
    assert pickle.loads(pickle.dumps(made)) == made
    again = pickle.loads(pickle.dumps(made))
    assert again.template == made.template and again.params == made.params
    assert phrase_json(made) == ("{a} and {b}", {"a": "x", "b": 2})
    assert Phrase("{a}", {"a": 1}).params == {"a": 1}
