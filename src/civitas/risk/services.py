"""Handling alerts and keeping the risk register: every write of people on alerts and risks.

Each service runs in one transaction, locks the row it changes (``SELECT … FOR UPDATE``),
refuses a move the alert's or risk's state does not allow, or a form rendered from an older
state (the alert's status, the risk's ``version``), writes a :class:`RiskEvent` on the risk's
timeline and an entry in the audit chain. Detectors store their findings elsewhere
(``risk.alerts``); this module is what people do with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock, numbering, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import Role, Unit
from civitas.risk.models import (
    LEVEL_RANK,
    Alert,
    AlertStatus,
    Level,
    Outcome,
    RiskEvent,
    RiskItem,
    RiskStatus,
)


class IllegalMove(Conflict):
    code = "illegal_transition"


class StaleRisk(Conflict):
    code = "stale"


# Which alert statuses each action on an alert may start from.
ALERT_MOVES: dict[str, frozenset[str]] = {
    "acknowledge": frozenset({AlertStatus.NEW, AlertStatus.SNOOZED}),
    "snooze": frozenset({AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED}),
    "dismiss": frozenset({AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED}),
    "promote": frozenset({AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED}),
}

# How often an open risk is reviewed, by level: the more serious, the more often.
REVIEW_EVERY: dict[str, timedelta] = {
    Level.RED: timedelta(days=1),
    Level.ORANGE: timedelta(days=3),
    Level.YELLOW: timedelta(days=7),
    Level.BLUE: timedelta(days=14),
}

LEVEL_ORDER = [Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED]


def _rank(level: str) -> int:
    return LEVEL_RANK[Level(level)]


def review_due(risk: RiskItem) -> datetime:
    """When the next review of an open risk is due."""
    since = risk.last_review_at or risk.created_at
    return since + REVIEW_EVERY[Level(risk.level)]


def review_overdue(risk: RiskItem, now: datetime | None = None) -> bool:
    return risk.status == RiskStatus.OPEN and (now or clock.now()) > review_due(risk)


def deadline_overdue(risk: RiskItem, now: datetime | None = None) -> bool:
    return risk.status == RiskStatus.OPEN and (now or clock.now()) > risk.deadline


# -- permissions ---------------------------------------------------------------------------


def city_path(city: str) -> str:
    return f"/{city}/"


def may_manage_alert(actor: Any, alert: Alert) -> bool:
    return access.can(actor, "risk.manage", path=alert.jurisdiction_path or city_path(alert.city))


def may_manage_risk(actor: Any, risk: RiskItem) -> bool:
    """Managers whose area covers the risk, or the owner unit's own managers (a unit leader
    keeps the risks given to the unit even where the area is not theirs)."""
    if access.can(actor, "risk.manage", path=risk.jurisdiction_path):
        return True
    scope = access.scope_of(actor)
    return "risk.manage" in scope.actions and risk.owner_unit_id in scope.unit_ids


def _require_alert(actor: Any, alert: Alert) -> None:
    if not may_manage_alert(actor, alert):
        raise Forbidden(
            _("you may not handle alerts in this area (it needs risk.manage here)"),
            details={"action": "risk.manage", "alert": alert.pk},
        )


def _require_risk(actor: Any, risk: RiskItem) -> None:
    if not may_manage_risk(actor, risk):
        raise Forbidden(
            _("you may not manage risk %(code)s (it needs risk.manage in its area or unit)")
            % {"code": risk.code},
            details={"action": "risk.manage", "risk": risk.code},
        )


# -- helpers -------------------------------------------------------------------------------


def _label(actor: Any) -> str:
    return audit.actor_label(actor)[:120]


def _required_text(value: str, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(what, details={"field": field})
    return text


def _level(value: str, field: str = "level") -> str:
    if value not in Level.values:
        raise InvalidInput(
            _("unknown level %(level)s; choose red, orange, yellow or blue")
            % {"level": repr(value)},
            details={"field": field},
        )
    return str(value)


def _future(value: datetime | None, field: str) -> datetime:
    if value is None:
        raise InvalidInput(_("give a deadline"), details={"field": field})
    if value.tzinfo is None:
        raise InvalidInput(_("the deadline needs a time zone"), details={"field": field})
    if value <= clock.now():
        raise InvalidInput(
            _("the deadline %(at)s has already passed; choose a later time")
            % {"at": value.isoformat(timespec="minutes")},
            details={"field": field},
        )
    return value


def district_of(path: str) -> str:
    """The code of the district (the city's first subdivision) on a jurisdiction path, or ''
    for the city itself."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) >= 2 else ""


def _alert_snapshot(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "snoozed_until": alert.snoozed_until.isoformat() if alert.snoozed_until else None,
        "risk": alert.risk.code if alert.risk_id and alert.risk else None,
    }


def _risk_snapshot(risk: RiskItem) -> dict[str, Any]:
    return {
        "level": risk.level,
        "status": risk.status,
        "owner_unit": risk.owner_unit.code,
        "measures": risk.measures,
        "deadline": risk.deadline.isoformat(),
        "districts": list(risk.districts),
        "outcome": risk.outcome,
        "version": risk.version,
    }


def _lock_alert(alert: Alert | int, expected_status: str | None) -> Alert:
    pk = alert.pk if isinstance(alert, Alert) else alert
    # NO KEY UPDATE: rows that merely point to the alert (its appeal links, written by the
    # detectors) may still be added while a person handles it.
    locked = Alert.objects.select_for_update(no_key=True).filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("no alert %(id)s") % {"id": pk})
    if expected_status and locked.status != expected_status:
        raise StaleRisk(
            _(
                "the alert changed while you were looking at it (now: %(status)s); "
                "reload it and try again"
            )
            % {"status": locked.get_status_display()},
            details={"status": locked.status},
        )
    return locked


