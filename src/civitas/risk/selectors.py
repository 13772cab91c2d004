"""Reading alerts and the risk register, always through the one door (``access.readable``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.errors import InvalidInput
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org.models import User
from civitas.risk.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Level,
    RiskEvent,
    RiskItem,
    RiskStatus,
)
from civitas.risk.services import REVIEW_EVERY

_USER_LABEL = re.compile(r"^user:(\d+):")

# The queue shows what needs a person first: new, then acknowledged, snoozed, the rest.
_STATUS_ORDER = Case(
    When(status=AlertStatus.NEW, then=Value(0)),
    When(status=AlertStatus.ACKNOWLEDGED, then=Value(1)),
    When(status=AlertStatus.SNOOZED, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
_LEVEL_ORDER = Case(
    When(level=Level.RED, then=Value(0)),
    When(level=Level.ORANGE, then=Value(1)),
    When(level=Level.YELLOW, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def _choice(value: str, allowed: list[str], field_name: str) -> list[str]:
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(allowed))
    if unknown:
        raise InvalidInput(
            _("unknown %(field)s %(values)s; choose from %(allowed)s")
            % {"field": field_name, "values": ", ".join(unknown), "allowed": ", ".join(allowed)},
            details={"field": field_name},
        )
    return wanted


def _place(code: str) -> Jurisdiction:
    j = Jurisdiction.objects.filter(code=code).first()
    if j is None:
        raise InvalidInput(
            _("no area with the code %(code)s; choose one from the list") % {"code": repr(code)},
            details={"field": "area"},
        )
    return j


def _matter(code: str) -> Matter:
    m = Matter.objects.filter(code=code).first()
    if m is None:
        raise InvalidInput(
            _("no matter with the code %(code)s; use a code from the matter catalogue")
            % {"code": repr(code)},
            details={"field": "matter"},
        )
    return m


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


@dataclass
class AlertFilters:
    kind: str = ""
    status: str = ""
    matter: str = ""
    area: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, data: Any) -> AlertFilters:
        def day(name: str) -> date | None:
            raw = (data.get(name) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput(
                    _("%(field)s: %(value)s is not a date; write it as YYYY-MM-DD")
                    % {"field": name, "value": repr(raw)},
                    details={"field": name},
                ) from None

        return cls(
            kind=(data.get("kind") or "").strip(),
            status=(data.get("status") or "").strip(),
            matter=(data.get("matter") or "").strip(),
            area=(data.get("area") or "").strip(),
            since=day("since"),
            until=day("until"),
        )


def alerts(actor: Any, filters: AlertFilters | None = None) -> QuerySet[Alert]:
    """The alert queue: new first, then the most recently detected."""
    f = filters or AlertFilters()
    qs = access.readable(actor, Alert.objects.all()).select_related("matter", "jurisdiction")
    if f.kind:
        qs = qs.filter(kind__in=_choice(f.kind, AlertKind.values, "kind"))
    if f.status:
        qs = qs.filter(status__in=_choice(f.status, AlertStatus.values, "status"))
    if f.matter:
        qs = qs.filter(matter__path__startswith=_matter(f.matter).path)
    if f.area:
        qs = qs.filter(jurisdiction_path__startswith=_place(f.area).path)
    if f.since:
        qs = qs.filter(detected_on__gte=f.since)
    if f.until:
        qs = qs.filter(detected_on__lte=f.until)
    return qs.annotate(queue=_STATUS_ORDER).order_by("queue", "-detected_at", "-pk")


def alert(actor: Any, pk: int) -> Alert | None:
    return (
        access.readable(actor, Alert.objects.filter(pk=pk))
        .select_related("matter", "jurisdiction", "risk")
        .first()
    )


@dataclass(frozen=True)
class AppealPoint:
    """An appeal behind an alert, as analysts see it: no resident's name, phone or address."""

    ticket: str
    matter: str
    place: str
    received_at: datetime
    status: str
    lat: float | None
    lon: float | None
    readable: bool


# Where the reader may not open the case, its point is rounded to about 100 m: enough to see
# a cluster on the map, not enough to find a resident's door (an appeal's point is often home).
COARSE_DIGITS = 3


def _coarse(value: float | None, exact: bool) -> float | None:
    return value if exact or value is None else round(value, COARSE_DIGITS)


