"""The demo's data-sharing hub: four departments' datasets of Harbour City, generated in code,
loaded through the real loader, and grants between the departments in every state.

- Market supervision: inspections of about 600 enterprises placed in the city's grids over the
  last year (credit code, legal representative's identity number, phone, result, fine).
- The traffic police (the public security bureau): traffic accidents of the last year, with a
  planted cluster at one junction of the first street over the last three days, for the risk
  detectors (the dataset feeds them).
- Civil affairs: population by grid (households, residents, elderly, children, registered and
  floating residents), shared unconditionally; the area profiles' population source.
- Ecology and environment: violations by enterprises, feeding the risk detectors; their credit
  codes are inspected enterprises' and some drivers are legal representatives, so records of
  the four datasets join on credit codes and pseudonymous person keys.

Rows are generated from the demo city's own places (``places.build_places``) without the
database, the same for a given seed and day; every identity number and credit code is valid
and made up. ``setup`` creates what is missing (datasets, loads, grants) and skips what is
there, so ``civitas demo`` may run any number of times.
"""

from __future__ import annotations

import csv
import math
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from civitas.citypacks.demo.geometry import KM_PER_DEGREE_LAT
from civitas.citypacks.demo.places import CITY, Place, build_places, lattice
from civitas.geo.models import Jurisdiction
from civitas.hub import catalogue, grants, ingest, query
from civitas.hub.keys import complete_credit_code, complete_person_id, normalise_person_id
from civitas.hub.models import (
    Batch,
    BatchMode,
    BatchStatus,
    Dataset,
    Domain,
    FieldType,
    Frequency,
    Grant,
    KeyRole,
    Sensitivity,
    Sharing,
)
from civitas.kit import audit, clock
from civitas.kit.errors import InvalidInput, NotFound
from civitas.org.models import Unit, User

ACTOR = "cli:demo"
Progress = Callable[[str], Any]
SEED = "harbour-city-hub-1"
DAYS = 365

MARKET_UNIT = f"{CITY}-MARKET-SUPERVISION"
TRAFFIC_UNIT = f"{CITY}-PUBLIC-SECURITY"
CIVIL_UNIT = f"{CITY}-CIVIL-AFFAIRS"
ENVIRONMENT_UNIT = f"{CITY}-ENVIRONMENT"
CENTRE_UNIT = f"{CITY}-12345"
STREET = f"{CITY}-D01-S01"
STREET_UNIT = f"{STREET}-OFFICE"
HOUSING_UNIT = f"{CITY}-D01-HOUSING"

INSPECTIONS = "dc-market-inspections"
ACCIDENTS = "dc-traffic-accidents"
POPULATION = "dc-grid-population"
VIOLATIONS = "dc-environment-violations"

N_ENTERPRISES = 600
N_INSPECTIONS = 2400
N_ACCIDENTS = 900
N_VIOLATIONS = 260
N_PEOPLE = 1400
CLUSTER_ACCIDENTS = 8  # at one junction over the last three days

# Regions of birth for made-up identity numbers (they must exist for the check to pass).
BIRTH_REGIONS = ("330203", "330205", "330211", "350203", "370202", "440305", "310104", "110105")
# The credit codes' region: a code no real place uses, like the demo's 0999 phone numbers.
CREDIT_REGION = "990101"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "188")


# -- the schemas ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label_en: str
    label_zh: str
    type: str
    sensitivity: str = Sensitivity.INTERNAL
    key_role: str = KeyRole.NONE
    required: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    code: str
    owner: str  # unit code
    domain: str
    frequency: str
    sharing: str
    title_en: str
    title_zh: str
    description_en: str
    description_zh: str
    keywords: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    profile_role: str = ""
    profile_field: str = ""
    feeds_risk: bool = False

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


F = FieldSpec
PUBLIC, INTERNAL, SENSITIVE, SECRET = (
    Sensitivity.PUBLIC,
    Sensitivity.INTERNAL,
    Sensitivity.SENSITIVE,
    Sensitivity.SECRET,
)
TEXT, INTEGER, DECIMAL, DATE = (
    FieldType.STRING,
    FieldType.INTEGER,
    FieldType.DECIMAL,
    FieldType.DATE,
)

POINT_FIELDS = (
    F("lat", "Latitude", "纬度", DECIMAL, INTERNAL, KeyRole.LATITUDE, True),
    F("lon", "Longitude", "经度", DECIMAL, INTERNAL, KeyRole.LONGITUDE, True),
)

