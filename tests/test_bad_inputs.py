"""The bad-input corpus of issue 8: every file a user or an attacker could hand to
``csbm assess`` and ``csbm replay`` is answered with one line on stderr, exit 2, nothing on
stdout — never a traceback (exit 1 or 70), never a hang. And a fuzzer over activity files
and scenarios: a clean error or a valid result, whatever the input.

Other parts of the corpus live beside the code they guard: the ledger and node faults in
tests/ledger and tests/store, the geometry in tests/geo, the scenarios' messages in
tests/procedures, the reader's own refusals in tests/test_reader.py.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbm.cli.main import run

HANG_SECONDS = 20

ZAPAD = """\
name: Zapad-2017
conducting_states: [RU, BY]
host_state: BY
start: 2017-09-14
end: 2017-09-20
forces: {troops: 12700, battle_tanks: 250, artillery: 200}
"""


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A command that does not answer within HANG_SECONDS is a hang: fail, don't wait."""

    def _alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command; it must refuse with exit 2, one line on stderr, empty stdout."""
    code = run(args)
    captured = capsys.readouterr()
    assert code == 2, (code, captured.err)
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) >= 1
    assert all(line.startswith("csbm: ") for line in lines), captured.err
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err
    return captured.err


def _file(tmp_path: Path, text: str | bytes, name: str = "input.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)

ACTIVITY_CASES = {
    "alias bomb": ALIAS_BOMB,
    "duplicate key": ZAPAD + "host_state: RU\n",
    "impossible date": ZAPAD.replace("start: 2017-09-14", "start: 2017-02-30"),
    "impossible zoned time": ZAPAD.replace(
        "start: 2017-09-14", "start: 2017-02-30T10:00 Europe/Minsk"
    ),
    "5001-digit integer": ZAPAD.replace("12700", "9" * 5001),
    "troops true": ZAPAD.replace("12700", "true"),
    "troops text": ZAPAD.replace("12700", '"12700"'),
    "troops float": ZAPAD.replace("12700", "12700.5"),
    "troops infinite": ZAPAD.replace("12700", ".inf"),
    "notified yes": ZAPAD + 'notified: "yes"\n',
    "notified 1": ZAPAD + "notified: 1\n",
    "python tag": ZAPAD + "purpose: !!python/object/apply:os.system ['true']\n",
    "deep YAML": "a: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "empty file": "",
    "a list": "- 1\n- 2\n",
    "no activities": "activities: []\n",
    "unknown field": ZAPAD + "colour: green\n",
    "end before start": ZAPAD.replace("end: 2017-09-20", "end: 2017-09-01"),
    "unknown State": ZAPAD.replace("host_state: BY", "host_state: XX"),
    "offsetless time": ZAPAD.replace("start: 2017-09-14", "start: 2017-09-14T10:00"),
}


@pytest.mark.parametrize("case", sorted(ACTIVITY_CASES))
def test_assess_refuses_bad_activity_files(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["assess", _file(tmp_path, ACTIVITY_CASES[case])], capsys)


JSON_CASES = {
    "deep JSON": "[" * 100_000 + "]" * 100_000,
    "NaN": '{"name": "x", "conducting_states": ["RU"], "host_state": "RU", '
    '"start": "2017-09-14", "forces": {"troops": NaN}}',
    "duplicate key": '{"name": "x", "name": "y"}',
    "truncated": '{"activities": [{"name": "x"',
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_assess_refuses_bad_json(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["assess", _file(tmp_path, JSON_CASES[case], "input.json")], capsys)


def test_assess_refuses_files_that_are_not_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["assess", str(tmp_path / "missing.yaml")], capsys)
    refused(["assess", str(tmp_path)], capsys)
    refused(["assess", _file(tmp_path, b"name: \xff\xfe\n")], capsys)
    refused(["assess", _file(tmp_path, b"name: x\x00\n")], capsys)


@pytest.mark.parametrize(
    "args",
    [
        ["--tz", ""],
        ["--tz", "Mars/Olympus"],
        ["--at", "2022-02-30T10:00:00Z"],
        ["--at", "yesterday"],
        ["--regime", "no-such-pack"],
    ],
)
def test_assess_refuses_bad_options(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["assess", _file(tmp_path, ZAPAD), *args], capsys)


def test_the_good_file_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same file without the fault is assessed."""
    assert run(["assess", _file(tmp_path, ZAPAD), "--json", "--at", "2026-01-01T00:00Z"]) == 0
    assert '"NOTIF_LEAD"' in capsys.readouterr().out


SCENARIO = """\
regime: [vd2011]
events:
  - at: 2022-02-09T10:00:00Z
    type: ch3.request
    from: LT
    to: BY
    case: union-resolve-2022
    body: {on_behalf_of: [LT, LV, EE]}
"""

