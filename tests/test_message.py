"""One message model and one validation (csbm.message): the form, the signed payload both
ways, and the receive check before a receipt is signed (issue 9, item 1). Negative cases
first: every refusal names its path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csbm.errors import InputError
from csbm.message import (
    Message,
    MessageError,
    check_payload,
    from_event,
    message_from_file_data,
    message_from_payload,
    schemas,
    to_event,
    to_payload,
    validate_message,
)
from csbm.node import Node
from csbm.procedures.registry import message_kinds
from tests.store.nodes import T0, at, make_node


def _lines(data: Any, path: str = "") -> list[str]:
    with pytest.raises(MessageError) as info:
        validate_message(data, path)
    assert info.value.code == "message.invalid"
    return info.value.lines()


REQUEST: dict[str, Any] = {
    "type": "ch3.request",
    "to": "BY",
    "case": "union-resolve-2022",
    "body": {"on_behalf_of": ["LV", "EE"], "activity": "Union Resolve 2022"},
}


# -- refused, each with its path


def test_on_behalf_of_an_unknown_state_and_an_unknown_field_are_refused() -> None:
    lines = _lines({**REQUEST, "body": {"on_behalf_of": ["XX"], "colour": "red"}})
    assert "body.on_behalf_of[0]: not a participating State's ISO 3166-1 alpha-2 code " \
           "(got 'XX')" in lines
    assert "body.colour: unknown field (got 'red')" in lines


def test_meeting_request_without_scope_is_refused() -> None:
    lines = _lines({"type": "ch3.meeting_request", "to": "all", "case": "x", "body": {}})
    assert lines == ["body.scope: required"]


def test_unknown_key_and_unknown_or_reserved_kind() -> None:
    assert _lines({**REQUEST, "kind": "ch3.request"})[0].startswith("kind: unknown key")
    assert _lines({**REQUEST, "type": "ch3.requets"})[0].startswith(
        "type: unknown message kind")
    assert _lines({**REQUEST, "type": "csbm.receipt"})[0].startswith(
        "type: unknown message kind")
    assert _lines({**REQUEST, "type": None}, "events[2]")[0].startswith(
        "events[2].type: unknown message kind")


def test_recipients_are_checked() -> None:
    assert _lines({**REQUEST, "to": ["all", "BY"]}) == ['to[0]: "all" stands alone']
    assert _lines({**REQUEST, "to": ["BY", "by"]}) == ["to[1]: a State is named twice (got 'by')"]
    assert _lines({**REQUEST, "to": []})[0].startswith("to: a State code, a list of codes")
    assert _lines({**REQUEST, "to": "QQ"}) == [
        "to: not a participating State's ISO 3166-1 code (got 'QQ')"]


def test_case_label_is_text() -> None:
    assert _lines({**REQUEST, "case": ""})[0].startswith("case: a label of 1 to 200")
    assert _lines({**REQUEST, "case": ["a"]}) == ["case: a label (text)"]
    assert _lines({**REQUEST, "case": True}) == ["case: a label (text) (got True)"]
    assert _lines({**REQUEST, "case": "x" * 201})[0].startswith("case: a label of 1 to 200")


def test_not_a_mapping_and_body_not_a_mapping() -> None:
    assert _lines(["ch3.request"]) == ["(message): a message is a mapping {type, to, case, body}"]
    assert _lines({**REQUEST, "body": [1]}) == ["body: a body is a mapping"]


def test_every_problem_at_once() -> None:
    lines = _lines({"type": "ch3.request", "to": "QQ", "case": "", "body": {"x": 1}, "y": 2})
    assert len(lines) == 4


# -- accepted, normalised


def test_defaults_and_normalisation() -> None:
    message = validate_message({"type": "ch3.request", "to": ["by"], "case": 7,
                                "body": {"on_behalf_of": ["lv"]}})
    assert message.to == ("BY",) and message.case == "7"
    assert message.body["on_behalf_of"] == ["LV"]
    assert validate_message({"type": "aemi", "body": {"year": 2021, "nil": True}}).to == ("all",)
    assert validate_message({"type": "aemi", "body": {"year": 2021, "nil": True}}).case is None


def test_body_instants_are_read_once_and_normalised_to_utc() -> None:
    message = validate_message({"type": "ch3.meeting", "to": "all", "case": "x",
                                "body": {"scope": "bilateral",
                                         "held_at": "2022-02-15T16:00 Europe/Vienna"}})
    assert message.body["held_at"] == "2022-02-15T15:00:00Z"


def test_a_body_instant_past_the_horizon_is_refused() -> None:
    lines = _lines({"type": "ch3.meeting", "to": "all", "case": "x",
                    "body": {"scope": "bilateral", "held_at": "9999-06-01T00:00Z"}})
    assert lines[0].startswith("body.held_at: instant too late: deadlines from it could pass "
                               "year 9999")


def test_file_data_may_carry_a_message_id_only() -> None:
    message = message_from_file_data({**REQUEST, "message_id": "x"})
    assert message.type == "ch3.request"
    with pytest.raises(MessageError) as info:
        message_from_file_data({**REQUEST, "recipients": ["BY"]})
    assert info.value.lines()[0].startswith("recipients: unknown key")


# -- the signed payload, both ways


def test_payload_round_trip_keeps_the_case_beside_the_kind() -> None:
    message = validate_message(REQUEST)
    payload = to_payload(message)
    assert payload["kind"] == "ch3.request" and payload["case"] == "union-resolve-2022"
    assert "case" not in payload["body"]
    assert message_from_payload(payload, list(message.to)) == message
    no_case = validate_message({"type": "aemi", "body": {"year": 2021, "nil": True}})
    assert "case" not in to_payload(no_case)


def test_event_round_trip() -> None:
    message = validate_message(REQUEST)
    event = to_event(message, T0, "LT", 4)
    assert (event.type, event.sender, event.recipients, event.case, event.seq) == (
        "ch3.request", "LT", ("BY",), "union-resolve-2022", 4)
    assert from_event(event) == message


@pytest.mark.parametrize(
    ("payload", "recipients", "expected"),
    [
        ({"kind": "ch3.meeting_request", "case": "x", "body": {}}, ["all"],
         ["message.body.scope: required"]),
        # the old form: the case label inside the body
        ({"kind": "ch3.request", "body": {"case": "x"}}, ["BY"],
         ["message.body.case: unknown field (got 'x')"]),
        ({"kind": "ch3.request", "case": "x", "body": {}, "to": "BY"}, ["BY"],
         ["message: unknown members ['to']; one of [body, case, kind]"]),
        ({"kind": "ch3.requets", "case": "x", "body": {}}, ["BY"], None),
        ({"kind": "ch3.request", "case": "x", "body": {}}, ["BY", "XX"],
         ["recipients[1]: not a participating State's ISO 3166-1 code (got 'XX')"]),
        ("ch3.request", ["BY"], ["message: a signed message is a JSON object"]),
    ],
)
def test_payload_refused(payload: Any, recipients: list[str], expected: list[str] | None) -> None:
    with pytest.raises(MessageError) as info:
        message_from_payload(payload, recipients)
    if expected is None:
        assert info.value.lines()[0].startswith("message.kind: unknown message kind")
    else:
        assert info.value.lines() == expected


def test_receive_check_leaves_ledger_kinds_and_unknown_kinds_to_the_ledger() -> None:
    check_payload({"kind": "csbm.key_rotation", "body": {}}, ["all"])
    check_payload({"kind": "future.kind", "body": {"troops": 1}}, ["all"])
    check_payload(to_payload(validate_message(REQUEST)), ["BY"])
    with pytest.raises(MessageError):
        check_payload({"kind": "ch3.meeting_request", "case": "x", "body": {}}, ["all"])


def test_schemas_hold_the_message_form_and_every_body() -> None:
    published = schemas()
    assert set(published) == {"message", *message_kinds()}
    form = published["message"]
    assert form["additionalProperties"] is False
    assert set(form["properties"]) == {"type", "to", "case", "body"}
    assert form["properties"]["type"]["enum"] == message_kinds()


def test_message_model_forbids_extra_fields() -> None:
    with pytest.raises(ValueError):
        Message(type="ch3.request", body={}, colour=1)  # type: ignore[call-arg]


# -- receiving: refused before a receipt is signed, nothing stored


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    lt = make_node(tmp_path, f"sqlite:///{tmp_path / 'lt.sqlite3'}", "LT")
    by = make_node(tmp_path, f"sqlite:///{tmp_path / 'by.sqlite3'}", "BY")
    lt.add_peer_key("BY", by.key.verifier_key, T0)
    by.add_peer_key("LT", lt.key.verifier_key, T0)
    yield lt, by
    lt.close()
    by.close()


def _deliver(lt: Node, by: Node, payload: dict[str, Any], seen: int = 0) -> Any:
    # signed behind the application's back: Node.append does not validate bodies
    envelope = lt.sign(payload, ["BY"], at(1))
    (result,) = lt.append([envelope])
    return lt.delivery(envelope.raw, result.index, seen, at(2))


def test_a_peer_refuses_a_bad_body_and_stores_nothing(pair: tuple[Node, Node]) -> None:
    lt, by = pair
    delivery = _deliver(lt, by, {"kind": "ch3.meeting_request", "case": "x", "body": {}})
    size = by.store.size()
    with pytest.raises(InputError) as info:
        by.receive(delivery, at(3))
    assert info.value.lines() == ["message.body.scope: required"]
    assert by.store.size() == size
    assert by.store.entry_by_message_id(delivery_id(delivery)) is None


def test_a_peer_refuses_on_behalf_of_xx(pair: tuple[Node, Node]) -> None:
    lt, by = pair
    payload = {"kind": "ch3.request", "case": "x", "body": {"on_behalf_of": ["XX"], "c": 1}}
    with pytest.raises(MessageError) as info:
        by.receive(_deliver(lt, by, payload), at(3))
    assert len(info.value.lines()) == 2


def test_a_peer_accepts_a_good_message_and_its_caller_may_pass_another_check(
    pair: tuple[Node, Node],
) -> None:
    lt, by = pair
    good = to_payload(validate_message(REQUEST))
    receipt = by.receive(_deliver(lt, by, good), at(3))
    assert receipt.kind == "csbm.receipt"
    seen: list[Any] = []
    bad = {"kind": "ch3.meeting_request", "case": "y", "body": {}}
    delivery = _deliver(lt, by, bad, receipt.body["sender_checkpoint"]["size"])
    by.receive(delivery, at(4), check=lambda payload, to: seen.append((payload["kind"], to)))
    assert seen == [("ch3.meeting_request", ("BY",))]


def delivery_id(delivery: Any) -> str:
    import json

    return str(json.loads(delivery.envelope)["message_id"])


def test_replay_schemas_prints_the_message_form_too() -> None:
    import json

    from typer.testing import CliRunner

    from csbm.cli.main import app

    result = CliRunner().invoke(app, ["replay", "--schemas"])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["message"]["properties"]["case"]["maxLength"] == 200
    assert "ch3.request" in printed and "hotline.ack" in printed


def test_state_codes_read_once_as_the_plain_check_reads_them() -> None:
    """message.state_code_of (the codes found good remembered) reads a code as
    ``code.strip().upper()`` exactly when ``is_participating_state(code.strip())``, and
    the recipients and sender read with it are refused and kept as before."""
    from csbm.domain.states import PARTICIPATING_STATES, is_participating_state
    from csbm.message import state_code_of
    from csbm.procedures.scenario import scenario_from_data

    codes = [s.code for s in PARTICIPATING_STATES]
    given = [*codes, *(c.lower() for c in codes), " at ", "By ", "xx", "", " ", "all", "ALL",
             "a", "ATT", "\tLT\n", "ru"]
    for _ in range(2):  # the second time from what was remembered
        for code in given:
            expected = code.strip().upper() if is_participating_state(code.strip()) else None
            assert state_code_of(code) == expected, code
    event = {"at": "2022-03-01T10:00Z", "type": "hotline.message", "case": "h1",
             "body": {"priority": "urgent"}}
    ok = scenario_from_data({"events": [{**event, "from": " lt ", "to": ["by "]}]})
    assert (ok.events[0].sender, ok.events[0].recipients) == ("LT", ("BY",))
    for sender, to, reason in [
        ("lt", ["BY", " by"], "a State is named twice"),
        ("lt", ["BY", "all"], '"all" stands alone'),
        ("lt", ["BY", "XX"], "not a participating State's ISO 3166-1 code"),
        ("XX", "BY", "not a participating State's ISO 3166-1 code"),
    ]:
        with pytest.raises(InputError) as caught:
            scenario_from_data({"events": [{**event, "from": sender, "to": to}]})
        assert any(p.reason == reason for p in caught.value.problems), caught.value.problems