SPECS: dict[str, DatasetSpec] = {
    INSPECTIONS: DatasetSpec(
        code=INSPECTIONS,
        owner=MARKET_UNIT,
        domain=Domain.MARKET_SUPERVISION,
        frequency=Frequency.DAILY,
        sharing=Sharing.CONDITIONAL,
        title_en="Inspections of enterprises",
        title_zh="市场主体监督检查记录",
        description_en=(
            "Every on-site inspection of an enterprise by the market supervision "
            "administration: the enterprise, where it is, what was found and any fine. The legal "
            "representative's identity number is kept only as a pseudonymous key."
        ),
        description_zh=(
            "市场监管部门对市场主体的每一次现场检查：企业信息、所在位置、检查结果及罚款情况。"
            "法定代表人身份证号码仅以假名化密钥保存。"
        ),
        keywords=("inspection", "enterprise", "food safety", "监督检查", "市场主体", "食品安全"),
        fields=(
            F("credit_code", "Unified social credit code", "统一社会信用代码", TEXT, PUBLIC,
              KeyRole.CREDIT_CODE, True, 18),
            F("enterprise", "Enterprise", "企业名称", TEXT, PUBLIC, required=True, max_length=100),
            F("industry", "Industry", "行业", TEXT, PUBLIC, max_length=40),
            F("address", "Address", "经营地址", TEXT, INTERNAL, KeyRole.ADDRESS, max_length=160),
            *POINT_FIELDS,
            F("legal_rep_id", "Legal representative's identity number", "法定代表人身份证号",
              TEXT, SECRET, KeyRole.PERSON_ID),
            F("phone", "Contact phone", "联系电话", TEXT, SENSITIVE, KeyRole.PHONE, max_length=20),
            F("inspected_on", "Inspection date", "检查日期", DATE, INTERNAL, KeyRole.DATE, True),
            F("result", "Result", "检查结果", TEXT, INTERNAL, required=True, max_length=20),
            F("violations", "Problems found", "发现问题", TEXT, INTERNAL, max_length=200),
            F("fine", "Fine (yuan)", "罚款金额（元）", DECIMAL, SENSITIVE),
        ),
        profile_role="enterprises",
    ),
    ACCIDENTS: DatasetSpec(
        code=ACCIDENTS,
        owner=TRAFFIC_UNIT,
        domain=Domain.TRAFFIC,
        frequency=Frequency.DAILY,
        sharing=Sharing.CONDITIONAL,
        title_en="Road traffic accidents",
        title_zh="道路交通事故记录",
        description_en=(
            "Road traffic accidents attended by the traffic police: when and where, how serious, "
            "the vehicles and casualties. Drivers' identity numbers are kept only as pseudonymous "
            "keys; their phone numbers are sensitive. Feeds the risk detectors."
        ),
        description_zh=(
            "公安交警出警处理的道路交通事故：时间、地点、事故等级、涉事车辆及伤亡情况。"
            "驾驶人身份证号码仅以假名化密钥保存，联系电话属敏感信息。数据接入风险监测。"
        ),
        keywords=("traffic", "accident", "road safety", "交通事故", "道路安全", "交警"),
        fields=(
            F("accident_no", "Accident number", "事故编号", TEXT, INTERNAL, required=True,
              max_length=20),
            F("occurred_on", "Date", "事故日期", DATE, INTERNAL, KeyRole.DATE, True),
            F("occurred_at", "Time", "事故时间", TEXT, INTERNAL, max_length=5),
            *POINT_FIELDS,
            F("road", "Road or junction", "道路或路口", TEXT, INTERNAL, KeyRole.ADDRESS,
              max_length=160),
            F("severity", "Severity", "事故等级", TEXT, INTERNAL, required=True, max_length=20),
            F("cause", "Main cause", "主要原因", TEXT, INTERNAL, max_length=40),
            F("vehicles", "Vehicles", "涉事车辆数", INTEGER, INTERNAL, required=True),
            F("injured", "Injured", "受伤人数", INTEGER, INTERNAL, required=True),
            F("deaths", "Deaths", "死亡人数", INTEGER, INTERNAL, required=True),
            F("driver_id", "Driver's identity number", "驾驶人身份证号", TEXT, SECRET,
              KeyRole.PERSON_ID),
            F("driver_phone", "Driver's phone", "驾驶人电话", TEXT, SENSITIVE, KeyRole.PHONE,
              max_length=20),
        ),
        feeds_risk=True,
    ),
    POPULATION: DatasetSpec(
        code=POPULATION,
        owner=CIVIL_UNIT,
        domain=Domain.COMMUNITY,
        frequency=Frequency.MONTHLY,
        sharing=Sharing.UNCONDITIONAL,
        title_en="Population by grid",
        title_zh="网格人口统计",
        description_en=(
            "Households and residents of every grid as the community committees count them each "
            "month: the elderly, children, and registered and floating residents. Figures only, "
            "no person; shared with every government unit."
        ),
        description_zh=(
            "各社区居（村）委会按月统计的每个网格的户数和人口：老年人、儿童、户籍人口和流动人口。"
            "仅含统计数字，不含个人信息，向各政务部门无条件共享。"
        ),
        keywords=("population", "grid", "community", "人口", "网格", "社区"),
        fields=(
            F("grid_code", "Grid code", "网格编码", TEXT, PUBLIC, KeyRole.GRID_CODE, True, 40),
            F("grid_name", "Grid", "网格名称", TEXT, PUBLIC, max_length=60),
            F("households", "Households", "户数", INTEGER, PUBLIC, required=True),
            F("residents", "Residents", "常住人口", INTEGER, PUBLIC, required=True),
            F("elderly", "Aged 60 and over", "60岁以上老人", INTEGER, PUBLIC),
            F("children", "Children under 14", "14岁以下儿童", INTEGER, PUBLIC),
            F("registered", "Registered residents", "户籍人口", INTEGER, PUBLIC),
            F("floating", "Floating population", "流动人口", INTEGER, INTERNAL),
            F("as_of", "Counted on", "统计日期", DATE, PUBLIC, KeyRole.DATE, True),
        ),
        profile_role="population",
        profile_field="residents",
    ),
    VIOLATIONS: DatasetSpec(
        code=VIOLATIONS,
        owner=ENVIRONMENT_UNIT,
        domain=Domain.ENVIRONMENT,
        frequency=Frequency.WEEKLY,
        sharing=Sharing.CONDITIONAL,
        title_en="Environmental violations",
        title_zh="环境违法行为记录",
        description_en=(
            "Environmental violations found by the ecology and environment bureau's inspectors "
            "and monitoring: the enterprise, the kind of violation and the penalty. Feeds the "
            "risk detectors beside residents' appeals."
        ),
        description_zh=(
            "生态环境部门执法检查和在线监测发现的环境违法行为：涉事企业、违法类型和处罚情况。"
            "与群众诉求一并接入风险监测。"
        ),
        keywords=("environment", "pollution", "penalty", "环境违法", "污染", "行政处罚"),
        fields=(
            F("case_no", "Case number", "案件编号", TEXT, INTERNAL, required=True, max_length=20),
            F("found_on", "Date found", "发现日期", DATE, INTERNAL, KeyRole.DATE, True),
            *POINT_FIELDS,
            F("credit_code", "Unified social credit code", "统一社会信用代码", TEXT, PUBLIC,
              KeyRole.CREDIT_CODE, True, 18),
            F("enterprise", "Enterprise", "企业名称", TEXT, PUBLIC, max_length=100),
            F("kind", "Violation", "违法类型", TEXT, INTERNAL, required=True, max_length=40),
            F("legal_rep_id", "Legal representative's identity number", "法定代表人身份证号",
              TEXT, SECRET, KeyRole.PERSON_ID),
            F("penalty", "Penalty (yuan)", "罚款金额（元）", DECIMAL, SENSITIVE),
        ),
        feeds_risk=True,
    ),
}  # fmt: skip


