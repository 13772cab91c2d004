"""The figures page in a real browser: the charts draw under the CSP, the filters work, the
CSV link carries them; a bad date is explained beside the form."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from civitas.kit import clock
from civitas.mediation.models import DisputeType, Stage, Tier
from tests.e2e.session import PASSWORD
from tests.mediation.conftest import med  # noqa: F401
from tests.mediation.figures_data import dispute, resolved

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_figures_page(
    live_server: Any,
    page: Any,
    med: dict[str, Any],  # noqa: F811 - the fixture imported above
    screenshots: Path,
) -> None:
    now = clock.now()
    resolved(med, "T-D1-S1-C1", now - timedelta(days=40), 12, tier=Tier.COMMUNITY)
    resolved(
        med,
        "T-D1-S2-C1",
        now - timedelta(days=60),
        25,
        type=DisputeType.LABOUR,
        stages=[(Tier.COMMUNITY, Stage.Result.FAILED)],
    )
    dispute(med, "T-D2-S1-C1", received=now - timedelta(days=3), type=DisputeType.FAMILY)

    base = live_server.url
    page.goto(f"{base}/login/?next=/mediation/figures/")
    page.fill("#id_username", "analyst-city")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/mediation/figures/$"))
    assert page.inner_text('[data-figure="received"]') == "3"
    assert page.inner_text('[data-figure="resolved"]') == "2"
    page.wait_for_selector('#table-type .med-chart[data-ready="true"]')
    page.wait_for_selector('#escalations .med-chart[data-ready="true"]')
    page.screenshot(path=str(screenshots / "mediation-figures.png"), full_page=True)

    page.select_option("#f-area", "T-D2")
    page.click("#figures-filters button[type=submit]")
    page.wait_for_url(re.compile(r"area=T-D2"))
    assert page.inner_text('[data-figure="received"]') == "1"
    assert "area=T-D2" in (page.get_attribute("#figures-csv", "href") or "")

    page.fill("#f-from", "2026-12-31")
    page.fill("#f-to", "2026-01-01")
    page.click("#figures-filters button[type=submit]")
    page.wait_for_selector("#figures-error")
    assert page.get_attribute("#figures-error", "data-field") == "from"
    assert page.get_attribute("#f-from", "aria-invalid") == "true"
    # Only the refused filter (HTTP 422) may show among the problems.
    assert all("422" in p for p in page.problems.items), page.problems.items
