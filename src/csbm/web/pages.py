"""The workbench's pages: server-rendered HTML (Jinja2, htmx for the live parts) over the
same service documents as the JSON API.

Source: issue 12, items 1 and 3; DESIGN.md, layout (``web/``: templates and htmx partials
over ``services/``) and principle 1 (every screen a projection of the log). Each page:

- asks for a session (else a redirect to the sign-in page) and a role that may do what
  the page does (else a 403 page; the refusal is recorded in the account history);
- checks the CSRF token of every POST before anything else (else a 403 page, nothing
  done);
- builds one service document per request (one projection of the log), and renders it in
  the user's language and time zone; its JSON twin in :mod:`csbm.web.twins` returns the
  same document.

Handlers are ``async`` only to read the form; the work (database, rules, templates) runs
in the thread pool, as the API's synchronous routes do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from csbm.accounts.policy import Action, Forbidden, Unauthenticated, allowed
from csbm.errors import CsbmError, InputError, NotFoundError, Problem
from csbm.node import Node
from csbm.services.clock import wall_clock
from csbm.web import i18n
from csbm.web.replays import NotReady, Progress, ReplayFailed
from csbm.web.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    LIFETIME,
    PRE_COOKIE,
    SESSION_COOKIE,
    Session,
    Sessions,
)

__all__ = ["ZONE_COOKIE", "Page", "environment", "router", "sessions_of"]

router = APIRouter(prefix="/web", include_in_schema=False)

ZONE_COOKIE = "csbm_tz"
HOME = "/web/today"

#: What each page needs (any one of the actions).
NEEDS: dict[str, tuple[Action, ...]] = {
    "today": (Action.READ_LOG,),
    "map": (Action.READ_LOG,),
    "calendar": (Action.READ_LOG,),
    "procedures": (Action.READ_LOG,),
    "message": (Action.READ_INBOX,),
    "compose": (Action.DRAFT, Action.APPROVE),
    "record": (Action.AUDIT,),
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: the page redirects to the sign-in page."""


