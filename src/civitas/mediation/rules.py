"""Where a dispute is mediated: the lowest level capable of it, the channel, the deadline.

:func:`assign` is pure: from the facts of a dispute (type, amount at stake, people involved,
risk level, the districts the parties are in) it returns the level (tier), the channel and the
reasons, each reason a code with its numbers (:func:`reason_text` words it in the active
language). The rules, lowest level first:

- every dispute starts at the community mediation committee;
- a medium risk, an amount of at least ``street_amount`` yuan, at least ``street_people``
  people, or a type listed in ``type_tier`` (land and housing) needs at least the street;
- a high risk, at least ``district_amount`` yuan or ``district_people`` people, or a type the
  district centre handles (medical) needs at least the district;
- parties in different districts, or at least ``city_amount`` yuan: the city coordinates.

The channel follows the type: labour and wages go to people's mediation first and to labour
arbitration when it fails; traffic accidents and consumer disputes to administrative
mediation; the rest to people's mediation. Court and petition-office referral are outcomes
(:func:`after_failure`), never a starting channel.

:func:`body_for` then finds the unit: the mediation committee of the place's ancestor at that
level (a community may mediate through its community committee; a district or the city through
its service centre when it has no mediation centre); when the level has none, the next level
up (the lowest *capable* level). :func:`deadline` gives the stage's deadline: 15 days at a
community, 30 at a street or a district, 45 at the city, 15 for labour disputes (Labour
Dispute Mediation and Arbitration Law, art. 14).

Every threshold is a named default that ``settings.CIVITAS_MEDIATION_RULES`` (a dict with the
same keys) may override.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.mediation.models import (
    RISK_RANK,
    TIER_RANK,
    Channel,
    DisputeType,
    RiskLevel,
    Tier,
)
from civitas.org.models import Unit, UnitKind

TIERS: tuple[str, ...] = (Tier.COMMUNITY, Tier.STREET, Tier.DISTRICT, Tier.CITY)

# The jurisdiction level (Level.code) each tier sits at.
TIER_LEVEL: dict[str, str] = {
    Tier.COMMUNITY: "community",
    Tier.STREET: "street",
    Tier.DISTRICT: "district",
    Tier.CITY: "city",
}

DEFAULTS: dict[str, Any] = {
    # yuan at stake from which a level is needed
    "street_amount": 50_000,
    "district_amount": 500_000,
    "city_amount": 10_000_000,
    # people involved from which a level is needed (a group dispute)
    "street_people": 5,
    "district_people": 30,
    # the lowest level for a type
    "type_tier": {DisputeType.LAND: Tier.STREET, DisputeType.MEDICAL: Tier.DISTRICT},
    # the lowest level for a risk level
    "risk_tier": {RiskLevel.MEDIUM: Tier.STREET, RiskLevel.HIGH: Tier.DISTRICT},
    # calendar days a stage has, per tier; per type where the law sets its own
    "deadline_days": {Tier.COMMUNITY: 15, Tier.STREET: 30, Tier.DISTRICT: 30, Tier.CITY: 45},
    "type_deadline_days": {DisputeType.LABOUR: 15},
    # days after signing (or the date the agreement is to be performed by) of the follow-up
    "follow_up_days": 7,
}


def setting(name: str) -> Any:
    """A rule's threshold: ``settings.CIVITAS_MEDIATION_RULES[name]`` or the default."""
    overrides = getattr(settings, "CIVITAS_MEDIATION_RULES", None) or {}
    return overrides.get(name, DEFAULTS[name])


@dataclass(frozen=True)
class Facts:
    type: str
    amount: Decimal | int | float | None = None
    people_involved: int = 2
    risk_level: str = RiskLevel.LOW
    districts: Sequence[str] = ()


@dataclass(frozen=True)
class Assignment:
    tier: str
    channel: str
    # [{"code": ..., **numbers}], lowest first; see reason_text
    reasons: list[dict[str, Any]] = field(default_factory=list)


