"""What the appeals API reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from civitas.appeals import deadlines


class ContactIn(Schema):
    name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    on_behalf_of: str = Field(default="", max_length=200)
    wants_notifications: bool = True


class AppealSubmitIn(Schema):
    city: str
    text: str
    kind: str = "complaint"
    title: str = ""
    matter: str = ""
    urgency: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    contact: ContactIn = Field(default_factory=ContactIn)
    # Staff entering an appeal on someone's behalf: "hotline" or "grid" (others ignore it).
    channel: str = ""


class SubmittedOut(Schema):
    ticket: str
    status: str
    received_at: datetime
    matter: str | None
    jurisdiction: str | None
    lead_unit: str | None
    # The private tracking token: returned once, when the appeal is created; never again.
    token: str | None = None
    track_url: str | None = None


def _code(obj: Any) -> str | None:
    return obj.code if obj is not None else None


class AppealOut(Schema):
    ticket: str
    city: str
    channel: str
    kind: str
    title: str
    status: str
    urgency: str
    matter: str | None
    jurisdiction: str | None
    jurisdiction_path: str
    lead_unit: str | None
    received_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    respond_due: datetime | None
    resolve_due: datetime | None
    escalated_at: datetime | None
    reopen_count: int
    return_count: int
    arbitrated: bool
    light: str
    version: int

    @staticmethod
    def resolve_matter(obj: Any) -> str | None:
        return _code(obj.matter)

    @staticmethod
    def resolve_jurisdiction(obj: Any) -> str | None:
        return _code(obj.jurisdiction)

    @staticmethod
    def resolve_lead_unit(obj: Any) -> str | None:
        return _code(obj.lead_unit)

    @staticmethod
    def resolve_light(obj: Any) -> str:
        return deadlines.light(obj)


class ContactOut(Schema):
    name: str
    phone: str
    email: str
    on_behalf_of: str


class EventOut(Schema):
    at: datetime
    actor: str
    unit: str | None
    action: str
    from_status: str
    to_status: str
    note: str
    public: bool
    data: dict[str, Any]

    @staticmethod
    def resolve_unit(obj: Any) -> str | None:
        return _code(obj.unit)


class AssignmentOut(Schema):
    unit: str
    role: str
    part: str
    state: str
    dispatched_at: datetime
    accepted_at: datetime | None
    done_at: datetime | None
    return_until: datetime | None
    binding: bool

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return str(obj.unit.code)


class SummonsOut(Schema):
    id: int
    unit: str
    by_unit: str
    summoned_at: datetime
    due_at: datetime
    reported_at: datetime | None
    late: bool

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        return str(obj.unit.code)

    @staticmethod
    def resolve_by_unit(obj: Any) -> str:
        return str(obj.by_unit.code)


class RequestOut(Schema):
    id: int
    kind: str
    state: str
    reason: str
    days: int | None
    requested_at: datetime
    decided_at: datetime | None


class CaseOut(AppealOut):
    """A case; the parts that depend on who reads it come from ``appeal.api_view``."""

    text: str
    address: str
    lat: float | None
    lon: float | None
    locate_method: str
    matter_confidence: float | None
    duplicate_of: str | None
    contact: ContactOut | None
    events: list[EventOut]
    assignments: list[AssignmentOut]
    summonses: list[SummonsOut]
    requests: list[RequestOut]
    allowed_actions: list[str]

    @staticmethod
    def resolve_duplicate_of(obj: Any) -> str | None:
        return obj.duplicate_of.ticket if obj.duplicate_of_id else None

    @staticmethod
    def resolve_contact(obj: Any) -> Any:
        return obj.api_view["contact"]

    @staticmethod
    def resolve_events(obj: Any) -> Any:
        return obj.api_view["events"]

    @staticmethod
    def resolve_assignments(obj: Any) -> Any:
        return obj.api_view["assignments"]

    @staticmethod
    def resolve_summonses(obj: Any) -> Any:
        return obj.api_view["summonses"]

    @staticmethod
    def resolve_requests(obj: Any) -> Any:
        return obj.api_view["requests"]

    @staticmethod
    def resolve_allowed_actions(obj: Any) -> Any:
        return obj.api_view["allowed_actions"]


class ActionIn(Schema):
    """Every action's fields; each action reads the ones it needs."""

    version: int | None = None
    unit: str = ""
    units: list[str] = Field(default_factory=list)
    reason: str = ""
    note: str = ""
    part: str = ""
    question: str = ""
    answer: str = ""
    text: str = ""
    result: str = ""
    days: int | None = None
    request: int | None = None
    approve: bool | None = None
    summons: int | None = None
    minutes: int | None = None
    responded: bool | None = None
    solved: bool | None = None
    satisfaction: str = ""
    comment: str = ""
    by_callback: bool = False
    of: str = ""
    jurisdiction: str = ""
    matter: str = ""


class TrackEventOut(Schema):
    at: datetime
    action: str
    status: str
    note: str


class TrackOut(Schema):
    """The resident's view: no internal notes, no staff names, no contact details."""

    ticket: str
    kind: str
    title: str
    text: str
    status: str
    status_label: str
    received_at: datetime
    resolve_due: datetime | None
    lead_unit_name: str | None
    can_rate: bool
    can_answer: bool
    events: list[TrackEventOut]


class RateIn(Schema):
    responded: bool
    solved: bool
    satisfaction: str
    comment: str = Field(default="", max_length=2000)


class InfoIn(Schema):
    answer: str = Field(max_length=4000)


class ErrorOut(Schema):
    error: dict[str, Any]
