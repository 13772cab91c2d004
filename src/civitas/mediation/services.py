"""Every move on a dispute. Each runs in one transaction, locks the dispute row, checks the
version the caller saw, writes an :class:`Event` and an audit entry, and tells the unit that
becomes responsible. Refused moves raise kit.errors (InvalidInput naming the field,
Forbidden, NotFound, Conflict).

Public functions (keyword arguments; ``version`` is the dispute version the caller saw,
None skips the check; each returns the dispute unless said otherwise)::

    register(*, actor, data: DisputeIn, source=Source.WALK_IN, appeal=None) -> Dispute
    refer_from_appeal(*, actor, appeal, data: DisputeIn) -> Dispute
        (data.title/summary/jurisdiction may be left empty: taken from the appeal)
    accept(*, actor, dispute, version=None, note="")
    assign_lead_mediator(*, actor, dispute, mediator: User, version=None)
    schedule_session(*, actor, dispute, scheduled_at, place, mediators: list[User],
                     version=None) -> Session
    record_session(*, actor, session, result: Session.Result, minutes, attendees="",
                   held=True) -> Session
    record_agreement(*, actor, dispute, facts, terms, signed_on: date, amount=None,
                     perform_by: date | None = None, version=None) -> Agreement
    record_follow_up(*, actor, follow_up, kept: bool, method, note="", then="mediate")
        (then: "mediate" back to mediation at this level, or "escalate", when not kept)
    fail(*, actor, dispute, reason, version=None)
    escalate(*, actor, dispute, reason, version=None, to_tier=None)
    escalate_overdue(dispute_id) -> bool          (the deadline task; system actor)
    set_risk_level(*, actor, dispute, level, reason, version=None)
    refer(*, actor, dispute, channel, note, version=None)
    withdraw(*, actor, dispute, reason, version=None)
    close(*, actor, dispute, outcome, note="", version=None)

    may_act(actor, dispute) -> bool              (the handling unit's mediators)
    may_coordinate(actor, dispute) -> bool       (also dispatchers over the place)
    may_see_parties(actor, dispute) -> bool
    allowed_moves(actor, dispute) -> list[str]   (names of the moves above open to actor)
    party_label(party, n) -> str                 (the mask: "Applicant 1")
    open_stage(dispute) -> Stage | None
    notify(unit, subject, body, dedupe_key="") -> int

Errors: IllegalMove (Conflict, code "illegal_transition") for a move the status does not
allow, StaleDispute (Conflict, code "stale", details {"version": now}) for an old version,
Forbidden for the wrong person or unit, InvalidInput with details {"field": ...} (register:
also {"fields": {field: message}} for every bad field at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civitas.appeals.models import Appeal
from civitas.appeals.models import Event as AppealEvent
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock, numbering, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.kit.redact import scrub
from civitas.mediation import rules
from civitas.mediation.models import (
    OPEN_STATUSES,
    RISK_RANK,
    TIER_RANK,
    Agreement,
    Channel,
    Dispute,
    DisputeType,
    Event,
    FollowUp,
    Outcome,
    Party,
    RiskLevel,
    Session,
    Source,
    Stage,
    Status,
    Tier,
)
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import Membership, Role, Unit, UnitKind, User

SYSTEM = "system:mediation"
NOTICE_ROLES = (Role.MEDIATOR, Role.UNIT_LEADER)
REFERRAL_CHANNELS = (Channel.COURT, Channel.PETITION, Channel.LABOUR_ARBITRATION)
# Longest free texts, in characters (the pages' forms say the same).
SUMMARY_MAX = 5000
NOTE_MAX = 4000  # notes and reasons of moves, follow-up notes, closing notes
ATTENDEES_MAX = 2000
MINUTES_MAX = 20000
AGREEMENT_MAX = 20000  # the facts, and the terms, of an agreement


class IllegalMove(Conflict):
    code = "illegal_transition"


class StaleDispute(Conflict):
    code = "stale"


# Which statuses each move may start from.
MOVES: dict[str, frozenset[str]] = {
    "accept": frozenset({Status.REGISTERED}),
    "assign_lead_mediator": frozenset({Status.ACCEPTED, Status.MEDIATING}),
    "schedule_session": frozenset({Status.ACCEPTED, Status.MEDIATING}),
    "record_session": frozenset({Status.ACCEPTED, Status.MEDIATING}),
    "record_agreement": frozenset({Status.ACCEPTED, Status.MEDIATING}),
    "record_follow_up": frozenset({Status.AGREED}),
    "fail": frozenset({Status.ACCEPTED, Status.MEDIATING}),
    "escalate": frozenset({Status.REGISTERED, Status.ACCEPTED, Status.MEDIATING}),
    "set_risk_level": OPEN_STATUSES,
    "refer": frozenset({Status.REGISTERED, Status.ACCEPTED, Status.MEDIATING}),
    "withdraw": OPEN_STATUSES,
    "close": frozenset({Status.ACCEPTED, Status.MEDIATING, Status.AGREED, Status.REFERRED}),
}

# Which outcomes close() accepts from each status.
CLOSE_OUTCOMES: dict[str, frozenset[str]] = {
    Status.REFERRED: frozenset({Outcome.REFERRED}),
    Status.AGREED: frozenset({Outcome.RESOLVED, Outcome.UNRESOLVED}),
    Status.ACCEPTED: frozenset({Outcome.UNRESOLVED, Outcome.RESOLVED}),
    Status.MEDIATING: frozenset({Outcome.UNRESOLVED, Outcome.RESOLVED}),
}


# -- input -----------------------------------------------------------------------------------


@dataclass
class PartyIn:
    side: str
    name: str
    kind: str = Party.Kind.PERSON
    phone: str = ""
    address: str = ""
    credit_code: str = ""
    representative: str = ""
    jurisdiction: Jurisdiction | None = None


@dataclass
class DisputeIn:
    title: str = ""
    summary: str = ""
    type: str = DisputeType.OTHER
    parties: Sequence[PartyIn] = field(default_factory=list)
    amount: Decimal | int | float | str | None = None
    people_involved: int = 2
    risk_level: str = RiskLevel.LOW
    jurisdiction: Jurisdiction | None = None
    lat: float | None = None
    lon: float | None = None
    address: str = ""


# -- who may do what -------------------------------------------------------------------------


def _scope(actor: Any) -> access.Scope:
    return access.scope_of(actor)


def _is_member(actor: Any, unit_ids: Sequence[int]) -> bool:
    if not isinstance(actor, User) or not actor.is_active:
        return False
    return Membership.objects.filter(
        user=actor,
        unit_id__in=list(unit_ids),
        role__in=(*NOTICE_ROLES, Role.DISPATCHER),
        active=True,
    ).exists()


def may_act(actor: Any, dispute: Dispute) -> bool:
    """The handling unit's people with disputes.mediate (and superusers)."""
    scope = _scope(actor)
    if scope.everything:
        return True
    if "disputes.mediate" not in scope.actions:
        return False
    return _is_member(actor, [dispute.unit_id])