# -- the city's places ------------------------------------------------------------------------


@dataclass
class Spot:
    """A grid of the demo city with the names and roads an address is made of."""

    code: str
    name_zh: str
    community_zh: str
    street_code: str
    street_zh: str
    district_zh: str
    rural: bool
    centres: list[tuple[float, float]]  # km east and north of the lattice origin, cell centres
    roads: list[str] = field(default_factory=list)


def _stem(name_zh: str) -> str:
    for suffix in ("街道", "社区", "镇", "村"):
        if name_zh.endswith(suffix):
            return name_zh[: -len(suffix)]
    return name_zh


def spots() -> list[Spot]:
    """Every grid of the demo city, in code order, from the same places the pack is built of."""
    hexes = lattice()
    _, places = build_places()
    by_code: dict[str, Place] = {p.code: p for p in places}
    out = []
    for p in places:
        if p.level != "grid":
            continue
        community = by_code[p.parent or ""]
        street = by_code[community.parent or ""]
        district = by_code[street.parent or ""]
        s_stem, c_stem = _stem(street.name_zh), _stem(community.name_zh)
        roads = (
            [f"{s_stem}路", f"{c_stem}街"] if not p.rural else [f"{s_stem}大道", f"{c_stem}村道"]
        )
        out.append(
            Spot(
                code=p.code,
                name_zh=p.name_zh,
                community_zh=community.name_zh,
                street_code=street.code,
                street_zh=street.name_zh,
                district_zh=district.name_zh,
                rural=p.rural,
                centres=[hexes.centre(c) for c in sorted(p.cells)],
                roads=roads,
            )
        )
    return sorted(out, key=lambda s: s.code)


def to_latlon(x_km: float, y_km: float) -> tuple[float, float]:
    """Kilometres on the demo lattice to (lat, lon), as ``HexLattice.lonlat`` converts."""
    hexes = lattice()
    per_lon = KM_PER_DEGREE_LAT * math.cos(math.radians(hexes.origin_lat))
    return (
        round(hexes.origin_lat + y_km / KM_PER_DEGREE_LAT, 6),
        round(hexes.origin_lon + x_km / per_lon, 6),
    )


def point_in(spot: Spot, rng: random.Random, *, near: tuple[float, float] | None = None,
             metres: float = 100.0) -> tuple[float, float]:  # fmt: skip
    """A point well inside ``spot`` (within 100 m of one of its cells' centres, which no
    jittered edge comes near), or within ``metres`` of ``near`` (km)."""
    x, y = near if near is not None else rng.choice(spot.centres)
    r = metres / 1000.0 * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return to_latlon(x + r * math.cos(a), y + r * math.sin(a))


# -- made-up identities -----------------------------------------------------------------------


def person_id(rng: random.Random) -> str:
    """A valid made-up identity number of an adult born 1960-2003 (a region code is valid only
    for births after the region was created: draw again until the number checks)."""
    while True:
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(44 * 365))
        region = rng.choice(BIRTH_REGIONS)
        number = complete_person_id(f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}")
        try:
            return normalise_person_id(number)
        except ValueError:
            continue


