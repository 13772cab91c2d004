"""Places in text without the database: a gazetteer from a streets list and a code map.

``read_places`` turns an AreaCity-style list (``id, pid, deep, name, ..., ext_name``: the city
at deep 1, districts/counties at 2, streets/towns at 3, as in Changsha's
``boundaries/streets.csv``) and an anonymised-code map (``anon_code, adcode``, as in
``district_code_map.csv``) into :class:`~civitas.geo.gazetteer.Place` entries: districts get
their anonymised code as an alias ("A3" for 岳麓区) and the city gets "<letter>市" ("A市")
when all the codes share one letter. The Changsha city pack gives the same aliases to the
imported jurisdictions, so files and the running product find places alike.
"""

from __future__ import annotations

from pathlib import Path

from civitas.geo.gazetteer import Gazetteer, Mention, Place
from civitas.understanding.evaluation import InputError, read_rows

STREET_COLUMNS = ("id", "pid", "deep", "ext_name")
CODE_COLUMNS = ("anon_code", "adcode")


def read_codes(path: str | Path) -> dict[str, str]:
    """adcode -> anonymised code ("430104" -> "A3")."""
    out: dict[str, str] = {}
    for line, row in enumerate(read_rows(path, CODE_COLUMNS), start=2):
        anon, adcode = row["anon_code"].strip(), row["adcode"].strip()
        if not anon or not adcode:
            raise InputError(f"{path}, line {line}: anon_code and adcode must both be filled in")
        if adcode in out and out[adcode] != anon:
            raise InputError(
                f"{path}, line {line}: adcode {adcode} has two codes, {out[adcode]} and {anon}"
            )
        out[adcode] = anon
    return out


def read_places(streets: str | Path, codes: str | Path) -> list[Place]:
    """City, districts and streets from the two files, with the anonymised codes as aliases."""
    anon = read_codes(codes)
    rows: list[tuple[int, dict[str, str]]] = []
    for line, row in enumerate(read_rows(streets, STREET_COLUMNS), start=2):
        for column in STREET_COLUMNS:
            if not (row[column] or "").strip():
                raise InputError(f"{streets}, line {line}: column {column} is empty")
        if row["deep"].strip() not in ("1", "2", "3"):
            raise InputError(
                f"{streets}, line {line}: deep must be 1 (city), 2 (district) or 3 (street), "
                f"not {row['deep']!r}"
            )
        rows.append((line, {k: (v or "").strip() for k, v in row.items() if k}))
    by_id = {r["id"]: r for _, r in rows}
    cities = [r for _, r in rows if r["deep"] == "1"]
    if len(cities) != 1:
        raise InputError(f"{streets}: expected one city row (deep=1), found {len(cities)}")
    letters = {c.rstrip("0123456789") for c in anon.values()}
    city_alias = (next(iter(letters)) + "市",) if len(letters) == 1 else ()

    paths: dict[str, str] = {}

    def path_of(row: dict[str, str], line: int) -> str:
        if row["id"] in paths:
            return paths[row["id"]]
        if row["deep"] == "1":
            path = f"/{row['id']}/"
        else:
            parent = by_id.get(row["pid"])
            if parent is None or int(parent["deep"]) != int(row["deep"]) - 1:
                raise InputError(
                    f"{streets}, line {line}: parent {row['pid']!r} of {row['ext_name']} is not "
                    f"a row one level up"
                )
            path = path_of(parent, line) + f"{row['id']}/"
        paths[row["id"]] = path
        return path

    places: list[Place] = []
    districts: set[str] = set()
    for line, r in rows:
        deep = int(r["deep"])
        aliases: tuple[str, ...] = ()
        if deep == 1:
            aliases = city_alias
        elif deep == 2:
            districts.add(r["id"])
            aliases = (anon[r["id"]],) if r["id"] in anon else ()
        places.append(
            Place(
                code=r["id"],
                name_zh=r["ext_name"],
                aliases=aliases,
                level={1: "city", 2: "district", 3: "street"}[deep],
                rank=deep - 1,
                path=path_of(r, line),
            )
        )
    unknown = sorted(set(anon) - districts)
    if unknown:
        raise InputError(
            f"{codes}: adcode(s) {', '.join(unknown)} are not districts (deep=2) in {streets}"
        )
    return places


def district_of(mention: Mention | None, gazetteer: Gazetteer, rank: int = 1) -> Place | None:
    """The place at ``rank`` on the mention's chain (its district), or None above that rank."""
    if mention is None:
        return None
    chain = mention.path.strip("/").split("/")
    if len(chain) <= rank:
        return None
    return gazetteer.places.get(chain[rank])
