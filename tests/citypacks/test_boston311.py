"""The Boston 311 replay (civitas import boston311) and the on-time decision it is judged by.

Most tests use a tiny Boston made in code (the real pack's codes, a box for the city) and a
CSV written here with the real file's columns; one test replays the real data when present.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from civitas.appeals import deadlines
from civitas.appeals.models import Appeal, Assignment, Channel, Event, Status
from civitas.citypacks import boston311
from civitas.citypacks.builders.boston import matter_code
from civitas.geo import services as geo_services
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.models import AuditEntry
from civitas.matters import services as matter_services
from civitas.org import services as org_services
from civitas.org.models import UnitKind
from tests.factories import rect

COLUMNS = (
    "CASE_ENQUIRY_ID", "OPEN_DT", "TARGET_DT", "CLOSED_DT", "OnTime_Status", "CASE_STATUS",
    "CLOSURE_REASON", "CASE_TITLE", "SUBJECT", "REASON", "TYPE", "QUEUE", "Department",
    "SubmittedPhoto", "ClosedPhoto", "Location", "fire_district", "pwd_district",
    "city_council_district", "police_district", "neighborhood", "neighborhood_services_district",
    "ward", "precinct", "land_usage", "LOCATION_STREET_NAME", "LOCATION_ZIPCODE", "Property_Type",
    "Property_ID", "LATITUDE", "LONGITUDE", "Source", "Geocoded_Location",
)  # fmt: skip
SUBJECT, REASON, TYPE = "Public Works Department", "Street Lights", "Street Light Outages"
QUEUE = "PWDx_Street Light Outages"


def record(case: str, **fields: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row |= {
        "CASE_ENQUIRY_ID": case,
        "OPEN_DT": "01/05/2015 09:15:00 AM",
        "TARGET_DT": "01/20/2015 08:30:00 AM",
        "CLOSED_DT": "01/07/2015 04:00:00 PM",
        "OnTime_Status": "ONTIME",
        "CASE_STATUS": "Closed",
        "CLOSURE_REASON": "Case Closed. Case Resolved. repaired",
        "CASE_TITLE": TYPE,
        "SUBJECT": SUBJECT,
        "REASON": REASON,
        "TYPE": TYPE,
        "QUEUE": QUEUE,
        "Department": "PWDx",
        "Location": "145-151 Ipswich St  Boston  MA  02215",
        "LATITUDE": "42.3474",
        "LONGITUDE": "-71.0944",
        "Source": "Citizens Connect App",
    }
    row.update(fields)
    return row


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def boston(db: Any) -> dict[str, Any]:
    """A tiny Boston with the real pack's codes: the city, one ward (west of -71.07), the
    Public Works department with its street-lights queue, and one matter path."""
    from civitas.geo.locate import index

    with transaction.atomic():
        city_level = geo_services.save_level(code="city", rank=0, name_en="City", name_zh="市")
        ward_level = geo_services.save_level(code="ward", rank=1, name_en="Ward", name_zh="选区")
        city = geo_services.save_jurisdiction(
            actor="test",
            code="BOS",
            level=city_level,
            name_en="Boston",
            name_zh="波士顿市",
            boundary=rect(-71.2, 42.2, -70.9, 42.45),
        )
        ward = geo_services.save_jurisdiction(
            actor="test",
            code="BOS-W05",
            level=ward_level,
            parent=city,
            name_en="Ward 5",
            name_zh="第5选区",
            boundary=rect(-71.2, 42.2, -71.07, 42.45),
        )
        pwd = org_services.save_unit(
            actor="test",
            code="BOS-D-PWD",
            kind=UnitKind.DEPARTMENT,
            department_type="urban_management",
            name_en="Public Works Department",
            name_zh="公共工程局",
            jurisdiction=city,
            aliases=["PWDx"],
        )
        queue = org_services.save_unit(
            actor="test",
            code="BOS-D-PWD-Q-street-light-outages",
            kind=UnitKind.DEPARTMENT,
            department_type="urban_management",
            name_en="Public Works Department: Street Light Outages",
            name_zh="公共工程局：Street Light Outages",
            jurisdiction=city,
            parent=pwd,
            aliases=[QUEUE],
        )
        top = matter_services.save_matter(
            actor="test", catalogue="BOS", code=matter_code(SUBJECT), name_en=SUBJECT, name_zh="公"
        )
        mid = matter_services.save_matter(
            actor="test",
            catalogue="BOS",
            code=matter_code(SUBJECT, REASON),
            name_en=REASON,
            name_zh="路灯",
            parent=top,
        )
        leaf = matter_services.save_matter(
            actor="test",
            catalogue="BOS",
            code=matter_code(SUBJECT, REASON, TYPE),
            name_en=TYPE,
            name_zh=TYPE,
            parent=mid,
        )
    index.invalidate()
    return {"city": city, "ward": ward, "pwd": pwd, "queue": queue, "leaf": leaf}


def case(external_id: str) -> Appeal:
    return Appeal.objects.get(city="BOS", external_id=external_id)


NY = boston311.TZ


class TestReplay:
    def test_a_closed_case_keeps_its_real_history(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record("101001240735")])
        report = boston311.replay(path)
        assert (report.read, report.created, report.quarantined) == (1, 1, [])
        a = case("101001240735")
        assert a.status == Status.CLOSED
        assert a.received_at == datetime(2015, 1, 5, 9, 15, tzinfo=NY)
        assert a.received_at.astimezone(UTC) == datetime(2015, 1, 5, 14, 15, tzinfo=UTC)
        assert a.resolve_due == datetime(2015, 1, 20, 8, 30, tzinfo=NY)
        assert a.resolved_at == a.closed_at == datetime(2015, 1, 7, 16, 0, tzinfo=NY)
        assert a.respond_due is None
        assert a.matter == boston["leaf"]
        assert a.lead_unit == a.first_unit == boston["queue"]
        assert a.jurisdiction == boston["ward"]
        assert a.jurisdiction_path == boston["ward"].path
        assert (a.lat, a.lon) == (42.3474, -71.0944)
        assert a.channel == Channel.WEB
        assert a.ticket == "BOS-20150105-101001240735"
        assert a.address == "145-151 Ipswich St Boston MA 02215"
        assert a.contact.wants_notifications is False
        lead = Assignment.objects.get(appeal=a)
        assert (lead.unit, lead.state) == (boston["queue"], Assignment.State.DONE)
        actions = list(Event.objects.filter(appeal=a).values_list("action", "at"))
        assert actions == [("received", a.received_at), ("resolve", a.closed_at)]
        assert deadlines.on_time(a)

    def test_open_cases_missing_places_and_fallbacks(self, boston: dict[str, Any], tmp_path: Path):
        rows = [
            record("1", CASE_STATUS="Open", CLOSED_DT="", Source="Constituent Call"),
            # City Hall is the data's "no location"
            record("2", LATITUDE="42.3594", LONGITUDE="-71.0587", Source="Employee Generated"),
            # an unknown queue falls back to the department named by its code
            record("3", QUEUE="PWDx_Somewhere Else", TYPE="Unheard Of", Source="Carrier Pigeon"),
            record(
                "4",
                QUEUE="No Queue Assigned To User",
                Department="No Q",
                CASE_STATUS="Open",
                CLOSED_DT="",
                LATITUDE="42.36",
                LONGITUDE="-71.0",
            ),
        ]
        report = boston311.replay(write(tmp_path / "r.csv", rows))
        assert report.created == 4
        one = case("1")
        assert (one.status, one.channel, one.closed_at) == (Status.ACCEPTED, Channel.HOTLINE, None)
        assert Assignment.objects.get(appeal=one).state == Assignment.State.ACCEPTED
        two = case("2")
        assert (two.lat, two.lon, two.jurisdiction, two.channel) == (None, None, None, "grid")
        assert two.locate_method == "none"
        three = case("3")
        assert three.lead_unit == boston["pwd"]
        assert three.matter is None
        assert three.channel == Channel.REPLAY
        four = case("4")
        assert (four.status, four.lead_unit) == (Status.TRIAGE, None)
        assert four.jurisdiction == boston["city"]  # east of the ward, inside the city
        assert report.notes["no location (City Hall placeholder point)"] == 1
        assert report.notes["lead unit: the department (queue not in the pack)"] == 1
        assert report.notes["matter not in the pack's catalogue"] == 1
        assert report.notes["no lead unit (no team named)"] == 1

    def test_bad_rows_are_quarantined_by_line_and_field(
        self, boston: dict[str, Any], tmp_path: Path
    ):
        rows = [
            record("10"),
            record("11", OPEN_DT="2015-01-05 09:15"),
            record("12", CLOSED_DT=""),
            record("13", LATITUDE="north"),
            record("10"),
            record("", CASE_STATUS="Pending"),
            record("14"),
        ]
        report = boston311.replay(write(tmp_path / "r.csv", rows))
        assert report.created == 2
        found = {(p.line, p.field) for p in report.quarantined}
        assert found == {
            (3, "OPEN_DT"),
            (4, "CLOSED_DT"),
            (5, "LATITUDE"),
            (6, "CASE_ENQUIRY_ID"),
            (7, "CASE_ENQUIRY_ID"),
            (7, "CASE_STATUS"),
        }
        repeat = next(p for p in report.quarantined if p.line == 6)
        assert repeat.message == "repeats line 2"
        assert report.quarantined_rows == 5
        out = tmp_path / "q.csv"
        report.write_quarantine(out)
        lines = out.read_text().splitlines()
        assert lines[0] == "line,CASE_ENQUIRY_ID,field,problem"
        assert len(lines) == 7

    def test_rerun_imports_nothing_twice(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record(str(n)) for n in range(1, 6)])
        first = boston311.replay(path, batch=2)
        audits = AuditEntry.objects.filter(action="appeal.replay").count()
        again = boston311.replay(path, batch=2)
        assert (first.created, first.batches, audits) == (5, 3, 3)
        assert (again.created, again.already) == (0, 5)
        assert Appeal.objects.filter(city="BOS").count() == 5
        assert AuditEntry.objects.filter(action="appeal.replay").count() == audits

    def test_one_audit_entry_per_batch_not_per_case(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record(str(n)) for n in range(1, 8)])
        boston311.replay(path, batch=4)
        entries = list(AuditEntry.objects.filter(action="appeal.replay").order_by("seq"))
        assert [e.object_id for e in entries] == ["BOS:1..4", "BOS:5..7"]
        assert AuditEntry.objects.filter(action="appeal.receive").count() == 0

    def test_a_batch_is_all_or_nothing(self, boston: dict[str, Any], tmp_path: Path):
        # an appeal already holds the ticket that case 4 would get: batch 2 (cases 3, 4) fails
        path = write(tmp_path / "r.csv", [record(str(n)) for n in range(1, 6)])
        boston311.replay(write(tmp_path / "one.csv", [record("4")]))
        Appeal.objects.filter(external_id="4").update(external_id="elsewhere")
        with pytest.raises(Exception) as failed:
            boston311.replay(path, batch=2)
        assert "unique" in str(failed.value).lower()
        assert sorted(Appeal.objects.filter(city="BOS").values_list("external_id", flat=True)) == [
            "1",
            "2",
            "elsewhere",
        ]

    def test_limit(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record(str(n)) for n in range(1, 6)])
        assert boston311.replay(path, limit=3).created == 3

    def test_gzip_files_are_read(self, boston: dict[str, Any], tmp_path: Path):
        import gzip

        plain = write(tmp_path / "r.csv", [record("1")])
        packed = tmp_path / "r.csv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        assert boston311.replay(packed).created == 1

    def test_without_the_pack_it_says_what_to_do(self, db: Any, tmp_path: Path):
        with pytest.raises(NotFound) as missing:
            boston311.replay(write(tmp_path / "r.csv", [record("1")]))
        assert "civitas city build boston" in missing.value.message
        assert "civitas city import PACK" in missing.value.message

    def test_a_file_of_another_kind_is_refused(self, boston: dict[str, Any], tmp_path: Path):
        other = tmp_path / "other.csv"
        other.write_text("id,name\n1,x\n")
        with pytest.raises(InvalidInput, match="not a Boston 311 requests file"):
            boston311.replay(other)


class TestCommand:
    def test_import_boston311(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record("1"), record("2", OPEN_DT="soon"), record("3")])
        out, err, report = io.StringIO(), io.StringIO(), tmp_path / "quarantine.csv"
        call_command(
            "import", "boston311", str(path), "--report", str(report), stdout=out, stderr=err
        )
        assert "appeals created: 2" in out.getvalue()
        assert "quarantined rows: 1" in out.getvalue()
        assert "read 3, created 2" in err.getvalue()  # progress on stderr
        assert "line 3 (2) OPEN_DT" in err.getvalue()
        assert "3,2,OPEN_DT" in report.read_text()

    def test_limit_option(self, boston: dict[str, Any], tmp_path: Path):
        path = write(tmp_path / "r.csv", [record(str(n)) for n in range(1, 6)])
        out = io.StringIO()
        call_command("import", "boston311", str(path), "--limit", "2", stdout=out, stderr=out)
        assert Appeal.objects.count() == 2

    def test_missing_pack_is_a_command_error(self, db: Any, tmp_path: Path):
        path = write(tmp_path / "r.csv", [record("1")])
        with pytest.raises(CommandError, match="civitas city import PACK"):
            call_command("import", "boston311", str(path), stdout=io.StringIO())


class TestOnTime:
    """deadlines.on_time: the one way Civitas decides whether a case is on time."""

    DUE = datetime(2015, 3, 1, 12, 0, tzinfo=UTC)

    def appeal(self, status: str, **dates: Any) -> Appeal:
        return Appeal(status=status, resolve_due=dates.pop("due", self.DUE), **dates)

    @pytest.mark.parametrize(
        ("status", "dates", "as_of", "expected"),
        [
            (Status.CLOSED, {"resolved_at": DUE}, DUE + timedelta(days=9), True),
            (Status.CLOSED, {"resolved_at": DUE + timedelta(seconds=1)}, DUE, False),
            (Status.RESOLVED, {"resolved_at": DUE - timedelta(days=1)}, DUE, True),
            (Status.CLOSED, {"closed_at": DUE + timedelta(hours=1)}, DUE, False),  # duplicate
            (Status.ACCEPTED, {}, DUE, True),
            (Status.ACCEPTED, {}, DUE + timedelta(seconds=1), False),
            (Status.DISPATCHED, {"due": None}, DUE + timedelta(days=999), True),
            (Status.CLOSED, {"due": None, "resolved_at": DUE}, DUE, True),
        ],
    )
    def test_cases(self, status: str, dates: dict[str, Any], as_of: datetime, expected: bool):
        assert deadlines.on_time(self.appeal(status, **dates), as_of) is expected

    def test_the_database_filter_agrees(self, boston: dict[str, Any], tmp_path: Path):
        rows = [
            record("1"),  # closed on time
            record("2", CLOSED_DT="02/20/2015 10:00:00 AM", OnTime_Status="OVERDUE"),
            record("3", CASE_STATUS="Open", CLOSED_DT="", OnTime_Status="OVERDUE"),
            record("4", CASE_STATUS="Open", CLOSED_DT="", TARGET_DT="02/01/2016 08:30:00 AM"),
            record("5", TARGET_DT=""),
            record("6", CASE_STATUS="Open", CLOSED_DT="", TARGET_DT=""),
        ]
        path = write(tmp_path / "r.csv", rows)
        boston311.replay(path)
        as_of = boston311.EXTRACTED
        by_function = {a.external_id for a in Appeal.objects.all() if deadlines.on_time(a, as_of)}
        by_filter = set(
            Appeal.objects.filter(deadlines.on_time_q(as_of)).values_list("external_id", flat=True)
        )
        assert by_function == by_filter == {"1", "4", "5", "6"}
        result = boston311.ontime_agreement(path)
        assert (result.cases, result.agree, result.share()) == (6, 6, 1.0)


class TestRealData:
    def test_replay_agrees_with_the_records(self, shared_data: Path, db: Any, tmp_path: Path):
        from civitas.citypacks.builders import BUILDERS
        from civitas.citypacks.importer import import_pack
        from civitas.geo.locate import index

        requests = shared_data / "boston" / "requests_2015_jan_oct.csv.gz"
        if not requests.exists():
            pytest.skip("Boston 311 requests not in the data folder")
        BUILDERS["boston"](shared_data / "boston", tmp_path / "pack")
        with transaction.atomic():
            import_pack(tmp_path / "pack", actor="test")
        index.invalidate()
        report = boston311.replay(requests, limit=3000)
        assert report.created == 3000
        assert report.quarantined == []
        assert Appeal.objects.filter(matter__isnull=True).count() == 0
        assert Appeal.objects.filter(lead_unit__isnull=True).count() <= 1
        result = boston311.ontime_agreement(requests)
        assert result.cases == 3000
        assert result.share() >= 0.99
        assert result.share(of_recorded=True) == 1.0
