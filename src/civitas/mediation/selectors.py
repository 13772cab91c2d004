"""Reading disputes, always through the one door (``access.readable``), with the parties'
names and contacts masked for whoever may not see them (``services.may_see_parties``).

    disputes(actor, filters: Filters | None = None) -> QuerySet[Dispute]
    dispute(actor, code) -> Dispute | None
    parties(actor, dispute) -> list[PartyView]
    detail(actor, dispute) -> Detail
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import InvalidInput
from civitas.mediation import services
from civitas.mediation.models import (
    OPEN_STATUSES,
    Agreement,
    Dispute,
    DisputeType,
    Event,
    FollowUp,
    Party,
    Session,
    Stage,
    Status,
    Tier,
)
from civitas.org import access


@dataclass
class Filters:
    status: str = ""  # comma-separated; "open" for every open status
    tier: str = ""
    type: str = ""
    area: str = ""  # a jurisdiction code: its subtree
    q: str = ""  # code or words of the title
    unit: str = ""  # the handling unit's code


def _choice(value: str, allowed: list[str], name: str) -> list[str]:
    wanted = [v.strip() for v in (value or "").split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(allowed))
    if unknown:
        raise InvalidInput(
            _("unknown %(field)s %(values)s; choose from %(allowed)s")
            % {"field": name, "values": ", ".join(unknown), "allowed": ", ".join(allowed)},
            details={"field": name},
        )
    return wanted


def disputes(actor: Any, filters: Filters | None = None) -> QuerySet[Dispute]:
    """The disputes ``actor`` may read, newest first, narrowed by ``filters``."""
    f = filters or Filters()
    qs = access.readable(actor, Dispute.objects.all()).select_related(
        "unit", "jurisdiction", "lead_mediator"
    )
    statuses = _choice(f.status, [*Status.values, "open"], "status")
    if statuses:
        wanted = set(statuses) - {"open"}
        if "open" in statuses:
            wanted |= set(OPEN_STATUSES)
        qs = qs.filter(status__in=sorted(wanted))
    tiers = _choice(f.tier, list(Tier.values), "tier")
    if tiers:
        qs = qs.filter(tier__in=tiers)
    types = _choice(f.type, list(DisputeType.values), "type")
    if types:
        qs = qs.filter(type__in=types)
    if f.area:
        place = Jurisdiction.objects.filter(code=f.area.strip()).first()
        if place is None:
            raise InvalidInput(
                _("no area with the code %(code)s") % {"code": repr(f.area)},
                details={"field": "area"},
            )
        qs = qs.filter(jurisdiction_path__startswith=place.path)
    if f.unit:
        qs = qs.filter(unit__code=f.unit.strip())
    text = (f.q or "").strip()
    if text:
        if len(text) > 100:
            raise InvalidInput(_("search for at most 100 characters"), details={"field": "q"})
        qs = qs.filter(Q(code__icontains=text) | Q(title__icontains=text))
    return qs.order_by("-received_at", "-pk")


def dispute(actor: Any, code: str) -> Dispute | None:
    return (
        access.readable(actor, Dispute.objects.filter(code=code))
        .select_related("unit", "jurisdiction", "lead_mediator", "appeal", "risk")
        .first()
    )


@dataclass(frozen=True)
class PartyView:
    """A party as ``actor`` may see it: masked, the label replaces name and contacts."""

    side: str
    kind: str
    label: str
    name: str
    phone: str
    address: str
    credit_code: str
    representative: str
    district: str
    masked: bool


def parties(actor: Any, d: Dispute, *, visible: bool | None = None) -> list[PartyView]:
    show = services.may_see_parties(actor, d) if visible is None else visible
    counts: dict[str, int] = {}
    out: list[PartyView] = []
    for p in Party.objects.filter(dispute=d).select_related("jurisdiction").order_by("pk"):
        counts[p.side] = counts.get(p.side, 0) + 1
        label = services.party_label(p, counts[p.side])
        # An organisation's name is not personal data; its contacts are.
        name_shown = show or p.kind == Party.Kind.ORGANISATION
        out.append(
            PartyView(
                side=p.side,
                kind=p.kind,
                label=label,
                name=p.name if name_shown else label,
                phone=p.phone if show else "",
                address=p.address if show else "",
                credit_code=p.credit_code if name_shown else "",
                representative=p.representative if show else "",
                district=p.jurisdiction.code if p.jurisdiction_id and p.jurisdiction else "",
                masked=not show,
            )
        )
    return out


@dataclass
class Detail:
    dispute: Dispute
    parties: list[PartyView]
    parties_visible: bool
    stages: list[Stage]
    sessions: list[Session]
    agreements: list[Agreement]
    follow_ups: list[FollowUp]
    events: list[Event]
    moves: list[str] = field(default_factory=list)


def detail(actor: Any, d: Dispute) -> Detail:
    show = services.may_see_parties(actor, d)
    return Detail(
        dispute=d,
        parties=parties(actor, d, visible=show),
        parties_visible=show,
        stages=list(Stage.objects.filter(dispute=d).select_related("unit").order_by("pk")),
        sessions=list(
            Session.objects.filter(dispute=d).prefetch_related("mediators").order_by("number")
        ),
        agreements=list(Agreement.objects.filter(dispute=d).order_by("made_at", "pk")),
        follow_ups=list(FollowUp.objects.filter(dispute=d).order_by("due_on", "pk")),
        events=list(Event.objects.filter(dispute=d).order_by("at", "pk")),
        moves=services.allowed_moves(actor, d),
    )
