"""The demo city's jurisdiction tree: Harbour City (海港市), a fictional city on the sea.

City → 6 districts (one a county) → streets/townships → communities/villages → grids.
Names are plausible but invented; they avoid the names of the real cities in the shared data.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field

from civitas.citypacks.demo.geometry import (
    Cell,
    HexLattice,
    centroid_km,
    fill_holes,
    largest_component,
    partition,
    reading_order,
)

CITY = "DC"
CITY_EN, CITY_ZH = "Harbour City", "海港市"
SEED = "harbour-city-2026"

LEVELS: list[dict[str, object]] = [
    {"code": "city", "rank": 0, "name_en": "City", "name_zh": "市"},
    {"code": "district", "rank": 1, "name_en": "District/county", "name_zh": "区县"},
    {"code": "street", "rank": 2, "name_en": "Street/township", "name_zh": "街道/乡镇"},
    {"code": "community", "rank": 3, "name_en": "Community/village", "name_zh": "社区/村"},
    {"code": "grid", "rank": 4, "name_en": "Grid", "name_zh": "网格"},
]

# (zh stem, pinyin, zh suffix, en suffix, preferred compass point or None, streets)
DISTRICTS: list[tuple[str, str, str, str, tuple[float, float] | None, int]] = [
    ("港城", "Gangcheng", "区", "District", (0.0, 0.0), 6),
    ("东澜", "Donglan", "区", "District", (1.0, 0.0), 6),
    ("北渚", "Beizhu", "区", "District", (0.0, 1.0), 5),
    ("西岭", "Xiling", "区", "District", (-1.0, 0.0), 5),
    ("南湾", "Nanwan", "区", "District", (0.0, -1.0), 5),
    ("青屿", "Qingyu", "县", "County", None, 5),
]

# fmt: off
STREETS: list[tuple[str, str]] = [
    ("望潮", "Wangchao"), ("听涛", "Tingtao"), ("揽月", "Lanyue"), ("海晏", "Haiyan"),
    ("渔光", "Yuguang"), ("灯塔", "Dengta"), ("帆影", "Fanying"), ("潮音", "Chaoyin"),
    ("鸥鸣", "Ouming"), ("珊瑚", "Shanhu"), ("贝湾", "Beiwan"), ("银滩", "Yintan"),
    ("金沙", "Jinsha"), ("蓝湾", "Lanwan"), ("锦浪", "Jinlang"), ("船坞", "Chuanwu"),
    ("新港", "Xingang"), ("老港", "Laogang"), ("临海", "Linhai"), ("安澜", "Anlan"),
    ("静波", "Jingbo"), ("长堤", "Changdi"), ("石矶", "Shiji"), ("云帆", "Yunfan"),
    ("远航", "Yuanhang"), ("海棠", "Haitang"), ("凤栖", "Fengqi"), ("鹭鸣", "Luming"),
    ("松涛", "Songtao"), ("竹溪", "Zhuxi"), ("桂园", "Guiyuan"), ("兰亭", "Lanting"),
    ("梧桐", "Wutong"), ("翠微", "Cuiwei"), ("明珠", "Mingzhu"), ("文澜", "Wenlan"),
    ("书院", "Shuyuan"), ("学府", "Xuefu"), ("科创", "Kechuang"), ("龙湾", "Longwan"),
]
TOWNS: list[tuple[str, str]] = [
    ("青屿", "Qingyu"), ("白礁", "Baijiao"), ("螺岙", "Luo'ao"), ("沙埕", "Shacheng"),
    ("盐田", "Yantian"), ("茶山", "Chashan"), ("桃渚", "Taozhu"), ("鹤浦", "Hepu"),
]
COMMUNITY_FIRST: list[tuple[str, str]] = [
    ("海", "Hai"), ("滨", "Bin"), ("澜", "Lan"), ("潮", "Chao"), ("礁", "Jiao"), ("帆", "Fan"),
    ("锦", "Jin"), ("翠", "Cui"), ("福", "Fu"), ("康", "Kang"), ("和", "He"), ("瑞", "Rui"),
    ("祥", "Xiang"), ("嘉", "Jia"), ("宏", "Hong"), ("永", "Yong"), ("丰", "Feng"), ("泰", "Tai"),
    ("华", "Hua"), ("明", "Ming"), ("新", "Xin"), ("育", "Yu"), ("春", "Chun"), ("景", "Jing"),
]
COMMUNITY_SECOND: list[tuple[str, str]] = [
    ("园", "yuan"), ("湾", "wan"), ("桥", "qiao"), ("岭", "ling"), ("坊", "fang"), ("里", "li"),
    ("庭", "ting"), ("林", "lin"), ("塘", "tang"), ("港", "gang"), ("城", "cheng"),
]
# fmt: on


@dataclass
class Place:
    code: str
    level: str
    name_en: str
    name_zh: str
    parent: str | None
    cells: set[Cell]
    aliases: list[str] = field(default_factory=list)
    rural: bool = False


def lattice() -> HexLattice:
    return HexLattice(size_km=0.3, origin_lon=123.35, origin_lat=28.8, jitter=0.2, seed=SEED)


def _coastline(lat: HexLattice) -> set[Cell]:
    """The city's land: a wavy blob with a harbour bay cut into its south-east."""
    radius = 23.0
    bay_x, bay_y = radius * 0.95 * math.cos(-0.7), radius * 0.95 * math.sin(-0.7)

    def inside(x: float, y: float) -> bool:
        theta = math.atan2(y, x)
        edge = radius * (
            1
            + 0.10 * math.cos(2 * theta + 0.7)
            + 0.07 * math.cos(3 * theta + 2.1)
            + 0.04 * math.cos(5 * theta + 0.3)
            + 0.02 * math.cos(9 * theta + 1.3)
        )
        in_bay = (x - bay_x) ** 2 + (y - bay_y) ** 2 < 6.5**2
        return math.hypot(x, y) <= edge and not in_bay

    return fill_holes(largest_component(lat.cells_within(inside, radius * 1.3)))


