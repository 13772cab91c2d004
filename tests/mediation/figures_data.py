"""Disputes built by hand for the figures, PDF and profile tests (straight through the ORM,
so the numbers expected are known exactly)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from civitas.mediation.models import (
    Agreement,
    Channel,
    Dispute,
    DisputeType,
    Outcome,
    Party,
    Source,
    Stage,
    Status,
    Tier,
)

TZ = ZoneInfo(settings.TIME_ZONE)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)

_n = [0]


def at(day: date | str, hour: int = 10) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, hour, 0, tzinfo=TZ)


def dispute(
    med: dict[str, Any],
    place: str,
    *,
    received: datetime,
    unit: str | None = None,
    type: str = DisputeType.NEIGHBOUR,
    tier: str = Tier.STREET,
    channel: str = Channel.PEOPLES,
    status: str = Status.MEDIATING,
    outcome: str = "",
    closed: datetime | None = None,
    agreed: datetime | None = None,
    due: datetime | None = None,
    stages: list[tuple[str, str]] | None = None,
    title: str = "Water leaking from the flat above",
    **extra: Any,
) -> Dispute:
    """A dispute in ``place`` (a jurisdiction key of the fixture) handled by ``unit`` (a unit
    key; by default the street's committee). ``stages``: (level, result) of the stages before
    the last, which is at ``tier`` and ends with the dispute when it is closed."""
    _n[0] += 1
    j = med[place]
    street = "-".join(place.split("-")[:3]) if place.count("-") >= 2 else None
    u = med[unit] if unit else med[f"{street}-med"] if street else med["T-med"]
    d = Dispute.objects.create(
        code=f"MD-{_n[0]:05d}",
        city="T",
        title=title,
        summary="The flat above leaks into the kitchen.",
        type=type,
        source=Source.WALK_IN,
        jurisdiction=j,
        jurisdiction_path=j.path,
        tier=tier,
        channel=channel,
        unit=u,
        status=status,
        outcome=outcome,
        received_at=received,
        closed_at=closed,
        agreed_at=agreed,
        due_at=due if due is not None else received + timedelta(days=30),
        registered_by="test",
        **extra,
    )
    start = received
    for level, result in stages or []:
        end = start + timedelta(days=5)
        Stage.objects.create(
            dispute=d,
            tier=level,
            channel=channel,
            unit=u,
            started_at=start,
            due_at=start + timedelta(days=15),
            ended_at=end,
            result=result,
        )
        start = end
    Stage.objects.create(
        dispute=d,
        tier=tier,
        channel=channel,
        unit=u,
        started_at=start,
        due_at=start + timedelta(days=15),
        ended_at=closed,
        result=Stage.Result.CLOSED if closed else Stage.Result.OPEN,
    )
    return d


def resolved(
    med: dict[str, Any], place: str, received: datetime, days: float, **kw: Any
) -> Dispute:
    """A dispute agreed ``days`` after receipt and closed (resolved) a week later."""
    agreed = received + timedelta(days=days)
    return dispute(
        med,
        place,
        received=received,
        status=Status.CLOSED,
        outcome=Outcome.RESOLVED,
        agreed=agreed,
        closed=agreed + timedelta(days=7),
        **kw,
    )


def with_agreement(med: dict[str, Any], d: Dispute) -> Agreement:
    Party.objects.create(
        dispute=d,
        side=Party.Side.APPLICANT,
        kind=Party.Kind.PERSON,
        name="王小明",
        phone="13900000001",
    )
    Party.objects.create(
        dispute=d,
        side=Party.Side.RESPONDENT,
        kind=Party.Kind.ORGANISATION,
        name="Greenview Property Services Ltd",
        credit_code="91310000MA1FL0XX1X",
        representative="Zhao Lin",
    )
    stage = d.stages.order_by("-started_at").first()
    assert stage is not None
    return Agreement.objects.create(
        dispute=d,
        stage=stage,
        number=f"AG-{d.code}",
        facts="Water from flat 502 leaked into flat 402 for three weeks.",
        terms=(
            "The owner of 502 repairs the pipe by 1 December.\nHe pays 1,200 yuan for the ceiling."
        ),
        amount=Decimal("1200.00"),
        perform_by=date(2026, 12, 1),
        signed_on=date(2026, 11, 18),
        made_by="med-s11",
    )