def may_coordinate(actor: Any, dispute: Dispute) -> bool:
    """Who may escalate or change the risk: the handling unit, and staff with
    disputes.mediate whose area covers the dispute's place (a district or city centre)."""
    if may_act(actor, dispute):
        return True
    scope = _scope(actor)
    return "disputes.mediate" in scope.actions and any(
        dispute.jurisdiction_path.startswith(p) for p in scope.paths
    )


def may_see_parties(actor: Any, dispute: Dispute) -> bool:
    """Names, phones and addresses of the parties: the people of the units that handle or
    handled the dispute (with disputes.mediate), the person who registered it, superusers.
    Everyone else sees "Applicant 1", "Respondent 1"."""
    scope = _scope(actor)
    if scope.everything:
        return True
    if not isinstance(actor, User) or not actor.is_active:
        return False
    if dispute.registered_by_user_id and dispute.registered_by_user_id == actor.pk:
        return True
    if "disputes.mediate" not in scope.actions:
        return False
    units = {
        dispute.unit_id,
        *Stage.objects.filter(dispute=dispute).values_list("unit_id", flat=True),
    }
    return _is_member(actor, list(units))


def party_label(party: Party, n: int) -> str:
    """The mask shown instead of a party's name: "Applicant 1"."""
    return _("%(side)s %(n)s") % {"side": Party.Side(party.side).label, "n": n}


def allowed_moves(actor: Any, dispute: Dispute) -> list[str]:
    """The moves ``actor`` may try on ``dispute`` now (for pages and the API)."""
    out = []
    for move, statuses in MOVES.items():
        if dispute.status not in statuses:
            continue
        if move in ("escalate", "set_risk_level"):
            ok = may_coordinate(actor, dispute)
        else:
            ok = may_act(actor, dispute)
        if move == "escalate" and dispute.tier == Tier.CITY:
            ok = False
        if ok:
            out.append(move)
    return out


# -- helpers ---------------------------------------------------------------------------------


def _label(actor: Any) -> str:
    return audit.actor_label(actor)[:120]


def _check(dispute: Dispute, move: str) -> None:
    if dispute.status not in MOVES[move]:
        raise IllegalMove(
            _("dispute %(code)s is %(status)s: it cannot be %(move)s now")
            % {
                "code": dispute.code,
                "status": Status(dispute.status).label,
                "move": _MOVE_WORDS.get(move, move),
            },
            details={"status": dispute.status, "move": move},
        )


# Words for "dispute X is <status>: it cannot be <word> now", translated when shown.
_MOVE_WORDS = {
    "accept": pgettext_lazy("a dispute cannot be … now", "accepted"),
    "assign_lead_mediator": pgettext_lazy("a dispute cannot be … now", "given a lead mediator"),
    "schedule_session": pgettext_lazy("a dispute cannot be … now", "given a session"),
    "record_session": pgettext_lazy("a dispute cannot be … now", "given session minutes"),
    "record_agreement": pgettext_lazy("a dispute cannot be … now", "settled by an agreement"),
    "record_follow_up": pgettext_lazy("a dispute cannot be … now", "followed up"),
    "fail": pgettext_lazy("a dispute cannot be … now", "marked as failed"),
    "escalate": pgettext_lazy("a dispute cannot be … now", "escalated"),
    "set_risk_level": pgettext_lazy("a dispute cannot be … now", "given a new risk level"),
    "refer": pgettext_lazy("a dispute cannot be … now", "referred"),
    "withdraw": pgettext_lazy("a dispute cannot be … now", "withdrawn"),
    "close": pgettext_lazy("a dispute cannot be … now", "closed"),
}


def _require_act(actor: Any, dispute: Dispute) -> None:
    if not may_act(actor, dispute):
        raise Forbidden(
            _("only the mediators of %(unit)s, which handles dispute %(code)s, may do this")
            % {"unit": dispute.unit.name, "code": dispute.code},
            details={"action": "disputes.mediate"},
        )


def _require_coordinate(actor: Any, dispute: Dispute) -> None:
    if not may_coordinate(actor, dispute):
        raise Forbidden(
            _(
                "only the unit handling dispute %(code)s, or a centre whose area covers it, "
                "may do this"
            )
            % {"code": dispute.code},
            details={"action": "disputes.mediate"},
        )


def lock(dispute: Dispute | int, version: int | None = None) -> Dispute:
    pk = dispute.pk if isinstance(dispute, Dispute) else dispute
    # No join in the locking query: PostgreSQL re-checks a row that changed while it waited
    # against the joined rows it read before, and would drop a dispute whose unit just moved.
    locked = Dispute.objects.select_for_update(of=("self",), no_key=True).filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("no dispute %(id)s") % {"id": pk})
    if version is not None and locked.version != version:
        raise StaleDispute(
            _(
                "dispute %(code)s changed while you were looking at it (you saw version "
                "%(seen)s, it is now %(now)s); reload it and try again"
            )
            % {"code": locked.code, "seen": version, "now": locked.version},
            details={"version": locked.version},
        )
    return locked


