"""Periodic work on disputes (registered in apps.py with kit.scheduler).

``escalate_overdue``: every dispute still being handled whose stage is past its deadline moves
up one level, once: each dispute is moved in its own transaction under its row lock and the
deadline is checked again there, so two workers running at once move it once (the new stage
has a new deadline). At the city, the last level, its mediators are reminded once per stage.

``remind_follow_ups``: a follow-up visit falling due today or earlier and not yet made is
announced to the handling unit once (the outbox's dedupe key).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.kit import clock
from civitas.kit.errors import CivitasError
from civitas.mediation import services
from civitas.mediation.models import Dispute, FollowUp, Stage, Status

log = logging.getLogger(__name__)
HANDLED = (Status.REGISTERED, Status.ACCEPTED, Status.MEDIATING)


def escalate_overdue() -> dict[str, Any]:
    now = clock.now()
    ids = list(
        Stage.objects.filter(
            ended_at__isnull=True, due_at__lte=now, dispute__status__in=HANDLED
        ).values_list("dispute_id", flat=True)
    )
    moved = 0
    for pk in ids:
        try:
            if services.escalate_overdue(pk):
                moved += 1
        except CivitasError as exc:  # no body above, a dispute closed meanwhile: log, go on
            log.warning("mediation: overdue dispute %s not moved: %s", pk, exc.message)
    return {"overdue": len(ids), "moved": moved}


def remind_follow_ups() -> dict[str, Any]:
    today = clock.today()
    due = FollowUp.objects.filter(
        done_at__isnull=True, due_on__lte=today, dispute__status=Status.AGREED
    ).select_related("dispute__unit")
    sent = 0
    for f in due:
        d: Dispute = f.dispute
        with transaction.atomic():
            sent += services.notify(
                d.unit,
                _("Follow-up visit due: dispute %(code)s") % {"code": d.code},
                _(
                    "Visit or call the parties of %(title)s to see whether the agreement is kept "
                    "(due %(due)s)."
                )
                % {"title": d.title, "due": f.due_on.isoformat()},
                dedupe_key=f"mediation-follow-up-{f.pk}",
            )
    return {"reminders": sent}
