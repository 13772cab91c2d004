"""Imminent harm: the lexicon on its own (recall on a hand-written set, quiet on negated and
innocent texts) and flagged at intake through the real intake service."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake
from civitas.kit.models import AuditEntry
from civitas.matters.models import Urgency
from civitas.risk import harm
from civitas.risk.models import Alert, AlertKind, AlertStatus
from tests.factories import member

# Hand-written: (text, the class it must be flagged as). Not tuned on the Changsha data.
HARMFUL = [
    ("物业一直不解决，我真的不想活了", harm.SELF_HARM),
    ("再拖欠工资我就从楼顶跳楼", harm.SELF_HARM),
    ("我受不了了不想活了", harm.SELF_HARM),
    ("邻居说要喝农药死给你们看", harm.SELF_HARM),
    ("我已经活不下去了，请帮帮我", harm.SELF_HARM),
    ("老人说想轻生，家里没人照看", harm.SELF_HARM),
    ("I can't take it any more, I want to kill myself", harm.SELF_HARM),
    ("I am going to end my life tonight", harm.SELF_HARM),
    ("He told me he is suicidal and alone", harm.SELF_HARM),
    ("楼下那个人说要杀了他全家", harm.VIOLENCE),
    ("有人在菜市场持刀伤人", harm.VIOLENCE),
    ("保安殴打业主，现在还在打", harm.VIOLENCE),
    ("丈夫家暴，我和孩子躲在楼道里", harm.VIOLENCE),
    ("A man with a knife is chasing people in the park", harm.VIOLENCE),
    ("Shots fired near the school gate", harm.VIOLENCE),
    ("讨债的人扬言要打断我的腿", harm.THREAT),
    ("包工头威胁我们说不许再来要钱", harm.THREAT),
    ("The landlord is threatening me and my children", harm.THREAT),
    ("He threatened to burn the shop down", harm.THREAT),
    ("上百人聚集在工地门口讨薪", harm.CROWD),
    ("几十名村民堵路，要求停止施工", harm.CROWD),
    ("业主在售楼部拉横幅维权", harm.CROWD),
    ("A crowd is gathering outside the factory gate", harm.CROWD),
    ("Residents are blocking the road to the landfill", harm.CROWD),
    ("楼道里一股煤气味，好像煤气泄漏了", harm.HAZARD),
    ("3栋5楼着火了，浓烟很大", harm.HAZARD),
    ("小区围墙随时可能倒塌", harm.HAZARD),
    ("电梯里有人被困", harm.HAZARD),
    ("There is a strong smell of gas in the stairwell", harm.HAZARD),
    ("The kitchen of the restaurant is on fire", harm.HAZARD),
    ("The ceiling of the underpass collapsed this morning", harm.HAZARD),
]

INNOCENT = [
    "我没有想跳楼，只是希望尽快修好电梯",
    "商场跳楼价大甩卖，噪音太大",
    "消防通道堵塞，存在火灾隐患，请尽快清理",
    "一旦发生火灾，后果不堪设想",
    "为防止人员聚集，请社区错峰发放物资",
    "小区里没有人聚集，只是车辆乱停",
    "打死也不交这个物业费",
    "楼下麻将馆聚众赌博，噪音扰民",
    "笑死人了，路灯白天亮晚上不亮",
    "社区组织了燃气泄漏应急演练",
    "2008年桥梁垮塌以后一直没有修",
    "The fire lane is blocked by parked cars",
    "There is no smell of gas any more, thanks",
    "I am not threatening anyone, I just want an answer",
    "The fire hydrant on Elm Street is leaking",
    "Please prevent crowds gathering at the clinic by giving appointments",
    "The streetlight is out and the pothole is deep",
    "我们小区门禁坏了一个月",
]


@pytest.mark.parametrize(("text", "cls"), HARMFUL)
def test_harmful_texts_are_flagged_with_their_class(text: str, cls: str) -> None:
    found = harm.assess(text)
    assert found is not None, text
    assert cls in found.classes, (text, found.classes)


@pytest.mark.parametrize("text", INNOCENT)
def test_negated_and_innocent_texts_are_not_flagged(text: str) -> None:
    assert harm.assess(text) is None, (text, harm.assess(text))


def test_recall_on_the_hand_written_set() -> None:
    flagged = sum(
        1 for text, cls in HARMFUL if (f := harm.assess(text)) is not None and cls in f.classes
    )
    assert flagged / len(HARMFUL) >= 0.9


@pytest.fixture
def intake_city(city: dict[str, Any]) -> dict[str, Any]:
    city["resident"] = member("resident", "resident")
    return city


def _submit(city: dict[str, Any], text: str) -> Any:
    data = intake.AppealIn(
        city="T",
        text=text,
        lat=0.5,
        lon=0.5,
        contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
    )
    with transaction.atomic():
        return intake.submit(actor="web", data=data, dispatch_now=False).appeal


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("电梯一直不修，我真的不想活了，要从楼顶跳下去", harm.SELF_HARM),
        ("There is a strong smell of gas in the lift lobby of building 3", harm.HAZARD),
    ],
)
def test_harm_at_intake_makes_an_urgent_appeal_and_an_alert(
    intake_city: dict[str, Any], text: str, cls: str
) -> None:
    appeal = _submit(intake_city, text)
    appeal.refresh_from_db()
    assert appeal.urgency == Urgency.URGENT
    alert = Alert.objects.get(kind=AlertKind.HARM)
    assert alert.status == AlertStatus.NEW
    assert cls in alert.numbers["classes"]
    assert list(alert.appeals.all()) == [appeal]
    assert alert.jurisdiction_path == appeal.jurisdiction_path
    assert alert.jurisdiction_path.startswith("/T/T-D1/")
    assert AuditEntry.objects.filter(action="risk.alert.raise", object_id=str(alert.pk)).exists()
    received = appeal.events.get(action="received")
    assert cls in received.data["harm"]["classes"]


@pytest.mark.django_db
def test_innocent_appeal_at_intake_raises_nothing(intake_city: dict[str, Any]) -> None:
    appeal = _submit(intake_city, "消防通道堵塞，存在火灾隐患，但没有人被困，请清理")
    assert not Alert.objects.filter(kind=AlertKind.HARM).exists()
    assert "harm" not in appeal.events.get(action="received").data
