"""Surges on Boston's real 311 stream: alerts per month without injection, per area scheme.

    .venv/bin/python bench/surges_eval.py --from 2015-03-01 --to 2015-10-31 --area ward
    .venv/bin/python bench/surges_eval.py --from 2015-03-01 --to 2015-10-31 --area none

Prints each alert and one JSON object on its last line. These are alerts on real data, not
false alarms by construction: some are real surges (storms, campaigns); the designed rate of
false alarms is checked on generated data in tests/risk/test_surges.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import data_dir  # noqa: E402
from bursts_eval import read_boston  # noqa: E402

from civitas.risk.scan.surges import SurgeDetector  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=None)
    ap.add_argument("--from", dest="start", default="2015-03-01")
    ap.add_argument("--to", dest="end", default="2015-10-31")
    ap.add_argument("--area", default="ward", help="ward, neighborhood, ... or none")
    ap.add_argument("--per-month", type=float, default=1.0)
    ap.add_argument("--min-observed", type=int, default=5)
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args()
    path = (
        Path(args.input) if args.input else data_dir([]) / "boston" / "requests_2015_jan_oct.csv.gz"
    )
    events = read_boston(path, None if args.area == "none" else args.area)
    d0 = events.day_of(date.fromisoformat(args.start))
    d1 = events.day_of(date.fromisoformat(args.end))
    det = SurgeDetector(false_alarms_per_month=args.per_month, min_observed=args.min_observed)
    started = time.perf_counter()
    alerts = []
    for d in range(d0, d1 + 1):
        known = events.until(d)
        for f in det.run(known, d):
            line = f.as_json(known) | {"area": f.area, "numbers": f.numbers}
            alerts.append(line)
            if not args.quiet:
                print(json.dumps(line))
    months = (d1 - d0 + 1) / (365.25 / 12)
    print(
        json.dumps(
            {
                "mode": "surges, no injection",
                "from": args.start,
                "to": args.end,
                "area": args.area,
                "designed_false_alarms_per_month": args.per_month,
                "min_observed": args.min_observed,
                "alerts": len(alerts),
                "alerts_per_month": round(len(alerts) / months, 2),
                "alert_days": len({a["detected_on"] for a in alerts}),
                "by_category": Counter(a["category"] for a in alerts).most_common(8),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
