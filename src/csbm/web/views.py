"""The pages of the workbench: *Today*, *Map*, *Calendar*, *Procedures*, *Compose*,
*Record*, one message and its print view.

Source: issue 12, item 1 (the pages and what each shows) and item 3 (a print view of a
notification in its numbered-field official form, reusing :mod:`csbm.forms`). Each page
renders one service document (see :mod:`csbm.services.today` and its neighbours); the
JSON twins (:mod:`csbm.web.twins`) return the same documents.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from csbm.accounts.policy import Action
from csbm.errors import InputError, Problem
from csbm.web.pages import NEEDS, SECURITY_HEADERS, Page, router, run

__all__ = ["parse_body_text"]


# -- Today


def _today(page: Page) -> Response:
    from csbm.services.today import today
    from csbm.web.replays import projection

    made = projection(page.request.app.state, page.node, page.at)
    doc = today(
        page.node, made.value, page.at, page.zone, log_size=made.size,
        offset=page.number("offset", 0), limit=page.number("limit", 50, 1, 500),
        received_offset=page.number("received_offset", 0),
        received_limit=page.number("received_limit", 20, 1, 500),
        sent_offset=page.number("sent_offset", 0),
        sent_limit=page.number("sent_limit", 20, 1, 500),
    )  # fmt: skip
    return page.render("today.html", doc=doc, current="today")


@router.get("/today")
async def today_page(request: Request) -> Response:
    """What is due and who owes it, what arrived, what waits for a receipt."""
    return await run(request, _today, NEEDS["today"])


# -- Map


def _year(page: Page) -> int | None:
    raw = page.param("year")
    return None if raw in (None, "") else page.number("year", 0, 1900, 2999)


def _map(page: Page) -> Response:
    from csbm.projection import node_context
    from csbm.services.map import activity_map
    from csbm.web.replays import projection

    made = projection(page.request.app.state, page.node, page.at)
    doc = activity_map(
        made.value, node_context().packs, year=_year(page), state=page.param("state") or None,
        log_size=made.size,
    )  # fmt: skip
    data = {"activities": [a.to_json() for a in doc.activities],
            "zones": [{**z.to_json(), "label": f"{z.pack}: {page.pack_text(z.title)}"}
                      for z in doc.zones]}  # fmt: skip
    tiles = getattr(page.request.app.state, "web_tile_url", None)
    return page.render("map.html", doc=doc, data=data, tiles=tiles, current="map")


@router.get("/map")
async def map_page(request: Request) -> Response:
    """Activities as areas by status, border zones, figures against thresholds."""
    return await run(request, _map, NEEDS["map"])


@router.get("/geo/borders.json")
async def borders() -> Response:
    """The participating States' borders (Natural Earth 1:10m, public domain), simplified
    GeoJSON; served by the node itself, no tile server."""
    from starlette.concurrency import run_in_threadpool

    from csbm.services.map import borders_geojson

    body = await run_in_threadpool(borders_geojson)
    return Response(body, media_type="application/geo+json",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


# -- Calendar


def _calendar(page: Page) -> Response:
    from csbm.projection import node_context
    from csbm.services.calendar import calendar
    from csbm.web.replays import projection

    year = _year(page) or page.at.year
    made = projection(page.request.app.state, page.node, page.at)
    doc = calendar(made.value, node_context().packs, year, page.param("state") or None,
                   log_size=made.size)  # fmt: skip
    return page.render("calendar.html", doc=doc, current="calendar")


@router.get("/calendar")
async def calendar_page(request: Request) -> Response:
    """Calendars and notifications per State and year, with the constraining provisions."""
    return await run(request, _calendar, NEEDS["calendar"])


# -- Procedures


def _procedures(page: Page) -> Response:
    from csbm.services.cases import procedures
    from csbm.web.replays import projection

    made = projection(page.request.app.state, page.node, page.at)
    doc = procedures(
        made.value, page.zone, log_size=made.size,
        procedure=page.param("procedure") or None, party=page.param("party") or None,
        offset=page.number("offset", 0), limit=page.number("limit", 20, 1, 500),
        quotas_offset=page.number("quotas_offset", 0),
        quotas_limit=page.number("quotas_limit", 50, 1, 500),
    )  # fmt: skip
    return page.render("procedures.html", doc=doc, current="procedures")


@router.get("/procedures")
async def procedures_page(request: Request) -> Response:
    """Each case with its history and clocks; the quotas per State and year."""
    return await run(request, _procedures, NEEDS["procedures"])


# -- Record


def _record(page: Page) -> Response:
    from csbm.services.record import record

    raw = page.param("proof_of")
    proof_of = None if raw in (None, "") else page.number("proof_of", 0)
    doc = record(
        page.node, page.at, offset=page.number("offset", 0),
        limit=page.number("limit", 50, 1, 500), proof_of=proof_of,
        audit=page.param("audit") == "1",
    )  # fmt: skip
    return page.render("record.html", doc=doc, current="record")


@router.get("/record")
async def record_page(request: Request) -> Response:
    """The log, its signed checkpoint, proofs and the audit (auditors)."""
    return await run(request, _record, NEEDS["record"])


# -- one message, and its print view


def _message_doc(page: Page, message_id: str) -> Any:
    from csbm.services.inbox import message_for

    if len(message_id) > 64:
        raise InputError("bad message id", [Problem("message_id", "a message id", None)])
    return message_for(page.node, message_id, page.node.state)[0]


def _message(page: Page) -> Response:
    message_id = page.request.path_params["message_id"]
    doc = _message_doc(page, message_id)
    body = json.dumps(doc.body, indent=2, ensure_ascii=False, sort_keys=True)
    return page.render("message.html", doc=doc, body=body, current=None)


@router.get("/messages/{message_id}")
async def message_page(request: Request) -> Response:
    """One message in the one message form, with sender, time and recipients."""
    return await run(request, _message, NEEDS["message"])


PRINT_EXTRA = (
    '<p class="noprint"><a href="{back}">{back_label}</a> '
    '<button type="button" data-print>{print_label}</button></p>\n'
    "<style>@media print {{ .noprint {{ display: none }} }} "
    ".noprint {{ margin: 1rem 0 }} :focus-visible {{ outline: 3px solid #1a4f9c; "
    "outline-offset: 2px }}</style>\n"
    '<script src="/web/static/workbench.js" defer></script>\n'
)


def _official_form(page: Page) -> tuple[str, str]:
    """The notification's official form as an HTML document in the page's language, and
    the message id."""
    from csbm.forms import notice_from_data, notification_form, render_html
    from csbm.web.i18n import localiser

    message_id = page.request.path_params["message_id"]
    doc = _message_doc(page, message_id)
    if doc.type != "notification":
        raise InputError(
            "not a notification",
            [Problem("message_id", "only a notification has an official form", doc.type)],
        )
    data = {"type": doc.type, "to": doc.to, "body": doc.body, "from": doc.sender,
            "at": doc.created_at}  # fmt: skip
    if doc.case is not None:
        data["case"] = doc.case
    form = notification_form(notice_from_data(data))
    return render_html(form, localiser(page.lang)), message_id


def _print(page: Page) -> Response:
    from html import escape

    from csbm.web.i18n import translation

    html, message_id = _official_form(page)
    t = translation(page.lang).gettext
    extra = PRINT_EXTRA.format(
        back=escape(f"/web/messages/{message_id}"), back_label=escape(t("Back to the message")),
        print_label=escape(t("Print")),
    )  # fmt: skip
    html = html.replace("</main>", extra + "</main>", 1)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


def _print_pdf(page: Page) -> Response:
    from csbm.forms.pdf import html_to_pdf

    html, message_id = _official_form(page)
    name = "".join(c for c in message_id if c.isalnum())[:16] or "notification"
    return Response(
        html_to_pdf(html), media_type="application/pdf",
        headers={**SECURITY_HEADERS,
                 "Content-Disposition": f'inline; filename="notification-{name}.pdf"'},
    )  # fmt: skip


@router.get("/messages/{message_id}/print.pdf")
async def print_pdf(request: Request) -> Response:
    """The official form as PDF, printed by headless Chromium (:mod:`csbm.forms.pdf`)."""
    return await run(request, _print_pdf, NEEDS["message"])


@router.get("/messages/{message_id}/print")
async def print_page(request: Request) -> Response:
    """A notification in its numbered-field official form (blocks A-D), to print."""
    return await run(request, _print, NEEDS["message"])


# -- Compose


def parse_body_text(text: str) -> Any:
    """The body typed in the composer: JSON or YAML, read by the strict reader."""
    from csbm.reader import parse_document

    if not text.strip():
        return {}
    return parse_document(text, "body")


def _composed(page: Page) -> tuple[dict[str, Any], list[Problem]]:
    """The message the form holds, and the problems of reading its body text."""
    data: dict[str, Any] = {"type": (page.param("type") or "").strip()}
    to = (page.param("to") or "").strip()
    if to:
        codes = [c.strip() for c in to.replace(";", ",").split(",") if c.strip()]
        data["to"] = codes[0] if len(codes) == 1 else codes
    case = (page.param("case") or "").strip()
    if case:
        data["case"] = case
    problems: list[Problem] = []
    try:
        data["body"] = parse_body_text(page.param("body") or "")
    except InputError as exc:
        problems = [Problem(f"body{'.' + p.path if p.path and p.path != 'body' else ''}",
                            p.reason, p.value) for p in exc.problems]  # fmt: skip
        if not problems:
            problems = [Problem("body", exc.message)]
    return data, problems


def _check(page: Page) -> Response:
    from csbm.services.compose import ProblemDocument, preview

    data, problems = _composed(page)
    if problems:
        doc_problems = [ProblemDocument(path=p.path, reason=p.reason, value=p.value)
                        for p in problems]  # fmt: skip
        return page.render("compose_check.html", doc=None, problems=doc_problems)
    doc = preview(page.node, data, page.at)
    return page.render("compose_check.html", doc=doc, problems=doc.problems)


@router.post("/compose/check")
async def compose_check(request: Request) -> Response:
    """The check of the message being typed (htmx partial): its problems with their field
    paths, or its deadlines and findings."""
    return await run(request, _check, NEEDS["compose"])


@cache
def kind_fields(kind: str) -> list[Any]:
    """The form fields of ``kind`` (:func:`csbm.services.compose.kind_fields`), once per
    process: the schemas are those of the code, and making them costs ~40 ms."""
    from csbm.services.compose import kind_fields as fields

    return fields(kind)


def _compose(page: Page) -> Response:
    from csbm.procedures.registry import message_kinds
    from csbm.services.drafts import list_drafts

    kind = page.param("type") or ""
    kinds = message_kinds()
    fields = kind_fields(kind) if kind in kinds else []
    drafts = list_drafts(page.node, page.session.account, page.at)  # type: ignore[union-attr]
    return page.render(
        "compose.html", kinds=kinds, kind=kind, fields=fields,
        drafts=_drafts_with_receipts(page, drafts), current="compose",
        values={"to": page.param("to") or "", "case": page.param("case") or "",
                "body": page.param("body") or ""},
        preview=None, problems=[],
    )  # fmt: skip


def _drafts_with_receipts(page: Page, drafts: Any) -> list[dict[str, Any]]:
    from csbm.services.status import sent_status

    sent = sent_status(page.node, [d.message_id for d in drafts.drafts if d.message_id])
    rows = []
    for d in reversed(drafts.drafts):
        rows.append({"draft": d, "sent": sent.get(d.message_id)})
    return rows


@router.get("/compose")
async def compose_page(request: Request) -> Response:
    """The composer: a message kind's form, checked as it is typed; the drafts."""
    return await run(request, _compose, NEEDS["compose"])