def credit_code(rng: random.Random, *, individual: bool) -> str:
    """A valid made-up unified social credit code: 91 a company, 92 an individual business."""
    body = "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
    return complete_credit_code(("92" if individual else "91") + CREDIT_REGION + body)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# -- enterprises and the rows -----------------------------------------------------------------

# industry -> (name endings, individual business?, problems an inspection finds)
INDUSTRIES: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...]]] = {
    "餐饮服务": (("餐馆", "小吃店", "面馆", "海鲜酒家"), True,
             ("从业人员无健康证明", "后厨卫生不达标", "未落实进货查验记录", "油烟净化设施未运行")),
    "食品销售": (("便利店", "生鲜超市", "食品商行"), True,
             ("销售过期食品", "未公示食品经营许可证", "冷藏设施温度不达标")),
    "药品零售": (("大药房", "药店"), False,
             ("处方药未凭处方销售", "执业药师不在岗", "药品储存条件不符合要求")),
    "住宿服务": (("宾馆", "酒店", "民宿"), False,
             ("未公示营业执照", "客房用品未按规定消毒")),
    "汽车维修": (("汽车维修部", "汽修厂"), True,
             ("维修配件无合格证明", "未明码标价")),
    "加工制造": (("机械制造有限公司", "电子有限公司", "塑胶制品厂", "水产加工有限公司"), False,
             ("特种设备未按期检验", "产品标识不规范", "使用不合格计量器具")),
    "美容美发": (("美发店", "美容院"), True, ("未明码标价", "预付卡经营未备案")),
}  # fmt: skip
BRANDS = ("鲜味", "鸿运", "百顺", "安康", "惠民", "福满", "金帆", "海韵", "远航", "同心", "嘉禾",
          "恒信", "瑞丰", "永盛", "蓝鲸", "老码头", "渔家", "新港", "好邻居", "润泽")  # fmt: skip
RESULTS = (("合格", 0.76), ("责令整改", 0.18), ("立案处罚", 0.06))
# Environmental violations by the enterprises that can commit them.
POLLUTION: dict[str, tuple[str, ...]] = {
    "加工制造": ("废水超标排放", "废气超标排放", "危险废物处置不规范", "未批先建", "噪声超标"),
    "汽车维修": ("危险废物处置不规范", "喷漆废气未经处理排放"),
    "餐饮服务": ("油烟超标排放", "餐厨废水直排雨水管网"),
}
SEVERITIES = (("财产损失", 0.78, 0, 0), ("伤人事故", 0.2, 1, 0), ("亡人事故", 0.02, 1, 1))
CAUSES = ("未按规定让行", "追尾", "违法变道", "超速行驶", "闯红灯", "酒后驾驶", "疲劳驾驶",
          "未保持安全距离", "倒车不当", "行人横穿道路")  # fmt: skip


@dataclass
class Enterprise:
    credit_code: str
    name: str
    industry: str
    spot: Spot
    lat: float
    lon: float
    address: str
    legal_rep_id: str
    phone: str


@dataclass
class Plan:
    """Everything the demo generates for one day: the rows of each dataset by code, and the
    facts the tests and the demo's own summary need."""

    today: date
    rows: dict[str, list[dict[str, Any]]]
    enterprises: list[Enterprise]
    junction: tuple[float, float]  # (lat, lon) of the planted accident cluster
    junction_grid: str
    cluster_rows: list[int]  # indexes into the accident rows


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    x, total = rng.random(), 0.0
    for value, weight in choices:
        total += weight
        if x < total:
            return value
    return choices[-1][0]


def _money(x: float) -> str:
    return f"{x:.2f}"


