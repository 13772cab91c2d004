"""Intake: validation, idempotency, ticket numbers, tracking tokens, photos, triage outcomes."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import ExifTags, Image

from civitas.appeals import attachments, intake, selectors
from civitas.appeals.models import Appeal, Attachment, IdempotencyKey, LocateMethod, Status
from civitas.kit import clock
from civitas.kit.errors import CivitasError, InvalidInput
from tests.appeals.conftest import submit

ZONE = ZoneInfo(settings.TIME_ZONE)


def data(**fields: Any) -> intake.AppealIn:
    base: dict[str, Any] = {"city": "T", "text": "The lift in building 3 is broken again"}
    base.update(fields)
    return intake.AppealIn(**base)


def problems_of(c: dict[str, Any], d: intake.AppealIn) -> list[str]:
    with pytest.raises(InvalidInput) as exc, transaction.atomic():
        intake.submit(actor=c["resident"], data=d)
    assert exc.value.status == 422
    return sorted(p["field"] for p in exc.value.details)


@pytest.mark.django_db
class TestValidation:
    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"text": "hi"}, ["text"]),
            ({"text": "x" * 4001}, ["text"]),
            ({"kind": "rant"}, ["kind"]),
            ({"urgency": "whenever"}, ["urgency"]),
            ({"channel": "pigeon"}, ["channel"]),
            ({"lat": 0.5}, ["lon"]),
            ({"lat": 91.0, "lon": 0.5}, ["lat"]),
            ({"lat": 0.5, "lon": 181.0}, ["lon"]),
            ({"city": "NOWHERE"}, ["city"]),
            ({"matter_code": "NOPE"}, ["matter"]),
            ({"contact": intake.ContactIn(email="not-an-address")}, ["contact.email"]),
            ({"kind": "rant", "text": ""}, ["kind", "text"]),
        ],
    )
    def test_each_problem_names_its_field(
        self, case_city: dict[str, Any], fields: dict[str, Any], named: list[str]
    ) -> None:
        assert problems_of(case_city, data(**fields)) == named
        assert Appeal.objects.count() == 0

    def test_a_matter_from_another_catalogue_is_refused(self, case_city: dict[str, Any]) -> None:
        from civitas.matters import services as matter_services

        with transaction.atomic():
            matter_services.save_matter(
                actor="test", catalogue="U", code="U-M1", name_en="Other", name_zh="其他"
            )
        assert problems_of(case_city, data(matter_code="U-M1")) == ["matter"]


@pytest.mark.django_db
class TestIdempotency:
    def test_the_same_key_twice_gives_one_appeal(self, case_city: dict[str, Any]) -> None:
        c = case_city
        first = intake.submit_once(actor=c["resident"], data=data(), idempotency_key="abc")
        again = intake.submit_once(actor=c["resident"], data=data(), idempotency_key="abc")
        assert first.created and not again.created
        assert again.appeal.pk == first.appeal.pk and again.token is None
        assert Appeal.objects.count() == 1 == IdempotencyKey.objects.count()

    def test_the_same_key_for_another_body_is_422(self, case_city: dict[str, Any]) -> None:
        c = case_city
        intake.submit_once(actor=c["resident"], data=data(), idempotency_key="abc")
        with pytest.raises(CivitasError) as exc:
            intake.submit_once(
                actor=c["resident"], data=data(text="Noise all night long"), idempotency_key="abc"
            )
        assert exc.value.status == 422 and exc.value.code == "idempotency_mismatch"
        assert Appeal.objects.count() == 1

    def test_keys_belong_to_their_client(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = intake.submit_once(actor=c["resident"], data=data(), idempotency_key="abc")
        b = intake.submit_once(actor=c["operator"], data=data(), idempotency_key="abc")
        assert a.appeal.pk != b.appeal.pk and b.created

    def test_an_overlong_key_is_refused(self, case_city: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput) as exc:
            intake.submit_once(actor=case_city["resident"], data=data(), idempotency_key="k" * 201)
        assert exc.value.details == {"field": "Idempotency-Key"}


@pytest.mark.django_db
class TestTicketNumbers:
    def test_sequential_per_city_and_day(self, case_city: dict[str, Any]) -> None:
        day1 = datetime(2026, 3, 2, 23, 50, tzinfo=ZONE)
        day2 = day1 + timedelta(minutes=20)  # past local midnight
        with clock.frozen(day1):
            a, b = submit(case_city).appeal, submit(case_city).appeal
        with clock.frozen(day2):
            d = submit(case_city).appeal
        assert [a.ticket, b.ticket] == ["T-20260302-000001", "T-20260302-000002"]
        assert d.ticket == "T-20260303-000001"
        with transaction.atomic():
            assert intake.next_ticket("U", day1) == "U-20260302-000001"
            assert intake.next_ticket("T", day1) == "T-20260302-000003"

    def test_the_received_time_decides_the_day(self, case_city: dict[str, Any]) -> None:
        then = datetime(2025, 12, 31, 9, 0, tzinfo=ZONE)
        a = submit(case_city, received_at=then).appeal
        assert a.ticket == "T-20251231-000001" and a.received_at == then

    def test_unique_across_many(self, case_city: dict[str, Any]) -> None:
        tickets = [submit(case_city).appeal.ticket for _ in range(5)]
        assert len(set(tickets)) == 5
        assert [int(t.rsplit("-", 1)[1]) for t in tickets] == [1, 2, 3, 4, 5]


@pytest.mark.django_db
class TestTrackingToken:
    def test_the_token_finds_the_appeal_and_only_its_hash_is_stored(
        self, case_city: dict[str, Any]
    ) -> None:
        done = submit(case_city)
        assert done.token and len(done.token) >= 32
        assert selectors.by_token(done.token) == done.appeal
        stored = Appeal.objects.get(pk=done.appeal.pk)
        assert stored.token_hash == hashlib.sha256(done.token.encode()).hexdigest()
        row = Appeal.objects.filter(pk=done.appeal.pk).values().get()
        assert done.token not in {str(v) for v in row.values()}
        assert selectors.by_token(done.token[:-1] + "x") is None
        assert selectors.by_token("") is None

    def test_tokens_differ(self, case_city: dict[str, Any]) -> None:
        assert submit(case_city).token != submit(case_city).token


def _jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (28.0, 11.0, 42.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (112.0, 58.0, 30.0)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    raw = out.getvalue()
    with Image.open(io.BytesIO(raw)) as check:  # the fixture really carries GPS
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return raw


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 255, 128)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def with_photos(c: dict[str, Any], *photos: Any) -> Appeal:
    with transaction.atomic():
        return intake.submit(actor=c["resident"], data=data(), photos=list(photos)).appeal


@pytest.mark.django_db
class TestPhotos:
    def test_png_and_jpeg_are_kept(self, case_city: dict[str, Any], media: Path) -> None:
        a = with_photos(
            case_city,
            SimpleUploadedFile("a.png", _png(), "image/png"),
            SimpleUploadedFile("b.jpg", _jpeg_with_gps(), "image/jpeg"),
        )
        kinds = sorted(a.attachments.values_list("content_type", flat=True))
        assert kinds == ["image/jpeg", "image/png"]
        for att in a.attachments.all():
            assert Path(att.file.path).is_file() and str(media) in att.file.path

    def test_gps_and_exif_are_removed_from_the_stored_copy(
        self, case_city: dict[str, Any], media: Path
    ) -> None:
        original = _jpeg_with_gps()
        a = with_photos(case_city, SimpleUploadedFile("p.jpg", original, "image/jpeg"))
        att = a.attachments.get()
        stored = Path(att.file.path).read_bytes()
        assert stored != original and b"Exif" not in stored and b"PhoneCo" not in stored
        with Image.open(io.BytesIO(stored)) as img:
            assert img.format == "JPEG" and img.size == (64, 48)
            assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            assert len(img.getexif()) == 0
        assert att.sha256 == hashlib.sha256(stored).hexdigest() and att.size == len(stored)

    def test_a_text_file_named_jpg_is_refused(self, case_city: dict[str, Any], media: Path) -> None:
        fake = SimpleUploadedFile("cat.jpg", b"just some text, not a picture\n" * 10, "image/jpeg")
        with pytest.raises(InvalidInput, match=r"cat\.jpg") as exc:
            with_photos(case_city, fake)
        assert exc.value.details == {"field": "photos"}
        assert Appeal.objects.count() == 0 and Attachment.objects.count() == 0

    def test_a_gif_is_refused_by_its_content(self, case_city: dict[str, Any], media: Path) -> None:
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="GIF")
        with pytest.raises(InvalidInput, match="GIF"):
            with_photos(case_city, SimpleUploadedFile("x.png", out.getvalue(), "image/png"))

    def test_an_oversized_file_is_refused(self, case_city: dict[str, Any], media: Path) -> None:
        big = SimpleUploadedFile("big.jpg", b"\xff" * (attachments.MAX_BYTES + 1), "image/jpeg")
        with pytest.raises(InvalidInput, match="larger than"):
            with_photos(case_city, big)
        assert Appeal.objects.count() == 0


@pytest.mark.django_db
class TestTriageOutcomes:
    def test_an_unlocated_appeal_waits_for_the_centre(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city, lat=None, lon=None).appeal
        assert a.status == Status.TRIAGE and a.jurisdiction is None
        assert a.jurisdiction_path == "/T/" and a.locate_method == LocateMethod.NONE
        assert a.lead_unit is None
        assert list(selectors.desk(case_city["dispatcher"], "unlocated")) == [a]
        # a district centre does not see the city's unplaced appeals
        assert list(selectors.desk(case_city["d1_dispatcher"], "unlocated")) == []

    def test_a_point_outside_the_city_is_unlocated(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city, lat=50.0, lon=50.0).appeal
        assert a.status == Status.TRIAGE and a.jurisdiction_path == "/T/"

    def test_an_address_or_text_places_it(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city, lat=None, lon=None, address="Oak 121 Community, block 4").appeal
        assert a.jurisdiction.code == "T-D1-S2-C1" and a.locate_method == LocateMethod.ADDRESS
        assert a.status == Status.DISPATCHED

    def test_an_unclassified_appeal_waits_for_the_centre(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city, "Something strange is going on next door").appeal
        assert a.status == Status.TRIAGE and a.matter is None
        assert a.jurisdiction.code == "T-D1-S1-C1"
        assert list(selectors.desk(case_city["dispatcher"], "unclassified")) == [a]
        assert "no matter" in a.events.get(action="hold_for_triage").note

    def test_text_naming_two_districts_goes_to_the_city(self, case_city: dict[str, Any]) -> None:
        a = submit(
            case_city, "The lifts in North 1 District and North 2 District are all broken"
        ).appeal
        assert a.status == Status.TRIAGE and a.lead_unit is None
        assert "more than one district" in a.events.get(action="hold_for_triage").note
        assert a in selectors.desk(case_city["dispatcher"], "triage")

    def test_a_clear_case_is_dispatched_at_once(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city).appeal
        assert a.status == Status.DISPATCHED and a.lead_unit.code == "T-D1-HOUSING"
        assert a.first_unit == a.lead_unit and a.respond_due and a.resolve_due
        assert [e.action for e in a.events.order_by("id")] == ["received", "dispatch"]

    def test_urgent_words_raise_the_urgency(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city, "Smoke coming out of the lift shaft, people trapped").appeal
        assert a.urgency == "urgent"
        assert a.resolve_due - a.dispatched_at == timedelta(hours=24)
