"""Two people acting on the same case at once: one wins, the other is told; nothing corrupts.

The threaded tests need a database with row locks and separate connections (PostgreSQL);
the in-memory SQLite test database is one connection, so they skip there. The stale-version
refusal is checked sequentially on every database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake, services
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Assignment, Event, Status
from civitas.kit import audit
from tests.appeals.conftest import fresh, submit
from tests.racing import needs_postgres, race


@needs_postgres
@pytest.mark.django_db(transaction=True)
class TestTwoPeopleAtOnce:
    def test_two_accepts_one_wins_the_other_is_told_it_is_illegal(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = submit(c).appeal
        results = race(
            lambda: services.accept(actor=c["handler"], appeal=fresh(a)),
            lambda: services.accept(actor=c["leader"], appeal=fresh(a)),
        )
        assert sorted(results) == ["IllegalMove", "ok"]
        case = fresh(a)
        assert case.status == Status.ACCEPTED and case.version == a.version + 1
        assert Event.objects.filter(appeal=a, action="accept").count() == 1
        assert audit.verify().ok

    def test_two_accepts_from_the_same_version_one_is_stale(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = submit(c).appeal
        seen = a.version
        results = race(
            lambda: services.accept(actor=c["handler"], appeal=fresh(a), version=seen),
            lambda: services.accept(actor=c["leader"], appeal=fresh(a), version=seen),
        )
        assert sorted(results) == ["StaleCase", "ok"]
        assert Event.objects.filter(appeal=a, action="accept").count() == 1

    def test_two_resolves_leave_one_resolution(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = submit(c).appeal
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        results = race(
            lambda: services.resolve(actor=c["handler"], appeal=fresh(a), result="Fixed the lift"),
            lambda: services.resolve(actor=c["leader"], appeal=fresh(a), result="Replaced it"),
        )
        assert sorted(results) == ["IllegalMove", "ok"]
        events = Event.objects.filter(appeal=a, action="resolve")
        assert events.count() == 1
        lead = Assignment.objects.get(appeal=a, role="lead")
        assert lead.state == "done"
        assert fresh(a).status == Status.RESOLVED and audit.verify().ok

    def test_resolve_against_return_one_wins(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = submit(c).appeal
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        results = race(
            lambda: services.resolve(actor=c["handler"], appeal=fresh(a), result="Fixed"),
            lambda: services.return_case(actor=c["leader"], appeal=fresh(a), reason="not ours"),
        )
        assert sorted(results) == ["IllegalMove", "ok"]
        assert fresh(a).status in (Status.RESOLVED, Status.RETURNED)
        assert Event.objects.filter(appeal=a, action__in=["resolve", "return"]).count() == 1

    def test_a_retried_submission_racing_itself_makes_one_appeal(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        data = intake.AppealIn(city="T", text="The lift in building 3 is broken again")
        got: list[Any] = []
        results = race(
            lambda: got.append(
                intake.submit_once(actor=c["resident"], data=data, idempotency_key="same")
            ),
            lambda: got.append(
                intake.submit_once(actor=c["resident"], data=data, idempotency_key="same")
            ),
        )
        assert results == ["ok", "ok"]
        assert Appeal.objects.count() == 1
        assert {s.appeal.pk for s in got} == {Appeal.objects.get().pk}
        assert sorted(s.created for s in got) == [False, True]

    def test_concurrent_submissions_get_distinct_sequential_tickets(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        data = intake.AppealIn(city="T", text="The lift in building 3 is broken again")
        moves = [
            (lambda: intake.submit(actor=c["resident"], data=data, dispatch_now=False))
            for _ in range(4)
        ]
        assert race(*moves) == ["ok"] * 4
        numbers = sorted(
            int(t.rsplit("-", 1)[1]) for t in Appeal.objects.values_list("ticket", flat=True)
        )
        assert numbers == [1, 2, 3, 4]


@pytest.mark.django_db
class TestStaleVersion:
    def test_a_move_against_an_old_version_is_refused(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = submit(c).appeal
        mine, theirs = fresh(a), fresh(a)
        with transaction.atomic():
            services.accept(actor=c["leader"], appeal=theirs, version=theirs.version)
        with pytest.raises(wf.StaleCase) as exc, transaction.atomic():
            services.accept(actor=c["handler"], appeal=mine, version=mine.version)
        assert exc.value.status == 409 and exc.value.details == {"version": a.version + 1}
        assert Event.objects.filter(appeal=a, action="accept").count() == 1

    def test_without_a_version_the_status_still_refuses(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = submit(c).appeal
        mine, theirs = fresh(a), fresh(a)
        with transaction.atomic():
            services.accept(actor=c["leader"], appeal=theirs)
        with pytest.raises(wf.IllegalMove), transaction.atomic():
            services.accept(actor=c["handler"], appeal=mine)

    def test_stale_resolve(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = submit(c).appeal
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        seen = fresh(a).version
        with transaction.atomic():
            services.progress(actor=c["leader"], appeal=fresh(a), note="parts ordered")
        with pytest.raises(wf.StaleCase), transaction.atomic():
            services.resolve(actor=c["handler"], appeal=fresh(a), result="done", version=seen)
        assert fresh(a).status == Status.ACCEPTED
