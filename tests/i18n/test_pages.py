"""The pages in the reader's language (issue 12, items 2-3): a notification is structured
data, so the one Poland sent is shown with Russian or Ukrainian labels to a reader who
chose that language, its content as sent; the engine's findings on it in that language,
with numbers in the reader's locale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from csbm.api import Settings, create_app
from csbm.i18n import phrase_from_json, say
from csbm.node import Node
from csbm.projection import node_context
from csbm.services.map import activity_map
from csbm.services.replay import replay_node
from tests.web.conftest import CLOCK, Clock, build_network, signed_in


def _spaces(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.fixture(scope="module")
def lithuania(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    network = build_network(tmp_path_factory.mktemp("i18n-network"))
    app = create_app(Settings(data=network["LT"], worker=False), clock=Clock())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, network["LT"]


def _notification(data: Path) -> str:
    with Node.open(data) as node:
        return next(e.message_id for e in node.entries() if e.kind == "notification")


@pytest.mark.parametrize(
    ("lang", "title", "label"),
    [
        ("ru", "Уведомление о военной деятельности", "Наименование военной деятельности"),
        ("uk", "Повідомлення про військову діяльність", "Найменування військової діяльності"),
        ("en", "Notification of a military activity", "Designation of the military activity"),
    ],
)
def test_a_notification_is_shown_with_the_readers_labels(
    lithuania: tuple[TestClient, Path], lang: str, title: str, label: str
) -> None:
    client, data = lithuania
    signed_in(client, "rita")
    client.cookies.set("csbm_lang", lang)
    try:
        printed = client.get(f"/web/messages/{_notification(data)}/print")
    finally:
        client.cookies.delete("csbm_lang")
    assert printed.status_code == 200
    html = printed.text
    assert f'<html lang="{lang}">' in html
    assert title in html and label in html
    assert "Anakonda-14" in html  # the content as Poland sent it
    if lang != "en":
        assert "Designation of the military activity" not in html


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "NOTIF_LEAD (¶38): PL — выполнено с опозданием на 168,0 ч (срок "
               "2014-08-13T00:00:00Z)"),
        ("uk", "NOTIF_LEAD (¶38): PL — виконано із запізненням на 168,0 год (строк "
               "2014-08-13T00:00:00Z)"),
    ],
)
def test_the_findings_on_a_notification_in_the_readers_language(
    lithuania: tuple[TestClient, Path], lang: str, expected: str
) -> None:
    """Anakonda-14 was notified a week late: the map says so in the reader's language."""
    english = "NOTIF_LEAD (¶38): done 168.0 h late by PL (due 2014-08-13T00:00:00Z)"
    client, _data = lithuania
    signed_in(client, "rita")
    assert english in client.get("/web/map").text
    client.cookies.set("csbm_lang", lang)
    try:
        page = _spaces(client.get("/web/map").text)
    finally:
        client.cookies.delete("csbm_lang")
    assert expected in page
    assert english not in page


def test_the_map_document_keeps_english_and_carries_the_template(
    lithuania: tuple[TestClient, Path],
) -> None:
    """The document behind the page (and its JSON twin): English ``message``, plus the
    template and its parameters for a client to render in any language."""
    _client, data = lithuania
    with Node.open(data) as node:
        doc = activity_map(replay_node(node, CLOCK), node_context().packs).to_json()
    findings = [f for a in doc["activities"] for f in a["findings"]]
    late = [f for f in findings if f["message"].startswith("NOTIF_LEAD (¶38): done")]
    assert late and late[0]["message_id"] == (
        "{rule}{para}: done {hours:.1f} h late by {owed} (due {due})"
    )
    assert late[0]["params"]["owed"] == "PL" and late[0]["params"]["hours"] == 168.0
    again = phrase_from_json(late[0]["message_id"], late[0]["params"])
    assert again == late[0]["message"]
    assert _spaces(say(again, "ru")).startswith("NOTIF_LEAD (¶38): PL — выполнено")


