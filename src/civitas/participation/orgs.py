"""Organisations and participants (双报到): the services.

An organisation is registered by the staff of its area (active at once) or by a resident on
its behalf (pending until the partner unit's staff confirm it); it can be suspended and
reactivated with a reason. A resident reports to the community where they live as a volunteer
and/or a party member, linking their own organisation; the community's staff confirm or
decline; the person may leave. Every write is audited; the people concerned are told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.hub import keys
from civitas.kit import audit, clock, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Role, Unit, UnitKind, User
from civitas.participation import public
from civitas.participation.access_rules import managing_units, may_manage
from civitas.participation.models import Offer, Organisation, OrgKind, Participant

STAFF_TO_TELL = (Role.UNIT_HANDLER, Role.UNIT_LEADER)
NAME_MAX = 200
DESCRIPTION_MAX = 2000  # shown on the organisation's public page
CONTACT_NAME_MAX = 120
REASON_MAX = 300


def label(actor: Any) -> str:
    return audit.actor_label(actor)[:120]


def person(actor: Any) -> User:
    """The signed-in person acting (API keys and the anonymous public may not)."""
    if isinstance(actor, User) and actor.is_authenticated and actor.is_active:
        return actor
    if isinstance(actor, ApiKey):
        raise Forbidden(_("only a signed-in person may do this, not an API key"))
    raise Forbidden(_("please sign in first"))


def clean_offers(values: Any, field_name: str = "offers") -> list[str]:
    chosen = [str(v).strip() for v in (values or []) if str(v).strip()]
    unknown = sorted(set(chosen) - set(Offer.values))
    if unknown:
        raise InvalidInput(
            _("%(field)s: unknown offer %(names)s; choose among %(known)s")
            % {
                "field": field_name,
                "names": ", ".join(unknown),
                "known": ", ".join(Offer.values),
            },
            details={"field": field_name},
        )
    return list(dict.fromkeys(chosen))


def clean_credit_code(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return keys.normalise_credit_code(value)
    except ValueError as exc:
        raise InvalidInput(
            _("credit_code: %(why)s") % {"why": str(exc)}, details={"field": "credit_code"}
        ) from None


def partner_for(place: Jurisdiction) -> Unit | None:
    """The unit looking after a place: its community committee, street office or city centre
    (the nearest one going up)."""
    kinds = (UnitKind.COMMUNITY_COMMITTEE, UnitKind.GOVERNMENT, UnitKind.CENTRE)
    node: Jurisdiction | None = place
    while node is not None:
        unit = (
            Unit.objects.filter(jurisdiction=node, kind__in=kinds, active=True)
            .order_by("kind", "code")
            .first()
        )
        if unit is not None:
            return unit
        node = node.parent
    return None


def committee_of(home: Jurisdiction) -> Unit | None:
    return (
        Unit.objects.filter(jurisdiction=home, kind=UnitKind.COMMUNITY_COMMITTEE, active=True)
        .order_by("code")
        .first()
    )


def _tell(unit: Unit | None, people: list[User], subject: str, body: str, topic: str) -> None:
    targets = people or org_services.people_in(unit, STAFF_TO_TELL)
    for channel, recipient in org_services.notice_addresses(targets, fallback=unit):
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=topic,
            dedupe_key=f"{topic}:{channel}:{recipient}",
        )


# -- organisations --------------------------------------------------------------------------


def org_snapshot(o: Organisation) -> dict[str, Any]:
    return {
        "code": o.code,
        "kind": o.kind,
        "name_en": o.name_en,
        "name_zh": o.name_zh,
        "area": o.jurisdiction_path,
        "offers": list(o.offers),
        "credit_code": o.credit_code,
        "partner_unit": o.partner_unit_id,
        "state": o.state,
        "version": o.version,
    }


@dataclass
class OrgIn:
    kind: str
    name_en: str
    name_zh: str
    jurisdiction: Jurisdiction
    offers: list[str] = field(default_factory=list)
    description: str = ""
    credit_code: str = ""
    contact_name: str = ""
    contact_phone: str = ""


def _check_org(data: OrgIn) -> None:
    if data.kind not in OrgKind.values:
        raise InvalidInput(
            _("kind: choose among %(known)s") % {"known": ", ".join(OrgKind.values)},
            details={"field": "kind"},
        )
    if not data.name_en.strip() and not data.name_zh.strip():
        raise InvalidInput(_("name: give the organisation's name"), details={"field": "name_en"})
    if len(data.contact_phone) > 40:
        raise InvalidInput(_("contact_phone: too long"), details={"field": "contact_phone"})
    for name, limit in (
        ("name_en", NAME_MAX),
        ("name_zh", NAME_MAX),
        ("description", DESCRIPTION_MAX),
        ("contact_name", CONTACT_NAME_MAX),
    ):
        at_most(name, str(getattr(data, name) or "").strip(), limit)


def at_most(field: str, value: str, limit: int) -> None:
    """Refuse a text longer than ``limit``, naming the field."""
    if len(value) > limit:
        raise InvalidInput(
            _("%(field)s: at most %(limit)d characters (this has %(n)d)")
            % {"field": field, "limit": limit, "n": len(value)},
            details={"field": field},
        )


def register_organisation(
    *, actor: Any, data: OrgIn, managers: list[User] | None = None
) -> Organisation:
    """Staff managing the area register it active; anyone else signed in registers it pending,
    for the partner unit's staff to confirm, and acts for it."""
    who = person(actor)
    _check_org(data)
    offers = clean_offers(data.offers)
    credit = clean_credit_code(data.credit_code)
    place = data.jurisdiction
    staff_units = managing_units(who, place.path)
    partner = partner_for(place) or (staff_units[-1] if staff_units else None)
    if partner is None:
        raise InvalidInput(
            _("jurisdiction: no office or committee looks after %(place)s") % {"place": place.code},
            details={"field": "jurisdiction"},
        )
    with transaction.atomic():
        if credit and Organisation.objects.filter(credit_code=credit).exists():
            raise InvalidInput(
                _("credit_code: an organisation with this credit code is already registered"),
                details={"field": "credit_code"},
            )
        o = Organisation.objects.create(
            code=f"tmp-{clock.now().timestamp()}-{who.pk}",
            city=place.root_code,
            kind=data.kind,
            name_en=data.name_en.strip() or data.name_zh.strip(),
            name_zh=data.name_zh.strip() or data.name_en.strip(),
            description=data.description.strip(),
            offers=offers,
            jurisdiction=place,
            jurisdiction_path=place.path,
            credit_code=credit,
            contact_name=data.contact_name.strip(),
            contact_phone=data.contact_phone.strip(),
            partner_unit=partner,
            state=Organisation.State.ACTIVE if staff_units else Organisation.State.PENDING,
            registered_by=label(who),
        )
        o.code = f"{o.city}-ORG-{o.pk:04d}"
        o.save(update_fields=["code"])
        if staff_units:
            if managers:
                o.managers.add(*managers)
        else:
            o.managers.add(who)
        audit.record(
            actor=who,
            action="participation.org_register",
            object_type="participation.organisation",
            object_id=o.pk,
            after=org_snapshot(o),
        )
        if o.state == Organisation.State.PENDING:
            _tell(
                partner,
                [],
                _("An organisation asks to be registered: %(name)s")
                % {"name": public.scrub(o.name)},
                _("%(name)s (%(code)s) asks to take part in %(place)s; please confirm it.")
                % {"name": public.scrub(o.name), "code": o.code, "place": place.name},
                f"participation-org:{o.pk}:register",
            )
    return o


