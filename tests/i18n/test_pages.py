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
