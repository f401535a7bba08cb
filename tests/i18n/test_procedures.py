"""The procedures' texts in the reader's language (issue 12, item 2): every finding, deadline
note, quota note and refusal reason the procedures give is a :class:`csbm.i18n.Phrase` --
its English text unchanged, its template in the catalogues -- so ``csbm replay`` shows a
Chapter III case's notes and findings in Russian or Ukrainian, while ``--json`` stays the
same document in every language (English text plus ``*_id`` and ``*_params``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.i18n import LOCALES, Phrase, gettext_in, phrase, phrase_from_json, say
from csbm.procedures.base import join_notes
from csbm.procedures.runner import ReplayResult
from csbm.services.replay import replay_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCENARIOS = (
    "anakonda-2014.yaml", "baltic-belarus-2022.yaml", "belarus-ukraine-2021.yaml",
    "evaluation-quota.yaml", "hotline-drill.yaml", "inspection-quota.yaml",
    "notification-checks.yaml", "ukraine-russia-2022.yaml", "zapad-2017-notified.yaml",
)  # fmt: skip
# Templates whose translation is rightly the same text (punctuation only).
SAME_IN_EVERY_LANGUAGE = frozenset({"{first}; {second}", "{criterion!t} {value:,}"})

# A Chapter III case with two refused messages: a reply from a State that is not the
# responding one, and a second request in the same case.
REFUSALS = """\
title: refusals
regime: [vd2011]
events:
  - {at: 2022-02-09T10:00Z, type: ch3.request, from: LT, to: BY, case: c1,
     body: {activity: exercise, questions: [why]}}
  - {at: 2022-02-10T10:00Z, type: ch3.reply, from: PL, to: LT, case: c1,
     body: {channel: osce, text: not ours}}
  - {at: 2022-02-10T11:00Z, type: ch3.request, from: LV, to: BY, case: c1,
     body: {activity: exercise, questions: [why]}}