def _draft(page: Page) -> Response:
    from csbm.services.compose import ProblemDocument, preview
    from csbm.services.drafts import create_draft

    data, problems = _composed(page)
    if not problems:
        checked = preview(page.node, data, page.at)
        problems_docs = checked.problems
    else:
        checked = None
        problems_docs = [ProblemDocument(path=p.path, reason=p.reason, value=p.value)
                         for p in problems]  # fmt: skip
    if problems_docs:
        from csbm.procedures.registry import message_kinds
        from csbm.services.drafts import list_drafts

        kind = str(data.get("type") or "")
        kinds = message_kinds()
        drafts = list_drafts(page.node, page.session.account, page.at)  # type: ignore[union-attr]
        return page.render(
            "compose.html", status=422, kinds=kinds, kind=kind,
            fields=kind_fields(kind) if kind in kinds else [],
            drafts=_drafts_with_receipts(page, drafts), current="compose",
            values={"to": page.param("to") or "", "case": page.param("case") or "",
                    "body": page.param("body") or ""},
            preview=checked, problems=problems_docs,
        )  # fmt: skip
    draft = create_draft(page.node, page.session.account, data, page.at)  # type: ignore[union-attr]
    return RedirectResponse(f"/web/compose?drafted={draft.id}#drafts", status_code=303,
                            headers=SECURITY_HEADERS)  # fmt: skip


