"""The hub's access pages through the test client: who may open each page, what the data page
shows (never an ungranted field, row or clear value), that every read is logged, the CSV
export, the decisions on a grant, and both languages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from civitas.hub import forms_access, grants, query, views_access
from civitas.hub.models import AccessChannel, AccessLog, Grant, GrantStatus, Sharing
from civitas.kit import audit, clock
from tests.hub import helpers

pytestmark = pytest.mark.django_db

ROLES = [
    "steward",
    "owner_leader",
    "owner_handler",
    "consumer",
    "consumer_leader",
    "consumer_handler",
    "outsider",
    "auditor",
    "resident",
]
PURPOSE = "checking shops before the street fair"


def client_for(user: Any, lang: str = "en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["civitas_language"] = lang
    return c


def html(response: Any) -> str:
    return response.content.decode()


def ask(
    hub: dict[str, Any],
    fields: list[str] | None = None,
    *,
    clear: list[str] | None = None,
    area: Any = None,
    days: int = 90,
) -> Grant:
    with transaction.atomic():
        return grants.request_grant(
            hub["consumer"],
            hub["dataset"],
            consumer=hub["street"],
            fields=fields or ["enterprise", "phone", "result"],
            clear_fields=clear or [],
            area=area,
            purpose=PURPOSE,
            legal_basis="Food Safety Law art. 87",
            expires_at=clock.now() + timedelta(days=days),
        )


def approve(hub: dict[str, Any], g: Grant) -> Grant:
    with transaction.atomic():
        return grants.approve(hub["owner_leader"], g, version=g.version)


def granted(hub: dict[str, Any], fields: list[str] | None = None, **kw: Any) -> Grant:
    return approve(hub, ask(hub, fields, **kw))


@pytest.fixture
def rows(hub: dict[str, Any]) -> list[dict[str, Any]]:
    made = helpers.inspection_rows(8)
    helpers.put_records(hub["dataset"], made)
    return made


def data_url(hub: dict[str, Any], **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/hub/datasets/{hub['dataset'].code}/data/" + (f"?{query}" if query else "")


# -- who may open what ---------------------------------------------------------------------

EXPECTED = {
    #                   request grants grant data usage
    "steward": (200, 200, 200, 200, 200),
    "owner_leader": (200, 200, 200, 200, 200),
    "owner_handler": (403, 200, 200, 403, 403),
    "consumer": (200, 200, 200, 200, 403),
    "consumer_leader": (200, 200, 200, 200, 403),
    "consumer_handler": (403, 200, 200, 200, 403),
    "outsider": (403, 200, 404, 403, 403),
    "auditor": (403, 200, 200, 403, 200),
    "resident": (403, 403, 403, 403, 403),
}


class TestWhoMayOpenWhat:
    @pytest.mark.parametrize("role", ROLES)
    def test_each_page_for_each_role(
        self, hub: dict[str, Any], rows: list[dict[str, Any]], role: str
    ) -> None:
        g = granted(hub)
        code = hub["dataset"].code
        c = client_for(hub[role])
        got = tuple(
            c.get(url).status_code
            for url in (
                f"/hub/datasets/{code}/request/",
                "/hub/grants/",
                f"/hub/grants/{g.pk}/",
                f"/hub/datasets/{code}/data/",
                f"/hub/datasets/{code}/usage/",
            )
        )
        assert got == EXPECTED[role]

    def test_anonymous_people_are_sent_to_sign_in(self, hub: dict[str, Any]) -> None:
        r = Client().get("/hub/grants/")
        assert r.status_code == 302 and "/login/" in r["Location"]

    @pytest.mark.parametrize("page", ["request", "data", "usage"])
    def test_an_unknown_dataset_is_not_found(self, hub: dict[str, Any], page: str) -> None:
        assert client_for(hub["steward"]).get(f"/hub/datasets/nope/{page}/").status_code == 404

    def test_another_citys_staff_do_not_see_the_dataset(self, hub: dict[str, Any]) -> None:
        """The catalogue is the city's: a grant number of another city's dataset is 404."""
        g = ask(hub)
        c = client_for(hub["outsider"])
        assert c.get(f"/hub/grants/{g.pk}/").status_code == 404
        assert c.post(f"/hub/grants/{g.pk}/approve/", {"version": g.version}).status_code == 404


# -- asking for a grant --------------------------------------------------------------------


class TestAsking:
    def test_the_form_lists_fields_with_type_sensitivity_and_clear_choice(
        self, hub: dict[str, Any]
    ) -> None:
        page = html(client_for(hub["consumer"]).get("/hub/datasets/t-inspections/request/"))
        for name, *_ in helpers.INSPECTION_FIELDS:
            assert f'name="columns" value="{name}"' in page
        # clear values only for sensitive and secret fields; identity numbers never
        assert 'name="clear_fields" value="phone"' in page
        assert 'name="clear_fields" value="fine"' in page
        assert 'name="clear_fields" value="enterprise"' not in page
        assert 'name="clear_fields" value="legal_rep_id"' not in page
        assert "sens-secret" in page and "sens-sensitive" in page and "sens-public" in page
        assert "the owner must justify granting it" in page
        # the one unit the analyst asks for is preselected; the area lists the districts
        assert re.search(rf'<option value="{hub["street"].pk}" selected>', page)
        assert 'value="T-D1-S1"' in page and "North 1 District" in page
        # a year ahead by default
        default = (clock.today() + timedelta(days=365)).isoformat()  # the city's day
        assert f'value="{default}"' in page

    def test_a_large_area_is_offered_down_to_the_depth_that_fits(
        self, hub: dict[str, Any], monkeypatch: Any
    ) -> None:
        url = "/hub/datasets/t-inspections/request/"
        page = html(client_for(hub["consumer"]).get(url))
        assert 'value="T-D2-S2-C2"' in page  # 15 places: all of them
        monkeypatch.setattr(forms_access, "MAX_AREAS", 10)
        page = html(client_for(hub["consumer"]).get(url))
        assert 'value="T-D2-S2"' in page and 'value="T-D1-S1-C1"' not in page

    def test_a_request_is_sent_and_shown(self, hub: dict[str, Any]) -> None:
        c = client_for(hub["consumer"])
        expires = (clock.now() + timedelta(days=100)).date().isoformat()
        r = c.post(
            "/hub/datasets/t-inspections/request/",
            {
                "consumer": hub["street"].pk,
                "columns": ["enterprise", "phone", "result"],
                "clear_fields": ["phone"],
                "area": "T-D1-S1",
                "purpose": PURPOSE,
                "legal_basis": "Food Safety Law art. 87",
                "expires_at": expires,
            },
        )
        g = Grant.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/hub/grants/{g.pk}/"
        assert g.fields == ["enterprise", "phone", "result"] and g.clear_fields == ["phone"]
        assert g.area is not None and g.area.code == "T-D1-S1"
        assert g.status == GrantStatus.REQUESTED
        page = html(c.get(r["Location"]))
        assert "Your request was sent to Market Supervision Bureau" in page
        assert "Requested" in page and 'id="form-withdraw"' in page
        assert 'id="form-approve"' not in page  # the consumer does not decide

    def test_errors_are_shown_next_to_the_fields(self, hub: dict[str, Any]) -> None:
        r = client_for(hub["consumer"]).post(
            "/hub/datasets/t-inspections/request/",
            {
                "consumer": hub["street"].pk,
                "clear_fields": ["phone"],
                "purpose": "",
                "legal_basis": "x",
                "expires_at": "2001-01-01",
            },
        )
        assert r.status_code == 422
        page = html(r)
        assert "Choose at least one field." in page
        assert "A clear value can only be asked for a field you ask for: phone." in page
        assert "Choose a day after today." in page
        # what was ticked stays ticked
        assert 'value="phone" checked' in page
        assert not Grant.objects.exists()

    def test_a_refusal_of_the_service_is_shown_beside_its_field(
        self, hub: dict[str, Any], settings: Any
    ) -> None:
        settings.CIVITAS_HUB_MAX_GRANT_DAYS = 30
        r = client_for(hub["consumer"]).post(
            "/hub/datasets/t-inspections/request/",
            {
                "consumer": hub["street"].pk,
                "columns": ["enterprise"],
                "purpose": PURPOSE,
                "legal_basis": "law",
                "expires_at": (clock.now() + timedelta(days=200)).date().isoformat(),
            },
        )
        assert r.status_code == 422
        assert re.search(r'has-error">\s*<label for="id_expires_at"', html(r))
        assert "at most 30 days" in html(r)

    def test_a_dataset_that_is_not_shareable_offers_no_form(self, hub: dict[str, Any]) -> None:
        ds = hub["dataset"]
        ds.sharing = Sharing.NOT_SHAREABLE
        ds.save(update_fields=["sharing"])
        r = client_for(hub["consumer"]).get("/hub/datasets/t-inspections/request/")
        assert r.status_code == 200
        assert "This dataset is not shareable" in html(r) and 'id="grant-request"' not in html(r)
        assert (
            client_for(hub["consumer"])
            .post("/hub/datasets/t-inspections/request/", {"consumer": hub["street"].pk})
            .status_code
            == 200
        )
        assert not Grant.objects.exists()

    def test_the_owner_is_told_it_needs_no_grant(self, hub: dict[str, Any]) -> None:
        page = html(client_for(hub["steward"]).get("/hub/datasets/t-inspections/request/"))
        assert "Your unit owns this dataset" in page and 'id="grant-request"' not in page


# -- a unit's grants -----------------------------------------------------------------------


class TestGrantList:
    def test_consumer_sees_its_grants_and_owner_what_to_decide(self, hub: dict[str, Any]) -> None:
        waiting = ask(hub)
        done = granted(hub, ["enterprise"])
        mine = html(client_for(hub["consumer"]).get("/hub/grants/"))
        assert f'data-grant="{waiting.pk}"' in mine and f'data-grant="{done.pk}"' in mine
        assert 'id="tab-decide"' not in mine
        owner = html(client_for(hub["owner_leader"]).get("/hub/grants/"))
        assert 'id="tab-decide" aria-current="page"' in owner  # opens on what waits
        assert f'data-grant="{waiting.pk}"' in owner and f'data-grant="{done.pk}"' not in owner
        given = html(client_for(hub["owner_leader"]).get("/hub/grants/?tab=given"))
        assert f'data-grant="{waiting.pk}"' in given and f'data-grant="{done.pk}"' in given
        other = html(client_for(hub["outsider"]).get("/hub/grants/"))
        assert "data-grant=" not in other

    def test_filters_by_status_and_dataset(self, hub: dict[str, Any]) -> None:
        waiting = ask(hub)
        done = granted(hub, ["enterprise"])
        c = client_for(hub["consumer"])
        page = html(c.get("/hub/grants/?tab=mine&status=approved"))
        assert f'data-grant="{done.pk}"' in page and f'data-grant="{waiting.pk}"' not in page
        page = html(c.get("/hub/grants/?tab=mine&dataset=other"))
        assert "data-grant=" not in page
        # an approved grant past its expiry is listed as expired
        with clock.frozen(clock.now() + timedelta(days=120)):
            page = html(c.get("/hub/grants/?tab=mine&status=expired"))
        assert f'data-grant="{done.pk}"' in page and "grant-expired" in page


# -- deciding ------------------------------------------------------------------------------


class TestDeciding:
    def test_the_owner_approves_and_the_consumer_sees_it(self, hub: dict[str, Any]) -> None:
        g = ask(hub, clear=["phone"])
        c = client_for(hub["owner_leader"])
        page = html(c.get(f"/hub/grants/{g.pk}/"))
        assert 'id="form-approve"' in page and 'id="form-refuse"' in page
        assert "The request asks for clear values" in page
        assert 'id="form-withdraw"' not in page
        r = c.post(f"/hub/grants/{g.pk}/approve/", {"version": g.version, "text": "fair week"})
        assert r.status_code == 302
        g.refresh_from_db()
        assert g.status == GrantStatus.APPROVED
        page = html(client_for(hub["consumer"]).get(f"/hub/grants/{g.pk}/"))
        assert "Approved" in page and 'id="read-link"' in page
        assert 'data-field="phone"' in page and "clear value" in page

    def test_a_second_decider_on_a_changed_grant_is_told(self, hub: dict[str, Any]) -> None:
        g = ask(hub)
        seen = g.version
        client_for(hub["owner_leader"]).post(f"/hub/grants/{g.pk}/approve/", {"version": seen})
        r = client_for(hub["steward"]).post(
            f"/hub/grants/{g.pk}/refuse/", {"version": seen, "text": "no"}
        )
        assert r.status_code == 409
        assert "Someone else acted on this grant first" in html(r)
        g.refresh_from_db()
        assert g.status == GrantStatus.APPROVED

    def test_refusing_and_revoking_need_a_reason(self, hub: dict[str, Any]) -> None:
        g = ask(hub)
        c = client_for(hub["owner_leader"])
        r = c.post(f"/hub/grants/{g.pk}/refuse/", {"version": g.version, "text": " "})
        assert r.status_code == 422 and "Give the reason" in html(r)
        r = c.post(
            f"/hub/grants/{g.pk}/refuse/", {"version": g.version, "text": "purpose too vague"}
        )
        assert r.status_code == 302
        page = html(client_for(hub["consumer"]).get(f"/hub/grants/{g.pk}/"))
        assert "purpose too vague" in page and "Refused" in page

    def test_the_consumer_withdraws_but_cannot_decide(self, hub: dict[str, Any]) -> None:
        g = ask(hub)
        c = client_for(hub["consumer"])
        r = c.post(f"/hub/grants/{g.pk}/approve/", {"version": g.version})
        assert r.status_code == 403
        g.refresh_from_db()
        assert g.status == GrantStatus.REQUESTED
        assert c.post(f"/hub/grants/{g.pk}/withdraw/", {"version": g.version}).status_code == 302
        g.refresh_from_db()
        assert g.status == GrantStatus.WITHDRAWN

    def test_revoking_shows_the_reason_and_stops_the_reading(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        r = client_for(hub["owner_leader"]).post(
            f"/hub/grants/{g.pk}/revoke/", {"version": g.version, "text": "fair is over"}
        )
        assert r.status_code == 302
        c = client_for(hub["consumer"])
        page = html(c.get(f"/hub/grants/{g.pk}/"))
        assert "fair is over" in page and 'id="read-link"' not in page
        assert "Revoked" in page
        r = c.get(data_url(hub, grant=g.pk))
        assert r.status_code == 403 and "The owner revoked this grant" in html(r)
        assert "Shop 1" not in html(r)

    def test_an_unknown_action_is_not_found(self, hub: dict[str, Any]) -> None:
        g = ask(hub)
        r = client_for(hub["owner_leader"]).post(f"/hub/grants/{g.pk}/explode/", {"version": 1})
        assert r.status_code == 404

    def test_both_sides_see_the_recent_uses(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        client_for(hub["consumer"]).get(data_url(hub, case_ref="FAIR-7"))
        for role in ("consumer", "consumer_handler", "owner_leader", "auditor"):
            page = html(client_for(hub[role]).get(f"/hub/grants/{g.pk}/"))
            assert 'id="grant-uses"' in page and "FAIR-7" in page, role
        page = html(client_for(hub["owner_handler"]).get(f"/hub/grants/{g.pk}/"))
        assert 'id="grant-uses"' not in page


# -- reading the data ----------------------------------------------------------------------


def _clear_values(row: dict[str, Any]) -> list[str]:
    """Values of a row that must never reach the page unless granted in clear."""
    return [row["phone"], row["address"], row["credit_code"], row["legal_rep_id"]]


class TestData:
    def test_only_granted_fields_masked_as_granted(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        granted(hub)  # enterprise, phone (sensitive, masked), result
        r = client_for(hub["consumer"]).get(data_url(hub))
        assert r.status_code == 200
        page = html(r)
        for row in rows:
            assert row["enterprise"] in page
            for value in _clear_values(row):
                assert value not in page, value
            masked = row["phone"][:3] + "****" + row["phone"][-4:]
            assert f'<td class="masked">{masked}</td>' in page
        assert 'id="legend"' in page
        assert not re.search(r"pk_[0-9a-f]{32}", page)  # identity keys: not granted
        assert 'data-field="address"' not in page and 'data-field="fine"' not in page
        for n in range(1, 6):
            assert helpers.person_id(n) not in page

    def test_a_clear_grant_shows_the_clear_value(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        granted(hub, ["enterprise", "phone", "legal_rep_id"], clear=["phone"])
        page = html(client_for(hub["consumer"]).get(data_url(hub)))
        for row in rows:
            assert row["phone"] in page
            assert row["address"] not in page
        # identity numbers are pseudonymous keys, shown as keys, never as the number
        assert re.search(r'<td class="key">pk_[0-9a-f]{32}</td>', page)
        for n in range(1, 6):
            assert helpers.person_id(n) not in page

    def test_rows_outside_the_granted_area_never_show(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        area = hub["city"]["T-D1-S1"]
        granted(hub, area=area)
        c = client_for(hub["consumer"])
        page = html(c.get(data_url(hub)))
        inside = [r for r in rows if 0 <= r["lon"] < 1]
        assert inside and len(inside) < len(rows)
        for row in rows:
            shown = f">{row['enterprise']}<" in page
            assert shown == (row in inside), row["enterprise"]
        # the area select offers only places inside the grant
        assert 'value="T-D1-S1-C1"' in page and 'value="T-D2"' not in page
        r = c.get(data_url(hub, area="T-D2"))
        assert r.status_code == 403 and "outside the area of your grant" in html(r)

    def test_an_expired_grant_shows_no_data(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub, days=10)
        with clock.frozen(clock.now() + timedelta(days=11)):
            c = client_for(hub["consumer"])
            r = c.get(data_url(hub))
            assert r.status_code == 403 and "Shop 1" not in html(r)
            assert "holds no grant in force" in html(r)
            r = c.get(data_url(hub, grant=g.pk))
            assert r.status_code == 403 and "This grant expired on" in html(r)
            assert "Shop 1" not in html(r)

    def test_someone_without_a_grant_sees_why_and_a_link_to_ask(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        ask(hub)  # requested, not decided
        r = client_for(hub["consumer_leader"]).get(data_url(hub))
        assert r.status_code == 403
        page = html(r)
        assert "holds no grant in force" in page and 'id="ask-link"' in page
        assert "Requested" in page  # the unit's waiting request is listed
        assert "Shop 1" not in page
        # a handler may read through grants but not ask: told so, no link
        page = html(client_for(hub["outsider"]).get(data_url(hub)))
        assert 'id="ask-link"' not in page and "Only a unit's leaders" in page

    def test_another_units_grant_number_gives_nothing(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        r = client_for(hub["outsider"]).get(data_url(hub, grant=g.pk))
        assert r.status_code == 403 and "Shop 1" not in html(r)
        r = client_for(hub["outsider"]).get(data_url(hub, grant="x"))
        assert r.status_code == 403

    def test_every_page_view_logs_one_read(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        c = client_for(hub["consumer"])
        before = AccessLog.objects.count()
        c.get(data_url(hub, case_ref="FAIR-7", purpose="stall permits"))
        assert AccessLog.objects.count() == before + 1
        log = AccessLog.objects.latest("pk")
        assert (log.grant_id, log.channel, log.rows) == (g.pk, AccessChannel.PAGE, len(rows))
        assert (log.purpose, log.case_ref, log.user_id) == (
            "stall permits",
            "FAIR-7",
            hub["consumer"].pk,
        )
        c.get(data_url(hub))
        assert AccessLog.objects.count() == before + 2
        assert AccessLog.objects.latest("pk").purpose == PURPOSE  # the grant's by default
        # a refused attempt is logged too
        client_for(hub["outsider"]).get(data_url(hub))
        refused = AccessLog.objects.latest("pk")
        assert AccessLog.objects.count() == before + 3
        assert "refused" in refused.query and refused.rows == 0
        assert audit.verify().ok

    def test_pages_follow_the_keyset_cursor(self, hub: dict[str, Any]) -> None:
        many = helpers.inspection_rows(130)
        helpers.put_records(hub["dataset"], many)
        granted(hub)
        c = client_for(hub["consumer"])
        first = html(c.get(data_url(hub)))
        assert first.count("<tr data-id=") == 100 and "130 records match." in first
        m = re.search(r'href="(\?[^"]*after=\d+[^"]*)" rel="next"', first)
        assert m
        second = html(c.get(data_url(hub) + m[1].replace("&amp;", "&")))
        assert second.count("<tr data-id=") == 30 and 'rel="next"' not in second
        ids_1 = set(re.findall(r'<tr data-id="(\d+)"', first))
        ids_2 = set(re.findall(r'<tr data-id="(\d+)"', second))
        assert not ids_1 & ids_2 and len(ids_1 | ids_2) == 130

    def test_the_owner_reads_its_own_data_in_clear(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        page = html(client_for(hub["steward"]).get(data_url(hub)))
        assert rows[0]["phone"] in page and "Your unit owns this dataset" in page
        assert AccessLog.objects.latest("pk").channel == AccessChannel.OWNER


class TestExport:
    def test_csv_escapes_formulas_and_carries_chinese(self, hub: dict[str, Any]) -> None:
        made = helpers.inspection_rows(5)
        made[0]["enterprise"] = '=HYPERLINK("http://evil.example","x")'
        made[1]["enterprise"] = "+86 shop"
        made[2]["enterprise"] = "-minus"
        made[3]["enterprise"] = "@sum"
        made[4]["enterprise"] = "榆树小卖部"
        helpers.put_records(hub["dataset"], made)
        g = granted(hub)
        before = AccessLog.objects.count()
        r = client_for(hub["consumer"]).post(
            "/hub/datasets/t-inspections/data/export/",
            {"grant": g.pk, "case_ref": "FAIR-7", "purpose": "fair"},
        )
        assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
        assert "attachment" in r["Content-Disposition"]
        body = r.content.decode("utf-8")
        assert body.startswith("\ufeff")
        table = list(csv.reader(io.StringIO(body[1:])))
        assert table[0] == ["area", "enterprise", "phone", "result"]
        names = {row[1] for row in table[1:]}
        assert '\'=HYPERLINK("http://evil.example","x")' in names
        assert {"'+86 shop", "'-minus", "'@sum", "榆树小卖部"} <= names
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
        assert all("****" in row[2] for row in table[1:])  # masked as on the page
        log = AccessLog.objects.latest("pk")
        assert AccessLog.objects.count() == before + 1
        assert (log.channel, log.rows, log.case_ref) == (AccessChannel.EXPORT, 5, "FAIR-7")

    def test_a_long_export_is_read_page_by_page_up_to_the_cap(
        self, hub: dict[str, Any], monkeypatch: Any
    ) -> None:
        helpers.put_records(hub["dataset"], helpers.inspection_rows(130))
        g = granted(hub)
        monkeypatch.setattr(query, "MAX_PAGE", 50)
        c = client_for(hub["consumer"])
        url = "/hub/datasets/t-inspections/data/export/"
        table = list(csv.reader(io.StringIO(c.post(url, {"grant": g.pk}).content.decode()[1:])))
        assert len(table) == 131 and len({row[1] for row in table[1:]}) == 130
        logs = AccessLog.objects.filter(channel=AccessChannel.EXPORT).order_by("pk")
        assert [log.rows for log in logs] == [50, 50, 30]
        monkeypatch.setattr(views_access, "EXPORT_ROWS", 70)
        table = list(csv.reader(io.StringIO(c.post(url, {"grant": g.pk}).content.decode()[1:])))
        assert len(table) == 71

    def test_no_export_without_a_grant(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        r = client_for(hub["outsider"]).post("/hub/datasets/t-inspections/data/export/", {})
        assert r.status_code == 403 and b"Shop 1" not in r.content
        assert (
            client_for(hub["consumer"]).get("/hub/datasets/t-inspections/data/export/").status_code
            == 405
        )


# -- who used the data ---------------------------------------------------------------------


class TestUsage:
    def test_the_owner_sees_reads_refusals_and_totals(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        client_for(hub["consumer"]).get(data_url(hub, case_ref="FAIR-7"))
        client_for(hub["consumer_handler"]).get(data_url(hub))
        client_for(hub["outsider"]).get(data_url(hub))
        page = html(client_for(hub["owner_leader"]).get("/hub/datasets/t-inspections/usage/"))
        assert page.count(" data-log=") == 3
        assert "FAIR-7" in page and f'href="/hub/grants/{g.pk}/"' in page
        assert 'class="refused-row"' in page and "no grant in force" in page
        assert "no_grant" not in page and "page_size" not in page  # in words, not raw keys
        assert "rows asked: 100" in page
        m = re.search(r'<tr data-unit="T-D1-S1-OFFICE">(.*?)</tr>', page, re.S)
        assert m and re.findall(r'<td class="num">(\d+)</td>', m[1]) == ["2", "16", "0"]
        assert 'data-unit="T-D2-HOUSING"' in page
        # by unit
        page = html(
            client_for(hub["auditor"]).get("/hub/datasets/t-inspections/usage/?unit=T-D2-HOUSING")
        )
        assert page.count(" data-log=") == 1 and 'class="refused-row"' in page
        # by date
        tomorrow = (clock.now() + timedelta(days=2)).date().isoformat()
        page = html(
            client_for(hub["steward"]).get(f"/hub/datasets/t-inspections/usage/?from={tomorrow}")
        )
        assert " data-log=" not in page

    def test_a_refused_attempt_names_the_grant_it_tried(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        with transaction.atomic():
            grants.revoke(hub["owner_leader"], g, version=g.version, reason="fair over")
        client_for(hub["consumer"]).get(data_url(hub, grant=g.pk))
        page = html(client_for(hub["steward"]).get("/hub/datasets/t-inspections/usage/"))
        assert 'class="refused-row"' in page and f'href="/hub/grants/{g.pk}/"' in page
        assert "the grant gives no access now" in page

    def test_a_wrong_date_is_told_and_the_whole_log_shown(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        granted(hub)
        client_for(hub["consumer"]).get(data_url(hub))
        r = client_for(hub["steward"]).get("/hub/datasets/t-inspections/usage/?from=yesterday")
        assert r.status_code == 422 and "a date like" in html(r)
        assert html(r).count(" data-log=") == 1


# -- both languages, the dataset page's actions ----------------------------------------------


class TestLanguagesAndActions:
    def test_every_page_renders_in_chinese(
        self, hub: dict[str, Any], rows: list[dict[str, Any]]
    ) -> None:
        g = granted(hub)
        for user, url in (
            (hub["consumer"], "/hub/datasets/t-inspections/request/"),
            (hub["consumer"], "/hub/grants/"),
            (hub["consumer"], f"/hub/grants/{g.pk}/"),
            (hub["consumer"], data_url(hub)),
            (hub["owner_leader"], "/hub/datasets/t-inspections/usage/"),
        ):
            r = client_for(user, "zh-hans").get(url)
            assert r.status_code == 200, url
            page = html(r)
            assert '<html lang="zh-hans">' in page
            assert "t-inspections数据" in page, url  # the dataset's Chinese title

    def _actions(self, user: Any, ds: Any) -> str:
        request = RequestFactory().get("/")
        request.user = user
        return render_to_string("hub/_dataset_actions.html", {"ds": ds}, request=request)

    def test_the_dataset_page_offers_what_the_reader_may_do(self, hub: dict[str, Any]) -> None:
        ds = hub["dataset"]
        text = self._actions(hub["consumer"], ds)
        assert 'id="ask-access"' in text and "Read the data" not in text
        assert 'id="usage-link"' not in text
        g = granted(hub)
        text = self._actions(hub["consumer_handler"], ds)
        assert f"/hub/datasets/t-inspections/data/?grant={g.pk}" in text
        assert 'id="ask-access"' not in text
        text = self._actions(hub["owner_leader"], ds)
        assert 'id="usage-link"' in text and "Read the data" in text
        assert self._actions(hub["resident"], ds).strip() == ""
