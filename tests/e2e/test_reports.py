"""A judgment report in a real browser: the charts draw on canvases and the PDF downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from civitas.kit import clock
from tests.risk import report_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
CHARTS = ("days", "channels", "matters", "places", "risks")


@pytest.fixture
def week(city: dict[str, Any], settings: Any) -> Iterator[dict[str, Any]]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    made = report_data.build(city)
    # Monday of week 49: the default report is week 47, the latest complete one with data.
    with clock.frozen(report_data.local(report_data.monday(49))):
        yield made


def test_report_charts_and_pdf(live_server: Any, page: Any, week: Any, screenshots: Path) -> None:
    base = live_server.url
    page.goto(f"{base}/risk/reports/")
    assert "/login/" in page.url
    page.fill("#id_username", "city-dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/risk/reports/$"))
    assert "Week 47 of 2026" in page.locator("h1").inner_text()
    for name in CHARTS:
        page.wait_for_selector(f"#chart-{name}[data-ready=true] canvas")
        box = page.locator(f"#chart-{name} canvas").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    painted = page.evaluate(
        """() => {
          const c = document.querySelector('#chart-days canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4 * 20) { if (d[i] > 0) n++; }
          return n;
        }"""
    )
    assert painted > 100, "the chart of appeals per day is blank"
    assert "Testville received 11 appeals" in page.locator("#summary").inner_text()
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#report-pdf")
    download = info.value
    assert download.suggested_filename == "report-T-2026-W47-en.pdf"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert "Judgment report" in text and "Testville" in text

    # Another week from the list of periods.
    page.click(".report-periods a:text('2026-W46')")
    page.wait_for_url(re.compile(r"/risk/reports/week/2026-W46/"))
    page.wait_for_selector("#chart-days[data-ready=true] canvas")
    assert page.problems.items == []