def _check_move(alert: Alert, action: str) -> None:
    if alert.status not in ALERT_MOVES[action]:
        raise IllegalMove(
            _("an alert that is %(status)s cannot be %(action)s")
            % {"status": alert.get_status_display().lower(), "action": _ACTION_WORDS[action]},
            details={"status": alert.status, "action": action},
        )


_ACTION_WORDS = {
    "acknowledge": gettext_lazy("acknowledged"),
    "snooze": gettext_lazy("snoozed"),
    "dismiss": gettext_lazy("dismissed"),
    "promote": gettext_lazy("made a risk"),
}


def _lock_risk(risk: RiskItem | int, expected_version: int | None) -> RiskItem:
    pk = risk.pk if isinstance(risk, RiskItem) else risk
    # NO KEY UPDATE: the detectors add timeline entries to a risk while holding its alerts;
    # a full FOR UPDATE here would wait for them while they wait for us.
    locked = RiskItem.objects.select_for_update(no_key=True).filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("no risk %(id)s") % {"id": pk})
    if expected_version is not None and locked.version != expected_version:
        raise StaleRisk(
            _(
                "risk %(code)s changed while you were looking at it (you saw version "
                "%(seen)s, it is now %(now)s); reload it and try again"
            )
            % {"code": locked.code, "seen": expected_version, "now": locked.version},
            details={"version": locked.version},
        )
    return locked


def _open(risk: RiskItem) -> None:
    if risk.status != RiskStatus.OPEN:
        raise IllegalMove(
            _("risk %(code)s is closed; reopen it first") % {"code": risk.code},
            details={"status": risk.status},
        )


def _event(
    risk: RiskItem,
    actor: Any,
    action: str,
    *,
    note: str = "",
    from_level: str = "",
    to_level: str = "",
    data: dict[str, Any] | None = None,
) -> RiskEvent:
    return RiskEvent.objects.create(
        risk=risk,
        at=clock.now(),
        actor=_label(actor),
        action=action,
        note=note,
        from_level=from_level,
        to_level=to_level,
        data=data or {},
    )


def _save(risk: RiskItem, fields: Iterable[str]) -> None:
    risk.version += 1
    risk.updated_at = clock.now()
    risk.save(update_fields=[*fields, "version", "updated_at"])