"""


def _spaces(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def _replay(lang: str, path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    assert (LOCALES / lang / "LC_MESSAGES" / "csbm.mo").is_file(), "run make (compiles)"
    monkeypatch.setenv("CSBM_LANG", lang)
    # One table row per line, not wrapped. The console is made when csbm.cli is first
    # imported (COLUMNS read then), so its width is set here, whatever ran before.
    from csbm.cli._output import console

    monkeypatch.setattr(console, "_width", 400)
    result = CliRunner().invoke(app, ["replay", str(path), *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _texts(result: ReplayResult) -> Iterator[tuple[str, str | None]]:
    """Every text the procedures gave: (where, text)."""
    for case in result.cases:
        for d in case.deadlines:
            yield f"{case.case} {d.rule} note", d.note
        for h in case.history:
            yield f"{case.case} #{h.seq} reason", h.reason
        for f in case.findings:
            yield f"{case.case} {f.kind} finding", f.message
    for q in result.quotas:
        yield f"quota {q.rule} {q.state} {q.year} note", q.note
    for f in result.findings:
        yield f"{f.case} {f.kind} finding", f.message


def _templates(text: Phrase) -> Iterator[str]:
    """The templates of a phrase and of the phrases and ``!t`` words in its parameters."""
    yield text.template
    for value in text.params.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, Phrase):
                yield from _templates(item)
    for name in ("role", "meeting", "measure", "verdict", "what", "priority", "field"):
        word = text.params.get(name)
        if isinstance(word, str) and "{" + name + "!t}" in text.template:
            yield word


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_procedure_text_is_a_translated_phrase(name: str) -> None:
    """Notes, refusal reasons and findings are phrases whose templates (and nested phrases
    and words) Russian and Ukrainian translate; a plain English text fails here."""
    result = replay_scenario(EXAMPLES / name).result
    seen = 0
    for where, text in _texts(result):
        if text is None:
            continue
        assert isinstance(text, Phrase), f"{name}: {where} is plain text: {text!r}"
        for template in _templates(text):
            for lang in ("ru", "uk"):
                translated = gettext_in(template, lang)
                assert translated != template or template in SAME_IN_EVERY_LANGUAGE, (
                    lang, template)
        seen += 1
    assert seen or name in ("belarus-ukraine-2021.yaml",), f"{name}: no text to check"


def test_the_refused_messages_are_phrases(tmp_path: Path) -> None:
    scenario = tmp_path / "refusals.yaml"
    scenario.write_text(REFUSALS, encoding="utf-8")
    result = replay_scenario(scenario).result
    refused = [h for h in result.cases[0].history if not h.accepted]
    assert [str(h.reason) for h in refused] == [
        "PL is not a party to this case as responding State (BY)",
        "this case already has a request (from LT at 2022-02-09T10:00:00Z); open a new case",
    ]
    assert all(isinstance(h.reason, Phrase) for h in refused)
    (finding, _) = [f for f in result.cases[0].findings if f.kind in ("not_a_party",
                                                                       "duplicate")]
    assert finding.message == (
        "ch3.reply from PL refused: PL is not a party to this case as responding State (BY)"
    )
    assert say(finding.message, "ru") == (
        "ch3.reply от PL отклонено: PL не является стороной этого дела как отвечающее "
        "государство (BY)"
    )
    assert say(finding.message, "uk") == (
        "ch3.reply від PL відхилено: PL не є стороною цієї справи як держава, що відповідає "
        "(BY)"
    )


@pytest.mark.parametrize(
    ("lang", "bilateral", "joint"),
    [
        ("en", "meeting with the responding State (¶16.2) requested by LT",
         "meeting of all participating States (¶16.3) requested by LT"),
        ("ru", "встреча с отвечающим государством (п. 16.2): запрошена государством LT",
         "встреча всех государств-участников (п. 16.3): запрошена государством LT"),
        ("uk", "зустріч із державою, що відповідає (п. 16.2): запитана державою LT",
         "зустріч усіх держав-учасниць (п. 16.3): запитана державою LT"),
    ],
)
def test_replay_shows_the_chapter_iii_notes_in_the_readers_language(
    lang: str, bilateral: str, joint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _spaces(_replay(lang, EXAMPLES / "baltic-belarus-2022.yaml", monkeypatch))
    assert bilateral in out and joint in out
    if lang != "en":
        assert "requested by" not in out and "meeting with" not in out


@pytest.mark.parametrize(
    ("lang", "missed"),
    [
        ("en", "CH3_REPLY (¶16.1.3): not done by RU; due 2022-02-13T10:00:00Z"),
        ("ru", "CH3_REPLY (¶16.1.3): RU — не выполнено; срок 2022-02-13T10:00:00Z"),
        ("uk", "CH3_REPLY (¶16.1.3): RU — не виконано; строк 2022-02-13T10:00:00Z"),
    ],
)
def test_replay_shows_the_chapter_iii_findings_in_the_readers_language(
    lang: str, missed: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = _spaces(_replay(lang, EXAMPLES / "ukraine-russia-2022.yaml", monkeypatch))
    assert missed in out
    scenario = tmp_path / "refusals.yaml"
    scenario.write_text(REFUSALS, encoding="utf-8")
    out = _spaces(_replay(lang, scenario, monkeypatch))
    reason = {
        "en": "PL is not a party to this case as responding State (BY)",
        "ru": "PL не является стороной этого дела как отвечающее государство (BY)",
        "uk": "PL не є стороною цієї справи як держава, що відповідає (BY)",
    }[lang]
    assert out.count(reason) == 2  # in the history and in the finding
    if lang != "en":
        assert "not a party" not in out and "refused:" not in out


def test_replay_json_is_the_same_in_every_language(monkeypatch: pytest.MonkeyPatch) -> None:
    path = EXAMPLES / "baltic-belarus-2022.yaml"
    docs = {lang: _replay(lang, path, monkeypatch, "--json") for lang in ("en", "ru", "uk", "fr")}
    assert docs["ru"] == docs["en"] and docs["uk"] == docs["en"] and docs["fr"] == docs["en"]
    doc = json.loads(docs["en"])
    notes = [d for c in doc["cases"] for d in c["deadlines"] if d["note"]]
    assert notes, "the meetings' deadlines have notes"
    for d in notes:
        assert d["note"].endswith("requested by LT")  # English, as always
        assert d["note_id"] == "{meeting!t} requested by {state}"
        assert d["note_params"]["state"] == "LT"
        assert phrase_from_json(d["note_id"], d["note_params"]) == d["note"]
        assert "запрошена государством LT" in say(
            phrase_from_json(d["note_id"], d["note_params"]), "ru")
    accepted = doc["cases"][0]["history"][0]
    assert accepted["reason"] is None and accepted["reason_id"] is None


def test_replay_json_of_a_refusal_keeps_english_and_its_template(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = tmp_path / "refusals.yaml"
    scenario.write_text(REFUSALS, encoding="utf-8")
    english = _replay("en", scenario, monkeypatch, "--json")
    assert _replay("uk", scenario, monkeypatch, "--json") == english
    doc = json.loads(english)
    refused = [h for h in doc["cases"][0]["history"] if not h["accepted"]]
    assert refused[0]["reason"] == "PL is not a party to this case as responding State (BY)"
    assert refused[0]["reason_id"] == (
        "{sender} is not a party to this case as {role!t} ({allowed})")
    assert refused[0]["reason_params"] == {"sender": "PL", "role": "responding State",
                                           "allowed": "BY"}  # fmt: skip
    finding = doc["cases"][0]["findings"][0]
    assert finding["message_id"] == "{kind} from {sender} refused: {reason}"
    assert finding["params"]["reason"]["message_id"] == refused[0]["reason_id"]
    assert phrase_from_json(finding["message_id"], finding["params"]) == finding["message"]


def test_join_notes_keeps_phrases() -> None:
    first = phrase("opened by the calendar entry")
    second = phrase("cancelled on {date}", date="2022-02-01")
    joined = join_notes(first, None, "", second)
    assert joined == "opened by the calendar entry; cancelled on 2022-02-01"
    assert isinstance(joined, Phrase) and joined.params == {"first": first, "second": second}
    assert say(joined, "ru") == "открыто записью в календаре; отменено 2022-02-01"
    assert join_notes(first) is first  # one part: itself
    assert join_notes(None, "") is None  # none: None, never an empty text