def open_stage(dispute: Dispute) -> Stage | None:
    return Stage.objects.filter(dispute=dispute, ended_at__isnull=True).first()


def _snapshot(d: Dispute) -> dict[str, Any]:
    return {
        "status": d.status,
        "tier": d.tier,
        "channel": d.channel,
        "unit": d.unit.code if d.unit_id else None,
        "risk_level": d.risk_level,
        "outcome": d.outcome,
        "lead_mediator": d.lead_mediator_id,
        "version": d.version,
    }


def _save(d: Dispute, fields: Sequence[str]) -> None:
    d.version += 1
    d.updated_at = clock.now()
    d.save(update_fields=[*fields, "version", "updated_at"])


def _event(
    d: Dispute,
    actor: Any,
    action: str,
    *,
    from_status: str = "",
    from_tier: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
    unit: Unit | None = None,
) -> Event:
    return Event.objects.create(
        dispute=d,
        at=clock.now(),
        actor=_label(actor),
        unit=unit if unit is not None else d.unit,
        action=action,
        from_status=from_status,
        to_status=d.status if from_status or action == "register" else "",
        from_tier=from_tier,
        to_tier=d.tier if from_tier or action == "register" else "",
        note=note,
        data=data or {},
    )


def _audit(
    actor: Any, action: str, d: Dispute, before: Any, reason: str = "", **extra: Any
) -> None:
    audit.record(
        actor=actor,
        action=f"dispute.{action}",
        object_type="dispute",
        object_id=d.code,
        before=before,
        after=_snapshot(d),
        reason=scrub(reason),  # the audit keeps who did what, not the parties' numbers
        extra=extra or None,
    )


def notify(unit: Unit, subject: str, body: str, dedupe_key: str = "") -> int:
    """Tell the mediators and leaders of ``unit`` (its duty phone when nobody can be
    reached). Returns how many messages were queued. Phones, identity numbers and e-mail
    addresses typed into a title or note are masked: notices leave the system (SMS, mail)."""
    subject, body = scrub(subject), scrub(body)
    people = org_services.people_in(unit, NOTICE_ROLES)
    n = 0
    for channel, recipient in org_services.notice_addresses(people, fallback=unit):
        key = f"{dedupe_key}:{recipient}" if dedupe_key else ""
        if outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic="mediation",
            dedupe_key=key,
        ):
            n += 1
    return n


def _tell_new_unit(d: Dispute, why: str) -> None:
    notify(
        d.unit,
        _("Dispute %(code)s is now yours: %(title)s") % {"code": d.code, "title": d.title},
        _("%(why)s\nLevel: %(tier)s. Deadline: %(due)s.")
        % {
            "why": why,
            "tier": Tier(d.tier).label,
            "due": d.due_at.strftime("%Y-%m-%d") if d.due_at else "-",
        },
    )


def _capped(value: str, fld: str, max_length: int) -> str:
    """``value`` stripped, refused when longer than ``max_length`` characters."""
    text = (value or "").strip()
    if len(text) > max_length:
        raise InvalidInput(
            _("%(field)s is longer than %(n)s characters") % {"field": fld, "n": max_length},
            details={"field": fld},
        )
    return text


def _required(value: str, fld: str, message: str, max_length: int | None = None) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(message, details={"field": fld})
    if max_length:
        _capped(text, fld, max_length)
    return text


def _open_new_stage(
    d: Dispute, tier: str, unit: Unit, channel: str, reasons: list[dict[str, Any]]
) -> Stage:
    now = clock.now()
    due = rules.deadline(tier, d.type, now)
    stage = Stage.objects.create(
        dispute=d,
        tier=tier,
        channel=channel,
        unit=unit,
        reasons=reasons,
        started_at=now,
        due_at=due,
    )
    d.tier, d.unit, d.channel, d.due_at = tier, unit, channel, due
    return stage


def _end_stage(d: Dispute, result: str) -> Stage | None:
    stage = open_stage(d)
    if stage is not None:
        stage.ended_at = clock.now()
        stage.result = result
        stage.save(update_fields=["ended_at", "result"])
    return stage


# -- register --------------------------------------------------------------------------------


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("the amount is not a number"), details={"field": "amount"}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidInput(
            _("the amount must be between 0 and 999,999,999,999 yuan"), details={"field": "amount"}
        )
    return amount.quantize(Decimal("0.01"))


def _validate(data: DisputeIn) -> dict[str, str]:
    """All problems with the input, by field."""
    errors: dict[str, str] = {}
    if not (data.title or "").strip():
        errors["title"] = _("give the dispute a short title")
    elif len(data.title.strip()) > 200:
        errors["title"] = _("the title is longer than 200 characters")
    if not (data.summary or "").strip():
        errors["summary"] = _("say what the dispute is about")
    elif len(data.summary.strip()) > SUMMARY_MAX:
        errors["summary"] = _("the summary is longer than %(n)s characters") % {"n": SUMMARY_MAX}
    if data.type not in DisputeType.values:
        errors["type"] = _("choose the type of dispute")
    if data.risk_level not in RiskLevel.values:
        errors["risk_level"] = _("choose low, medium or high risk")
    try:
        _amount(data.amount)
    except InvalidInput as exc:
        errors["amount"] = exc.message
    try:
        people = int(data.people_involved)
        if people < 1 or people > 100_000:
            errors["people_involved"] = _("people involved must be between 1 and 100000")
    except (TypeError, ValueError):
        errors["people_involved"] = _("people involved must be a whole number")
    if data.jurisdiction is None and (data.lat is None or data.lon is None):
        errors["jurisdiction"] = _("give the place: a jurisdiction or a point on the map")
    if data.lat is not None and not -90 <= data.lat <= 90:
        errors["lat"] = _("latitude must be between -90 and 90")
    if data.lon is not None and not -180 <= data.lon <= 180:
        errors["lon"] = _("longitude must be between -180 and 180")
    if len(data.address or "") > 300:
        errors["address"] = _("the address is longer than 300 characters")
    sides = set()
    if not data.parties:
        errors["parties"] = _("name the parties: at least one applicant and one respondent")
    for i, p in enumerate(data.parties):
        pre = f"parties[{i}]"
        if p.side not in Party.Side.values:
            errors[f"{pre}.side"] = _("choose applicant, respondent or third party")
        sides.add(p.side)
        if p.kind not in Party.Kind.values:
            errors[f"{pre}.kind"] = _("choose person or organisation")
        if not (p.name or "").strip():
            errors[f"{pre}.name"] = _("give the party's name")
        elif len(p.name.strip()) > 200:
            errors[f"{pre}.name"] = _("the name is longer than 200 characters")
        phone = (p.phone or "").strip()
        if phone and (len(phone) > 40 or not all(c.isdigit() or c in "+- ()" for c in phone)):
            errors[f"{pre}.phone"] = _("a phone number has digits, spaces, +, - and brackets only")
        if len(p.address or "") > 300:
            errors[f"{pre}.address"] = _("the address is longer than 300 characters")
        code = (p.credit_code or "").strip()
        if code and (len(code) != 18 or not code.isalnum()):
            errors[f"{pre}.credit_code"] = _(
                "a unified social credit code has 18 letters or digits"
            )
        if len(p.representative or "") > 120:
            errors[f"{pre}.representative"] = _("the representative is longer than 120 characters")
    if data.parties and not {Party.Side.APPLICANT, Party.Side.RESPONDENT} <= sides:
        errors.setdefault(
            "parties", _("name the parties: at least one applicant and one respondent")
        )
    return errors