@router.post("/compose/draft")
async def compose_draft(request: Request) -> Response:
    """Keep the message as a draft (drafter): it waits for a signing officer."""
    return await run(request, _draft, (Action.DRAFT,))


def _approve(page: Page) -> Response:
    from csbm.services.drafts import approve_and_send

    draft_id = page.number("draft", 0, 0, 2**53)
    send = getattr(page.request.app.state, "send", None)
    approve_and_send(draft_id, page.session.account, page.node, page.at,  # type: ignore[union-attr]
                     send=send if callable(send) else None)  # fmt: skip
    waker = getattr(page.request.app.state, "worker", None)
    if waker is not None:
        waker.wake.set()
    return RedirectResponse(f"/web/compose?sent={draft_id}#drafts", status_code=303,
                            headers=SECURITY_HEADERS)  # fmt: skip


@router.post("/compose/approve")
async def compose_approve(request: Request) -> Response:
    """Approve a draft (signing officer, not its drafter): signed, logged and sent."""
    return await run(request, _approve, (Action.APPROVE,))


def _drafts_partial(page: Page) -> Response:
    from csbm.services.drafts import list_drafts

    drafts = list_drafts(page.node, page.session.account, page.at)  # type: ignore[union-attr]
    return page.render("drafts.html", drafts=_drafts_with_receipts(page, drafts))


@router.get("/compose/drafts")
async def compose_drafts(request: Request) -> Response:
    """The drafts and, for each one sent, its receipts as they arrive (htmx polls it)."""
    return await run(request, _drafts_partial, NEEDS["compose"])