def _lock_org(code_or_pk: str | int, version: int | None) -> Organisation:
    qs = Organisation.objects.select_for_update(of=("self",), no_key=True).select_related(
        "jurisdiction", "partner_unit"
    )
    o = (
        qs.filter(pk=code_or_pk) if isinstance(code_or_pk, int) else qs.filter(code=code_or_pk)
    ).first()
    if o is None:
        raise NotFound(_("no organisation %(code)s") % {"code": code_or_pk})
    if version is not None and o.version != version:
        raise Conflict(
            _("%(code)s was changed meanwhile; reload and try again") % {"code": o.code},
            code="stale",
        )
    return o


def _require_org_staff(actor: Any, o: Organisation) -> User:
    who = person(actor)
    if not may_manage(who, o.jurisdiction_path):
        raise Forbidden(
            _("only the staff of %(place)s may do this") % {"place": o.jurisdiction.name},
            details={"action": "participation.manage"},
        )
    return who


ORG_MOVES = {
    # move: (from states, to state, reason required)
    "confirm": ({Organisation.State.PENDING}, Organisation.State.ACTIVE, False),
    "suspend": (
        {Organisation.State.ACTIVE, Organisation.State.PENDING},
        Organisation.State.SUSPENDED,
        True,
    ),
    "reactivate": ({Organisation.State.SUSPENDED}, Organisation.State.ACTIVE, True),
}


