"""The figures of mediation: exact numbers over hand-built disputes, scoping by the reader's
area and units, the period and area filters and their errors, the page, the CSV and the API."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from civitas.kit import clock
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.mediation import figures
from civitas.mediation.models import (
    Channel,
    DisputeType,
    Outcome,
    Stage,
    Status,
    Tier,
)
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.figures_data import NOW, at, dispute, resolved

pytestmark = pytest.mark.django_db


YEAR = {"from": "2026-01-01", "to": "2026-11-20"}


@pytest.fixture
def world(med: dict[str, Any]) -> dict[str, Any]:
    """Eight disputes (see the module's tests for what each counts in)."""
    w = dict(med)
    c1 = "T-D1-S1-C1-med"
    w["A"] = resolved(med, "T-D1-S1-C1", at("2026-03-01"), 10, tier=Tier.COMMUNITY, unit=c1)
    w["B"] = resolved(
        med,
        "T-D1-S1-C2",
        at("2026-04-01"),
        20,
        type=DisputeType.LABOUR,
        stages=[(Tier.COMMUNITY, Stage.Result.FAILED)],
    )
    w["C"] = resolved(
        med,
        "T-D1-S2-C1",
        at("2026-05-01"),
        40,
        type=DisputeType.PROPERTY,
        tier=Tier.DISTRICT,
        unit="T-D1-med",
        stages=[(Tier.STREET, Stage.Result.OVERDUE)],
    )
    w["D"] = dispute(
        med,
        "T-D2-S1-C1",
        received=at("2026-06-01"),
        tier=Tier.COMMUNITY,
        unit="T-D2-S1-C1-med",
        status=Status.CLOSED,
        outcome=Outcome.WITHDRAWN,
        closed=at("2026-06-20"),
    )
    w["E"] = dispute(
        med,
        "T-D2-S2-C1",
        received=at("2026-07-01"),
        type=DisputeType.FAMILY,
        tier=Tier.CITY,
        unit="T-med",
        channel=Channel.ADMINISTRATIVE,
        status=Status.MEDIATING,
        due=at("2026-07-31"),
        stages=[(Tier.STREET, Stage.Result.RISK)],
    )
    w["F"] = dispute(
        med,
        "T-D1-S1-C1",
        received=at("2026-11-01"),
        tier=Tier.COMMUNITY,
        unit=c1,
        status=Status.REGISTERED,
        due=at("2026-12-01"),
    )
    # Received the year before, resolved in the period.
    w["G"] = resolved(med, "T-D1-S1-C1", at("2025-06-01"), 238, type=DisputeType.CONSUMER)
    # Entirely before the period.
    w["H"] = resolved(med, "T-D1-S1-C2", at("2025-01-01"), 30)
    w["street_analyst"] = member("analyst-s11", Role.ANALYST, med["T-D1-S1-office"])
    w["committee_leader"] = member("leader-s11-med", Role.UNIT_LEADER, med["T-D1-S1-med"])
    return w


def compute(actor: Any, **params: str) -> figures.Figures:
    with clock.frozen(NOW):
        return figures.compute(actor, figures.parse_filters(actor, params))


def rows(table: list[figures.Row]) -> dict[str, tuple[int, int, int, int, int]]:
    return {r.key: (r.received, r.concluded, r.resolved, r.open, r.overdue) for r in table}


class TestNumbers:
    def test_headline(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **YEAR)
        assert fig.filters.area.code == "T"
        assert (fig.received, fig.concluded, fig.resolved) == (6, 5, 4)
        assert fig.rate == 80.0
        assert fig.agreements == 4
        assert {k: n for k, _l, n in fig.outcomes} == {
            "resolved": 4,
            "referred": 0,
            "withdrawn": 1,
            "unresolved": 0,
        }
        assert (fig.open, fig.overdue) == (2, 1)

    def test_time_to_resolution(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **YEAR)
        # 10, 20, 40 and 238 days: the median is the mean of the middle two; p90 the 4th of 4.
        assert fig.days_median == 30.0
        assert fig.days_p90 == 238.0

    def test_by_level(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **YEAR)
        intake = {r.key: r.received for r in fig.by_intake_tier}
        assert intake == {"community": 4, "street": 2, "district": 0, "city": 0}
        assert rows(fig.by_tier) == {
            "community": (3, 2, 1, 1, 0),
            "street": (1, 2, 2, 0, 0),
            "district": (1, 1, 1, 0, 0),
            "city": (1, 0, 0, 1, 1),
        }
        assert [r.key for r in fig.by_tier] == ["community", "street", "district", "city"]
        assert {r.key: r.rate for r in fig.by_tier} == {
            "community": 50.0,
            "street": 100.0,
            "district": 100.0,
            "city": None,
        }

    def test_intake_without_a_stage_is_the_disputes_level(self, world: dict[str, Any]) -> None:
        d = dispute(world, "T-D1-S2-C2", received=at("2026-08-01"), tier=Tier.DISTRICT)
        d.stages.all().delete()
        fig = compute(world["analyst"], **YEAR)
        intake = {r.key: r.received for r in fig.by_intake_tier}
        assert intake == {"community": 4, "street": 2, "district": 1, "city": 0}

    def test_by_type_channel_and_area(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **YEAR)
        by_type = rows(fig.by_type)
        assert by_type["neighbour"] == (3, 2, 1, 1, 0)
        assert by_type["labour"] == (1, 1, 1, 0, 0)
        assert by_type["property"] == (1, 1, 1, 0, 0)
        assert by_type["family"] == (1, 0, 0, 1, 1)
        assert by_type["consumer"] == (0, 1, 1, 0, 0)
        assert by_type["medical"] == (0, 0, 0, 0, 0)
        assert len(fig.by_type) == len(DisputeType.values)
        assert rows(fig.by_channel)["peoples"] == (5, 5, 4, 1, 0)
        assert rows(fig.by_channel)["administrative"] == (1, 0, 0, 1, 1)
        assert rows(fig.by_area) == {"T-D1": (4, 4, 4, 1, 0), "T-D2": (2, 1, 0, 1, 1)}

    def test_escalations(self, world: dict[str, Any]) -> None:
        esc = compute(world["analyst"], **YEAR).escalations
        assert esc.total == 3
        assert {k: n for k, _l, n in esc.by_reason} == {"failed": 1, "overdue": 1, "risk": 1}
        assert {k: n for k, _l, n in esc.by_tier} == {"community": 1, "street": 2, "district": 0}

    def test_a_shorter_period(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **{"from": "2026-03-01", "to": "2026-03-31"})
        assert (fig.received, fig.concluded, fig.resolved, fig.rate) == (1, 1, 1, 100.0)
        assert (fig.days_median, fig.days_p90) == (10.0, 10.0)
        assert fig.escalations.total == 0
        # Open and overdue are counted now, whatever the period.
        assert (fig.open, fig.overdue) == (2, 1)

    def test_the_last_day_is_included_and_the_next_is_not(self, world: dict[str, Any]) -> None:
        assert compute(world["analyst"], **{"from": "2026-03-01", "to": "2026-03-01"}).received == 1
        assert compute(world["analyst"], **{"from": "2026-03-02", "to": "2026-03-31"}).received == 0

    def test_default_period_is_the_last_365_days(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"])
        assert (fig.filters.start.isoformat(), fig.filters.end.isoformat()) == (
            "2025-11-21",
            "2026-11-20",
        )
        assert fig.received == 6

    def test_nothing_concluded_has_no_rate(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **{"from": "2026-11-01", "to": "2026-11-20"})
        assert (fig.received, fig.concluded, fig.rate) == (1, 0, None)
        assert (fig.days_median, fig.days_p90) == (None, None)

    def test_an_odd_number_takes_the_middle_value(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], **{"from": "2026-01-01", "to": "2026-05-31"})
        # A (10 days, closed in March), B (20), G (238, closed in February); C closed in June.
        assert fig.resolved == 3
        assert (fig.days_median, fig.days_p90) == (20.0, 238.0)


class TestScope:
    def test_a_street_analyst_sees_only_their_street(self, world: dict[str, Any]) -> None:
        who = world["street_analyst"]
        assert [a.code for a in figures.areas_for(who)] == ["T-D1-S1", "T-D1-S1-C1", "T-D1-S1-C2"]
        fig = compute(who, **YEAR)
        assert fig.filters.area.code == "T-D1-S1"
        assert (fig.received, fig.concluded, fig.resolved, fig.rate) == (3, 3, 3, 100.0)
        assert (fig.open, fig.overdue) == (1, 0)
        assert rows(fig.by_area) == {
            "T-D1-S1-C1": (2, 2, 2, 1, 0),
            "T-D1-S1-C2": (1, 1, 1, 0, 0),
        }
        assert fig.escalations.total == 1  # B's failed community stage

    def test_a_street_analyst_may_not_ask_for_the_city(self, world: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput) as exc, clock.frozen(NOW):
            figures.parse_filters(world["street_analyst"], {"area": "T"})
        assert exc.value.details == {"field": "area"}
        with pytest.raises(InvalidInput), clock.frozen(NOW):
            figures.parse_filters(world["street_analyst"], {"area": "T-D1-S2"})

    def test_a_community_of_the_street(self, world: dict[str, Any]) -> None:
        fig = compute(world["street_analyst"], area="T-D1-S1-C2", **YEAR)
        assert (fig.received, fig.resolved) == (1, 1)

    def test_the_city_may_read_a_district(self, world: dict[str, Any]) -> None:
        fig = compute(world["analyst"], area="T-D2", **YEAR)
        assert (fig.received, fig.concluded, fig.resolved, fig.open) == (2, 1, 0, 1)
        assert rows(fig.by_area) == {"T-D2-S1": (1, 1, 0, 0, 0), "T-D2-S2": (1, 0, 0, 1, 1)}

    def test_units_scope_counts_each_dispute_once(self, world: dict[str, Any]) -> None:
        # The leader of the street committee reads the disputes it handles or handled (B has
        # two stages there, G one): each is counted once, not once per stage.
        fig = compute(world["committee_leader"], **YEAR)
        assert fig.filters.area.code == "T-D1-S1"
        assert (fig.received, fig.concluded, fig.resolved) == (1, 2, 2)

    def test_mediators_have_no_figures(self, world: dict[str, Any]) -> None:
        with pytest.raises(Forbidden):
            figures.parse_filters(world["mediator_s"], {})


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "2026-13-01"}, "from"),
            ({"from": "yesterday"}, "from"),
            ({"to": "2026/11/01"}, "to"),
            ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
            ({"from": "2000-01-01", "to": "2026-01-01"}, "from"),
            ({"area": "NOWHERE"}, "area"),
        ],
    )
    def test_errors_name_the_field(
        self, world: dict[str, Any], params: dict[str, str], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as exc, clock.frozen(NOW):
            figures.parse_filters(world["analyst"], params)
        assert exc.value.details == {"field": field}


def client_for(user: Any) -> Client:
    cl = Client(HTTP_ACCEPT_LANGUAGE="en")
    cl.force_login(user)
    return cl


def get(cl: Client, url: str, **params: str) -> Any:
    with clock.frozen(NOW):
        return cl.get(url, params)


class TestPage:
    def test_the_page_shows_the_numbers(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["analyst"]), "/mediation/figures/", **YEAR)
        assert r.status_code == 200
        html = r.content.decode()
        assert 'data-figure="received">6<' in html
        assert 'data-figure="rate">80.0%<' in html
        assert 'data-figure="overdue">1<' in html
        assert 'data-table="type"' in html and 'class="med-chart' in html
        assert "mediation/figures.js" in html
        assert "<script>" not in html  # no inline script under the CSP

    def test_bad_input_is_explained(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["analyst"]), "/mediation/figures/", **{"from": "2026-02-30"})
        assert r.status_code == 422
        html = r.content.decode()
        assert 'role="alert"' in html and 'data-field="from"' in html
        assert 'aria-invalid="true"' in html

    def test_refused_without_the_permission(self, world: dict[str, Any]) -> None:
        assert get(client_for(world["mediator_s"]), "/mediation/figures/").status_code == 403
        assert get(client_for(world["mediator_s"]), "/mediation/figures.csv").status_code == 403
        anonymous = get(Client(), "/mediation/figures/")
        assert anonymous.status_code == 302

    def test_csv(self, world: dict[str, Any]) -> None:
        d2 = world["T-D2"]
        d2.name_en = '=HYPERLINK("http://evil")'
        d2.save(update_fields=["name_en"])
        r = get(client_for(world["analyst"]), "/mediation/figures.csv", **YEAR)
        assert r.status_code == 200
        assert r["Content-Disposition"].startswith("attachment;")
        assert "mediation-figures-T-2026-01-01-2026-11-20.csv" in r["Content-Disposition"]
        text = r.content.decode("utf-8-sig")
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][:4] == ["table", "key", "label", "received"]
        total = table[1]
        assert total[0] == "total" and total[3:9] == ["6", "5", "4", "80.0", "2", "1"]
        by_area = {row[1]: row for row in table if row[0] == "area"}
        assert by_area["T-D2"][2] == '\'=HYPERLINK("http://evil")'
        assert by_area["T-D1"][3:6] == ["4", "4", "4"]
        reasons = {row[1]: row[3] for row in table if row[0] == "escalation_reason"}
        assert reasons == {"failed": "1", "overdue": "1", "risk": "1"}

    def test_csv_bad_input(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["analyst"]), "/mediation/figures.csv", area="NOWHERE")
        assert r.status_code == 422
        assert "NOWHERE" in r.content.decode()


