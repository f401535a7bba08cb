"""Who is asking, and may they: the API's authentication and authorisation, and the
``/accounts`` and ``/drafts`` endpoints.

Source: issue 11, item 5; RFC 6750 §2.1 (``Authorization: Bearer <token>``); RFC 7617
(HTTP Basic, here with an Argon2id-checked password); RFC 9110 §11.6.1 and §15.5.2 (401
with a ``WWW-Authenticate`` challenge), §15.5.4 (403); RFC 9457 (problem details).

Dependencies for the app factory (``csbm.api``, the network layer):

- :func:`current_account` — the :class:`csbm.accounts.records.Account` of the request,
  from a Bearer token or Basic name and password; else 401 ``auth.unauthenticated``;
- :func:`require_role` ``(*roles)`` and :func:`require_action` ``(action)`` — a
  dependency that yields the account when its role fits, else 403 ``auth.forbidden``;
- :data:`router` — ``/accounts`` and ``/drafts``;
- :func:`install_problem_handlers` — every :class:`csbm.errors.CsbmError` (and a request
  FastAPI cannot read) as ``application/problem+json``.

The app provides the node as ``app.state.node``; optionally ``app.state.clock`` (a
callable returning the instant; default the wall clock to the second) and
``app.state.send`` (the :data:`csbm.services.drafts.SendFn` that signs, logs and queues
an approved draft; default: sign and append to the log). Each can also be replaced
through ``app.dependency_overrides`` of :func:`node_of`, :func:`clock_of`, :func:`send_of`.
Every refusal is logged (logger ``csbm.access``) and, when it names an account or a
token, recorded in the account history.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from csbm.accounts.policy import Action, Forbidden, Role, Unauthenticated, parse_role, require
from csbm.accounts.records import Account
from csbm.errors import CsbmError, InputError, LogError, NotFoundError, Problem
from csbm.node import Node
from csbm.services import drafts as draft_services
from csbm.services import users as user_services
from csbm.services.clock import wall_clock

__all__ = [
    "PROBLEM_JSON",
    "current_account",
    "install_problem_handlers",
    "problem_response",
    "require_action",
    "require_role",
    "router",
]

log = logging.getLogger("csbm.access")

PROBLEM_JSON = "application/problem+json"
REALM = "csbm"
#: The challenge of a 401 (RFC 9110 §11.6.1): both schemes the node accepts.
CHALLENGE = f'Bearer realm="{REALM}", Basic realm="{REALM}", charset="UTF-8"'


class _Basic(HTTPBasic):
    """HTTP Basic read as RFC 7617 §2.1 says with ``charset="UTF-8"`` (FastAPI's reads
    ASCII only); a malformed header is a csbm refusal (401 problem+json), not the
    framework's own error."""

    async def __call__(  # type: ignore[override]
        self, request: HTTPConnection
    ) -> HTTPBasicCredentials | None:
        scheme, param = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "basic":
            return None
        try:
            data = base64.b64decode(param, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise Unauthenticated("malformed Basic credentials (RFC 7617)") from None
        name, separator, password = data.partition(":")
        if not separator:
            raise Unauthenticated("malformed Basic credentials (RFC 7617)")
        return HTTPBasicCredentials(username=name, password=password)


_bearer = HTTPBearer(auto_error=False, description="An API token (csbm user add --token).")
_basic = _Basic(auto_error=False, realm=REALM, description="Account name and password.")


# -- what the app provides


def node_of(request: Request) -> Node:
    """The node this app serves (``app.state.node``)."""
    node = getattr(request.app.state, "node", None)
    if not isinstance(node, Node):
        raise RuntimeError("the app has no node (app.state.node)")
    return node


def clock_of(request: Request) -> datetime:
    """The instant of this request: ``app.state.clock()``, else the wall clock."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if callable(clock) else wall_clock()


def send_of(request: Request) -> draft_services.SendFn | None:
    """How an approved draft is sent: ``app.state.send``, else None (sign and log)."""
    send = getattr(request.app.state, "send", None)
    return send if callable(send) else None


NodeDep = Annotated[Node, Depends(node_of)]
ClockDep = Annotated[datetime, Depends(clock_of)]


# -- who is asking


def current_account(
    request: Request,
    node: NodeDep,
    at: ClockDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Account:
    """The account of the request: a Bearer token (RFC 6750), else Basic name and
    password (RFC 7617, checked against the Argon2id hash). No credentials, an unknown or
    removed account, a wrong password or token: 401 ``auth.unauthenticated``."""
    try:
        if bearer is not None:
            return user_services.authenticate_token(node, bearer.credentials, at)
        if basic is not None:
            return user_services.authenticate_password(node, basic.username, basic.password, at)
    except Unauthenticated:
        log.warning("refused %s %s: bad credentials", request.method, request.url.path)
        raise
    log.info("refused %s %s: no credentials", request.method, request.url.path)
    raise Unauthenticated("credentials required: a Bearer token or Basic name and password")


AccountDep = Annotated[Account, Depends(current_account)]


def _refuse(node: Node, account: Account, exc: Forbidden, at: datetime, request: Request) -> None:
    log.warning(
        "refused %s %s to %s (%s): %s",
        request.method,
        request.url.path,
        account.name,
        account.role.value,
        exc.message,
    )
    user_services.refused(node, account, exc, at)


def require_role(*roles: Role | str) -> Callable[..., Account]:
    """A dependency: the request's account if its role is one of ``roles``; else 403
    ``auth.forbidden`` (recorded)."""
    wanted = tuple(parse_role(r, "roles") for r in roles)

    def dependency(request: Request, account: AccountDep, node: NodeDep, at: ClockDep) -> Account:
        if account.role not in wanted:
            names = ", ".join(r.value for r in wanted)
            exc = Forbidden(f"{account.name} ({account.role.value}) is not {names}")
            _refuse(node, account, exc, at, request)
            raise exc
        return account

    return dependency


def require_action(action: Action | str) -> Callable[..., Account]:
    """A dependency: the request's account if its role may do ``action``
    (:data:`csbm.accounts.PERMISSIONS`); else 403 ``auth.forbidden`` (recorded)."""
    wanted = Action(action)

    def dependency(request: Request, account: AccountDep, node: NodeDep, at: ClockDep) -> Account:
        try:
            require(account.role, wanted, who=account.name)
        except Forbidden as exc:
            _refuse(node, account, exc, at, request)
            raise
        return account

    return dependency


# -- problems (RFC 9457)


def status_of(exc: CsbmError) -> int:
    """The HTTP status of a csbm error: its ``http_status`` when it has one; 404 for what
    does not exist, 409 for a conflict, 400 for bad input, 503 for a storage fault."""
    status = getattr(exc, "http_status", None)
    if isinstance(status, int):
        return status
    if isinstance(exc, NotFoundError):
        return 404
    if exc.code in ("user.exists", "store.conflict") or exc.code.endswith(".exists"):
        return 409
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, LogError) or exc.code.startswith("store."):
        return 503
    return 400


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    503: "Service Unavailable",
}


def problem_response(
    status: int, code: str, detail: str, problems: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """An ``application/problem+json`` response (RFC 9457 §3): ``type`` about:blank and
    the status phrase as ``title`` (§4.2.1), ``detail``, and the extension members
    ``code`` (csbm's stable code) and ``problems`` (path, reason, value of each)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if problems:
        body["problems"] = problems
    headers = {"WWW-Authenticate": CHALLENGE} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def csbm_problem(exc: CsbmError) -> JSONResponse:
    """The problem+json of a csbm error."""
    return problem_response(
        status_of(exc), exc.code, "; ".join(exc.lines()), [p.as_dict() for p in exc.problems]
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every :class:`CsbmError`, every request FastAPI cannot read (422) and every
    HTTP error of the framework (404, 405) with problem+json."""

    async def on_csbm(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CsbmError)
        return csbm_problem(exc)

    async def on_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        from csbm.errors import problems_from_pydantic

        problems = problems_from_pydantic(exc)
        return problem_response(
            422, "request.invalid", "the request cannot be read", [p.as_dict() for p in problems]
        )

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(exc.status_code, f"http.{exc.status_code}", str(exc.detail))

    app.add_exception_handler(CsbmError, on_csbm)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)


# -- /accounts and /drafts

router = APIRouter(tags=["accounts"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad credentials (problem+json)"},
    403: {"description": "The account's role does not allow it (problem+json)"},
}


class NewAccount(BaseModel):
    """An account to add: a ``password`` (Argon2id-hashed) or ``token: true`` (an API
    token, returned once)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    role: str
    password: str | None = None
    token: bool = False


@router.get("/accounts/me", responses=_PROBLEMS)
def me(account: AccountDep) -> user_services.UserDocument:
    """The account of the request."""
    return user_services.UserDocument.of(account)


@router.get("/accounts", responses=_PROBLEMS)
def list_accounts(
    _account: Annotated[Account, Depends(require_action(Action.MANAGE_USERS))], node: NodeDep
) -> user_services.UsersDocument:
    """Every account (admin)."""
    return user_services.list_users(node)


@router.post("/accounts", status_code=201, responses=_PROBLEMS)
def add_account(
    new: NewAccount,
    account: Annotated[Account, Depends(require_action(Action.MANAGE_USERS))],
    node: NodeDep,
    at: ClockDep,
) -> user_services.UserAdded:
    """Add an account (admin); an API token is in the answer, this once."""
    role = parse_role(new.role, "role")
    if new.token == (new.password is not None):
        raise InputError(
            "one credential",
            [Problem("password", "give a password or token: true, not both, not neither")],
            code="user.credential",
        )
    if new.password is not None:
        from csbm.accounts.credentials import check_password

        check_password(new.password)
    return user_services.add_user(
        node, new.name, role, at, account.name, password=new.password, token=new.token
    )


@router.get("/accounts/events", responses=_PROBLEMS)
def account_events(
    _account: Annotated[Account, Depends(require_action(Action.AUDIT))],
    node: NodeDep,
    name: str | None = None,
) -> user_services.HistoryDocument:
    """The account history: changes, drafts, approvals, refusals (auditor)."""
    return user_services.history(node, name)


@router.delete("/accounts/{name}", responses=_PROBLEMS)
def remove_account(
    name: str,
    account: Annotated[Account, Depends(require_action(Action.MANAGE_USERS))],
    node: NodeDep,
    at: ClockDep,
) -> user_services.UserDocument:
    """Remove an account (admin): its credential is refused from now on."""
    return user_services.remove_user(node, name, at, account.name)


@router.post("/drafts", status_code=201, responses=_PROBLEMS)
def create_draft(
    account: AccountDep,
    node: NodeDep,
    at: ClockDep,
    message: Annotated[dict[str, Any], Body(description="A message {type, to, case, body}.")],
) -> draft_services.DraftDocument:
    """Keep a message as a draft (drafter): it waits for a signing officer."""
    return draft_services.create_draft(node, account, message, at)


@router.get("/drafts", responses=_PROBLEMS)
def list_drafts(
    account: AccountDep, node: NodeDep, at: ClockDep, pending: bool = False
) -> draft_services.DraftsDocument:
    """The drafts (drafter, signing officer); ``pending=true``: only those waiting."""
    return draft_services.list_drafts(node, account, at, pending_only=pending)


@router.post("/drafts/{draft_id}/approve", responses=_PROBLEMS)
def approve_draft(
    draft_id: int,
    account: AccountDep,
    node: NodeDep,
    at: ClockDep,
    send: Annotated[draft_services.SendFn | None, Depends(send_of)],
) -> draft_services.DraftDocument:
    """Approve a draft (signing officer, not its drafter): signed and sent, once."""
    return draft_services.approve_and_send(draft_id, account, node, at, send=send)