class PageRefused(Exception):
    """A refusal shown as a page (403): a role that may not, or a bad CSRF token."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# -- the environment of the templates


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment of ``lang``: autoescaped HTML, gettext from csbm's
    catalogues (the i18n extension, new style: ``_("…")`` with ``%(name)s``)."""
    env = Environment(
        loader=PackageLoader("csbm.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translation(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def sessions_of(request: Request) -> Sessions:
    """The node's :class:`Sessions` (made once per app)."""
    state = request.app.state
    found = getattr(state, "web_sessions", None)
    if not isinstance(found, Sessions):
        found = Sessions(_node(request).directory)
        state.web_sessions = found
    return found


def _node(request: Request) -> Node:
    node = getattr(request.app.state, "node", None)
    if not isinstance(node, Node):
        raise NotFoundError("this server has no node (a hub has no workbench)", code="web.no_node")
    return node


def _clock(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if callable(clock) else wall_clock()


def zone_of(raw: str | None) -> tzinfo | None:
    """The IANA zone named ``raw``, or None when it names none."""
    if not raw or len(raw) > 64 or raw.startswith(("/", ".")) or ".." in raw:
        return None
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class Page:
    """What a handler works with: the request, the node, the clock, the language, the
    zone, the session (None on the sign-in page) and the form of a POST."""

    request: Request
    node: Node
    at: datetime
    lang: str
    zone: tzinfo
    session: Session | None
    form: FormData | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def may(self, action: Action | str) -> bool:
        return self.session is not None and allowed(self.session.account.role, action)

    def param(self, name: str) -> str | None:
        if self.form is not None and name in self.form:
            value = self.form.get(name)
            return value if isinstance(value, str) else None
        return self.request.query_params.get(name)

    def number(self, name: str, default: int, low: int = 0, high: int = 2**53) -> int:
        """A whole number parameter; an InputError naming it otherwise."""
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InputError("bad number", [Problem(name, "a whole number", raw[:40])]) from None
        if not low <= value <= high:
            raise InputError("bad number", [Problem(name, f"from {low} to {high}", value)])
        return value

    def link(self, **changes: Any) -> str:
        """This page's URL with ``changes`` to its query (None removes a parameter)."""
        query = dict(self.request.query_params)
        for key, value in changes.items():
            if value is None:
                query.pop(key, None)
            else:
                query[key] = str(value)
        path = self.request.url.path
        return f"{path}?{urlencode(query)}" if query else path

    # -- formatting for the templates

    def when(self, at: datetime | None) -> dict[str, str] | None:
        """An instant as the pages show it: UTC (ISO 8601) and the user's zone (locale)."""
        if at is None:
            return None
        return {
            "iso": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "utc": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "local": i18n.format_instant(at, self.lang, self.zone),
        }

    def pack_text(self, text: str | None) -> str:
        """A rule pack's text (an entry's or a pack's title, a zone's note) in the page's
        language (:mod:`csbm.rules.texts`)."""
        from csbm.rules.texts import pack_text

        return pack_text(text, self.lang)

    def finding_text(self, finding: Any) -> str:
        """A finding's message (a :class:`csbm.services.documents.FindingDocument`) in
        the page's language, its declaration sources and pack titles included."""
        from csbm.rules.texts import finding_text

        return finding_text(finding.message_id, finding.params, finding.message, self.lang)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        env = environment(self.lang)
        html = env.get_template(template).render(
            page=self,
            lang=self.lang,
            languages=i18n.LANGUAGES,
            zone=str(self.zone),
            account=self.session.account if self.session else None,
            csrf=self.session.csrf if self.session else None,
            num=lambda v: "—" if v is None else i18n.format_number(v, self.lang),
            state_name=lambda code: i18n.state_name(code, self.lang),
            when=self.when,
            tr=self.pack_text,
            said=self.finding_text,
            Action=Action,
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        for name, value in self.cookies.items():
            _cookie(response, self.request, name, value)
        return response


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    secure = request.url.scheme == "https"
    if name == SESSION_COOKIE:
        response.set_cookie(name, value, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            samesite="strict", secure=secure, path="/")  # fmt: skip
    elif value == "":
        response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure)
    else:
        response.set_cookie(name, value, max_age=365 * 86400, httponly=True, samesite="strict",
                            secure=secure, path="/")  # fmt: skip


def _language(request: Request) -> str:
    return i18n.negotiate(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


Handler = Callable[[Page], Response]


async def run(request: Request, handler: Handler, needs: tuple[Action, ...] | None) -> Response:
    """Read the form of a POST, then run ``handler`` in the thread pool behind the
    checks: a session (unless ``needs`` is None), a role allowed one of ``needs``, the
    CSRF token of a POST."""
    form = await read_form(request) if request.method == "POST" else None
    return await run_in_threadpool(_guarded, request, form, handler, needs)


MAX_FORM = 1024 * 1024


async def read_form(request: Request) -> FormData:
    """The fields of an ``application/x-www-form-urlencoded`` POST (the only kind the
    pages send: WHATWG URL §5.1), at most 1 MiB; anything else reads as an empty form,
    which fails its CSRF check."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return FormData()
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            return FormData()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FormData()
    fields: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(text, keep_blank_values=True, max_num_fields=200)
    )
    return FormData(fields)


def _guarded(
    request: Request, form: FormData | None, handler: Handler, needs: tuple[Action, ...] | None
) -> Response:
    lang = _language(request)
    zone = zone_of(request.cookies.get(ZONE_COOKIE)) or UTC
    try:
        node = _node(request)
    except NotFoundError as exc:
        return _bare_error(lang, 404, exc.message)
    at = _clock(request)
    page = Page(request, node, at, lang, zone, None, form)
    try:
        if needs is not None:
            session = sessions_of(request).check(request.cookies.get(SESSION_COOKIE), node, at)
            if session is None:
                raise LoginRequired
            page.session = session
            if request.method == "POST":
                token = (form.get(CSRF_FIELD) if form else None) or request.headers.get(
                    CSRF_HEADER
                )
                if not Sessions.check_csrf(session, token if isinstance(token, str) else None):
                    raise PageRefused(i18n.translation(lang).gettext(
                        "The form's security token is missing or wrong: reload the page "
                        "and try again."))  # fmt: skip
            if needs and not any(allowed(session.account.role, a) for a in needs):
                from csbm.services.users import refused

                names = ", ".join(a.value for a in needs)
                denied = Forbidden(f"{session.account.name} ({session.account.role.value}) may "
                                   f"not {names}: {request.url.path}")  # fmt: skip
                refused(node, session.account, denied, at)
                raise PageRefused(denied.message)
        response = handler(page)
        return _refreshed() if _polling(request) else response
    except NotReady as exc:
        return _building(page, exc.progress)
    except ReplayFailed as exc:
        if _polling(request):
            return _refreshed()  # the whole page shows the failure
        said = i18n.translation(lang)
        return page.render(
            "error.html", status=500, status_code=500,
            heading=said.gettext("The view of the log could not be built"),
            reason=said.gettext("The replay of the node's log failed: %(reason)s. It is tried "
                                "again when you reload this page in a minute; the server's log "
                                "says more.") % {"reason": exc.reason},
            problems=[],
        )  # fmt: skip
    except LoginRequired:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/web/login"})
        return RedirectResponse(
            "/web/login?" + urlencode({"next": target}), status_code=303,
            headers={"Cache-Control": "no-store"},
        )  # fmt: skip
    except PageRefused as exc:
        return page.render("error.html", status=exc.status, status_code=exc.status,
                           reason=exc.reason, problems=[])  # fmt: skip
    except Forbidden as exc:
        return page.render("error.html", status=403, status_code=403, reason=exc.message,
                           problems=list(exc.problems))  # fmt: skip
    except CsbmError as exc:
        from csbm.api.auth import status_of

        status = status_of(exc)
        return page.render("error.html", status=status, status_code=status, reason=exc.message,
                           problems=list(exc.problems))  # fmt: skip


#: The id of the notice that polls its page while the view of the log is being built
#: (htmx sends it as ``HX-Trigger``).
BUILDING = "building"


def _polling(request: Request) -> bool:
    """Whether ``request`` is the notice's poll (htmx) rather than the page itself."""
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-trigger") == BUILDING)  # fmt: skip


def _refreshed() -> Response:
    """The answer to the notice's poll once the page can be shown: htmx reloads it."""
    return Response(status_code=200, headers={**SECURITY_HEADERS, "HX-Refresh": "true"})


def _building(page: Page, progress: Progress) -> HTMLResponse:
    """The notice shown instead of a page while the view of the log is being built: its
    progress in a live region that asks for the page again every second (htmx; a meta
    refresh without scripts) and shows it once it is ready. The poll gets the notice's
    content only."""
    if _polling(page.request):
        return page.render("_building.html", progress=progress)
    parts = page.request.url.path.split("/")
    return page.render("building.html", progress=progress,
                       current=parts[2] if len(parts) > 2 else None)  # fmt: skip


def _bare_error(lang: str, status: int, reason: str) -> HTMLResponse:
    html = environment(lang).get_template("bare_error.html").render(
        lang=lang, status_code=status, reason=reason
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path of this workbench only (no open redirect)."""
    if raw and raw.startswith("/web/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return HOME


# -- sign in, sign out, settings


def _login(page: Page) -> Response:
    request = page.request
    sessions = sessions_of(request)
    failed = False
    if request.method == "POST":
        form = page.form or FormData()
        nonce = request.cookies.get(PRE_COOKIE)
        token = form.get(CSRF_FIELD)
        if not sessions.check_login(nonce, token if isinstance(token, str) else None):
            raise PageRefused(i18n.translation(page.lang).gettext(
                "The form's security token is missing or wrong: reload the page and try "
                "again."))  # fmt: skip
        name = str(form.get("name") or "")[:200]
        password = str(form.get("password") or "")[:1024]
        from csbm.services.users import authenticate_password

        try:
            account = authenticate_password(page.node, name, password, page.at)
        except Unauthenticated:
            failed = True
        else:
            target = safe_next(str(form.get("next") or ""))
            response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
            _cookie(response, request, SESSION_COOKIE, sessions.issue(account, page.at))
            _cookie(response, request, PRE_COOKIE, "")
            zone = str(form.get("zone") or "")
            if zone_of(zone) is not None:
                _cookie(response, request, ZONE_COOKIE, zone)
            return response
    nonce = sessions.login_nonce()
    page.cookies[PRE_COOKIE] = nonce
    return page.render(
        "login.html",
        status=401 if failed else 200,
        failed=failed,
        login_token=sessions.login_token(nonce),
        next=safe_next(page.param("next")),
    )


@router.get("/login", name="web.login")
async def login_form(request: Request) -> Response:
    """The sign-in form."""
    return await run(request, _login, None)


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in with name and password (Argon2id-checked): a session cookie."""
    return await run(request, _login, None)


def _logout(page: Page) -> Response:
    assert page.session is not None
    sessions_of(page.request).revoke(page.session)
    response = RedirectResponse("/web/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session is revoked and its cookie cleared."""
    return await run(request, _logout, ())


def _settings(page: Page) -> Response:
    raw = page.param("zone") or ""
    if zone_of(raw) is None:
        raise InputError("unknown time zone", [Problem("zone", "an IANA time zone name", raw[:64])])
    response = RedirectResponse(safe_next(page.param("next")), status_code=303,
                                headers=SECURITY_HEADERS)  # fmt: skip
    _cookie(response, page.request, ZONE_COOKIE, raw)
    return response


@router.post("/settings")
async def settings(request: Request) -> Response:
    """Set the time zone the deadlines are shown in (besides UTC)."""
    return await run(request, _settings, ())


@router.get("/lang")
async def language(request: Request) -> Response:
    """The language switcher: remember the language chosen (a cookie) and go back."""
    lang = request.query_params.get("lang", "").strip().lower()
    target = safe_next(request.query_params.get("next"))
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    if lang in i18n.LANGUAGES:
        _cookie(response, request, i18n.LANG_COOKIE, lang)
    return response


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)


def as_data(doc: Any) -> Mapping[str, Any]:
    """A document's JSON form (for the templates that show raw data)."""
    return json.loads(json.dumps(doc.to_json()))  # type: ignore[no-any-return]
