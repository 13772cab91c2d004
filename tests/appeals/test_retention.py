"""Retention of closed appeals: personal data goes, the figures stay, holds and open cases wait."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.forms.models import model_to_dict
from PIL import Image

from civitas.appeals import intake, retention, selectors, services
from civitas.appeals.models import (
    Appeal,
    Assignment,
    Attachment,
    Contact,
    Event,
    Rating,
    Request,
    Status,
    Summons,
)
from civitas.assessment import services as assessment
from civitas.assessment.models import UnitDay
from civitas.kit import audit, clock
from civitas.kit.errors import CivitasError
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Role
from tests.factories import member

ZONE = ZoneInfo("Asia/Shanghai")
OLD = datetime(2022, 3, 1, 9, 0, tzinfo=ZONE)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=ZONE)
NAME, BEHALF, PHONE, MAIL = "Wang Fang", "Zhao Jianguo", "13912345678", "wf.home@example.com"
SECRETS = ("Wang", "Fang", "Zhao", "Jianguo", PHONE, "912345678", "example.com", "5B")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def atomic(fn: Any, **kw: Any) -> Any:
    with transaction.atomic():
        return fn(**kw)


def closed_case(c: dict[str, Any], at: datetime, *, photo: bool = False) -> tuple[Appeal, str]:
    """A case submitted, handled, rated and closed at ``at`` (frozen clock)."""
    with clock.frozen(at):
        data = intake.AppealIn(
            city="T",
            title=f"Lift broken, {NAME} asks",
            text=f"I am {NAME} at Apt 5B; call {PHONE} or mail {MAIL}. Mr Wang is my name.",
            lat=0.51234,
            lon=0.49876,
            address="12 Main Street, Apt 5B",
            contact=intake.ContactIn(name=NAME, phone=PHONE, email=MAIL, on_behalf_of=BEHALF),
        )
        photos = [SimpleUploadedFile("p.png", _png(), "image/png")] if photo else []
        with transaction.atomic():
            done = intake.submit(
                actor=c["resident"], data=data, resident=c["resident"], photos=photos
            )
        a = done.appeal
        a = atomic(services.accept, actor=c["handler"], appeal=a)
        a = atomic(
            services.internal_note, actor=c["handler"], appeal=a, note=f"{NAME} rang {PHONE}"
        )
        a = atomic(services.resolve, actor=c["handler"], appeal=a, result=f"Told {BEHALF}")
        a = atomic(
            services.rate,
            actor=c["resident"],
            appeal=a,
            responded=True,
            solved=True,
            satisfaction="satisfied",
            comment=f"Thanks, {NAME} here, {PHONE}",
        )
    assert a.status == Status.CLOSED
    return Appeal.objects.get(pk=a.pk), done.token


def texts_of(appeal: Appeal) -> str:
    """Every stored value of the case and the rows about it, as one text."""
    rows: list[Any] = [model_to_dict(appeal)]
    contact = Contact.objects.filter(appeal=appeal).first()
    if contact is not None:
        rows.append({f: getattr(contact, f) for f in ("name", "phone", "email", "on_behalf_of")})
    for model in (Event, Rating, Assignment, Attachment, Request, Summons):
        rows += [model_to_dict(r) for r in model.objects.filter(appeal=appeal)]
    rows += list(OutboxMessage.objects.filter(topic=f"appeal:{appeal.pk}").values())
    return json.dumps(rows, default=str, ensure_ascii=False)


def figures() -> list[dict[str, Any]]:
    assessment.rebuild()
    return sorted(
        ({k: v for k, v in row.items() if k != "id"} for row in UnitDay.objects.values()),
        key=lambda r: json.dumps(r, default=str, sort_keys=True),
    )


STATS = (
    "ticket",
    "city",
    "channel",
    "kind",
    "matter",
    "urgency",
    "jurisdiction",
    "jurisdiction_path",
    "status",
    "lead_unit",
    "first_unit",
    "received_at",
    "dispatched_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "respond_due",
    "resolve_due",
    "reopen_count",
    "return_count",
)


@pytest.mark.django_db
class TestAnonymise:
    def test_old_closed_case_loses_personal_data_and_keeps_its_figures(
        self, case_city: dict[str, Any], media: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        c = case_city
        old, token = closed_case(c, OLD, photo=True)
        stored = list(Attachment.objects.filter(appeal=old).values_list("file", flat=True))
        assert stored and all((media / name).is_file() for name in stored)
        assert all(s in texts_of(old) for s in ("Wang", PHONE, "example.com"))
        sent = OutboxMessage.objects.filter(topic=f"appeal:{old.pk}")
        assert sent.filter(recipient=PHONE).exists()  # the appellant was told by SMS
        stats_before = {f: getattr(old, f) for f in STATS}
        ratings_before = list(Rating.objects.filter(appeal=old).values("satisfaction", "solved"))
        figures_before = figures()

        with clock.frozen(NOW), django_capture_on_commit_callbacks(execute=True):
            out = retention.run()
        assert (out.due, out.anonymised, out.batches) == (1, 1, 1)

        after = Appeal.objects.get(pk=old.pk)
        dump = texts_of(after)
        for secret in SECRETS:
            assert secret not in dump, secret
        contact = Contact.objects.get(appeal=after)
        assert (contact.name, contact.phone, contact.email, contact.on_behalf_of) == ("",) * 4
        assert "Appellant" in after.text and "[phone]" in after.text and "[e-mail]" in after.text
        assert after.resident is None and after.anonymised_at == NOW
        assert (after.lat, after.lon) == (0.512, 0.499)
        assert selectors.by_token(token) is None  # the tracking link is dead
        assert sent.exists() and not sent.exclude(recipient="").exists()
        assert not sent.filter(state=OutboxMessage.State.PENDING).exists()
        assert not Attachment.objects.filter(appeal=after).exists()
        assert not any((media / name).exists() for name in stored)
        assert {f: getattr(after, f) for f in STATS} == stats_before
        assert list(Rating.objects.filter(appeal=after).values("satisfaction", "solved")) == (
            ratings_before
        )
        assert figures() == figures_before

    def test_recent_open_and_held_cases_are_untouched(self, case_city: dict[str, Any]) -> None:
        c = case_city
        recent, _ = closed_case(c, datetime(2025, 6, 1, 9, tzinfo=ZONE))
        held, _ = closed_case(c, OLD)
        with clock.frozen(OLD):
            still_open = atomic(
                intake.submit,
                actor=c["resident"],
                data=intake.AppealIn(
                    city="T",
                    text=f"{NAME} {PHONE}",
                    lat=0.5,
                    lon=0.5,
                    contact=intake.ContactIn(name=NAME, phone=PHONE),
                ),
            ).appeal
        admin = member("admin", Role.ADMINISTRATOR, c["centre"])
        retention.set_legal_hold(actor=admin, appeal=held, hold=True, reason="court case 2024-17")
        before = {a.pk: texts_of(Appeal.objects.get(pk=a.pk)) for a in (recent, held, still_open)}
        with clock.frozen(NOW):
            out = retention.run()
        assert out.anonymised == 0
        for pk, dump in before.items():
            assert texts_of(Appeal.objects.get(pk=pk)) == dump
        # Lifted, the held case goes at the next run.
        retention.set_legal_hold(actor=admin, appeal=held, hold=False, reason="judgment final")
        with clock.frozen(NOW):
            assert retention.run().anonymised == 1
        assert Appeal.objects.get(pk=held.pk).anonymised_at is not None

    def test_second_run_and_dry_run_change_nothing(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a, _ = closed_case(c, OLD)
        b, _ = closed_case(c, OLD)
        with clock.frozen(NOW):
            dry = retention.run(dry_run=True)
        assert (dry.due, dry.anonymised) == (2, 0) and dry.counts["contacts"] == 2
        assert Appeal.objects.filter(anonymised_at__isnull=False).count() == 0
        assert "Wang" in texts_of(Appeal.objects.get(pk=a.pk))

        entries = AuditEntry.objects.count()
        with clock.frozen(NOW):
            first = retention.run(batch_size=1)
        assert (first.anonymised, first.batches) == (2, 2)
        batches = list(AuditEntry.objects.filter(action="appeals.anonymise").order_by("seq"))
        assert AuditEntry.objects.count() == entries + 2 and len(batches) == 2
        for entry in batches:
            assert entry.summary["counts"]["appeals"] == 1
            assert entry.summary["counts"]["contacts"] == 1
            assert "Wang" not in json.dumps(entry.summary) and PHONE not in json.dumps(
                entry.summary
            )

        dumps = {x.pk: texts_of(Appeal.objects.get(pk=x.pk)) for x in (a, b)}
        with clock.frozen(NOW):
            second = retention.run()
        assert (second.due, second.anonymised, second.batches) == (0, 0, 0)
        assert AuditEntry.objects.count() == entries + 2
        assert {x: texts_of(Appeal.objects.get(pk=x)) for x in dumps} == dumps
        assert audit.verify().ok

    def test_off_when_the_period_is_zero(self, case_city: dict[str, Any], settings: Any) -> None:
        closed_case(case_city, OLD)
        settings.CIVITAS_RETENTION_APPEALS_DAYS = 0
        with clock.frozen(NOW):
            out = retention.run()
        assert out.cutoff is None and out.anonymised == 0 and "off" in str(out)
        # An explicit day still works (the operator's choice, e.g. `--before`).
        with clock.frozen(NOW):
            assert retention.run(before=datetime(2023, 1, 1, tzinfo=ZONE)).anonymised == 1

    def test_legal_hold_needs_an_administrator_and_a_reason(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a, _ = closed_case(c, OLD)
        with pytest.raises(CivitasError):
            retention.set_legal_hold(actor=c["handler"], appeal=a, hold=True, reason="x")
        admin = member("admin", Role.ADMINISTRATOR, c["centre"])
        with pytest.raises(CivitasError, match="why"):
            retention.set_legal_hold(actor=admin, appeal=a, hold=True, reason=" ")
        retention.set_legal_hold(actor=admin, appeal=a, hold=True, reason="petition 88")
        entry = AuditEntry.objects.filter(action="appeals.legal_hold").get()
        assert entry.object_id == str(a.pk) and entry.reason == "petition 88"
        assert Appeal.objects.get(pk=a.pk).legal_hold


@pytest.mark.django_db
def test_command_reports_dry_run_then_anonymises(case_city: dict[str, Any]) -> None:
    a, _ = closed_case(case_city, OLD)
    out = io.StringIO()
    with clock.frozen(NOW):
        call_command("retention", "--dry-run", "--quiet", "--only", "appeals", stdout=out)
    assert "1 would be anonymised" in out.getvalue() and "nothing changed" in out.getvalue()
    assert Appeal.objects.get(pk=a.pk).anonymised_at is None
    out = io.StringIO()
    with clock.frozen(NOW):
        call_command("retention", "--quiet", "--before", "2023-01-01", stdout=out)
    assert "1 anonymised" in out.getvalue()
    assert Appeal.objects.get(pk=a.pk).anonymised_at is not None


@pytest.mark.django_db
def test_hold_by_command_and_the_daily_jobs(case_city: dict[str, Any]) -> None:
    from civitas.kit import scheduler

    a, _ = closed_case(case_city, OLD)
    member("admin", Role.ADMINISTRATOR, case_city["centre"])
    with pytest.raises(CommandError, match="you may not"):
        call_command("retention", "--hold", f"appeal:{a.ticket}", "--reason", "x", "--user",
                     "handler")  # fmt: skip
    out = io.StringIO()
    call_command(
        "retention", "--hold", f"appeal:{a.ticket}", "--reason", "court 7", "--user", "admin",
        stdout=out,
    )  # fmt: skip
    assert "is on legal hold" in out.getvalue() and Appeal.objects.get(pk=a.pk).legal_hold
    with clock.frozen(NOW):
        assert retention.scheduled().startswith("appeals closed before 2023-11-28: 0 anonymised")
    job = scheduler.job("appeals.retention")
    assert job is not None and job.period == 86400
    assert scheduler.job("mediation.retention") is not None


@pytest.mark.django_db
def test_a_batch_size_below_one_is_refused_before_anything_changes(
    case_city: dict[str, Any],
) -> None:
    a, _ = closed_case(case_city, OLD)
    with pytest.raises(CommandError, match="whole number"):
        call_command("retention", "--quiet", "--batch", "0")
    with clock.frozen(NOW), pytest.raises(CivitasError, match="1 or more"):
        retention.run(batch_size=-5)
    assert Appeal.objects.get(pk=a.pk).anonymised_at is None
    with clock.frozen(NOW):
        off = retention.run(before=None, batch_size=1)
    assert off.anonymised == 1 and off.batches == 1


@pytest.mark.django_db
def test_tasks_and_open311_details_of_the_case_are_scrubbed_too(case_city: dict[str, Any]) -> None:
    """The higher layers' step (participation.retention) runs in the same batch."""
    from civitas.open311.models import RequestDetail
    from civitas.participation.models import Task

    a, _ = closed_case(case_city, OLD)
    Task.objects.create(
        code="TK-RET-1",
        city="T",
        kind=Task.Kind.values[0],
        title=f"Help {NAME} with the lift",
        description=f"Ring {PHONE} first",
        publisher=case_city["centre"],
        jurisdiction=case_city["T-D1"],
        place="12 Main Street, Apt 5B",
        starts_at=OLD,
        ends_at=OLD,
        appeal=a,
        published_by="centre",
    )
    RequestDetail.objects.create(
        appeal=a,
        attributes={"who": NAME, "floors": 3},
        device_id="device-123",
        account_id="account-9",
        media_url="https://photos.example.com/p.jpg",
    )
    with clock.frozen(NOW):
        out = retention.run()
    assert out.anonymised == 1
    assert (out.counts["tasks"], out.counts["open311_details"]) == (1, 1)
    task = Task.objects.get(code="TK-RET-1")
    detail = RequestDetail.objects.get(appeal=a)
    dump = json.dumps([model_to_dict(task), model_to_dict(detail)], default=str)
    for secret in SECRETS:
        assert secret not in dump, secret
    assert (detail.device_id, detail.account_id, detail.media_url) == ("", "", "")
    assert detail.attributes == {"who": "Appellant", "floors": 3}
    assert task.title == "Help Appellant with the lift"
