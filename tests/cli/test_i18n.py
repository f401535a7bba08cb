"""Everything the CLI shows can be translated: catalogues for the OSCE languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from csbm.cli.main import app
from csbm.i18n import LOCALES, OSCE_LANGUAGES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def _cli_messages() -> set[str]:
    """The message ids the command line shows (by their location in the template)."""
    with (LOCALES / "csbm.pot").open("rb") as handle:
        return {
            str(m.id)
            for m in read_po(handle)
            if m.id and any(path.startswith("src/csbm/cli/") for path, _line in m.locations)
        }


@pytest.mark.parametrize("language", [*(lang for lang in OSCE_LANGUAGES if lang != "en"), "uk"])
def test_catalogue_translates_every_message_of_the_cli(language: str) -> None:
    """The CLI speaks the six OSCE languages and Ukrainian (the engine's texts and the
    pages: tests/i18n/test_catalogues.py)."""
    template = _cli_messages()
    assert len(template) > 100
    catalogue = _catalog(LOCALES / language / "LC_MESSAGES" / "csbm.po")
    assert set(template) <= set(catalogue)
    for msgid in template:
        assert catalogue[msgid], f"{language}: {msgid!r} untranslated"
        for field in ("{regime}", "{at}", "{pack}", "{note}", "{checks}"):
            assert (field in msgid) == (field in catalogue[msgid]), (language, msgid)


@pytest.mark.parametrize(
    ("language", "word"), [("ru", "Оценка"), ("fr", "Évaluation"), ("de", "Bewertung")]
)
def test_assess_speaks_the_users_language(
    language: str, word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (LOCALES / language / "LC_MESSAGES" / "csbm.mo").is_file(), (
        "run make (compiles catalogues)"
    )
    monkeypatch.setenv("CSBM_LANG", language)
    result = CliRunner().invoke(
        app, ["assess", str(EXAMPLES / "zapad-2017.yaml"), "--at", "2017-06-01"]
    )
    assert result.exit_code == 0, result.stderr
    assert word in result.stdout
    monkeypatch.setenv("CSBM_LANG", "en")
    english = CliRunner().invoke(
        app, ["assess", str(EXAMPLES / "zapad-2017.yaml"), "--at", "2017-06-01"]
    )
    assert "Assessment" in english.stdout and word not in english.stdout


def test_deadlines_and_replay_speak_the_users_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSBM_LANG", "de")
    scenario = str(EXAMPLES / "ukraine-russia-2022.yaml")
    deadlines = CliRunner().invoke(app, ["deadlines", scenario, "--at", "2022-02-12T12:00Z"])
    assert deadlines.exit_code == 0, deadlines.stderr
    assert "Fristen Stand" in deadlines.stdout and "offen" in deadlines.stdout
    replayed = CliRunner().invoke(app, ["replay", scenario])
    assert replayed.exit_code == 0, replayed.stderr
    assert "Stand" in replayed.stdout and "wann" in replayed.stdout
