"""``csbm replay --json`` streamed (``services.replay.json_chunks``): the same bytes as the
document's serializer (``ReplayDocument.model_dump_json(indent=2)``) for every example, at
several clocks, for a synthetic year, a node's log, and bodies that are not JSON data yet
(issue 8, item 9: the output built case by case, never whole in memory)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from bench.bench_replay import synthetic_year
from pydantic_core import to_json

from csbm.domain.time import iso, plain
from csbm.i18n import phrase
from csbm.message import to_payload, validate_message
from csbm.node import init_node
from csbm.procedures.base import CaseView, HistoryEntry
from csbm.procedures.runner import ReplayResult, replay
from csbm.procedures.scenario import scenario_from_data
from csbm.services import replay as replay_service
from csbm.services import replay_node, replay_scenario
from csbm.services.documents import RefusedEntry, instant_data, json_data
from csbm.services.replay import (
    ReplayDocument,
    Replayed,
    json_bodies,
    json_chunks,
)

EXAMPLES = [  # the scenarios among the examples (the others are messages, activities...)
    p
    for p in sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
    if re.search(r"^events:", p.read_text(encoding="utf-8"), re.MULTILINE)
]


def _document_text(replayed: Replayed) -> bytes:
    text = replayed.document().model_dump_json(indent=2, by_alias=True) + "\n"
    return text.encode("utf-8")


def _streamed(replayed: Replayed) -> bytes:
    return b"".join(replayed.json_chunks())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_streams_the_documents_bytes(path: Path) -> None:
    replayed = replay_scenario(path)
    assert _streamed(replayed) == _document_text(replayed)
    events = replayed.scenario.events if replayed.scenario else ()
    instants = sorted({e.at for e in events})
    for at in instants[:: max(1, len(instants) // 3)]:  # mid-timeline: deadlines still open
        earlier = replay_scenario(path, at)
        assert _streamed(earlier) == _document_text(earlier)


def test_a_synthetic_year_over_several_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = scenario_from_data({"regime": ["vd2011"], "events": synthetic_year(3000)})
    replayed = Replayed(replay(scenario.events, scenario.context, None), scenario)
    monkeypatch.setattr(replay_service, "CHUNK", 128)
    assert len(replayed.result.cases) > 3 * 128  # several batches, joined by commas
    assert len(json_bodies(scenario.events)) == len(scenario.events)  # all validated
    text = _streamed(replayed)
    assert text == _document_text(replayed)
    assert json.loads(text)["cases"]


def test_no_case_and_refused_entries() -> None:
    scenario = scenario_from_data({"regime": ["vd2011"], "events": synthetic_year(50)})
    before = min(e.at for e in scenario.events) - timedelta(days=1)
    refused = (RefusedEntry(index=3, message_id="m-1", sender="BY", kind="x", reason="bad ü"),)
    replayed = Replayed(replay(scenario.events, scenario.context, before), None, refused)
    assert not replayed.result.cases
    text = _streamed(replayed)
    assert text == _document_text(replayed)
    assert b'"cases": [],' in text and "bad ü".encode() in text


def test_bodies_not_known_as_json_are_converted() -> None:
    """A body the message check did not dump (an event made by hand) is converted as
    before (instants by iso, tuples as lists, keys as text), and so are a case's details;
    a body known as JSON data is handed over as it is."""
    odd: dict[Any, Any] = {
        "when": datetime(2022, 2, 1, 10, 0, 0, 999_999, tzinfo=UTC),
        "local": datetime(2022, 2, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "pair": ("a", datetime(2022, 2, 1, tzinfo=UTC)),
        7: {"nested": [1.5, None, True]},
    }
    at = datetime(2022, 2, 1, 10, 30, 0, 123, tzinfo=UTC)
    entry = HistoryEntry(at=at, seq=1, type="ch3.request", sender="LT", recipients=("BY",),
                         accepted=False, reason=phrase("no {x}", x="y"), body=odd)  # fmt: skip
    view = CaseView(case="c1", procedure="chapter_iii", state="open", parties={"a": ("LT",)},
                    history=(entry,), details=odd)  # fmt: skip
    result = ReplayResult(at=at, cases=(view,), quotas=(), findings=())
    expected = ReplayDocument.of(result).model_dump_json(indent=2, by_alias=True).encode()
    expected += b"\n"
    streamed = b"".join(json_chunks(result))
    assert streamed == expected
    assert b'"when": "2022-02-01T10:00:00Z"' in streamed
    assert b'"local": "2022-02-01T10:00:00Z"' in streamed
    known = b"".join(json_chunks(result, (), frozenset({id(odd)})))  # trusted as it is
    assert known != expected and b'"when": "2022-02-01T10:00:00.999999Z"' in known


def test_replay_of_a_node_log_streams_the_same_bytes(tmp_path: Path) -> None:
    """A node's log: the bodies converted (no scenario events), a refused entry shown."""
    sent = datetime(2022, 2, 11, 10, 0, tzinfo=UTC)
    with init_node("UA", sent - timedelta(days=1), data=tmp_path / "ua") as node:
        message = validate_message(
            {"type": "ch3.request", "to": ["RU"], "case": "c1", "body": {"activity": "x"}}
        )
        node.append_message(to_payload(message), ["RU"], sent)
        bad = node.sign({"kind": "ch3.meeting_request", "case": "c1", "body": {}}, ["all"], sent)
        node.append([bad])  # behind the application's back: refused by its schema
        replayed = replay_node(node, sent + timedelta(hours=1))
    assert replayed.refused and replayed.result.cases
    assert _streamed(replayed) == _document_text(replayed)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2022, 2, 9, 10, 0, tzinfo=UTC),
        datetime(2022, 2, 9, 10, 0, 0, 1, tzinfo=UTC),
        datetime(2022, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2022, 2, 9, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2022, 2, 9, 10, 0, tzinfo=timezone(timedelta(0))),
    ],
)
def test_instant_data_is_written_as_iso(at: datetime) -> None:
    assert to_json(instant_data(at)) == to_json(iso(at))
    assert instant_data(None) is None


