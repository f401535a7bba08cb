"""What the browser tests stand on: the vendored axe-core (by digest), the PDF printer
(:mod:`csbm.forms.pdf`) and the test's PDF reader, the web warm-up."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from csbm.forms.pdf import PdfUnavailable, html_to_pdf
from tests.browser.pdftext import _own, pdf_text

VENDOR = Path(__file__).resolve().parent / "vendor"


def test_vendored_axe_core_is_the_package_file() -> None:
    provenance = (VENDOR / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", provenance, re.M)
    assert {name for _digest, name in listed} == {"axe-core/axe.min.js", "axe-core/LICENSE"}
    for digest, name in listed:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "Mozilla Public License" in (VENDOR / "axe-core" / "LICENSE").read_text()


def test_a_form_prints_to_a_pdf_whose_text_reads_back(chromium: Path) -> None:
    html = (
        '<!DOCTYPE html><html lang="ru"><head><title>Уведомление</title></head><body>'
        "<h1>Уведомление A.1</h1><table><tr><td>B.2</td><td>Войска: 12 900</td></tr>"
        "</table><img src='http://127.0.0.1:9/tracker.png' alt=''></body></html>"
    )
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF-") and b"/Title" in pdf
    for text in (_own(pdf), pdf_text(pdf)):
        squeezed = re.sub(r"\s+", "", text)
        assert "УведомлениеA.1" in squeezed and "B.2" in squeezed, text
        assert "Войска:12900" in squeezed, text


def test_no_browser_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CSBM_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(PdfUnavailable) as refused:
        html_to_pdf("<p>x</p>")
    assert refused.value.code == "pdf.unavailable" and refused.value.http_status == 503
    assert "no Chromium at" in refused.value.message


def test_the_workbench_warms_its_geography_once() -> None:
    from csbm.geo.zone import zone_of_application
    from csbm.services.map import borders_geojson
    from csbm.web import warm_up

    thread = warm_up()
    assert warm_up() is thread  # once per process
    thread.join(120)
    assert not thread.is_alive()
    assert zone_of_application.cache_info().currsize >= 1
    assert borders_geojson.cache_info().currsize >= 1
