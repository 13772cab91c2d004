"""The demo city pack (Harbour City), its demo sign-ins and the ``civitas demo`` command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.core.management import call_command
from django.db import transaction
from django.http import HttpRequest
from django.test import Client
from shapely.geometry import shape

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo.geometry import HexLattice, partition
from civitas.geo.models import Jurisdiction
from civitas.matters.models import Matter
from civitas.org.models import Membership, ResponsibilityRule, Role, Unit, User


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "pack"
    build_pack(None, out)
    return out


def features(pack: Path, level: str) -> list[dict[str, Any]]:
    data = json.loads((pack / "boundaries" / f"{level}.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    return data["features"]


def rows(pack: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((pack / name).read_text(encoding="utf-8"))))


def leaf_codes(pack: Path) -> set[str]:
    matters = rows(pack, "matters.csv")
    parents = {m["parent"] for m in matters}
    return {m["code"] for m in matters if m["code"] not in parents}


class TestDeterminism:
    def test_two_builds_write_identical_bytes(self, pack: Path, tmp_path: Path) -> None:
        """Built again in another process, with another string hash seed: same bytes."""
        again = tmp_path / "again"
        script = (
            "import sys; from pathlib import Path; "
            "from civitas.citypacks.demo import build_pack; "
            "build_pack(None, Path(sys.argv[1]), progress=print)"
        )
        env = {**os.environ, "PYTHONHASHSEED": "12345"}
        done = subprocess.run(
            [sys.executable, "-c", script, str(again)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        messages = done.stdout.splitlines()
        first = sorted(p.relative_to(pack) for p in pack.rglob("*") if p.is_file())
        second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
        assert first == second
        for name in first:
            assert (pack / name).read_bytes() == (again / name).read_bytes(), name
        assert any("units.csv" in m for m in messages)

    def test_rebuilding_over_a_pack_removes_stale_levels(self, tmp_path: Path) -> None:
        (tmp_path / "boundaries").mkdir()
        (tmp_path / "boundaries" / "ward.geojson").write_text("{}")
        build_pack(None, tmp_path)
        assert not (tmp_path / "boundaries" / "ward.geojson").exists()


class TestContents:
    def test_manifest_levels_run_from_city_to_grid(self, pack: Path) -> None:
        manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["format"] == "civitas-citypack/1"
        assert manifest["city"] == CITY
        assert [lv["code"] for lv in manifest["levels"]] == [
            "city",
            "district",
            "street",
            "community",
            "grid",
        ]
        assert all(lv["name_en"] and lv["name_zh"] for lv in manifest["levels"])

    def test_counts_of_jurisdictions_with_boundaries(self, pack: Path) -> None:
        counts = {
            level: len([f for f in features(pack, level) if f["geometry"]])
            for level in ("city", "district", "street", "community", "grid")
        }
        assert counts["city"] == 1
        assert counts["district"] >= 4
        assert counts["street"] >= 20
        assert counts["community"] >= 100
        assert counts["grid"] >= counts["community"]

    def test_every_jurisdiction_is_bilingual_and_codes_are_unique(self, pack: Path) -> None:
        codes: list[str] = []
        for level in ("city", "district", "street", "community", "grid"):
            for f in features(pack, level):
                props = f["properties"]
                codes.append(props["code"])
                assert props["name_en"] and props["name_zh"], props
                assert any("\u4e00" <= ch <= "\u9fff" for ch in props["name_zh"]), props
                assert props["aliases"], props
        assert len(codes) == len(set(codes))
        assert all(c.startswith(CITY) and len(c) <= 40 for c in codes)

    def test_catalogue_has_sixty_leaves_in_three_levels(self, pack: Path) -> None:
        matters = {m["code"]: m for m in rows(pack, "matters.csv")}
        leaves = leaf_codes(pack)
        assert len(leaves) >= 60

        def depth(code: str) -> int:
            parent = matters[code]["parent"]
            return 1 + (depth(parent) if parent else 0)

        assert min(depth(code) for code in leaves) >= 3
        for code in leaves:
            leaf = matters[code]
            assert leaf["name_en"] and leaf["name_zh"]
            keywords = leaf["keywords"].split("|")
            assert any(k.isascii() for k in keywords), code
            assert any(not k.isascii() for k in keywords), code
            assert leaf["urgency_default"] in {"urgent", "normal", "low"}
            assert "normal:" in leaf["deadlines"]
            assert "district:" in leaf["responsible"] and "street:" in leaf["responsible"]

    def test_every_leaf_has_district_and_street_responsibility(self, pack: Path) -> None:
        entries = rows(pack, "responsibilities.csv")
        levels_by_matter: dict[str, set[str]] = defaultdict(set)
        for e in entries:
            if not e["jurisdiction"]:
                levels_by_matter[e["matter"]].add(e["level"])
        for code in leaf_codes(pack):
            assert {"district", "street"} <= levels_by_matter[code], code
        coordinated = [e for e in entries if e["city_coordinates"] == "true"]
        assert len(coordinated) >= 3
        assert all(e["level"] == "city" for e in coordinated)
        assert any(e["jurisdiction"] for e in entries)
        assert any(e["unit"] for e in entries)

    def test_units_cover_every_kind_and_department_type(self, pack: Path) -> None:
        from civitas.matters.vocabulary import DepartmentType
        from civitas.org.models import UnitKind

        units = rows(pack, "units.csv")
        assert {u["kind"] for u in units} == set(UnitKind.values)
        functional = set(DepartmentType.values) - {"street_office", "district_office", "community"}
        city_depts = {
            u["department_type"]
            for u in units
            if u["kind"] == "department" and u["jurisdiction"] == CITY
        }
        assert city_depts == functional
        districts = [f["properties"]["code"] for f in features(pack, "district")]
        for d in districts:
            local = {
                u["department_type"]
                for u in units
                if u["kind"] == "department" and u["jurisdiction"] == d
            }
            assert local == functional, d
        streets = {f["properties"]["code"] for f in features(pack, "street")}
        mediation = {u["jurisdiction"] for u in units if u["kind"] == "mediation_committee"}
        assert mediation == streets


class TestGeometry:
    def test_boundaries_are_valid_and_children_tile_their_parent(self, pack: Path) -> None:
        geoms: dict[str, shapely.Geometry] = {}
        children: dict[str, list[str]] = defaultdict(list)
        for level in ("city", "district", "street", "community", "grid"):
            for f in features(pack, level):
                code = f["properties"]["code"]
                geom = shape(f["geometry"])
                assert geom.is_valid, code
                assert geom.geom_type == "Polygon", code
                geoms[code] = geom
                if f["properties"].get("parent"):
                    children[f["properties"]["parent"]].append(code)
        assert len(children) > 100
        for parent, kids in children.items():
            whole = geoms[parent]
            parts = [geoms[k] for k in kids]
            union = shapely.union_all(parts)
            assert union.symmetric_difference(whole).area <= 1e-9 * whole.area, parent
            assert abs(sum(p.area for p in parts) - whole.area) <= 1e-9 * whole.area, parent
            tree = shapely.STRtree(parts)
            for i, j in zip(*tree.query(parts, predicate="intersects"), strict=True):
                if i < j:
                    assert parts[i].intersection(parts[j]).area <= 1e-12 * whole.area

    def test_neighbours_share_identical_vertices(self, pack: Path) -> None:
        seen: dict[tuple[float, float], int] = defaultdict(int)
        grids = features(pack, "grid")
        for f in grids:
            for ring in f["geometry"]["coordinates"]:
                for x, y in ring[:-1]:
                    seen[(x, y)] += 1
        communities = features(pack, "community")
        for f in communities:
            for ring in f["geometry"]["coordinates"]:
                for x, y in ring:
                    assert (x, y) in seen  # a community's corner is a corner of its grids

    def test_outer_rings_wind_counter_clockwise(self, pack: Path) -> None:
        for f in features(pack, "district"):
            ring = shapely.LinearRing(f["geometry"]["coordinates"][0])
            assert ring.is_ccw

    def test_partition_parts_are_connected_and_cover_the_region(self) -> None:
        from civitas.citypacks.demo.geometry import connected

        lattice = HexLattice(size_km=1.0, origin_lon=0.0, origin_lat=0.0, seed="t")
        region = lattice.cells_within(lambda x, y: x * x + y * y < 100, 12)
        parts = partition(lattice, region, 7, label="t")
        assert len(parts) == 7
        assert set().union(*parts) == region
        assert sum(len(p) for p in parts) == len(region)
        assert all(connected(p) for p in parts)


@pytest.mark.django_db
class TestImport:
    def test_pack_passes_the_validator(self, pack: Path) -> None:
        from civitas.citypacks.pack import read_pack

        checked = read_pack(pack)
        assert checked.city == CITY
        assert len(checked.responsibilities) == len(rows(pack, "responsibilities.csv"))

    def test_import_then_demo_users_for_every_role_can_sign_in(self, pack: Path) -> None:
        from civitas.citypacks.importer import import_pack

        with transaction.atomic():
            report = import_pack(pack, actor="test")
        assert (
            report.created["jurisdiction"]
            == Jurisdiction.objects.filter(path__startswith=f"/{CITY}/").count()
        )
        leaves = Matter.objects.filter(catalogue=CITY, children__isnull=True)
        assert leaves.count() >= 60
        for leaf in leaves:
            levels = set(
                ResponsibilityRule.objects.filter(matter=leaf, jurisdiction=None).values_list(
                    "level__code", flat=True
                )
            )
            assert {"district", "street"} <= levels, leaf.code

        with transaction.atomic():
            logins = create_demo_users(actor="test")
        with transaction.atomic():
            again = create_demo_users(actor="test")
        assert again == logins
        assert (
            Membership.objects.filter(user__username__in=[u for u, *_ in logins]).count()
            == len(logins) - 1
        )  # every user but the superuser has exactly one membership
        assert set(Role.values) <= {role for _, _, role, _ in logins}
        dispatcher_units = {unit for _, _, role, unit in logins if role == Role.DISPATCHER}
        assert Unit.objects.filter(code__in=dispatcher_units, kind="centre").count() == 2
        assert {
            Unit.objects.get(code=unit).jurisdiction.level.code
            for _, _, role, unit in logins
            if role == Role.DISPATCHER
        } == {"city", "district"}
        handler_kinds = {
            Unit.objects.get(code=unit).kind
            for _, _, role, unit in logins
            if role == Role.UNIT_HANDLER
        }
        assert handler_kinds == {"department", "government"}
        assert User.objects.get(username="admin").is_superuser
        for username, password, _, _ in logins:
            client = Client()
            assert client.login(request=HttpRequest(), username=username, password=password), (
                username
            )
        assert not Client().login(request=HttpRequest(), username="resident", password="wrong")

    def test_demo_users_need_the_demo_city(self) -> None:
        from civitas.kit.errors import NotFound

        with pytest.raises(NotFound, match="import the demo city pack"), transaction.atomic():
            create_demo_users(actor="test")


@pytest.mark.django_db
class TestDemoCommand:
    def test_prepares_everything_without_serving(self, tmp_path: Path, settings: Any) -> None:
        settings.STATIC_ROOT = tmp_path / "static"
        out = io.StringIO()
        call_command("demo", "--no-serve", "--pack", str(tmp_path / "pack"), stdout=out)
        text = out.getvalue()
        assert "created:" in text
        assert "demo-dispatcher-2026" in text and "DC-D01-CENTRE" in text
        assert "ready (not serving)" in text
        assert (tmp_path / "pack" / "manifest.json").is_file()
        assert (tmp_path / "static").is_dir()
        assert Jurisdiction.objects.filter(code=CITY).exists()
        assert Unit.objects.filter(city=CITY).count() > 300
        assert User.objects.filter(username="operator").exists()
        from civitas.hub.models import Dataset, Grant

        assert "steward-market" in text and "hub: dc-traffic-accidents:" in text
        assert Dataset.objects.filter(city=CITY, record_count__gt=0).count() == 4
        grants = Grant.objects.count()

        again = io.StringIO()
        call_command("demo", "--no-serve", "--pack", str(tmp_path / "pack"), stdout=again)
        assert "importing: skipped" in again.getvalue()
        assert "hub: skipped" in again.getvalue()
        assert "hub: steward-market decides" in again.getvalue()
        assert Dataset.objects.filter(city=CITY).count() == 4
        assert Grant.objects.count() == grants == 8
