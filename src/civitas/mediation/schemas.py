"""The shapes of /api/mediation/disputes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    error: dict[str, Any]


class PartyIn(Schema):
    side: str
    name: str
    kind: str = "person"
    phone: str = ""
    address: str = ""
    credit_code: str = ""
    representative: str = ""
    area: str = ""  # jurisdiction code of where the party lives or is based


class DisputeIn(Schema):
    title: str = ""
    summary: str = ""
    type: str
    parties: list[PartyIn]
    amount: Decimal | None = None
    people_involved: int = 2
    risk_level: str = "low"
    area: str = ""  # jurisdiction code of the place
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    source: str = "walk_in"
    appeal: str = ""  # an appeal's ticket: the dispute is referred from it


class PartyOut(Schema):
    side: str
    kind: str
    label: str
    name: str
    phone: str
    address: str
    credit_code: str
    representative: str
    area: str
    masked: bool


class DisputeOut(Schema):
    code: str
    city: str
    title: str
    type: str
    source: str
    status: str
    tier: str
    channel: str
    unit: str
    area: str
    amount: Decimal | None
    people_involved: int
    risk_level: str
    cross_district: bool
    districts: list[str]
    lead_mediator: str | None
    received_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None
    agreed_at: datetime | None
    closed_at: datetime | None
    outcome: str
    escalation_count: int
    appeal: str | None
    risk: str | None
    version: int


class StageOut(Schema):
    tier: str
    channel: str
    unit: str
    reasons: list[str]
    started_at: datetime
    due_at: datetime
    ended_at: datetime | None
    result: str


class SessionOut(Schema):
    number: int
    scheduled_at: datetime
    place: str
    mediators: list[str]
    held: bool
    result: str
    attendees: str
    minutes: str


class AgreementOut(Schema):
    number: str
    signed_on: date
    perform_by: date | None
    amount: Decimal | None
    facts: str
    terms: str


class FollowUpOut(Schema):
    id: int
    due_on: date
    done_at: datetime | None
    method: str
    kept: bool | None
    note: str


class EventOut(Schema):
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    from_tier: str
    to_tier: str
    note: str


class DisputeDetailOut(DisputeOut):
    summary: str
    address: str
    outcome_note: str
    parties: list[PartyOut]
    stages: list[StageOut]
    sessions: list[SessionOut]
    agreements: list[AgreementOut]
    follow_ups: list[FollowUpOut]
    events: list[EventOut]
    moves: list[str]


class ActionIn(Schema):
    """The fields of every action; each action reads the ones it needs."""

    version: int | None = None
    note: str = ""
    reason: str = ""
    # session: schedule (scheduled_at, place, mediators) or record (number, result, minutes)
    number: int | None = None
    scheduled_at: datetime | None = None
    place: str = ""
    mediators: list[str] = []
    result: str = ""
    minutes: str = ""
    attendees: str = ""
    held: bool = True
    # agreement
    facts: str = ""
    terms: str = ""
    amount: Decimal | None = None
    signed_on: date | None = None
    perform_by: date | None = None
    # follow-up
    follow_up: int | None = None
    kept: bool | None = None
    method: str = ""
    then: str = "mediate"
    # escalate / risk / refer / close / lead
    to_tier: str = ""
    level: str = ""
    channel: str = ""
    outcome: str = ""
    mediator: str = ""