def _raise_errors(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors))
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        raise InvalidInput(message, details={"field": first, "fields": errors})


def _place(data: DisputeIn) -> Jurisdiction:
    if data.jurisdiction is not None:
        return data.jurisdiction
    from civitas.geo.locate import locate

    assert data.lat is not None and data.lon is not None
    found = locate(data.lat, data.lon)
    place = Jurisdiction.objects.filter(code=found.jurisdiction.code).first() if found else None
    if place is None:
        raise InvalidInput(
            _("the point on the map is outside every known place"), details={"field": "lat"}
        )
    return place


def _insert(fields: dict[str, Any]) -> Dispute:
    """Numbered ``<CITY>-MD-<YYYY>-<NNNNN>``, the next free number of the city and year."""
    prefix = f"{fields['city']}-MD-{clock.now().year}-"
    return numbering.create_numbered(
        Dispute, prefix, 5, fields, _("could not number the dispute; try again")
    )


def facts_of(d: Dispute) -> rules.Facts:
    return rules.Facts(
        type=d.type,
        amount=d.amount,
        people_involved=d.people_involved,
        risk_level=d.risk_level,
        districts=list(d.districts or []),
    )


def _place_tier(place: Jurisdiction, tier: str, reasons: list[dict[str, Any]]) -> tuple[str, Unit]:
    found = rules.body_for(place, tier)
    if found is None:
        raise InvalidInput(
            _("no mediation body serves %(place)s at the %(tier)s level or above")
            % {"place": place.name, "tier": Tier(tier).label},
            details={"field": "jurisdiction"},
        )
    if found[0] != tier:
        reasons.append({"code": "no_body", "tier": found[0]})
    return found


def register(
    *,
    actor: Any,
    data: DisputeIn,
    source: str = Source.WALK_IN,
    appeal: Appeal | None = None,
) -> Dispute:
    """Register a dispute and send it to the lowest capable level."""
    access.require(actor, "disputes.register")
    if source not in Source.values or (source == Source.APPEAL) != (appeal is not None):
        raise InvalidInput(
            _("choose how the dispute came in (a referral from an appeal names the appeal)"),
            details={"field": "source"},
        )
    _raise_errors(_validate(data))
    with transaction.atomic():
        place = _place(data)
        city = place.root_code
        districts: list[str] = []
        for where in [place, *(p.jurisdiction for p in data.parties if p.jurisdiction)]:
            if where.root_code != city:
                raise InvalidInput(
                    _("%(place)s is not in %(city)s") % {"place": where.name, "city": city},
                    details={"field": "parties"},
                )
            dc = rules.district_of(where)
            if dc and dc not in districts:
                districts.append(dc)
        amount = _amount(data.amount)
        facts = rules.Facts(
            type=data.type,
            amount=amount,
            people_involved=int(data.people_involved),
            risk_level=data.risk_level,
            districts=districts,
        )
        assignment = rules.assign(facts)
        reasons = list(assignment.reasons)
        tier, unit = _place_tier(place, assignment.tier, reasons)
        now = clock.now()
        user = actor if isinstance(actor, User) else None
        d = _insert(
            {
                "city": city,
                "title": data.title.strip(),
                "summary": data.summary.strip(),
                "type": data.type,
                "source": source,
                "amount": amount,
                "people_involved": int(data.people_involved),
                "risk_level": data.risk_level,
                "jurisdiction": place,
                "jurisdiction_path": place.path,
                "address": (data.address or "").strip(),
                "lat": data.lat,
                "lon": data.lon,
                "districts": districts,
                "cross_district": len(districts) > 1,
                "tier": tier,
                "channel": assignment.channel,
                "unit": unit,
                "status": Status.REGISTERED,
                "appeal": appeal,
                "registered_by": _label(actor),
                "registered_by_user": user,
                "received_at": now,
                "updated_at": now,
            }
        )
        _open_new_stage(d, tier, unit, assignment.channel, reasons)
        d.save(update_fields=["due_at"])
        for p in data.parties:
            Party.objects.create(
                dispute=d,
                side=p.side,
                kind=p.kind,
                name=p.name.strip(),
                phone=(p.phone or "").strip(),
                address=(p.address or "").strip(),
                credit_code=(p.credit_code or "").strip().upper(),
                representative=(p.representative or "").strip(),
                jurisdiction=p.jurisdiction,
            )
        _event(
            d,
            actor,
            "register",
            data={
                "source": source,
                "reasons": reasons,
                **({"appeal": appeal.ticket} if appeal else {}),
            },
        )
        audit.record(
            actor=actor,
            action="dispute.register",
            object_type="dispute",
            object_id=d.code,
            after=_snapshot(d),
            extra={"parties": len(data.parties), "appeal": appeal.ticket if appeal else None},
        )
        _tell_new_unit(d, _("A new dispute was registered."))
        if d.risk_level == RiskLevel.HIGH:
            _open_risk(d, actor)
    return d


