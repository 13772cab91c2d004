"""Build the Changsha city pack from ``shared/data/changsha``.

Tree: city ``430100`` (长沙市) -> 9 districts/counties (adcodes, Amap polygons) -> 168
streets/towns (``boundaries/streets.csv``, no polygons). Matters: the TipDM 2020 three-level
taxonomy. Units: the city 12345 centre, each district's government and functional departments,
each street/town office. Responsibilities: a level-1 class (or a more specific level-2 branch)
goes to a department type at district level; community matters also to the street office.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from civitas.citypacks.builders import _write as w

CITY = "430100"
MATTER_PREFIX = "CS-M"
TOLERANCE = {"containment": 0.001, "gap": 0.001, "overlap": 0.001}

LEVELS = [
    {"code": "city", "rank": 0, "name_en": "City", "name_zh": "市"},
    {"code": "district", "rank": 1, "name_en": "District/county", "name_zh": "区县"},
    {"code": "street", "rank": 2, "name_en": "Street/township", "name_zh": "街道/乡镇"},
]

SUFFIX_EN = {
    "区": "District",
    "县": "County",
    "市": "City",
    "街道": "Subdistrict",
    "镇": "Town",
    "乡": "Township",
}


@dataclass(frozen=True)
class DeptSpec:
    suffix: str  # unit code suffix after the district code
    department_type: str
    name_zh: str  # "{d}" = district name; "{s}" = district name without its suffix
    name_en: str  # "{d}" = district English name
    branch_zh: str = ""  # for districts (区): a branch of the city bureau, e.g. 长沙市公安局{s}分局


DEPARTMENTS = [
    DeptSpec(
        "HRSS",
        "human_resources",
        "{d}人力资源和社会保障局",
        "{d} Human Resources and Social Security Bureau",
    ),
    DeptSpec(
        "HOUSING",
        "housing",
        "{d}住房和城乡建设局",
        "{d} Housing and Urban-Rural Development Bureau",
    ),
    DeptSpec("EDU", "education", "{d}教育局", "{d} Education Bureau"),
    DeptSpec("HEALTH", "health", "{d}卫生健康局", "{d} Health Commission"),
    DeptSpec("TRANSPORT", "transport", "{d}交通运输局", "{d} Transport Bureau"),
    DeptSpec(
        "MARKET", "market_supervision", "{d}市场监督管理局", "{d} Market Supervision Administration"
    ),
    DeptSpec(
        "CULTURE", "culture_tourism", "{d}文化旅游体育局", "{d} Culture, Tourism and Sports Bureau"
    ),
    DeptSpec(
        "ENV",
        "environment",
        "{d}生态环境局",
        "{d} Ecology and Environment Bureau",
        "长沙市生态环境局{s}分局",
    ),
    DeptSpec(
        "NATURAL",
        "natural_resources",
        "{d}自然资源局",
        "{d} Natural Resources Bureau",
        "长沙市自然资源和规划局{s}分局",
    ),
    DeptSpec(
        "POLICE",
        "public_security",
        "{d}公安局",
        "{d} Public Security Bureau",
        "长沙市公安局{s}分局",
    ),
    DeptSpec("CIVIL", "civil_affairs", "{d}民政局", "{d} Civil Affairs Bureau"),
    DeptSpec(
        "URBAN",
        "urban_management",
        "{d}城市管理和综合执法局",
        "{d} Urban Management and Law Enforcement Bureau",
    ),
    DeptSpec("AGRI", "agriculture", "{d}农业农村局", "{d} Agriculture and Rural Affairs Bureau"),
    DeptSpec("WATER", "water", "{d}水利局", "{d} Water Resources Bureau"),
    DeptSpec("EMERGENCY", "emergency", "{d}应急管理局", "{d} Emergency Management Bureau"),
    # Departments of type "other": responsibilities name them one by one.
    DeptSpec("DRC", "other", "{d}发展和改革局", "{d} Development and Reform Bureau"),
    DeptSpec(
        "STI", "other", "{d}科技和工业信息化局", "{d} Science, Technology and Industry Bureau"
    ),
    DeptSpec(
        "DISCIPLINE",
        "other",
        "{d}纪委监委",
        "{d} Commission for Discipline Inspection and Supervision",
    ),
    DeptSpec("JUSTICE", "other", "{d}司法局", "{d} Justice Bureau"),
]
BY_SUFFIX = {d.suffix: d for d in DEPARTMENTS}
BY_TYPE = {d.department_type: d for d in DEPARTMENTS if d.department_type != "other"}
GOV = "GOV"  # the district government itself (department type district_office)

# Who handles a level-1 class at district level: a department type, or a unit suffix.
LEVEL1: dict[str, tuple[str, str]] = {
    # level1: (English, handler)
    "城乡建设": ("Urban and rural construction", "housing"),
    "党务政务": ("Party and government affairs", "district_office"),
    "国土资源": ("Land and resources", "natural_resources"),
    "环境保护": ("Environmental protection", "environment"),
    "纪检监察": ("Discipline inspection and supervision", "DISCIPLINE"),
    "交通运输": ("Transport", "transport"),
    "经济管理": ("Economic management", "DRC"),
    "科技与信息产业": ("Science, technology and information industry", "STI"),
    "民政": ("Civil affairs", "civil_affairs"),
    "农村农业": ("Agriculture and rural affairs", "agriculture"),
    "商贸旅游": ("Commerce, trade and tourism", "market_supervision"),
    "卫生计生": ("Health and family planning", "health"),
    "政法": ("Politics and law", "public_security"),
    "教育文体": ("Education, culture and sports", "education"),
    "劳动和社会保障": ("Labour and social security", "human_resources"),
}

# Level-2 branches handled by another department than their level-1 class.
LEVEL2_HANDLER = {
    ("城乡建设", "城市建设和市政管理"): "urban_management",
    ("城乡建设", "城乡规划"): "natural_resources",
    ("城乡建设", "安全生产"): "emergency",
    ("经济管理", "安全生产"): "emergency",
    ("农村农业", "水利水电"): "water",
    ("农村农业", "水库移民"): "water",
    ("农村农业", "林业管理"): "natural_resources",
    ("商贸旅游", "旅游管理"): "culture_tourism",
    ("教育文体", "文化"): "culture_tourism",
    ("教育文体", "体育"): "culture_tourism",
    ("教育文体", "文物管理"): "culture_tourism",
    ("卫生计生", "食品药品监管"): "market_supervision",
    ("政法", "法律服务"): "JUSTICE",
    ("政法", "仲裁与调解"): "JUSTICE",
    ("政法", "法制建设"): "JUSTICE",
    ("政法", "行政复议"): "JUSTICE",
}

# Matters the street/town office handles first (community and village matters).
STREET_LEVEL2 = {"基层选举和社区建设", "村务管理"}
STREET_LEVEL3 = {"小区管理", "物业服务", "居民服务设施", "环境卫生", "社区建设"}

LEVEL2_EN = {
    "安全生产": "Work safety",
    "城市建设和市政管理": "Urban construction and municipal works",
    "城乡规划": "Urban and rural planning",
    "村镇建设": "Village and town construction",
    "工程质量": "Construction quality",
    "国有土地上房屋征收与补偿": "Expropriation of housing on state land and compensation",
    "集体土地上房屋拆迁与补偿": "Demolition of housing on collective land and compensation",
    "建筑市场": "Construction market",
    "其他": "Other",
    "住房保障与房地产": "Housing security and real estate",
    "党的建设": "Party building",
    "港澳台侨": "Hong Kong, Macao, Taiwan and overseas Chinese affairs",
    "国防外交": "National defence and foreign affairs",
    "民族宗教": "Ethnic and religious affairs",
    "群众团体": "Mass organisations",
    "宣传舆论": "Publicity and public opinion",
    "政治体制": "Political system",
    "海洋气象地震": "Oceans, meteorology and earthquakes",
    "矿产资源管理": "Mineral resources management",
    "土地征收": "Land expropriation",
    "土地资源管理": "Land resources management",
    "环保管理": "Environmental protection management",
    "环境污染": "Environmental pollution",
    "建设项目审批": "Approval of construction projects",
    "党政处分": "Party and administrative sanctions",
    "干部作风": "Conduct of officials",
    "滥用职权": "Abuse of power",
    "失职渎职": "Dereliction of duty",
    "贪污贿赂": "Embezzlement and bribery",
    "出租车管理": "Taxi management",
    "建设管理": "Transport construction management",
    "交通运输": "Transport",
    "客货运输": "Passenger and freight transport",
    "邮政管理": "Postal services",
    "保险证券期货": "Insurance, securities and futures",
    "国资监管": "State-owned assets supervision",
    "宏观调控": "Macroeconomic regulation",
    "金融财税": "Finance and taxation",
    "能源管理": "Energy management",
    "企业破产": "Enterprise bankruptcy",
    "电信": "Telecommunications",
    "科学技术": "Science and technology",
    "信息化建设": "Informatisation",
    "知识产权": "Intellectual property",
    "福利慈善": "Welfare and charity",
    "复退安置": "Resettlement of demobilised servicemen",
    "基层选举和社区建设": "Grassroots elections and community building",
    "救灾募捐": "Disaster relief and donations",
    "民间组织": "Civil society organisations",
    "区划地名": "Administrative divisions and place names",
    "社会服务": "Social services",
    "社会救助": "Social assistance",
    "优抚": "Preferential treatment for veterans' families",
    "草原草场": "Grasslands",
    "村务管理": "Village affairs",
    "动物防疫": "Animal epidemic control",
    "扶贫开发": "Poverty alleviation",
    "惠农补贴": "Farm subsidies",
    "林业管理": "Forestry management",
    "农副产品流通": "Circulation of agricultural products",
    "农垦农场": "State farms",
    "农资农技": "Farm inputs and agricultural technology",
    "水库移民": "Reservoir resettlement",
    "水利水电": "Water conservancy and hydropower",
    "土地承包经营": "Land contracting",
    "野生资源管理": "Wildlife resources management",
    "旅游管理": "Tourism management",
    "商业贸易": "Commerce and trade",
    "市场监管": "Market supervision",
    "质监检验检疫": "Quality inspection and quarantine",
    "公共卫生": "Public health",
    "人口计生": "Population and family planning",
    "食品药品监管": "Food and drug supervision",
    "医患纠纷": "Doctor-patient disputes",
    "医政监管": "Medical administration",
    "法律服务": "Legal services",
    "法制建设": "Rule of law",
    "行政复议": "Administrative reconsideration",
    "户籍证件": "Household registration and identity papers",
    "交通管理": "Traffic policing",
    "警务督察": "Police inspection",
    "社会治安": "Public order",
    "诉讼": "Litigation",
    "刑案侦破": "Criminal investigation",
    "刑罚执行": "Execution of sentences",
    "仲裁与调解": "Arbitration and mediation",
    "教师队伍和待遇": "Teachers and their pay",
    "教育行政管理": "Education administration",
    "教育收费": "School fees",
    "教育体制": "Education system",
    "考试招生": "Examinations and admissions",
    "失学辍学": "School dropouts",
    "体育": "Sports",
    "文化": "Culture",
    "文物管理": "Cultural relics",
    "城镇居民社会保险": "Urban residents' social insurance",
    "城镇职工社会保险": "Urban employees' social insurance",
    "工资福利": "Wages and benefits",
    "就业培训": "Employment and training",
    "劳动保护": "Labour protection",
    "劳动关系": "Labour relations",
    "社保基金管理": "Social security fund management",
    "退休政策及待遇": "Retirement policy and pensions",
}


# -- names -------------------------------------------------------------------------------------
def pinyin_name(pinyin: str) -> str:
    """'wen yi lu' -> 'Wenyilu'; 'dong an' -> "Dong'an" (apostrophe before a vowel syllable)."""
    out = ""
    for i, syllable in enumerate(pinyin.lower().replace("v", "ü").split()):
        if i and syllable[0] in "aoe":
            out += "'"
        out += syllable
    return out[:1].upper() + out[1:]


def split_suffix(full_name: str) -> tuple[str, str]:
    """'文艺路街道' -> ('文艺路', '街道'); longest known suffix first."""
    for suffix in sorted(SUFFIX_EN, key=len, reverse=True):
        if full_name.endswith(suffix) and len(full_name) > len(suffix):
            return full_name[: -len(suffix)], suffix
    return full_name, ""


def english_name(short_zh: str, pinyin: str, full_zh: str) -> str:
    """'芙蓉', 'fu rong', '芙蓉区' -> 'Furong District'; '长沙县', 'chang sha xian' -> county."""
    _stem, suffix = split_suffix(full_zh)
    syllables = pinyin.split()
    if suffix and short_zh.endswith(suffix) and len(syllables) > len(suffix):
        syllables = syllables[: -len(suffix)]  # the short name kept its suffix
    base = pinyin_name(" ".join(syllables))
    return f"{base} {SUFFIX_EN[suffix]}" if suffix else base


# -- reading -----------------------------------------------------------------------------------
@dataclass
class Area:
    code: str
    parent: str
    name_zh: str
    name_en: str
    short_zh: str
    aliases: list[str]
    geometry: BaseGeometry | None = None


def read_areas(data: Path) -> tuple[Area, list[Area], list[Area]]:
    with (data / "boundaries" / "streets.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with (data / "district_code_map.csv").open(encoding="utf-8-sig", newline="") as fh:
        anon = {r["adcode"].strip(): r["anon_code"].strip() for r in csv.DictReader(fh)}
    geojson = json.loads((data / "boundaries" / "districts.geojson").read_text(encoding="utf-8"))
    shapes = {
        str(f["properties"]["adcode"]): w.polygonal(shape(f["geometry"]))
        for f in geojson["features"]
    }

    city: Area | None = None
    districts: list[Area] = []
    streets: list[Area] = []
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        deep, full = r["deep"].strip(), r["ext_name"].strip()
        name_en = english_name(r["name"].strip(), r["pinyin"], full)
        if deep == "1":
            city = Area(
                CITY,
                "",
                full,
                name_en.removesuffix(" City"),
                r["name"].strip(),
                ["A市", "Changsha City"],
            )
        elif deep == "2":
            code = r["id"].strip()
            stem, _ = split_suffix(full)
            aliases = [a for a in (anon.get(code, ""), stem) if a and a != "长沙"]
            districts.append(Area(code, CITY, full, name_en, stem, aliases, shapes.get(code)))
        elif deep == "3":
            parent = r["pid"].strip()
            if parent not in by_id:
                raise ValueError(f"streets.csv: street {r['id']} has unknown parent {parent}")
            streets.append(Area(r["id"].strip(), parent, full, name_en, r["name"].strip(), []))
    if city is None:
        raise ValueError("streets.csv has no city row (deep=1)")
    missing = [d.code for d in districts if d.geometry is None]
    if missing:
        raise ValueError(f"districts.geojson has no polygon for {missing}")
    city.geometry = w.polygonal(unary_union([d.geometry for d in districts]))
    return city, districts, streets


def measure(city: Area, districts: list[Area]) -> dict[str, float]:
    shapes = [d.geometry for d in districts if d.geometry is not None]
    union = unary_union(shapes)
    worst_overlap = 0.0
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            a, b = shapes[i], shapes[j]
            worst_overlap = max(worst_overlap, a.intersection(b).area / min(a.area, b.area))
    assert city.geometry is not None
    return {
        "containment": max(g.difference(city.geometry).area / g.area for g in shapes),
        "gap": city.geometry.difference(union).area / city.geometry.area,
        "overlap": worst_overlap,
    }


# -- writing -----------------------------------------------------------------------------------
def feature(area: Area) -> dict[str, Any]:
    return {
        "code": area.code,
        "parent": area.parent,
        "name_en": area.name_en,
        "name_zh": area.name_zh,
        "aliases": area.aliases,
        "geometry": w.geojson(area.geometry),
    }


def units(districts: list[Area], streets: list[Area]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "code": f"{CITY}-12345",
            "kind": "centre",
            "name_en": "Changsha 12345 Citizen Hotline",
            "name_zh": "长沙市12345市民服务热线",
            "jurisdiction": CITY,
            "aliases": ["12345", "市长热线", "12345热线"],
            "phone": "12345",
        }
    ]
    for d in districts:
        gov = f"{d.code}-{GOV}"
        rows.append(
            {
                "code": gov,
                "kind": "government",
                "department_type": "district_office",
                "name_en": f"{d.name_en} People's Government",
                "name_zh": f"{d.name_zh}人民政府",
                "jurisdiction": d.code,
                "aliases": [f"{d.name_zh}政府"],
            }
        )
        for spec in DEPARTMENTS:
            is_district = d.name_zh.endswith("区")
            name_zh = spec.branch_zh if spec.branch_zh and is_district else spec.name_zh
            rows.append(
                {
                    "code": f"{d.code}-{spec.suffix}",
                    "kind": "department",
                    "department_type": spec.department_type,
                    "name_en": spec.name_en.format(d=d.name_en),
                    "name_zh": name_zh.format(d=d.name_zh, s=d.short_zh),
                    "jurisdiction": d.code,
                    "parent": gov,
                }
            )
    for s in streets:
        office = "办事处" if s.name_zh.endswith("街道") else "人民政府"
        rows.append(
            {
                "code": f"{s.code}-OFFICE",
                "kind": "government",
                "department_type": "street_office",
                "name_en": f"{s.name_en} {'Office' if office == '办事处' else 'Government'}",
                "name_zh": f"{s.name_zh}{office}",
                "jurisdiction": s.code,
                "parent": f"{s.parent}-{GOV}",
            }
        )
    return rows


def _handler_type(handler: str) -> str:
    """A handler is a department type or the suffix of a named unit (type 'other')."""
    return BY_SUFFIX[handler].department_type if handler in BY_SUFFIX else handler


def _rules(matter: str, handler: str, districts: list[Area], note: str) -> list[dict[str, Any]]:
    if handler in BY_SUFFIX:
        return [
            {
                "matter": matter,
                "level": "district",
                "jurisdiction": d.code,
                "unit": f"{d.code}-{handler}",
                "city_coordinates": False,
                "note": note,
            }
            for d in districts
        ]
    return [
        {
            "matter": matter,
            "level": "district",
            "unit_type": handler,
            "city_coordinates": False,
            "note": note,
        }
    ]


def catalogue(
    data: Path, districts: list[Area]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with (data / "taxonomy_3level.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            (r["level1"].strip(), r["level2"].strip(), r["level3"].strip())
            for r in csv.DictReader(fh)
        ]
    matters: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    codes: dict[tuple[str, ...], str] = {}
    counters: dict[tuple[str, ...], int] = {}

    def code_for(path: tuple[str, ...]) -> tuple[str, bool]:
        if path in codes:
            return codes[path], False
        parent = codes[path[:-1]] if len(path) > 1 else MATTER_PREFIX
        n = counters[path[:-1]] = counters.get(path[:-1], 0) + 1
        codes[path] = f"{parent}-{n:02d}"
        return codes[path], True

    for l1, l2, l3 in rows:
        if not (l1 and l2 and l3):
            continue
        if l1 not in LEVEL1:
            raise ValueError(f"taxonomy_3level.csv: level-1 class {l1!r} has no handler")
        l1_en, l1_handler = LEVEL1[l1]
        handler = LEVEL2_HANDLER.get((l1, l2), l1_handler)
        for path in ((l1,), (l1, l2), (l1, l2, l3)):
            code, new = code_for(path)
            if not new:
                continue
            h = l1_handler if len(path) == 1 else handler
            pairs = {"district": _handler_type(h)}
            if (l2 in STREET_LEVEL2 and len(path) >= 2) or (len(path) == 3 and l3 in STREET_LEVEL3):
                pairs["street"] = "street_office"
            name_en = {1: l1_en, 2: LEVEL2_EN.get(l2, l2), 3: l3}[len(path)]
            matters.append(
                {
                    "code": code,
                    "parent": codes[path[:-1]] if len(path) > 1 else "",
                    "name_en": name_en,
                    "name_zh": path[-1],
                    "keywords": [path[-1]] if len(path) == 3 and path[-1] != "其他" else [],
                    "responsible": w.responsible(pairs),
                }
            )
            if len(path) == 1:
                rules += _rules(code, h, districts, f"{l1}: level-1 class")
            elif len(path) == 2 and (l1, l2) in LEVEL2_HANDLER:
                rules += _rules(code, h, districts, f"{l1}/{l2}: handled apart from {l1}")
            if (len(path) == 2 and l2 in STREET_LEVEL2) or (
                len(path) == 3 and l3 in STREET_LEVEL3 and l2 not in STREET_LEVEL2
            ):
                rules.append(
                    {
                        "matter": code,
                        "level": "street",
                        "unit_type": "street_office",
                        "city_coordinates": False,
                        "note": f"{'/'.join(path)}: the street/town office acts first",
                    }
                )
    return matters, rules


def build(data_dir: Path | None, out: Path, progress: Callable[[str], None] | None = None) -> None:
    data = w.data_folder(data_dir, "changsha", "taxonomy_3level.csv")
    out = Path(out)
    w.say(progress, f"reading boundaries from {data / 'boundaries'}")
    city, districts, streets = read_areas(data)
    worst = measure(city, districts)
    w.say(progress, "districts: worst " + ", ".join(f"{k} {v:.4%}" for k, v in worst.items()))
    matters, rules = catalogue(data, districts)

    w.prepare_out(out)
    w.write_manifest(
        out,
        {
            "city": CITY,
            "name_en": "Changsha",
            "name_zh": "长沙市",
            "levels": LEVELS,
            "tolerance": TOLERANCE,
            "source": (
                "District polygons: boundaries/districts.geojson (Amap-derived; coordinates may "
                "carry the GCJ-02 offset of a few hundred metres against WGS84, not corrected "
                "here). Streets/towns: boundaries/streets.csv (AreaCity, MIT), no polygons. "
                "City boundary = union of the districts. A1..A9 aliases from district_code_map.csv "
                "(TipDM 2020 problem C, decoded by co-occurrence with street names). Matters: the "
                "challenge's 3-level taxonomy (competition data, no licence stated: evaluation "
                "only); level-3 English names are the Chinese ones. Units and responsibilities are "
                "the usual district structure of a Chinese city, not taken from an official list. "
                "Measured: " + ", ".join(f"{k} {v:.4%}" for k, v in worst.items()) + "."
            ),
        },
    )
    counts = {
        "city": w.write_level(out, "city", [feature(city)]),
        "district": w.write_level(out, "district", [feature(d) for d in districts]),
        "street": w.write_level(out, "street", [feature(s) for s in streets]),
        "units": w.write_csv(out, "units.csv", w.UNITS_HEADER, units(districts, streets)),
        "matters": w.write_csv(out, "matters.csv", w.MATTERS_HEADER, matters),
        "responsibilities": w.write_csv(
            out, "responsibilities.csv", w.RESPONSIBILITIES_HEADER, rules
        ),
    }
    w.say(progress, "wrote " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" to {out}")
