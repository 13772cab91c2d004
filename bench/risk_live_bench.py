"""The live detectors' input and their own detectors on a city with many appeals.

    .venv/bin/python bench/risk_live_bench.py [--appeals 100000]

In a temporary SQLite database: the small test city, ``--appeals`` appeals over the last year
added in bulk (each with a contact phone; a tenth from grid workers, a few repeat callers),
then times ``civitas.risk.detectors.city_events`` (the database read of the needed columns and
the NumPy columns built from it), the group detector and the repeat detector on today, and
the spread finder. Prints the timings and one JSON line.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import timedelta

from _common import ROOT, emit, fresh_django, temp_dir, timed

sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=100_000)
    args = parser.parse_args()
    if not 0 < args.appeals <= 1_000_000:
        sys.exit("keep it bounded: --appeals in (0, 1,000,000]")
    with temp_dir() as tmp:
        fresh_django(tmp)
        from civitas.appeals.models import Appeal, Contact
        from civitas.kit import clock
        from civitas.risk import detectors, live
        from tests.factories import small_city, water_matter

        city = small_city()
        matters = [city["leaf"], water_matter(city)]
        now = clock.now()
        rng = random.Random(1)
        batch: list[Appeal] = []
        phones: list[str] = []

        def flush() -> None:
            made = Appeal.objects.bulk_create(batch)
            Contact.objects.bulk_create(
                [Contact(appeal=a, phone=p) for a, p in zip(made, phones, strict=True)]
            )
            batch.clear()
            phones.clear()

        for i in range(args.appeals):
            lat, lon = rng.uniform(0.01, 1.99), rng.uniform(0.01, 3.99)
            district = "T-D1" if lon < 2 else "T-D2"
            batch.append(
                Appeal(
                    ticket=f"B-{i:07d}",
                    token_hash=f"{i:064d}",
                    city="T",
                    channel="grid" if i % 10 == 0 else "web",
                    text="The lift is broken again",
                    matter=matters[i % 2],
                    lat=lat,
                    lon=lon,
                    jurisdiction_path=f"/T/{district}/",
                    received_at=now - timedelta(days=rng.uniform(0, 364)),
                )
            )
            phones.append(f"139{rng.randrange(3000) if i % 50 == 0 else rng.randrange(10**8):08d}")
            if len(batch) == 5000:
                flush()
        if batch:
            flush()
        events, t_events = timed(lambda: detectors.city_events("T"))
        today = events.day_of(now.astimezone(detectors.zone()).date())
        _, t_group = timed(lambda: live.GroupDetector().run(events, today))
        every = detectors.city_events("T", with_unclassified=True)
        _, t_repeat = timed(lambda: live.RepeatDetector().run(every, today))
        _, t_spread = timed(
            lambda: live.find_spread("T", now.astimezone(detectors.zone()).date(), events)
        )
        print(f"{len(events):,} appeals in the stream")
        print(f"city_events (read + columns): {t_events:.2f} s")
        print(f"group detector, one day: {t_group:.3f} s")
        print(f"repeat detector, one day: {t_repeat:.3f} s")
        print(f"spread finder: {t_spread:.3f} s")
        emit(
            "risk_live",
            {
                "appeals": len(events),
                "city_events_s": round(t_events, 3),
                "group_s": round(t_group, 4),
                "repeat_s": round(t_repeat, 4),
                "spread_s": round(t_spread, 4),
            },
        )


if __name__ == "__main__":
    main()
