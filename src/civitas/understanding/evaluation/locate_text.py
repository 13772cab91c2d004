"""``civitas eval locate-text``: the district of each message, found from its text.

The gazetteer is built from ``--streets`` (city, districts, streets/towns) and ``--codes`` (the
anonymised district codes, aliases of their districts), then reads each message's title and
detail. The answer is the district on the chain of ``best()``; an answer at the city level
(nothing more specific, or two districts named with comparable weight) is no answer.

Scored against ``district_guess`` where it is present (``n``). That column is itself plain
string matching of the codes, not ground truth; several districts in it (``岳麓区;雨花区``)
count an answer naming any of them as agreeing. Besides the three required keys, the result
reports how many rows without a ``district_guess`` get an answer (``answered_without_guess``),
agreement on rows whose guess names one district only, and agreement per confidence band.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

from civitas.geo.gazetteer import Gazetteer
from civitas.understanding.evaluation import InputError, read_rows
from civitas.understanding.places import district_of, read_places

COLUMNS = ("title", "detail", "district_guess")
BANDS = (0.9, 0.7, 0.5)


def predict(g: Gazetteer, title: str, detail: str) -> tuple[str, float] | None:
    """(district name, confidence) for one message, or None."""
    best = g.best(f"{title} {detail}")
    district = district_of(best, g)
    if best is None or district is None:
        return None
    return district.name_zh, best.confidence


def run(test: str | Path, streets: str | Path, codes: str | Path) -> dict[str, Any]:
    g = Gazetteer(read_places(streets, codes))
    names = {p.name_zh for p in g.places.values() if p.rank == 1}
    rows = answered = correct = extra = n_single = correct_single = total = 0
    bands: Counter[str] = Counter()
    bands_ok: Counter[str] = Counter()
    for line, row in enumerate(read_rows(test, COLUMNS), start=2):
        rows += 1
        guess = {g_.strip() for g_ in (row["district_guess"] or "").split(";") if g_.strip()}
        unknown = guess - names
        if unknown:
            raise InputError(
                f"{test}, line {line}: district_guess names {', '.join(sorted(unknown))}, "
                f"which is not a district in {streets}"
            )
        found = predict(g, row["title"] or "", row["detail"] or "")
        if not guess:
            extra += found is not None
            continue
        total += 1
        if found is None:
            continue
        answered += 1
        ok = found[0] in guess
        correct += ok
        if len(guess) == 1:
            n_single += 1
            correct_single += ok
        band = next(f"{b:.1f}+" for b in (*BANDS, 0.0) if found[1] >= b)
        bands[band] += 1
        bands_ok[band] += ok
    if rows == 0:
        raise InputError(f"{test}: no rows")
    print(f"locate-text: {rows} rows, {total} with a district_guess", file=sys.stderr)
    return {
        "n": total,
        "answered": answered,
        "accuracy_when_answered": round(correct / answered, 4) if answered else 0.0,
        "rows": rows,
        "answered_without_guess": extra,
        "rows_without_guess": rows - total,
        "accuracy_single_guess": round(correct_single / n_single, 4) if n_single else 0.0,
        "by_confidence": {
            band: {"answered": bands[band], "accuracy": round(bands_ok[band] / bands[band], 4)}
            for band in sorted(bands, reverse=True)
        },
    }
