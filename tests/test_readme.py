"""What the README shows is the contract: every ``$ csbm ...`` line of its code blocks runs
as written (from a folder holding the repository's examples) and exits 0, in the order
given, so a line may use what an earlier line made (``/tmp/ua`` is a fresh folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands(text: str) -> list[str]:
    """The ``$ `` lines of the fenced blocks, comments and prompts removed."""
    out: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block and line.startswith("$ "):
            command = line[2:]
            command = re.sub(r"\s+#.*$", "", command)  # a trailing comment
            out.append(command.strip())
    return out


def test_the_readme_has_a_tour() -> None:
    commands = readme_commands(README.read_text("utf-8"))
    assert len(commands) >= 10
    assert any(c.startswith("csbm assess") for c in commands)


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("examples",):
        shutil.copytree(ROOT / name, work / name)
    scratch = tmp_path / "scratch"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CSBM_LANG": "en",
        "COLUMNS": "100",
    }
    env.pop("CSBM_DATA", None)
    for command in readme_commands(README.read_text("utf-8")):
        if command.startswith(("make ", "csbm serve", "csbm demo")):
            continue  # the long-running ones have their own tests
        # The README's scratch folders (/tmp/ua, ...) are made fresh under tmp_path.
        runnable = re.sub(r"/tmp/([a-z0-9_-]+)", lambda m: str(scratch / m.group(1)), command)
        result = subprocess.run(
            ["bash", "-c", runnable],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, (command, result.stderr[-1500:])
        assert "Traceback" not in result.stderr, command


def test_the_message_shown_is_the_example_file() -> None:
    from csbm.reader import parse_document, read_document

    text = README.read_text("utf-8")
    block = text.split("```yaml\ntype: ch3.request", 1)[1].split("```", 1)[0]
    shown = parse_document("type: ch3.request" + block, "README")
    assert shown == read_document(ROOT / "examples" / "ch3-request.yaml")
