"""The Changsha builder on a tiny made-up copy of its input files (no shared data needed):
the anonymised district codes become the districts' aliases and reach the gazetteer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from django.db import transaction

from civitas.citypacks.builders import changsha
from civitas.citypacks.importer import import_pack
from civitas.geo.gazetteer import gazetteer
from civitas.geo.models import Jurisdiction

HEADER = ["id", "pid", "deep", "name", "pinyin_prefix", "pinyin", "ext_id", "ext_name"]
STREETS = [
    ("4301", "43", "1", "长沙", "c", "chang sha", "430100000000", "长沙市"),
    ("430102", "4301", "2", "芙蓉", "f", "fu rong", "430102000000", "芙蓉区"),
    ("430102001", "430102", "3", "文艺路", "w", "wen yi lu", "430102001000", "文艺路街道"),
    ("430121", "4301", "2", "长沙县", "c", "chang sha xian", "430121000000", "长沙县"),
    ("430121001", "430121", "3", "星沙", "x", "xing sha", "430121001000", "星沙街道"),
]


def _square(x: float) -> dict[str, object]:
    ring = [[x, 28.0], [x + 0.1, 28.0], [x + 0.1, 28.1], [x, 28.1], [x, 28.0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _data(root: Path, codes: list[tuple[str, str]]) -> Path:
    data = root / "changsha"
    (data / "boundaries").mkdir(parents=True)
    with (data / "boundaries" / "streets.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *STREETS])
    with (data / "district_code_map.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["anon_code", "adcode", "district", "evidence"])
        w.writerows([(anon, adcode, "", "") for anon, adcode in codes])
    features = [
        {"type": "Feature", "properties": {"adcode": code}, "geometry": _square(x)}
        for code, x in (("430102", 113.0), ("430121", 113.1))
    ]
    (data / "boundaries" / "districts.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    with (data / "taxonomy_3level.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["level1", "level2", "level3"], ["城乡建设", "城乡规划", "违建"]])
    return data


def test_districts_take_their_codes_as_aliases(tmp_path: Path) -> None:
    data = _data(tmp_path, [("A1", "430102"), ("A7", "430121")])
    city, districts, streets = changsha.read_areas(data)
    assert {d.code: d.aliases for d in districts} == {"430102": ["A1"], "430121": ["A7"]}
    assert "A市" in city.aliases
    assert all(s.aliases == [] for s in streets)


def test_a_district_missing_from_the_map_has_no_alias(tmp_path: Path) -> None:
    data = _data(tmp_path, [("A1", "430102")])
    _, districts, _ = changsha.read_areas(data)
    assert {d.code: d.aliases for d in districts} == {"430102": ["A1"], "430121": []}


def test_a_code_for_no_district_is_refused(tmp_path: Path) -> None:
    data = _data(tmp_path, [("A1", "430102"), ("A5", "430111")])
    with pytest.raises(ValueError, match="430111 are not districts"):
        changsha.read_areas(data)


def test_a_code_given_twice_is_refused(tmp_path: Path) -> None:
    data = _data(tmp_path, [("A1", "430102"), ("A2", "430102")])
    with pytest.raises(ValueError, match="line 3: adcode 430102 has two codes"):
        changsha.read_areas(data)


@pytest.mark.django_db
def test_the_codes_reach_the_jurisdictions_and_the_gazetteer(tmp_path: Path) -> None:
    data = _data(tmp_path, [("A1", "430102"), ("A7", "430121")])
    changsha.build(data, tmp_path / "pack")
    with transaction.atomic():
        import_pack(tmp_path / "pack", actor="test")
    assert Jurisdiction.objects.get(code="430102").aliases == ["A1"]
    assert Jurisdiction.objects.get(code="430121").aliases == ["A7"]
    best = gazetteer().best("A市A1区文艺路小区的路灯坏了")
    assert best is not None and best.code == "430102001"
    best = gazetteer().best("A7县某小区噪音扰民")
    assert best is not None and best.code == "430121"
    # "长沙" names the city and the county: read as the city
    best = gazetteer().best("长沙的公交太挤")
    assert best is not None and best.code == "430100"