def refer_from_appeal(*, actor: Any, appeal: Appeal, data: DisputeIn) -> Dispute:
    """An appeal becomes a dispute: the dispute links the appeal (whose timeline stays where
    it is, with an internal entry saying where it went). One dispute per appeal."""
    access.require(actor, "disputes.register")
    if not access.readable(actor, Appeal.objects.filter(pk=appeal.pk)).exists():
        raise Forbidden(
            _("you may not read appeal %(ticket)s") % {"ticket": appeal.ticket},
            details={"action": "appeals.read"},
        )
    with transaction.atomic():
        locked = Appeal.objects.select_for_update(of=("self",), no_key=True).get(pk=appeal.pk)
        existing = Dispute.objects.filter(appeal=locked).first()
        if existing is not None:
            raise Conflict(
                _("appeal %(ticket)s was already referred: dispute %(code)s")
                % {"ticket": locked.ticket, "code": existing.code},
                details={"dispute": existing.code},
            )
        if not (data.title or "").strip():
            data.title = (locked.title or locked.text[:80]).strip()
        if not (data.summary or "").strip():
            data.summary = locked.text
        if data.jurisdiction is None and data.lat is None:
            data.jurisdiction = locked.jurisdiction
            data.lat, data.lon = locked.lat, locked.lon
            data.address = data.address or locked.address
        if data.jurisdiction is None and data.lat is None:
            raise InvalidInput(
                _("appeal %(ticket)s has no place; give one") % {"ticket": locked.ticket},
                details={"field": "jurisdiction"},
            )
        try:
            with transaction.atomic():
                d = register(actor=actor, data=data, source=Source.APPEAL, appeal=locked)
        except IntegrityError:
            raise Conflict(
                _("appeal %(ticket)s was already referred") % {"ticket": locked.ticket}
            ) from None
        AppealEvent.objects.create(
            appeal=locked,
            at=clock.now(),
            actor=_label(actor),
            unit=d.unit,
            action="referred_to_mediation",
            note=_("referred to dispute mediation as %(code)s (%(unit)s)")
            % {"code": d.code, "unit": d.unit.name},
            public=False,
            data={"dispute": d.code},
        )
        audit.record(
            actor=actor,
            action="appeal.refer_to_mediation",
            object_type="appeal",
            object_id=locked.ticket,
            after={"dispute": d.code},
        )
    return d


# -- the handling unit's moves ---------------------------------------------------------------


def accept(*, actor: Any, dispute: Dispute, version: int | None = None, note: str = "") -> Dispute:
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "accept")
        _require_act(actor, d)
        before, was = _snapshot(d), d.status
        d.status = Status.ACCEPTED
        d.accepted_at = clock.now()
        fields = ["status", "accepted_at"]
        if isinstance(actor, User) and d.lead_mediator_id is None and _is_mediator(actor, d.unit):
            d.lead_mediator = actor
            fields.append("lead_mediator")
        _save(d, fields)
        _event(d, actor, "accept", from_status=was, note=_capped(note, "note", NOTE_MAX))
        _audit(actor, "accept", d, before)
    return d


def _is_mediator(user: User, unit: Unit) -> bool:
    return Membership.objects.filter(
        user=user, unit=unit, role__in=NOTICE_ROLES, active=True
    ).exists()


def assign_lead_mediator(
    *, actor: Any, dispute: Dispute, mediator: User, version: int | None = None
) -> Dispute:
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "assign_lead_mediator")
        _require_act(actor, d)
        if not mediator.is_active or not _is_mediator(mediator, d.unit):
            raise InvalidInput(
                _("%(who)s is not a mediator of %(unit)s")
                % {"who": mediator.get_username(), "unit": d.unit.name},
                details={"field": "mediator"},
            )
        before = _snapshot(d)
        d.lead_mediator = mediator
        _save(d, ["lead_mediator"])
        _event(d, actor, "assign_lead_mediator", data={"mediator": mediator.get_username()})
        _audit(actor, "assign_lead_mediator", d, before)
        for channel, recipient in org_services.notice_addresses([mediator]):
            outbox.enqueue(
                channel=channel,
                recipient=recipient,
                subject=_("You lead the mediation of dispute %(code)s") % {"code": d.code},
                body=scrub(d.title),
                topic="mediation",
            )
    return d


def schedule_session(
    *,
    actor: Any,
    dispute: Dispute,
    scheduled_at: datetime,
    place: str,
    mediators: Sequence[User],
    version: int | None = None,
) -> Session:
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "schedule_session")
        _require_act(actor, d)
        if not isinstance(scheduled_at, datetime) or scheduled_at.tzinfo is None:
            raise InvalidInput(_("give the time of the session"), details={"field": "scheduled_at"})
        # Forms give the minute: a session "now" is not before a dispute received this minute.
        if scheduled_at < d.received_at.replace(second=0, microsecond=0):
            raise InvalidInput(
                _("the session cannot be before the dispute was received (%(at)s)")
                % {"at": timezone.localtime(d.received_at).strftime("%Y-%m-%d %H:%M")},
                details={"field": "scheduled_at"},
            )
        place = _required(place, "place", _("say where the session is held"), 200)
        if not mediators:
            raise InvalidInput(_("name at least one mediator"), details={"field": "mediators"})
        for m in mediators:
            if not _is_mediator(m, d.unit) and not may_act(m, d):
                raise InvalidInput(
                    _("%(who)s is not a mediator of %(unit)s")
                    % {"who": m.get_username(), "unit": d.unit.name},
                    details={"field": "mediators"},
                )
        stage = open_stage(d)
        assert stage is not None
        number = (
            Session.objects.filter(dispute=d)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
            or 0
        ) + 1
        session = Session.objects.create(
            dispute=d,
            stage=stage,
            number=number,
            scheduled_at=scheduled_at,
            place=place,
            recorded_by=_label(actor),
        )
        session.mediators.set(mediators)
        before, was = _snapshot(d), d.status
        d.status = Status.MEDIATING
        _save(d, ["status"])
        _event(
            d,
            actor,
            "schedule_session",
            from_status=was if was != d.status else "",
            data={"session": number, "at": scheduled_at.isoformat(), "place": place},
        )
        _audit(actor, "schedule_session", d, before, session=number)
    return session


