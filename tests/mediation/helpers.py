"""Building disputes for the mediation tests."""

from __future__ import annotations

from typing import Any

from civitas.kit.models import OutboxMessage
from civitas.mediation import services
from civitas.mediation.models import Dispute, Party
from civitas.mediation.services import DisputeIn, PartyIn


def parties(city: dict[str, Any], a: str = "T-D1-S1-C1", b: str = "T-D1-S1-C1") -> list[PartyIn]:
    return [
        PartyIn(
            side=Party.Side.APPLICANT,
            name="Wang Fang",
            phone="13800000001",
            address="Oak Road 1",
            jurisdiction=city[a],
        ),
        PartyIn(
            side=Party.Side.RESPONDENT,
            name="Li Lei",
            phone="13800000002",
            address="Oak Road 3",
            jurisdiction=city[b],
        ),
    ]


def data(city: dict[str, Any], place: str = "T-D1-S1-C1", **kw: Any) -> DisputeIn:
    fields: dict[str, Any] = {
        "title": "Water leaking through the ceiling",
        "summary": "The flat above leaks; the neighbours disagree on who pays.",
        "type": "neighbour",
        "parties": parties(city),
        "jurisdiction": city[place],
        "address": "Oak Road 1, flat 201",
    }
    fields.update(kw)
    return DisputeIn(**fields)


def register(med: dict[str, Any], actor: Any = None, **kw: Any) -> Dispute:
    return services.register(actor=actor or med["mediator_c"], data=data(med, **kw))


def recipients(topic: str = "mediation") -> set[str]:
    return set(OutboxMessage.objects.filter(topic=topic).values_list("recipient", flat=True))
