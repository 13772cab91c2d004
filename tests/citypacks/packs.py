"""A small valid city pack built in code, for tests to corrupt one thing at a time.

City P covers lon 10..14, lat 0..2. Districts P-D1 (lon 10..12) and P-D2 (12..14) each hold two
streets one degree wide. An overlay level of two neighbourhoods (lon 10..13 and 13..14) hangs
under the city. Units, a three-level catalogue and responsibilities complete it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civitas.citypacks.pack import MATTER_COLUMNS, RESPONSIBILITY_COLUMNS, UNIT_COLUMNS


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


@dataclass
class PackSpec:
    manifest: dict[str, Any]
    boundaries: dict[str, list[dict[str, Any]]]
    units: list[dict[str, str]]
    matters: list[dict[str, str]]
    responsibilities: list[dict[str, str]]
    skip: set[str] = field(default_factory=set)  # files not to write, e.g. "manifest.json"

    # -- finding things to corrupt ----------------------------------------------------------
    def feature(self, code: str) -> dict[str, Any]:
        for features in self.boundaries.values():
            for f in features:
                if f["properties"]["code"] == code:
                    return f
        raise KeyError(code)

    def props(self, code: str) -> dict[str, Any]:
        return self.feature(code)["properties"]

    def unit(self, code: str) -> dict[str, str]:
        return next(u for u in self.units if u["code"] == code)

    def matter(self, code: str) -> dict[str, str]:
        return next(m for m in self.matters if m["code"] == code)

    @staticmethod
    def line(rows: list[dict[str, str]], row: dict[str, str]) -> int:
        """The CSV line a row is written on (the header is line 1)."""
        return rows.index(row) + 2

    def feature_row(self, code: str) -> tuple[str, int]:
        """(file, feature number) of a jurisdiction."""
        for level, features in self.boundaries.items():
            for i, f in enumerate(features, start=1):
                if f["properties"]["code"] == code:
                    return f"boundaries/{level}.geojson", i
        raise KeyError(code)

    # -- writing ------------------------------------------------------------------------------
    def write(self, root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        if "manifest.json" not in self.skip:
            (root / "manifest.json").write_text(
                json.dumps(self.manifest, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        (root / "boundaries").mkdir(exist_ok=True)
        for level, features in self.boundaries.items():
            name = f"boundaries/{level}.geojson"
            if name not in self.skip:
                collection = {"type": "FeatureCollection", "features": features}
                (root / name).write_text(json.dumps(collection, ensure_ascii=False), "utf-8")
        for name, columns, rows in (
            ("units.csv", UNIT_COLUMNS, self.units),
            ("matters.csv", MATTER_COLUMNS, self.matters),
            ("responsibilities.csv", RESPONSIBILITY_COLUMNS, self.responsibilities),
        ):
            if name in self.skip:
                continue
            with (root / name).open("w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
                writer.writeheader()
                writer.writerows([{c: row.get(c, "") for c in columns} for row in rows])
        return root


def _unit(
    code: str,
    kind: str,
    jurisdiction: str,
    name_en: str,
    name_zh: str,
    department_type: str = "",
    parent: str = "",
    aliases: str = "",
    phone: str = "",
) -> dict[str, str]:
    return {
        "code": code,
        "kind": kind,
        "department_type": department_type,
        "name_en": name_en,
        "name_zh": name_zh,
        "jurisdiction": jurisdiction,
        "parent": parent,
        "aliases": aliases,
        "phone": phone,
    }


def _matter(
    code: str,
    parent: str,
    name_en: str,
    name_zh: str,
    keywords: str = "",
    urgency_default: str = "",
    deadlines: str = "",
    responsible: str = "",
) -> dict[str, str]:
    return {
        "code": code,
        "parent": parent,
        "name_en": name_en,
        "name_zh": name_zh,
        "keywords": keywords,
        "urgency_default": urgency_default,
        "deadlines": deadlines,
        "responsible": responsible,
    }


def _rule(
    matter: str,
    level: str,
    jurisdiction: str = "",
    unit_type: str = "",
    unit: str = "",
    city_coordinates: str = "false",
    note: str = "",
) -> dict[str, str]:
    return {
        "matter": matter,
        "level": level,
        "jurisdiction": jurisdiction,
        "unit_type": unit_type,
        "unit": unit,
        "city_coordinates": city_coordinates,
        "note": note,
    }


def small_pack(city: str = "P") -> PackSpec:
    """A valid pack: 1 city, 2 districts x 2 streets, 2 overlay neighbourhoods, ..."""
    manifest = {
        "format": "civitas-citypack/1",
        "city": city,
        "name_en": "Packton",
        "name_zh": "包市",
        "levels": [
            {"code": "city", "rank": 0, "name_en": "City", "name_zh": "市"},
            {"code": "district", "rank": 1, "name_en": "District", "name_zh": "区"},
            {"code": "street", "rank": 2, "name_en": "Street", "name_zh": "街道"},
            {
                "code": "neighborhood",
                "rank": 1,
                "name_en": "Neighbourhood",
                "name_zh": "街区",
                "overlay": True,
            },
        ],
        "tolerance": {"containment": 0.02, "gap": 0.01, "overlap": 0.01},
        "source": "made up for tests",
    }
    districts, streets = [], []
    for d in range(2):
        dcode = f"{city}-D{d + 1}"
        districts.append(
            feature(
                rect(10 + 2 * d, 0, 12 + 2 * d, 2),
                code=dcode,
                parent=city,
                name_en=f"District {d + 1}",
                name_zh=f"{d + 1}区",
                aliases=[f"A{d + 1}"],
            )
        )
        for s in range(2):
            x = 10 + 2 * d + s
            streets.append(
                feature(
                    rect(x, 0, x + 1, 2),
                    code=f"{dcode}-S{s + 1}",
                    parent=dcode,
                    name_en=f"Street {d + 1}{s + 1}",
                    name_zh=f"{d + 1}{s + 1}街道",
                )
            )
    boundaries = {
        "city": [feature(rect(10, 0, 14, 2), code=city, name_en="Packton", name_zh="包市")],
        "district": districts,
        "street": streets,
        "neighborhood": [
            feature(rect(10, 0, 13, 2), code=f"{city}-N1", parent=city, name_en="Old Town"),
            feature(rect(13, 0, 14, 2), code=f"{city}-N2", parent=city, name_zh="新城"),
        ],
    }
    units = [
        _unit(f"{city}-CENTRE", "centre", city, "City Service Centre", "市服务中心", phone="12345"),
        _unit(
            f"{city}-D1-CENTRE",
            "centre",
            f"{city}-D1",
            "District 1 Centre",
            "1区中心",
            parent=f"{city}-CENTRE",
            aliases="D1C|一区中心",
        ),
        _unit(
            f"{city}-D1-HOUSING",
            "department",
            f"{city}-D1",
            "District 1 Housing",
            "1区住建局",
            department_type="housing",
        ),
        _unit(
            f"{city}-D2-HOUSING",
            "department",
            f"{city}-D2",
            "District 2 Housing",
            "2区住建局",
            department_type="housing",
        ),
        _unit(
            f"{city}-D1-S1-OFFICE",
            "government",
            f"{city}-D1-S1",
            "Street 11 Office",
            "11街道办",
            department_type="street_office",
            parent=f"{city}-D1-CENTRE",
        ),
    ]
    matters = [
        _matter(f"{city}-M1", "", "Housing", "住房"),
        _matter(f"{city}-M1-1", f"{city}-M1", "Property", "物业"),
        _matter(
            f"{city}-M1-1-1",
            f"{city}-M1-1",
            "Lift out of service",
            "电梯故障",
            keywords="lift|电梯",
            urgency_default="urgent",
            deadlines="urgent:2h/24h;normal:24h/15wd",
            responsible="district:housing;street:street_office",
        ),
        _matter(f"{city}-M1-1-2", f"{city}-M1-1", "Water leak", "漏水", keywords="leak"),
        _matter(f"{city}-M2", "", "Environment", "环境"),
        _matter(f"{city}-M2-1", f"{city}-M2", "Noise", "噪音"),
        _matter(
            f"{city}-M2-1-1",
            f"{city}-M2-1",
            "Construction noise",
            "施工噪音",
            urgency_default="low",
            deadlines="normal:1d/7d",
        ),
    ]
    responsibilities = [
        _rule(f"{city}-M1", "district", unit_type="housing", note="housing bureaus"),
        _rule(f"{city}-M1-1-1", "street", jurisdiction=f"{city}-D1", unit=f"{city}-D1-S1-OFFICE"),
        _rule(
            f"{city}-M2",
            "city",
            unit=f"{city}-CENTRE",
            city_coordinates="true",
            note="coordinated by the centre",
        ),
    ]
    return PackSpec(manifest, boundaries, units, matters, responsibilities)
