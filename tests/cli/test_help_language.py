"""The command line's help in the user's language: every command's and option's help
text, Typer's panel titles and the ``--help`` option's own help are messages of the
catalogues (extracted by ``csbm.cli._help.extract``), shown translated."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from csbm.cli._help import HELP_OPTION, help_texts
from csbm.cli.main import run
from csbm.i18n import LOCALES, gettext_in

LANGUAGES = ("ru", "uk", "fr", "de", "it", "es")
ASSESS_JSON = "One JSON document on stdout."
ASSESS = "Obligations and findings for military activities under the rule packs."


def _help(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run([*args, "--help"]) == 0
    return " ".join(capsys.readouterr().out.replace("│", " ").split())


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_help_text_is_in_the_template() -> None:
    texts = help_texts()
    assert len(texts) > 100
    assert ASSESS_JSON in texts and HELP_OPTION in texts and "Options" in texts
    with (LOCALES / "csbm.pot").open("rb") as handle:
        template = {
            str(m.id): m.locations for m in read_po(handle) if m.id
        }
    missing = [t for t in texts if t not in template]
    assert not missing, f"run `make messages`: {missing[:3]}"
    assert "src/csbm/cli/_help.py" in [path for path, _line in template[ASSESS_JSON]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_command_help_in_the_users_language(
    language: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSBM_LANG", language)
    out = _help(["assess"], capsys)
    for english in (ASSESS, ASSESS_JSON, HELP_OPTION):
        translated = gettext_in(english, language)
        assert translated != english, (language, english)
        assert _words(translated) in out, (language, translated)
    assert gettext_in("Arguments", language) in out  # the same word in French
    assert ASSESS_JSON not in out and HELP_OPTION not in out
    # a group's commands and the root's list too
    keys = _help(["keys"], capsys)
    assert gettext_in("Commands", language) in keys and "Commands" not in keys
    assert _words(gettext_in("Add a peer State's public key to the directory.", language)) in keys
    root = _help([], capsys)
    assert _words(gettext_in(ASSESS, language)) in root
    assert gettext_in("Print the version and exit.", language) in root


def test_english_help_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """English is the source: the texts as written, and the panels in English again after
    help was shown in another language in the same process."""
    monkeypatch.setenv("CSBM_LANG", "ru")
    assert "Параметры" in _help(["assess"], capsys)
    monkeypatch.setenv("CSBM_LANG", "en")
    out = _help(["assess"], capsys)
    assert ASSESS in out and ASSESS_JSON in out and "Options" in out and "Параметры" not in out


def test_a_language_without_a_catalogue_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSBM_LANG", "pl")
    out = _help(["ledger"], capsys)
    assert "The node's signed, append-only Merkle log." in out and "Options" in out
