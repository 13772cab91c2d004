"""Every kind of bad input is reported with its file, row and field, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from civitas.citypacks.importer import import_pack
from civitas.citypacks.pack import PackInvalid, Problem, read_pack
from civitas.geo.models import Jurisdiction, Level
from civitas.kit.errors import InvalidInput
from civitas.kit.models import AuditEntry
from civitas.matters.models import Matter
from civitas.org.models import ResponsibilityRule, Unit
from tests.citypacks.packs import PackSpec, rect, small_pack

pytestmark = pytest.mark.django_db

MODELS = (Level, Jurisdiction, Unit, Matter, ResponsibilityRule, AuditEntry)


def db_state() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def rejected(spec: PackSpec, tmp_path: Path) -> list[Problem]:
    """Import the pack, expect it refused, check the database did not change."""
    before = db_state()
    path = spec.write(tmp_path / "pack")
    with pytest.raises(PackInvalid) as info:
        import_pack(path, actor="test")
    assert db_state() == before
    assert info.value.problems
    return info.value.problems


def find(problems: list[Problem], file: str, row: int | None, field: str) -> Problem:
    hits = [p for p in problems if (p.file, p.row, p.field) == (file, row, field)]
    assert hits, f"no problem at {file}:{row}: {field}; got:\n" + "\n".join(map(str, problems))
    return hits[0]


class TestValidPack:
    def test_the_small_pack_reads_without_problems(self, tmp_path: Path) -> None:
        pack = read_pack(small_pack().write(tmp_path / "pack"))
        assert pack.city == "P"
        assert [j.code for j in pack.jurisdictions][:3] == ["P", "P-D1", "P-D2"]
        assert len(pack.jurisdictions) == 9
        assert len(pack.units) == 5 and len(pack.matters) == 7
        assert len(pack.responsibilities) == 3

    def test_parents_come_before_children(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.units.reverse()
        spec.matters.reverse()
        pack = read_pack(spec.write(tmp_path / "pack"))
        for items in (pack.units, pack.matters, pack.jurisdictions):
            seen: set[str] = set()
            for item in items:
                assert item.parent is None or item.parent in seen
                seen.add(item.code)

    def test_a_problem_reads_file_row_field_message(self) -> None:
        problem = Problem("units.csv", 3, "kind", "unknown unit kind 'x'")
        assert str(problem) == "units.csv:3: kind: unknown unit kind 'x'"
        assert str(Problem("manifest.json", None, "", "missing")) == "manifest.json: missing"

    def test_pack_invalid_is_an_invalid_input_error(self) -> None:
        exc = PackInvalid([Problem("units.csv", 2, "kind", "bad")])
        assert isinstance(exc, InvalidInput)
        assert exc.status == 422
        assert exc.as_dict()["details"] == [
            {"file": "units.csv", "row": 2, "field": "kind", "message": "bad"}
        ]


class TestManifest:
    def test_missing_manifest(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.skip.add("manifest.json")
        problem = find(rejected(spec, tmp_path), "manifest.json", None, "")
        assert "missing" in problem.message

    def test_not_a_folder(self, tmp_path: Path) -> None:
        with pytest.raises(PackInvalid) as info:
            read_pack(tmp_path / "nowhere")
        assert "not a folder" in info.value.problems[0].message

    def test_broken_json(self, tmp_path: Path) -> None:
        path = small_pack().write(tmp_path / "pack")
        (path / "manifest.json").write_text('{\n  "format": "civitas-citypack/1",\n  oops\n}')
        with pytest.raises(PackInvalid) as info:
            read_pack(path)
        assert info.value.problems[0].row == 3

    def test_wrong_format(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["format"] = "civitas-citypack/9"
        problem = find(rejected(spec, tmp_path), "manifest.json", None, "format")
        assert "civitas-citypack/1" in problem.message

    def test_ranks_must_run_from_zero(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["levels"][2]["rank"] = 5
        find(rejected(spec, tmp_path), "manifest.json", None, "levels")

    def test_duplicate_level(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["levels"].append(dict(spec.manifest["levels"][1]))
        problem = find(rejected(spec, tmp_path), "manifest.json", None, "levels[4].code")
        assert "twice" in problem.message

    def test_bad_tolerance(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["tolerance"]["gap"] = 3
        find(rejected(spec, tmp_path), "manifest.json", None, "tolerance.gap")

    def test_level_file_missing(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.skip.add("boundaries/street.geojson")
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", None, "")
        assert "missing" in problem.message

    def test_level_file_not_in_manifest(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.boundaries["ward"] = []
        problem = find(rejected(spec, tmp_path), "boundaries/ward.geojson", None, "")
        assert "manifest.json" in problem.message

    def test_level_clashing_with_another_city(self, tmp_path: Path, city: Any) -> None:
        # The test city T uses "community" as its fourth nesting level (rank 3).
        spec = small_pack()
        spec.manifest["levels"][3]["code"] = "community"
        spec.boundaries["community"] = spec.boundaries.pop("neighborhood")
        problem = find(rejected(spec, tmp_path), "manifest.json", None, "levels[3]")
        assert "'T'" in problem.message


class TestTree:
    def test_unknown_parent(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-D2-S2")["parent"] = "P-D9"
        file, row = spec.feature_row("P-D2-S2")
        problem = find(rejected(spec, tmp_path), file, row, "parent")
        assert "unknown parent 'P-D9'" in problem.message

    def test_missing_parent(self, tmp_path: Path) -> None:
        spec = small_pack()
        del spec.props("P-D1")["parent"]
        find(rejected(spec, tmp_path), "boundaries/district.geojson", 1, "parent")

    def test_duplicate_code_within_the_pack(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-D2-S1")["code"] = "P-D1-S1"
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 3, "code")
        assert "duplicate" in problem.message and "feature 1" in problem.message

    def test_duplicate_code_against_another_city(self, tmp_path: Path, city: Any) -> None:
        spec = small_pack()
        spec.props("P-D2-S1")["code"] = "T-D1"
        spec.props("P-D2-S2")["code"] = "P-D2-S2"
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 3, "code")
        assert "city 'T'" in problem.message

    def test_parent_not_one_level_up(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-D1-S2")["parent"] = "P"
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 2, "parent")
        assert "one level up" in problem.message

    def test_overlay_hangs_under_the_city(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-N2")["parent"] = "P-D2"
        problem = find(rejected(spec, tmp_path), "boundaries/neighborhood.geojson", 2, "parent")
        assert "overlay" in problem.message

    def test_city_feature_must_match_the_manifest(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.manifest["city"] = "Q"
        find(rejected(spec, tmp_path), "boundaries/city.geojson", None, "code")

    def test_bad_code(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-D2-S2")["code"] = "P D2/S2"
        find(rejected(spec, tmp_path), "boundaries/street.geojson", 4, "code")

    def test_feature_without_a_name(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-N1").pop("name_en")
        find(rejected(spec, tmp_path), "boundaries/neighborhood.geojson", 1, "name_en")


class TestGeometry:
    def test_self_intersecting_bow_tie(self, tmp_path: Path) -> None:
        spec = small_pack()
        bow_tie = [[10, 0], [11, 2], [11, 0], [10, 2], [10, 0]]
        spec.feature("P-D1-S1")["geometry"] = {"type": "Polygon", "coordinates": [bow_tie]}
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 1, "geometry")
        assert "Self-intersection" in problem.message

    def test_unreadable_geometry(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S1")["geometry"] = {"type": "Polygon", "coordinates": [[[10, 0]]]}
        find(rejected(spec, tmp_path), "boundaries/street.geojson", 1, "geometry")

    def test_point_is_not_a_boundary(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S1")["geometry"] = {"type": "Point", "coordinates": [10, 0]}
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 1, "geometry")
        assert "Point" in problem.message

    def test_projected_coordinates(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D2-S2")["geometry"] = rect(330000, 4690000, 331000, 4691000)
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 4, "geometry")
        assert "WGS84" in problem.message

    def test_child_outside_its_parent(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S1")["geometry"] = rect(10, 0, 11, 2.5)  # 20% above its district
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 1, "geometry")
        assert "20.0%" in problem.message and "outside its parent P-D1" in problem.message

    def test_child_outside_within_tolerance_is_accepted(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S1")["geometry"] = rect(10, 0, 11, 2.02)  # 1% outside, overlap 0
        read_pack(spec.write(tmp_path / "pack"))

    def test_gap_between_siblings(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S2")["geometry"] = rect(11, 0, 12, 1.5)  # an eighth of P-D1 uncovered
        problem = find(rejected(spec, tmp_path), "boundaries/district.geojson", 1, "geometry")
        assert "12.5%" in problem.message and "covered by none" in problem.message

    def test_gap_not_checked_when_a_child_has_no_boundary(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S2")["geometry"] = None
        pack = read_pack(spec.write(tmp_path / "pack"))
        assert next(j for j in pack.jurisdictions if j.code == "P-D1-S2").boundary is None

    def test_overlay_is_exempt_from_the_gap_check(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.boundaries["neighborhood"].pop()
        read_pack(spec.write(tmp_path / "pack"))

    def test_overlap_between_siblings(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-D1-S1")["geometry"] = rect(10, 0, 11.5, 2)  # half of P-D1-S2
        problem = find(rejected(spec, tmp_path), "boundaries/street.geojson", 2, "geometry")
        assert "overlaps its sibling P-D1-S1" in problem.message and "50.0%" in problem.message

    def test_overlap_between_overlay_features(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.feature("P-N2")["geometry"] = rect(12.5, 0, 14, 2)
        find(rejected(spec, tmp_path), "boundaries/neighborhood.geojson", 2, "geometry")

    def test_many_polygons_are_checked(self, tmp_path: Path) -> None:
        """A 20 x 20 grid of streets: only the one overlapping pair is reported."""
        spec = small_pack()
        streets = []
        for d, x0 in (("P-D1", 10), ("P-D2", 12)):
            for i in range(20):
                for k in range(10):
                    x, y = x0 + k * 0.2, i * 0.1
                    streets.append(
                        {
                            "type": "Feature",
                            "geometry": rect(x, y, x + 0.2, y + 0.1),
                            "properties": {
                                "code": f"{d}-{i}-{k}",
                                "parent": d,
                                "name_en": f"{i} {k}",
                            },
                        }
                    )
        streets[5]["geometry"] = rect(11.0, 0, 11.3, 0.1)  # overlaps the next one by half
        spec.boundaries["street"] = streets
        spec.units = [u for u in spec.units if u["code"] != "P-D1-S1-OFFICE"]
        spec.responsibilities = [r for r in spec.responsibilities if "OFFICE" not in r["unit"]]
        problems = rejected(spec, tmp_path)
        assert [(p.file, p.row, p.field) for p in problems] == [
            ("boundaries/street.geojson", 7, "geometry")
        ]


class TestUnits:
    def test_bad_unit_kind(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D1-HOUSING")["kind"] = "ministry"
        problem = find(rejected(spec, tmp_path), "units.csv", 4, "kind")
        assert "'ministry'" in problem.message and "department" in problem.message

    def test_bad_department_type(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D2-HOUSING")["department_type"] = "plumbing"
        find(rejected(spec, tmp_path), "units.csv", 5, "department_type")

    def test_unknown_jurisdiction(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D2-HOUSING")["jurisdiction"] = "P-D7"
        find(rejected(spec, tmp_path), "units.csv", 5, "jurisdiction")

    def test_unknown_parent_unit(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D1-CENTRE")["parent"] = "P-NOWHERE"
        find(rejected(spec, tmp_path), "units.csv", 3, "parent")

    def test_parent_loop(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-CENTRE")["parent"] = "P-D1-S1-OFFICE"
        problems = rejected(spec, tmp_path)
        find(problems, "units.csv", 2, "parent")
        assert "circle" in find(problems, "units.csv", 6, "parent").message

    def test_duplicate_unit_code(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.units.append(dict(spec.unit("P-CENTRE")))
        find(rejected(spec, tmp_path), "units.csv", 7, "code")

    def test_unit_code_of_another_city(self, tmp_path: Path, city: Any) -> None:
        spec = small_pack()
        spec.unit("P-D2-HOUSING")["code"] = "T-D1-HOUSING"
        find(rejected(spec, tmp_path), "units.csv", 5, "code")

    def test_unknown_column(self, tmp_path: Path) -> None:
        path = small_pack().write(tmp_path / "pack")
        text = (path / "units.csv").read_text(encoding="utf-8")
        (path / "units.csv").write_text(text.replace("jurisdiction", "jurisdicton", 1), "utf-8")
        with pytest.raises(PackInvalid) as info:
            read_pack(path)
        find(info.value.problems, "units.csv", 1, "jurisdicton")
        find(info.value.problems, "units.csv", 1, "jurisdiction")

    def test_missing_csv(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.skip.add("units.csv")
        find(rejected(spec, tmp_path), "units.csv", None, "")


class TestMatters:
    def test_unknown_parent(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.matter("P-M1-1-2")["parent"] = "P-M9"
        find(rejected(spec, tmp_path), "matters.csv", 5, "parent")

    def test_duplicate_code(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.matter("P-M1-1-2")["code"] = "P-M1-1-1"
        find(rejected(spec, tmp_path), "matters.csv", 5, "code")

    def test_bad_urgency(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.matter("P-M1-1-1")["urgency_default"] = "asap"
        find(rejected(spec, tmp_path), "matters.csv", 4, "urgency_default")

    @pytest.mark.parametrize(
        ("deadlines", "words"),
        [
            ("urgent:2x/24h", "not a duration"),
            ("urgent 2h 24h", "URGENCY:RESPOND/RESOLVE"),
            ("soon:2h/24h", "unknown urgency"),
            ("urgent:2h/24h;urgent:1h/2h", "twice"),
        ],
    )
    def test_bad_deadline(self, tmp_path: Path, deadlines: str, words: str) -> None:
        spec = small_pack()
        spec.matter("P-M1-1-1")["deadlines"] = deadlines
        problem = find(rejected(spec, tmp_path), "matters.csv", 4, "deadlines")
        assert words in problem.message

    @pytest.mark.parametrize(
        ("responsible", "words"),
        [
            ("district:plumbing", "unknown department type"),
            ("ward:housing", "unknown level"),
            ("district=housing", "LEVEL:DEPARTMENT_TYPE"),
        ],
    )
    def test_bad_responsible(self, tmp_path: Path, responsible: str, words: str) -> None:
        spec = small_pack()
        spec.matter("P-M1-1-1")["responsible"] = responsible
        problem = find(rejected(spec, tmp_path), "matters.csv", 4, "responsible")
        assert words in problem.message

    def test_catalogue_of_two_levels(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.matters = [m for m in spec.matters if m["code"] != "P-M2-1-1"]
        problem = find(rejected(spec, tmp_path), "matters.csv", 7, "parent")
        assert "at least 3 levels" in problem.message


class TestResponsibilities:
    def test_unknown_matter(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[1]["matter"] = "P-M7"
        problem = find(rejected(spec, tmp_path), "responsibilities.csv", 3, "matter")
        assert "unknown matter 'P-M7'" in problem.message

    def test_unknown_level(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[0]["level"] = "province"
        find(rejected(spec, tmp_path), "responsibilities.csv", 2, "level")

    def test_unknown_jurisdiction(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[1]["jurisdiction"] = "P-D5"
        find(rejected(spec, tmp_path), "responsibilities.csv", 3, "jurisdiction")

    def test_unknown_unit(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[2]["unit"] = "P-GHOST"
        find(rejected(spec, tmp_path), "responsibilities.csv", 4, "unit")

    def test_nobody_responsible(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[0]["unit_type"] = ""
        find(rejected(spec, tmp_path), "responsibilities.csv", 2, "unit_type")

    def test_bad_flag(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.responsibilities[0]["city_coordinates"] = "maybe"
        find(rejected(spec, tmp_path), "responsibilities.csv", 2, "city_coordinates")


class TestAllProblemsAtOnce:
    def test_every_problem_is_reported(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.props("P-D2-S2")["parent"] = "P-D9"
        spec.unit("P-D1-HOUSING")["kind"] = "ministry"
        spec.matter("P-M1-1-1")["deadlines"] = "urgent:soon/24h"
        spec.responsibilities[1]["matter"] = "P-M7"
        problems = rejected(spec, tmp_path)
        find(problems, "boundaries/street.geojson", 4, "parent")
        find(problems, "units.csv", 4, "kind")
        find(problems, "matters.csv", 4, "deadlines")
        find(problems, "responsibilities.csv", 3, "matter")

    def test_a_bad_row_is_reported_once_not_where_it_is_named(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D1-S1-OFFICE")["kind"] = "ministry"  # named by a responsibility
        spec.props("P-D1").pop("name_en")  # parent of streets, jurisdiction of units
        spec.props("P-D1").pop("name_zh")
        problems = rejected(spec, tmp_path)
        assert [(p.file, p.row, p.field) for p in problems] == [
            ("boundaries/district.geojson", 1, "name_en"),
            ("units.csv", 6, "kind"),
        ]

    def test_rows_are_csv_lines_even_with_multiline_cells(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-CENTRE")["name_en"] = "City\nService Centre"  # line 2 spans two lines
        spec.unit("P-D1-HOUSING")["kind"] = "ministry"  # third record starts on line 5
        find(rejected(spec, tmp_path), "units.csv", 5, "kind")

    def test_problems_travel_as_details(self, tmp_path: Path) -> None:
        spec = small_pack()
        spec.unit("P-D1-HOUSING")["kind"] = "ministry"
        path = spec.write(tmp_path / "pack")
        with pytest.raises(PackInvalid) as info:
            read_pack(path)
        body = json.loads(json.dumps(info.value.as_dict()))
        assert body["code"] == "citypack_invalid"
        assert body["details"][0]["file"] == "units.csv"