class TestApi:
    def test_same_numbers_as_the_page(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["analyst"]), "/api/mediation/figures", **YEAR)
        assert r.status_code == 200
        body = r.json()
        assert (body["received"], body["concluded"], body["resolved"]) == (6, 5, 4)
        assert body["resolution_rate_pct"] == 80.0
        assert body["days_to_resolution"] == {"median": 30.0, "p90": 238.0}
        assert body["escalations"]["by_reason"] == {"failed": 1, "overdue": 1, "risk": 1}
        assert (body["open_now"], body["overdue_now"]) == (2, 1)
        by_area = {row["key"]: row for row in body["by_area"]}
        assert by_area["T-D2"]["overdue"] == 1
        assert body["area"] == "T" and body["from"] == "2026-01-01"

    def test_scoped_for_a_street_analyst(self, world: dict[str, Any]) -> None:
        cl = client_for(world["street_analyst"])
        body = get(cl, "/api/mediation/figures", **YEAR).json()
        assert (body["area"], body["received"]) == ("T-D1-S1", 3)
        r = get(cl, "/api/mediation/figures", area="T-D2")
        assert r.status_code == 422
        assert r.json()["error"]["details"] == {"field": "area"}

    def test_bad_date(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["analyst"]), "/api/mediation/figures", to="soon")
        assert r.status_code == 422
        assert r.json()["error"]["details"] == {"field": "to"}

    def test_refused_without_the_permission(self, world: dict[str, Any]) -> None:
        r = get(client_for(world["mediator_s"]), "/api/mediation/figures")
        assert r.status_code == 403
        assert get(Client(), "/api/mediation/figures").status_code == 401
