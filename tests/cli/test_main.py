"""The root command: lazy sub-commands, --version, usage errors as one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from csbm import __version__
from csbm.cli.main import COMMANDS, load_command, run


def test_the_command_table_agrees_with_the_modules() -> None:
    """``csbm --help`` lists COMMANDS without importing them; each must exist and carry
    the same one-line help as its module."""
    for name, (_module, help_text) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == help_text, name


def test_help_does_not_import_the_engine() -> None:
    code = (
        "import sys\n"
        "from csbm.cli.main import run\n"
        "try:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'shapely', 'pyproj', 'csbm.rules', 'csbm.node',"
        " 'csbm.procedures') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rules", "show"], "csbm: Missing argument"),
        (["assess", "x.yaml", "--bogus"], "csbm: No such option: --bogus"),
        (["nope"], "csbm: No such command 'nope'."),
        (["ledger", "verify", "--workers", "x"], "csbm: Invalid value for '--workers'"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(expected)
    assert "╭" not in captured.err
