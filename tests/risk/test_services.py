"""Handling alerts and keeping the risk register: every move, refusals, clashes, rights, the
timeline and the audit chain."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from civitas.kit import clock
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from civitas.org.models import ApiKey
from civitas.risk import selectors, services
from civitas.risk.models import AlertStatus, Level, Outcome, RiskEvent, RiskItem, RiskStatus
from tests.risk import register_setup
from tests.risk.register_setup import cluster, later

pytestmark = pytest.mark.django_db
reg_city = register_setup.reg_city


def _data(city: dict[str, Any], **over: Any) -> services.RiskIn:
    base: dict[str, Any] = {
        "title": "Lifts failing in Elm 11",
        "level": Level.YELLOW,
        "owner_unit": city["T-D1-housing"],
        "deadline": later(7),
        "measures": "Inspect every lift in the estate",
    }
    base.update(over)
    return services.RiskIn(**base)


def _actions(risk: RiskItem) -> list[str]:
    return list(RiskEvent.objects.filter(risk=risk).values_list("action", flat=True))


def _audited(action: str, object_id: Any) -> int:
    return AuditEntry.objects.filter(action=action, object_id=str(object_id)).count()


def _verify() -> None:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "audit chain intact" in out.getvalue(), out.getvalue()


# -- alerts --------------------------------------------------------------------------------


def test_acknowledge_snooze_dismiss_are_recorded(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    assert a.status == AlertStatus.NEW
    a = services.acknowledge(actor=c["analyst"], alert=a, note="looking", expected_status="new")
    assert a.status == AlertStatus.ACKNOWLEDGED and a.handled_note == "looking"
    until = later(2)
    a = services.snooze(actor=c["analyst"], alert=a, until=until, reason="crew on site")
    assert a.status == AlertStatus.SNOOZED and a.snoozed_until == until
    a = services.acknowledge(actor=c["analyst"], alert=a)
    assert a.snoozed_until is None
    a = services.dismiss(actor=c["analyst"], alert=a, reason="a known works site")
    assert a.status == AlertStatus.DISMISSED and a.handled_by == c["analyst"].audit_label()
    for action in ("acknowledge", "snooze", "dismiss"):
        assert _audited(f"risk.alert.{action}", a.pk) >= 1
    _verify()


def test_alert_moves_refused_with_reasons(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    with pytest.raises(InvalidInput, match="why the alert is dismissed"):
        services.dismiss(actor=c["analyst"], alert=a, reason="  ")
    with pytest.raises(InvalidInput, match="why the alert is snoozed"):
        services.snooze(actor=c["analyst"], alert=a, until=later(1), reason="")
    with pytest.raises(InvalidInput, match="future"):
        services.snooze(
            actor=c["analyst"], alert=a, until=clock.now() - timedelta(hours=1), reason="x"
        )
    with pytest.raises(InvalidInput, match="90 days"):
        services.snooze(actor=c["analyst"], alert=a, until=later(120), reason="x")
    services.dismiss(actor=c["analyst"], alert=a, reason="false alarm")
    with pytest.raises(services.IllegalMove, match="dismissed cannot be acknowledged"):
        services.acknowledge(actor=c["analyst"], alert=a)
    with pytest.raises(services.IllegalMove):
        services.promote(actor=c["analyst"], alerts=[a], data=_data(c))
    assert RiskItem.objects.count() == 0


def test_alert_status_clash(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    services.acknowledge(actor=c["analyst"], alert=a)
    # A second person's form was rendered while the alert was new.
    with pytest.raises(services.StaleRisk, match="changed while you were looking"):
        services.dismiss(actor=c["d1_analyst"], alert=a, reason="noise", expected_status="new")


def test_alert_rights(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)  # in district 1
    for who in ("auditor", "handler", "resident"):
        with pytest.raises(Forbidden):
            services.acknowledge(actor=c[who], alert=a)
    d2 = cluster(c, lat=0.5, lon=2.5, key="c2")
    with pytest.raises(Forbidden):
        services.acknowledge(actor=c["d1_analyst"], alert=d2)
    services.acknowledge(actor=c["d1_analyst"], alert=a)
    key = ApiKey(name="reader", unit=c["centre"], scopes=["risk:read"])
    with pytest.raises(Forbidden):
        services.dismiss(actor=key, alert=a, reason="x")


# -- risks ---------------------------------------------------------------------------------


def test_promote_then_a_whole_life(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    risk = services.promote(actor=c["analyst"], alerts=[a], data=_data(c), expected_status="new")
    year = clock.now().year
    assert risk.code == f"T-R-{year}-0001"
    assert risk.level == Level.YELLOW and risk.status == RiskStatus.OPEN
    assert risk.jurisdiction == a.jurisdiction and risk.districts == ["T-D1"]
    assert risk.matter == c["leaf"]
    a.refresh_from_db()
    assert a.status == AlertStatus.PROMOTED and a.risk == risk

    risk = services.update(
        actor=c["analyst"],
        risk=risk,
        measures="Inspect lifts; daily patrols",
        deadline=later(10),
        owner_unit=c["T-D1-S1-office"],
        expected_version=risk.version,
    )
    assert risk.owner_unit == c["T-D1-S1-office"] and risk.version == 2

    reviewed_at = clock.now()
    with clock.frozen(reviewed_at):
        risk = services.review(actor=c["analyst"], risk=risk, note="two lifts fixed")
    assert risk.last_review_at == reviewed_at
    assert services.review_due(risk) == reviewed_at + services.REVIEW_EVERY[Level.YELLOW]

    risk = services.spread(
        actor=c["analyst"], risk=risk, district=c["T-D2"], note="same contractor in D2"
    )
    assert risk.level == Level.ORANGE and risk.districts == ["T-D1", "T-D2"]
    assert risk.escalated_at is not None

    risk = services.change_level(actor=c["analyst"], risk=risk, level=Level.RED, reason="injury")
    risk = services.change_level(
        actor=c["analyst"], risk=risk, level=Level.ORANGE, reason="contained"
    )
    risk = services.close(
        actor=c["analyst"], risk=risk, outcome=Outcome.RESOLVED, note="all lifts replaced"
    )
    assert risk.status == RiskStatus.CLOSED and risk.closed_at is not None
    risk = services.reopen(actor=c["analyst"], risk=risk, reason="a lift failed again")
    assert risk.status == RiskStatus.OPEN and risk.outcome == ""

    assert _actions(risk) == [
        "create",
        "alert",
        "measures",
        "deadline",
        "owner",
        "review",
        "spread",
        "escalate",
        "escalate",
        "lower",
        "close",
        "reopen",
    ]
    escalations = RiskEvent.objects.filter(risk=risk, action="escalate")
    assert [(e.from_level, e.to_level) for e in escalations] == [
        ("yellow", "orange"),
        ("orange", "red"),
    ]
    for action in (
        "create",
        "update",
        "review",
        "spread",
        "escalate",
        "lower",
        "close",
        "reopen",
    ):
        assert _audited(f"risk.{action}", risk.code) == 1, action
    assert _audited("risk.alert.promote", a.pk) == 1
    _verify()


def test_direct_risk_and_codes_per_city_and_year(reg_city: dict[str, Any]) -> None:
    c = reg_city
    first = services.create_risk(
        actor=c["analyst"], city="T", data=_data(c, jurisdiction=c["T-D2-S1"])
    )
    second = services.create_risk(actor=c["analyst"], city="T", data=_data(c))
    year = clock.now().year
    assert (first.code, second.code) == (f"T-R-{year}-0001", f"T-R-{year}-0002")
    assert first.districts == ["T-D2"] and second.districts == []
    assert second.jurisdiction == c["T"]
    assert _actions(first) == ["create"]
    with clock.frozen(clock.now().replace(year=year + 1)):
        third = services.create_risk(
            actor=c["analyst"], city="T", data=_data(c, deadline=later(400))
        )
    assert third.code == f"T-R-{year + 1}-0001"


def test_several_alerts_join_one_risk_and_a_new_district_spreads(
    reg_city: dict[str, Any],
) -> None:
    c = reg_city
    a1 = cluster(c, key="c1")
    a2 = cluster(c, lat=1.5, lon=0.5, key="c2")  # still district 1
    risk = services.promote(actor=c["analyst"], alerts=[a1, a2], data=_data(c))
    assert risk.alerts.count() == 2 and risk.districts == ["T-D1"]
    a3 = cluster(c, lat=0.5, lon=2.5, key="c3")  # district 2
    risk = services.add_alert(
        actor=c["analyst"], risk=risk, alert=a3, expected_version=risk.version
    )
    assert risk.districts == ["T-D1", "T-D2"] and risk.level == Level.ORANGE
    assert _actions(risk)[-3:] == ["alert", "spread", "escalate"]
    _verify()


def test_risk_refusals(reg_city: dict[str, Any]) -> None:
    c = reg_city
    with pytest.raises(InvalidInput, match="title"):
        services.create_risk(actor=c["analyst"], city="T", data=_data(c, title=" "))
    with pytest.raises(InvalidInput, match="unknown level 'purple'"):
        services.create_risk(actor=c["analyst"], city="T", data=_data(c, level="purple"))
    with pytest.raises(InvalidInput, match="already passed"):
        services.create_risk(
            actor=c["analyst"], city="T", data=_data(c, deadline=clock.now() - timedelta(1))
        )
    with pytest.raises(InvalidInput, match="owns the risk"):
        services.create_risk(actor=c["analyst"], city="T", data=_data(c, owner_unit=None))
    risk = services.create_risk(actor=c["analyst"], city="T", data=_data(c))
    with pytest.raises(InvalidInput, match="already Yellow"):
        services.change_level(actor=c["analyst"], risk=risk, level="yellow", reason="x")
    with pytest.raises(InvalidInput, match="why the level changes"):
        services.change_level(actor=c["analyst"], risk=risk, level="red", reason="")
    with pytest.raises(InvalidInput, match="nothing changed"):
        services.update(actor=c["analyst"], risk=risk, measures=risk.measures)
    with pytest.raises(InvalidInput, match="not a district"):
        services.spread(actor=c["analyst"], risk=risk, district=c["T-D1-S1"], note="x")
    risk = services.spread(actor=c["analyst"], risk=risk, district=c["T-D1"], note="seen in D1")
    with pytest.raises(InvalidInput, match="already in"):
        services.spread(actor=c["analyst"], risk=risk, district=c["T-D1"], note="again")
    with pytest.raises(InvalidInput, match="does not lower"):
        services.spread(
            actor=c["analyst"], risk=risk, district=c["T-D2"], note="x", level=Level.BLUE
        )
    with pytest.raises(InvalidInput, match="unknown outcome"):
        services.close(actor=c["analyst"], risk=risk, outcome="gone", note="x")
    with pytest.raises(InvalidInput, match="how the risk ended"):
        services.close(actor=c["analyst"], risk=risk, outcome=Outcome.AVERTED, note="")
    with pytest.raises(services.IllegalMove, match="only a closed risk"):
        services.reopen(actor=c["analyst"], risk=risk, reason="x")
    risk = services.close(actor=c["analyst"], risk=risk, outcome=Outcome.AVERTED, note="calm")
    with pytest.raises(services.IllegalMove, match="is closed; reopen it first"):
        services.review(actor=c["analyst"], risk=risk, note="x")
    # Refused moves left nothing behind: one create, one spread (no escalation: yellow to
    # orange happened once), one close.
    assert _actions(risk) == ["create", "spread", "escalate", "close"]


def test_version_clash(reg_city: dict[str, Any]) -> None:
    c = reg_city
    risk = services.create_risk(actor=c["analyst"], city="T", data=_data(c))
    seen = risk.version
    services.review(actor=c["analyst"], risk=risk, note="first", expected_version=seen)
    with pytest.raises(services.StaleRisk, match="you saw version 1, it is now 2"):
        services.change_level(
            actor=c["d1_analyst"], risk=risk, level="red", reason="x", expected_version=seen
        )
    assert RiskItem.objects.get(pk=risk.pk).level == Level.YELLOW


def test_risk_rights(reg_city: dict[str, Any]) -> None:
    c = reg_city
    with pytest.raises(Forbidden):
        services.create_risk(actor=c["auditor"], city="T", data=_data(c))
    with pytest.raises(Forbidden, match="North 2 District"):
        services.create_risk(actor=c["d1_analyst"], city="T", data=_data(c, jurisdiction=c["T-D2"]))
    d2 = services.create_risk(
        actor=c["analyst"], city="T", data=_data(c, jurisdiction=c["T-D2-S1"])
    )
    with pytest.raises(Forbidden, match=d2.code):
        services.review(actor=c["d1_analyst"], risk=d2, note="x")
    # The owner unit's leader manages the unit's risk even outside an area scope...
    services.review(actor=c["leader"], risk=d2, note="the bureau checked")
    # ...but a handler of the same unit has no risk rights at all.
    with pytest.raises(Forbidden):
        services.review(actor=c["handler"], risk=d2, note="x")
    assert selectors.risk(c["handler"], d2.code) is None
    assert selectors.risk(c["leader"], d2.code) is not None
    assert selectors.risk(c["d1_analyst"], d2.code) is None


def test_review_overdue_and_deadline_overdue_are_found(reg_city: dict[str, Any]) -> None:
    c = reg_city
    start = clock.now()
    red = services.create_risk(
        actor=c["analyst"], city="T", data=_data(c, level=Level.RED, deadline=later(2))
    )
    blue = services.create_risk(actor=c["analyst"], city="T", data=_data(c, level=Level.BLUE))
    with clock.frozen(start + timedelta(days=3)):
        overdue_review = selectors.risks(c["analyst"], selectors.RiskFilters(review_overdue=True))
        assert [r.code for r in overdue_review] == [red.code]
        past_deadline = selectors.risks(c["analyst"], selectors.RiskFilters(overdue=True))
        assert [r.code for r in past_deadline] == [red.code]
        services.review(actor=c["analyst"], risk=red, note="checked")
        assert not selectors.risks(c["analyst"], selectors.RiskFilters(review_overdue=True))
    assert services.review_due(blue) == blue.created_at + timedelta(days=14)


def test_alert_queue_filters_and_order(reg_city: dict[str, Any]) -> None:
    c = reg_city
    old = cluster(c, key="c1")
    services.acknowledge(actor=c["analyst"], alert=old)
    new = cluster(c, lat=0.5, lon=2.5, key="c2")
    assert [a.pk for a in selectors.alerts(c["analyst"])] == [new.pk, old.pk]
    area = selectors.AlertFilters(area="T-D2")
    assert [a.pk for a in selectors.alerts(c["analyst"], area)] == [new.pk]
    status = selectors.AlertFilters(status="acknowledged")
    assert [a.pk for a in selectors.alerts(c["analyst"], status)] == [old.pk]
    assert [a.pk for a in selectors.alerts(c["d1_analyst"])] == [old.pk]
    assert list(selectors.alerts(c["handler"])) == []
    with pytest.raises(InvalidInput, match="unknown kind"):
        list(selectors.alerts(c["analyst"], selectors.AlertFilters(kind="comet")))
    matter = selectors.AlertFilters(matter=c["leaf"].parent.code)
    assert len(selectors.alerts(c["analyst"], matter)) == 2


def test_escalation_tells_the_owner_units_leaders(reg_city: dict[str, Any]) -> None:
    from civitas.kit.models import OutboxMessage

    c = reg_city
    c["leader"].email = "leader@example.org"
    c["leader"].save(update_fields=["email"])
    risk = services.create_risk(actor=c["analyst"], city="T", data=_data(c))
    assert not OutboxMessage.objects.exists()
    services.change_level(actor=c["analyst"], risk=risk, level=Level.RED, reason="injury")
    services.change_level(actor=c["analyst"], risk=risk, level=Level.BLUE, reason="calm")
    sent = list(OutboxMessage.objects.all())
    assert [(m.channel, m.recipient) for m in sent] == [("email", "leader@example.org")]
    assert risk.code in sent[0].subject and "风险升级为红色" in sent[0].subject
    assert "injury" in sent[0].body
