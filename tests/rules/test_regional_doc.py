"""docs/regional-measures.md, "Completing a bilateral pack": the page's own example pack,
run with the page's own commands, turns the unknown border-zone obligations into due
dates (issue 8: step 3 said so while ZONE_NOTIF_LEAD stayed unknown)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from csbm.cli.main import app

runner = CliRunner()
AT = "2021-06-01T00:00:00Z"


def _example_pack(repo_root: Path, tmp_path: Path) -> Path:
    page = (repo_root / "docs" / "regional-measures.md").read_text(encoding="utf-8")
    section = page[page.index("## Completing a bilateral pack"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    text = "\n".join(line[3:] for line in block.group(1).splitlines())  # the list indent
    path = tmp_path / "by-ua-2001-local.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _assess(pack: Path, activity: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["assess", str(activity), "--regime", "vd2011",
                                 "--regime", str(pack), "--at", AT, "--json"])
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return {o["rule"]: o for a in doc["activities"] for o in a["obligations"]
            if o["pack"] == "by-ua-2001-local"}


def test_step_2_the_example_pack_checks(repo_root: Path, tmp_path: Path) -> None:
    pack = _example_pack(repo_root, tmp_path)
    result = runner.invoke(app, ["rules", "check", str(pack)])
    assert result.exit_code == 0, result.stderr
    assert "by-ua-2001-local:" in result.stdout


def test_step_3_unknowns_become_due_dates(repo_root: Path, tmp_path: Path) -> None:
    pack = _example_pack(repo_root, tmp_path)
    activity = repo_root / "examples" / "by-ua-border-2021.yaml"
    owed = _assess(pack, activity)
    lead = owed["ZONE_NOTIF_LEAD"]
    assert lead["due"] == "2021-05-08T00:00:00Z"
    assert lead["status"] == "unknown" and "whether it was done" in lead["note"]
    assert "ZONE_OBS_THRESHOLD" not in owed  # 4,000 < 5,000: no observation owed
    assert all(o["due"] is not None for o in owed.values())


def test_step_3_status_follows_the_activity(repo_root: Path, tmp_path: Path) -> None:
    pack = _example_pack(repo_root, tmp_path)
    data = yaml.safe_load((repo_root / "examples" / "by-ua-border-2021.yaml").read_text())
    for notified, status in (({"notified": False}, "missed"),
                             ({"notified_at": "2021-05-01T09:00:00Z"}, "met")):
        path = tmp_path / "activity.yaml"
        path.write_text(json.dumps({**data, "start": "2021-06-07", "end": "2021-06-11",
                                    **notified}), encoding="utf-8")
        assert _assess(pack, path)["ZONE_NOTIF_LEAD"]["status"] == status


def test_the_bundled_pack_leaves_them_unknown(repo_root: Path) -> None:
    result = runner.invoke(app, ["assess", str(repo_root / "examples" / "by-ua-border-2021.yaml"),
                                 "--at", AT, "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    owed = {o["rule"]: o for a in doc["activities"] for o in a["obligations"]
            if o["pack"] == "by-ua-2001"}
    assert {"ZONE_NOTIF_LEAD", "ZONE_OBS_THRESHOLD"} <= set(owed)
    assert {o["status"] for o in owed.values()} == {"unknown"}
    assert owed["ZONE_NOTIF_LEAD"]["due"] is None
