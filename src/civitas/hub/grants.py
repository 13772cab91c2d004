"""Grants: a consumer unit asks, the owner decides, the grant works until it expires or is
revoked. Every step locks the grant row, checks the version the form saw, and writes an
audit entry in the same transaction; the other side is told through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.hub import rights
from civitas.hub.models import Dataset, Grant, GrantStatus, Sensitivity, Sharing
from civitas.kit import audit, clock, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Role, Unit, UnitKind

# Units that may receive an unconditional dataset without a decision.
GOVERNMENT_KINDS = frozenset(
    {
        UnitKind.GOVERNMENT,
        UnitKind.CENTRE,
        UnitKind.DEPARTMENT,
        UnitKind.COMMUNITY_COMMITTEE,
        UnitKind.GRID_TEAM,
    }
)

# Which statuses each move starts from.
MOVES: dict[str, frozenset[str]] = {
    "approve": frozenset({GrantStatus.REQUESTED}),
    "refuse": frozenset({GrantStatus.REQUESTED}),
    "revoke": frozenset({GrantStatus.APPROVED}),
    "withdraw": frozenset({GrantStatus.REQUESTED}),
    "expire": frozenset({GrantStatus.APPROVED}),
}
TARGET = {
    "approve": GrantStatus.APPROVED,
    "refuse": GrantStatus.REFUSED,
    "revoke": GrantStatus.REVOKED,
    "withdraw": GrantStatus.WITHDRAWN,
    "expire": GrantStatus.EXPIRED,
}


class StaleGrant(Conflict):
    code = "stale"


class IllegalMove(Conflict):
    code = "illegal"


def max_days() -> int:
    return int(getattr(settings, "CIVITAS_HUB_MAX_GRANT_DAYS", 1095))


def snapshot(g: Grant) -> dict[str, Any]:
    """What the audit chain keeps of a grant (no personal data: names of fields and areas)."""
    return {
        "dataset": g.dataset.code,
        "consumer": g.consumer_unit.code,
        "fields": list(g.fields),
        "clear_fields": list(g.clear_fields),
        "area": g.area.code if g.area_id and g.area else None,
        "purpose": g.purpose,
        "legal_basis": g.legal_basis,
        "expires_at": g.expires_at,
        "status": g.status,
        "automatic": g.automatic,
        "version": g.version,
    }


def _label(actor: Any) -> str:
    return audit.actor_label(actor)[:120]


def _clean_fields(dataset: Dataset, names: list[str], field: str) -> list[str]:
    """The names in schema order, each known; InvalidInput naming the unknown ones."""
    schema = list(dataset.schema.fields.all()) if dataset.schema_id and dataset.schema else []
    known = [f.name for f in schema]
    wanted = {str(n).strip() for n in names or [] if str(n).strip()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InvalidInput(
            _("%(field)s: %(dataset)s has no field %(names)s; choose among %(known)s")
            % {
                "field": field,
                "dataset": dataset.code,
                "names": ", ".join(unknown),
                "known": ", ".join(known),
            },
            details={"field": field, "unknown": unknown},
        )
    return [n for n in known if n in wanted]


def request_grant(
    actor: Any,
    dataset: Dataset,
    *,
    consumer: Unit,
    fields: list[str],
    clear_fields: list[str] | None = None,
    area: Jurisdiction | None = None,
    purpose: str,
    legal_basis: str,
    expires_at: datetime,
) -> Grant:
    """Ask for ``fields`` of ``dataset`` for ``consumer``. Refused for a dataset that is not
    shareable, unknown fields, an area outside the dataset's, an expiry in the past or beyond
    CIVITAS_HUB_MAX_GRANT_DAYS, or an actor who may not ask for ``consumer``. An unconditional
    dataset asked for by a government unit (kinds government, centre, department, community
    committee, grid team), without clear values of sensitive or secret fields, is approved at
    once (``automatic``)."""
    if consumer.pk not in rights.requesting_units(actor):
        raise Forbidden(
            _(
                "you may not ask for data for %(unit)s: grants are asked for by the unit's "
                "leaders, analysts, data stewards or administrators"
            )
            % {"unit": consumer.code},
            details={"field": "consumer", "action": "hub.request"},
        )
    if not dataset.active or dataset.sharing == Sharing.NOT_SHAREABLE:
        raise Forbidden(
            _("%(dataset)s is not shareable; ask its owner %(owner)s directly")
            % {"dataset": dataset.code, "owner": dataset.owner_unit.code},
            code="not_shareable",
            details={"field": "dataset"},
        )
    if consumer.city != dataset.city:
        raise Forbidden(
            _("%(dataset)s is shared within %(city)s only; %(unit)s belongs to another city")
            % {"dataset": dataset.code, "city": dataset.city, "unit": consumer.code},
            details={"field": "consumer"},
        )
    if consumer.pk == dataset.owner_unit_id:
        raise InvalidInput(
            _("%(unit)s owns %(dataset)s: its people read it without a grant")
            % {"unit": consumer.code, "dataset": dataset.code},
            details={"field": "consumer"},
        )
    names = _clean_fields(dataset, fields, "fields")
    if not names:
        raise InvalidInput(
            _("fields: choose at least one field of %(dataset)s") % {"dataset": dataset.code},
            details={"field": "fields"},
        )
    clear = _clean_fields(dataset, clear_fields or [], "clear_fields")
    outside = [n for n in clear if n not in names]
    if outside:
        raise InvalidInput(
            _("clear_fields: %(names)s must also be among the fields asked for")
            % {"names": ", ".join(outside)},
            details={"field": "clear_fields", "unknown": outside},
        )
    if area is not None and not area.path.startswith(dataset.jurisdiction_path):
        raise InvalidInput(
            _("area: %(area)s lies outside the area %(dataset)s covers (%(covered)s)")
            % {"area": area.code, "dataset": dataset.code, "covered": dataset.jurisdiction.code},
            details={"field": "area"},
        )
    purpose, legal_basis = (purpose or "").strip(), (legal_basis or "").strip()
    if not purpose:
        raise InvalidInput(_("purpose: say what the data is for"), details={"field": "purpose"})
    if not legal_basis:
        raise InvalidInput(
            _("legal_basis: name the law, regulation or decision that allows this use"),
            details={"field": "legal_basis"},
        )
    now = clock.now()
    if expires_at is not None and timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)  # read in the installation's time zone
    if expires_at is None or expires_at <= now:
        raise InvalidInput(
            _("expires_at: choose a date in the future"), details={"field": "expires_at"}
        )
    if expires_at > now + timedelta(days=max_days()):
        raise InvalidInput(
            _("expires_at: a grant lasts at most %(days)s days; choose an earlier date")
            % {"days": max_days()},
            details={"field": "expires_at"},
        )
    clear_protected = decided_clear(dataset, clear)
    automatic = (
        dataset.sharing == Sharing.UNCONDITIONAL
        and consumer.kind in GOVERNMENT_KINDS
        and not clear_protected
    )
    with transaction.atomic():
        grant = Grant.objects.create(
            dataset=dataset,
            consumer_unit=consumer,
            fields=names,
            clear_fields=clear_protected if automatic else clear,
            area=area,
            area_path=area.path if area is not None else "",
            purpose=purpose,
            legal_basis=legal_basis,
            expires_at=expires_at,
            status=GrantStatus.APPROVED if automatic else GrantStatus.REQUESTED,
            automatic=automatic,
            requested_by=_label(actor),
            requested_at=now,
            decided_by="system" if automatic else "",
            decided_at=now if automatic else None,
        )
        audit.record(
            actor=actor,
            action="hub.grant_request",
            object_type="hub.grant",
            object_id=grant.pk,
            after=snapshot(grant),
            reason=purpose,
        )
        if automatic:
            audit.record(
                actor="system",
                action="hub.grant_approve",
                object_type="hub.grant",
                object_id=grant.pk,
                after=snapshot(grant),
                reason=_("unconditional dataset asked for by a government unit"),
            )
            _notify(grant, "approve", to_owner=True)
            _notify(grant, "approve", to_owner=False)
        else:
            _notify(grant, "request", to_owner=True)
    return grant


def decided_clear(dataset: Dataset, names: list[str]) -> list[str]:
    """The fields of ``names`` whose clear value is a decision: those sensitive or secret now.
    A grant keeps only these when it is approved, so a field classed secret later is not
    shown in clear on the strength of a decision nobody took."""
    protected = (Sensitivity.SENSITIVE, Sensitivity.SECRET)
    schema = {f.name: f for f in dataset.schema.fields.all()} if dataset.schema else {}
    return [n for n in names if n in schema and schema[n].sensitivity in protected]


def _lock(grant: Grant | int, version: int | None, move: str) -> Grant:
    pk = grant.pk if isinstance(grant, Grant) else grant
    locked = (
        Grant.objects.select_for_update(of=("self",), no_key=True)
        .select_related("dataset", "dataset__owner_unit", "consumer_unit", "area")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("no grant %(id)s") % {"id": pk})
    if version is not None and locked.version != version:
        raise StaleGrant(
            _(
                "grant %(id)s changed while you were looking at it (you saw version %(seen)s, "
                "it is now %(now)s, %(status)s); reload it and try again"
            )
            % {
                "id": pk,
                "seen": version,
                "now": locked.version,
                "status": locked.get_status_display(),
            },
            details={"version": locked.version, "status": locked.status},
        )
    if locked.status not in MOVES[move]:
        raise IllegalMove(
            _("grant %(id)s is %(status)s: it cannot be %(move)s")
            % {"id": pk, "status": locked.get_status_display(), "move": _past(move)},
            details={"status": locked.status, "version": locked.version},
        )
    return locked


def _past(move: str) -> str:
    return {
        "approve": _("approved"),
        "refuse": _("refused"),
        "revoke": _("revoked"),
        "withdraw": _("withdrawn"),
        "expire": _("marked expired"),
    }[move]


def _require_decider(actor: Any, grant: Grant) -> None:
    # Deciding who reads a department's data is a person's decision: a key (even the owner's
    # push key) never decides.
    if isinstance(actor, ApiKey) or not rights.is_decider(actor, grant.dataset):
        raise Forbidden(
            _(
                "grants on %(dataset)s are decided by %(owner)s's data stewards, leaders or "
                "administrators"
            )
            % {"dataset": grant.dataset.code, "owner": grant.dataset.owner_unit.code},
            details={"action": "hub.decide"},
        )


def _move(
    actor: Any,
    grant: Grant | int,
    *,
    version: int | None,
    move: str,
    reason: str = "",
    decider: bool = True,
) -> Grant:
    pk = grant.pk if isinstance(grant, Grant) else grant
    with transaction.atomic():
        locked = _lock(pk, version, move)
        if decider:
            _require_decider(actor, locked)
        elif locked.consumer_unit_id not in rights.requesting_units(actor):
            raise Forbidden(
                _("only %(unit)s's leaders, analysts, stewards or administrators may do this")
                % {"unit": locked.consumer_unit.code},
                details={"action": "hub.request"},
            )
        if move == "approve" and locked.expires_at <= clock.now():
            raise InvalidInput(
                _(
                    "the expiry asked for (%(at)s) has passed; refuse this request and ask "
                    "the consumer for a new one"
                )
                % {"at": locked.expires_at.isoformat(timespec="minutes")},
                details={"field": "expires_at"},
            )
        before = snapshot(locked)
        now = clock.now()
        locked.status = TARGET[move]
        locked.version += 1
        changed = ["status", "version", "updated_at"]
        if move in ("approve", "refuse"):
            locked.decided_by, locked.decided_at = _label(actor), now
            changed += ["decided_by", "decided_at"]
        if move == "approve":
            locked.clear_fields = decided_clear(locked.dataset, list(locked.clear_fields))
            changed.append("clear_fields")
        if reason or move in ("refuse", "revoke"):
            locked.reason = reason
            changed.append("reason")
        locked.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=f"hub.grant_{move}",
            object_type="hub.grant",
            object_id=locked.pk,
            before=before,
            after=snapshot(locked),
            reason=reason,
        )
        if move != "expire":
            _notify(locked, move, to_owner=not decider)
        else:
            _notify(locked, move, to_owner=False)
    if isinstance(grant, Grant):
        for name in ("status", "version", "decided_by", "decided_at", "reason", "updated_at"):
            setattr(grant, name, getattr(locked, name))
    return locked


def _need_reason(reason: str, move: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            _("reason: say why the grant is %(move)s; the consumer reads it")
            % {"move": _past(move)},
            details={"field": "reason"},
        )
    return text


def approve(actor: Any, grant: Grant, *, version: int, note: str = "") -> Grant:
    """The owner agrees: the grant gives access from now until it expires."""
    return _move(actor, grant, version=version, move="approve", reason=(note or "").strip())


def refuse(actor: Any, grant: Grant, *, version: int, reason: str) -> Grant:
    return _move(
        actor, grant, version=version, move="refuse", reason=_need_reason(reason, "refuse")
    )


def revoke(actor: Any, grant: Grant, *, version: int, reason: str) -> Grant:
    """Access stops at once: reads check the status of the grant on every call."""
    return _move(
        actor, grant, version=version, move="revoke", reason=_need_reason(reason, "revoke")
    )


def withdraw(actor: Any, grant: Grant, *, version: int) -> Grant:
    """The consumer takes back a request not yet decided."""
    return _move(actor, grant, version=version, move="withdraw", decider=False)


def expire_due() -> int:
    """Mark approved grants past their expiry as expired (they already give no access)."""
    due = list(
        Grant.objects.filter(status=GrantStatus.APPROVED, expires_at__lte=clock.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            locked = (
                Grant.objects.select_for_update(of=("self",), no_key=True)
                .select_related("dataset", "consumer_unit", "area")
                .filter(pk=pk, status=GrantStatus.APPROVED, expires_at__lte=clock.now())
                .first()
            )
            if locked is None:
                continue  # revoked or extended meanwhile
            before = snapshot(locked)
            locked.status = GrantStatus.EXPIRED
            locked.version += 1
            locked.save(update_fields=["status", "version", "updated_at"])
            audit.record(
                actor="system",
                action="hub.grant_expire",
                object_type="hub.grant",
                object_id=locked.pk,
                before=before,
                after=snapshot(locked),
                reason=_("the grant reached its expiry"),
            )
            _notify(locked, "expire", to_owner=False)
            done += 1
    return done


# -- telling the other side ------------------------------------------------------------------

SUBJECTS = {
    "request": (
        "Data request for {dataset} from {consumer}",
        "数据共享申请：{consumer}申请{dataset}",
    ),
    "approve": ("Data grant approved: {dataset} for {consumer}", "数据共享已批准：{dataset}"),
    "refuse": ("Data request refused: {dataset} for {consumer}", "数据共享申请未获批准：{dataset}"),
    "revoke": ("Data grant revoked: {dataset} for {consumer}", "数据共享授权已撤销：{dataset}"),
    "withdraw": (
        "Data request withdrawn: {dataset} by {consumer}",
        "数据共享申请已撤回：{dataset}",
    ),
    "expire": ("Data grant expired: {dataset} for {consumer}", "数据共享授权已到期：{dataset}"),
}


def _notify(grant: Grant, move: str, *, to_owner: bool) -> None:
    """In the caller's transaction: a rolled-back move sends nothing."""
    unit = grant.dataset.owner_unit if to_owner else grant.consumer_unit
    roles = (
        rights.DECIDER_ROLES if to_owner else frozenset({Role.UNIT_LEADER, *rights.REQUESTER_ROLES})
    )
    en, zh = SUBJECTS[move]
    names = {"dataset": grant.dataset.code, "consumer": grant.consumer_unit.code}
    subject = f"{en.format(**names)} / {zh.format(**names)}"
    body = (
        f"{grant.dataset.title_en} / {grant.dataset.title_zh}\n"
        f"{grant.consumer_unit.code}: {', '.join(grant.fields)}\n"
        f"{grant.get_status_display()} ({grant.status})\n"
        f"{grant.reason}\n"
        f"/hub/grants/{grant.pk}/"
    )
    for channel, recipient in org_services.notice_addresses(
        org_services.people_in(unit, roles), fallback=unit
    ):
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=f"hub-grant:{grant.pk}",
            dedupe_key=f"hub-grant:{grant.pk}:{grant.version}:{move}:{channel}:{recipient}",
        )