def higher(a: str, b: str) -> str:
    return a if TIER_RANK[Tier(a)] >= TIER_RANK[Tier(b)] else b


def tier_above(tier: str) -> str | None:
    i = TIERS.index(tier)
    return TIERS[i + 1] if i + 1 < len(TIERS) else None


def channel_for(dispute_type: str) -> str:
    if dispute_type in (DisputeType.TRAFFIC, DisputeType.CONSUMER):
        return Channel.ADMINISTRATIVE
    return Channel.PEOPLES


def assign(facts: Facts) -> Assignment:
    """The lowest level that may handle a dispute with these facts, its channel, and why."""
    tier: str = Tier.COMMUNITY
    reasons: list[dict[str, Any]] = []

    def need(at_least: str, reason: dict[str, Any]) -> None:
        nonlocal tier
        reasons.append({**reason, "tier": at_least})
        tier = higher(tier, at_least)

    amount = Decimal(str(facts.amount)) if facts.amount is not None else None
    type_tier = setting("type_tier").get(facts.type)
    if type_tier:
        need(type_tier, {"code": "type", "type": facts.type})
    risk_tier = setting("risk_tier").get(facts.risk_level)
    if risk_tier:
        need(risk_tier, {"code": "risk", "risk": facts.risk_level})
    if amount is not None:
        for name, at in (
            ("city_amount", Tier.CITY),
            ("district_amount", Tier.DISTRICT),
            ("street_amount", Tier.STREET),
        ):
            if amount >= Decimal(str(setting(name))):
                need(at, {"code": "amount", "amount": str(amount), "threshold": setting(name)})
                break
    for name, at in (("district_people", Tier.DISTRICT), ("street_people", Tier.STREET)):
        if facts.people_involved >= int(setting(name)):
            need(
                at,
                {"code": "people", "people": facts.people_involved, "threshold": setting(name)},
            )
            break
    districts = sorted({d for d in facts.districts if d})
    if len(districts) > 1:
        need(Tier.CITY, {"code": "cross_district", "districts": districts})
    if not reasons:
        reasons.append({"code": "lowest", "tier": Tier.COMMUNITY})
    return Assignment(tier=tier, channel=channel_for(facts.type), reasons=reasons)


@dataclass(frozen=True)
class NextStep:
    """What follows a failed mediation: a higher level, or a referral out."""

    kind: str  # "escalate" or "refer"
    tier: str | None = None
    channel: str = ""
    reason: dict[str, Any] = field(default_factory=dict)


def after_failure(dispute_type: str, tier: str, channel: str) -> NextStep:
    """Labour disputes go to labour arbitration; administrative mediation that fails leaves
    the court; people's mediation goes up a level, and to the court from the city."""
    if dispute_type == DisputeType.LABOUR or channel == Channel.LABOUR_ARBITRATION:
        return NextStep(
            "refer", channel=Channel.LABOUR_ARBITRATION, reason={"code": "labour_failed"}
        )
    if channel == Channel.ADMINISTRATIVE:
        return NextStep("refer", channel=Channel.COURT, reason={"code": "administrative_failed"})
    up = tier_above(tier)
    if up is None:
        return NextStep("refer", channel=Channel.COURT, reason={"code": "city_failed"})
    return NextStep("escalate", tier=up, channel=channel, reason={"code": "failed", "tier": up})


def deadline(tier: str, dispute_type: str, start: datetime) -> datetime:
    days = setting("type_deadline_days").get(dispute_type) or setting("deadline_days")[tier]
    return start + timedelta(days=int(days))


def follow_up_days() -> int:
    return int(setting("follow_up_days"))


# -- the body for a tier ---------------------------------------------------------------------


def ancestor_at(place: Jurisdiction, level: str) -> Jurisdiction | None:
    """The place itself or its ancestor at ``level`` (a Level.code), if any."""
    codes = place.path.strip("/").split("/")
    return Jurisdiction.objects.filter(code__in=codes, level__code=level).order_by("-depth").first()


