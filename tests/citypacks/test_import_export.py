"""Importing (all or nothing, idempotent, audited), exporting, round trips, and the command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from civitas.citypacks.exporter import export_city
from civitas.citypacks.importer import import_pack
from civitas.citypacks.pack import Pack, read_pack
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction, Level
from civitas.kit import audit
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.models import AuditEntry
from civitas.matters.models import Matter
from civitas.org.models import ResponsibilityRevision, ResponsibilityRule, Unit
from tests.citypacks.packs import rect, small_pack

pytestmark = pytest.mark.django_db

MODELS = (Level, Jurisdiction, Unit, Matter, ResponsibilityRule, AuditEntry)


def db_state() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def object_entries(after_seq: int = 0) -> list[AuditEntry]:
    """Audit entries about single objects (not the import's summary entry)."""
    return list(AuditEntry.objects.filter(seq__gt=after_seq).exclude(action="citypack.import"))


def last_seq() -> int:
    entry = AuditEntry.objects.order_by("-seq").first()
    return entry.seq if entry else 0


def pack_files(root: Path) -> dict[str, str]:
    return {
        str(f.relative_to(root)): f.read_text(encoding="utf-8")
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


@pytest.fixture
def pack_path(tmp_path: Path) -> Path:
    return small_pack().write(tmp_path / "pack")


class TestImport:
    def test_creates_everything(self, pack_path: Path) -> None:
        report = import_pack(pack_path, actor="test")
        assert report.created == {
            "level": 4,
            "jurisdiction": 9,
            "unit": 5,
            "matter": 7,
            "responsibility": 3,
        }
        street = Jurisdiction.objects.get(code="P-D1-S2")
        assert street.path == "/P/P-D1/P-D1-S2/" and street.level.code == "street"
        assert street.boundary == rect(11, 0, 12, 2)
        hood = Jurisdiction.objects.get(code="P-N2")
        assert hood.parent and hood.parent.code == "P" and hood.level.overlay
        assert hood.name_en == "新城"  # completed from the Chinese name
        assert Jurisdiction.objects.get(code="P-D1").aliases == ["A1"]
        centre = Unit.objects.get(code="P-D1-CENTRE")
        assert (centre.city, centre.parent.code if centre.parent else None) == ("P", "P-CENTRE")
        assert centre.aliases == ["D1C", "一区中心"]
        lift = Matter.objects.get(code="P-M1-1-1")
        assert lift.catalogue == "P" and lift.depth == 2 and lift.urgency_default == "urgent"
        assert lift.deadlines == {
            "urgent": {"respond": "2h", "resolve": "24h"},
            "normal": {"respond": "24h", "resolve": "15wd"},
        }
        assert lift.responsible == {"district": "housing", "street": "street_office"}
        assert lift.keywords == ["lift", "电梯"]
        rule = ResponsibilityRule.objects.get(matter__code="P-M2")
        assert rule.city_coordinates and rule.unit and rule.unit.code == "P-CENTRE"
        assert rule.city == "P" and rule.note == "coordinated by the centre"

    def test_every_write_is_audited_and_the_chain_holds(self, pack_path: Path) -> None:
        import_pack(pack_path, actor="test", reason="first load")
        actions = [e.action for e in AuditEntry.objects.order_by("seq")]
        assert actions.count("level.create") == 4
        assert actions.count("jurisdiction.create") == 9
        assert actions.count("unit.create") == 5
        assert actions.count("matter.create") == 7
        assert actions.count("responsibility.create") == 3
        assert actions[-1] == "citypack.import"
        summary = AuditEntry.objects.get(action="citypack.import")
        assert summary.object_id == "P" and summary.reason == "first load"
        assert summary.summary["created"]["jurisdiction"] == 9
        assert audit.verify().ok

    def test_the_boundary_index_sees_the_new_city(self, pack_path: Path) -> None:
        assert locate(1.0, 10.5) is None
        import_pack(pack_path, actor="test")
        found = locate(1.0, 10.5)
        assert found is not None and found.jurisdiction.code == "P-D1-S1"
        hood = found.at_level("neighborhood")
        assert hood is not None and hood.code == "P-N1"

    def test_beside_another_city(self, pack_path: Path, city: Any) -> None:
        import_pack(pack_path, actor="test")
        assert Jurisdiction.objects.get(code="T").parent is None
        assert set(Jurisdiction.objects.filter(parent=None).values_list("code", flat=True)) == {
            "T",
            "P",
        }

    def test_progress_is_reported(self, pack_path: Path) -> None:
        seen: list[tuple[str, int, int]] = []
        import_pack(pack_path, actor="test", progress=lambda *a: seen.append(a))
        stages = {stage for stage, done, total in seen if done == total}
        assert {"jurisdictions", "units", "matters", "responsibilities"} <= stages


class TestIdempotence:
    def test_a_second_import_changes_nothing(self, pack_path: Path) -> None:
        import_pack(pack_path, actor="test")
        before, seq = db_state(), last_seq()
        report = import_pack(pack_path, actor="test")
        assert report.total_created == 0 and report.total_changed == 0
        assert report.unchanged["jurisdiction"] == 9
        assert object_entries(seq) == []
        assert db_state() == before | {"AuditEntry": before["AuditEntry"] + 1}
        assert ResponsibilityRevision.objects.count() == 3

    def test_queries_do_not_grow_with_the_pack(self, pack_path: Path) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        import_pack(pack_path, actor="test")
        with CaptureQueriesContext(connection) as queries:
            import_pack(pack_path, actor="test")
        # A fixed number of bulk reads plus the summary audit entry, whatever the size.
        assert len(queries) < 30


class TestChanges:
    def test_changed_rows_are_updated_and_audited(self, tmp_path: Path) -> None:
        spec = small_pack()
        import_pack(spec.write(tmp_path / "v1"), actor="test")
        seq = last_seq()
        spec.props("P-D1")["name_en"] = "First District"
        spec.feature("P-N1")["geometry"] = rect(10, 0, 12.5, 2)
        spec.feature("P-N2")["geometry"] = rect(12.5, 0, 14, 2)
        spec.unit("P-D2-HOUSING")["phone"] = "555-0100"
        spec.matter("P-M1-1-2")["deadlines"] = "normal:1d/5wd"
        spec.responsibilities[0]["note"] = "the district housing bureau"
        report = import_pack(spec.write(tmp_path / "v2"), actor="test")
        assert report.created == {}
        assert report.updated == {
            "jurisdiction": 3,
            "unit": 1,
            "matter": 1,
            "responsibility": 1,
        }
        actions = sorted(e.action for e in object_entries(seq))
        assert actions == [
            "jurisdiction.update",
            "jurisdiction.update",
            "jurisdiction.update",
            "matter.update",
            "responsibility.update",
            "unit.update",
        ]
        assert Jurisdiction.objects.get(code="P-D1").name_en == "First District"
        moved = AuditEntry.objects.filter(object_id="P-N1", seq__gt=seq).get()
        assert (
            moved.summary["before"]["boundary_sha256"] != moved.summary["after"]["boundary_sha256"]
        )
        assert Jurisdiction.objects.get(code="P-N1").boundary == rect(10, 0, 12.5, 2)
        assert ResponsibilityRule.objects.get(matter__code="P-M1").version == 2

    def test_rows_left_out_are_deactivated_not_deleted(self, tmp_path: Path) -> None:
        spec = small_pack()
        import_pack(spec.write(tmp_path / "v1"), actor="test")
        spec.units = [u for u in spec.units if u["code"] != "P-D2-HOUSING"]
        spec.matters = [m for m in spec.matters if m["code"] != "P-M1-1-2"]
        spec.responsibilities = spec.responsibilities[:2]
        report = import_pack(spec.write(tmp_path / "v2"), actor="test")
        assert report.deactivated == {"unit": 1, "matter": 1, "responsibility": 1}
        assert not Unit.objects.get(code="P-D2-HOUSING").active
        assert not Matter.objects.get(code="P-M1-1-2").active
        assert not ResponsibilityRule.objects.get(matter__code="P-M2").active
        # Putting them back reactivates them.
        report = import_pack(small_pack().write(tmp_path / "v3"), actor="test")
        assert report.updated == {"unit": 1, "matter": 1, "responsibility": 1}
        assert Unit.objects.get(code="P-D2-HOUSING").active

    def test_jurisdictions_left_out_are_kept_and_reported(self, tmp_path: Path) -> None:
        spec = small_pack()
        import_pack(spec.write(tmp_path / "v1"), actor="test")
        spec.boundaries["neighborhood"].pop()
        report = import_pack(spec.write(tmp_path / "v2"), actor="test")
        assert report.kept == ["P-N2"]
        assert "P-N2" in report.summary()


class TestAllOrNothing:
    def test_a_failure_while_writing_leaves_nothing_behind(self, pack_path: Path) -> None:
        pack = read_pack(pack_path)
        # A pack built in code skips the reader's checks; the service refuses the last matter.
        pack.matters[-1].deadlines = {"someday": {"respond": "2h"}}
        before = db_state()
        with pytest.raises(InvalidInput):
            import_pack(pack, actor="test")
        assert db_state() == before

    def test_inside_a_callers_transaction(self, pack_path: Path) -> None:
        with transaction.atomic():
            report = import_pack(pack_path, actor="test")
        assert report.total_created == 28


class TestExport:
    def test_round_trip_is_lossless(self, tmp_path: Path, pack_path: Path) -> None:
        import_pack(pack_path, actor="test")
        first = export_city("P", tmp_path / "export1")

        def content(pack: Pack) -> Any:
            return (
                pack.manifest(),
                sorted(
                    (
                        j.code,
                        j.level,
                        j.parent,
                        j.name_en,
                        j.name_zh,
                        j.aliases,
                        json.dumps(j.boundary, sort_keys=True),
                    )
                    for j in pack.jurisdictions
                ),
                sorted(
                    (
                        u.code,
                        u.kind,
                        u.department_type,
                        u.name_en,
                        u.name_zh,
                        u.jurisdiction,
                        u.parent,
                        u.aliases,
                        u.phone,
                    )
                    for u in pack.units
                ),
                sorted(
                    (
                        m.code,
                        m.parent,
                        m.name_en,
                        m.name_zh,
                        m.keywords,
                        m.urgency_default,
                        json.dumps(m.deadlines, sort_keys=True),
                        json.dumps(m.responsible, sort_keys=True),
                    )
                    for m in pack.matters
                ),
                sorted((r.key, r.city_coordinates, r.note) for r in pack.responsibilities),
            )

        assert content(read_pack(first)) == content(read_pack(pack_path))
        seq = last_seq()
        report = import_pack(first, actor="test")
        assert report.total_created == 0 and report.total_changed == 0
        assert object_entries(seq) == []
        second = export_city("P", tmp_path / "export2")
        assert pack_files(second) == pack_files(first)

    def test_export_into_a_fresh_database(self, tmp_path: Path, pack_path: Path) -> None:
        """Import the export of a city after removing it: the same city comes back."""
        import_pack(pack_path, actor="test")
        first = export_city("P", tmp_path / "export1")
        with transaction.atomic():
            ResponsibilityRevision.objects.all().delete()
            ResponsibilityRule.objects.all().delete()
            for model in (Unit, Matter, Jurisdiction):
                while model.objects.exists():
                    model.objects.filter(children__isnull=True).delete()
        import_pack(first, actor="test")
        second = export_city("P", tmp_path / "export2")
        assert pack_files(second) == pack_files(first)

    def test_export_keeps_the_manifest_tolerance_and_source(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["tolerance"] = {"containment": 0.05, "gap": 0.02, "overlap": 0.03}
        import_pack(spec.write(tmp_path / "pack"), actor="test")
        out = export_city("P", tmp_path / "out")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["tolerance"] == {"containment": 0.05, "gap": 0.02, "overlap": 0.03}
        assert manifest["source"] == "made up for tests"
        assert [lv["code"] for lv in manifest["levels"]] == [
            "city",
            "district",
            "street",
            "neighborhood",
        ]

    def test_unknown_city(self, tmp_path: Path) -> None:
        with pytest.raises(NotFound):
            export_city("NOPE", tmp_path / "out")

    def test_refuses_a_folder_holding_something_else(self, tmp_path: Path, pack_path: Path) -> None:
        import_pack(pack_path, actor="test")
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "notes.txt").write_text("mine")
        with pytest.raises(InvalidInput):
            export_city("P", tmp_path / "busy")

    def test_overwrites_an_earlier_pack(self, tmp_path: Path, pack_path: Path) -> None:
        import_pack(pack_path, actor="test")
        out = export_city("P", tmp_path / "out")
        (out / "boundaries" / "stale.geojson").write_text("{}")
        export_city("P", out)
        assert not (out / "boundaries" / "stale.geojson").exists()


class TestCommand:
    def run(self, *args: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command("city", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_import_and_export(self, tmp_path: Path, pack_path: Path) -> None:
        out, err = self.run("import", str(pack_path))
        assert "created: 4 levels, 9 jurisdictions, 5 units, 7 matters" in out
        assert "jurisdictions: 9" in err  # progress on stderr
        out, _ = self.run("import", str(pack_path))
        assert "created: nothing" in out and "updated: nothing" in out
        out, _ = self.run("export", str(tmp_path / "exported"))
        assert "exported P" in out
        assert (tmp_path / "exported" / "boundaries" / "street.geojson").is_file()

    def test_check(self, pack_path: Path) -> None:
        out, _ = self.run("check", str(pack_path))
        assert "ready to import" in out
        assert Jurisdiction.objects.count() == 0

    def test_bad_pack_lists_every_problem_and_fails(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D1-HOUSING")["kind"] = "ministry"
        spec.responsibilities[1]["matter"] = "P-M7"
        path = spec.write(tmp_path / "bad")
        before = db_state()
        err = io.StringIO()
        with pytest.raises(CommandError) as info:
            call_command("city", "import", str(path), stdout=io.StringIO(), stderr=err)
        lines = err.getvalue().splitlines()
        assert any(line.startswith("units.csv:4: kind: unknown unit kind") for line in lines)
        assert any(line.startswith("responsibilities.csv:3: matter: ") for line in lines)
        assert "2 problems" in str(info.value) and "nothing was imported" in str(info.value)
        assert db_state() == before

    def test_bad_pack_exits_non_zero(self, tmp_path: Path, capsys: Any) -> None:
        from civitas.cli import main

        spec = small_pack()
        spec.skip.add("manifest.json")
        path = spec.write(tmp_path / "bad")
        with pytest.raises(SystemExit) as info:
            main(["civitas", "city", "import", str(path)])
        assert info.value.code == 1
        assert "manifest.json: missing" in capsys.readouterr().err

    def test_export_needs_a_city_when_several_are_installed(
        self, tmp_path: Path, pack_path: Path, city: Any
    ) -> None:
        self.run("import", str(pack_path))
        with pytest.raises(CommandError, match="--city"):
            self.run("export", str(tmp_path / "out"))
        out, _ = self.run("export", str(tmp_path / "out"), "--city", "T")
        assert "exported T" in out

    def test_export_of_an_unknown_city(self, tmp_path: Path) -> None:
        with pytest.raises(CommandError, match="no city 'X'"):
            self.run("export", str(tmp_path / "out"), "--city", "X")

    def test_build_dispatches_to_the_registry(self, tmp_path: Path, monkeypatch: Any) -> None:
        from civitas.citypacks import builders

        calls: list[tuple[Any, ...]] = []

        def fake(data: Path | None, out: Path, progress: Any = None) -> None:
            progress("building")
            calls.append((data, out))

        monkeypatch.setitem(builders.BUILDERS, "demo", fake)
        out, err = self.run("build", "demo", "--out", str(tmp_path / "demo"))
        assert calls == [(None, tmp_path / "demo")]
        assert "building" in err and "civitas city import" in out

    def test_build_rejects_a_missing_data_folder(self, tmp_path: Path) -> None:
        with pytest.raises(CommandError, match="no such folder"):
            self.run("build", "boston", "--data", str(tmp_path / "nope"), "--out", "x")

    def test_builders_are_registered_lazily(self) -> None:
        from civitas.citypacks.builders import BUILDERS

        assert set(BUILDERS) == {"boston", "changsha", "demo"}
