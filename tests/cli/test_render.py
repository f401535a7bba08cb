"""``csbm render notification``: the official form in text and HTML, in English and
Russian; bad input is one line on stderr, exit 2, nothing on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbm.cli.main import run
from csbm.i18n import LOCALES

ROOT = Path(__file__).resolve().parents[2]
ZAPAD = ROOT / "tests" / "forms" / "data" / "zapad-2017-notification.yaml"


def _ok(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = run(["render", "notification", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    return captured.out


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = run(["render", "notification", *args])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("csbm: ")
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSBM_LANG", "en")


def _compiled(language: str) -> None:
    if language == "en":  # the source language needs no catalogue
        return
    assert (LOCALES / language / "LC_MESSAGES" / "csbm.mo").is_file(), "run make messages"


def test_text_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    out = _ok([str(ZAPAD)], capsys)
    assert out.startswith("NOTIFICATION OF A MILITARY ACTIVITY\n")
    assert "Notifying State: BY (Belarus)" in out
    assert "A.1 Designation of the military activity\n      Zapad-2017\n" in out
    assert "Start: 2017-09-14T00:00:00Z (Thursday, 14 September 2017)" in out
    assert "B.1.1 Total number of troops taking part" in out
    assert "      12700\n" in out
    assert "not given" in out


def test_text_in_russian(capsys: pytest.CaptureFixture[str]) -> None:
    _compiled("ru")
    out = _ok([str(ZAPAD), "--lang", "ru"], capsys)
    assert out.startswith("УВЕДОМЛЕНИЕ О ВОЕННОЙ ДЕЯТЕЛЬНОСТИ\n")
    assert "A.1 Наименование военной деятельности\n      Zapad-2017\n" in out
    # data as sent, never translated; the day spelled in Russian beside the UTC instant
    assert "joint strategic exercise of the armed forces of Russia and Belarus" in out
    spaced = out.replace("\u202f", " ")  # CLDR puts a narrow no-break space before "г."
    assert "2017-09-14T00:00:00Z (четверг, 14 сентября 2017 г.)" in spaced
    assert "BY (Беларусь)" in out
    assert "не указано" in out
    assert "not given" not in out and "Designation" not in out


def test_the_users_language_is_the_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _compiled("de")
    monkeypatch.setenv("CSBM_LANG", "de")
    out = _ok([str(ZAPAD)], capsys)
    assert "Donnerstag, 14. September 2017" in out
    monkeypatch.setenv("CSBM_LANG", "pt")  # not an OSCE language: English
    assert "Thursday, 14 September 2017" in _ok([str(ZAPAD)], capsys)


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Designation of the military activity"), ("ru", "Наименование военной деятельности")],
)
def test_html(language: str, label: str, capsys: pytest.CaptureFixture[str]) -> None:
    _compiled(language)
    out = _ok([str(ZAPAD), "--lang", language, "--format", "html"], capsys)
    assert out.startswith(f'<!DOCTYPE html>\n<html lang="{language}">')
    assert f'<th scope="row">{label}</th>' in out
    assert '<td><span class="data">Zapad-2017</span></td>' in out
    assert "<style>" in out and "<link" not in out and "<script" not in out
    assert out.rstrip().endswith("</html>")


def test_html_escapes_a_script_in_the_designation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ZAPAD.read_text(encoding="utf-8").replace(
        "name: Zapad-2017", "name: \"<script>alert('Zapad')</script>\""
    )
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(text, encoding="utf-8")
    out = _ok([str(hostile), "--format", "html"], capsys)
    assert "<script" not in out
    assert "&lt;script&gt;alert(&#x27;Zapad&#x27;)&lt;/script&gt;" in out


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "zapad.html"
    out = _ok([str(ZAPAD), "--format", "html", "-o", str(target)], capsys)
    assert str(target) in out
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_scenario_with_a_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = "\n".join(
        "    " + line
        for line in ZAPAD.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("regime: [vd2011]\nevents:\n  -\n" + event + "\n", encoding="utf-8")
    assert "Zapad-2017" in _ok([str(scenario), "--case", "zapad-2017"], capsys)
    line = _refused([str(scenario), "--case", "other"], capsys)
    assert line == (
        "csbm: --case: no notification in the scenario has this case label (got 'other')"
    )


def test_not_a_notification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "request.yaml"
    other.write_text("type: ch3.request\nto: BY\nbody: {}\n", encoding="utf-8")
    assert _refused([str(other)], capsys) == (
        "csbm: type: not a notification (type 'notification') (got 'ch3.request')"
    )


def test_an_assess_file_is_not_a_notification(capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused([str(ROOT / "examples" / "zapad-2017.yaml")], capsys)
    assert line == "csbm: type: not a notification (type 'notification')"


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused([str(tmp_path / "nope.yaml")], capsys)
    assert "nope.yaml" in line


def test_unknown_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused([str(ZAPAD), "--lang", "xx"], capsys) == (
        "csbm: --lang: one of en, fr, de, it, ru, es (got 'xx')"
    )


def test_bad_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused([str(ZAPAD), "--format", "pdf"], capsys) == (
        "csbm: --format: one of text, html (got 'pdf')"
    )


def test_broken_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("type: notification\nbody: {activity: [\n", encoding="utf-8")
    assert "broken.yaml" in _refused([str(broken)], capsys)


def test_bad_activity_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        ZAPAD.read_text(encoding="utf-8").replace("troops: 12700", "troops: lots"),
        encoding="utf-8",
    )
    line = _refused([str(bad)], capsys)
    assert line.startswith("csbm: body.activity.forces.troops:")
    assert "lots" in line


def test_missing_subcommand_and_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["render", "notification"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("csbm: Missing argument 'file'.")


def test_the_readme_tour_line_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [x for x in readme.splitlines() if x.startswith("$ csbm render ")]
    args = line.removeprefix("$ csbm ").split("#")[0].split()
    _compiled("ru")
    code = run([*args[:2], str(ROOT / args[2]), *args[3:]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "A.1 Наименование военной деятельности\n      Zapad-2017\n" in captured.out
