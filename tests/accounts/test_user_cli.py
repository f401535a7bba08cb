"""``csbm user add | list | remove | history`` end to end (both backends): the password
never on the command line, a token printed once, every refusal one line and exit 2 with
nothing on stdout and nothing stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csbm.accounts.policy import Role
from csbm.cli.main import app
from csbm.node import Node
from csbm.services import users
from tests.accounts.conftest import PASSWORD
from tests.store.nodes import T0, make_node

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, db_url: str) -> Path:
    make_node(tmp_path, db_url, "LT").close()
    return tmp_path / "LT"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_remove(data: Path) -> None:
    env = {"CSBM_USER_PASSWORD": PASSWORD}
    code, out, err = run("user", "add", "ana", "--role", "drafter", "--data", str(data), env=env)
    assert (code, err) == (0, "")
    assert out == "Added ana (drafter)\n"
    code, out, err = run("user", "add", "svc", "--role", "Signing-Officer", "--token", "--json",
                         "--data", str(data))  # fmt: skip
    assert code == 0, err
    added = json.loads(out)
    token = added["token"]
    assert added["user"]["role"] == "signing_officer" and token.startswith("csbm_")

    code, out, _ = run("user", "list", "--json", "--data", str(data))
    listed = json.loads(out)["users"]
    assert [(u["name"], u["role"], u["credential"]) for u in listed] == [
        ("ana", "drafter", "password"),
        ("svc", "signing_officer", "token"),
    ]
    assert all(u["created_by"].startswith("cli:") for u in listed)
    assert token not in out  # shown once, never again
    code, out, _ = run("user", "list", "--data", str(data))
    assert code == 0 and "ana" in out and "svc" in out and token not in out

    with Node.open(data) as node:
        assert users.authenticate_password(node, "ana", PASSWORD, T0).role is Role.DRAFTER
        assert users.authenticate_token(node, token, T0).name == "svc"
        secrets = node.accounts.stored_secrets()
        assert (("svc", None, hashlib.sha256(token.encode()).digest())) in secrets

    code, out, err = run("user", "remove", "ana", "--data", str(data))
    assert (code, out, err) == (0, "Removed ana (drafter)\n", "")
    code, out, _ = run("user", "history", "--json", "--data", str(data))
    events = json.loads(out)["events"]
    assert [(e["action"], e["account"]) for e in events] == [
        ("user.add", "ana"),
        ("user.add", "svc"),
        ("user.remove", "ana"),
    ]
    assert all(e["actor"].startswith("cli:") and e["at"].endswith("Z") for e in events)
    code, out, _ = run("user", "history", "ana", "--data", str(data))
    assert code == 0 and "user.remove" in out and "svc" not in out


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["add", "ana", "--role", "king"], {"CSBM_USER_PASSWORD": PASSWORD},
         "csbm: --role: one of ['drafter', 'signing_officer', 'reader', 'auditor', 'admin'] "
         "(got 'king')"),
        (["add", "ana b", "--role", "reader"], {"CSBM_USER_PASSWORD": PASSWORD},
         "csbm: NAME: 1 to 64 letters, digits or . _ @ -, starting with a letter or digit "
         "(got 'ana b')"),
        (["add", "ana", "--role", "reader"], {"CSBM_USER_PASSWORD": "short"},
         "csbm: password: at least 15 characters"),
        (["add", "ana", "--role", "reader"], {"CSBM_USER_PASSWORD": ""},
         "csbm: CSBM_USER_PASSWORD: set it, or run in a terminal to be asked "
         "(never on the command line)"),
        (["remove", "nobody"], {}, "csbm: no account nobody"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_exit_2_and_store_nothing(
    data: Path, args: list[str], env: dict[str, str], line: str
) -> None:
    code, out, err = run("user", *args, "--data", str(data), env=env)
    assert (code, out) == (2, "")
    assert err.splitlines() == [line]
    with Node.open(data) as node:
        assert users.list_users(node).users == [] and users.history(node).events == []


def test_a_name_in_use(data: Path) -> None:
    env = {"CSBM_USER_PASSWORD": PASSWORD}
    assert run("user", "add", "ana", "--role", "reader", "--data", str(data), env=env)[0] == 0
    code, out, err = run("user", "add", "ana", "--role", "admin", "--token", "--data", str(data))
    assert (code, out) == (2, "")
    assert err.splitlines() == ["csbm: NAME: an account of this name exists (got 'ana')"]


def test_there_is_no_password_option(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from csbm.cli.main import run as main

    args = ["user", "add", "ana", "--role", "reader", "--password", PASSWORD, "--data", str(data)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("csbm: No such option: --password")
    assert PASSWORD not in captured.err


def test_no_node_here(tmp_path: Path) -> None:
    code, out, err = run("user", "list", "--data", str(tmp_path / "none"))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "no csbm node here" in err
