"""The page services' pure parts: urgency at a clock, paging windows, sign-in redirects,
language negotiation, time zones (issue 12, item 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csbm.errors import InputError
from csbm.services.deadlines import PendingDeadline
from csbm.services.paging import window
from csbm.services.today import urgency_of
from csbm.web.i18n import negotiate
from csbm.web.pages import safe_next, zone_of

AT = datetime(2022, 2, 17, 12, tzinfo=UTC)


def _deadline(due: datetime | None, status: str = "open") -> PendingDeadline:
    return PendingDeadline(rule="R", paragraph=None, pack=None, due=due, status=status,
                           owed_by=["LT"], owed_to=["BY"], case="c", procedure="p")  # fmt: skip


@pytest.mark.parametrize(
    ("due", "status", "urgency"),
    [
        (AT - timedelta(seconds=1), "open", "overdue"),
        (AT + timedelta(days=3), "overdue", "overdue"),
        (AT, "open", "day"),
        (AT + timedelta(hours=24), "open", "day"),
        (AT + timedelta(hours=24, seconds=1), "open", "week"),
        (AT + timedelta(days=7), "open", "week"),
        (AT + timedelta(days=7, seconds=1), "open", "later"),
        (None, "unknown", "unknown"),
    ],
)
def test_urgency_at_the_clock(due: datetime | None, status: str, urgency: str) -> None:
    assert urgency_of(_deadline(due, status), AT) == urgency


def test_a_window_says_where_it_stands() -> None:
    items = list(range(7))
    shown, page = window(items, 0, 3)
    assert shown == [0, 1, 2] and (page.previous, page.next, page.total) == (None, 3, 7)
    shown, page = window(items, 6, 3)
    assert shown == [6] and (page.previous, page.next) == (3, None)
    shown, page = window(items, 10, 3)
    assert shown == [] and page.next is None


@pytest.mark.parametrize(("offset", "limit", "path"),
                         [(-1, 3, "x_offset"), (0, 0, "x_limit"), (0, 501, "x_limit")])  # fmt: skip
def test_a_bad_window_names_its_field(offset: int, limit: int, path: str) -> None:
    with pytest.raises(InputError) as caught:
        window([1], offset, limit, "x_")
    assert [p.path for p in caught.value.problems] == [path]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/web/map?year=2014", "/web/map?year=2014"), ("//evil.example/web/", "/web/today"),
     ("https://evil.example/web/", "/web/today"), ("/api/v1/x", "/web/today"),
     ("/web/\\evil", "/web/today"), (None, "/web/today")],
)  # fmt: skip
def test_after_sign_in_only_the_workbench(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_language_cookie_then_accept_language_then_english() -> None:
    assert negotiate("ru", "de") == "ru"
    assert negotiate("xx", "fr-CH;q=0.4, uk;q=0.8, en;q=0.1") == "uk"
    assert negotiate(None, "zh, ja;q=0.5") == "en"
    assert negotiate(None, "de;q=0, it;q=abc, es") == "es"
    assert negotiate(None, None) == "en"


def test_time_zones_are_iana_names_only() -> None:
    assert zone_of("Europe/Kyiv") is not None
    for bad in ("", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "x" * 100):
        assert zone_of(bad) is None
