"""The demo city's units: centres, governments, departments, committees and partners."""

from __future__ import annotations

from civitas.citypacks.demo.places import CITY, CITY_EN, CITY_ZH, Place
from civitas.matters.vocabulary import DepartmentType

# Functional departments (one per department type at city and at district level):
# type -> (English name, Chinese name, Chinese name at district level when it differs).
DEPARTMENTS: dict[str, tuple[str, str, str]] = {
    DepartmentType.HOUSING: ("Housing and Urban-Rural Development Bureau", "住房和城乡建设局", ""),
    DepartmentType.TRANSPORT: ("Transport Bureau", "交通运输局", ""),
    DepartmentType.ENVIRONMENT: ("Ecology and Environment Bureau", "生态环境局", "生态环境分局"),
    DepartmentType.MARKET_SUPERVISION: ("Market Supervision Administration", "市场监督管理局", ""),
    DepartmentType.PUBLIC_SECURITY: ("Public Security Bureau", "公安局", "公安分局"),
    DepartmentType.HEALTH: ("Health Commission", "卫生健康委员会", "卫生健康局"),
    DepartmentType.CIVIL_AFFAIRS: ("Civil Affairs Bureau", "民政局", ""),
    DepartmentType.URBAN_MANAGEMENT: (
        "Urban Management and Law Enforcement Bureau",
        "城市管理综合行政执法局",
        "",
    ),
    DepartmentType.WATER: ("Water Affairs Bureau", "水务局", ""),
    DepartmentType.EDUCATION: ("Education Bureau", "教育局", ""),
    DepartmentType.HUMAN_RESOURCES: (
        "Human Resources and Social Security Bureau",
        "人力资源和社会保障局",
        "",
    ),
    DepartmentType.NATURAL_RESOURCES: (
        "Natural Resources and Planning Bureau",
        "自然资源和规划局",
        "自然资源分局",
    ),
    DepartmentType.EMERGENCY: ("Emergency Management Bureau", "应急管理局", ""),
    DepartmentType.CULTURE_TOURISM: (
        "Culture, Radio, Television and Tourism Bureau",
        "文化广电旅游局",
        "",
    ),
    DepartmentType.AGRICULTURE: ("Agriculture and Rural Affairs Bureau", "农业农村局", ""),
    DepartmentType.UTILITIES: ("Public Utilities Administration", "公用事业管理局", ""),
    DepartmentType.PARKS: ("Landscaping and Greening Bureau", "园林绿化局", ""),
    DepartmentType.OTHER: ("Letters and Visits Bureau", "信访局", ""),
}

FIELDS = (
    "code",
    "kind",
    "department_type",
    "name_en",
    "name_zh",
    "jurisdiction",
    "parent",
    "aliases",
    "phone",
)


def _row(
    code: str,
    kind: str,
    name_en: str,
    name_zh: str,
    jurisdiction: str,
    *,
    department_type: str = "",
    parent: str = "",
    aliases: tuple[str, ...] = (),
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
        "aliases": "|".join(aliases),
        "phone": phone,
    }


def _phone(n: int) -> str:
    """Fictional duty numbers in an area code no real city uses."""
    return f"0999-{8600_0000 + n:08d}"


