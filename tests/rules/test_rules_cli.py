"""``csbm rules list | show | check``: numbers shown, codes never cut at 80 columns, the
``show`` command the help promised, the coverage check, and bad packs in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.cli import rules as rules_cli
from csbm.cli.main import app
from csbm.rules import bundled_pack_ids, load_pack

runner = CliRunner()

NO_PROCEDURE_YET = {
    "aiam", "communications", "consultation", "contacts", "defence_planning",
    "notification_content", "subthreshold_notification",
}


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _refused(*args: str) -> list[str]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("csbm: ") for line in lines)
    assert "Traceback" not in result.stderr
    return lines


def test_help_names_show_and_show_exists() -> None:
    assert "show" in _ok("rules", "--help")
    out = _ok("rules", "show", "vd2011", "CH3_MEET_ALL")
    assert "¶16.3" in out and "Chairperson-in-Office" in out
    assert "https://9dok.org/" in out.replace("\n", "").replace("│", "").replace(" ", "")


def test_show_json_has_every_field_and_resolved_sources() -> None:
    doc = json.loads(_ok("rules", "show", "vd2011", "CONSTR_SIMUL", "--json"))
    assert doc["paragraph"] == "67.3" and doc["paragraph_verified"] is True
    assert doc["spec"]["criteria"] == {"troops": 13000, "battle_tanks": 300, "acv": 500,
                                       "artillery": 300}
    assert doc["provenance"]["status"] == "C-tr"
    assert doc["sources"][0]["key"] == "T1" and doc["sources"][0]["url"].startswith("https://")
    assert len(doc["cases"]) == 5 and doc["pack"] == "vd2011"


def test_show_of_an_unknown_entry_is_one_line() -> None:
    (line,) = _refused("rules", "show", "vd2011", "CH3_MEET_JOINT")
    assert line.startswith("csbm: no entry CH3_MEET_JOINT in pack vd2011")
    assert "CH3_MEET" not in _refused("rules", "show", "vd2011", "NOPE")[0].split(";")[0][20:]


def test_list_shows_the_numbers_not_the_spec_type() -> None:
    doc = json.loads(_ok("rules", "list", "vd2011", "--json"))
    numbers = {r["id"]: r["numbers"] for r in doc["rules"]}
    assert numbers["INSP_QUOTA"] == "3 per calendar year (receiving state)"
    assert numbers["INSP_TEAM"] == "at most 4 inspectors per team"
    assert numbers["EVAL_QUOTA"] == "1 per 60 units or part thereof, at most 15"
    assert numbers["EVAL_CONCURRENT"] == "1 at any given time (concurrent)"
    assert not {"quota", "maximum", "unit_quota", "share"} & set(numbers.values())
    out = _ok("rules", "list", "vd2011")
    assert "3 per calendar" in out and "unit_quota" not in out


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("columns", ["80", "60"])
@pytest.mark.parametrize("pack", sorted(bundled_pack_ids()))
def test_ids_and_headers_are_never_cut(
    monkeypatch: pytest.MonkeyPatch, lang: str, columns: str, pack: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("CSBM_LANG", lang)
    out = _ok("rules", "list", pack)
    lines = out.splitlines()
    if columns == "80":
        assert all(len(line) <= 80 for line in lines)
    first_words = [line.split()[0] for line in lines if line and line[0].isupper()
                   and re.match(r"^[A-Z][A-Z0-9_]+ ", line)]
    ids = [r.id for r in load_pack(pack).rules]
    assert first_words == ids  # each id whole, once, in order: none cut, none folded
    header = next(line for line in lines if line.startswith("id "))
    wanted = ["strength", "numbers", "provenance"] if lang == "en" else [
        "сила", "значения", "происхождение"]
    assert header.split()[2:] == wanted


def test_check_of_every_bundled_pack_passes_and_lists_measures_without_procedure() -> None:
    seen: set[str] = set()
    for pack in bundled_pack_ids():
        out = _ok("rules", "check", pack)
        assert "rule ids named by the procedures: " in out and "all in the packs" in out
        seen |= set(re.findall(r"no procedure yet: (\w+)", out))
    assert seen == NO_PROCEDURE_YET


def test_check_fails_on_a_rule_id_no_pack_has(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_cli, "procedure_rule_ids",
                        lambda: {"CH3_REPLY": {"unusual_activity"},
                                 "CH3_MEET_JOINT": {"unusual_activity"}})
    (line,) = _refused("rules", "check", "vd2011")
    assert line == "csbm: CH3_MEET_JOINT: named by unusual_activity but in no rule pack"


def test_impossible_in_force_date_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p\ntitle: t\nversion: '1'\nin_force: 2017-02-30\n", encoding="utf-8")
    (line,) = _refused("rules", "check", str(path))
    assert line.startswith("csbm: in_force: ")
    assert "2017-02-30" in line


@pytest.mark.parametrize(
    ("schema", "reason"),
    [("2", "rule-pack format 2 is not supported: this csbm reads schema 1; a newer csbm"),
     ("'1'", "rule-pack format '1' is not supported"),
     ("true", "rule-pack format True is not supported")],
)
def test_unknown_schema_version_is_refused(tmp_path: Path, schema: str, reason: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"schema: {schema}\nid: p\ntitle: t\nversion: '1'\nfuture_field: 1\n",
                    encoding="utf-8")
    (line,) = _refused("rules", "list", str(path))
    assert line.startswith(f"csbm: schema: {reason}")


def test_schema_1_is_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("schema: 1\nid: p\ntitle: t\nversion: '1'\n", encoding="utf-8")
    assert json.loads(_ok("rules", "list", str(path), "--json")) == {"pack": "p", "rules": []}


def test_a_source_key_the_pack_does_not_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\ntitle: t\nversion: '1'\nsources: {S1: {title: one, url: 'https://x.org/1'}}\n"
        "rules:\n- id: A_B\n  title: t\n  strength: commitment\n  measure: aiam\n"
        "  spec: {type: standing}\n  provenance: {status: U, sources: [S1, S2]}\n",
        encoding="utf-8",
    )
    (line,) = _refused("rules", "check", str(path))
    assert "A_B: source 'S2' is not in the pack's sources (S1)" in line
