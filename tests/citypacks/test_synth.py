"""Synthetic history (civitas synth): counts, shapes, valid rows, refusal, determinism, and
the pages that read it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from civitas.appeals.models import (
    OPEN_STATUSES,
    Appeal,
    Assignment,
    Contact,
    Event,
    Rating,
    Status,
    TicketCounter,
)
from civitas.citypacks import synth
from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.kit import clock
from civitas.kit.errors import Conflict
from civitas.org.models import User

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
N = 2000


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


def run(**kw: Any) -> synth.Summary:
    options: dict[str, Any] = {"city": CITY, "appeals": N, "seed": 3, "days": 120, "now": NOW}
    return synth.generate(**(options | kw))


@pytest.fixture
def history(demo_city: None) -> synth.Summary:
    return run()


def local(t: datetime) -> datetime:
    return t.astimezone(ZoneInfo(settings.TIME_ZONE))


class TestRows:
    def test_counts_and_related_rows(self, history: synth.Summary) -> None:
        cases = Appeal.objects.filter(city=CITY, submitted_by=synth.ACTOR)
        assert history.appeals == cases.count() == N
        assert Contact.objects.filter(appeal__in=cases).count() == N
        dispatched = cases.exclude(dispatched_at=None)
        assert Assignment.objects.filter(appeal__in=cases).count() == dispatched.count()
        per_case = Counter(
            Event.objects.filter(appeal__in=cases).values_list("appeal_id", flat=True)
        )
        assert len(per_case) == N
        assert set(per_case.values()) <= {1, 2, 3, 4}
        assert sum(per_case.values()) / N >= 2.5
        closed = cases.filter(status=Status.CLOSED).count()
        rated = Rating.objects.filter(appeal__in=cases).count()
        assert 0.6 * closed <= rated <= 0.8 * closed
        rows = N + N + dispatched.count() + sum(per_case.values()) + rated
        assert history.rows == rows
        assert history.by_status == Counter(cases.values_list("status", flat=True))

    def test_tickets_unique_in_the_citys_format_and_counters_moved(
        self, history: synth.Summary
    ) -> None:
        tickets = list(Appeal.objects.values_list("ticket", "received_at"))
        assert len({t for t, _ in tickets}) == len(tickets)
        last: dict[str, int] = {}
        for ticket, received in tickets:
            city, day, number = ticket.rsplit("-", 2)
            assert city == CITY and len(number) == 6
            assert day == f"{local(received):%Y%m%d}"
            last[day] = max(last.get(day, 0), int(number))
        counters = {f"{c.day:%Y%m%d}": c.last for c in TicketCounter.objects.filter(city=CITY)}
        for day, number in last.items():
            assert counters[day] >= number

    def test_statuses_agree_with_times(self, history: synth.Summary) -> None:
        seen = Counter()
        for a in Appeal.objects.filter(submitted_by=synth.ACTOR):
            seen[a.status] += 1
            assert a.received_at <= NOW and a.updated_at <= NOW
            assert a.resolve_due is not None and a.resolve_due > a.received_at
            times = [a.received_at, a.dispatched_at, a.accepted_at, a.resolved_at, a.closed_at]
            present = [t for t in times if t is not None]
            assert present == sorted(present)
            assert a.updated_at == present[-1]
            if a.status == Status.TRIAGE:
                assert a.lead_unit_id is None and a.dispatched_at is None
            else:
                assert a.lead_unit_id is not None and a.dispatched_at is not None
            assert (a.accepted_at is None) == (a.status in {Status.TRIAGE, Status.DISPATCHED})
            assert (a.resolved_at is None) == (a.status in OPEN_STATUSES)
            assert (a.closed_at is None) == (a.status != Status.CLOSED)
        assert seen[Status.CLOSED] > 0.7 * N
        assert seen[Status.ACCEPTED] > 0 and seen[Status.RESOLVED] > 0
        overdue = Appeal.objects.filter(status__in=OPEN_STATUSES, resolve_due__lt=NOW)
        assert overdue.exists()
        with clock.frozen(NOW):
            from civitas.appeals import deadlines

            on_time = sum(deadlines.on_time(a, NOW) for a in Appeal.objects.all()) / N
        assert 0.6 <= on_time <= 0.95

    def test_weekday_and_hour_shapes_follow_the_drawn_shapes(self, demo_city: None) -> None:
        shapes = synth.demo_shapes()
        run(shapes=shapes, appeals=6000, days=200)
        hours = Counter()
        weekdays = Counter()
        for received in Appeal.objects.values_list("received_at", flat=True):
            t = local(received)
            hours[t.hour] += 1
            weekdays[t.weekday()] += 1
        total = sum(hours.values())
        # Busy mid-morning, quiet small hours, as the shapes say.
        assert hours[10] / total == pytest.approx(shapes.hours[10], abs=0.02)
        assert hours[3] / total == pytest.approx(shapes.hours[3], abs=0.01)
        assert hours[10] > 5 * hours[3]
        for day in range(7):
            share = weekdays[day] / total
            assert share == pytest.approx(shapes.weekdays[day], abs=0.025)
        channels = Counter(Appeal.objects.values_list("channel", flat=True))
        for channel, share in shapes.channels.items():
            assert channels[channel] / total == pytest.approx(share, abs=0.03)

    def test_deterministic_for_a_seed(self, demo_city: None) -> None:
        def picture() -> list[tuple[Any, ...]]:
            return list(
                Appeal.objects.order_by("ticket").values_list(
                    "ticket",
                    "matter_id",
                    "jurisdiction_id",
                    "status",
                    "received_at",
                    "lead_unit_id",
                )
            )

        with transaction.atomic():
            run(appeals=300)
            first = picture()
            transaction.set_rollback(True)
        run(appeals=300)
        assert picture() == first
        run(appeals=300, seed=4, force=True)
        assert Appeal.objects.count() == 600

    def test_refuses_a_database_with_real_appeals(self, demo_city: None) -> None:
        from civitas.appeals import intake

        with clock.frozen(NOW):
            intake.submit(
                actor="test",
                data=intake.AppealIn(
                    city=CITY, channel="web", text="The streetlight outside is out."
                ),
            )
        with pytest.raises(Conflict, match="not synthetic"):
            run(appeals=10)
        with pytest.raises(CommandError, match="--force"):
            call_command("synth", appeals=10, stdout=io.StringIO())
        summary = run(appeals=10, force=True)
        assert summary.appeals == 10

    def test_command_prints_a_summary(self, demo_city: None) -> None:
        out = io.StringIO()
        call_command("synth", appeals=50, seed=2, days=30, stdout=out)
        assert "50 synthetic appeals" in out.getvalue() and "rows/s" in out.getvalue()
        assert Appeal.objects.filter(external_id__startswith=synth.EXTERNAL_PREFIX).count() == 50


class TestPages:
    """The pages measured at scale render with synthetic history."""

    def _client(self, username: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=username))
        return client

    def test_pages_render(self, history: synth.Summary) -> None:
        from civitas.assessment import services as assessment

        assessment.rebuild()
        case = Appeal.objects.filter(status=Status.CLOSED).first()
        assert case is not None
        with clock.frozen(NOW):
            dispatcher = self._client("dispatcher")
            for url in (
                "/work/?tab=area",
                "/work/?tab=area&overdue=1",
                "/desk/?queue=triage",
                f"/case/{case.ticket}/",
                "/assessment/?period=2026-02",
                "/command/",
                "/open311/v2/requests.json?status=open",
            ):
                response = dispatcher.get(url)
                assert response.status_code == 200, url
            page = dispatcher.get(f"/case/{case.ticket}/").content.decode()
            assert case.ticket in page
            handler = self._client("handler-street")
            response = handler.get("/work/")
            assert response.status_code == 200
            listed = Appeal.objects.filter(
                lead_unit__code=f"{CITY}-D01-S01-OFFICE", status__in=OPEN_STATUSES
            ).first()
            if listed is not None:
                assert listed.ticket in response.content.decode()
            body = Client().get("/open311/v2/requests.json?status=closed").json()
            assert body and all(r["status"] == "closed" for r in body)