def record_session(
    *,
    actor: Any,
    session: Session,
    result: str,
    minutes: str,
    attendees: str = "",
    held: bool = True,
) -> Session:
    with transaction.atomic():
        d = lock(session.dispute_id)
        _check(d, "record_session")
        _require_act(actor, d)
        s = Session.objects.select_for_update(of=("self",)).get(pk=session.pk)
        if s.result:
            raise IllegalMove(
                _("session %(n)s is already recorded") % {"n": s.number},
                details={"session": s.number},
            )
        if s.stage.ended_at is not None:
            raise IllegalMove(_("this session belongs to a level the dispute has left"))
        if result not in [r for r in Session.Result.values if r]:
            raise InvalidInput(_("choose the result of the session"), details={"field": "result"})
        if held and result != Session.Result.NO_SHOW:
            minutes = _required(minutes, "minutes", _("write the minutes of the session"))
        minutes = _capped(minutes, "minutes", MINUTES_MAX)
        attendees = _capped(attendees, "attendees", ATTENDEES_MAX)
        if s.scheduled_at > clock.now():
            raise InvalidInput(
                _("session %(n)s is planned for %(at)s: its result is recorded after it is held")
                % {
                    "n": s.number,
                    "at": timezone.localtime(s.scheduled_at).strftime("%Y-%m-%d %H:%M"),
                },
                details={"field": "result"},
            )
        s.result, s.minutes, s.attendees = result, minutes, attendees
        s.held = held and result != Session.Result.NO_SHOW
        s.recorded_by, s.recorded_at = _label(actor), clock.now()
        s.save(
            update_fields=["result", "minutes", "attendees", "held", "recorded_by", "recorded_at"]
        )
        before = _snapshot(d)
        _save(d, [])
        _event(d, actor, "record_session", data={"session": s.number, "result": result})
        _audit(actor, "record_session", d, before, session=s.number, result=result)
    return s


def next_agreement_number(d: Dispute) -> str:
    n = Agreement.objects.filter(dispute=d).count() + 1
    return f"{d.code}-A{n}"


def record_agreement(
    *,
    actor: Any,
    dispute: Dispute,
    facts: str,
    terms: str,
    signed_on: date,
    amount: Any = None,
    perform_by: date | None = None,
    version: int | None = None,
) -> Agreement:
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "record_agreement")
        _require_act(actor, d)
        facts = _required(facts, "facts", _("set out the facts and the dispute"), AGREEMENT_MAX)
        terms = _required(terms, "terms", _("write the terms agreed"), AGREEMENT_MAX)
        if not isinstance(signed_on, date) or isinstance(signed_on, datetime):
            raise InvalidInput(_("give the date of signing"), details={"field": "signed_on"})
        today = clock.today()
        if signed_on > today:
            raise InvalidInput(
                _("the date of signing is in the future"), details={"field": "signed_on"}
            )
        received_on = timezone.localtime(d.received_at).date()
        if signed_on < received_on:
            raise InvalidInput(
                _("the agreement cannot be signed before the dispute was received (%(on)s)")
                % {"on": received_on.isoformat()},
                details={"field": "signed_on"},
            )
        if perform_by is not None and perform_by < signed_on:
            raise InvalidInput(
                _("the agreement cannot be due before it is signed"),
                details={"field": "perform_by"},
            )
        value = _amount(amount)
        stage = open_stage(d)
        assert stage is not None
        agreement = Agreement.objects.create(
            dispute=d,
            stage=stage,
            number=next_agreement_number(d),
            facts=facts,
            terms=terms,
            amount=value,
            perform_by=perform_by,
            signed_on=signed_on,
            made_by=_label(actor),
        )
        due = max(perform_by or signed_on, today) + timedelta(days=rules.follow_up_days())
        FollowUp.objects.create(dispute=d, due_on=due)
        before, was = _snapshot(d), d.status
        d.status = Status.AGREED
        d.agreed_at = clock.now()
        _save(d, ["status", "agreed_at"])
        _event(
            d,
            actor,
            "record_agreement",
            from_status=was,
            data={"agreement": agreement.number, "follow_up": due.isoformat()},
        )
        _audit(actor, "record_agreement", d, before, agreement=agreement.number)
    return agreement


def record_follow_up(
    *,
    actor: Any,
    follow_up: FollowUp,
    kept: bool,
    method: str,
    note: str = "",
    then: str = "mediate",
) -> Dispute:
    """Record a return visit. Kept: the dispute is closed as resolved. Not kept: back to
    mediation at this level (``then="mediate"``) or up a level (``then="escalate"``)."""
    with transaction.atomic():
        d = lock(follow_up.dispute_id)
        _check(d, "record_follow_up")
        _require_act(actor, d)
        f = FollowUp.objects.select_for_update(of=("self",)).get(pk=follow_up.pk)
        if f.done_at is not None:
            raise IllegalMove(_("this follow-up visit is already recorded"))
        if method not in FollowUp.Method.values:
            raise InvalidInput(_("say how the follow-up was made"), details={"field": "method"})
        if then not in ("mediate", "escalate"):
            raise InvalidInput(_("choose what happens next"), details={"field": "then"})
        if not kept:
            note = _required(note, "note", _("say how the agreement is not kept"))
        note = _capped(note, "note", NOTE_MAX)
        f.done_at, f.method, f.kept = clock.now(), method, bool(kept)
        f.note, f.done_by = (note or "").strip(), _label(actor)
        f.save(update_fields=["done_at", "method", "kept", "note", "done_by"])
        before, was = _snapshot(d), d.status
        if kept:
            FollowUp.objects.filter(dispute=d, done_at__isnull=True).delete()
            _end_stage(d, Stage.Result.AGREED)
            d.status, d.outcome, d.closed_at = Status.CLOSED, Outcome.RESOLVED, clock.now()
            _save(d, ["status", "outcome", "closed_at"])
            _event(d, actor, "record_follow_up", from_status=was, note=f.note, data={"kept": True})
            _audit(actor, "record_follow_up", d, before, kept=True)
            return d
        d.status = Status.MEDIATING
        _save(d, ["status"])
        _event(d, actor, "record_follow_up", from_status=was, note=f.note, data={"kept": False})
        _audit(actor, "record_follow_up", d, before, kept=False)
        if then == "escalate":
            _move_up(d, actor, Stage.Result.FAILED, None, {"code": "failed"}, f.note)
    return d