def district_of(place: Jurisdiction) -> str:
    d = ancestor_at(place, TIER_LEVEL[Tier.DISTRICT])
    return d.code if d else ""


def _units(where: Jurisdiction, kind: str) -> Unit | None:
    return Unit.objects.filter(jurisdiction=where, kind=kind, active=True).order_by("code").first()


def body_at(place: Jurisdiction, tier: str) -> Unit | None:
    """The unit mediating at exactly ``tier`` for ``place``, or None."""
    where = ancestor_at(place, TIER_LEVEL[tier])
    if where is None:
        return None
    unit = _units(where, UnitKind.MEDIATION_COMMITTEE)
    if unit is None and tier == Tier.COMMUNITY:
        unit = _units(where, UnitKind.COMMUNITY_COMMITTEE)
    if unit is None and tier in (Tier.DISTRICT, Tier.CITY):
        unit = _units(where, UnitKind.CENTRE)
    return unit


def body_for(place: Jurisdiction, tier: str) -> tuple[str, Unit] | None:
    """The lowest level at or above ``tier`` with a body for ``place``: (tier, unit)."""
    at: str | None = tier
    while at is not None:
        unit = body_at(place, at)
        if unit is not None:
            return at, unit
        at = tier_above(at)
    return None


# -- words -----------------------------------------------------------------------------------


def reason_text(reason: dict[str, Any]) -> str:
    """One reason in the active language."""
    from civitas.mediation.models import DisputeType as T
    from civitas.mediation.models import RiskLevel as R
    from civitas.mediation.models import Tier as L

    code = reason.get("code", "")
    tier = str(L(reason["tier"]).label) if reason.get("tier") in L.values else ""
    if code == "lowest":
        return _("handled where it arose: nothing calls for a higher level")
    if code == "type":
        kind = T(reason["type"]).label if reason.get("type") in T.values else reason.get("type")
        return _("%(type)s disputes are handled at least by: %(tier)s") % {
            "type": kind,
            "tier": tier,
        }
    if code == "risk":
        level = R(reason["risk"]).label if reason.get("risk") in R.values else reason.get("risk")
        return _("risk level %(risk)s needs at least: %(tier)s") % {"risk": level, "tier": tier}
    if code == "amount":
        return _("%(amount)s yuan at stake (from %(threshold)s): %(tier)s") % {
            "amount": reason.get("amount"),
            "threshold": reason.get("threshold"),
            "tier": tier,
        }
    if code == "people":
        return _("%(people)s people involved (from %(threshold)s): %(tier)s") % {
            "people": reason.get("people"),
            "threshold": reason.get("threshold"),
            "tier": tier,
        }
    if code == "cross_district":
        return _("the parties are in different districts (%(districts)s): the city coordinates") % {
            "districts": ", ".join(reason.get("districts", []))
        }
    if code == "failed":
        return _("mediation failed at the level below; moved up to %(tier)s") % {"tier": tier}
    if code == "labour_failed":
        return _("labour mediation failed: the parties may apply for labour arbitration")
    if code == "administrative_failed":
        return _("administrative mediation failed: the parties may go to court")
    if code == "city_failed":
        return _("mediation failed at the city: the parties may go to court")
    if code == "overdue":
        return _("the deadline of the level below passed; moved up to %(tier)s") % {"tier": tier}
    if code == "manual":
        return _("escalated by hand: %(note)s") % {"note": reason.get("note", "")}
    if code == "risk_rose":
        return _("the risk rose to %(risk)s: %(tier)s") % {
            "risk": R(reason["risk"]).label if reason.get("risk") in R.values else "",
            "tier": tier,
        }
    if code == "no_body":
        return _("no mediation body at the level asked for; the next level up took it")
    return str(code)


__all__ = [
    "DEFAULTS",
    "RISK_RANK",
    "Assignment",
    "Facts",
    "NextStep",
    "after_failure",
    "assign",
    "body_for",
    "deadline",
    "reason_text",
]