SCENARIO_CASES = {
    "alias bomb": ALIAS_BOMB,
    "duplicate from": SCENARIO.replace("from: LT\n", "from: LT\n    from: LV\n"),
    "impossible instant": SCENARIO.replace("2022-02-09T10:00:00Z", "2022-02-30T10:00:00Z"),
    "deep YAML": "events: " + "[" * 5_000 + "]" * 5_000 + "\n",
    "5001-digit integer": SCENARIO + "units: {BY: {2022: " + "9" * 5001 + "}}\n",
    "not a mapping": "- 1\n",
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_replay_refuses_bad_scenarios(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["replay", _file(tmp_path, SCENARIO_CASES[case])], capsys)


def test_replay_refuses_non_utf8_and_deep_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["replay", _file(tmp_path, SCENARIO.encode() + b"# \xff\n")], capsys)
    refused(["replay", _file(tmp_path, "[" * 100_000 + "]" * 100_000, "s.json")], capsys)


# -- fuzz: a clean error or a valid result, never a traceback or a hang

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["RU", "BY", "2017-09-14", "2017-02-30", "all", "exercise", ".inf"]),
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "start",
                    "end",
                    "forces",
                    "troops",
                    "host_state",
                    "conducting_states",
                    "area",
                    "type",
                    "coordinates",
                    "events",
                    "at",
                    "from",
                    "to",
                    "body",
                    "case",
                    "activities",
                    "regime",
                    "notified",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


def _yamlish(value: object) -> str:
    import json

    return json.dumps(value, allow_nan=True, default=str)


@given(value=documents)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzz_assess_and_replay(
    value: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, _yamlish(value), "fuzz.yaml")
    for command in ("assess", "replay"):
        code = run([command, path, "--json", "--at", "2026-01-01T00:00Z"])
        captured = capsys.readouterr()
        assert code in (0, 2), (command, code, captured.err[-400:])
        if code == 2:
            assert captured.out == ""
            assert captured.err.startswith("csbm: ")


# -- messages: the one message form, fuzzed at the reader and through `ledger append`

message_documents = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["ch3.request", "ch3.reply", "incident.report", "x", ""]) | scalars,
        "to": st.sampled_from(["all", "BY", ["LT", "LV"], ["XX"], []]) | scalars,
        "case": st.text(max_size=10) | scalars,
        "body": documents,
        "kind": scalars,
    },
)


@given(value=message_documents)
@settings(max_examples=300, deadline=None)
def test_fuzz_message_form(value: dict[str, object]) -> None:
    """A message is validated or refused with its reasons; nothing else can happen."""
    from csbm.errors import CsbmError
    from csbm.message import message_from_file_data, to_payload

    try:
        message = message_from_file_data(value)
    except CsbmError as exc:
        assert exc.lines() and all(line for line in exc.lines())
    else:
        payload = to_payload(message)
        assert payload["kind"] == message.type


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("node") / "ua"
    assert run(["init", "--state", "UA", "--data", str(data)]) == 0
    return data


def _log_size(data: Path, capsys: pytest.CaptureFixture[str]) -> int:
    import json

    capsys.readouterr()
    assert run(["ledger", "checkpoint", "--data", str(data), "--json"]) == 0
    return int(json.loads(capsys.readouterr().out)["size"])


@given(value=message_documents)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzz_ledger_append(
    value: dict[str, object], node_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ledger append` of any message file: appended (exit 0) or refused with nothing
    stored (exit 2, one line per problem, stdout empty)."""
    before = _log_size(node_dir, capsys)
    path = _file(tmp_path, _yamlish(value), "message.yaml")
    code = run(["ledger", "append", path, "--data", str(node_dir)])
    captured = capsys.readouterr()
    assert code in (0, 2), captured.err[-400:]
    after = _log_size(node_dir, capsys)
    if code == 2:
        assert captured.out == "" and captured.err.startswith("csbm: ")
        assert after == before
    else:
        assert after == before + 1


def test_ledger_append_refuses_an_alias_bomb_and_nan(
    node_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _log_size(node_dir, capsys)
    refused(["ledger", "append", _file(tmp_path, ALIAS_BOMB), "--data", str(node_dir)], capsys)
    nan = '{"type": "ch3.request", "to": "BY", "case": "c", "body": {"x": NaN}}'
    refused(["ledger", "append", _file(tmp_path, nan, "m.json"), "--data", str(node_dir)], capsys)
    dup = "type: ch3.request\ntype: ch3.reply\nto: BY\ncase: c\nbody: {}\n"
    refused(["ledger", "append", _file(tmp_path, dup), "--data", str(node_dir)], capsys)
    assert _log_size(node_dir, capsys) == before