# -- the rule packs' titles and notes (csbm.rules.texts) on the pages

CH3_REPLY = "Reply to a request for explanation of unusual military activity within 48 hours"
NOTIF_LAND = "Land exercise under a single operational command — notification thresholds"
CONSTR_13K = "At most six activities above 13,000 troops or 300 tanks in a calendar year"
TITLES = {
    "ru": {CH3_REPLY: "Ответ на запрос о разъяснении относительно необычной военной "
                      "деятельности — в течение 48 часов",
           NOTIF_LAND: "Учения сухопутных войск под единым оперативным командованием — "
                       "пороговые величины для уведомления",
           CONSTR_13K: "Не более шести мероприятий военной деятельности свыше 13 000 "
                       "военнослужащих или 300 танков в календарном году"},
    "uk": {CH3_REPLY: "Відповідь на запит щодо роз’яснення незвичайної військової "
                      "діяльності — протягом 48 годин",
           NOTIF_LAND: "Навчання сухопутних військ під єдиним оперативним командуванням — "
                       "порогові величини для повідомлення",
           CONSTR_13K: "Не більше шести заходів військової діяльності понад 13 000 "
                       "військовослужбовців або 300 танків у календарному році"},
}  # fmt: skip
PAGES = [("/web/today", "deadline-title", CH3_REPLY),
         ("/web/map", "threshold-title", NOTIF_LAND),
         ("/web/calendar?year=2014&state=PL", "limit-title", CONSTR_13K)]  # fmt: skip


def _titles(html: str, testid: str) -> list[str]:
    import re
    from html import unescape

    found = re.findall(rf'data-testid="{testid}">([^<]*)<', html)
    return [unescape(t) for t in found]


def _page(client: TestClient, url: str, lang: str) -> str:
    client.cookies.set("csbm_lang", lang)
    try:
        response = client.get(url)
    finally:
        client.cookies.delete("csbm_lang")
    assert response.status_code == 200, response.text
    return str(response.text)


@pytest.mark.parametrize("lang", ["ru", "uk"])
@pytest.mark.parametrize(("url", "testid", "english"), PAGES)
def test_the_pages_show_the_rule_titles_in_the_readers_language(
    lithuania: tuple[TestClient, Path], lang: str, url: str, testid: str, english: str
) -> None:
    """Today (a reply owed to Belarus), Map (Anakonda-14's figures against the thresholds)
    and Calendar (the constraining provisions of 2014): the entries' titles in Russian or
    Ukrainian, never in English."""
    client, _data = lithuania
    signed_in(client, "rita")
    assert english in _titles(_page(client, url, "en"), testid)
    html = _page(client, url, lang)
    titles = _titles(html, testid)
    assert TITLES[lang][english] in titles
    assert english not in html
    assert not set(titles) & set(TITLES["ru" if lang == "uk" else "uk"].values())


@pytest.mark.parametrize("lang", ["ru", "uk"])
def test_no_english_title_of_a_pack_is_left_on_the_pages(
    lithuania: tuple[TestClient, Path], lang: str
) -> None:
    """Every title a page shows has its translation (whichever entries the record
    brings up), the bilateral packs' border zones on the map included."""
    from csbm.rules import bundled_pack_ids, load_pack

    english = {r.title for p in bundled_pack_ids() for r in load_pack(p).rules}
    english |= {load_pack(p).title for p in bundled_pack_ids()}
    english |= {z.note for p in bundled_pack_ids() if (z := load_pack(p).border_zone) and z.note}
    client, _data = lithuania
    signed_in(client, "rita")
    for url, testid, _title in [*PAGES, ("/web/map", "zone-title", ""),
                                ("/web/map", "zone-note", "")]:  # fmt: skip
        shown = _titles(_page(client, url, lang), testid)
        assert shown, (url, testid)
        assert not set(shown) & english, (url, set(shown) & english)
