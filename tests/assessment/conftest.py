"""A hand-checked month: four cases of District 1's housing bureau received on Monday
2 November 2026 (Asia/Shanghai), handled on frozen clocks, so that every figure is known."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from civitas.appeals import services
from civitas.appeals.models import Appeal
from civitas.assessment import services as rollups
from civitas.kit import clock
from civitas.org.models import Role
from tests.appeals.conftest import case_city, fresh, submit  # noqa: F401
from tests.factories import member

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)  # a Monday
LATER = datetime(2026, 12, 20, 12, 0, tzinfo=TZ)  # when the figures are read


def at(delta: timedelta, fn: Callable[..., Any], **kw: Any) -> Any:
    with clock.frozen(T0 + delta), transaction.atomic():
        return fn(**kw)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def handle(
    c: dict[str, Any],
    a: Appeal,
    *,
    accept_after: float,
    resolve_after: float | None = None,
    rating: str | None = None,
    solved: bool = True,
    handler: str = "handler",
) -> Appeal:
    """Accept after ``accept_after`` hours, resolve and rate a day later if asked."""
    at(h(accept_after), services.accept, actor=c[handler], appeal=fresh(a))
    if resolve_after is not None:
        at(h(resolve_after), services.resolve, actor=c[handler], appeal=fresh(a), result="done")
    if rating is not None:
        at(
            h((resolve_after or accept_after) + 2),
            services.rate,
            actor=c["resident"],
            appeal=fresh(a),
            responded=True,
            solved=solved,
            satisfaction=rating,
        )
    return fresh(a)


def new_case(c: dict[str, Any], *, lon: float = 0.5, minutes: int = 0, **kw: Any) -> Appeal:
    with clock.frozen(T0 + timedelta(minutes=minutes)):
        return submit(c, lon=lon, **kw).appeal


@pytest.fixture
def month(case_city: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Cases A-D, all led by T-D1-HOUSING:

    A accepted after 2 h, resolved, satisfied, solved
    B accepted after 3 h, resolved, satisfied, solved
    C accepted after 5 h, resolved, basically satisfied, solved
    D accepted after 30 h (the response deadline is 24 h), resolved, dissatisfied, not solved
      → reopened; it is never resolved again and is overdue on 20 December.
    """
    c = case_city
    c["street2"] = member("street2", Role.UNIT_HANDLER, c["T-D1-S2-office"])
    c["analyst"] = member("analyst", Role.ANALYST, c["centre"])
    c["d2_dispatcher"] = member("d2-dispatcher", Role.DISPATCHER, c["T-D2-centre"])
    cases = {name: new_case(c, minutes=i) for i, name in enumerate("ABCD")}
    handle(c, cases["A"], accept_after=2, resolve_after=24, rating="satisfied")
    handle(c, cases["B"], accept_after=3, resolve_after=24, rating="satisfied")
    handle(c, cases["C"], accept_after=5, resolve_after=24, rating="basically_satisfied")
    handle(c, cases["D"], accept_after=30, resolve_after=48, rating="dissatisfied", solved=False)
    c["cases"] = {k: fresh(v) for k, v in cases.items()}
    return c


def refresh() -> rollups.Refreshed:
    with transaction.atomic():
        return rollups.refresh()