class _Maker:
    def __init__(self, today: date, seed: str) -> None:
        self.today = today
        self.rng = random.Random(f"{seed}:{today.isoformat()}")
        self.spots = spots()
        # Town and city: busy urban grids hold more enterprises and accidents than villages.
        self.weights = [1.0 if s.rural else 3.0 for s in self.spots]
        self.people = [person_id(self.rng) for _ in range(N_PEOPLE)]

    def spot(self) -> Spot:
        return self.rng.choices(self.spots, weights=self.weights)[0]

    def day(self) -> date:
        """A day of the last year, before today (today's events may lie ahead)."""
        return self.today - timedelta(days=1 + self.rng.randrange(DAYS - 1))

    def address(self, spot: Spot) -> str:
        road = self.rng.choice(spot.roads)
        return f"{spot.district_zh}{spot.street_zh}{road}{self.rng.randrange(1, 400)}号"

    def enterprises(self) -> list[Enterprise]:
        rng = self.rng
        made: list[Enterprise] = []
        seen: set[str] = set()
        industries = list(INDUSTRIES)
        while len(made) < N_ENTERPRISES:
            industry = rng.choice(industries)
            endings, individual, _ = INDUSTRIES[industry]
            code = credit_code(rng, individual=individual and rng.random() < 0.7)
            if code in seen:
                continue
            seen.add(code)
            spot = self.spot()
            lat, lon = point_in(spot, rng)
            name = f"海港市{_stem(spot.community_zh)}{rng.choice(BRANDS)}{rng.choice(endings)}"
            made.append(
                Enterprise(
                    credit_code=code,
                    name=name,
                    industry=industry,
                    spot=spot,
                    lat=lat,
                    lon=lon,
                    address=self.address(spot),
                    legal_rep_id=self.people[len(made) % (N_PEOPLE // 2)],
                    phone=mobile(rng),
                )
            )
        return made

    def inspections(self, firms: list[Enterprise]) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        for i in range(N_INSPECTIONS):
            firm = firms[i % len(firms)] if i < len(firms) else rng.choice(firms)
            result = _weighted(rng, RESULTS)
            problems = INDUSTRIES[firm.industry][2]
            found = (
                []
                if result == "合格"
                else rng.sample(problems, min(len(problems), 1 + (result != "责令整改")))
            )
            fine = (
                _money(rng.choice((2000, 5000, 10000, 20000, 50000)))
                if result == "立案处罚"
                else ""
            )
            rows.append(
                {
                    "credit_code": firm.credit_code,
                    "enterprise": firm.name,
                    "industry": firm.industry,
                    "address": firm.address,
                    "lat": firm.lat,
                    "lon": firm.lon,
                    "legal_rep_id": firm.legal_rep_id,
                    "phone": firm.phone,
                    "inspected_on": self.day().isoformat(),
                    "result": result,
                    "violations": "；".join(found),
                    "fine": fine,
                }
            )
        rows.sort(key=lambda r: (r["inspected_on"], r["credit_code"]))
        return rows

    def accident(self, n: int, on: date, spot: Spot, point: tuple[float, float], road: str,
                 hour: int | None = None) -> dict[str, Any]:  # fmt: skip
        rng = self.rng
        severity = _weighted(rng, tuple((s, w) for s, w, _, _ in SEVERITIES))
        _, _, hurt, dead = next(s for s in SEVERITIES if s[0] == severity)
        vehicles = rng.choice((1, 2, 2, 2, 2, 3))
        # A fifth of the drivers are also enterprises' legal representatives: keys join.
        pool = self.people if rng.random() < 0.2 else self.people[N_PEOPLE // 2 :]
        return {
            "accident_no": f"{CITY}{on:%Y%m%d}{n:05d}",
            "occurred_on": on.isoformat(),
            "occurred_at": f"{hour if hour is not None else rng.randrange(24):02d}:"
            f"{rng.randrange(60):02d}",
            "lat": point[0],
            "lon": point[1],
            "road": road,
            "severity": severity,
            "cause": rng.choice(CAUSES),
            "vehicles": vehicles,
            "injured": hurt * rng.randint(1, 3),
            "deaths": dead,
            "driver_id": rng.choice(pool),
            "driver_phone": mobile(rng),
        }

    def junction(self) -> tuple[Spot, tuple[float, float]]:
        """A junction in the first street, away from its first community (where the ordinary
        demo appeals gather): the centre of a cell of its second community's first grid."""
        grids = [s for s in self.spots if s.street_code == STREET]
        second = sorted({s.code.rsplit("-", 1)[0] for s in grids})[1]
        spot = next(s for s in grids if s.code.startswith(second + "-"))
        return spot, spot.centres[len(spot.centres) // 2]

    def accidents(self) -> tuple[list[dict[str, Any]], list[int], Spot, tuple[float, float]]:
        rng, rows = self.rng, []
        for n in range(N_ACCIDENTS):
            spot = self.spot()
            a, b = spot.roads
            road = f"{a}与{b}交叉口" if rng.random() < 0.4 else self.address(spot) + "附近"
            rows.append(self.accident(n + 1, self.day(), spot, point_in(spot, rng), road))
        at, centre = self.junction()
        road = f"{at.roads[0]}与{at.roads[1]}交叉口"
        # The junction's ordinary history: an accident there now and then over the year.
        for k in range(3):
            on = self.today - timedelta(days=40 + 97 * k)
            point = point_in(at, rng, near=centre, metres=80)
            rows.append(self.accident(N_ACCIDENTS + k + 1, on, at, point, road))
        # The cluster: eight accidents within 80 m of the junction over the last three days
        # (yesterday and the two days before), at different times of day.
        first = len(rows)
        for k in range(CLUSTER_ACCIDENTS):
            on = self.today - timedelta(days=3 - k * 3 // CLUSTER_ACCIDENTS)
            point = point_in(at, rng, near=centre, metres=80)
            hour = 7 + (k * 5) % 14
            rows.append(self.accident(N_ACCIDENTS + 10 + k, on, at, point, road, hour=hour))
        cluster = list(range(first, len(rows)))
        order = sorted(
            range(len(rows)), key=lambda i: (rows[i]["occurred_on"], rows[i]["accident_no"])
        )
        where = {old: new for new, old in enumerate(order)}
        return [rows[i] for i in order], sorted(where[i] for i in cluster), at, to_latlon(*centre)

    def population(self) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        as_of = self.today.replace(day=1).isoformat()
        for spot in self.spots:
            households = rng.randint(80, 260) if spot.rural else rng.randint(300, 950)
            residents = round(households * rng.uniform(2.3, 3.1))
            floating = round(
                residents * (rng.uniform(0.02, 0.08) if spot.rural else rng.uniform(0.08, 0.35))
            )
            rows.append(
                {
                    "grid_code": spot.code,
                    "grid_name": spot.name_zh,
                    "households": households,
                    "residents": residents,
                    "elderly": round(
                        residents
                        * (rng.uniform(0.22, 0.34) if spot.rural else rng.uniform(0.14, 0.26))
                    ),
                    "children": round(residents * rng.uniform(0.09, 0.16)),
                    "registered": residents - floating,
                    "floating": floating,
                    "as_of": as_of,
                }
            )
        return rows

    def violations(self, firms: list[Enterprise]) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        polluters = [f for f in firms if f.industry in POLLUTION]
        for n in range(N_VIOLATIONS):
            firm = rng.choice(polluters)
            kinds = POLLUTION[firm.industry]
            on = self.day()
            # A warning and an order to correct carry no fine.
            amount = rng.choice((0, 10000, 20000, 50000, 100000, 200000))
            penalty = _money(amount) if amount else ""
            rows.append(
                {
                    "case_no": f"HJ{on:%Y%m%d}{n + 1:04d}",
                    "found_on": on.isoformat(),
                    "lat": firm.lat,
                    "lon": firm.lon,
                    "credit_code": firm.credit_code,
                    "enterprise": firm.name,
                    "kind": rng.choice(kinds),
                    "legal_rep_id": firm.legal_rep_id,
                    "penalty": penalty,
                }
            )
        rows.sort(key=lambda r: (r["found_on"], r["case_no"]))
        return rows


def generate(today: date, *, seed: str = SEED) -> Plan:
    """The demo hub's rows for ``today`` (the same for the same day and seed)."""
    maker = _Maker(today, seed)
    firms = maker.enterprises()
    inspections = maker.inspections(firms)
    accidents, cluster, at, junction = maker.accidents()
    return Plan(
        today=today,
        rows={
            INSPECTIONS: inspections,
            ACCIDENTS: accidents,
            POPULATION: maker.population(),
            VIOLATIONS: maker.violations(firms),
        },
        enterprises=firms,
        junction=junction,
        junction_grid=at.code,
        cluster_rows=cluster,
    )


def write_csv(spec: DatasetSpec, rows: list[dict[str, Any]], path: Path) -> Path:
    """Rows as a department would export them: a header of field names, UTF-8."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=spec.names, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def csv_files(plan: Plan, folder: Path) -> Iterator[tuple[DatasetSpec, Path]]:
    for code, spec in SPECS.items():
        yield spec, write_csv(spec, plan.rows[code], folder / f"{code}.csv")


# -- grants between the departments -----------------------------------------------------------


@dataclass(frozen=True)
class GrantPlan:
    """One grant of the demo, in the state it is left in."""

    dataset: str
    consumer: str  # unit code
    requester: str  # demo sign-in asking
    fields: tuple[str, ...]
    purpose: str
    legal_basis: str
    outcome: str  # approve, refuse, pending, expired, automatic
    decider: str = ""  # demo sign-in deciding
    reason: str = ""
    area: str = ""  # jurisdiction code; "" for the dataset's whole area
    clear: tuple[str, ...] = ()
    days: int = 365


def _all_but(code: str, *left_out: str) -> tuple[str, ...]:
    return tuple(n for n in SPECS[code].names if n not in left_out)


GRANTS: tuple[GrantPlan, ...] = (
    GrantPlan(
        ACCIDENTS,
        STREET_UNIT,
        "analyst-street",
        _all_but(ACCIDENTS, "driver_id"),
        "Road safety in the street: find dangerous junctions and place crossing guards at "
        "school times. 辖区道路安全：排查事故多发路口，安排上下学护学岗。",
        "Road Traffic Safety Law, art. 5; the district's road safety work plan. "
        "《道路交通安全法》第五条；区道路交通安全工作方案。",
        "approve",
        decider="steward-traffic",
        reason="Granted for the street's own area; drivers' phones stay masked.",
        area=STREET,
    ),
    GrantPlan(
        INSPECTIONS,
        CENTRE_UNIT,
        "analyst",
        _all_but(INSPECTIONS, "legal_rep_id", "phone"),
        "Match residents' appeals about shops and restaurants with inspection results. "
        "将涉及商户和餐饮的群众诉求与监督检查结果比对。",
        "The city's 12345 hotline regulations, art. 14. 《市12345热线管理办法》第十四条。",
        "approve",
        decider="steward-market",
        reason="Without identity numbers or phones: not needed for this purpose.",
        days=180,
    ),
    GrantPlan(
        POPULATION,
        STREET_UNIT,
        "leader",
        tuple(SPECS[POPULATION].names),
        "Plan grid staffing and elderly care visits. 网格力量配置和老年人走访计划。",
        "Urban Residents' Committees Organisation Law. 《城市居民委员会组织法》。",
        "automatic",
    ),
    GrantPlan(
        POPULATION,
        CENTRE_UNIT,
        "analyst",
        tuple(SPECS[POPULATION].names),
        "Appeals per thousand residents by grid. 按网格计算每千人诉求量。",
        "The city's 12345 hotline regulations, art. 14. 《市12345热线管理办法》第十四条。",
        "automatic",
    ),
    GrantPlan(
        VIOLATIONS,
        MARKET_UNIT,
        "steward-market",
        _all_but(VIOLATIONS, "legal_rep_id"),
        "Joint inspections: visit first the enterprises with environmental violations. "
        "联合检查：优先检查有环境违法记录的企业。",
        "The city's joint market and environment enforcement agreement. "
        "市场监管与生态环境联合执法协议。",
        "approve",
        decider="steward",
        reason="Approved for the joint inspections of this year.",
    ),
    GrantPlan(
        INSPECTIONS,
        STREET_UNIT,
        "analyst-street",
        _all_but(INSPECTIONS, "legal_rep_id", "phone", "fine"),
        "Food safety checks of the street's shops before the Spring Festival. "
        "春节前辖区商户食品安全排查。",
        "Food Safety Law, art. 6. 《食品安全法》第六条。",
        "pending",
        area=STREET,
        days=90,
    ),
    GrantPlan(
        ACCIDENTS,
        CENTRE_UNIT,
        "analyst",
        _all_but(ACCIDENTS, "driver_id"),
        "Call drivers for a satisfaction survey of the traffic police. "
        "回访驾驶人，开展交警执法满意度调查。",
        "The city's 12345 hotline regulations, art. 20. 《市12345热线管理办法》第二十条。",
        "refuse",
        decider="steward-traffic",
        reason=(
            "Drivers' phone numbers in clear are not shared for surveys: the traffic police "
            "make such calls themselves. 驾驶人电话不以明文共享用于回访，由交警部门自行回访。"
        ),
        clear=("driver_phone",),
    ),
    GrantPlan(
        VIOLATIONS,
        CENTRE_UNIT,
        "analyst",
        _all_but(VIOLATIONS, "legal_rep_id", "penalty"),
        "Summer campaign against noise and fumes from enterprises. "
        "夏季企业噪声和油烟扰民专项整治。",
        "The city government's campaign notice. 市政府专项整治工作通知。",
        "expired",
        decider="steward",
        reason="For the summer campaign only.",
        days=90,
    ),
)
# Reads through the approved grants, so that the owners' usage pages have something to show:
# (sign-in, dataset, filters, purpose, the consumer's case reference).
READS: tuple[tuple[str, str, dict[str, str], str, str], ...] = (
    (
        "analyst-street",
        ACCIDENTS,
        {},
        "Junctions with repeated accidents. 事故多发路口排查。",
        "WC-2026-017",
    ),
    ("analyst-street", POPULATION, {}, "Grid staffing plan. 网格力量配置。", ""),
    (
        "analyst",
        INSPECTIONS,
        {"result": "立案处罚"},
        "Shops fined and appealed about. 被处罚且有群众诉求的商户。",
        "12345-A-3321",
    ),
    ("steward-market", VIOLATIONS, {}, "Joint inspection list. 联合检查名单。", "JC-2026-04"),
)
# Who to sign in as to see each side of the sharing (printed by ``civitas demo``).
GUIDE = (
    "analyst-street reads the street's accidents (drivers' phones masked) and its population",
    "analyst (12345 centre) reads inspections without identity numbers or phones",
    "steward-market decides the street's pending request for inspections",
    "steward-traffic sees who read the accidents and the request it refused",
)
EXPIRED_AGO = 120  # days since the expired grant was approved (it ran for GrantPlan.days)
DEMO_LOGINS = ("steward-market", "steward-traffic", "steward", "administrator", "analyst",
               "analyst-street", "leader")  # fmt: skip
# Who defines and loads each dataset: its owner's data steward (the city administrator for
# civil affairs, which has no demo steward of its own).
STEWARDS = {
    INSPECTIONS: "steward-market",
    ACCIDENTS: "steward-traffic",
    POPULATION: "administrator",
    VIOLATIONS: "steward",
}


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _people() -> dict[str, User]:
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_LOGINS)}
    missing = sorted(set(DEMO_LOGINS) - set(users))
    if missing:
        raise NotFound(
            f"demo sign-ins {', '.join(missing)} not found: create them first "
            "(civitas demo does, before the hub)",
            code="demo_users_missing",
        )
    return users


def _dataset(spec: DatasetSpec, steward: User) -> tuple[Dataset, bool]:
    """The dataset with its schema: made when missing, left as it is when there."""
    ds = Dataset.objects.filter(code=spec.code).select_related("owner_unit").first()
    made = ds is None
    if ds is None:
        owner = Unit.objects.filter(code=spec.owner).first()
        if owner is None:
            raise NotFound(
                f"unit {spec.owner} not found: import the demo city pack first",
                code="demo_city_missing",
            )
        ds = catalogue.create_dataset(
            steward,
            owner_unit=owner,
            code=spec.code,
            title_en=spec.title_en,
            title_zh=spec.title_zh,
            description_en=spec.description_en,
            description_zh=spec.description_zh,
            keywords=list(spec.keywords),
            domain=spec.domain,
            frequency=spec.frequency,
            sharing=spec.sharing,
            profile_role=spec.profile_role,
            profile_field=spec.profile_field,
            feeds_risk=spec.feeds_risk,
        )
    if ds.schema_id is None:
        fields = [
            {
                "name": f.name,
                "label_en": f.label_en,
                "label_zh": f.label_zh,
                "type": f.type,
                "sensitivity": f.sensitivity,
                "key_role": f.key_role,
                "required": f.required,
                "max_length": f.max_length,
            }
            for f in spec.fields
        ]
        catalogue.save_schema(steward, ds, fields, note="first version (demo)", version=ds.version)
        ds.refresh_from_db()
    return ds, made


def _loaded(ds: Dataset) -> bool:
    return ds.batches.filter(status=BatchStatus.APPLIED).exists()


def load(ds: Dataset, steward: User, rows: list[dict[str, Any]], folder: Path) -> Batch:
    """Write ``rows`` to a CSV file and load it through the hub's loader, as a steward would
    upload it. Raises when the loader does not apply it whole."""
    spec = SPECS[ds.code]
    path = write_csv(spec, rows, folder / f"{ds.code}.csv")
    batch = ingest.stage_file(steward, ds, path, filename=path.name, mode=BatchMode.REPLACE)
    batch = ingest.run(batch)
    if batch.status != BatchStatus.APPLIED:
        raise InvalidInput(
            f"the demo's {ds.code} did not load: {batch.status}, {batch.rows_bad} bad rows "
            f"({batch.message})",
            code="demo_hub_load",
            details={"report": batch.report},
        )
    return batch


def _grant(plan: GrantPlan, users: dict[str, User], now: datetime) -> Grant | None:
    """Make one planned grant and take it to its state; None when it is there already."""
    ds = Dataset.objects.select_related("owner_unit", "schema", "jurisdiction").get(
        code=plan.dataset
    )
    consumer = Unit.objects.get(code=plan.consumer)
    if Grant.objects.filter(dataset=ds, consumer_unit=consumer, purpose=plan.purpose).exists():
        return None
    area = Jurisdiction.objects.get(code=plan.area) if plan.area else None
    asked_at = now - timedelta(days=EXPIRED_AGO + plan.days) if plan.outcome == "expired" else now
    with clock.frozen(asked_at):
        grant = grants.request_grant(
            users[plan.requester],
            ds,
            consumer=consumer,
            fields=list(plan.fields),
            clear_fields=list(plan.clear),
            area=area,
            purpose=plan.purpose,
            legal_basis=plan.legal_basis,
            expires_at=asked_at + timedelta(days=plan.days),
        )
        if plan.outcome in ("approve", "expired"):
            grant = grants.approve(
                users[plan.decider], grant, version=grant.version, note=plan.reason
            )
        elif plan.outcome == "refuse":
            grant = grants.refuse(
                users[plan.decider], grant, version=grant.version, reason=plan.reason
            )
    if plan.outcome == "expired":
        with clock.frozen(now):
            grants.expire_due()
        grant.refresh_from_db()
    return grant


def setup(*, now: datetime | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Create, load and grant what the demo hub lacks; return what was done (all zeros on a
    second run). Needs the demo city and its sign-ins."""

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    now = (now or clock.now()).replace(second=0, microsecond=0)
    users = _people()
    done = {"datasets": 0, "loaded": 0, "records": 0, "grants": 0, "reads": 0}
    plan: Plan | None = None
    with tempfile.TemporaryDirectory(prefix="civitas-demo-hub-") as tmp:
        for code, spec in SPECS.items():
            steward = users[STEWARDS[code]]
            with transaction.atomic():
                ds, made = _dataset(spec, steward)
            done["datasets"] += made
            if _loaded(ds):
                continue
            if plan is None:
                plan = generate(now.astimezone(zone()).date())
            batch = load(ds, steward, plan.rows[code], Path(tmp))
            done["loaded"] += 1
            done["records"] += batch.rows_loaded
            say(f"{code}: {batch.rows_loaded} records loaded ({ds.owner_unit.code})")
    for grant_plan in GRANTS:
        with transaction.atomic():
            grant = _grant(grant_plan, users, now)
        if grant is not None:
            done["grants"] += 1
            say(
                f"grant {grant.dataset.code} → {grant.consumer_unit.code}: {grant.status}"
                + (" (automatic)" if grant.automatic else "")
            )
    if done["grants"]:
        with clock.frozen(now):
            for username, code, filters, purpose, case_ref in READS:
                query.read(
                    users[username],
                    Dataset.objects.get(code=code),
                    filters=filters,
                    purpose=purpose,
                    case_ref=case_ref,
                    page_size=50,
                )
        done["reads"] = len(READS)
    if any(done.values()):
        with transaction.atomic():
            audit.record(
                actor=ACTOR,
                action="demo.hub",
                object_type="hub.dataset",
                object_id=CITY,
                after=done,
                reason="the demo's shared datasets and grants",
            )
    return done
