"""Background work: the roll-up refresh, registered with the scheduler when there is one."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from civitas.assessment import services

EVERY_MINUTES = 5


def refresh_rollups() -> dict[str, Any]:
    """The scheduled job: recount the days touched since the last run."""
    with transaction.atomic():
        done = services.refresh()
    return {"days": done.days, "rows": done.rows, "seconds": done.seconds}


def register() -> None:
    """Register with ``civitas.kit.scheduler`` if the project has it (built by another part of
    the work); otherwise ``civitas assessment refresh`` run from cron does the same."""
    try:
        from civitas.kit import scheduler
    except ImportError:  # pragma: no cover - the scheduler arrives with the background work
        return
    scheduler.register(
        "assessment.refresh", EVERY_MINUTES * 60, "civitas.assessment.tasks.refresh_rollups"
    )
