"""The notice of the first replay in a real browser (headless Chromium): a page asked
while the view of the log is being built shows the replay's progress in a live region
(axe-core: nothing serious), the progress moves on in place, and the page replaces the
notice by itself once the replay is done -- no reload by the user.

The node is served in this process (uvicorn in a thread), its replay held by the test
(:class:`tests.web.test_building.Stepper`): nothing depends on how long it takes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from csbm.web.replays import ReplayCache
from tests.browser.conftest import check_page, new_page, sign_in
from tests.e2e.servers import free_port
from tests.web.conftest import build_network
from tests.web.test_building import Stepper, _start


@dataclass
class Held:
    url: str
    cache: ReplayCache
    stepper: Stepper


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Held]:
    """Lithuania's node served on a free port, its first replay held by a Stepper."""
    data = build_network(tmp_path)["LT"]
    stepper = Stepper()
    app, cache = _start(data, stepper)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-building", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        assert stepper.entered.wait(60), "the replay at start-up did not begin"
        yield Held(f"http://127.0.0.1:{port}", cache, stepper)
    finally:
        for _ in range(3):
            stepper.go.put("step")
        server.should_exit = True
        thread.join(60)


def test_the_notice_shows_the_progress_and_gives_way_to_the_page(
    browser: Browser, held: Held, artefacts: Path
) -> None:
    page = new_page(browser)
    sign_in(page, held.url, "rita")  # the sign-in page never waits for the replay
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("replaying the procedures, 0 of")
    expect(page.get_by_test_id("building-bar")).to_be_visible()
    expect(page.get_by_test_id("as-of-size")).to_have_count(0)
    check_page(page, artefacts, "building")  # axe-core: the notice as it stands
    page.evaluate("document.getElementById('building').dataset.mark = 'same'")

    half = held.stepper.step()
    expect(notice).to_contain_text(f"replaying the procedures, {half} of")  # in place
    assert page.evaluate("document.getElementById('building').dataset.mark") == "same"

    for _ in range(2):
        held.stepper.go.put("step")
    # the page, by itself (once what the pages derive is prepared: the border zones are
    # computed once per process, seconds on a loaded machine)
    expect(page.get_by_test_id("as-of-size")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("building")).to_have_count(0)
    assert page.url.endswith("/web/today")
    check_page(page, artefacts, "building-done")
    page.context.close()
