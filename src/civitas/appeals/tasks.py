"""Background work on cases: deadline checks (督办 and warnings), late summonses, and closing
resolved cases the resident did not rate. Registered with the scheduler in AppealsConfig.

Each job is an entry point: it opens one transaction per case, so one bad case never holds up
the others, and it is idempotent — running it twice in a row changes and sends nothing more:
a case is escalated once (``escalated_at``), and every notification carries a dedupe key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from civitas.appeals import deadlines
from civitas.appeals import workflow as wf
from civitas.appeals.models import OPEN_STATUSES, Appeal, Channel, Status, Summons
from civitas.appeals.parties import parties_of
from civitas.kit import clock, outbox
from civitas.kit.errors import Conflict
from civitas.kit.models import OutboxMessage
from civitas.org import services as org_services
from civitas.org.models import Role, Unit

log = logging.getLogger(__name__)
SYSTEM = "system"

# Suspended cases are not escalated: their clock stops (resume moves the deadline).
ESCALATE_STATUSES = sorted(OPEN_STATUSES - {Status.SUSPENDED})
# A yellow warning goes to the unit working on the case.
WARN_STATUSES = [Status.DISPATCHED, Status.ACCEPTED, Status.WAITING_RESIDENT]
BATCH = 500
# Cases replayed from a city's history keep the history's outcome: no 督办, no warnings, no
# automatic closing in real time.
LIVE = ~Q(channel=Channel.REPLAY)


# -- who is told -------------------------------------------------------------------------------


def supervising_centre(appeal: Appeal) -> Unit | None:
    """The service centre above the lead unit (the level that supervises, 督办): the nearest
    centre up the tree from the lead unit's jurisdiction; a lead unit that is itself a centre
    is supervised by the centre above it. Without a lead unit: the centre of the case's place.
    """
    centre_of = import_string(
        getattr(settings, "CIVITAS_CENTRE_FINDER", "civitas.dispatch.routing.centre_of")
    )
    lead = appeal.lead_unit
    if lead is None:
        found: Unit | None = centre_of(appeal.city, appeal.jurisdiction)
        return found
    centre: Unit | None = centre_of(appeal.city, lead.jurisdiction)
    if centre is not None and centre.pk == lead.pk:
        parent = lead.jurisdiction.parent
        above: Unit | None = centre_of(appeal.city, parent) if parent is not None else None
        return above if above is not None and above.pk != lead.pk else None
    return centre


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _send(addresses: Iterable[tuple[str, str]], *, subject: str, body: str, topic: str) -> int:
    sent = 0
    for channel, recipient in addresses:
        message = outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=topic,
            dedupe_key=f"{topic}:{channel}:{recipient}",
        )
        sent += message is not None
    return sent


def _already(topics: list[str]) -> set[str]:
    done: set[str] = set()
    for i in range(0, len(topics), BATCH):
        done.update(
            OutboxMessage.objects.filter(topic__in=topics[i : i + BATCH]).values_list(
                "topic", flat=True
            )
        )
    return done


# -- the deadline check (every minute) ---------------------------------------------------------


def check_deadlines(now: datetime | None = None) -> dict[str, int]:
    """Escalate overdue cases and notify the supervisors; warn units of yellow cases; tell
    summoning units about departments that did not report in time."""
    now = now or clock.now()
    return {
        "escalated": escalate_overdue(now),
        "warned": warn_yellow(now),
        "summons_late": chase_summonses(now),
    }


def escalate_overdue(now: datetime) -> int:
    """督办: every open case past its resolution deadline is escalated once, as the system,
    and the supervising centre's dispatchers and the lead unit's leaders are notified."""
    ids = list(
        Appeal.objects.filter(
            LIVE, status__in=ESCALATE_STATUSES, resolve_due__lt=now, escalated_at__isnull=True
        )
        .order_by("resolve_due")
        .values_list("pk", flat=True)
    )
    escalated = 0
    for pk in ids:
        try:
            with transaction.atomic():
                case = (
                    Appeal.objects.select_for_update(of=("self",))
                    .select_related("lead_unit__jurisdiction", "jurisdiction")
                    .get(pk=pk)
                )
                if (
                    case.escalated_at is not None
                    or case.status not in ESCALATE_STATUSES
                    or case.resolve_due is None
                    or case.resolve_due >= now
                ):
                    continue
                escalate_one(case, now)
                escalated += 1
        except Conflict:
            continue  # moved meanwhile (someone else escalated it, or it was resolved)
        except Exception:
            log.exception("deadline check: escalating appeal %s failed", pk)
    return escalated


def escalate_one(case: Appeal, now: datetime) -> None:
    """Escalate one locked, overdue case and queue the supervisors' notices (in the caller's
    transaction)."""
    centre = supervising_centre(case)
    lead = case.lead_unit
    note = (
        f"Overdue since {_local(case.resolve_due)}: supervised by "
        f"{centre.name_en if centre else 'the city'} / 已超期，督办"
    )
    wf.transition(
        appeal=case,
        action="escalate",
        actor=SYSTEM,
        parties=parties_of(SYSTEM, case),
        note=note,
        apply=lambda c: _mark_escalated(c, now),
        unit=centre,
    )
    people = org_services.people_in(centre, [Role.DISPATCHER]) + org_services.people_in(
        lead, [Role.UNIT_LEADER]
    )
    lead_name = f"{lead.name_zh} / {lead.name_en}" if lead else "未派发 / not dispatched"
    _send(
        org_services.notice_addresses(people, fallback=centre),
        subject=f"{case.ticket} overdue: supervision (督办) / 案件超期督办",
        body=(
            f"{case.ticket}: the resolution deadline {_local(case.resolve_due)} has passed.\n"
            f"Lead unit / 承办单位: {lead_name}\n"
            f"Status / 状态: {case.get_status_display()}\n"
            f"{(case.title or case.text)[:200]}"
        ),
        topic=f"overdue:{case.pk}",
    )


def _mark_escalated(case: Appeal, now: datetime) -> dict[str, Any]:
    if case.escalated_at is not None:
        raise Conflict(f"{case.ticket} is already under supervision")
    case.escalated_at = now
    return {"resolve_due": case.resolve_due.isoformat() if case.resolve_due else None}


def warn_yellow(now: datetime) -> int:
    """Tell the lead unit's handlers once when a case turns yellow (past the warning share of
    its time). A new deadline (extension, reopening) may warn again."""
    cases = (
        Appeal.objects.filter(
            LIVE, status__in=WARN_STATUSES, resolve_due__gt=now, lead_unit__isnull=False
        )
        .only(
            "pk",
            "ticket",
            "status",
            "received_at",
            "dispatched_at",
            "resolve_due",
            "lead_unit_id",
            "title",
        )
        .order_by("resolve_due")
    )
    yellow = [a for a in cases.iterator(chunk_size=2000) if deadlines.light(a, now) == "yellow"]
    topic = {a.pk: f"warn:{a.pk}:{int(a.resolve_due.timestamp())}" for a in yellow if a.resolve_due}
    done = _already(list(topic.values()))
    units = Unit.objects.in_bulk({a.lead_unit_id for a in yellow if a.lead_unit_id})
    warned = 0
    for a in yellow:
        if topic[a.pk] in done or a.lead_unit_id is None:
            continue
        unit = units[a.lead_unit_id]
        with transaction.atomic():
            warned += bool(
                _send(
                    org_services.notice_addresses(
                        org_services.people_in(unit, [Role.UNIT_HANDLER]), fallback=unit
                    ),
                    subject=f"{a.ticket} is due soon / 案件即将到期 (黄牌)",
                    body=(
                        f"{a.ticket}: resolve by {_local(a.resolve_due)} "
                        f"/ 请于 {_local(a.resolve_due)} 前办结。\n{a.title[:200]}"
                    ),
                    topic=topic[a.pk],
                )
            )
    return warned


def chase_summonses(now: datetime) -> int:
    """A department summoned by whistle (吹哨) that has not reported by its deadline: the
    summoning unit's handlers and leaders are told once."""
    late = list(
        Summons.objects.filter(
            reported_at__isnull=True, due_at__lt=now, appeal__status__in=list(OPEN_STATUSES)
        )
        .exclude(appeal__channel=Channel.REPLAY)
        .select_related("appeal", "unit", "by_unit")
        .order_by("due_at")
    )
    done = _already([f"summons-late:{s.pk}" for s in late])
    told = 0
    for s in late:
        topic = f"summons-late:{s.pk}"
        if topic in done:
            continue
        people = org_services.people_in(s.by_unit, [Role.UNIT_HANDLER, Role.UNIT_LEADER])
        with transaction.atomic():
            told += bool(
                _send(
                    org_services.notice_addresses(people, fallback=s.by_unit),
                    subject=(
                        f"{s.appeal.ticket}: {s.unit.name_en} has not reported / "
                        f"{s.unit.name_zh}未按时报到"
                    ),
                    body=(
                        f"{s.appeal.ticket}: {s.unit.name_zh} / {s.unit.name_en} was summoned "
                        f"at {_local(s.summoned_at)} and should have reported by "
                        f"{_local(s.due_at)}.\n吹哨报到超时，请跟进。"
                    ),
                    topic=topic,
                )
            )
    return told


