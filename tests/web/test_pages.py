"""The workbench's pages against a node holding real data (tests/web/conftest.py): each
page renders for a role allowed to see it, redirects without a session, refuses a wrong
role with a 403 page (recorded), refuses a POST without its CSRF token (nothing done);
the composer shows each problem with its field path; the JSON twins are the service
documents; lists page; hostile content is escaped (issue 12, items 1 and 3)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from csbm.node import Node
from csbm.projection import node_context
from csbm.services.calendar import calendar
from csbm.services.cases import procedures
from csbm.services.map import activity_map
from csbm.services.record import record
from csbm.services.replay import replay_node
from csbm.services.today import today
from tests.web.conftest import CLOCK, HOSTILE, PASSWORD, Served, csrf_of, signed_in

PAGES = ("today", "map", "calendar", "procedures", "compose", "record")
ZONE = "Europe/Vilnius"


def _basic(name: str) -> tuple[str, str]:
    return (name, PASSWORD)


def test_a_page_without_a_session_redirects_to_the_sign_in_page(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    for name in PAGES:
        response = client.get(f"/web/{name}?offset=0", follow_redirects=False)
        assert response.status_code == 303, name
        assert response.headers["location"] == f"/web/login?next=%2Fweb%2F{name}%3Foffset%3D0"
    htmx = client.post("/web/compose/check", headers={"HX-Request": "true"},
                       follow_redirects=False)  # fmt: skip
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/web/login"


def test_the_session_cookie_is_httponly_samesite_strict(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    form = client.get("/web/login")
    response = client.post(
        "/web/login",
        data={"name": "rita", "password": PASSWORD, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/web/today"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("csbm_session="))  # fmt: skip
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie


def test_a_wrong_password_is_refused_and_no_session_given(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    form = client.get("/web/login")
    response = client.post(
        "/web/login", data={"name": "rita", "password": "not the password at all",
                            "csrf": csrf_of(form.text)}, follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 401
    assert 'data-testid="login-failed"' in response.text
    assert "csbm_session" not in response.headers.get("set-cookie", "")


def test_sign_in_without_its_csrf_token_is_refused(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    client.get("/web/login")
    response = client.post("/web/login", data={"name": "rita", "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 403
    assert "csbm_session" not in response.headers.get("set-cookie", "")


def test_sign_in_never_redirects_off_the_workbench(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    form = client.get("/web/login")
    response = client.post(
        "/web/login", data={"name": "rita", "password": PASSWORD, "csrf": csrf_of(form.text),
                            "next": "//evil.example/web/x"}, follow_redirects=False,
    )  # fmt: skip
    assert response.headers["location"] == "/web/today"


def test_each_page_renders_for_an_allowed_role(served: Served) -> None:
    client = served.client
    signed_in(client, "audrey")  # the auditor reads everything and the record
    for name in ("today", "map", "calendar", "procedures", "record"):
        response = client.get(f"/web/{name}")
        assert response.status_code == 200, (name, response.text[:500])
        html = response.text
        assert '<html lang="en">' in html
        assert 'href="#main"' in html and '<main id="main"' in html
        assert 'aria-current="page"' in html
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    signed_in(client, "dora")
    assert client.get("/web/compose?type=notification").status_code == 200


def test_today_shows_deadlines_by_urgency_with_who_owes_and_the_messages(
    served: Served,
) -> None:
    client = served.client
    signed_in(client, "rita")
    html = client.get("/web/today").text
    # Belarus's request of 10:00 UTC: Lithuania owes the reply within 48 hours (this week)
    assert int(_testid(html, "count-week")) >= 1
    assert int(_testid(html, "count-overdue")) >= 1  # Anakonda-14's invitation: missed
    row = _row_with(html, "CH3_REPLY")
    assert "by-lt-2022" in row and "2022-02-19 10:00 UTC" in row
    assert '<abbr title="Lithuania">LT</abbr>' in row
    assert 'data-countdown="2022-02-19T10:00:00Z"' in row
    assert "12:00:00" in row  # 10:00 UTC in Vilnius (UTC+2), in the locale's words
    assert 'data-testid="received-message"' in html and "ch3.request" in html
    assert "badge" in html  # Belarus's request arrived within 24 hours: new


def test_a_reader_may_not_compose_nor_audit_and_the_refusal_is_recorded(
    served: Served, network: Any
) -> None:
    client = served.client
    signed_in(client, "rita")
    for path in ("/web/compose", "/web/record"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert 'data-testid="error-status"' in response.text and "rita (reader)" in response.text
    with Node.open(served.data) as node:
        refusals = [e for e in node.accounts.events("rita") if e.action == "auth.refused"]
    assert any("/web/record" in (e.detail or "") for e in refusals)


def test_an_admin_reads_no_messages(served: Served) -> None:
    client = served.client
    signed_in(client, "adam")
    assert client.get("/web/today").status_code == 403


def test_a_drafter_drafts_but_cannot_approve(served: Served) -> None:
    client = served.client
    token = signed_in(client, "dora")
    message = {"type": "ch3.reply", "to": "BY", "case": "by-lt-2022",
               "body": '{"channel": "osce", "text": "A scheduled exercise"}'}  # fmt: skip
    drafted = client.post("/web/compose/draft", data={**message, "csrf": token},
                          follow_redirects=False)  # fmt: skip
    assert drafted.status_code == 303, drafted.text[:2000]
    draft_id = int(re.search(r"drafted=(\d+)", drafted.headers["location"]).group(1))  # type: ignore[union-attr]
    refused = client.post("/web/compose/approve", data={"draft": draft_id, "csrf": token})
    assert refused.status_code == 403
    with Node.open(served.data) as node:
        assert node.accounts.draft(draft_id).status.value == "pending"
    # a signing officer approves it: signed, logged, queued to Belarus
    officer = signed_in(client, "sofia")
    page = client.get("/web/compose")
    assert f'data-draft="{draft_id}"' in page.text and 'data-testid="approve"' in page.text
    sent = client.post("/web/compose/approve", data={"draft": draft_id, "csrf": officer},
                       follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303, sent.text[:2000]
    drafts = client.get("/web/compose/drafts").text
    row = _row_with(drafts, f'data-draft="{draft_id}"')
    assert "sent (sofia)" in row and "waiting for" in row and "BY" in row


def test_a_post_without_the_csrf_token_does_nothing(served: Served) -> None:
    client = served.client
    signed_in(client, "dora")
    with Node.open(served.data) as node:
        before = len(node.accounts.drafts())
    message = {"type": "ch3.reply", "to": "BY", "case": "by-lt-2022",
               "body": '{"channel": "osce", "text": "x"}'}  # fmt: skip
    for token in (None, "forged", csrf_of(client.get("/web/login").text)):
        data = dict(message) if token is None else {**message, "csrf": token}
        response = client.post("/web/compose/draft", data=data)
        assert response.status_code == 403
        assert "security token" in response.text
    with Node.open(served.data) as node:
        assert len(node.accounts.drafts()) == before


def test_sign_out_ends_the_session(served: Served) -> None:
    client = served.client
    token = signed_in(client, "rita")
    cookie = client.cookies.get("csbm_session")
    out = client.post("/web/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("csbm_session", cookie or "")
    again = client.get("/web/today", follow_redirects=False)
    assert again.status_code == 303  # the old cookie is revoked


def test_compose_shows_each_problem_with_its_field_path(served: Served) -> None:
    client = served.client
    token = signed_in(client, "dora")
    bad = client.post("/web/compose/check", data={
        "csrf": token, "type": "notification", "to": "all", "case": "iron-wolf-22",
        "body": '{"activity": {"name": "Iron Wolf", "kind": "exercise", "start": "tomorrow"}}',
    })  # fmt: skip
    assert bad.status_code == 200
    problems = re.findall(r'<code class="path">([^<]+)</code>', bad.text)
    assert any(p.startswith("body.activity") for p in problems), bad.text
    unreadable = client.post("/web/compose/check", data={
        "csrf": token, "type": "ch3.reply", "to": "BY", "case": "c", "body": "{a: [",
    })  # fmt: skip
    assert 'data-testid="compose-problems"' in unreadable.text
    assert re.search(r'<code class="path">body[^<]*</code>', unreadable.text)
    refused = client.post("/web/compose/draft", data={
        "csrf": token, "type": "ch3.reply", "to": "XX-not", "case": "c", "body": "{}",
    })  # fmt: skip
    assert refused.status_code == 422
    assert '<code class="path">to</code>' in refused.text


def test_compose_shows_the_obligations_and_findings_of_a_valid_message(served: Served) -> None:
    client = served.client
    token = signed_in(client, "dora")
    body = ('{"activity": {"name": "Iron Wolf 2022", "kind": "exercise", "host_state": "LT",'
            ' "conducting_states": ["LT"], "start": "2022-06-01", "end": "2022-06-10",'
            ' "forces": {"troops": 12900}}}')
    checked = client.post("/web/compose/check", data={
        "csrf": token, "type": "notification", "to": "all", "case": "iron-wolf-22", "body": body,
    })  # fmt: skip
    assert 'data-testid="compose-valid"' in checked.text, checked.text[:3000]
    assert "NOTIF_LEAD" in checked.text
    assert "near_threshold" in checked.text  # 12,900 troops against 13,000 to observe


def test_map_shows_activities_thresholds_and_zones(served: Served) -> None:
    client = served.client
    signed_in(client, "rita")
    html = client.get("/web/map").text
    assert "Anakonda-14" in html and 'data-testid="activity-details"' in html
    assert "NOTIF_LAND" in html and "OBS_INVITE" in html and "13,250" in html
    assert html.count('data-testid="zone"') >= 4
    assert 'src="/web/static/vendor/leaflet/leaflet.js"' in html
    data = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert data and "</" not in data.group(1)  # safe to embed
    borders = client.get("/web/geo/borders.json")
    assert borders.headers["content-type"] == "application/geo+json"
    assert {f["id"] for f in borders.json()["features"]} >= {"LT", "BY", "PL", "UA"}


def test_calendar_counts_the_constraining_provisions(served: Served) -> None:
    client = served.client
    signed_in(client, "rita")
    html = client.get("/web/calendar?year=2014").text
    row = _row_with(html, 'data-testid="limit-CONSTR_13K_YEAR"')
    assert "anakonda-14" in row and ">1 (" in row  # 13,250 troops: above 13,000
    assert "Anakonda-14" in html and "margin-left: 72" in html  # 24 September on the year


def test_procedures_read_as_a_timeline(served: Served) -> None:
    client = served.client
    signed_in(client, "rita")
    html = client.get("/web/procedures?procedure=chapter_iii&limit=5").text
    case = html[html.index('id="case-union-resolve-2022"'):]
    case = case[: case.index("</section>")]
    # in time order: the request, the reply (09:00), when it was due (10:00), the meeting
    steps = ("ch3.request", "ch3.reply", "CH3_REPLY", "CH3_MEET_BILAT")
    order = [case.index(s) for s in steps]
    assert order == sorted(order)
    assert "met" in case


def test_lists_page_with_previous_and_next(served: Served) -> None:
    client = served.client
    signed_in(client, "audrey")
    first = client.get("/web/record?limit=3").text
    assert 'data-testid="next"' in first and 'data-testid="prev"' not in first
    second = client.get("/web/record?limit=3&offset=3").text
    assert 'data-testid="prev"' in second
    entry = re.compile(r'data-testid="log-entry"><td>(\d+)</td>')
    assert len(entry.findall(first)) == 3
    assert set(entry.findall(first)).isdisjoint(entry.findall(second))
    bad = client.get("/web/record?limit=0")
    assert bad.status_code == 400 and '<code class="path">limit</code>' in bad.text


def test_record_proves_and_audits(served: Served) -> None:
    client = served.client
    signed_in(client, "audrey")
    html = client.get("/web/record?proof_of=0&audit=1").text
    assert 'data-testid="proof"' in html and "leafIdx" in html
    assert 'class="ok"' in html and "The log verifies" in html


def test_the_print_view_is_the_official_form(served: Served) -> None:
    client = served.client
    signed_in(client, "rita")
    with Node.open(served.data) as node:
        mid = next(e.message_id for e in node.entries() if e.kind == "notification")
    page = client.get(f"/web/messages/{mid}")
    assert page.status_code == 200 and 'id="print-link"' in page.text
    printed = client.get(f"/web/messages/{mid}/print")
    assert printed.status_code == 200
    assert "Anakonda-14" in printed.text and "data-print" in printed.text
    client.cookies.set("csbm_lang", "ru")
    russian = client.get(f"/web/messages/{mid}/print")
    client.cookies.delete("csbm_lang")
    assert '<html lang="ru">' in russian.text
    with Node.open(served.data) as node:
        other = next(e.message_id for e in node.entries() if e.kind == "ch3.request")
    assert client.get(f"/web/messages/{other}/print").status_code == 400
    assert client.get("/web/messages/no-such-message").status_code == 404


def test_language_from_the_switcher_and_accept_language(served: Served) -> None:
    client = served.client
    signed_in(client, "rita")
    client.cookies.delete("csbm_lang")
    german = client.get("/web/today", headers={"Accept-Language": "de-AT;q=0.9, xx, ru;q=0.5"})
    assert '<html lang="de">' in german.text
    switched = client.get("/web/lang?lang=uk&next=/web/map", follow_redirects=False)
    assert switched.headers["location"] == "/web/map"
    assert 'lang="uk"' in client.get("/web/map").text
    client.cookies.delete("csbm_lang")


def test_hostile_content_is_escaped(served: Served) -> None:
    client = served.client
    token = signed_in(client, "dora")
    hostile = '<script>alert("x")</script>'
    response = client.post("/web/compose/check", data={
        "csrf": token, "type": "ch3.reply", "to": hostile, "case": hostile, "body": "{}",
    })  # fmt: skip
    assert hostile not in response.text and "&lt;script&gt;" in response.text
    page = client.get("/web/compose", params={"type": "ch3.reply", "case": hostile})
    assert hostile not in page.text
    with Node.open(served.data) as node:
        mid = next(e.message_id for e in node.entries() if e.kind == "ch3.request"
                   and e.sender == "BY")  # fmt: skip
    shown = client.get(f"/web/messages/{mid}").text
    assert HOSTILE not in shown and "&lt;script&gt;alert(" in shown and "<img" not in shown


@pytest.mark.parametrize(
    ("path", "name", "build"),
    [
        ("today", "rita", lambda n: today(n, replay_node(n, CLOCK), CLOCK, _zone(), limit=5,
                                          log_size=n.size())),
        ("map", "rita", lambda n: activity_map(replay_node(n, CLOCK), node_context().packs,
                                               log_size=n.size())),
        ("calendar", "rita",
         lambda n: calendar(replay_node(n, CLOCK), node_context().packs, 2014,
                            log_size=n.size())),
        ("procedures", "rita", lambda n: procedures(replay_node(n, CLOCK), _zone(),
                                                    log_size=n.size())),
        ("record", "audrey", lambda n: record(n, CLOCK, limit=5)),
    ],
)
def test_each_json_twin_is_the_service_document(
    served: Served, path: str, name: str, build: Any
) -> None:
    query = {"today": "?zone=Europe/Vilnius&limit=5", "calendar": "?year=2014",
             "procedures": "?zone=Europe/Vilnius", "record": "?limit=5"}.get(path, "")  # fmt: skip
    client = served.client
    client.cookies.clear()
    response = client.get(f"/api/v1/workbench/{path}{query}", auth=_basic(name))
    assert response.status_code == 200, response.text
    with Node.open(served.data) as node:
        expected = build(node).to_json()
    assert response.json() == expected


def test_the_json_twins_refuse_without_credentials_and_wrong_roles(served: Served) -> None:
    client = served.client
    client.cookies.clear()
    assert client.get("/api/v1/workbench/today").status_code == 401
    refused = client.get("/api/v1/workbench/record", auth=_basic("rita"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    bad_zone = client.get("/api/v1/workbench/today?zone=Mars/Olympus", auth=_basic("rita"))
    assert bad_zone.status_code == 400 and bad_zone.json()["problems"][0]["path"] == "zone"


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(ZONE)


def _testid(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


def _row_with(html: str, needle: str) -> str:
    at = html.index(needle)
    start = html.rindex("<tr", 0, at)
    return html[start : html.index("</tr>", at)]