def unit_rows(places: list[Place]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    counter = iter(range(1, 100_000))

    def add(*args: str, **kwargs: object) -> None:
        kwargs.setdefault("phone", _phone(next(counter)))
        rows.append(_row(*args, **kwargs))  # type: ignore[arg-type]

    centre = f"{CITY}-12345"
    gov = f"{CITY}-GOV"
    add(
        centre,
        "centre",
        f"{CITY_EN} 12345 Citizen Service Centre",
        f"{CITY_ZH}12345市民服务热线中心",
        CITY,
        aliases=("12345", "市热线中心", "City hotline centre"),
        phone="12345",
    )
    add(
        gov,
        "government",
        f"{CITY_EN} People's Government",
        f"{CITY_ZH}人民政府",
        CITY,
        aliases=("市政府",),
    )
    for dtype, (en, zh, _) in DEPARTMENTS.items():
        add(
            f"{CITY}-{dtype.upper().replace('_', '-')}",
            "department",
            f"{CITY_EN} {en}",
            CITY_ZH + zh,
            CITY,
            department_type=dtype,
            parent=gov,
        )
    # Partners at city level.
    add(
        f"{CITY}-PARTY-SW",
        "party_org",
        f"{CITY_EN} Party Committee Social Work Department",
        f"中共{CITY_ZH}委社会工作部",
        CITY,
        aliases=("市委社会工作部",),
    )
    add(
        f"{CITY}-SOCIAL-WORK",
        "social_org",
        "Harbour City Social Work Service Centre",
        "海港市社会工作服务中心",
        CITY,
    )
    add(
        f"{CITY}-ELDERLY-ASSOC",
        "social_org",
        "Lighthouse Elderly Care Association",
        "灯塔养老服务协会",
        CITY,
    )
    add(
        f"{CITY}-LAWYERS",
        "social_org",
        "Harbour City Lawyers' Association (legal aid)",
        "海港市律师协会法律援助中心",
        CITY,
    )
    add(
        f"{CITY}-VOLUNTEERS",
        "volunteer_team",
        "Blue Ribbon Volunteer Service Team",
        "蓝丝带志愿服务队",
        CITY,
        parent=f"{CITY}-PARTY-SW",
    )
    for code, en, zh, dtype in (
        ("WATERCO", "Harbour Water Supply Group Co., Ltd.", "海港水务集团有限公司", "water"),
        ("POWERCO", "Harbour Power Supply Company", "海港供电公司", "utilities"),
        ("GASCO", "Harbour Gas Co., Ltd.", "海港燃气有限公司", "utilities"),
        ("BUSCO", "Harbour Public Transport Group", "海港公交集团", "transport"),
        ("PORTCO", "Harbour Port Group Co., Ltd.", "海港港务集团有限公司", "transport"),
    ):
        add(f"{CITY}-{code}", "enterprise", en, zh, CITY, department_type=dtype)

    by_parent: dict[str, list[Place]] = {}
    for p in places:
        by_parent.setdefault(p.parent or "", []).append(p)
    for d_index, district in enumerate(by_parent[CITY]):
        dcode = district.code
        short_zh, short_en = district.aliases[0], district.aliases[1]
        dgov = f"{dcode}-GOV"
        add(
            f"{dcode}-CENTRE",
            "centre",
            f"{district.name_en} 12345 Service Centre",
            f"{district.name_zh}12345热线分中心",
            dcode,
            parent=centre,
            aliases=(f"{short_zh}热线",),
        )
        add(
            dgov,
            "government",
            f"{district.name_en} Government",
            f"{district.name_zh}人民政府",
            dcode,
            department_type="district_office",
            parent=gov,
            aliases=(f"{short_zh}政府", f"{short_en} government"),
        )
        for dtype, (en, zh, zh_local) in DEPARTMENTS.items():
            add(
                f"{dcode}-{dtype.upper().replace('_', '-')}",
                "department",
                f"{district.name_en} {en}",
                district.name_zh + (zh_local or zh),
                dcode,
                department_type=dtype,
                parent=dgov,
            )
        add(
            f"{dcode}-VOLUNTEERS",
            "volunteer_team",
            f"{short_en} Volunteer Association",
            f"{short_zh}志愿者协会",
            dcode,
        )
        if d_index < 2:
            add(
                f"{dcode}-PARTY",
                "party_org",
                f"{district.name_en} Party Working Committee",
                f"中共{district.name_zh}委员会",
                dcode,
                parent=f"{CITY}-PARTY-SW",
            )
        for s_index, street in enumerate(by_parent[dcode]):
            scode = street.code
            office = f"{scode}-OFFICE"
            kind_en = "Government" if street.rural else "Office"
            kind_zh = "人民政府" if street.rural else "办事处"
            add(
                office,
                "government",
                f"{street.name_en} {kind_en}",
                street.name_zh + kind_zh,
                scode,
                department_type="street_office",
                parent=dgov,
                aliases=(street.aliases[0] + ("镇政府" if street.rural else "街道办"),),
            )
            add(
                f"{scode}-MEDIATION",
                "mediation_committee",
                f"{street.name_en} People's Mediation Committee",
                f"{street.name_zh}人民调解委员会",
                scode,
                parent=office,
            )
            for c_index, community in enumerate(by_parent[scode]):
                ccode = community.code
                committee = f"{ccode}-CC"
                c_kind_en = "Villagers' Committee" if community.rural else "Residents' Committee"
                c_kind_zh = "村民委员会" if community.rural else "居民委员会"
                add(
                    committee,
                    "community_committee",
                    f"{community.name_en} {c_kind_en}",
                    community.name_zh + c_kind_zh,
                    ccode,
                    department_type="community",
                    parent=office,
                    aliases=(community.name_zh + ("村委" if community.rural else "居委会"),),
                )
                add(
                    f"{ccode}-GRID",
                    "grid_team",
                    f"{community.name_en} Grid Team",
                    f"{community.name_zh}网格工作站",
                    ccode,
                    parent=committee,
                )
                if s_index == 0 and c_index == 0:
                    add(
                        f"{ccode}-PARTY",
                        "party_org",
                        f"{community.name_en} Party Branch",
                        f"中共{community.name_zh}支部委员会",
                        ccode,
                    )
    return rows
