"""The API's dependencies on a tiny FastAPI app (TestClient over httpx): 401 without
credentials as problem+json with a challenge, 403 for a role that may not, the
``/accounts`` and ``/drafts`` endpoints; both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from csbm.accounts.policy import Action, Role
from csbm.accounts.records import Account
from csbm.api.auth import (
    PROBLEM_JSON,
    current_account,
    install_problem_handlers,
    require_action,
    require_role,
    router,
)
from csbm.node import Node
from csbm.services import users
from tests.accounts.conftest import PASSWORD
from tests.store.nodes import T0, at

REQUEST: dict[str, Any] = {
    "type": "ch3.request",
    "to": "BY",
    "case": "union-resolve-2022",
    "body": {"on_behalf_of": ["LV", "EE"], "activity": "Union Resolve 2022"},
}


def _app(node: Node) -> FastAPI:
    app = FastAPI()
    app.state.node = node
    app.state.clock = lambda: at(10)
    install_problem_handlers(app)
    app.include_router(router)

    @app.get("/whoami")
    def whoami(account: Annotated[Account, Depends(current_account)]) -> dict[str, str]:
        return {"name": account.name}

    @app.get("/peers")
    def peers(
        _a: Annotated[Account, Depends(require_action(Action.MANAGE_PEERS))],
    ) -> list[str]:
        return []

    @app.get("/log")
    def read_log(
        _a: Annotated[Account, Depends(require_role(Role.READER, "auditor"))],
    ) -> dict[str, int]:
        return {"size": node.size()}

    return app


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(_app(node)) as opened:
        yield opened


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == "about:blank" and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer csbm_not-a-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic !!!"},
    ],
)
def test_without_good_credentials_401_problem_json(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = _problem(client.get("/whoami", headers=headers), 401, "auth.unauthenticated")
    response = client.get("/whoami", headers=headers)
    assert response.headers["www-authenticate"].startswith('Bearer realm="csbm"')
    assert "Basic" in response.headers["www-authenticate"]
    assert body["problems"][0]["path"] == "authorization"


def test_basic_with_the_argon2_password(client: TestClient, node: Node) -> None:
    users.add_user(node, "ana", Role.READER, T0, "test", password=PASSWORD)
    ok = client.get("/whoami", auth=("ana", PASSWORD))
    assert ok.status_code == 200 and ok.json() == {"name": "ana"}
    _problem(client.get("/whoami", auth=("ana", "wrong password here")), 401,
             "auth.unauthenticated")  # fmt: skip
    _problem(client.get("/whoami", auth=("bob", PASSWORD)), 401, "auth.unauthenticated")
    users.remove_user(node, "ana", at(1), "test")
    _problem(client.get("/whoami", auth=("ana", PASSWORD)), 401, "auth.unauthenticated")


def test_a_token_and_a_removed_token(client: TestClient, tokens: dict[Role, str],
                                     node: Node) -> None:  # fmt: skip
    reader = _bearer(tokens[Role.READER])
    assert client.get("/whoami", headers=reader).json() == {"name": "reader"}
    assert client.get("/accounts/me", headers=reader).json()["role"] == "reader"
    users.remove_user(node, "reader", at(1), "test")
    _problem(client.get("/whoami", headers=reader), 401, "auth.unauthenticated")


@pytest.mark.parametrize("role", list(Role))
def test_require_action_and_require_role(
    client: TestClient, tokens: dict[Role, str], node: Node, role: Role
) -> None:
    headers = _bearer(tokens[role])
    peers = client.get("/peers", headers=headers)
    if role is Role.ADMIN:
        assert peers.status_code == 200
    else:
        body = _problem(peers, 403, "auth.forbidden")
        assert (
            body["detail"] == f"role: {role.value} ({role.value}) may not manage_peers "
            f"(got '{role.value}')"
        )
    log = client.get("/log", headers=headers)
    if role in (Role.READER, Role.AUDITOR):
        assert log.status_code == 200
    else:
        _problem(log, 403, "auth.forbidden")
    refused = [e for e in users.history(node).events if e.action == "auth.refused"]
    assert len(refused) == (role is not Role.ADMIN) + (role not in (Role.READER, Role.AUDITOR))


@pytest.mark.parametrize("role", list(Role))
def test_managing_accounts_is_the_admins(
    client: TestClient, tokens: dict[Role, str], role: Role
) -> None:
    headers = _bearer(tokens[role])
    listed = client.get("/accounts", headers=headers)
    added = client.post("/accounts", headers=headers,
                        json={"name": "new", "role": "reader", "token": True})  # fmt: skip
    removed = client.delete("/accounts/drafter", headers=headers)
    if role is Role.ADMIN:
        assert listed.status_code == 200 and len(listed.json()["users"]) == 5
        assert added.status_code == 201
        token = added.json()["token"]
        assert client.get("/whoami", headers=_bearer(token)).json() == {"name": "new"}
        assert removed.status_code == 200 and removed.json()["name"] == "drafter"
        assert token not in client.get("/accounts", headers=headers).text
    else:
        for response in (listed, added, removed):
            _problem(response, 403, "auth.forbidden")


def test_adding_accounts_through_the_api_refuses_bad_input(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    admin = _bearer(tokens[Role.ADMIN])
    cases = [
        ({"name": "x", "role": "king", "token": True}, 400, "user.bad_role"),
        ({"name": "x y", "role": "reader", "token": True}, 400, "user.bad_name"),
        ({"name": "x", "role": "reader", "password": "short"}, 400, "user.bad_password"),
        ({"name": "x", "role": "reader"}, 400, "user.credential"),
        ({"name": "x", "role": "reader", "token": True, "password": PASSWORD}, 400,
         "user.credential"),
        ({"name": "admin", "role": "reader", "token": True}, 409, "user.exists"),
        ({"name": "x", "role": "reader", "token": True, "extra": 1}, 422, "request.invalid"),
    ]  # fmt: skip
    for body, status, code in cases:
        _problem(client.post("/accounts", headers=admin, json=body), status, code)
    _problem(client.delete("/accounts/nobody", headers=admin), 404, "user.unknown")
    names = [u["name"] for u in client.get("/accounts", headers=admin).json()["users"]]
    assert "x" not in names


def test_the_draft_lifecycle_over_the_api(
    client: TestClient, tokens: dict[Role, str], node: Node
) -> None:
    drafter, officer = _bearer(tokens[Role.DRAFTER]), _bearer(tokens[Role.SIGNING_OFFICER])
    _problem(client.post("/drafts", headers=_bearer(tokens[Role.READER]), json=REQUEST), 403,
             "auth.forbidden")  # fmt: skip
    bad = client.post("/drafts", headers=drafter, json={**REQUEST, "to": "XX"})
    assert _problem(bad, 400, "message.invalid")["problems"][0]["path"] == "to"
    created = client.post("/drafts", headers=drafter, json=REQUEST)
    assert created.status_code == 201
    draft_id = created.json()["id"]
    size = node.size()
    _problem(client.post(f"/drafts/{draft_id}/approve", headers=drafter), 403, "auth.forbidden")
    assert node.size() == size
    listed = client.get("/drafts", headers=officer, params={"pending": "true"}).json()
    assert [d["id"] for d in listed["drafts"]] == [draft_id]
    sent = client.post(f"/drafts/{draft_id}/approve", headers=officer)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert sent.json()["approved_at"] == "2026-03-01T09:10:00Z"
    assert node.size() == size + 1
    again = client.post(f"/drafts/{draft_id}/approve", headers=officer)
    _problem(again, 409, "draft.not_pending")
    _problem(client.post("/drafts/999/approve", headers=officer), 404, "draft.unknown")
    assert node.size() == size + 1


def test_the_app_passes_its_send(node: Node, tokens: dict[Role, str]) -> None:
    from csbm.services.drafts import append_to_log

    seen: list[str] = []

    def send(n: Node, message: Any, when: Any, message_id: str) -> int:
        seen.append(message_id)
        return append_to_log(n, message, when, message_id)

    app = _app(node)
    app.state.send = send
    with TestClient(app) as client:
        draft = client.post("/drafts", headers=_bearer(tokens[Role.DRAFTER]), json=REQUEST)
        client.post(f"/drafts/{draft.json()['id']}/approve",
                    headers=_bearer(tokens[Role.SIGNING_OFFICER]))  # fmt: skip
    assert seen == [draft.json()["message_id"]]


def test_the_auditor_reads_the_history_and_others_do_not(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    _problem(client.get("/accounts/events", headers=_bearer(tokens[Role.ADMIN])), 403,
             "auth.forbidden")  # fmt: skip
    events = client.get("/accounts/events", headers=_bearer(tokens[Role.AUDITOR])).json()
    actions = [e["action"] for e in events["events"]]
    assert actions[:5] == ["user.add"] * 5
    assert actions[-1] == "auth.refused"  # the admin's refusal just above


def test_the_openapi_document_names_both_schemes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {s["scheme"].lower() for s in schemes.values()} == {"bearer", "basic"}
    assert "/drafts/{draft_id}/approve" in doc["paths"]


def test_basic_reads_utf8_and_refuses_malformed_headers(client: TestClient, node: Node) -> None:
    """RFC 7617 §2.1 with charset="UTF-8": a Cyrillic password signs in; a header that is
    not base64 of ``name:password`` is a 401 problem, not the framework's error."""
    import base64

    password = "пароль-пароль-1"
    users.add_user(node, "olga", Role.READER, T0, "test", password=password)
    raw = base64.b64encode(f"olga:{password}".encode()).decode()
    ok = client.get("/whoami", headers={"Authorization": f"Basic {raw}"})
    assert ok.status_code == 200 and ok.json() == {"name": "olga"}
    for param in (
        "!!!",
        base64.b64encode(b"no-colon").decode(),
        base64.b64encode(b"\xff:x").decode(),
    ):
        body = _problem(client.get("/whoami", headers={"Authorization": f"Basic {param}"}), 401,
                        "auth.unauthenticated")  # fmt: skip
        assert body["detail"] == "authorization: malformed Basic credentials (RFC 7617)"


def test_hostile_names_and_ids_are_refused_never_a_5xx(
    client: TestClient, tokens: dict[Role, str], node: Node
) -> None:
    """A NUL in a name (PostgreSQL refuses it in any query) and an id beyond a 32-bit
    integer are refused as what they are, and recorded without the bad text."""
    import base64

    raw = base64.b64encode(f"a\x00b:{PASSWORD}".encode()).decode()
    _problem(client.get("/whoami", headers={"Authorization": f"Basic {raw}"}), 401,
             "auth.unauthenticated")  # fmt: skip
    assert users.history(node).events[-1].account == "(not a name)"
    admin, officer = _bearer(tokens[Role.ADMIN]), _bearer(tokens[Role.SIGNING_OFFICER])
    _problem(client.delete("/accounts/a%00b", headers=admin), 404, "user.unknown")
    for draft_id in (2**31, 2**63, 0, -1):
        response = client.post(f"/drafts/{draft_id}/approve", headers=officer)
        _problem(response, 404, "draft.unknown")
    auditor = _bearer(tokens[Role.AUDITOR])
    empty = client.get("/accounts/events", headers=auditor, params={"name": "a\x00b"})
    assert empty.status_code == 200 and empty.json() == {"events": []}