def _name_districts(
    lat: HexLattice, parts: list[set[Cell]], city: set[Cell]
) -> list[tuple[int, set[Cell]]]:
    """Match district parts to names by compass point (brute force over 720 orders)."""
    cx, cy = centroid_km(lat, city)
    spots = []
    for part in parts:
        x, y = centroid_km(lat, part)
        spots.append(((x - cx) / 20.0, (y - cy) / 20.0))
    best: tuple[float, tuple[int, ...]] | None = None
    for order in itertools.permutations(range(len(parts))):
        cost = 0.0
        for name_index, part_index in enumerate(order):
            want = DISTRICTS[name_index][4]
            if want is not None:
                sx, sy = spots[part_index]
                cost += (sx - want[0]) ** 2 + (sy - want[1]) ** 2
        if best is None or cost < best[0] - 1e-12:
            best = (cost, order)
    assert best is not None
    return [(name_index, parts[part_index]) for name_index, part_index in enumerate(best[1])]


def _community_names(rng: random.Random) -> list[tuple[str, str]]:
    taken = {zh for zh, _ in STREETS + TOWNS} | {d[0] for d in DISTRICTS} | {"海港"}
    combos = [
        (a_zh + b_zh, a_en + b_en)
        for a_zh, a_en in COMMUNITY_FIRST
        for b_zh, b_en in COMMUNITY_SECOND
        if a_zh + b_zh not in taken
    ]
    rng.shuffle(combos)
    return combos


def build_places() -> tuple[HexLattice, list[Place]]:
    """Every jurisdiction of the demo city, parents before children, with its cells."""
    lat = lattice()
    rng = random.Random(SEED)
    city_cells = _coastline(lat)
    places = [Place(CITY, "city", CITY_EN, CITY_ZH, None, city_cells, aliases=["海港", "Harbour"])]
    district_parts = partition(lat, city_cells, len(DISTRICTS), label="districts")
    streets = iter(STREETS)
    towns = iter(TOWNS)
    community_names = iter(_community_names(rng))
    for name_index, d_cells in sorted(_name_districts(lat, district_parts, city_cells)):
        stem_zh, stem_en, suffix_zh, suffix_en, _, n_streets = DISTRICTS[name_index]
        rural = suffix_en == "County"
        dcode = f"{CITY}-D{name_index + 1:02d}"
        places.append(
            Place(
                dcode,
                "district",
                f"{stem_en} {suffix_en}",
                stem_zh + suffix_zh,
                CITY,
                d_cells,
                aliases=[stem_zh, stem_en],
                rural=rural,
            )
        )
        street_parts = reading_order(lat, partition(lat, d_cells, n_streets, label=dcode))
        for s, s_cells in enumerate(street_parts, start=1):
            scode = f"{dcode}-S{s:02d}"
            zh, en = next(towns) if rural else next(streets)
            s_zh, s_en = (zh + "镇", f"{en} Town") if rural else (zh + "街道", f"{en} Subdistrict")
            s_aliases = [zh, en] if rural else [zh, zh + "街", en, f"{en} Street"]
            places.append(Place(scode, "street", s_en, s_zh, dcode, s_cells, s_aliases, rural))
            n_communities = rng.choice((3, 4, 4, 5, 5))
            community_parts = reading_order(
                lat, partition(lat, s_cells, n_communities, label=scode)
            )
            for c, c_cells in enumerate(community_parts, start=1):
                ccode = f"{scode}-C{c:02d}"
                zh, en = next(community_names)
                c_zh, c_en = (
                    (zh + "村", f"{en} Village") if rural else (zh + "社区", f"{en} Community")
                )
                places.append(Place(ccode, "community", c_en, c_zh, scode, c_cells, [zh], rural))
                n_grids = 2 if rural else rng.choice((3, 3, 4))
                grid_parts = reading_order(lat, partition(lat, c_cells, n_grids, label=ccode))
                for g, g_cells in enumerate(grid_parts, start=1):
                    places.append(
                        Place(
                            f"{ccode}-G{g:02d}",
                            "grid",
                            f"{en} Grid {g}",
                            f"{zh}第{g}网格",
                            ccode,
                            g_cells,
                            [f"{zh}{g}号网格"],
                            rural,
                        )
                    )
    return lat, places
