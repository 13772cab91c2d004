"""A grant's life in a real browser (issue 7): a street office's analyst asks for a market
bureau's inspections, the bureau's leader approves, the analyst reads the data (the phone
numbers partly hidden), the leader revokes the grant, the analyst is refused at once, and the
leader finds both the read and the refused attempt in the usage log."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.hub.models import AccessLog, Grant, GrantStatus
from civitas.kit import audit
from tests.e2e.session import sign_in, sign_out
from tests.hub import helpers
from tests.hub.conftest import hub  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_ask_approve_read_revoke(
    live_server: Any,
    page: Any,
    hub: dict[str, Any],  # noqa: F811 - the fixture imported above
    screenshots: Path,
) -> None:
    base = live_server.url
    rows = helpers.inspection_rows(8)
    helpers.put_records(hub["dataset"], rows)

    # The analyst finds the dataset and asks for three fields.
    sign_in(page, base, "analyst1", "/hub/datasets/t-inspections/")
    page.click("#ask-access")
    page.wait_for_url(re.compile(r"/hub/datasets/t-inspections/request/$"))
    for name in ("enterprise", "phone", "result"):
        page.check(f"#f-{name}")
    page.fill("#id_purpose", "checking shops before the street fair")
    page.fill("#id_legal_basis", "Food Safety Law art. 87")
    page.screenshot(path=str(screenshots / "hub-grant-request.png"), full_page=True)
    page.click("#grant-request button[type=submit]")
    page.wait_for_url(re.compile(r"/hub/grants/\d+/$"))
    g = Grant.objects.get()
    assert g.status == GrantStatus.REQUESTED and g.fields == ["enterprise", "phone", "result"]
    assert "Requested" in page.locator("#grant-status").inner_text()
    sign_out(page)

    # The bureau's leader finds it waiting and approves it.
    sign_in(page, base, "mleader", "/hub/grants/")
    assert page.locator("#tab-decide").get_attribute("aria-current") == "page"
    page.click(f'tr[data-grant="{g.pk}"] a')
    page.wait_for_url(re.compile(rf"/hub/grants/{g.pk}/$"))
    page.screenshot(path=str(screenshots / "hub-grant-decide.png"), full_page=True)
    page.fill("#a-note", "for the fair week")
    page.click("#form-approve button[type=submit]")
    page.wait_for_url(re.compile(rf"/hub/grants/{g.pk}/$"))
    assert "Approved" in page.locator("#grant-status").inner_text()
    assert page.locator("#grant-history").inner_text().count("Approved") == 1
    sign_out(page)

    # The analyst reads the data: the granted fields only, the phones partly hidden.
    sign_in(page, base, "analyst1", f"/hub/grants/{g.pk}/")
    page.click("#read-link")
    page.wait_for_url(re.compile(rf"/hub/datasets/t-inspections/data/\?grant={g.pk}$"))
    table = page.locator("#records")
    assert table.locator("tbody tr").count() == len(rows)
    text = page.locator("main").inner_text()
    for row in rows:
        assert row["enterprise"] in text
        assert row["phone"] not in text and row["address"] not in text
    masked = rows[0]["phone"][:3] + "****" + rows[0]["phone"][-4:]
    cell = table.locator("td.masked", has_text=masked)
    assert cell.count() == 1
    assert page.locator("#legend").is_visible()
    page.screenshot(path=str(screenshots / "hub-data.png"), full_page=True)
    assert AccessLog.objects.filter(grant=g, channel="page").count() == 1
    sign_out(page)

    # The owner revokes it; the analyst is refused at once.
    sign_in(page, base, "mleader", f"/hub/grants/{g.pk}/")
    page.fill("#v-reason", "the fair is over")
    page.click("#form-revoke button[type=submit]")
    page.wait_for_url(re.compile(rf"/hub/grants/{g.pk}/$"))
    assert "Revoked" in page.locator("#grant-status").inner_text()
    sign_out(page)

    sign_in(page, base, "analyst1", f"/hub/grants/{g.pk}/")
    assert page.locator("#read-link").count() == 0
    assert "the fair is over" in page.locator("main").inner_text()
    response = page.goto(f"{base}/hub/datasets/t-inspections/data/?grant={g.pk}")
    assert response is not None and response.status == 403
    refusal = page.locator("#no-access").inner_text()
    assert "The owner revoked this grant" in refusal and "the fair is over" in refusal
    assert rows[0]["enterprise"] not in page.locator("main").inner_text()
    assert page.locator("#ask-link").is_visible()
    refused = AccessLog.objects.latest("pk")
    assert refused.query.get("refused") and refused.rows == 0
    sign_out(page)

    # The owner sees who used the data: the read, and the refused attempt after revoking.
    sign_in(page, base, "mleader", "/hub/datasets/t-inspections/")
    page.click("#usage-link")
    page.wait_for_url(re.compile(r"/hub/datasets/t-inspections/usage/$"))
    assert page.locator("table.usage tbody tr").count() == 2
    assert page.locator("table.usage tr.refused-row").count() == 1
    assert "Street 11 Office" in page.locator("#usage-totals").inner_text()
    page.screenshot(path=str(screenshots / "hub-usage.png"), full_page=True)
    # Nothing else went wrong on the way (the 403 above is the one expected).
    problems = [p for p in page.problems.items if "403" not in p]
    assert problems == []
    assert audit.verify().ok
