"""Demo risks: appeals planted among the demo appeals so that the detectors have something real
to find, then one run of the live detectors, so that alerts exist when the demo opens.

Planted through ``intake.submit`` like every demo appeal (external ids ``risk-demo-NN``):

- background: two dozen reports of discoloured tap water scattered over the city and the last
  eight weeks (a few at the cluster's place), the history the space-time scan compares with;
- a space-time cluster: nine residents report discoloured tap water within 350 m of one
  point of a community over three days, ending two days ago;
- the same matter in another district: five residents of one community yesterday (a group
  appeal), so the matter has spread across a district line;
- a burst today: eight residents report a water outage within 250 m and two hours, and beside
  it a grid worker's batch of twelve identical reports at one point within forty minutes (the
  burst detector reports the batch beside the burst, never as one);
- an appeal of imminent harm (a man on a roof who says he does not want to live);
- a repeat appellant: four appeals about night-time construction noise over three weeks, the
  last one threatening to petition the province and go to the media.

Deterministic for a given day; idempotent: nothing happens when they are already planted.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from shapely.geometry import shape

from civitas.appeals import intake
from civitas.appeals.models import Appeal, Channel, Kind
from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.org.models import User

ACTOR = "cli:demo"
PREFIX = "risk-demo-"
SEED = "harbour-city-risks-1"

WATER_QUALITY = "DC-M06-01-02"
WATER_OUTAGE = "DC-M06-01-01"
SHARED_BIKES = "DC-M02-03-03"
NIGHT_WORKS = "DC-M01-04-01"

QUALITY_TEXTS = [
    "{place}自来水发黄，有铁锈味，烧开后有沉淀。",
    "The tap water in {place} has been yellow since yesterday and smells of rust.",
    "{place}家里的水龙头放出来是黄水，孩子不敢喝。",
    "{place}自来水浑浊发黄，已经两天了，请供水公司查一下管道。",
    "Brown water from the taps in {place}; the neighbours have the same.",
]
OUTAGE_TEXTS = [
    "{place}突然停水了，路口有水从地面往外冒，像是水管爆了。",
    "No water in {place} and water is gushing out of the road at the corner.",
    "{place}停水，楼下马路上全是水，可能是爆管。",
    "{place}整栋楼没水了，路边井盖在往外冒水。",
]
NOISE_TEXTS = [
    "{place}旁边工地晚上十一点后还在施工，噪音很大。",
    "{place}工地又在夜间施工，上次反映后没有任何变化。",
    "{place}工地夜间施工第三次反映了，每天凌晨一点还在打桩，家里老人睡不着。",
    "{place}工地夜间施工反映了一个月没人管，再不处理我就去省里上访，还要找媒体曝光！",
]
HARM_TEXT = (
    "{place}5号楼楼顶有一名男子站在边上，说拖欠的工资要不回来，不想活了，要跳楼，请马上派人过来！"
)


def already_planted() -> bool:
    return Appeal.objects.filter(city=CITY, external_id__startswith=PREFIX).exists()


class _Planter:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.n = 0
        self.operator = User.objects.get(username="operator")
        self.gridworker = User.objects.get(username="gridworker")
        communities = list(
            Jurisdiction.objects.filter(
                path__startswith=f"/{CITY}/", level__code="community", boundary__isnull=False
            ).order_by("code")
        )
        if not communities:
            from civitas.kit.errors import NotFound

            raise NotFound("the demo city is not imported", code="demo_city_missing")
        self.communities = communities
        by_district: dict[str, list[Jurisdiction]] = {}
        for c in communities:
            by_district.setdefault(c.path.strip("/").split("/")[1], []).append(c)
        districts = sorted(by_district)
        # Places away from the first street (where most ordinary demo appeals are).
        self.cluster_at = by_district[districts[1]][3]
        self.group_at = by_district[districts[2]][2]
        self.burst_at = by_district[districts[3]][1]
        self.harm_at = by_district[districts[0]][5]
        self.noise_at = by_district[districts[0]][7]

    def centre(self, place: Jurisdiction) -> tuple[float, float]:
        p = shape(place.boundary).representative_point()
        return p.y, p.x

    def near(self, place: Jurisdiction, metres: float) -> tuple[float, float]:
        lat, lon = self.centre(place)
        r = metres * math.sqrt(self.rng.random())
        a = self.rng.uniform(0, 2 * math.pi)
        dlat = r * math.sin(a) / 111_195.0
        dlon = r * math.cos(a) / (111_195.0 * math.cos(math.radians(lat)))
        return round(lat + dlat, 6), round(lon + dlon, 6)

    def submit(
        self,
        at: datetime,
        text: str,
        place: Jurisdiction,
        *,
        matter: str = "",
        point: tuple[float, float] | None = None,
        phone: str = "",
        channel: str = Channel.WEB,
    ) -> Appeal:
        self.n += 1
        chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        name = place.name_zh if chinese else place.name_en
        lat, lon = point if point is not None else (None, None)
        data = intake.AppealIn(
            city=CITY,
            text=text.format(place=name),
            channel=channel,
            kind=Kind.REPORT if channel == Channel.GRID else Kind.COMPLAINT,
            matter_code=matter,
            lat=lat,
            lon=lon,
            contact=intake.ContactIn(
                phone=phone or f"137{self.rng.randrange(10**8):08d}", wants_notifications=False
            ),
            external_id=f"{PREFIX}{self.n:02d}",
            received_at=at,
        )
        actors: dict[str, Any] = {
            Channel.WEB: "web",
            Channel.HOTLINE: self.operator,
            Channel.GRID: self.gridworker,
        }
        actor = actors[channel]
        with clock.frozen(min(at, self.now - timedelta(minutes=1))):
            return intake.submit(actor=actor, data=data).appeal

    def ago(self, hours: float) -> datetime:
        return self.now - timedelta(hours=hours)

    def plant(self) -> dict[str, int]:
        rng, made = self.rng, {}
        # Background: discoloured water is reported now and then all over the city (and a few
        # times at the cluster's place), so a space-time cluster has something to stand out of.
        for i in range(24):
            place = self.communities[(i * 7 + 3) % len(self.communities)]
            if i % 8 == 0:
                place = self.cluster_at
            self.submit(
                self.ago(24 * rng.uniform(6, 56)),
                rng.choice(QUALITY_TEXTS),
                place,
                matter=WATER_QUALITY,
                point=self.near(place, 400),
                channel=rng.choice([Channel.WEB, Channel.HOTLINE]),
            )
        made["background"] = 24
        # The cluster: nine residents over three days, ending two days ago.
        for i in range(9):
            self.submit(
                self.ago(48 + 72 * (8 - i) / 8 + rng.uniform(0, 2)),
                rng.choice(QUALITY_TEXTS),
                self.cluster_at,
                matter=WATER_QUALITY,
                point=self.near(self.cluster_at, 350),
                channel=rng.choice([Channel.WEB, Channel.HOTLINE]),
            )
        made["cluster"] = 9
        # The same matter in another district yesterday: a group of five residents.
        for i in range(5):
            self.submit(
                self.ago(30 - 2 * i),
                rng.choice(QUALITY_TEXTS),
                self.group_at,
                matter=WATER_QUALITY,
                point=self.near(self.group_at, 120),
            )
        made["group"] = 5
        # Today: a burst of eight residents within two hours, beside a staff batch.
        for i in range(8):
            self.submit(
                self.ago(3.0 - 0.25 * i),
                rng.choice(OUTAGE_TEXTS),
                self.burst_at,
                matter=WATER_OUTAGE,
                point=self.near(self.burst_at, 250),
                channel=rng.choice([Channel.WEB, Channel.HOTLINE]),
            )
        made["burst"] = 8
        batch_point = self.near(self.burst_at, 200)
        for i in range(12):
            self.submit(
                self.ago(5.0 - i / 18),
                "{place}地铁口共享单车乱停放，已现场登记。",
                self.burst_at,
                matter=SHARED_BIKES,
                point=batch_point,
                phone="13900000099",
                channel=Channel.GRID,
            )
        made["staff_batch"] = 12
        # Imminent harm, reported half an hour ago.
        self.submit(
            self.ago(0.5),
            HARM_TEXT,
            self.harm_at,
            point=self.near(self.harm_at, 50),
            channel=Channel.HOTLINE,
        )
        made["harm"] = 1
        # A repeat appellant whose words escalate.
        for i, text in enumerate(NOISE_TEXTS):
            self.submit(
                self.ago(24 * 7 * (3 - i) + 2),
                text,
                self.noise_at,
                matter=NIGHT_WORKS,
                point=self.near(self.noise_at, 80),
                phone="13700001111",
            )
        made["repeat"] = len(NOISE_TEXTS)
        return made


def plant(
    *, now: datetime | None = None, progress: Callable[[str], Any] | None = None
) -> dict[str, int]:
    """Plant the demo's risks once (all or nothing); return what was planted (empty when they
    are there already). Needs the demo city and its sign-ins."""
    if already_planted():
        return {}
    now = (now or clock.now()).replace(second=0, microsecond=0)
    with transaction.atomic():
        made = _Planter(random.Random(SEED), now).plant()
        audit.record(
            actor=ACTOR,
            action="demo.risks",
            object_type="appeals.appeal",
            object_id=CITY,
            after=made,
            reason="appeals planted for the demo's early warnings",
        )
    if progress is not None:
        progress(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in made.items()))
    return made


def detect(*, now: datetime | None = None) -> list[str]:
    """Run the live detectors as the schedule would have run them over the planted days: the
    daily ones on each of the last four days (each run sees only what was known by its end),
    then the recent ones (bursts) on today. Returns one line per run."""
    from civitas.risk import tasks
    from civitas.risk.detectors import zone

    now = now or clock.now()
    today = now.astimezone(zone()).date()
    lines = []
    with clock.frozen(now):
        runs = [(today - timedelta(days=back), "daily") for back in (3, 2, 1, 0)]
        for day, job in [*runs, (today, "recent")]:
            lines.append(f"{job}: " + tasks.run_now(CITY, day, job).summary())
    return lines
