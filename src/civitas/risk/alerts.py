"""Storing what the detectors find as alerts, once.

``record(city, found, events)`` turns a ``scan.events.Found`` into an :class:`Alert` with the
appeals behind it, its place (the street or district containing its centre, or its area) and
the numbers that made it fire. A finding is deduplicated by a key: kind, category, and the
1 km grid cell of its centre (or its area, or the detector's own ``numbers["dedup"]``); an open
alert of the same kind and category with its centre within a cell's width is the same thing
found again. Then the alert is updated (times seen, its end, observed, new appeals linked)
instead of a new one raised:

- a NEW or ACKNOWLEDGED alert is updated; an acknowledged one found again after a quiet gap
  (``CIVITAS_RISK_REAWAKEN_DAYS``) becomes NEW again, so someone looks at it again;
- a SNOOZED alert is updated quietly until ``snoozed_until`` passes, then becomes NEW;
- a DISMISSED key raises nothing for ``CIVITAS_RISK_DISMISS_QUIET_DAYS`` after the dismissal;
- a PROMOTED alert whose risk is open takes the new appeals, and the risk's timeline says so.

Two workers recording one finding make one alert: open alerts (new, acknowledged, snoozed)
are unique per city and key (a partial unique constraint); the loser of the race retries and
updates the winner's alert. Each new alert, and each return to NEW, is in the audit chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from civitas.appeals.models import Appeal
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict
from civitas.matters.models import Matter
from civitas.risk.detectors import district_of, found_rows_to_ids, zone
from civitas.risk.models import Alert, AlertAppeal, AlertKind, AlertStatus, RiskEvent, RiskStatus
from civitas.risk.scan.events import Events, Found

ACTOR = "system:risk"
CELL_M = 1000.0
OPEN = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED)
HISTORY = 30  # detections kept in numbers["seen"]


def quiet_days() -> int:
    return int(getattr(settings, "CIVITAS_RISK_DISMISS_QUIET_DAYS", 14))


def reawaken_days() -> int:
    return int(getattr(settings, "CIVITAS_RISK_REAWAKEN_DAYS", 7))


@dataclass
class Spec:
    """A finding made ready to store (computed before any lock is taken)."""

    city: str
    kind: str
    category: str
    key: str
    near: list[str]  # keys of the neighbouring cells (for spatial findings)
    lat: float | None
    lon: float | None
    radius_m: float | None
    start: date
    end: date
    detected_on: date
    observed: int
    expected: float
    p_value: float | None
    score: float
    numbers: dict[str, Any]
    jurisdiction: Jurisdiction | None
    matter: Matter | None
    appeal_ids: list[int]


def _key(kind: str, category: str, tail: str) -> str:
    return f"{kind}|{category[:120]}|{tail}"[:200]


def _place(city: str, lat: float | None, lon: float | None, area: str | None) -> Jurisdiction:
    """The street (or the deepest level above it) containing the point; else the area; else
    the city."""
    if lat is not None and lon is not None:
        hit = locate(lat, lon)
        if hit is not None and hit.jurisdiction.path.startswith(f"/{city}/"):
            parts = [p for p in hit.jurisdiction.path.split("/") if p]
            code = parts[min(2, len(parts) - 1)]
            found = Jurisdiction.objects.filter(code=code).first()
            if found is not None:
                return found
    if area:
        found = Jurisdiction.objects.filter(code=area, path__startswith=f"/{city}/").first()
        if found is not None:
            return found
    return Jurisdiction.objects.get(code=city, parent__isnull=True)


def prepare(city: str, found: Found, events: Events) -> Spec:
    numbers = dict(found.numbers or {})
    dedup = numbers.pop("dedup", None)
    lat = lon = None
    near: list[str] = []
    if found.x is not None and found.y is not None and math.isfinite(found.x):
        lat, lon = events.projection.to_latlon(float(found.x), float(found.y))
        ix, iy = math.floor(found.x / CELL_M), math.floor(found.y / CELL_M)
        tail = f"c{ix}:{iy}"
        near = [
            _key(found.kind, found.category, f"c{ix + dx}:{iy + dy}")
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            if dx or dy
        ]
    elif found.area:
        tail = f"a{found.area}"
    else:
        tail = "-"
    if dedup:
        tail, near = str(dedup), []
    jurisdiction = _place(city, lat, lon, found.area)
    matter = (
        Matter.objects.filter(catalogue=city, code=found.category).first()
        if found.category
        else None
    )
    return Spec(
        city=city,
        kind=found.kind,
        category=found.category,
        key=_key(found.kind, found.category, tail),
        near=near,
        lat=None if lat is None else round(lat, 6),
        lon=None if lon is None else round(lon, 6),
        radius_m=None if found.radius_m is None else float(found.radius_m),
        start=events.date_of(found.start),
        end=events.date_of(found.end),
        detected_on=events.date_of(found.detected_on),
        observed=int(found.observed),
        expected=float(found.expected),
        p_value=None if found.p_value is None else float(found.p_value),
        score=float(found.score),
        numbers=_plain(numbers),
        jurisdiction=jurisdiction,
        matter=matter,
        appeal_ids=found_rows_to_ids(found, events),
    )


def _plain(value: Any) -> Any:
    """JSON-safe copies of NumPy scalars and arrays."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record(city: str, found: Found, events: Events) -> Alert | None:
    """Store a finding as a new alert or as news of the open alert it repeats. Returns the
    alert, or None when a recent dismissal of the same key keeps it quiet."""
    return store(prepare(city, found, events))


