"""The detectors' schedule, and running them on demand.

- ``risk.scan_daily`` (scheduled daily, at local midnight): for every city, yesterday's
  space-time clusters, surges, group appeals and repeat appellants, then the spread of a
  matter's alerts across districts.
- ``risk.scan_recent`` (every 15 minutes): today's bursts and group appeals so far, then the
  spread, so that an emergency reported by many residents is seen the same day.
- ``run_now(city, day, job)``: the same on demand (a command or a page can call it), and
  ``run_city`` the background task for it.

Imminent harm is not scheduled: it is flagged at intake (``civitas.risk.harm``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django_tasks import task

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.risk import detectors, live
from civitas.risk.detectors import Outcome

log = logging.getLogger(__name__)


def cities() -> list[str]:
    from civitas.appeals.models import Appeal

    roots = Jurisdiction.objects.filter(parent__isnull=True).values_list("code", flat=True)
    with_appeals = set(Appeal.objects.values_list("city", flat=True).distinct().order_by())
    return [c for c in roots.order_by("code") if c in with_appeals]


def run_now(city: str, day: date | None = None, job: str = "daily") -> Outcome:
    """Run a job's detectors for one city and day (default: today so far), then the spread."""
    now = clock.now()
    day = day or now.astimezone(detectors.zone()).date()
    outcome = detectors.run(city, day, detectors.load_detectors(job), now=now)
    until = min(detectors.local_day_end(day), now)
    events = detectors.city_events(city, until=until)
    from civitas.risk import alerts

    try:
        found = live.find_spread(city, day, events)
    except Exception as exc:  # logged; the findings above are stored already
        log.exception("spread detection failed for %s on %s", city, day)
        outcome.failed["spread"] = str(exc)[:200]
        return outcome
    outcome.found["spread"] = len(found)
    for f in found:
        alert = alerts.record(city, f, events)
        if alert is not None and alert.pk not in outcome.alerts:
            outcome.alerts.append(alert.pk)
    return outcome


def _each_city(day: date, job: str) -> str:
    lines = []
    for city in cities():
        try:
            lines.append(run_now(city, day, job).summary())
        except Exception as exc:  # logged; the other cities still run
            log.exception("risk %s scan failed for %s", job, city)
            lines.append(f"{city}: failed: {exc}")
    return "; ".join(lines) or "no city with appeals"


def scan_daily() -> str:
    """Yesterday (local), complete."""
    yesterday = clock.now().astimezone(detectors.zone()).date() - timedelta(days=1)
    return _each_city(yesterday, "daily")


def scan_recent() -> str:
    """Today so far."""
    return _each_city(clock.now().astimezone(detectors.zone()).date(), "recent")


@task()
def run_city(city: str, day: str = "", job: str = "daily") -> str:
    """Background task: ``run_now`` for one city (day as YYYY-MM-DD, default today)."""
    return run_now(city, date.fromisoformat(day) if day else None, job).summary()