# -- reading grants ---------------------------------------------------------------------------


def visible(
    actor: Any,
    *,
    side: str = "",
    status: str = "",
    dataset: Dataset | None = None,
    consumer: Unit | None = None,
) -> QuerySet[Grant]:
    """The grants ``actor`` may see (both units' people, and those whose area covers either),
    newest first. ``side`` narrows to the actor's own: ``consumer`` (grants of the units it
    asks or reads for) or ``owner`` (grants on datasets of the units it decides for);
    ``status`` takes a comma-separated list."""
    qs = access.readable(actor, Grant.objects.all())
    if side == "consumer":
        qs = qs.filter(
            consumer_unit_id__in=rights.acting_units(actor) | rights.requesting_units(actor)
        )
    elif side == "owner":
        qs = qs.filter(
            dataset__owner_unit_id__in=rights.deciding_units(actor) | rights.stewarded_units(actor)
        )
    elif side:
        raise InvalidInput(
            _("side: consumer or owner (or nothing for both)"), details={"field": "side"}
        )
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(GrantStatus.values))
        if unknown:
            raise InvalidInput(
                _("status: %(unknown)s unknown; use %(known)s")
                % {"unknown": ", ".join(unknown), "known": ", ".join(GrantStatus.values)},
                details={"field": "status"},
            )
        qs = qs.filter(status__in=wanted)
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    if consumer is not None:
        qs = qs.filter(consumer_unit=consumer)
    return qs.select_related("dataset", "dataset__owner_unit", "consumer_unit", "area").order_by(
        "-requested_at", "-pk"
    )


def get_visible(actor: Any, pk: int) -> Grant:
    g = visible(actor).filter(pk=pk).first()
    if g is None:
        raise NotFound(_("no grant %(id)s that you may see") % {"id": pk})
    return g