def store(spec: Spec) -> Alert | None:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _store(spec)
        except IntegrityError:
            continue  # a concurrent worker opened the alert first: update theirs
    raise Conflict(f"could not record the {spec.kind} alert {spec.key}; try again")


def _seen(spec: Spec) -> dict[str, Any]:
    return {
        "on": spec.detected_on.isoformat(),
        "observed": spec.observed,
        "expected": round(spec.expected, 3),
        "p": spec.p_value,
    }


def _store(spec: Spec) -> Alert | None:
    now = clock.now()
    open_alerts = Alert.objects.select_for_update().filter(city=spec.city, status__in=OPEN)
    alert = open_alerts.filter(key=spec.key).first()
    if alert is None and spec.near:
        alert = _nearest(open_alerts.filter(key__in=spec.near), spec)
    if alert is not None:
        return _update(alert, spec, now)
    promoted = (
        Alert.objects.select_for_update()
        .filter(
            city=spec.city,
            key__in=[spec.key, *spec.near],
            status=AlertStatus.PROMOTED,
            risk__status=RiskStatus.OPEN,
        )
        .order_by("-updated_at")
    )
    alert = promoted.filter(key=spec.key).first() or _nearest(promoted, spec)
    if alert is not None:
        return _update(alert, spec, now)
    quiet_since = now - timedelta(days=quiet_days())
    if Alert.objects.filter(
        city=spec.city,
        key__in=[spec.key, *spec.near],
        status=AlertStatus.DISMISSED,
        updated_at__gte=quiet_since,
    ).exists():
        return None
    numbers = {**spec.numbers, "seen": [_seen(spec)]}
    alert = Alert.objects.create(
        city=spec.city,
        kind=spec.kind,
        matter=spec.matter,
        category=spec.category,
        jurisdiction=spec.jurisdiction,
        jurisdiction_path=spec.jurisdiction.path if spec.jurisdiction else f"/{spec.city}/",
        lat=spec.lat,
        lon=spec.lon,
        radius_m=spec.radius_m,
        start=spec.start,
        end=spec.end,
        detected_on=spec.detected_on,
        detected_at=now,
        observed=spec.observed,
        expected=spec.expected,
        p_value=spec.p_value,
        score=spec.score,
        numbers=numbers,
        key=spec.key,
        status=AlertStatus.NEW,
        updated_at=now,
    )
    linked = _link(alert, spec.appeal_ids)
    audit.record(
        actor=ACTOR,
        action="risk.alert.raise",
        object_type="risk.alert",
        object_id=alert.pk,
        after={
            "kind": alert.kind,
            "category": alert.category,
            "key": alert.key,
            "area": alert.jurisdiction.code if alert.jurisdiction else None,
            "start": alert.start,
            "end": alert.end,
            "observed": alert.observed,
            "expected": round(alert.expected, 3),
            "p_value": alert.p_value,
            "appeals": len(linked),
        },
        reason="found by the detectors",
    )
    return alert


def _nearest(candidates: Any, spec: Spec) -> Alert | None:
    if spec.lat is None or spec.lon is None:
        return None
    best, best_d = None, math.inf
    for alert in candidates.filter(kind=spec.kind, category=spec.category):
        if alert.lat is None or alert.lon is None:
            continue
        d = _metres(spec.lat, spec.lon, alert.lat, alert.lon)
        if d <= max(CELL_M, spec.radius_m or 0.0, alert.radius_m or 0.0) and d < best_d:
            best, best_d = alert, d
    return best


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = math.pi / 180.0 * 6_371_008.8
    dx = (lon2 - lon1) * k * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * k)