def _audit_risk(
    actor: Any, action: str, risk: RiskItem, before: Any, reason: str = "", **extra: Any
) -> None:
    audit.record(
        actor=actor,
        action=f"risk.{action}",
        object_type="risk",
        object_id=risk.code,
        before=before,
        after=_risk_snapshot(risk),
        reason=reason,
        extra=extra or None,
    )


# -- alerts --------------------------------------------------------------------------------


def _alert_move(
    actor: Any,
    alert: Alert | int,
    action: str,
    *,
    expected_status: str | None,
    note: str,
    reason: str = "",
    **changes: Any,
) -> Alert:
    with transaction.atomic():
        locked = _lock_alert(alert, expected_status)
        _require_alert(actor, locked)
        _check_move(locked, action)
        before = _alert_snapshot(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.handled_by = _label(actor)
        locked.handled_note = note
        locked.updated_at = clock.now()
        locked.save(update_fields=[*changes, "handled_by", "handled_note", "updated_at"])
        audit.record(
            actor=actor,
            action=f"risk.alert.{action}",
            object_type="risk.alert",
            object_id=locked.pk,
            before=before,
            after=_alert_snapshot(locked),
            reason=reason or note,
        )
    return locked


def acknowledge(
    *, actor: Any, alert: Alert | int, note: str = "", expected_status: str | None = None
) -> Alert:
    """Someone has seen the alert and is looking into it."""
    return _alert_move(
        actor,
        alert,
        "acknowledge",
        expected_status=expected_status,
        note=(note or "").strip(),
        status=AlertStatus.ACKNOWLEDGED,
        snoozed_until=None,
    )


def snooze(
    *,
    actor: Any,
    alert: Alert | int,
    until: datetime | None,
    reason: str,
    expected_status: str | None = None,
) -> Alert:
    """Put the alert aside until a time; a re-detection before then does not raise it again."""
    text = _required_text(reason, "reason", _("say why the alert is snoozed"))
    if until is None:
        raise InvalidInput(_("say until when the alert is snoozed"), details={"field": "until"})
    if until.tzinfo is None:
        raise InvalidInput(_("the time needs a time zone"), details={"field": "until"})
    now = clock.now()
    if until <= now:
        raise InvalidInput(
            _("snooze until a time in the future, not %(at)s")
            % {"at": until.isoformat(timespec="minutes")},
            details={"field": "until"},
        )
    if until > now + timedelta(days=90):
        raise InvalidInput(
            _("an alert may be snoozed for at most 90 days; dismiss it instead"),
            details={"field": "until"},
        )
    return _alert_move(
        actor,
        alert,
        "snooze",
        expected_status=expected_status,
        note=text,
        status=AlertStatus.SNOOZED,
        snoozed_until=until,
    )


def dismiss(
    *, actor: Any, alert: Alert | int, reason: str, expected_status: str | None = None
) -> Alert:
    """Not a risk (a false alarm, a known cause): the reason is kept with the alert."""
    text = _required_text(reason, "reason", _("say why the alert is dismissed"))
    return _alert_move(
        actor,
        alert,
        "dismiss",
        expected_status=expected_status,
        note=text,
        status=AlertStatus.DISMISSED,
        snoozed_until=None,
    )


# -- risks ---------------------------------------------------------------------------------


def _insert_risk(fields: dict[str, Any]) -> RiskItem:
    """Numbered ``<CITY>-R-<YYYY>-<NNNN>``, the next free number of the city and year."""
    prefix = f"{fields['city']}-R-{clock.now().year}-"
    return numbering.create_numbered(
        RiskItem, prefix, 4, fields, _("could not number the risk; try again")
    )


def _root(city: str) -> Jurisdiction:
    root = Jurisdiction.objects.filter(code=city, parent__isnull=True).first()
    if root is None:
        raise InvalidInput(_("no city %(city)s") % {"city": repr(city)}, details={"field": "city"})
    return root


def _common_jurisdiction(city: str, alerts: Sequence[Alert]) -> Jurisdiction:
    """The deepest place containing every alert's area (the city when they have none)."""
    paths = [a.jurisdiction_path for a in alerts if a.jurisdiction_path]
    if not paths:
        return _root(city)
    split = [[p for p in path.split("/") if p] for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if all(p == parts[0] for p in parts):
            common.append(parts[0])
        else:
            break
    if not common:
        return _root(city)
    return Jurisdiction.objects.get(code=common[-1])


@dataclass
class RiskIn:
    title: str
    level: str
    owner_unit: Unit | None
    deadline: datetime | None
    measures: str = ""
    description: str = ""
    jurisdiction: Jurisdiction | None = None
    matter: Matter | None = None


def _check_in(city: str, data: RiskIn) -> tuple[str, str, Unit, datetime]:
    title = _required_text(data.title, "title", _("give the risk a title"))
    if len(title) > 200:
        raise InvalidInput(_("the title is longer than 200 characters"), details={"field": "title"})
    level = _level(data.level)
    if data.owner_unit is None:
        raise InvalidInput(_("choose the unit that owns the risk"), details={"field": "owner_unit"})
    if data.owner_unit.city != city:
        raise InvalidInput(
            _("unit %(unit)s is not a unit of %(city)s")
            % {"unit": data.owner_unit.code, "city": city},
            details={"field": "owner_unit"},
        )
    if not data.owner_unit.active:
        raise InvalidInput(
            _("unit %(unit)s is no longer active") % {"unit": data.owner_unit.code},
            details={"field": "owner_unit"},
        )
    deadline = _future(data.deadline, "deadline")
    return title, level, data.owner_unit, deadline


def create_risk(
    *,
    actor: Any,
    city: str,
    data: RiskIn,
    alerts: Sequence[Alert | int] = (),
    system: bool = False,
) -> RiskItem:
    """Open a risk in the register, directly or from alerts (which then point to it).

    ``system=True`` is for internal callers that open a risk on their own rules (a dispute
    rated high risk, civitas.mediation): no person's risk.manage is asked; ``actor`` is then
    a text naming the service (it is what the timeline and the audit chain record). It takes
    no alerts."""
    if system and (not isinstance(actor, str) or not actor or alerts):
        raise ValueError("a system risk names its service as actor and takes no alerts")
    with transaction.atomic():
        locked_alerts = [_lock_alert(a, None) for a in alerts]
        for a in locked_alerts:
            if a.city != city:
                raise InvalidInput(
                    _("alert %(id)s is of another city") % {"id": a.pk},
                    details={"field": "alerts"},
                )
            _require_alert(actor, a)
            _check_move(a, "promote")
        title, level, owner, deadline = _check_in(city, data)
        place = data.jurisdiction or _common_jurisdiction(city, locked_alerts)
        if not place.path.startswith(city_path(city)):
            raise InvalidInput(
                _("%(place)s is not in %(city)s") % {"place": place.code, "city": city},
                details={"field": "jurisdiction"},
            )
        if not system and not access.can(actor, "risk.manage", path=place.path):
            raise Forbidden(
                _("you may not open risks in %(place)s (it needs risk.manage there)")
                % {"place": place.name},
                details={"action": "risk.manage"},
            )
        matter = data.matter
        if matter is None:
            matters = {a.matter_id for a in locked_alerts if a.matter_id}
            if len(matters) == 1:
                matter = Matter.objects.get(pk=matters.pop())
        districts: list[str] = []
        for path in [place.path, *(a.jurisdiction_path for a in locked_alerts)]:
            d = district_of(path)
            if d and d not in districts:
                districts.append(d)
        now = clock.now()
        risk = _insert_risk(
            {
                "city": city,
                "title": title,
                "description": (data.description or "").strip(),
                "level": level,
                "owner_unit": owner,
                "jurisdiction": place,
                "jurisdiction_path": place.path,
                "districts": districts,
                "matter": matter,
                "measures": (data.measures or "").strip(),
                "deadline": deadline,
                "created_by": _label(actor),
                "created_at": now,
                "updated_at": now,
            }
        )
        _event(
            risk,
            actor,
            "create",
            to_level=level,
            note=risk.measures,
            data={
                "owner_unit": owner.code,
                "deadline": deadline.isoformat(),
                "alerts": [a.pk for a in locked_alerts],
                "districts": districts,
            },
        )
        audit.record(
            actor=actor,
            action="risk.create",
            object_type="risk",
            object_id=risk.code,
            after=_risk_snapshot(risk),
            extra={"alerts": [a.pk for a in locked_alerts]} if locked_alerts else None,
        )
        for a in locked_alerts:
            _link(actor, risk, a)
    return risk


def _link(actor: Any, risk: RiskItem, alert: Alert) -> None:
    before = _alert_snapshot(alert)
    alert.status = AlertStatus.PROMOTED
    alert.risk = risk
    alert.snoozed_until = None
    alert.handled_by = _label(actor)
    alert.handled_note = risk.code
    alert.updated_at = clock.now()
    alert.save(
        update_fields=[
            "status",
            "risk",
            "snoozed_until",
            "handled_by",
            "handled_note",
            "updated_at",
        ]
    )
    _event(
        risk,
        actor,
        "alert",
        data={"alert": alert.pk, "kind": alert.kind, "detected_on": alert.detected_on.isoformat()},
    )
    audit.record(
        actor=actor,
        action="risk.alert.promote",
        object_type="risk.alert",
        object_id=alert.pk,
        before=before,
        after=_alert_snapshot(alert),
        reason=risk.code,
    )


def promote(
    *,
    actor: Any,
    alerts: Sequence[Alert | int],
    data: RiskIn,
    expected_status: str | None = None,
) -> RiskItem:
    """Make one or more alerts a new risk."""
    if not alerts:
        raise InvalidInput(_("choose at least one alert"), details={"field": "alerts"})
    first = alerts[0]
    first_alert = first if isinstance(first, Alert) else Alert.objects.filter(pk=first).first()
    if first_alert is None:
        raise NotFound(_("no alert %(id)s") % {"id": first})
    with transaction.atomic():
        if expected_status:
            _lock_alert(first_alert, expected_status)
        return create_risk(actor=actor, city=first_alert.city, data=data, alerts=alerts)


LEVEL_ZH = {Level.RED: "红色", Level.ORANGE: "橙色", Level.YELLOW: "黄色", Level.BLUE: "蓝色"}


def _notify_escalation(risk: RiskItem, event: RiskEvent, from_level: str) -> None:
    """Tell the owner unit's leaders, in the same transaction (the outbox delivers later)."""
    to_level = Level(risk.level)
    subject = (
        f"{risk.code} escalated to {to_level.value} / 风险升级为{LEVEL_ZH[to_level]}: {risk.title}"
    )
    body = (
        f"{risk.code} {risk.title}\n"
        f"{Level(from_level).value} -> {to_level.value} "
        f"({LEVEL_ZH[Level(from_level)]} → {LEVEL_ZH[to_level]})\n"
        f"{event.note}\n"
        f"/risk/risks/{risk.code}/"
    )
    for channel, recipient in org_services.notice_addresses(
        org_services.people_in(risk.owner_unit, [Role.UNIT_LEADER]), fallback=risk.owner_unit
    ):
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=f"risk-escalate:{risk.code}",
            dedupe_key=f"risk-escalate:{event.pk}:{channel}:{recipient}",
        )


def _escalate(
    actor: Any, risk: RiskItem, to_level: str, note: str, why: str, data: dict[str, Any]
) -> None:
    """Raise the level (the caller saves): an escalation on the timeline, and the owner
    unit's leaders are told."""
    from_level = risk.level
    risk.level = to_level
    risk.escalated_at = clock.now()
    event = _event(
        risk,
        actor,
        "escalate",
        from_level=from_level,
        to_level=to_level,
        note=note,
        data={"why": why, **data},
    )
    _notify_escalation(risk, event, from_level)


def _spread_to(actor: Any, risk: RiskItem, district: str, note: str, level: str | None) -> str:
    """Add a district (the caller saves and audits); rise one level unless told the level."""
    risk.districts = [*risk.districts, district]
    _event(risk, actor, "spread", note=note, data={"district": district})
    current = _rank(risk.level)
    if level is not None:
        target = _level(level)
        if _rank(target) < current:
            raise InvalidInput(
                _("a spread does not lower the level (it is %(level)s)")
                % {"level": Level(risk.level).label},
                details={"field": "level"},
            )
    else:
        target = LEVEL_ORDER[min(current, len(LEVEL_ORDER) - 1)]
    if _rank(target) > current:
        _escalate(actor, risk, target, note, "spread", {"district": district})
    return target


def add_alert(
    *, actor: Any, risk: RiskItem | int, alert: Alert | int, expected_version: int | None = None
) -> RiskItem:
    """Join another alert to an open risk. An alert from a district the risk has not reached
    yet is a spread, and raises the level one step."""
    with transaction.atomic():
        # The alert before the risk, as the detectors lock them.
        a = _lock_alert(alert, None)
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        if a.city != locked.city:
            raise InvalidInput(
                _("alert %(id)s is of another city") % {"id": a.pk}, details={"field": "alert"}
            )
        _require_alert(actor, a)
        _check_move(a, "promote")
        before = _risk_snapshot(locked)
        _link(actor, locked, a)
        district = district_of(a.jurisdiction_path)
        fields = ["districts"]
        if district and district not in locked.districts:
            _spread_to(actor, locked, district, _("seen in an alert"), None)
            fields += ["level", "escalated_at"]
        _save(locked, fields)
        _audit_risk(actor, "add_alert", locked, before, alert=a.pk)
    return locked


def change_level(
    *,
    actor: Any,
    risk: RiskItem | int,
    level: str,
    reason: str,
    expected_version: int | None = None,
) -> RiskItem:
    """A new level with the reason; a rise is an escalation."""
    text = _required_text(reason, "reason", _("say why the level changes"))
    new = _level(level)
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        if new == locked.level:
            raise InvalidInput(
                _("risk %(code)s is already %(level)s")
                % {"code": locked.code, "level": Level(new).label},
                details={"field": "level"},
            )
        before = _risk_snapshot(locked)
        if _rank(new) > _rank(locked.level):
            _escalate(actor, locked, new, text, "level", {})
            action = "escalate"
        else:
            _event(locked, actor, "lower", from_level=locked.level, to_level=new, note=text)
            locked.level = new
            action = "lower"
        _save(locked, ["level", "escalated_at"])
        _audit_risk(actor, action, locked, before, text)
    return locked


def update(
    *,
    actor: Any,
    risk: RiskItem | int,
    measures: str | None = None,
    deadline: datetime | None = None,
    owner_unit: Unit | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> RiskItem:
    """Change the measures, the deadline or the owner unit; one timeline step each."""
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        before = _risk_snapshot(locked)
        note = (note or "").strip()
        fields: list[str] = []
        if measures is not None and measures.strip() != locked.measures:
            locked.measures = measures.strip()
            fields.append("measures")
            _event(locked, actor, "measures", note=locked.measures)
        if deadline is not None and deadline != locked.deadline:
            _future(deadline, "deadline")
            _event(
                locked,
                actor,
                "deadline",
                note=note,
                data={"from": locked.deadline.isoformat(), "to": deadline.isoformat()},
            )
            locked.deadline = deadline
            fields.append("deadline")
        if owner_unit is not None and owner_unit.pk != locked.owner_unit_id:
            if owner_unit.city != locked.city or not owner_unit.active:
                raise InvalidInput(
                    _("unit %(unit)s is not an active unit of %(city)s")
                    % {"unit": owner_unit.code, "city": locked.city},
                    details={"field": "owner_unit"},
                )
            _event(
                locked,
                actor,
                "owner",
                note=note,
                data={"from": locked.owner_unit.code, "to": owner_unit.code},
            )
            locked.owner_unit = owner_unit
            fields.append("owner_unit")
        if not fields:
            raise InvalidInput(
                _("nothing changed: give new measures, a new deadline or another owner unit"),
                details={"field": "measures"},
            )
        _save(locked, fields)
        _audit_risk(actor, "update", locked, before, note, changed=fields)
    return locked


def review(
    *, actor: Any, risk: RiskItem | int, note: str, expected_version: int | None = None
) -> RiskItem:
    """A periodic review: what was found, dated now; the next one falls due by the level."""
    text = _required_text(note, "note", _("write what the review found"))
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        before = _risk_snapshot(locked)
        overdue = review_overdue(locked)
        locked.last_review_at = clock.now()
        _event(
            locked,
            actor,
            "review",
            note=text,
            data={"was_overdue": overdue, "next_due": review_due(locked).isoformat()},
        )
        _save(locked, ["last_review_at"])
        _audit_risk(actor, "review", locked, before, text)
    return locked


def spread(
    *,
    actor: Any,
    risk: RiskItem | int,
    district: Jurisdiction,
    note: str,
    level: str | None = None,
    expected_version: int | None = None,
) -> RiskItem:
    """The risk reached another district: recorded, and escalated (one level up unless a
    level is given)."""
    text = _required_text(note, "note", _("say how the risk reached the district"))
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        code = district_of(district.path)
        if not district.path.startswith(city_path(locked.city)) or code != district.code:
            raise InvalidInput(
                _("%(place)s is not a district of %(city)s")
                % {"place": district.code, "city": locked.city},
                details={"field": "district"},
            )
        if code in locked.districts:
            raise InvalidInput(
                _("risk %(code)s is already in %(place)s")
                % {"code": locked.code, "place": district.name},
                details={"field": "district"},
            )
        before = _risk_snapshot(locked)
        _spread_to(actor, locked, code, text, level)
        _save(locked, ["districts", "level", "escalated_at"])
        _audit_risk(actor, "spread", locked, before, text, district=code)
    return locked


def close(
    *,
    actor: Any,
    risk: RiskItem | int,
    outcome: str,
    note: str,
    expected_version: int | None = None,
) -> RiskItem:
    """Close with an outcome and what happened in words."""
    if outcome not in Outcome.values:
        raise InvalidInput(
            _("unknown outcome %(outcome)s; choose one of %(choices)s")
            % {"outcome": repr(outcome), "choices": ", ".join(Outcome.values)},
            details={"field": "outcome"},
        )
    text = _required_text(note, "note", _("say in words how the risk ended"))
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        _open(locked)
        before = _risk_snapshot(locked)
        locked.status = RiskStatus.CLOSED
        locked.closed_at = clock.now()
        locked.outcome = outcome
        locked.outcome_note = text
        _event(locked, actor, "close", note=text, data={"outcome": outcome})
        _save(locked, ["status", "closed_at", "outcome", "outcome_note"])
        _audit_risk(actor, "close", locked, before, text)
    return locked


def reopen(
    *, actor: Any, risk: RiskItem | int, reason: str, expected_version: int | None = None
) -> RiskItem:
    """A closed risk is back: open again, its previous outcome kept on the timeline."""
    text = _required_text(reason, "reason", _("say why the risk is reopened"))
    with transaction.atomic():
        locked = _lock_risk(risk, expected_version)
        _require_risk(actor, locked)
        if locked.status != RiskStatus.CLOSED:
            raise IllegalMove(
                _("risk %(code)s is open; only a closed risk can be reopened")
                % {"code": locked.code},
                details={"status": locked.status},
            )
        before = _risk_snapshot(locked)
        _event(locked, actor, "reopen", note=text, data={"previous_outcome": locked.outcome})
        locked.status = RiskStatus.OPEN
        locked.closed_at = None
        locked.outcome = ""
        locked.outcome_note = ""
        _save(locked, ["status", "closed_at", "outcome", "outcome_note"])
        _audit_risk(actor, "reopen", locked, before, text)
    return locked