# -- moving between levels -------------------------------------------------------------------


def _move_up(
    d: Dispute,
    actor: Any,
    result: str,
    to_tier: str | None,
    reason: dict[str, Any],
    note: str,
) -> Dispute:
    """Close the open stage with ``result`` and open one at ``to_tier`` (or the next level
    up with a body), back to REGISTERED for the new unit to accept."""
    target = to_tier or rules.tier_above(d.tier)
    if target is None or TIER_RANK[Tier(target)] <= TIER_RANK[Tier(d.tier)]:
        raise IllegalMove(
            _("dispute %(code)s is already at the %(tier)s level: refer it instead")
            % {"code": d.code, "tier": Tier(d.tier).label},
            details={"tier": d.tier},
        )
    reasons = [{**reason, "tier": target}]
    if note:
        reasons[0].setdefault("note", note)
    tier, unit = _place_tier(d.jurisdiction, target, reasons)
    before, was_status, was_tier = _snapshot(d), d.status, d.tier
    _end_stage(d, result)
    channel = (
        d.channel if d.channel in (Channel.PEOPLES, Channel.ADMINISTRATIVE) else Channel.PEOPLES
    )
    _open_new_stage(d, tier, unit, channel, reasons)
    d.status = Status.REGISTERED
    d.lead_mediator = None
    d.accepted_at = None
    d.escalation_count += 1
    _save(
        d,
        [
            "status",
            "tier",
            "unit",
            "channel",
            "due_at",
            "lead_mediator",
            "accepted_at",
            "escalation_count",
        ],
    )
    _event(
        d,
        actor,
        "escalate",
        from_status=was_status,
        from_tier=was_tier,
        note=note,
        data={"result": result, "reasons": reasons},
    )
    _audit(actor, "escalate", d, before, reason=note, result=result)
    _tell_new_unit(d, rules.reason_text(reasons[0]))
    return d


def fail(*, actor: Any, dispute: Dispute, reason: str, version: int | None = None) -> Dispute:
    """Mediation failed at this level: up a level by the rules, or referred out."""
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "fail")
        _require_act(actor, d)
        reason = _required(reason, "reason", _("say why mediation failed"), NOTE_MAX)
        step = rules.after_failure(d.type, d.tier, d.channel)
        if step.kind == "escalate":
            return _move_up(d, actor, Stage.Result.FAILED, step.tier, step.reason, reason)
        return _refer(d, actor, step.channel, reason, Stage.Result.FAILED, step.reason)


def escalate(
    *,
    actor: Any,
    dispute: Dispute,
    reason: str,
    version: int | None = None,
    to_tier: str | None = None,
) -> Dispute:
    """Move a dispute up by hand (to the next level, or to ``to_tier``)."""
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "escalate")
        _require_coordinate(actor, d)
        reason = _required(reason, "reason", _("say why the dispute goes up"), NOTE_MAX)
        if to_tier is not None and to_tier not in Tier.values:
            raise InvalidInput(_("choose a level"), details={"field": "to_tier"})
        return _move_up(
            d, actor, Stage.Result.FAILED, to_tier, {"code": "manual", "note": reason}, reason
        )


def escalate_overdue(dispute_id: int) -> bool:
    """The deadline task's move: if the dispute's open stage is past its deadline and the
    dispute is still being handled, move it up once (the new stage has a new deadline). At the
    city there is nothing above: its mediators are reminded once. True when something was
    done."""
    with transaction.atomic():
        d = lock(dispute_id)
        if d.status not in MOVES["escalate"]:
            return False
        stage = open_stage(d)
        now = clock.now()
        if stage is None or stage.due_at > now:
            return False
        if d.tier == Tier.CITY:
            return (
                notify(
                    d.unit,
                    _("Dispute %(code)s is past its deadline") % {"code": d.code},
                    _("The city level is the last one: settle it, refer it, or close it."),
                    dedupe_key=f"mediation-overdue-{stage.pk}",
                )
                > 0
            )
        _move_up(
            d,
            SYSTEM,
            Stage.Result.OVERDUE,
            None,
            {"code": "overdue"},
            _("the deadline of %(date)s passed") % {"date": stage.due_at.strftime("%Y-%m-%d")},
        )
    return True


# -- risk ------------------------------------------------------------------------------------


def _risk_owner(d: Dispute) -> Unit:
    for tier in (Tier.DISTRICT, Tier.CITY):
        where = rules.ancestor_at(d.jurisdiction, rules.TIER_LEVEL[tier])
        if where is not None:
            unit = (
                Unit.objects.filter(jurisdiction=where, kind=UnitKind.CENTRE, active=True)
                .order_by("code")
                .first()
            )
            if unit is not None:
                return unit
    return d.unit