# -- closing unrated cases (every hour) --------------------------------------------------------


def auto_close_days() -> int:
    return int(getattr(settings, "CIVITAS_AUTO_CLOSE_DAYS", 7))


def auto_close(*, actor: Any, appeal: Appeal, days: int | None = None) -> Appeal:
    """Close a resolved case the resident has not rated within ``days`` (CIVITAS_AUTO_CLOSE_DAYS)
    — a service: runs in the caller's transaction, through the workflow table (system only)."""
    days = auto_close_days() if days is None else days

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        if case.resolved_at is None or case.resolved_at > now - timedelta(days=days):
            raise Conflict(
                f"{case.ticket} was resolved less than {days} days ago: the resident may "
                "still rate it"
            )
        case.closed_at = now
        return {"unrated_days": days}

    return wf.transition(
        appeal=appeal,
        action="auto_close",
        actor=actor,
        parties=parties_of(actor, appeal),
        apply=apply,
        note=f"Not rated within {days} days: closed / {days}日内未评价，自动办结归档",
    )


def auto_close_due(days: int | None = None) -> dict[str, int]:
    """The hourly job: close every resolved case left unrated for ``days``."""
    now = clock.now()
    days = auto_close_days() if days is None else days
    ids = list(
        Appeal.objects.filter(
            LIVE, status=Status.RESOLVED, resolved_at__lte=now - timedelta(days=days)
        ).values_list("pk", flat=True)
    )
    closed = 0
    for pk in ids:
        try:
            with transaction.atomic():
                auto_close(actor=SYSTEM, appeal=Appeal.objects.get(pk=pk), days=days)
            closed += 1
        except Conflict:
            continue  # rated or reopened meanwhile
        except Exception:
            log.exception("auto-close of appeal %s failed", pk)
    return {"closed": closed}
