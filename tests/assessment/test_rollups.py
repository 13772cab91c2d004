from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services
from civitas.assessment import services as rollups
from civitas.assessment.models import COUNTERS, UnitDay
from civitas.kit import clock
from tests.appeals.conftest import fresh
from tests.assessment.conftest import T0, at, h, handle, new_case, refresh


def snapshot() -> dict[tuple[int, str, Any], dict[str, int]]:
    return {(r.unit_id, r.jurisdiction_path, r.day): r.counts() for r in UnitDay.objects.all()}


def rebuild() -> rollups.Refreshed:
    with transaction.atomic():
        return rollups.rebuild()


@pytest.mark.django_db
class TestRefresh:
    def test_first_run_builds_everything_and_a_second_run_changes_nothing(
        self, month: dict[str, Any]
    ) -> None:
        first = refresh()
        rows = snapshot()
        assert first.rows == len(rows) == 1  # one unit, one street, one day
        (key, counts) = next(iter(rows.items()))
        assert key[1] == "/T/T-D1/T-D1-S1/"  # cut to the street
        assert str(key[2]) == "2026-11-02"
        assert counts["dispatched"] == 4 and counts["rated"] == 4 and counts["reopened"] == 1
        second = refresh()
        assert second.days == 0
        assert snapshot() == rows
        assert rebuild().rows == 1 and snapshot() == rows

    def test_a_changed_case_recounts_only_its_day(self, month: dict[str, Any]) -> None:
        c = month
        other = new_case(c, minutes=60 * 24 * 7)  # received a week later
        handle(c, other, accept_after=24 * 7 + 1)
        refresh()
        before = {r.day: (r.pk, r.counts()) for r in UnitDay.objects.all()}
        assert len(before) == 2
        at(h(24 * 7 + 5), services.resolve, actor=c["handler"], appeal=fresh(other), result="ok")
        done = refresh()
        assert done.days == 1
        after = {r.day: (r.pk, r.counts()) for r in UnitDay.objects.all()}
        week_day, first_day = max(after), min(after)
        assert after[first_day] == before[first_day]  # same row, untouched
        assert after[week_day][1]["resolved"] == before[week_day][1]["resolved"] + 1
        # Nothing new: the next run recounts nothing and leaves the rows as they are.
        again = refresh()
        assert again.days == 0
        assert {d: v[1] for d, v in after.items()} == {
            r.day: r.counts() for r in UnitDay.objects.all()
        }
        # And incremental equals a full recount.
        incremental = snapshot()
        rebuild()
        assert snapshot() == incremental

    def test_an_event_that_committed_late_is_still_read(self, month: dict[str, Any]) -> None:
        from civitas.appeals.models import Event
        from civitas.assessment.models import RefreshState

        refresh()
        a = month["cases"]["A"]
        # Two events arrive; pretend the first had not committed when the next run read.
        at(h(50), services.internal_note, actor=month["handler"], appeal=fresh(a), note="x")
        at(h(51), services.internal_note, actor=month["handler"], appeal=fresh(a), note="y")
        low, high = Event.objects.order_by("-id").values_list("id", flat=True)[:2][::-1]
        row = Event.objects.get(pk=low)
        Event.objects.filter(pk=low).delete()
        assert refresh().days == 1
        assert RefreshState.objects.get().pending == [[low, 0]]
        row.save()  # it commits now
        assert refresh().days == 1  # read through the gap list
        assert RefreshState.objects.get().pending == []
        assert high > low

    def test_appeals_loaded_without_events_are_counted(self, month: dict[str, Any]) -> None:
        from civitas.appeals.models import Appeal

        refresh()
        a = month["cases"]["A"]
        Appeal.objects.filter(pk=a.pk).update(ticket="X-1", token_hash="x" * 64)
        copy = Appeal.objects.get(pk=a.pk)
        copy.pk, copy.ticket, copy.token_hash = None, "X-2", "y" * 64
        copy.received_at += timedelta(days=3)  # a bulk load writes no timeline
        copy.save()
        done = refresh()
        assert done.days == 1
        assert UnitDay.objects.count() == 2

    def test_since_recounts_the_days_of_cases_changed_since(self, month: dict[str, Any]) -> None:
        refresh()
        UnitDay.objects.all().delete()
        with transaction.atomic():
            # The cases were received on T0's day and last changed days later (the one clock).
            done = rollups.refresh(since=T0)
        assert done.days == 1 and UnitDay.objects.count() == 1

    def test_rows_without_counts_are_not_kept(self, case_city: dict[str, Any]) -> None:
        refresh()
        assert UnitDay.objects.count() == 0
        assert rollups.totals() == dict.fromkeys(COUNTERS, 0)

    def test_a_day_is_the_local_day(self, case_city: dict[str, Any]) -> None:
        # 23:30 in Shanghai on 1 November is 15:30 UTC: the case belongs to 1 November.
        late = T0.replace(day=1, hour=23, minute=30)
        with clock.frozen(late):
            from tests.appeals.conftest import submit

            submit(case_city)
        refresh()
        assert [str(r.day) for r in UnitDay.objects.all()] == ["2026-11-01"]


@pytest.mark.django_db
class TestScheduledJob:
    def test_the_job_is_registered_and_runs(self, month: dict[str, Any]) -> None:
        from civitas.assessment import tasks

        scheduler = pytest.importorskip("civitas.kit.scheduler")

        job = scheduler.job("assessment.refresh")
        assert job is not None and job.target == "civitas.assessment.tasks.refresh_rollups"
        assert tasks.refresh_rollups()["rows"] == 1
