"""Drafts (SQLite and PostgreSQL): a drafter drafts; only a signing officer signs and
sends, once; every refusal with its reason, nothing signed."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest

from csbm.accounts.policy import Forbidden, Role
from csbm.accounts.records import Account
from csbm.errors import NotFoundError
from csbm.ledger.envelope import parse_envelope
from csbm.message import Message, MessageError, to_payload, validate_message
from csbm.node import Node
from csbm.services import drafts, users
from tests.store.nodes import T0, at

REQUEST: dict[str, Any] = {
    "type": "ch3.request",
    "to": "BY",
    "case": "union-resolve-2022",
    "body": {"on_behalf_of": ["LV", "EE"], "activity": "Union Resolve 2022"},
}


def test_the_lifecycle_drafter_drafts_officer_signs_once(
    node: Node, accounts: dict[Role, Account]
) -> None:
    size = node.size()
    draft = drafts.create_draft(node, accounts[Role.DRAFTER], REQUEST, at(1))
    assert (draft.status, draft.created_by, draft.type) == ("pending", "drafter", "ch3.request")
    expected = validate_message(REQUEST)  # the body as its schema reads it (defaults filled)
    assert draft.message == expected.as_data()
    assert node.size() == size  # a draft is not signed, not logged
    pending = drafts.list_drafts(node, accounts[Role.SIGNING_OFFICER], at(2), pending_only=True)
    assert [d.id for d in pending.drafts] == [draft.id]

    sent = drafts.approve_and_send(draft.id, accounts[Role.SIGNING_OFFICER], node, at(3))
    assert node.size() == size + 1  # exactly one log entry
    assert (sent.status, sent.approved_by, sent.log_index) == ("sent", "signing_officer", size)
    envelope = parse_envelope(node.entry(size).envelope)
    assert envelope.message_id == draft.message_id
    assert envelope.sender == "LT" and list(envelope.recipients) == ["BY"]
    assert dict(envelope.message) == to_payload(expected)
    assert envelope.message["body"]["on_behalf_of"] == ["LV", "EE"]
    assert drafts.list_drafts(node, accounts[Role.DRAFTER], at(4), pending_only=True).drafts == []

    with pytest.raises(drafts.DraftNotPending) as info:  # approving twice is refused
        drafts.approve_and_send(draft.id, accounts[Role.SIGNING_OFFICER], node, at(5))
    assert info.value.code == "draft.not_pending"
    assert info.value.http_status == 409
    assert info.value.message == (
        f"already sent by signing_officer at 2026-03-01T09:03:00Z (log index {size})"
    )
    assert node.size() == size + 1
    actions = [e.action for e in users.history(node).events if e.action.startswith("draft")]
    assert actions == ["draft.create", "draft.approve", "draft.refused"]


@pytest.mark.parametrize("role", [Role.DRAFTER, Role.READER, Role.AUDITOR, Role.ADMIN])
def test_only_a_signing_officer_approves(
    role: Role, node: Node, accounts: dict[Role, Account]
) -> None:
    draft = drafts.create_draft(node, accounts[Role.DRAFTER], REQUEST, at(1))
    size = node.size()
    with pytest.raises(Forbidden) as info:
        drafts.approve_and_send(draft.id, accounts[role], node, at(2))
    assert info.value.code == "auth.forbidden"
    assert info.value.message == f"{role.value} ({role.value}) may not approve"
    assert node.size() == size
    assert drafts.list_drafts(node, accounts[Role.DRAFTER], at(3)).drafts[0].status == "pending"
    assert users.history(node).events[-1].action == "auth.refused"


@pytest.mark.parametrize("role", [Role.SIGNING_OFFICER, Role.READER, Role.AUDITOR, Role.ADMIN])
def test_only_a_drafter_drafts(role: Role, node: Node, accounts: dict[Role, Account]) -> None:
    with pytest.raises(Forbidden) as info:
        drafts.create_draft(node, accounts[role], REQUEST, at(1))
    assert info.value.message == f"{role.value} ({role.value}) may not draft"
    assert node.accounts.drafts() == []


@pytest.mark.parametrize("role", [Role.READER, Role.AUDITOR, Role.ADMIN])
def test_drafts_are_shown_to_drafters_and_signing_officers_only(
    role: Role, node: Node, accounts: dict[Role, Account]
) -> None:
    drafts.create_draft(node, accounts[Role.DRAFTER], REQUEST, at(1))
    with pytest.raises(Forbidden):
        drafts.list_drafts(node, accounts[role], at(2))


def test_the_drafter_never_approves_its_own_draft(node: Node) -> None:
    """A name removed and added again as a signing officer still cannot approve what it
    drafted (four eyes)."""
    token = users.add_user(node, "ana", Role.DRAFTER, T0, "test", token=True).token
    assert token is not None
    ana = users.authenticate_token(node, token, T0)
    draft = drafts.create_draft(node, ana, REQUEST, at(1))
    users.remove_user(node, "ana", at(2), "test")
    token = users.add_user(node, "ana", Role.SIGNING_OFFICER, at(3), "test", token=True).token
    assert token is not None
    ana = users.authenticate_token(node, token, at(3))
    size = node.size()
    with pytest.raises(Forbidden) as info:
        drafts.approve_and_send(draft.id, ana, node, at(4))
    assert "another signing officer approves it" in info.value.message
    assert node.size() == size


def test_a_bad_message_is_refused_with_every_problem_and_nothing_kept(
    node: Node, accounts: dict[Role, Account]
) -> None:
    bad = {"type": "ch3.request", "to": "XX", "body": {"on_behalf_of": ["ZZ"]}, "sent": 1}
    with pytest.raises(MessageError) as info:
        drafts.create_draft(node, accounts[Role.DRAFTER], bad, at(1))
    lines = info.value.lines()
    assert any(line.startswith("sent: unknown key") for line in lines)
    assert any(line.startswith("to: not a participating State") for line in lines)
    assert any(line.startswith("body.on_behalf_of[0]") for line in lines)
    assert node.accounts.drafts() == []


def test_an_unknown_draft(node: Node, accounts: dict[Role, Account]) -> None:
    with pytest.raises(NotFoundError) as info:
        drafts.approve_and_send(99, accounts[Role.SIGNING_OFFICER], node, at(1))
    assert info.value.code == "draft.unknown"


def test_a_failed_send_leaves_the_draft_pending_and_a_retry_logs_it_once(
    node: Node, accounts: dict[Role, Account]
) -> None:
    draft = drafts.create_draft(node, accounts[Role.DRAFTER], REQUEST, at(1))
    officer = accounts[Role.SIGNING_OFFICER]
    size = node.size()

    def broken(node: Node, message: Message, when: datetime, message_id: str) -> int:
        drafts.append_to_log(node, message, when, message_id)  # logged, then the link fails
        raise ConnectionError("peer unreachable")

    with pytest.raises(ConnectionError):
        drafts.approve_and_send(draft.id, officer, node, at(2), send=broken)
    assert node.accounts.draft(draft.id).status.value == "pending"
    sent = drafts.approve_and_send(draft.id, officer, node, at(3))
    assert node.size() == size + 1  # the same message id: recognised, not logged twice
    assert sent.log_index == size


def test_the_network_layer_passes_its_own_send(node: Node, accounts: dict[Role, Account]) -> None:
    draft = drafts.create_draft(node, accounts[Role.DRAFTER], REQUEST, at(1))
    calls: list[tuple[str, str]] = []

    def queue(node: Node, message: Message, when: datetime, message_id: str) -> int:
        calls.append((message.type, message_id))
        return drafts.append_to_log(node, message, when, message_id)

    drafts.approve_and_send(draft.id, accounts[Role.SIGNING_OFFICER], node, at(2), send=queue)
    assert calls == [("ch3.request", draft.message_id)]


def test_two_officers_approving_at_once_send_it_once(node: Node) -> None:
    officers = []
    for name in ("so1", "so2"):
        token = users.add_user(node, name, Role.SIGNING_OFFICER, T0, "test", token=True).token
        assert token is not None
        officers.append(users.authenticate_token(node, token, T0))
    token = users.add_user(node, "dr", Role.DRAFTER, T0, "test", token=True).token
    assert token is not None
    drafter = users.authenticate_token(node, token, T0)
    draft = drafts.create_draft(node, drafter, REQUEST, at(1))
    size = node.size()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(officer: Account) -> None:
        barrier.wait()
        try:
            drafts.approve_and_send(draft.id, officer, node, at(2))
            outcomes.append("sent")
        except drafts.DraftNotPending:
            outcomes.append("refused")

    threads = [threading.Thread(target=approve, args=(o,)) for o in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused", "sent"]
    assert node.size() == size + 1