def alert_appeals(actor: Any, a: Alert) -> list[AppealPoint]:
    """The appeals behind an alert. Tickets link to the case, and points are exact, only for
    those who may open it."""
    appeals = (
        Appeal.objects.filter(pk__in=a.links.values("appeal_id"))
        .select_related("matter", "jurisdiction")
        .order_by("received_at", "pk")
    )
    visible = set(
        access.readable(actor, Appeal.objects.filter(pk__in=[p.pk for p in appeals])).values_list(
            "pk", flat=True
        )
    )
    return [
        AppealPoint(
            ticket=p.ticket,
            matter=p.matter.name if p.matter else "",
            place=p.jurisdiction.name if p.jurisdiction else "",
            received_at=p.received_at,
            status=p.get_status_display(),
            lat=_coarse(p.lat, p.pk in visible),
            lon=_coarse(p.lon, p.pk in visible),
            readable=p.pk in visible,
        )
        for p in appeals
    ]


@dataclass
class RiskFilters:
    level: str = ""
    status: str = "open"
    owner: str = ""
    overdue: bool = False
    review_overdue: bool = False

    @classmethod
    def parse(cls, data: Any) -> RiskFilters:
        def yes(name: str) -> bool:
            return (data.get(name) or "").strip().lower() in {"1", "true", "yes", "on"}

        status = data.get("status")
        return cls(
            level=(data.get("level") or "").strip(),
            status="open" if status is None else status.strip(),
            owner=(data.get("owner") or "").strip(),
            overdue=yes("overdue"),
            review_overdue=yes("review_overdue"),
        )


def review_overdue_q(now: datetime) -> Q:
    q = Q(pk__in=[])
    for level, every in REVIEW_EVERY.items():
        q |= Q(level=level, last_review_at__lt=now - every) | Q(
            level=level, last_review_at__isnull=True, created_at__lt=now - every
        )
    return q & Q(status=RiskStatus.OPEN)


def risks(actor: Any, filters: RiskFilters | None = None) -> QuerySet[RiskItem]:
    """The register: open before closed, the most serious first, then the nearest deadline."""
    f = filters or RiskFilters()
    now = clock.now()
    qs = access.readable(actor, RiskItem.objects.all()).select_related(
        "owner_unit", "jurisdiction", "matter"
    )
    if f.level:
        qs = qs.filter(level__in=_choice(f.level, Level.values, "level"))
    if f.status:
        qs = qs.filter(status__in=_choice(f.status, RiskStatus.values, "status"))
    if f.owner:
        qs = qs.filter(owner_unit__code=f.owner)
    if f.overdue:
        qs = qs.filter(status=RiskStatus.OPEN, deadline__lt=now)
    if f.review_overdue:
        qs = qs.filter(review_overdue_q(now))
    return qs.annotate(rank=_LEVEL_ORDER).order_by("status", "rank", "deadline", "pk")


def risk(actor: Any, code: str) -> RiskItem | None:
    return (
        access.readable(actor, RiskItem.objects.filter(code=code))
        .select_related("owner_unit", "jurisdiction", "matter")
        .first()
    )


@dataclass
class RiskDetail:
    risk: RiskItem
    events: list[RiskEvent]
    alerts: list[Alert]
    appeals: list[AppealPoint] = field(default_factory=list)
    districts: list[Jurisdiction] = field(default_factory=list)


def risk_detail(actor: Any, r: RiskItem) -> RiskDetail:
    events = list(r.events.order_by("at", "pk"))
    linked = list(
        access.readable(actor, Alert.objects.filter(risk=r)).select_related(
            "matter", "jurisdiction"
        )
    )
    seen: dict[str, AppealPoint] = {}
    for a in linked:
        for p in alert_appeals(actor, a):
            seen.setdefault(p.ticket, p)
    districts = list(Jurisdiction.objects.filter(code__in=r.districts))
    districts.sort(key=lambda j: r.districts.index(j.code))
    return RiskDetail(
        risk=r,
        events=events,
        alerts=linked,
        appeals=sorted(seen.values(), key=lambda p: p.received_at),
        districts=districts,
    )


def people(labels: Iterable[str]) -> dict[str, str]:
    """Audit labels of people (``user:<id>:<username>``) to the names staff know each other
    by; any other label (a key, the system) stays as it is."""
    wanted = set(labels)
    ids = {int(m.group(1)) for m in map(_USER_LABEL.match, wanted) if m}
    names = {u.audit_label(): str(u) for u in User.objects.filter(pk__in=ids)}
    return {label: names.get(label, label) for label in wanted}


def open_alert_count(actor: Any) -> int:
    return access.readable(actor, Alert.objects.filter(status=AlertStatus.NEW)).count()


def districts_of_city(city: str) -> QuerySet[Jurisdiction]:
    return Jurisdiction.objects.filter(parent__code=city, parent__parent__isnull=True).order_by(
        "code"
    )


def since_days(days: int) -> date:
    return (clock.now() - timedelta(days=days)).date()
