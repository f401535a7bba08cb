"""Fixtures of the browser tests: two nodes (Lithuania and Poland) of the workbench's test
network (tests/web/conftest.py: Anakonda-14, the Baltic States' Chapter III case of
2022), each served by its own ``csbm serve`` process on a free 127.0.0.1 port and knowing
the other's real URL; Debian's Chromium driven headless by Playwright (never downloaded);
axe-core (vendored, tests/browser/vendor) in every page.

Screenshots of each page are written to ``test-artifacts/browser/`` (git-ignored; or
``$CSBM_TEST_ARTIFACTS``); the path is printed. With ``CSBM_README_IMAGES=1`` the
Today page and the map are also written to docs/img/ for the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from csbm.accounts.policy import Role
from csbm.node import Node
from csbm.services.peers import add_peer, well_known
from csbm.services.users import add_user
from tests.e2e.servers import Server, _launch, _ready, free_port
from tests.web.conftest import PASSWORD, _fetch, build_network

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CSBM_CHROMIUM") or "/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("CSBM_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "browser"
README_IMAGES = ROOT / "docs" / "img"
#: Poland's account (a reader: the pages a partner's duty officer reads).
PARTNER = "piotr"
#: The page size of every screenshot.
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class Nodes:
    lt: Server
    pl: Server


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; the tests fail (never skip) without it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: the browser tests need it. Install it with "
            "`make browser` (apt-get install chromium) or set CSBM_CHROMIUM.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    root = tmp_path_factory.mktemp("browser-network")
    datas = build_network(root)
    ports = {"LT": free_port(), "PL": free_port()}
    at = datetime.now(UTC)
    with Node.open(datas["LT"]) as lt, Node.open(datas["PL"]) as pl:
        add_peer(lt, "PL", f"http://127.0.0.1:{ports['PL']}", well_known(pl)["fingerprint"],
                 at, _fetch(pl))  # fmt: skip
        add_peer(pl, "LT", f"http://127.0.0.1:{ports['LT']}", well_known(lt)["fingerprint"],
                 at, _fetch(lt))  # fmt: skip
        add_user(pl, PARTNER, Role.READER, at, "test", password=PASSWORD)
    # both start at once, each on the port the other knows it by
    launched = [_launch(datas[code], port=ports[code], exit_after=600) for code in ("LT", "PL")]
    lt_server, pl_server = (_ready(server) for server in launched)
    try:
        yield Nodes(lt_server, pl_server)
    finally:
        lt_server.stop()
        pl_server.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTEFACTS}")
    return ARTEFACTS


def new_page(browser: Browser, *, zone: str = "Europe/Vilnius") -> Page:
    """A fresh browser context (its own cookies) in ``zone``, with axe-core in every
    page (an init script: not subject to the pages' Content-Security-Policy)."""
    context = browser.new_context(viewport=VIEWPORT, timezone_id=zone, locale="en-GB")  # type: ignore[arg-type]
    context.add_init_script(path=str(AXE))
    # 30 s: the servers under test warm their map's geography at start (seconds of CPU
    # each), which a loaded 2-core CI machine shares with the other test worker
    context.set_default_timeout(30_000)
    return context.new_page()


def sign_in(page: Page, base: str, name: str, target: str = "/web/today") -> None:
    """Sign in through the form the way a person does (the page asks first)."""
    page.goto(base + target)
    page.wait_for_url("**/web/login**")
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**" + target.split("?")[0] + "**")


def sign_out(page: Page) -> None:
    page.click("#logout")
    page.wait_for_url("**/web/login**")


AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    resultTypes: ["violations"],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as it stands."""
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def check_page(page: Page, artefacts: Path, name: str) -> None:
    """Screenshot the page (an artefact) and assert axe-core finds nothing serious."""
    page.screenshot(path=str(artefacts / f"{name}.png"), full_page=True)
    violations = serious_violations(page)
    assert not violations, f"{name}: accessibility violations: {violations}"


def readme_image(page: Page, name: str) -> None:
    """Write the README's screenshot ``docs/img/NAME.png`` when asked to
    (``CSBM_README_IMAGES=1``); the suite leaves the tree alone otherwise."""
    if os.environ.get("CSBM_README_IMAGES") == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_IMAGES / f"{name}.png"))