def _open_risk(d: Dispute, actor: Any) -> None:
    """Put a high-risk dispute in the risk register, once."""
    if d.risk_id is not None:
        return
    from civitas.risk import services as risk_services
    from civitas.risk.models import Level

    # The register is read more widely than the dispute: no party's numbers in its title.
    title = _("Dispute %(code)s: %(title)s") % {"code": d.code, "title": scrub(d.title)}
    risk = risk_services.create_risk(
        actor=f"{SYSTEM} ({_label(actor)})",
        city=d.city,
        system=True,
        data=risk_services.RiskIn(
            title=title[:200],
            level=Level.ORANGE,
            owner_unit=_risk_owner(d),
            deadline=clock.now() + timedelta(days=30),
            description=_("A dispute whose risk was rated high (%(type)s, %(people)s people).")
            % {"type": DisputeType(d.type).label, "people": d.people_involved},
            measures=_("Mediation by %(unit)s.") % {"unit": d.unit.name},
            jurisdiction=d.jurisdiction,
        ),
    )
    d.risk = risk
    d.save(update_fields=["risk"])
    _event(d, actor, "risk_register", data={"risk": risk.code})


def set_risk_level(
    *, actor: Any, dispute: Dispute, level: str, reason: str, version: int | None = None
) -> Dispute:
    """Change the risk level. Rising to high puts the dispute in the risk register (once);
    a level the rules place higher than the dispute is now moves it up."""
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "set_risk_level")
        _require_coordinate(actor, d)
        if level not in RiskLevel.values:
            raise InvalidInput(_("choose low, medium or high risk"), details={"field": "level"})
        reason = _required(reason, "reason", _("say why the risk changed"), NOTE_MAX)
        if level == d.risk_level:
            raise IllegalMove(
                _("the risk level is already %(level)s") % {"level": RiskLevel(level).label},
                details={"field": "level"},
            )
        before, was = _snapshot(d), d.risk_level
        d.risk_level = level
        _save(d, ["risk_level"])
        _event(d, actor, "set_risk_level", note=reason, data={"from": was, "to": level})
        _audit(actor, "set_risk_level", d, before, reason=reason)
        rising = RISK_RANK[RiskLevel(level)] > RISK_RANK[RiskLevel(was)]
        if rising and level == RiskLevel.HIGH:
            _open_risk(d, actor)
        if rising and d.status in MOVES["escalate"]:
            needed = rules.assign(facts_of(d)).tier
            if TIER_RANK[Tier(needed)] > TIER_RANK[Tier(d.tier)]:
                _move_up(
                    d,
                    actor,
                    Stage.Result.RISK,
                    needed,
                    {"code": "risk_rose", "risk": level},
                    reason,
                )
    return d


# -- leaving mediation -----------------------------------------------------------------------


def _refer(
    d: Dispute, actor: Any, channel: str, note: str, result: str, reason: dict[str, Any]
) -> Dispute:
    before, was = _snapshot(d), d.status
    _end_stage(d, result)
    d.status, d.channel, d.due_at = Status.REFERRED, channel, None
    d.outcome_note = note
    _save(d, ["status", "channel", "due_at", "outcome_note"])
    _event(
        d, actor, "refer", from_status=was, note=note, data={"channel": channel, "reason": reason}
    )
    _audit(actor, "refer", d, before, reason=note, channel=channel)
    return d


def refer(
    *, actor: Any, dispute: Dispute, channel: str, note: str, version: int | None = None
) -> Dispute:
    """Refer to the court, the petition office or labour arbitration (then close it)."""
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "refer")
        _require_act(actor, d)
        if channel not in REFERRAL_CHANNELS:
            raise InvalidInput(
                _("refer to the court, the petition office or labour arbitration"),
                details={"field": "channel"},
            )
        note = _required(note, "note", _("say why and where the dispute is referred"), NOTE_MAX)
        return _refer(d, actor, channel, note, Stage.Result.REFERRED, {"code": "referred"})


def withdraw(*, actor: Any, dispute: Dispute, reason: str, version: int | None = None) -> Dispute:
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "withdraw")
        _require_act(actor, d)
        reason = _required(reason, "reason", _("say why the parties withdrew"), NOTE_MAX)
        before, was = _snapshot(d), d.status
        _end_stage(d, Stage.Result.WITHDRAWN)
        FollowUp.objects.filter(dispute=d, done_at__isnull=True).delete()
        d.status, d.outcome, d.outcome_note = Status.CLOSED, Outcome.WITHDRAWN, reason
        d.closed_at, d.due_at = clock.now(), None
        _save(d, ["status", "outcome", "outcome_note", "closed_at", "due_at"])
        _event(d, actor, "withdraw", from_status=was, note=reason)
        _audit(actor, "withdraw", d, before, reason=reason)
    return d


def close(
    *, actor: Any, dispute: Dispute, outcome: str, note: str = "", version: int | None = None
) -> Dispute:
    """Close: a referred dispute as referred; an agreed one as resolved (or not, when the
    follow-up is not wanted); one in mediation as resolved or not resolved, with a note."""
    with transaction.atomic():
        d = lock(dispute, version)
        _check(d, "close")
        _require_act(actor, d)
        allowed = CLOSE_OUTCOMES[d.status]
        if outcome not in allowed:
            raise InvalidInput(
                _("a dispute that is %(status)s closes as: %(outcomes)s")
                % {
                    "status": Status(d.status).label,
                    "outcomes": ", ".join(str(Outcome(o).label) for o in sorted(allowed)),
                },
                details={"field": "outcome"},
            )
        note = _capped(note, "note", NOTE_MAX)
        if d.status != Status.REFERRED or outcome != Outcome.REFERRED:
            note = _required(note, "note", _("say how the dispute ended"))
        before, was = _snapshot(d), d.status
        _end_stage(d, Stage.Result.AGREED if outcome == Outcome.RESOLVED else Stage.Result.CLOSED)
        FollowUp.objects.filter(dispute=d, done_at__isnull=True).delete()
        d.status, d.outcome, d.closed_at, d.due_at = Status.CLOSED, outcome, clock.now(), None
        if note:
            d.outcome_note = note
        _save(d, ["status", "outcome", "outcome_note", "closed_at", "due_at"])
        _event(d, actor, "close", from_status=was, note=note, data={"outcome": outcome})
        _audit(actor, "close", d, before, reason=note, outcome=outcome)
    return d
