"""A printed form as PDF: the HTML of :func:`csbm.forms.render_html` printed by headless
Chromium (Playwright's ``page.pdf``, the DevTools protocol's ``Page.printToPDF``).

Source: issue 12, item 3 (a PDF of a notification in its numbered-field official form,
reusing ``csbm render``). The browser is the system's Chromium (Debian's
``/usr/bin/chromium``, or ``$CSBM_CHROMIUM``): Playwright never downloads one here. No
network: the page is set from a string and every request it makes is refused, so a form
prints the same offline as online, and nothing it holds can reach out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from csbm.errors import CsbmError

__all__ = ["PdfUnavailable", "chromium_path", "html_to_pdf"]

#: Where Debian installs Chromium (``apt-get install chromium``; ``make browser``).
DEFAULT_CHROMIUM = "/usr/bin/chromium"


@dataclass
class PdfUnavailable(CsbmError):
    """No browser to print with (a 503: the server lacks a tool, the request is fine)."""

    code: str = "pdf.unavailable"
    http_status: ClassVar[int] = 503


def chromium_path() -> Path:
    """The Chromium executable: ``$CSBM_CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    return Path(os.environ.get("CSBM_CHROMIUM") or DEFAULT_CHROMIUM)


def html_to_pdf(html: str, *, timeout: float = 30.0) -> bytes:
    """``html`` (a complete document) printed to PDF, A4, with its own print CSS and
    backgrounds; tagged and outlined by its headings. Raises :class:`PdfUnavailable` when
    Chromium or Playwright is missing or the print fails."""
    executable = chromium_path()
    if not os.access(executable, os.X_OK):
        raise PdfUnavailable(
            message=f"no Chromium at {executable}: install it (apt-get install chromium, "
            "or make browser) or set CSBM_CHROMIUM"
        )
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import Route, sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is in requirements.lock
        raise PdfUnavailable(message=f"Playwright is not installed: {exc}") from None

    def refuse(route: Route) -> None:
        route.abort()

    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=str(executable), headless=True, timeout=timeout * 1000
            )
            try:
                context = browser.new_context(java_script_enabled=False, offline=True)
                context.route("**/*", refuse)
                page = context.new_page()
                page.set_content(html, wait_until="load", timeout=timeout * 1000)
                return page.pdf(
                    format="A4",
                    print_background=True,
                    margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"},
                    tagged=True,
                    outline=True,
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PdfUnavailable(message=f"Chromium could not print the form: {exc.message}") from None
