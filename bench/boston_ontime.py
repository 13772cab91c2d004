"""Replay Boston's 2015 requests and compare Civitas's on-time decision with the records'.

    .venv/bin/python bench/boston_ontime.py [--data DIR] [--limit N]

Builds and imports the Boston pack into a fresh SQLite database, runs the replay
(``civitas.citypacks.boston311.replay``, as ``civitas import boston311`` does; timed, and
timed again to show that a re-run imports nothing), then decides each case's on-time status
with ``civitas.appeals.deadlines.on_time`` as of the data's extraction day (2016-01-13,
America/New_York) and compares it with the record's OnTime_Status. Prints the figures and
one JSON line.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from _common import build_and_import, data_dir, emit, fresh_django, require, temp_dir, timed


def main() -> None:
    data = data_dir()
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    requests = data / "boston" / "requests_2015_jan_oct.csv.gz"
    require(requests)
    with temp_dir() as tmp:
        fresh_django(tmp)
        from civitas.appeals import deadlines
        from civitas.appeals.models import Appeal
        from civitas.citypacks import boston311

        pack = build_and_import("boston", data, tmp)
        print(f"Boston pack: built in {pack['build_s']} s, imported in {pack['import_s']} s")
        report, replay_s = timed(lambda: boston311.replay(requests, limit=limit))
        print(report.summary())
        print(f"replay: {replay_s:.1f} s = {report.read / replay_s:,.0f} rows/s")
        again, rerun_s = timed(lambda: boston311.replay(requests, limit=limit))
        print(f"re-run: created {again.created}, skipped {again.already} in {rerun_s:.1f} s")

        result, compare_s = timed(lambda: boston311.ontime_agreement(requests))
        as_of = boston311.EXTRACTED
        in_db = Appeal.objects.filter(city=boston311.CITY, submitted_by=boston311.ACTOR)
        counted = in_db.filter(deadlines.on_time_q(as_of)).count()
        ours_ontime = sum(n for (_s, _r, ours), n in result.by_kind.items() if ours == "ONTIME")
        late_day = as_of + timedelta(days=1)
        day_sensitive = in_db.filter(
            status__in=["accepted", "triage"], resolve_due__gte=as_of, resolve_due__lt=late_day
        ).count()

        print()
        print(f"on-time as of {as_of.isoformat()} (America/New_York), {compare_s:.1f} s")
        print(f"{'state':<10} {'recorded':<9} {'civitas':<8} {'cases':>7}")
        for (state, rec, ours), n in sorted(result.by_kind.items()):
            print(f"{state:<10} {rec:<9} {ours:<8} {n:>7}")
        print(
            f"agreement: {result.agree} of {result.cases} = {result.share():.3%} of all cases; "
            f"{result.agree} of {result.with_status} = {result.share(of_recorded=True):.3%} "
            f"of the cases whose record states a status ({result.recorded_blank} blank)"
        )
        print(
            f"on_time_q (the database filter) counts {counted} on time; the per-case function "
            f"{ours_ontime}: {'same' if counted == ours_ontime else 'DIFFERENT'}"
        )
        print(f"open cases whose target falls on the extraction day itself: {day_sensitive}")
        emit(
            "boston_ontime",
            {
                "rows": report.read,
                "created": report.created,
                "quarantined": report.quarantined_rows,
                "replay_s": round(replay_s, 1),
                "replay_rows_per_s": round(report.read / replay_s),
                "rerun_created": again.created,
                "rerun_s": round(rerun_s, 1),
                "cases": result.cases,
                "agree": result.agree,
                "agreement": round(result.share(), 5),
                "recorded_blank": result.recorded_blank,
                "agreement_where_recorded": round(result.share(of_recorded=True), 5),
                "db_filter_matches": counted == ours_ontime,
                "target_on_extraction_day": day_sensitive,
                **pack,
            },
        )


if __name__ == "__main__":
    main()
