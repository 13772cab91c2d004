"""The demo's mediation bodies and disputes in every state, made through the real services.

Bodies: every district gets a dispute mediation centre (``{district}-MEDIATION``) and the city
a coordination centre (``{city}-MEDIATION``), beside the street people's mediation committees
of the city pack; communities mediate through their residents' committees (``{community}-CC``,
the rules' fallback at the community level). The demo login ``mediator-district`` (of the
district service centre) also joins its district's mediation centre, and a ``mediator-city``
login joins the city's, so that every level has a person to act.

Disputes: about forty over the last ninety days, at every level and in every state (waiting
for acceptance, in mediation, agreed with a follow-up visit due, resolved, referred to court or
labour arbitration, withdrawn, moved up after a failure or a passed deadline), some referred
from demo appeals of suitable matters, one across two districts at the city, one of high risk
in the risk register. Each move is made at its own past time (the clock is set back for it).

Idempotent: bodies and memberships are ensured every time; the disputes are made once (when
the city has none).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from civitas.appeals.models import Appeal
from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.mediation import rules, services
from civitas.mediation.models import Dispute, FollowUp, Party, Session, Source, Status
from civitas.mediation.services import DisputeIn, PartyIn
from civitas.org import services as org_services
from civitas.org.models import Membership, Role, Unit, UnitKind, User

ACTOR = "cli:demo"
SEED = "harbour-city-disputes-1"
CITY_MEDIATOR = "mediator-city"

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "朱"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"]
FIRMS = [
    "海港宏达建筑劳务有限公司",
    "海港安居物业服务有限公司",
    "海港顺通汽车服务有限公司",
    "海港仁和医院",
    "海港鑫源餐饮管理有限公司",
    "海港优选电子商务有限公司",
]

# Per dispute type: (title, summary, whether the respondent is a firm)
STORIES: dict[str, tuple[str, str, bool]] = {
    "neighbour": (
        "楼上漏水殃及楼下 Water leaking into the flat below",
        "楼上住户卫生间漏水，楼下天花板受损，双方对维修费用分担有争议。"
        "The bathroom above leaks; the two households disagree on who pays the repair.",
        False,
    ),
    "family": (
        "赡养老人费用分担 Sharing the cost of caring for a parent",
        "三兄妹对母亲的赡养费和照料安排意见不一。"
        "Three siblings disagree on paying for and looking after their mother.",
        False,
    ),
    "labour": (
        "拖欠工资 Unpaid wages",
        "工人反映公司拖欠两个月工资，多次讨要未果。"
        "Workers say the firm has not paid two months of wages.",
        True,
    ),
    "property": (
        "物业费与服务质量纠纷 Property fee and service dispute",
        "业主以服务质量差为由拒交物业费，物业公司催缴。"
        "Owners refuse the property fee over poor service; the company demands payment.",
        True,
    ),
    "land": (
        "宅基地边界争议 Boundary of a homestead plot",
        "两户村民对宅基地边界和围墙位置有争议。"
        "Two village households disagree on where their plots and wall meet.",
        False,
    ),
    "consumer": (
        "预付卡退费纠纷 Refund of a prepaid card",
        "消费者要求退还健身预付卡余额，商家拒绝。"
        "A customer wants the balance of a prepaid card back; the shop refuses.",
        True,
    ),
    "medical": (
        "手术后并发症赔偿 Compensation after a complication",
        "患者家属认为手术存在过错，要求医院赔偿。"
        "The family says the operation went wrong and asks the hospital for compensation.",
        True,
    ),
    "traffic": (
        "电动车与汽车剐蹭 Scooter and car collision",
        "电动车与小汽车剐蹭，双方对责任和修车费有争议。"
        "A scooter and a car collided; they disagree on fault and repair costs.",
        True,
    ),
}

# What the mediators write (the demo's words, in both languages).
TEXT = {
    "MINUTES": "双方陈述了各自意见，同意下次继续协商。"
    "Both sides were heard; they agreed to meet again.",
    "NOT_KEPT": "被申请人未按期付款。The respondent has not paid.",
    "FAILED": "双方分歧较大，调解未果。The parties are too far apart.",
    "UP": "涉及多个部门，需要上级协调。Several departments are involved.",
    "RISK": "工人聚集并扬言到政府上访。Workers gathered and threaten to march on the government.",
    "WITHDRAWN": "双方已自行和解。The parties settled between themselves.",
    "COURT": "当事人已向法院起诉。Filed at the court.",
    "MOVED": "申请人搬离，不再要求调解。The applicant moved away.",
}

# Each scenario: (name, type, days ago, moves). Moves, each a day or more after the last:
# accept, session, minutes, agree, kept, not_kept, fail, refer_court, withdraw, close,
# escalate, risk_high, overdue (the deadline task's move).
SCENARIOS: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("registered", "neighbour", 2, ()),
    ("registered", "property", 1, ()),
    ("registered", "traffic", 3, ()),
    ("accepted", "family", 6, ("accept",)),
    ("accepted", "neighbour", 5, ("accept",)),
    ("mediating", "neighbour", 8, ("accept", "session")),
    ("mediating", "property", 9, ("accept", "session", "minutes")),
    ("mediating", "consumer", 7, ("accept", "session", "minutes", "session")),
    ("agreed-due", "neighbour", 30, ("accept", "session", "minutes", "agree")),
    ("agreed-due", "family", 26, ("accept", "session", "minutes", "agree")),
    ("agreed-due", "traffic", 24, ("accept", "session", "agree")),
    ("agreed", "property", 6, ("accept", "session", "agree")),
    ("resolved", "neighbour", 80, ("accept", "session", "minutes", "agree", "kept")),
    ("resolved", "family", 70, ("accept", "session", "agree", "kept")),
    ("resolved", "property", 64, ("accept", "session", "minutes", "agree", "kept")),
    ("resolved", "consumer", 58, ("accept", "session", "agree", "kept")),
    ("resolved", "traffic", 50, ("accept", "session", "agree", "kept")),
    ("resolved", "neighbour", 45, ("accept", "session", "agree", "kept")),
    ("not-kept", "neighbour", 40, ("accept", "session", "agree", "not_kept", "session")),
    ("up-street", "neighbour", 20, ("accept", "session", "minutes", "fail")),
    ("up-street", "property", 22, ("accept", "session", "fail", "accept", "session")),
    (
        "up-resolved",
        "neighbour",
        75,
        ("accept", "session", "minutes", "fail", "accept", "session", "minutes", "agree", "kept"),
    ),
    ("overdue", "family", 40, ("overdue",)),
    ("escalated", "neighbour", 12, ("accept", "escalate")),
    ("labour-arbitration", "labour", 35, ("accept", "session", "minutes", "fail")),
    ("labour", "labour", 4, ("accept", "session")),
    ("court", "traffic", 55, ("accept", "session", "fail", "close")),
    ("court", "consumer", 48, ("accept", "session", "fail")),
    ("withdrawn", "neighbour", 33, ("accept", "withdraw")),
    ("withdrawn", "family", 60, ("withdraw",)),
    ("unresolved", "property", 52, ("accept", "session", "session", "close")),
    ("land", "land", 10, ("accept", "session")),
    ("land", "land", 66, ("accept", "session", "agree", "kept")),
    ("medical", "medical", 15, ("accept", "session", "minutes")),
    ("medical", "medical", 85, ("accept", "session", "agree", "kept")),
    ("big-amount", "property", 14, ("accept",)),
    ("group", "labour", 11, ("accept", "session")),
    ("high-risk", "labour", 9, ("accept", "risk_high", "accept", "session")),
    ("cross-district", "neighbour", 13, ("accept", "session")),
    ("cross-district", "traffic", 62, ("accept", "session", "agree", "kept")),
]


def _unit(
    code: str, kind: str, name_en: str, name_zh: str, place: Jurisdiction, parent: Unit | None
) -> tuple[Unit, bool]:
    unit = Unit.objects.filter(code=code).first()
    if unit is not None:
        return unit, False
    return (
        org_services.save_unit(
            actor=ACTOR,
            code=code,
            kind=kind,
            name_en=name_en,
            name_zh=name_zh,
            jurisdiction=place,
            parent=parent,
            reason="demo mediation bodies",
        ),
        True,
    )


def ensure_bodies(city: str = CITY) -> list[str]:
    """The district and city mediation centres, and who works in them. Returns the codes of
    the units made now."""
    root = Jurisdiction.objects.get(code=city, parent__isnull=True)
    made: list[str] = []
    with transaction.atomic():
        city_unit, new = _unit(
            f"{city}-MEDIATION",
            UnitKind.MEDIATION_COMMITTEE,
            f"{root.name_en} Dispute Mediation Coordination Centre",
            f"{root.name_zh}矛盾纠纷多元化解协调中心",
            root,
            None,
        )
        if new:
            made.append(city_unit.code)
        districts = Jurisdiction.objects.filter(
            path__startswith=root.path, level__code="district"
        ).order_by("path")
        for d in districts:
            centre = Unit.objects.filter(jurisdiction=d, kind=UnitKind.CENTRE, active=True).first()
            unit, new = _unit(
                f"{d.code}-MEDIATION",
                UnitKind.MEDIATION_COMMITTEE,
                f"{d.name_en} Dispute Mediation Centre",
                f"{d.name_zh}矛盾纠纷调处化解中心",
                d,
                centre,
            )
            if new:
                made.append(unit.code)
        # The district mediator of the demo logins works in the first district's centre too.
        first = districts.first()
        district_mediator = User.objects.filter(username="mediator-district").first()
        if first is not None and district_mediator is not None:
            org_services.add_membership(
                actor=ACTOR,
                user=district_mediator,
                role=Role.MEDIATOR,
                unit=Unit.objects.get(code=f"{first.code}-MEDIATION"),
                reason="demo: the district mediation centre",
            )
        if User.objects.filter(username="mediator").exists():
            # demo logins exist: one for the city's coordination centre as well
            from civitas.citypacks.demo.users import _ensure_user, demo_password

            user = _ensure_user(
                CITY_MEDIATOR,
                demo_password(Role.MEDIATOR),
                "City mediation coordinator 市矛调中心调解员",
            )
            org_services.add_membership(
                actor=ACTOR, user=user, role=Role.MEDIATOR, unit=city_unit, reason="demo sign-in"
            )
    return made


class _Player:
    """Plays the scenarios: registers each dispute and makes its moves at past times."""

    def __init__(self, city: str, now: datetime, rng: random.Random) -> None:
        self.city, self.now, self.rng = city, now, rng
        root = Jurisdiction.objects.get(code=city, parent__isnull=True)
        self.communities = list(
            Jurisdiction.objects.filter(path__startswith=root.path, level__code="community")
            .select_related("parent")
            .order_by("path")
        )
        if not self.communities:
            raise ValueError(f"{city} has no communities")
        districts = sorted({rules.district_of(c) for c in self.communities} - {""})
        self.by_district = {
            d: [c for c in self.communities if f"/{d}/" in c.path] for d in districts
        }
        self.home = self.communities[0]  # the first community (the demo logins' own)
        self.superuser = (
            User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        self.people = {u.username: u for u in User.objects.filter(is_active=True)}
        self.appeals = self._appeals()

    def _appeals(self) -> dict[str, list[Appeal]]:
        words = {
            "labour": ("wage", "labour"),
            "property": ("property fee",),
            "neighbour": ("neighbours",),
            "consumer": ("online shopping",),
        }
        taken = set(
            Dispute.objects.filter(appeal__isnull=False).values_list("appeal_id", flat=True)
        )
        out: dict[str, list[Appeal]] = {}
        for kind, keys in words.items():
            qs = Appeal.objects.filter(city=self.city, jurisdiction__isnull=False).exclude(
                pk__in=taken
            )
            q = Q(pk__in=[])
            for k in keys:
                q |= Q(matter__name_en__icontains=k)
            out[kind] = list(qs.filter(q).order_by("received_at", "pk")[:3])
        return out

    # -- who acts ----------------------------------------------------------------------------

    def acting(self, unit: Unit) -> User:
        m = (
            Membership.objects.filter(
                unit=unit,
                role__in=[Role.MEDIATOR, Role.UNIT_LEADER],
                active=True,
                user__is_active=True,
            )
            .select_related("user")
            .order_by("role", "pk")
            .first()
        )
        if m is not None:
            return m.user
        if self.superuser is None:
            raise ValueError("the demo needs its sign-ins (a superuser) to act for empty units")
        return self.superuser

    def registrar(self, source: str) -> User:
        name: dict[str, str] = {
            Source.GRID: "gridworker",
            Source.HOTLINE: "dispatcher",
            Source.APPEAL: "dispatcher",
        }
        user = self.people.get(name.get(source, "mediator"))
        if user is None:
            assert self.superuser is not None
            return self.superuser
        return user

    # -- the parts of a dispute --------------------------------------------------------------

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + self.rng.choice(["", *GIVEN])

    def phone(self) -> str:
        return "13" + "".join(self.rng.choice("0123456789") for _ in range(9))

    def address(self, where: Jurisdiction) -> str:
        return f"{where.name_zh}{self.rng.randint(1, 40)}栋{self.rng.randint(101, 1802)}室"

    def parties(self, kind: str, a: Jurisdiction, b: Jurisdiction) -> list[PartyIn]:
        firm = STORIES[kind][2]
        out = [
            PartyIn(
                side=Party.Side.APPLICANT,
                name=self.name(),
                phone=self.phone(),
                address=self.address(a),
                jurisdiction=a,
            )
        ]
        if firm:
            out.append(
                PartyIn(
                    side=Party.Side.RESPONDENT,
                    kind=Party.Kind.ORGANISATION,
                    name=self.rng.choice(FIRMS),
                    phone="0" + "".join(self.rng.choice("0123456789") for _ in range(10)),
                    representative=self.name(),
                    jurisdiction=b,
                )
            )
        else:
            out.append(
                PartyIn(
                    side=Party.Side.RESPONDENT,
                    name=self.name(),
                    phone=self.phone(),
                    address=self.address(b),
                    jurisdiction=b,
                )
            )
        return out

    def place(self, n: int, scenario: str) -> tuple[Jurisdiction, Jurisdiction]:
        districts = list(self.by_district)
        if scenario == "cross-district" and len(districts) > 1:
            a = self.by_district[districts[0]][n % len(self.by_district[districts[0]])]
            b = self.by_district[districts[1]][0]
            return a, b
        # most disputes where the demo logins work: the first community and its district;
        # those passed up from a community all go to the street of the `mediator` login
        if n % 3 == 0 or scenario.startswith("up-"):
            return self.home, self.home
        first = self.by_district[districts[0]] if districts else self.communities
        spot = (
            first[n % len(first)]
            if n % 3 == 1
            else self.communities[(n * 7) % len(self.communities)]
        )
        return spot, spot

    # -- playing -----------------------------------------------------------------------------

    def at(self, when: datetime, fn: Callable[[], Any]) -> Any:
        with clock.frozen(min(when, self.now)):
            return fn()

    def play(
        self, n: int, scenario: str, kind: str, days_ago: int, moves: tuple[str, ...]
    ) -> Dispute:
        when = self.now - timedelta(days=days_ago, hours=self.rng.randint(0, 8))
        a, b = self.place(n, scenario)
        amount: Any = None
        people, risk = 2, "low"
        if kind in ("labour", "property", "traffic", "medical", "consumer"):
            amount = self.rng.choice([3800, 12000, 26000, 48000])
        if scenario == "big-amount":
            amount = 680000
        if scenario == "group":
            people, amount = 12, 240000
        if scenario == "high-risk":
            people, amount = 12, 240000
            a = b = self.home
        if kind == "medical":
            amount = 150000
        title, summary, _firm = STORIES[kind]
        appeal = None
        source = [Source.WALK_IN, Source.WALK_IN, Source.GRID, Source.HOTLINE][n % 4]
        pool = self.appeals.get(kind) or []
        if pool and n % 2 == 0 and scenario != "cross-district":
            appeal = pool.pop(0)
            source = Source.APPEAL
        data = DisputeIn(
            title=title,
            summary=summary,
            type=kind,
            parties=self.parties(kind, a, b),
            amount=amount,
            people_involved=people,
            risk_level=risk,
            jurisdiction=a,
            address=f"{a.name_zh}",
        )
        who = self.registrar(source)
        if appeal is not None:
            if appeal.received_at and appeal.received_at > when:
                when = appeal.received_at + timedelta(hours=2)
            data.jurisdiction = appeal.jurisdiction
            d = self.at(
                when, lambda: services.refer_from_appeal(actor=who, appeal=appeal, data=data)
            )
        else:
            d = self.at(when, lambda: services.register(actor=who, data=data, source=source))
        for move in moves:
            when += timedelta(days=self.rng.choice([1, 1, 2, 3]), hours=self.rng.randint(0, 5))
            d = Dispute.objects.select_related("unit", "jurisdiction").get(pk=d.pk)
            if move == "overdue" and d.due_at is not None:
                when = d.due_at + timedelta(hours=1)
            when = min(when, self.now)
            with clock.frozen(when):
                self.move(d, move, when)
        return d

    def move(self, d: Dispute, move: str, when: datetime) -> None:
        actor = self.acting(d.unit)
        v = d.version
        if move == "accept":
            services.accept(actor=actor, dispute=d, version=v)
        elif move == "session":
            services.schedule_session(
                actor=actor,
                dispute=d,
                # held the same day (a result is recorded only after the session's time)
                scheduled_at=min(when + timedelta(hours=2), self.now),
                place=f"{d.unit.name_zh}调解室",
                mediators=[actor],
                version=v,
            )
        elif move == "minutes":
            s = Session.objects.filter(dispute=d, result="").order_by("number").first()
            if s is not None:
                services.record_session(
                    actor=actor,
                    session=s,
                    result=Session.Result.CONTINUE,
                    minutes=TEXT["MINUTES"],
                    attendees="申请人、被申请人 Applicant, respondent",
                )
        elif move == "agree":
            signed = when.date()
            services.record_agreement(
                actor=actor,
                dispute=d,
                facts=d.summary,
                terms="被申请人于十日内支付约定款项并完成维修；双方不再就此事发生争议。"
                "The respondent pays the agreed sum and completes the repair within ten days; "
                "neither side raises the matter again.",
                signed_on=signed,
                amount=(d.amount / 2).quantize(Decimal("0.01")) if d.amount else None,
                perform_by=signed + timedelta(days=10),
                version=v,
            )
        elif move in ("kept", "not_kept"):
            f = FollowUp.objects.filter(dispute=d, done_at__isnull=True).first()
            if f is not None:
                services.record_follow_up(
                    actor=actor,
                    follow_up=f,
                    kept=move == "kept",
                    method=FollowUp.Method.PHONE if move == "kept" else FollowUp.Method.VISIT,
                    note="" if move == "kept" else TEXT["NOT_KEPT"],
                )
        elif move == "fail":
            services.fail(
                actor=actor,
                dispute=d,
                reason=TEXT["FAILED"],
                version=v,
            )
        elif move == "escalate":
            services.escalate(
                actor=actor,
                dispute=d,
                reason=TEXT["UP"],
                version=v,
            )
        elif move == "risk_high":
            services.set_risk_level(
                actor=actor,
                dispute=d,
                level="high",
                reason=TEXT["RISK"],
                version=v,
            )
        elif move == "overdue":
            services.escalate_overdue(d.pk)
        elif move == "withdraw":
            services.withdraw(
                actor=actor,
                dispute=d,
                reason=TEXT["WITHDRAWN"],
                version=v,
            )
        elif move == "close":
            if d.status == Status.REFERRED:
                services.close(
                    actor=actor,
                    dispute=d,
                    outcome="referred",
                    note=TEXT["COURT"],
                    version=v,
                )
            else:
                services.close(
                    actor=actor,
                    dispute=d,
                    outcome="unresolved",
                    note=TEXT["MOVED"],
                    version=v,
                )


def setup(
    progress: Callable[[str], None], *, city: str = CITY, now: datetime | None = None
) -> list[str]:
    """Create what is missing; return lines telling the visitor what to explore."""
    if not Jurisdiction.objects.filter(code=city, parent__isnull=True).exists():
        return [f"skipped: no city {city}"]
    made = ensure_bodies(city)
    if made:
        progress(f"mediation bodies: {', '.join(made)}")
    if Dispute.objects.filter(city=city).exists():
        progress("disputes: already there")
    else:
        now = (now or clock.now()).replace(second=0, microsecond=0)
        player = _Player(city, now, random.Random(SEED))
        referred = 0
        with transaction.atomic():
            for n, (scenario, kind, days_ago, moves) in enumerate(SCENARIOS, start=1):
                d = player.play(n, scenario, kind, days_ago, moves)
                referred += d.appeal_id is not None
            audit.record(
                actor=ACTOR,
                action="demo.mediation",
                object_type="mediation.dispute",
                object_id=city,
                after={"disputes": len(SCENARIOS), "from_appeals": referred},
                reason="demo disputes through the real services",
            )
        progress(f"disputes: {len(SCENARIOS)} ({referred} referred from appeals)")
    return guide(city)


def guide(city: str = CITY) -> list[str]:
    return [
        "sign in as mediator-community: the disputes of the first community's residents' "
        "committee (accept, sessions, agreements, follow-ups due)",
        "sign in as mediator: the first street's people's mediation committee, with disputes "
        "passed up from communities after a failed mediation or a passed deadline",
        f"sign in as mediator-district: {city}-D01's dispute mediation centre (large amounts, "
        "medical disputes, group labour disputes, a high-risk dispute also in the risk register)",
        f"sign in as {CITY_MEDIATOR}: the city coordination centre, with disputes whose parties "
        "live in different districts",
        "sign in as dispatcher: every dispute of the city with the parties' names masked; "
        "figures of disputes received and resolved by level, type and area",
    ]
