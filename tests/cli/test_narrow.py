"""At 80 columns, in English and in Russian, the assessment's tables keep every rule id
whole and stay within the terminal's width."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("example", ["zapad-2017.yaml", "union-resolve-2022.yaml"])
def test_assess_at_80_columns(lang: str, example: str) -> None:
    env = {**os.environ, "COLUMNS": "80", "CSBM_LANG": lang, "TZ": "Europe/Kyiv"}
    out = subprocess.run(
        [sys.executable, "-m", "csbm", "assess", str(ROOT / "examples" / example),
         "--at", "2026-01-01T00:00Z"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    table_rows = [line for line in lines if line.startswith("│")]
    ids = [re.match(r"│ (\S+)", row) for row in table_rows]
    shown = {m.group(1) for m in ids if m}
    assert "NOTIF_LEAD" in shown
    packs = {"vd2011", "by-ua-2001", "by-lt", "by-lv-2004", "by-pl", "ua-sk-2000"}
    for rule in shown - packs:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+[A-Z0-9]", rule), rule


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize(
    "example", ["anakonda-2014.yaml", "hotline-drill.yaml", "ukraine-russia-2022.yaml"]
)
def test_deadlines_at_80_columns_keep_codes_whole(lang: str, example: str) -> None:
    import json

    env = {**os.environ, "COLUMNS": "80", "CSBM_LANG": lang, "TZ": "Europe/Kyiv"}
    args = [sys.executable, "-m", "csbm", "deadlines", str(ROOT / "examples" / example),
            "--at", "2022-02-12T00:00Z"]  # fmt: skip
    text = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    doc = json.loads(
        subprocess.run(
            [*args, "--json"], capture_output=True, text=True, env=env, check=True
        ).stdout
    )
    assert all(len(line) <= 80 for line in text.splitlines()), text
    words = set(text.split())
    for row in doc["deadlines"]:
        assert row["rule"] in words, row["rule"]
        assert row["case"] in words, row["case"]


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_replay_at_80_columns_keeps_words_whole(lang: str) -> None:
    env = {**os.environ, "COLUMNS": "80", "CSBM_LANG": lang, "TZ": "Europe/Kyiv"}
    args = [sys.executable, "-m", "csbm", "replay", str(ROOT / "examples/baltic-belarus-2022.yaml")]
    text = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    assert all(len(line) <= 80 for line in text.splitlines()), text
    words = set(text.split())
    for code in ("CH3_REPLY", "CH3_MEET_BILAT", "CH3_MEET_ALL", "Chairperson-in-Office"):
        assert code in words, code