def test_json_data_is_encoded_as_plain() -> None:
    value = {
        "a": [1, 2.5, "x", None, True, (datetime(2022, 1, 1, 1, 1, 1, 5, tzinfo=UTC),)],
        3: {"b": frozenset({"z"}), "c": (1, (2, 3))},
        "d": datetime(2022, 1, 1, tzinfo=UTC),
    }
    assert to_json(json_data(value), indent=2) == to_json(plain(value), indent=2)


def test_values_orjson_does_not_take_fall_back_to_pydantic() -> None:
    """orjson writes the text (``services.replay._dumps``); a value it does not take (an
    integer past 64 bits in a body, a key that is a str subclass) is written by pydantic's
    encoder instead: the same bytes as the document's serializer either way. A non-finite
    number is written as the document's serializer writes it (null)."""
    big = {"troops": 10**20, "neg": -(2**70), "inf": float("inf"), "nan": float("nan")}
    at = datetime(2022, 2, 1, 10, 30, tzinfo=UTC)
    entry = HistoryEntry(at=at, seq=1, type="ch3.request", sender="LT", recipients=("BY",),
                         accepted=True, body=big)  # fmt: skip
    view = CaseView(case="c1", procedure="chapter_iii", state="open", parties={"a": ("LT",)},
                    history=(entry,), details={"n": 2**65})  # fmt: skip
    small = CaseView(case="c2", procedure="chapter_iii", state="open", parties={},
                     details={"inf": float("-inf")})  # fmt: skip
    for cases in ((view,), (small,), (small, view)):
        result = ReplayResult(at=at, cases=cases, quotas=(), findings=())
        expected = ReplayDocument.of(result).model_dump_json(indent=2, by_alias=True).encode()
        streamed = b"".join(json_chunks(result))
        if view in cases:
            assert b"100000000000000000000" in streamed
        assert streamed == expected + b"\n"


def test_members_come_out_one_level_in() -> None:
    """quotas, findings and refused: dumped inside their member, the wrapper cut off."""
    assert replay_service._member("quotas", []) == b"[]"
    text = replay_service._member("findings", [{"a": [1, {"b": "x\ny"}]}])
    assert text == to_json([{"a": [1, {"b": "x\ny"}]}], indent=2).replace(b"\n", b"\n  ")