def move_organisation(
    *, actor: Any, org: str | int, move: str, reason: str = "", version: int | None = None
) -> Organisation:
    """confirm (pending → active), suspend (with a reason), reactivate (with a reason)."""
    if move not in ORG_MOVES:
        raise InvalidInput(
            _("unknown action %(move)s") % {"move": move}, details={"field": "action"}
        )
    sources, target, needs_reason = ORG_MOVES[move]
    reason = reason.strip()
    if needs_reason and not reason:
        raise InvalidInput(_("reason: say why"), details={"field": "reason"})
    at_most("reason", reason, REASON_MAX)
    with transaction.atomic():
        o = _lock_org(org, version)
        who = _require_org_staff(actor, o)
        if o.state not in sources:
            raise Conflict(
                _("%(code)s is %(state)s: it cannot be %(move)s now")
                % {"code": o.code, "state": o.get_state_display(), "move": move},
                code="illegal_move",
            )
        before = org_snapshot(o)
        o.state = target
        o.state_reason = reason
        o.version += 1
        o.save(update_fields=["state", "state_reason", "version"])
        audit.record(
            actor=who,
            action=f"participation.org_{move}",
            object_type="participation.organisation",
            object_id=o.pk,
            before=before,
            after=org_snapshot(o),
            reason=reason,
        )
        _tell(
            None,
            list(o.managers.filter(is_active=True)),
            _("%(name)s: %(state)s")
            % {"name": public.scrub(o.name), "state": o.get_state_display()},
            public.scrub(reason)
            or _("%(name)s is now %(state)s.")
            % {"name": public.scrub(o.name), "state": o.get_state_display()},
            f"participation-org:{o.pk}:{o.version}",
        )
    return o


def add_manager(*, actor: Any, org: str | int, user: User) -> Organisation:
    with transaction.atomic():
        o = _lock_org(org, None)
        who = _require_org_staff(actor, o)
        o.managers.add(user)
        audit.record(
            actor=who,
            action="participation.org_manager_add",
            object_type="participation.organisation",
            object_id=o.pk,
            after={"manager": user.pk},
        )
    return o


def may_see_contacts(actor: Any, o: Organisation) -> bool:
    """The contact person and phone: staff managing the area, the partner unit's staff, and
    the people acting for the organisation. Never the public."""
    if not isinstance(actor, User) or not actor.is_authenticated:
        return False
    if may_manage(actor, o.jurisdiction_path):
        return True
    scope = access.scope_of(actor)
    if o.partner_unit_id in scope.unit_ids and "participation.read" in scope.actions:
        return True
    return o.managers.filter(pk=actor.pk).exists()


# -- participants (双报到) ---------------------------------------------------------------------


def part_snapshot(p: Participant) -> dict[str, Any]:
    return {
        "user": p.user_id,
        "home": p.home_path,
        "volunteer": p.is_volunteer,
        "party_member": p.is_party_member,
        "organisation": p.organisation_id,
        "skills": list(p.skills),
        "state": p.state,
    }


