"""/api/mediation/disputes: list, register, read and move disputes.

Reads need ``disputes.read`` (API keys: ``disputes:read``); registering ``disputes.register``
(keys: ``disputes:register``); the moves are people's (``disputes.mediate`` in the handling
unit). Parties' names and contacts are masked unless the reader may see them
(``services.may_see_parties``). Errors: ``{"error": {code, message, details}}`` (civitas.api),
bad input 422 naming the field, a stale ``version`` 409.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden, InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination, Mapped
from civitas.kit.redact import scrub
from civitas.mediation import rules, selectors, services
from civitas.mediation.models import Dispute, FollowUp, Session
from civitas.mediation.schemas import (
    ActionIn,
    DisputeDetailOut,
    DisputeIn,
    DisputeOut,
    ErrorOut,
)
from civitas.org import access
from civitas.org.models import User

router = Router()
ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}
ACTIONS = (
    "accept",
    "lead",
    "session",
    "agreement",
    "follow-up",
    "fail",
    "escalate",
    "risk",
    "refer",
    "withdraw",
    "close",
)


def _reader(request: HttpRequest) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not access.can(actor, "disputes.read"):
        raise Forbidden(
            "disputes are open to mediators, grid workers, dispatchers, hotline operators, "
            "unit staff, analysts, administrators and auditors, and to API keys with the "
            "disputes:read scope",
            details={"action": "disputes.read"},
        )
    return actor


def _out(d: Dispute) -> dict[str, Any]:
    return {
        "code": d.code,
        "city": d.city,
        # Lists do not work out per row who may see the parties: a title there is masked of
        # phones, identity numbers and e-mails for everyone (the detail shows it whole to
        # those who may see the parties).
        "title": scrub(d.title),
        "type": d.type,
        "source": d.source,
        "status": d.status,
        "tier": d.tier,
        "channel": d.channel,
        "unit": d.unit.code,
        "area": d.jurisdiction.code,
        "amount": d.amount,
        "people_involved": d.people_involved,
        "risk_level": d.risk_level,
        "cross_district": d.cross_district,
        "districts": list(d.districts or []),
        "lead_mediator": d.lead_mediator.get_username() if d.lead_mediator else None,
        "received_at": d.received_at,
        "accepted_at": d.accepted_at,
        "due_at": d.due_at,
        "agreed_at": d.agreed_at,
        "closed_at": d.closed_at,
        "outcome": d.outcome,
        "escalation_count": d.escalation_count,
        "appeal": d.appeal.ticket if d.appeal_id and d.appeal else None,
        "risk": d.risk.code if d.risk_id and d.risk else None,
        "version": d.version,
    }


def _detail(actor: Any, d: Dispute) -> dict[str, Any]:
    x = selectors.detail(actor, d)
    hide = not x.parties_visible
    return {
        **_out(d),
        "title": scrub(d.title) if hide else d.title,
        "summary": scrub(d.summary) if hide else d.summary,
        "address": "" if hide else d.address,
        "outcome_note": "" if hide else d.outcome_note,
        "parties": [
            {
                "side": p.side,
                "kind": p.kind,
                "label": p.label,
                "name": p.name,
                "phone": p.phone,
                "address": p.address,
                "credit_code": p.credit_code,
                "representative": p.representative,
                "area": p.district,
                "masked": p.masked,
            }
            for p in x.parties
        ],
        "stages": [
            {
                "tier": s.tier,
                "channel": s.channel,
                "unit": s.unit.code,
                "reasons": [rules.reason_text(r) for r in s.reasons or []],
                "started_at": s.started_at,
                "due_at": s.due_at,
                "ended_at": s.ended_at,
                "result": s.result,
            }
            for s in x.stages
        ],
        "sessions": [
            {
                "number": s.number,
                "scheduled_at": s.scheduled_at,
                "place": s.place,
                "mediators": [m.get_username() for m in s.mediators.all()],
                "held": s.held,
                "result": s.result,
                # minutes and attendees name the parties
                "attendees": "" if hide else s.attendees,
                "minutes": "" if hide else s.minutes,
            }
            for s in x.sessions
        ],
        "agreements": [
            {
                "number": a.number,
                "signed_on": a.signed_on,
                "perform_by": a.perform_by,
                "amount": a.amount,
                "facts": "" if hide else a.facts,
                "terms": "" if hide else a.terms,
            }
            for a in x.agreements
        ],
        "follow_ups": [
            {
                "id": f.pk,
                "due_on": f.due_on,
                "done_at": f.done_at,
                "method": f.method,
                "kept": f.kept,
                "note": "" if hide else f.note,
            }
            for f in x.follow_ups
        ],
        "events": [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "from_tier": e.from_tier,
                "to_tier": e.to_tier,
                "note": "" if hide else e.note,
            }
            for e in x.events
        ],
        "moves": x.moves,
    }


def _get(actor: Any, code: str) -> Dispute:
    d = selectors.dispute(actor, code)
    if d is None:
        raise NotFound(f"no dispute {code!r} that you may see")
    return d


def _area(code: str, fld: str) -> Jurisdiction | None:
    if not code:
        return None
    j = Jurisdiction.objects.filter(code=code.strip()).first()
    if j is None:
        raise InvalidInput(f"no area {code!r}", details={"field": fld})
    return j


def _user(username: str, fld: str) -> User:
    u = User.objects.filter(username=username, is_active=True).first()
    if u is None:
        raise InvalidInput(f"no person {username!r}", details={"field": fld})
    return u


@router.get("/disputes", response={200: list[DisputeOut], **ERRORS})
@paginate(LimitOffsetPagination)
def list_disputes(
    request: HttpRequest,
    status: str = "",
    tier: str = "",
    type: str = "",
    area: str = "",
    q: str = "",
    unit: str = "",
) -> Mapped:
    """The disputes you may see, newest first. ``status``, ``tier`` and ``type`` take
    comma-separated lists (``status=open``: every open status); ``area`` a jurisdiction code
    (its subtree); ``q`` words of the code or title."""
    f = selectors.Filters(status=status, tier=tier, type=type, area=area, q=q, unit=unit)
    qs = selectors.disputes(_reader(request), f).select_related("appeal", "risk")
    return Mapped(qs, _out)


@router.post("/disputes", response={201: DisputeDetailOut, **ERRORS})
def create_dispute(request: HttpRequest, body: DisputeIn) -> Reply[dict[str, Any]]:
    """Register a dispute (``appeal``: refer that appeal, keeping its history)."""
    actor = request.auth  # type: ignore[attr-defined]
    data = services.DisputeIn(
        title=body.title,
        summary=body.summary,
        type=body.type,
        parties=[
            services.PartyIn(
                side=p.side,
                kind=p.kind,
                name=p.name,
                phone=p.phone,
                address=p.address,
                credit_code=p.credit_code,
                representative=p.representative,
                jurisdiction=_area(p.area, f"parties[{i}].area"),
            )
            for i, p in enumerate(body.parties)
        ],
        amount=body.amount,
        people_involved=body.people_involved,
        risk_level=body.risk_level,
        jurisdiction=_area(body.area, "area"),
        lat=body.lat,
        lon=body.lon,
        address=body.address,
    )
    if body.appeal:
        appeal = access.readable(actor, Appeal.objects.filter(ticket=body.appeal)).first()
        if appeal is None:
            raise InvalidInput(
                f"no appeal {body.appeal!r} that you may see", details={"field": "appeal"}
            )
        d = services.refer_from_appeal(actor=actor, appeal=appeal, data=data)
    else:
        d = services.register(actor=actor, data=data, source=body.source)
    return Reply(201, _detail(actor, _get(actor, d.code)))


@router.get("/disputes/{code}", response={200: DisputeDetailOut, **ERRORS})
def get_dispute(request: HttpRequest, code: str) -> dict[str, Any]:
    """One dispute with its stages, sessions, agreements, follow-ups, history and the moves
    open to you."""
    actor = _reader(request)
    return _detail(actor, _get(actor, code))


@router.post("/disputes/{code}/{action}", response={200: DisputeDetailOut, **ERRORS})
def act(request: HttpRequest, code: str, action: str, body: ActionIn) -> dict[str, Any]:
    """``accept``; ``lead`` (mediator); ``session`` (schedule: scheduled_at, place, mediators;
    record: number, result, minutes, attendees, held); ``agreement`` (facts, terms,
    signed_on, amount, perform_by); ``follow-up`` (follow_up, kept, method, note, then);
    ``fail`` (reason); ``escalate`` (reason, to_tier); ``risk`` (level, reason); ``refer``
    (channel, note); ``withdraw`` (reason); ``close`` (outcome, note). Send the ``version``
    you saw."""
    actor = _reader(request)
    d = _get(actor, code)
    v = body.version
    if action == "accept":
        services.accept(actor=actor, dispute=d, version=v, note=body.note)
    elif action == "lead":
        services.assign_lead_mediator(
            actor=actor, dispute=d, mediator=_user(body.mediator, "mediator"), version=v
        )
    elif action == "session" and body.number is None:
        if body.scheduled_at is None:
            raise InvalidInput("give the time of the session", details={"field": "scheduled_at"})
        services.schedule_session(
            actor=actor,
            dispute=d,
            scheduled_at=body.scheduled_at,
            place=body.place,
            mediators=[_user(m, "mediators") for m in body.mediators],
            version=v,
        )
    elif action == "session":
        session = Session.objects.filter(dispute=d, number=body.number or 0).first()
        if session is None:
            raise InvalidInput(f"no session {body.number}", details={"field": "number"})
        services.record_session(
            actor=actor,
            session=session,
            result=body.result,
            minutes=body.minutes,
            attendees=body.attendees,
            held=body.held,
        )
    elif action == "agreement":
        if body.signed_on is None:
            raise InvalidInput("give the date of signing", details={"field": "signed_on"})
        services.record_agreement(
            actor=actor,
            dispute=d,
            facts=body.facts,
            terms=body.terms,
            signed_on=body.signed_on,
            amount=body.amount,
            perform_by=body.perform_by,
            version=v,
        )
    elif action == "follow-up":
        f = FollowUp.objects.filter(dispute=d, pk=body.follow_up or 0).first()
        if f is None:
            raise InvalidInput("no such follow-up visit", details={"field": "follow_up"})
        if body.kept is None:
            raise InvalidInput("say whether the agreement is kept", details={"field": "kept"})
        services.record_follow_up(
            actor=actor,
            follow_up=f,
            kept=body.kept,
            method=body.method,
            note=body.note,
            then=body.then,
        )
    elif action == "fail":
        services.fail(actor=actor, dispute=d, reason=body.reason, version=v)
    elif action == "escalate":
        services.escalate(
            actor=actor, dispute=d, reason=body.reason, version=v, to_tier=body.to_tier or None
        )
    elif action == "risk":
        services.set_risk_level(
            actor=actor, dispute=d, level=body.level, reason=body.reason, version=v
        )
    elif action == "refer":
        services.refer(actor=actor, dispute=d, channel=body.channel, note=body.note, version=v)
    elif action == "withdraw":
        services.withdraw(actor=actor, dispute=d, reason=body.reason, version=v)
    elif action == "close":
        services.close(actor=actor, dispute=d, outcome=body.outcome, note=body.note, version=v)
    else:
        raise NotFound(f"no dispute action {action!r}; use one of {', '.join(ACTIONS)}")
    return _detail(actor, _get(actor, code))
