"""Demo appeals: about 300 cases over the last 60 days, so that the demo city looks lived in.

Every case goes through the real services: ``intake.submit`` (triage, routing, dispatch) and
the actions of ``appeals.services``, each taken by someone entitled to it (the demo sign-ins
where they belong to the unit, otherwise a staff member of that unit made here without a
password), with the clock frozen at the moment the action happened. The mix covers every
status: dispatched, accepted, overdue (and supervised), returned, arbitrated, waiting for the
resident, extension and suspension requests, resolved awaiting the verdict, rated with all
three verdicts, reopened after a dissatisfied verdict, co-handled, a whistle with one
department late, duplicates, and cases waiting in the centre's triage queue.

Deterministic for a given seed and day (times are relative to "now"); idempotent: nothing
happens when the demo city already holds demo appeals (external ids ``demo-NNNN``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from shapely.geometry import Point, shape

from civitas.appeals import intake, services
from civitas.appeals.models import Appeal, Channel, Kind, Request, Satisfaction, Status
from civitas.appeals.parties import TrackingToken
from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.org import services as org_services
from civitas.org.models import Membership, Role, Unit, UnitKind, User

SEED = "harbour-city-appeals-1"
ACTOR = "cli:demo"
DAYS = 60
HOUR = timedelta(hours=1)

# (matter leaf code, English text, Chinese text); {place} is the community's name.
TEXTS: list[tuple[str, str, str]] = [
    ("DC-M01-01-01", "The lift in building 3 of {place} has stopped between floors twice this "
     "week and an elderly neighbour was stuck in the lift for 20 minutes.",
     "{place}3号楼电梯本周两次停在楼层中间，一位老人被困电梯里二十分钟，请尽快维修。"),
    ("DC-M01-01-02", "Since the new property management company took over in {place} nobody "
     "cleans the stairwells and the security guard is never at the gate.",
     "{place}换了物业公司以后楼道没人保洁，门口保安也经常不在岗，物业不作为。"),
    ("DC-M01-01-04", "The entrance gate of our compound in {place} has been broken for a month "
     "and the stairwell light on the 5th floor is out.",
     "{place}小区门禁坏了一个月，5楼楼道灯也不亮，公共设施没人修。"),
    ("DC-M01-02-03", "Water leaks through the roof of the top-floor flats in {place} every "
     "time it rains; the ceiling plaster is coming off.",
     "{place}顶楼每逢下雨就漏水，天花板墙皮都泡掉了，希望尽快做防水。"),
    ("DC-M01-04-01", "A construction site next to {place} works with heavy machinery after "
     "midnight; the construction noise keeps the whole block awake.",
     "{place}旁边工地凌晨还在夜间施工，机器轰鸣，施工噪音吵得整栋楼睡不着。"),
    ("DC-M01-04-02", "Muck trucks leave the site near {place} uncovered and the construction "
     "dust covers cars and balconies.",
     "{place}附近工地渣土车不覆盖，扬尘很大，阳台和车上全是灰。"),
    ("DC-M02-01-01", "The garbage bins at the corner of {place} have not been emptied for "
     "four days; the rubbish is piling up and smells.",
     "{place}路口的垃圾桶四天没有清运，垃圾堆成山，气味很大。"),
    ("DC-M02-01-04", "Litter along the main road through {place} is not swept; street "
     "cleaning seems to have stopped.",
     "{place}主路上的垃圾没人清扫，道路保洁好像停了。"),
    ("DC-M02-02-01", "A resident on the ground floor in {place} is building an unauthorised "
     "structure in the shared garden.",
     "{place}一楼住户在公共绿地上私搭乱建，搭了一间违建房。"),
    ("DC-M02-03-01", "Street vendors set up stalls blocking the pavement outside the market in "
     "{place} every evening; pedestrians have to walk in the road.",
     "{place}菜市场门口每天晚上摊贩占道经营，行人只能走到马路上。"),
    ("DC-M02-03-03", "Dozens of shared bikes are dumped in front of the metro exit at {place} "
     "and block the tactile paving.",
     "{place}地铁口共享单车乱停，挡住了盲道。"),
    ("DC-M02-03-04", "Cooking fumes from the restaurant downstairs in {place} come straight "
     "into our windows; the restaurant smoke has no filter.",
     "{place}楼下餐饮店油烟直排，熏得我们家不敢开窗。"),
    ("DC-M03-01-02", "Square dancing in the plaza of {place} goes on until 10 pm with loud "
     "speakers; the noise is unbearable.",
     "{place}广场舞每天放到晚上十点，音响噪音太大了。"),
    ("DC-M03-02-02", "Someone is burning rubbish in the open field behind {place}; the smoke "
     "drifts into the homes.",
     "{place}后面空地上有人焚烧垃圾，烧垃圾的烟飘进居民家里。"),
    ("DC-M04-02-01", "There is a deep pothole on the road at the entrance of {place}; two "
     "scooters have already fallen.",
     "{place}入口路面有一个大坑洼，已经有两辆电动车摔倒了。"),
    ("DC-M04-02-02", "A manhole cover is missing on the pavement in {place}; children walk past "
     "it on the way to school.",
     "{place}人行道上井盖缺失，孩子们上学都要经过，非常危险。"),
    ("DC-M04-02-04", "Three streetlights along the river path in {place} have been out for a "
     "week; the street lamp out makes the path dark and unsafe.",
     "{place}河边步道有三盏路灯一周不亮了，晚上照明很差。"),
    ("DC-M04-03-01", "Cars are illegally parked on both sides of the fire lane in {place} every "
     "night; a blocked driveway stops us getting out.",
     "{place}每天晚上消防车道两边违停，乱停车堵住了出口。"),
    ("DC-M06-01-01", "No water in {place} since this morning and no notice was given about a "
     "water outage.",
     "{place}从早上开始停水，事先没有任何通知，现在还没水。"),
    ("DC-M06-01-02", "The tap water in {place} has been discoloured and yellow for three days; "
     "tap water quality is a worry.",
     "{place}自来水连续三天水黄，有异味，担心水质。"),
    ("DC-M06-02-02", "Exposed wires hang from the electric box at the corner of {place} and "
     "touch the ground when it rains.",
     "{place}拐角电箱外面电线裸露，下雨时垂到地上，存在电力隐患。"),
    ("DC-M07-01-01", "My employer in {place} owes me three months of wages; the unpaid wages "
     "total 15,000 yuan.",
     "我在{place}一家公司工作，公司拖欠工资三个月共一万五千元。"),
    ("DC-M08-02-02", "Rats run across the alley behind the food stalls in {place} at night; "
     "there are mosquitoes everywhere too.",
     "{place}小吃街后巷晚上老鼠乱窜，蚊子也很多。"),
    ("DC-M09-01-02", "Cars speed past the school gate in {place} at pick-up time; there is no "
     "crossing guard around the school surroundings.",
     "{place}学校周边放学时车辆很快，校门口没有人维持秩序。"),
    ("DC-M11-02-01", "The fire escape of the shopping arcade in {place} is blocked with "
     "goods; the emergency exit is locked.",
     "{place}商场消防通道堵塞，堆满了货物，安全出口还上了锁。"),
    ("DC-M11-02-03", "People in {place} charge e-bikes with cables from windows; the e-bike "
     "charging in the corridor is a fire risk.",
     "{place}有住户从窗户拉飞线给电动车充电，楼道里也在充电，火灾隐患大。"),
    ("DC-M12-01-01", "The drain outside {place} is blocked and sewage overflows onto the "
     "pavement after every shower.",
     "{place}门口下水道堵塞，每次下雨污水都漫到人行道上。"),
    ("DC-M13-01-01", "A large branch broke off a tree in {place} in last night's wind and is "
     "hanging over the footpath.",
     "{place}昨晚大风吹断了一根大树枝，断枝悬在人行道上方。"),
    ("DC-M13-02-01", "The fitness equipment in the park at {place} is broken and rusty.",
     "{place}公园里的健身器材坏了，锈得很厉害。"),
    ("DC-M10-01-02", "Elderly people living alone in {place} would like the community canteen "
     "to deliver meals for the elderly.",
     "{place}独居老人希望社区食堂能提供助餐送餐服务。"),
]  # fmt: skip

NAMES = [
    ("Wang Fang", "王芳"), ("Li Wei", "李伟"), ("Zhang Min", "张敏"), ("Liu Yang", "刘洋"),
    ("Chen Jing", "陈静"), ("Yang Lei", "杨磊"), ("Zhao Qiang", "赵强"), ("Huang Li", "黄丽"),
    ("Zhou Jun", "周军"), ("Wu Xia", "吴霞"), ("Xu Tao", "徐涛"), ("Sun Yan", "孙燕"),
]  # fmt: skip

# The mix (about 300): scenario -> number of cases.
MIX: dict[str, int] = {
    "dispatched": 25,
    "accepted": 40,
    "overdue": 20,
    "returned": 8,
    "arbitrated": 6,
    "waiting": 8,
    "extension": 10,
    "suspended": 3,
    "resolved": 30,
    "satisfied": 78,
    "basic": 30,
    "late": 10,
    "reopened": 12,
    "co_handled": 6,
    "whistle": 4,
    "triage": 6,
    "duplicate": 5,
}

RESOLUTIONS = [
    ("Repaired on site; photos taken after the work.", "已现场维修完毕，并拍照留存。"),
    ("The company responsible was ordered to fix it and has.", "已责令责任单位整改到位。"),
    ("Inspected with the community; the problem is solved.", "已会同社区现场核查，问题已解决。"),
    ("Cleared and added to the weekly patrol.", "已清理完毕，并纳入每周巡查。"),
]  # fmt: skip
COMMENTS = {
    Satisfaction.SATISFIED: ("Fixed quickly, thank you.", "处理很及时，谢谢！"),
    Satisfaction.BASIC: ("Solved, but it took a while.", "问题解决了，就是有点慢。"),
    Satisfaction.DISSATISFIED: ("Nothing has changed on site.", "现场根本没有变化，不满意。"),
}


def already_seeded() -> bool:
    return Appeal.objects.filter(city=CITY, external_id__startswith="demo-").exists()


@dataclass
class _Spot:
    code: str
    name_en: str
    name_zh: str
    shape: Any


class _Cast:
    """Who acts: the demo sign-ins, and one handler and one leader per unit made on demand."""

    def __init__(self) -> None:
        users = {u.username: u for u in User.objects.filter(username__in=_DEMO_NAMES)}
        missing = sorted(set(_DEMO_NAMES) - set(users))
        if missing:
            from civitas.kit.errors import NotFound

            raise NotFound(
                f"demo sign-ins {', '.join(missing)} not found: create them first "
                "(civitas demo does, before seeding appeals)",
                code="demo_users_missing",
            )
        self.users = users
        self.made: dict[tuple[int, str], User] = {}

    def __getitem__(self, name: str) -> User:
        return self.users[name]

    def staff(self, unit: Unit, role: str = Role.UNIT_HANDLER) -> User:
        key = (unit.pk, role)
        if key in self.made:
            return self.made[key]
        member = (
            Membership.objects.filter(unit=unit, role=role, active=True)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        if member is not None:
            user = member.user
        else:
            tag = "leader" if role == Role.UNIT_LEADER else "staff"
            found = User.objects.filter(username=f"{tag}-{unit.code.lower()}").first()
            if found is not None:
                user = found
            else:
                user = User(
                    username=f"{tag}-{unit.code.lower()}",
                    display_name=f"{unit.name_en} {'leader' if tag == 'leader' else 'handler'} "
                    f"{unit.name_zh}{'负责人' if tag == 'leader' else '承办人'}",
                )
                user.set_unusable_password()
                user.save()
            org_services.add_membership(
                actor=ACTOR, user=user, role=role, unit=unit, reason="demo staff"
            )
        self.made[key] = user
        return user


_DEMO_NAMES = ("dispatcher", "operator", "gridworker", "resident")


class _Seeder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.cast = _Cast()
        self.spots = self._spots()
        self.open_cases: list[Appeal] = []
        self.done: Counter[str] = Counter()

    # -- helpers ------------------------------------------------------------------------------
    def _spots(self) -> list[_Spot]:
        rows = Jurisdiction.objects.filter(
            path__startswith=f"/{CITY}/", level__code="community", boundary__isnull=False
        ).order_by("code")
        spots = [_Spot(j.code, j.name_en, j.name_zh, shape(j.boundary)) for j in rows]
        if not spots:
            from civitas.kit.errors import NotFound

            raise NotFound("the demo city is not imported", code="demo_city_missing")
        return spots

    def _spot(self) -> _Spot:
        # Two in five cases come from the first street (the demo handlers' own street).
        first = [s for s in self.spots if s.code.startswith(f"{CITY}-D01-S01-")]
        pool = first if first and self.rng.random() < 0.4 else self.spots
        return self.rng.choice(pool)

    def _point(self, spot: _Spot) -> tuple[float, float]:
        x0, y0, x1, y1 = spot.shape.bounds
        for _ in range(50):
            x, y = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            if spot.shape.contains(Point(x, y)):
                return round(y, 6), round(x, 6)
        p = spot.shape.representative_point()
        return round(p.y, 6), round(p.x, 6)

    def at(self, when: datetime, fn: Callable[[], Any]) -> Any:
        with clock.frozen(min(when, self.now - timedelta(minutes=1))):
            return fn()

    def _after(self, start: datetime, lo: float, hi: float) -> datetime:
        return start + timedelta(hours=self.rng.uniform(lo, hi))

    # -- one case ------------------------------------------------------------------------------
    def submit(self, n: int, received: datetime, *, located: bool = True) -> Appeal:
        rng = self.rng
        matter, en, zh = rng.choice(TEXTS)
        spot = self._spot()
        chinese = rng.random() < 0.6
        # Appeals that cannot be placed name no place at all ("our estate" / "我们小区").
        if located:
            place = spot.name_zh if chinese else spot.name_en
        else:
            place = "我们小区" if chinese else "our estate"
        text = (zh if chinese else en).format(place=place)
        channel = rng.choices([Channel.WEB, Channel.HOTLINE, Channel.GRID], [5, 4, 1])[0]
        actor: Any = {
            Channel.WEB: "web",
            Channel.HOTLINE: self.cast["operator"],
            Channel.GRID: self.cast["gridworker"],
        }[channel]
        resident = self.cast["resident"] if channel == Channel.WEB and n % 9 == 0 else None
        if resident is not None:
            actor = resident
        name_en, name_zh = rng.choice(NAMES)
        lat = lon = None
        if (located and channel != Channel.HOTLINE) or (located and rng.random() < 0.7):
            lat, lon = self._point(spot)
        data = intake.AppealIn(
            city=CITY,
            text=text,
            channel=channel,
            kind=Kind.REPORT if channel == Channel.GRID else Kind.COMPLAINT,
            matter_code=matter if located and rng.random() < 0.6 else "",
            lat=lat,
            lon=lon,
            address="" if lat is not None or not located else spot.name_zh,
            contact=intake.ContactIn(
                name=name_zh if chinese else name_en,
                phone=f"138{rng.randrange(10**8):08d}",
                wants_notifications=False,
            ),
            external_id=f"demo-{n:04d}",
            received_at=received,
        )
        appeal = self.at(
            received, lambda: intake.submit(actor=actor, data=data, resident=resident).appeal
        )
        if located and appeal.status == Status.TRIAGE:
            appeal = self._centre_dispatches(appeal, received + timedelta(minutes=20), matter)
        return appeal

    def _centre_dispatches(self, appeal: Appeal, when: datetime, matter: str) -> Appeal:
        from civitas.matters.models import Matter

        dispatcher = self.cast["dispatcher"]
        if appeal.matter_id is None:
            leaf = Matter.objects.get(code=matter)
            appeal = self.at(
                when,
                lambda: services.reclassify(
                    actor=dispatcher, appeal=appeal, matter=leaf, note="classified by the centre"
                ),
            )
        decision = intake.router()(appeal)
        unit = (
            decision.unit
            or Unit.objects.filter(
                city=CITY, kind=UnitKind.CENTRE, jurisdiction__parent__isnull=True
            ).first()
        )
        if appeal.jurisdiction_id is None or unit is None:
            return appeal
        return self.at(
            when + timedelta(minutes=5),
            lambda: services.dispatch(
                actor=dispatcher, appeal=appeal, unit=unit, reason=decision.reason
            ),
        )

    def handler(self, appeal: Appeal) -> User:
        assert appeal.lead_unit is not None
        return self.cast.staff(appeal.lead_unit)

    def leader(self, appeal: Appeal) -> User:
        assert appeal.lead_unit is not None
        return self.cast.staff(appeal.lead_unit, Role.UNIT_LEADER)

    def accept(self, appeal: Appeal, when: datetime) -> Appeal:
        h = self.handler(appeal)
        return self.at(when, lambda: services.accept(actor=h, appeal=appeal))

    def progress(self, appeal: Appeal, when: datetime) -> Appeal:
        h = self.handler(appeal)
        note = self.rng.choice(
            [
                "Inspected on site; repair scheduled. 已到现场查看，已安排维修。",
                "Contacted the resident by phone. 已电话联系诉求人。",
                "Waiting for the contractor's crew. 正在等待施工队进场。",
            ]
        )
        return self.at(when, lambda: services.progress(actor=h, appeal=appeal, note=note))

    def resolve(self, appeal: Appeal, when: datetime) -> Appeal:
        h = self.handler(appeal)
        en, zh = self.rng.choice(RESOLUTIONS)
        return self.at(when, lambda: services.resolve(actor=h, appeal=appeal, result=f"{zh} {en}"))

    def rate(self, appeal: Appeal, when: datetime, verdict: str) -> Appeal:
        by_callback = self.rng.random() < 0.4
        if appeal.resident_id:
            actor: Any = appeal.resident
        elif by_callback:
            actor = self.cast["operator"]
        else:
            actor = TrackingToken(appeal.pk)
        en, zh = COMMENTS[Satisfaction(verdict)]
        return self.at(
            when,
            lambda: services.rate(
                actor=actor,
                appeal=appeal,
                responded=True,
                solved=verdict != Satisfaction.DISSATISFIED,
                satisfaction=verdict,
                comment=zh if self.rng.random() < 0.6 else en,
                by_callback=by_callback and not appeal.resident_id,
            ),
        )

    def received(self, lo_days: float, hi_days: float) -> datetime:
        """A plausible moment (7:00-21:00 local-ish) between lo and hi days ago."""
        day = self.now - timedelta(days=self.rng.uniform(lo_days, hi_days))
        moment = day.replace(hour=self.rng.randrange(0, 13), minute=self.rng.randrange(60))
        return min(moment, self.now - timedelta(minutes=self.rng.randrange(30, 180)))

    def resolved_time(self, appeal: Appeal, start: datetime, share: float) -> datetime:
        due = appeal.resolve_due or start + timedelta(days=5)
        return start + (due - start) * share

    # -- scenarios ------------------------------------------------------------------------------
    def run(self, n: int, scenario: str) -> None:
        getattr(self, f"s_{scenario}")(n)
        self.done[scenario] += 1

    def s_dispatched(self, n: int) -> None:
        appeal = self.submit(n, self.received(0.05, 2))
        self.open_cases.append(appeal)

    def s_accepted(self, n: int) -> None:
        t0 = self.received(0.2, 4)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.3, 6))
        if self.rng.random() < 0.6:
            self.progress(appeal, self._after(t0, 8, 20))
        self.open_cases.append(appeal)

    def s_overdue(self, n: int) -> None:
        t0 = self.received(30, 58)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 1, 30))
        if appeal.resolve_due and appeal.resolve_due < self.now and self.rng.random() < 0.8:
            due = appeal.resolve_due
            self.at(
                due + timedelta(minutes=15),
                lambda: services.escalate(
                    actor="system", appeal=appeal, note="overdue: supervised (督办)"
                ),
            )

    def s_returned(self, n: int) -> None:
        t0 = self.received(0.3, 3)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        h = self.handler(appeal)
        reason = "Not our responsibility: the site belongs to the neighbouring street. 该点位属相邻街道管辖，非本单位职责。"  # noqa: E501
        self.at(
            self._after(t0, 0.5, 6),
            lambda: services.return_case(actor=h, appeal=appeal, reason=reason),
        )

    def s_arbitrated(self, n: int) -> None:
        t0 = self.received(3, 20)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        unit, h = appeal.lead_unit, self.handler(appeal)
        appeal = self.at(
            self._after(t0, 1, 5),
            lambda: services.return_case(
                actor=h, appeal=appeal, reason="Outside our remit. 不属于本单位职责范围。"
            ),
        )
        appeal = self.at(
            self._after(t0, 7, 20),
            lambda: services.arbitrate(
                actor=self.cast["dispatcher"],
                appeal=appeal,
                unit=unit,
                reason="The responsibility list names this unit; the ruling binds. "
                "依据权责清单裁定由该单位承办。",
            ),
        )
        appeal = self.accept(appeal, self._after(t0, 21, 26))
        if self.rng.random() < 0.5:
            appeal = self.resolve(appeal, self.resolved_time(appeal, t0, 0.7))

    def s_waiting(self, n: int) -> None:
        t0 = self.received(1, 8)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.5, 4))
        h = self.handler(appeal)
        self.at(
            self._after(t0, 5, 20),
            lambda: services.request_info(
                actor=h,
                appeal=appeal,
                question="Which building and entrance exactly? 请提供具体楼栋和单元号。",
            ),
        )

    def s_extension(self, n: int) -> None:
        t0 = self.received(5, 25)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.5, 5))
        h = self.handler(appeal)
        appeal = self.at(
            self._after(t0, 24, 72),
            lambda: services.request_extension(
                actor=h,
                appeal=appeal,
                days=self.rng.choice([3, 5, 10]),
                reason="Parts must be ordered from the manufacturer. 需向厂家订购配件。",
            ),
        )
        if self.rng.random() < 0.6:
            request = Request.objects.get(appeal=appeal, state=Request.State.PENDING)
            leader = self.leader(appeal)
            self.at(
                self._after(t0, 80, 100),
                lambda: services.decide_request(
                    actor=leader, appeal=appeal, request=request, approve=True, note="同意。"
                ),
            )

    def s_suspended(self, n: int) -> None:
        t0 = self.received(5, 25)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.5, 5))
        h = self.handler(appeal)
        appeal = self.at(
            self._after(t0, 24, 48),
            lambda: services.request_suspension(
                actor=h,
                appeal=appeal,
                reason="The matter is before the court. 该事项已进入诉讼程序。",
            ),
        )
        request = Request.objects.get(appeal=appeal, state=Request.State.PENDING)
        self.at(
            self._after(t0, 50, 70),
            lambda: services.decide_request(
                actor=self.cast["dispatcher"], appeal=appeal, request=request, approve=True
            ),
        )

    def _resolved(self, n: int, lo: float, hi: float, share: tuple[float, float]) -> Appeal | None:
        t0 = self.received(lo, hi)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return None
        appeal = self.accept(appeal, self._after(t0, 0.2, 5))
        if self.rng.random() < 0.5:
            appeal = self.progress(appeal, self._after(t0, 6, 10))
        when = max(
            self.resolved_time(appeal, t0, self.rng.uniform(*share)), t0 + timedelta(hours=11)
        )
        when = min(when, self.now - timedelta(hours=self.rng.uniform(3, 30)))
        return self.resolve(appeal, when)

    def s_resolved(self, n: int) -> None:
        self._resolved(n, 1, 10, (0.2, 0.8))

    def _rated(self, n: int, verdict: str, share: tuple[float, float] = (0.1, 0.8)) -> None:
        appeal = self._resolved(n, 4, DAYS, share)
        if appeal is not None and appeal.resolved_at is not None:
            self.rate(
                appeal, appeal.resolved_at + timedelta(hours=self.rng.uniform(2, 40)), verdict
            )

    def s_satisfied(self, n: int) -> None:
        self._rated(n, Satisfaction.SATISFIED)

    def s_basic(self, n: int) -> None:
        self._rated(n, Satisfaction.BASIC)

    def s_late(self, n: int) -> None:
        self._rated(n, self.rng.choice(list(Satisfaction)), share=(1.1, 1.6))

    def s_reopened(self, n: int) -> None:
        appeal = self._resolved(n, 12, DAYS, (0.2, 0.6))
        if appeal is None or appeal.resolved_at is None:
            return
        rated_at = appeal.resolved_at + timedelta(hours=self.rng.uniform(3, 30))
        appeal = self.rate(appeal, rated_at, Satisfaction.DISSATISFIED)
        if appeal.status != Status.DISPATCHED or n % 3 == 0:
            return  # reopened, waiting for the unit again
        appeal = self.accept(appeal, rated_at + timedelta(hours=self.rng.uniform(1, 6)))
        if n % 3 == 1:
            appeal = self.resolve(appeal, rated_at + timedelta(days=self.rng.uniform(1, 4)))
            if appeal.resolved_at is not None:
                self.rate(appeal, appeal.resolved_at + 5 * HOUR, Satisfaction.SATISFIED)

    def s_co_handled(self, n: int) -> None:
        t0 = self.received(4, 40)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.3, 3))
        co = self._department_near(appeal)
        if co is None:
            return
        appeal = self.at(
            self._after(t0, 4, 8),
            lambda: services.add_co_handler(
                actor=self.cast["dispatcher"],
                appeal=appeal,
                unit=co,
                part="Inspect and enforce within your remit. 负责职责范围内的执法检查。",
            ),
        )
        staff = self.cast.staff(co)
        appeal = self.at(
            self._after(t0, 20, 40),
            lambda: services.co_done(
                actor=staff, appeal=appeal, unit=co, note="Inspection done. 已完成检查。"
            ),
        )
        appeal = self.resolve(appeal, self.resolved_time(appeal, t0, self.rng.uniform(0.4, 0.9)))
        if appeal.resolved_at and n % 2 == 0:
            self.rate(appeal, appeal.resolved_at + 8 * HOUR, Satisfaction.SATISFIED)

    def s_whistle(self, n: int) -> None:
        t0 = self.received(1, 20)
        appeal = self.submit(n, t0)
        if appeal.lead_unit is None:
            return
        appeal = self.accept(appeal, self._after(t0, 0.2, 1))
        departments = self._departments_near(appeal, 2)
        if len(departments) < 2:
            return
        h = self.handler(appeal)
        whistled = self._after(t0, 1.5, 3)
        appeal = self.at(
            whistled,
            lambda: services.whistle(
                actor=h,
                appeal=appeal,
                units=departments,
                note="Needs joint enforcement on site. 需多部门现场联合执法，吹哨报到。",
            ),
        )
        summonses = list(appeal.summonses.order_by("unit__code"))
        for summons, minutes in zip(summonses, (20, 55), strict=False):
            self._report(appeal, summons, whistled + timedelta(minutes=minutes))
        if n % 2 == 0:
            self.resolve(appeal, whistled + timedelta(hours=self.rng.uniform(4, 20)))

    def _report(self, appeal: Appeal, summons: Any, when: datetime) -> None:
        staff = self.cast.staff(summons.unit)
        self.at(
            when,
            lambda: services.report_summons(
                actor=staff, appeal=appeal, summons=summons, note="On site. 已到场。"
            ),
        )

    def s_triage(self, n: int) -> None:
        self.submit(n, self.received(0.1, 3), located=False)

    def s_duplicate(self, n: int) -> None:
        candidates = [a for a in self.open_cases if a.status in (Status.DISPATCHED,)]
        if not candidates:
            return self.s_dispatched(n)
        first = self.rng.choice(candidates)
        t0 = max(first.received_at + 2 * HOUR, self.now - timedelta(hours=20))
        contact = intake.ContactIn(name="王芳", phone="13900000000", wants_notifications=False)
        data = intake.AppealIn(
            city=CITY,
            text=first.text,
            channel=Channel.HOTLINE,
            lat=first.lat,
            lon=first.lon,
            matter_code=first.matter.code if first.matter else "",
            contact=contact,
            external_id=f"demo-{n:04d}",
            received_at=t0,
        )
        operator = self.cast["operator"]
        copy = self.at(
            t0, lambda: intake.submit(actor=operator, data=data, dispatch_now=False).appeal
        )
        self.at(
            t0 + 30 * 60 * timedelta(seconds=1),
            lambda: services.mark_duplicate(actor=self.cast["dispatcher"], appeal=copy, of=first),
        )
        return None

    def _departments_near(self, appeal: Appeal, count: int) -> list[Unit]:
        district = appeal.jurisdiction_path.strip("/").split("/")[:2]
        base = Unit.objects.filter(city=CITY, kind=UnitKind.DEPARTMENT, active=True).exclude(
            pk=appeal.lead_unit_id or 0
        )
        near = list(base.filter(jurisdiction__code=district[-1]).order_by("code"))
        pool = near if len(near) >= count else list(base.order_by("code")[:20])
        return self.rng.sample(pool, min(count, len(pool)))

    def _department_near(self, appeal: Appeal) -> Unit | None:
        found = self._departments_near(appeal, 1)
        return found[0] if found else None


def seed(
    *,
    seed: str = SEED,
    now: datetime | None = None,
    mix: dict[str, int] | None = None,
    progress: Callable[[str], Any] | None = None,
) -> Counter[str]:
    """Seed the demo appeals once (all or nothing). Returns the scenarios made (empty when the
    demo city already holds demo appeals). Needs the demo city and its sign-ins."""
    if already_seeded():
        return Counter()
    rng = random.Random(seed)
    now = (now or clock.now()).replace(second=0, microsecond=0)
    plan = [name for name, n in (mix or MIX).items() for _ in range(n)]
    rng.shuffle(plan)
    # Duplicates need open cases to point at: play them last.
    plan = [p for p in plan if p != "duplicate"] + [p for p in plan if p == "duplicate"]
    with transaction.atomic():
        seeder = _Seeder(rng, now)
        for n, scenario in enumerate(plan, start=1):
            seeder.run(n, scenario)
            if progress is not None and n % 50 == 0:
                progress(f"{n} of {len(plan)} appeals")
        audit.record(
            actor=ACTOR,
            action="demo.appeals",
            object_type="appeals.appeal",
            object_id=CITY,
            after={"seed": seed, "cases": len(plan), "scenarios": dict(seeder.done)},
            reason="demo appeals through the real services",
        )
    return seeder.done
