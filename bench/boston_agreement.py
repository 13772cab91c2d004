"""Does locate() put Boston's 2015 service requests where the city's own records put them?

    .venv/bin/python bench/boston_agreement.py [--data ../shared/data]

Builds and imports the Boston pack into a fresh SQLite database, runs ``locate_csv`` (the code
behind `civitas city locate`) over requests_2015_jan_oct.csv.gz, and compares the located ward
and precinct with the record's own ``ward`` ("Ward 5" or "05") and ``precinct`` ("503.0" =
ward 5, precinct 3) fields. Rows without coordinates and rows at the City Hall placeholder
point (42.3594, -71.0587, meaning "no location") are left out. For the disagreements, it
measures how far the point lies from the ward the record names: coordinates are rounded to 4
decimals (about 11 m north-south, 8 m east-west), so points near a boundary can fall across it.
Targets: placed in a precinct >= 99.5%; ward agreement >= 97%.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import Counter
from typing import Any

import _common as c

PLACEHOLDER = ("42.3594", "-71.0587")
TARGET_PLACED, TARGET_WARD = 0.995, 0.97
M_PER_DEG_LAT = 111_320.0


def record_ward(text: str) -> int | None:
    m = re.fullmatch(r"\s*(?:Ward\s+)?0*(\d+)(?:\.0)?\s*", text or "")
    return int(m.group(1)) if m else None


def record_precinct(text: str) -> str | None:
    """'503.0' -> '0503' (ward 5, precinct 03); '2005.0' -> '2005'."""
    try:
        return str(int(float(text))).zfill(4)
    except ValueError:
        return None


def metres_outside(lat: float, lon: float, geom: Any) -> float:
    """Distance from the point to a polygon, in metres (0 when inside)."""
    from shapely.geometry import Point

    scale = math.cos(math.radians(lat))
    d = geom.distance(Point(lon, lat))  # degrees, mixed; convert with a local scale
    if d == 0:
        return 0.0
    near = geom.exterior if hasattr(geom, "exterior") else geom.boundary
    p = near.interpolate(near.project(Point(lon, lat)))
    return math.hypot((p.y - lat) * M_PER_DEG_LAT, (p.x - lon) * M_PER_DEG_LAT * scale)


BINS = (10, 25, 50, 100, 250)


def distance_bin(metres: float) -> str:
    return next((f"<= {b} m" for b in BINS if metres <= b), f"> {BINS[-1]} m")


def ordered(bins: Counter[str]) -> dict[str, int]:
    labels = [f"<= {b} m" for b in BINS] + [f"> {BINS[-1]} m"]
    return {k: bins[k] for k in [*labels, *sorted(set(bins) - set(labels))] if bins[k]}


def main() -> None:
    data = c.data_dir()
    requests = data / "boston" / "requests_2015_jan_oct.csv.gz"
    c.require(requests)
    with c.temp_dir() as tmp:
        c.fresh_django(tmp)
        setup = c.build_and_import("boston", data, tmp)
        from shapely.geometry import shape

        from civitas.citypacks.locate_csv import locate_csv
        from civitas.geo.models import Jurisdiction

        located_path = tmp / "located.csv.gz"
        stats = locate_csv(requests, located_path, "LATITUDE", "LONGITUDE")
        wards = {
            int(j.code[-2:]): shape(j.boundary)
            for j in Jurisdiction.objects.filter(level__code="ward")
        }
        precincts = {
            j.code.removeprefix("BOS-P"): shape(j.boundary)
            for j in Jurisdiction.objects.filter(level__code="precinct")
        }

        n = Counter[str]()
        formats: Counter[tuple[str, bool]] = Counter()
        distance_bins: Counter[str] = Counter()
        precinct_bins: Counter[str] = Counter()
        unplaced: Counter[str] = Counter()
        with gzip.open(located_path, "rt", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                n["rows"] += 1
                lat_s, lon_s = row["LATITUDE"].strip(), row["LONGITUDE"].strip()
                if not lat_s or not lon_s:
                    n["no_coordinates"] += 1
                    continue
                if (lat_s, lon_s) == PLACEHOLDER:
                    n["city_hall_placeholder"] += 1
                    continue
                n["considered"] += 1
                if not row["precinct_code"]:
                    unplaced[f"{lat_s},{lon_s}"] += 1
                    continue
                n["placed"] += 1
                ward = record_ward(row["ward"])
                if ward is not None:
                    n["with_ward"] += 1
                    got = int(row["ward_code"][-2:])
                    same = got == ward
                    n["ward_agrees"] += same
                    formats[("Ward N" if row["ward"].startswith("Ward") else "NN", same)] += 1
                    if not same and ward in wards:
                        lat, lon = float(lat_s), float(lon_s)
                        distance_bins[distance_bin(metres_outside(lat, lon, wards[ward]))] += 1
                precinct = record_precinct(row["precinct"])
                if precinct is not None:
                    n["with_precinct"] += 1
                    same = row["precinct_code"].removeprefix("BOS-P")[:4] == precinct
                    n["precinct_agrees"] += same
                    if not same and precinct in precincts:
                        lat, lon = float(lat_s), float(lon_s)
                        precinct_bins[
                            distance_bin(metres_outside(lat, lon, precincts[precinct]))
                        ] += 1
                    elif not same:
                        precinct_bins["recorded precinct not in the boundary file"] += 1

    placed = n["placed"] / n["considered"]
    ward_ok = n["ward_agrees"] / n["with_ward"]
    precinct_ok = n["precinct_agrees"] / n["with_precinct"]
    by_format = {
        fmt: round(formats[(fmt, True)] / max(1, formats[(fmt, True)] + formats[(fmt, False)]), 4)
        for fmt in ("Ward N", "NN")
    }
    print(
        f"Boston pack built in {setup['build_s']} s, imported in {setup['import_s']} s; "
        f"located {stats['rows']:,} rows in {stats['seconds']} s"
    )
    print(
        f"rows {n['rows']:,}: no coordinates {n['no_coordinates']:,}, City Hall placeholder "
        f"{n['city_hall_placeholder']:,}, considered {n['considered']:,}"
    )
    print(
        f"placed in a precinct: {n['placed']:,} = {placed:.3%} (target {TARGET_PLACED:.1%}): "
        f"{'met' if placed >= TARGET_PLACED else 'MISSED'}; not placed (point: rows): "
        f"{dict(unplaced.most_common())}"
    )
    print(
        f"ward agrees with the record: {n['ward_agrees']:,} of {n['with_ward']:,} = "
        f"{ward_ok:.3%} (target {TARGET_WARD:.0%}): "
        f"{'met' if ward_ok >= TARGET_WARD else 'MISSED'}; by format {by_format}"
    )
    print(
        f"precinct agrees with the record: {n['precinct_agrees']:,} of "
        f"{n['with_precinct']:,} = {precinct_ok:.3%}"
    )
    print(
        f"ward disagreements, distance from the point to the recorded ward: "
        f"{ordered(distance_bins)}"
    )
    print(f"precinct disagreements, distance to the recorded precinct: {ordered(precinct_bins)}")
    c.emit(
        "boston_agreement",
        {
            "rows": n["rows"],
            "no_coordinates": n["no_coordinates"],
            "city_hall_placeholder": n["city_hall_placeholder"],
            "considered": n["considered"],
            "placed": n["placed"],
            "placed_share": round(placed, 5),
            "with_ward": n["with_ward"],
            "ward_agrees": n["ward_agrees"],
            "ward_agreement": round(ward_ok, 5),
            "ward_agreement_by_format": by_format,
            "with_precinct": n["with_precinct"],
            "precinct_agrees": n["precinct_agrees"],
            "precinct_agreement": round(precinct_ok, 5),
            "ward_disagreement_distance": ordered(distance_bins),
            "precinct_disagreement_distance": ordered(precinct_bins),
            "unplaced": dict(unplaced.most_common()),
            "locate_seconds": stats["seconds"],
            "targets_met": {"placed": placed >= TARGET_PLACED, "ward": ward_ok >= TARGET_WARD},
        },
    )


if __name__ == "__main__":
    main()