def report(
    *,
    actor: Any,
    home: Jurisdiction,
    is_volunteer: bool,
    is_party_member: bool,
    organisation: Organisation | None = None,
    skills: list[str] | None = None,
) -> Participant:
    """A resident reports to the community where they live (again after leaving)."""
    who = person(actor)
    if not (is_volunteer or is_party_member):
        raise InvalidInput(
            _("is_volunteer: report as a volunteer, a party member or both"),
            details={"field": "is_volunteer"},
        )
    committee = committee_of(home)
    if committee is None:
        raise InvalidInput(
            _("home: %(place)s is not a community with a residents' committee")
            % {"place": home.code},
            details={"field": "home"},
        )
    if organisation is not None and organisation.state != Organisation.State.ACTIVE:
        raise InvalidInput(
            _("organisation: %(code)s is not active") % {"code": organisation.code},
            details={"field": "organisation"},
        )
    offered = clean_offers(skills, "skills")
    with transaction.atomic():
        existing = (
            Participant.objects.select_for_update(of=("self",), no_key=True)
            .filter(user=who)
            .first()
        )
        before = part_snapshot(existing) if existing else None
        if existing is not None and existing.state != Participant.State.LEFT:
            raise Conflict(
                _("you have already reported to a community (%(state)s); leave first to move")
                % {"state": existing.get_state_display()},
                code="illegal_move",
            )
        p = existing or Participant(user=who)
        p.city = home.root_code
        p.home = home
        p.home_path = home.path
        p.is_volunteer = is_volunteer
        p.is_party_member = is_party_member
        p.organisation = organisation
        p.skills = offered
        p.state = Participant.State.PENDING
        p.reported_at = clock.now()
        p.confirmed_by, p.confirmed_at, p.note = "", None, ""
        p.save()
        audit.record(
            actor=who,
            action="participation.report",
            object_type="participation.participant",
            object_id=p.pk,
            before=before,
            after=part_snapshot(p),
        )
        _tell(
            committee,
            [],
            _("A resident reports to %(place)s") % {"place": home.name},
            _(
                "A resident reports to the community as a volunteer or party member; please "
                "confirm or decline."
            ),
            f"participation-part:{p.pk}:{p.reported_at.isoformat()}",
        )
    return p


def _lock_part(pk: int) -> Participant:
    p = (
        Participant.objects.select_for_update(of=("self",), no_key=True)
        .select_related("home", "user")
        .filter(pk=pk)
        .first()
    )
    if p is None:
        raise NotFound(_("no participant %(id)s") % {"id": pk})
    return p


def decide_participant(
    *, actor: Any, participant: int, confirm: bool, reason: str = ""
) -> Participant:
    """The community's staff confirm a pending report, or decline it with a reason."""
    reason = reason.strip()
    if not confirm and not reason:
        raise InvalidInput(_("reason: say why the report is declined"), details={"field": "reason"})
    at_most("reason", reason, REASON_MAX)
    with transaction.atomic():
        p = _lock_part(participant)
        who = person(actor)
        if not may_manage(who, p.home_path):
            raise Forbidden(
                _("only the staff of %(place)s may confirm the people living there")
                % {"place": p.home.name},
                details={"action": "participation.manage"},
            )
        if p.state != Participant.State.PENDING:
            raise Conflict(
                _("this report is %(state)s, not awaiting confirmation")
                % {"state": p.get_state_display()},
                code="illegal_move",
            )
        before = part_snapshot(p)
        p.state = Participant.State.ACTIVE if confirm else Participant.State.LEFT
        p.confirmed_by, p.confirmed_at = label(who), clock.now()
        p.note = "" if confirm else reason
        p.save(update_fields=["state", "confirmed_by", "confirmed_at", "note"])
        audit.record(
            actor=who,
            action="participation.confirm" if confirm else "participation.decline",
            object_type="participation.participant",
            object_id=p.pk,
            before=before,
            after=part_snapshot(p),
            reason=reason,
        )
        _tell(
            None,
            [p.user],
            _("Your report to %(place)s") % {"place": p.home.name},
            _("The community confirmed you.")
            if confirm
            else _("The community declined: %(why)s") % {"why": public.scrub(reason)},
            f"participation-part:{p.pk}:{p.confirmed_at.isoformat()}",
        )
    return p


def leave(*, actor: Any) -> Participant:
    who = person(actor)
    with transaction.atomic():
        p = (
            Participant.objects.select_for_update(of=("self",), no_key=True)
            .filter(user=who)
            .first()
        )
        if p is None or p.state == Participant.State.LEFT:
            raise Conflict(_("you are not taking part anywhere"), code="illegal_move")
        before = part_snapshot(p)
        p.state = Participant.State.LEFT
        p.note = ""
        p.save(update_fields=["state", "note"])
        audit.record(
            actor=who,
            action="participation.leave",
            object_type="participation.participant",
            object_id=p.pk,
            before=before,
            after=part_snapshot(p),
        )
    return p
