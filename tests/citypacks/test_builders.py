"""The Boston and Changsha builders turn the real data into packs that import cleanly.

Needs ../shared/data (or CIVITAS_DATA): skipped where the folder is absent.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.builders import boston, changsha
from civitas.citypacks.importer import import_pack
from civitas.geo.gazetteer import gazetteer
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.matters.models import Matter
from civitas.org.models import ResponsibilityRule, Unit

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]


def _count(city: str, level: str) -> int:
    return Jurisdiction.objects.filter(path__startswith=f"/{city}/", level__code=level).count()


_built: dict[str, Path] = {}  # packs are read only: build each once per test session


@pytest.fixture
def boston_pack(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shared_data / "boston" / "boundaries").is_dir():
        pytest.skip(f"no Boston data in {shared_data}")
    if "boston" not in _built:
        out = tmp_path_factory.mktemp("packs") / "boston"
        messages: list[str] = []
        boston.build(shared_data / "boston", out, progress=messages.append)
        assert any("worst overlap" in m for m in messages)
        _built["boston"] = out
    return _built["boston"]


@pytest.fixture
def changsha_pack(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shared_data / "changsha" / "boundaries").is_dir():
        pytest.skip(f"no Changsha data in {shared_data}")
    if "changsha" not in _built:
        out = tmp_path_factory.mktemp("packs") / "changsha"
        changsha.build(shared_data / "changsha", out)
        _built["changsha"] = out
    return _built["changsha"]


def _import(pack: Path) -> Any:
    with transaction.atomic():
        return import_pack(pack, actor="test")


class TestBostonPack:
    def test_files_follow_the_pack_format(self, boston_pack: Path) -> None:
        manifest = json.loads((boston_pack / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["format"] == "civitas-citypack/1"
        assert manifest["city"] == "BOS"
        assert [lv["code"] for lv in manifest["levels"]] == [
            "city",
            "ward",
            "precinct",
            "neighbourhood",
        ]
        assert manifest["levels"][3]["overlay"] is True
        assert sorted(p.name for p in (boston_pack / "boundaries").iterdir()) == [
            "city.geojson",
            "neighbourhood.geojson",
            "precinct.geojson",
            "ward.geojson",
        ]
        with (boston_pack / "units.csv").open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header == [
            "code",
            "kind",
            "department_type",
            "name_en",
            "name_zh",
            "jurisdiction",
            "parent",
            "aliases",
            "phone",
        ]

    def test_imports_with_the_expected_tree(self, boston_pack: Path) -> None:
        report = _import(boston_pack)
        assert report.city == "BOS"
        assert _count("BOS", "ward") == 22
        assert _count("BOS", "precinct") == 255
        assert _count("BOS", "neighbourhood") == 26
        precinct = Jurisdiction.objects.get(code="BOS-P0511")
        assert precinct.parent.code == "BOS-W05"  # type: ignore[union-attr]
        assert precinct.name_zh == "第5选区第11投票区"
        assert Jurisdiction.objects.get(code="BOS-P0502A").name_en == "Ward 5 Precinct 2A"

    def test_units_matters_and_responsibilities(self, boston_pack: Path) -> None:
        _import(boston_pack)
        centre = Unit.objects.get(code="BOS-CENTRE")
        assert centre.kind == "centre"
        pwd = Unit.objects.get(code="BOS-PWD")
        assert (pwd.kind, pwd.department_type) == ("department", "urban_management")
        assert pwd.children.count() > 30  # its work queues
        assert Unit.objects.get(code="BOS-BTD").department_type == "transport"
        assert Unit.objects.get(code="BOS-ISD").department_type == "housing"
        assert Unit.objects.get(code="BOS-PARKS").department_type == "parks"
        leaves = Matter.objects.filter(catalogue="BOS", depth=2)
        assert leaves.count() >= 150
        outage = leaves.get(name_en="Street Light Outages")
        assert outage.parent.name_en == "Street Lights"  # type: ignore[union-attr]
        assert outage.parent.parent.name_en == "Public Works Department"  # type: ignore[union-attr]
        assert "outages" in outage.keywords
        assert outage.responsible == {"city": "urban_management"}
        assert outage.deadlines["normal"]["resolve"]
        rule = ResponsibilityRule.objects.get(city="BOS", matter=outage)
        assert rule.unit == pwd and rule.level.code == "city"

    def test_known_point_locates_into_its_precinct(self, boston_pack: Path) -> None:
        _import(boston_pack)
        # 33 Beacon St: the requests file says ward 5, precinct 503.
        hit = locate(42.3574, -71.0648)
        assert hit is not None
        assert [p.code for p in hit.chain] == ["BOS", "BOS-W05", "BOS-P0503"]
        assert [p.code for p in hit.overlays] == ["BOS-N-beacon-hill"]

    def test_reimport_changes_nothing(self, boston_pack: Path) -> None:
        _import(boston_pack)
        again = _import(boston_pack)
        assert again.total_created == 0 and again.total_changed == 0


class TestChangshaPack:
    def test_imports_with_the_expected_tree(self, changsha_pack: Path) -> None:
        _import(changsha_pack)
        assert Jurisdiction.objects.get(code="430100").name_zh == "长沙市"
        assert _count("430100", "district") == 9
        assert _count("430100", "street") == 168
        furong = Jurisdiction.objects.get(code="430102")
        assert furong.name_en == "Furong District"
        assert furong.aliases == ["A1"]  # "芙蓉" is derived by the gazetteer, at lower confidence
        street = Jurisdiction.objects.get(code="430102001")
        assert (street.name_zh, street.name_en) == ("文艺路街道", "Wenyilu Subdistrict")
        assert street.boundary is None
        assert Jurisdiction.objects.get(code="430121").name_en == "Changsha County"

    def test_a_codes_resolve_through_the_gazetteer(self, changsha_pack: Path) -> None:
        _import(changsha_pack)
        best = gazetteer().best("A市A1区的路灯坏了")
        assert best is not None and best.code == "430102"
        best = gazetteer().best("投诉A9市某小区噪音")
        assert best is not None and best.code == "430181"
        best = gazetteer().best("A市A7县星沙街道的路灯坏了")
        assert best is not None and best.code == "430121001"
        # "A1区路" is the anonymised 芙蓉路, which crosses several districts: not 芙蓉区
        best = gazetteer().best("A市A1区路的红绿灯坏了")
        assert best is not None and best.code == "430100"

    def test_matters_units_and_responsibilities(self, changsha_pack: Path) -> None:
        _import(changsha_pack)
        matters = Matter.objects.filter(catalogue="430100")
        assert matters.filter(depth=0).count() == 15
        assert matters.filter(depth=2).count() == 517
        labour = matters.get(depth=0, name_zh="劳动和社会保障")
        assert labour.name_en == "Labour and social security"
        assert labour.responsible == {"district": "human_resources"}
        rule = ResponsibilityRule.objects.get(matter=labour)
        assert (rule.level.code, rule.unit_type) == ("district", "human_resources")
        community = matters.get(depth=1, name_zh="基层选举和社区建设")
        assert community.responsible == {"district": "civil_affairs", "street": "street_office"}
        assert Unit.objects.get(code="430100-12345").kind == "centre"
        assert (
            Unit.objects.filter(
                jurisdiction__code="430102", department_type="human_resources"
            ).count()
            == 1
        )
        office = Unit.objects.get(code="430102001-OFFICE")
        assert (office.kind, office.department_type) == ("government", "street_office")
        assert Unit.objects.filter(city="430100").count() == 1 + 9 * 20 + 168

    def test_point_in_a_district(self, changsha_pack: Path) -> None:
        _import(changsha_pack)
        hit = locate(28.1600, 113.6400)  # the centre of Liuyang, far from any district edge
        assert hit is not None
        assert [p.code for p in hit.chain] == ["430100", "430181"]