def _link(alert: Alert, appeal_ids: list[int]) -> list[int]:
    """Link the appeals not linked yet; return their ids."""
    if not appeal_ids:
        return []
    have = set(AlertAppeal.objects.filter(alert=alert).values_list("appeal_id", flat=True))
    wanted = sorted(set(appeal_ids) - have)
    existing = set(Appeal.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    new = [i for i in wanted if i in existing]
    AlertAppeal.objects.bulk_create(
        [AlertAppeal(alert=alert, appeal_id=i) for i in new], ignore_conflicts=True
    )
    return new


def _update(alert: Alert, spec: Spec, now: Any) -> Alert:
    before, last_end = alert.status, alert.end
    alert.times_seen += 1
    alert.start = min(alert.start, spec.start)
    alert.end = max(alert.end, spec.end)
    alert.observed = spec.observed
    alert.expected = spec.expected
    alert.p_value = spec.p_value
    alert.score = spec.score
    if spec.lat is not None:
        alert.lat, alert.lon, alert.radius_m = spec.lat, spec.lon, spec.radius_m
    seen = list((alert.numbers or {}).get("seen", []))[-(HISTORY - 1) :]
    alert.numbers = {**spec.numbers, "seen": [*seen, _seen(spec)]}
    reason = ""
    if (
        alert.status == AlertStatus.SNOOZED
        and alert.snoozed_until is not None
        and alert.snoozed_until <= now
    ):
        alert.status, alert.snoozed_until = AlertStatus.NEW, None
        reason = "found again after the snooze ended"
    elif (
        alert.status == AlertStatus.ACKNOWLEDGED and (spec.start - last_end).days > reawaken_days()
    ):
        reason = "found again after a quiet gap"
        alert.status = AlertStatus.NEW
    alert.updated_at = now
    alert.save()
    linked = _link(alert, spec.appeal_ids)
    if reason:
        audit.record(
            actor=ACTOR,
            action="risk.alert.reopen",
            object_type="risk.alert",
            object_id=alert.pk,
            before={"status": before},
            after={"status": alert.status, "times_seen": alert.times_seen},
            reason=reason,
        )
    if alert.status == AlertStatus.PROMOTED and alert.risk_id and linked:
        RiskEvent.objects.create(
            risk_id=alert.risk_id,
            at=now,
            actor=ACTOR,
            action="appeals_linked",
            note="",
            data={
                "alert": alert.pk,
                "kind": alert.kind,
                "appeals": linked,
                "district": district_of(alert.jurisdiction_path),
            },
        )
    return alert


def record_harm(appeal: Appeal, assessment: Any) -> Alert:
    """An imminent-harm alert for one appeal at intake (one per appeal), in the caller's
    transaction, so it commits with the appeal."""
    key = f"harm|appeal|{appeal.pk}"
    existing = Alert.objects.filter(city=appeal.city, key=key).first()
    if existing is not None:
        return existing
    now = clock.now()
    day = (appeal.received_at or now).astimezone(zone()).date()
    alert = Alert.objects.create(
        city=appeal.city,
        kind=AlertKind.HARM,
        matter=appeal.matter,
        category="+".join(assessment.classes),
        jurisdiction=appeal.jurisdiction
        or Jurisdiction.objects.filter(code=appeal.city, parent__isnull=True).first(),
        jurisdiction_path=appeal.jurisdiction_path or f"/{appeal.city}/",
        lat=appeal.lat,
        lon=appeal.lon,
        start=day,
        end=day,
        detected_on=day,
        detected_at=now,
        observed=1,
        expected=0.0,
        p_value=None,
        score=float(assessment.score),
        numbers={
            "classes": list(assessment.classes),
            "terms": [h.term for h in assessment.hits],
            "language": assessment.language,
            "ticket": appeal.ticket,
        },
        key=key,
        status=AlertStatus.NEW,
        updated_at=now,
    )
    AlertAppeal.objects.create(alert=alert, appeal=appeal)
    audit.record(
        actor=ACTOR,
        action="risk.alert.raise",
        object_type="risk.alert",
        object_id=alert.pk,
        after={
            "kind": alert.kind,
            "category": alert.category,
            "appeal": appeal.ticket,
            "terms": alert.numbers["terms"],
        },
        reason="imminent harm flagged at intake",
    )
    return alert
