"""The demo's organisations, volunteers and tasks: made through the real services, once.

Twelve organisations of the four kinds across the city (one awaiting confirmation, one
suspended), about thirty residents who reported to their communities (双报到; a few still
pending, one declined), the demo sign-in ``volunteer`` a confirmed volunteer of DC-D01-S01-C01
with completed tasks, and twenty tasks in every state — some arising from demo appeals —
published by the city centre, the DC-D01-S01 street office and its communities' committees.
Past tasks are played at their own time (the clock frozen), so the figures span weeks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from civitas.appeals.models import Appeal
from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.mediation.models import OPEN_STATUSES, Dispute
from civitas.org import services as org_services
from civitas.org.models import Role, Unit, UnitKind, User
from civitas.participation import orgs, volunteering
from civitas.participation.models import Organisation, OrgKind, Participant, Task

MARK = "Harbour Elder Care Society"
STREET = f"{CITY}-D01-S01"
HOME = f"{STREET}-C01"

# (kind, English name, Chinese name, area code, offers)
ORGS: list[tuple[str, str, str, str, list[str]]] = [
    (OrgKind.SOCIAL_ORG, MARK, "海港敬老协会", HOME, ["elder_care", "medical"]),
    (
        OrgKind.SOCIAL_ORG,
        "Neighbourhood Mediation Circle",
        "邻里调解圈",
        STREET,
        ["mediation", "legal_aid"],
    ),
    (OrgKind.SOCIAL_ORG, "Sunshine Tutoring Club", "阳光助学社", f"{CITY}-D02-S01", ["tutoring"]),
    (
        OrgKind.ENTERPRISE,
        "Harbour Property Services Ltd",
        "海港物业服务有限公司",
        f"{STREET}-C02",
        ["repairs", "clean_up"],
    ),
    (
        OrgKind.ENTERPRISE,
        "Donglan Pharmacy Chain",
        "东澜连锁药房",
        f"{CITY}-D02-S02",
        ["medical", "funds"],
    ),
    (
        OrgKind.ENTERPRISE,
        "Seaside Builders Co.",
        "海滨建筑公司",
        f"{CITY}-D03-S01",
        ["repairs", "funds"],
    ),
    (OrgKind.VOLUNTEER_TEAM, "Riverside Green Volunteers", "滨河绿色志愿队", HOME, ["clean_up"]),
    (OrgKind.VOLUNTEER_TEAM, "Night Watch Volunteers", "夜巡志愿队", STREET, ["patrol"]),
    (OrgKind.VOLUNTEER_TEAM, "Silver Age Helpers", "银龄互助队", f"{CITY}-D02-S01", ["elder_care"]),
    (
        OrgKind.PARTY_ORG,
        "Party Branch of DC-D01-S01-C01",
        "DC-D01-S01-C01社区党支部",
        HOME,
        ["mediation", "elder_care", "other"],
    ),
    (
        OrgKind.PARTY_ORG,
        "Party Committee of the Street Office",
        "街道党工委",
        STREET,
        ["patrol", "mediation"],
    ),
    (
        OrgKind.PARTY_ORG,
        "Party Branch of Seaside Builders",
        "海滨建筑公司党支部",
        f"{CITY}-D03-S01",
        ["repairs"],
    ),
]

SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Hu",
    "Zhu",
    "Gao",
]
GIVEN = [
    "Min",
    "Jing",
    "Wei",
    "Fang",
    "Lei",
    "Yan",
    "Jun",
    "Hong",
    "Tao",
    "Li",
    "Qiang",
    "Na",
    "Ping",
    "Hui",
    "Xin",
]


def _actor(username: str) -> User:
    return User.objects.get(username=username)


def _staff(username: str, unit_code: str, name: str) -> User | None:
    """A demo staff member acting for a community committee (no password to sign in)."""
    unit = Unit.objects.filter(code=unit_code).first()
    if unit is None:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, display_name=name)
        user.set_unusable_password()
        user.save()
        org_services.add_membership(actor="cli:demo", user=user, role=Role.UNIT_HANDLER, unit=unit)
    return user


def _resident(n: int) -> User:
    username = f"demo-vol-{n:02d}"
    user = User.objects.filter(username=username).first()
    if user is None:
        name = f"{SURNAMES[n % len(SURNAMES)]} {GIVEN[(n * 7) % len(GIVEN)]}"
        user = User(username=username, display_name=name)
        user.set_unusable_password()
        user.save()
    return user


def setup(progress: Callable[[str], None]) -> list[str]:
    """Create what is missing; return lines telling the visitor what to explore."""
    guide = [
        "Take part: /participate/ (public: open tasks, consultations, suggestions)",
        "sign in as 'volunteer' for 'My participation' (/participate/me/): tasks done and hours",
        "sign in as 'handler-street' to publish a task, confirm completions "
        "and see the figures (/participate/figures/)",
        "organisations: /participate/organisations/ (one awaits confirmation, one is suspended)",
    ]
    if Organisation.objects.filter(city=CITY, name_en=MARK).exists():
        progress("skipped, the demo's organisations and tasks are there")
        return guide
    needed = ("dispatcher", "handler-street", "volunteer")
    if User.objects.filter(username__in=needed).count() < len(needed):
        progress("skipped: the demo sign-ins are missing")
        return []
    with transaction.atomic():
        made = _build()
    progress(f"{made['orgs']} organisations, {made['people']} participants, {made['tasks']} tasks")
    return guide


def _place(code: str) -> Jurisdiction:
    return Jurisdiction.objects.get(code=code)


def _dispute_ref(codes: list[str], i: int) -> str:
    """A demo dispute's code for a task that asks for a respected mediator, if any exist."""
    return codes[i % len(codes)] if codes else ""


def _build() -> dict[str, int]:
    now = clock.now().replace(second=0, microsecond=0)
    # Tasks start at nine in the morning, city time, some days before or after today.
    morning = timezone.localtime(now).replace(hour=9, minute=0)
    # Tasks asking for a mediator name open disputes of the mediation demo (made before).
    disputes = list(
        Dispute.objects.filter(city=CITY, status__in=OPEN_STATUSES)
        .order_by("code")
        .values_list("code", flat=True)[:5]
    )
    city = _actor("dispatcher")
    street = _actor("handler-street")
    office = Unit.objects.get(code=f"{STREET}-OFFICE")
    centre = Unit.objects.get(code=f"{CITY}-12345")
    cc_staff = _staff("demo-cc-c01", f"{HOME}-CC", "Community C01 staff 社区工作人员")
    cc_unit = Unit.objects.get(code=f"{HOME}-CC")

    # organisations
    made_orgs: list[Organisation] = []
    for i, (kind, en, zh, area, offers) in enumerate(ORGS):
        o = orgs.register_organisation(
            actor=city,
            data=orgs.OrgIn(
                kind=kind,
                name_en=en,
                name_zh=zh,
                jurisdiction=_place(area),
                offers=offers,
                description=f"{en}: {', '.join(offers)}.",
                contact_name=f"{SURNAMES[i]} {GIVEN[i]}",
                contact_phone=f"1380000{i:04d}",
            ),
        )
        made_orgs.append(o)
    pending = orgs.register_organisation(
        actor=_resident(31),
        data=orgs.OrgIn(
            kind=OrgKind.VOLUNTEER_TEAM,
            name_en="Harbour Dog Walkers",
            name_zh="海港遛狗互助队",
            jurisdiction=_place(HOME),
            offers=["other"],
            contact_name="Sun Li",
            contact_phone="13800009999",
        ),
    )
    orgs.move_organisation(
        actor=city, org=made_orgs[5].code, move="suspend", reason="licence under review"
    )

    # participants: thirty residents, most in the demo street; the 'volunteer' sign-in too
    communities = list(
        Unit.objects.filter(kind=UnitKind.COMMUNITY_COMMITTEE, city=CITY, active=True)
        .select_related("jurisdiction")
        .order_by("code")
    )
    local = [u for u in communities if u.code.startswith(STREET)] or communities
    people: list[User] = []
    for n in range(1, 31):
        unit = local[n % len(local)] if n <= 20 else communities[(n * 5) % len(communities)]
        user = _resident(n)
        p = orgs.report(
            actor=user,
            home=unit.jurisdiction,
            is_volunteer=n % 4 != 0,
            is_party_member=n % 3 == 0 or n % 4 == 0,
            organisation=made_orgs[n % 5 * 2] if n % 2 == 0 else None,
            skills=[["elder_care"], ["clean_up"], ["patrol"], ["repairs", "tutoring"]][n % 4],
        )
        if n in (28, 29):
            continue  # awaiting the community
        if n == 30:
            orgs.decide_participant(
                actor=city, participant=p.pk, confirm=False, reason="lives in another city"
            )
            continue
        orgs.decide_participant(actor=city, participant=p.pk, confirm=True)
        if p.home.code.startswith(STREET):
            people.append(user)
    volunteer = _actor("volunteer")
    if not Participant.objects.filter(user=volunteer).exists():
        vp = orgs.report(
            actor=volunteer,
            home=_place(HOME),
            is_volunteer=True,
            is_party_member=True,
            organisation=made_orgs[9],
            skills=["elder_care", "clean_up"],
        )
        orgs.decide_participant(actor=cc_staff or city, participant=vp.pk, confirm=True)
    team = made_orgs[6]
    team_manager = people[0]
    orgs.add_manager(actor=city, org=team.code, user=team_manager)

    appeals = list(Appeal.objects.filter(city=CITY).order_by("received_at", "pk")[:3])

    def publish(
        actor: User,
        unit: Unit,
        area: str,
        kind: str,
        title: str,
        start: datetime,
        hours: int,
        slots: int,
        appeal: Appeal | None = None,
        source: str = "",
    ) -> Task:
        return volunteering.publish(
            actor=actor,
            data=volunteering.TaskIn(
                kind=kind,
                title=title,
                description=f"{title}. Meet at the community service station.",
                publisher=unit,
                jurisdiction=_place(area),
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                slots=slots,
                place="Community service station",
                hours_expected=Decimal(hours),
                appeal_ticket=appeal.ticket if appeal else "",
                source_ref=source,
            ),
        )

    cc_actor = cc_staff or street
    cc_pub = cc_unit if cc_staff else office
    tasks = 0
    # done tasks, played weeks ago
    past = [
        (street, office, STREET, Task.Kind.CLEAN_UP, "Riverside clean-up", 35, 3, 4),
        (cc_actor, cc_pub, HOME, Task.Kind.ELDER_HELP, "Shopping for elderly residents", 28, 2, 2),
        (
            city,
            centre,
            f"{STREET}-C02",
            Task.Kind.PATROL,
            "Night patrol before the holiday",
            21,
            3,
            3,
        ),
        (
            street,
            office,
            f"{STREET}-C03",
            Task.Kind.EVENT,
            "Neighbourhood festival helpers",
            14,
            4,
            5,
        ),
        (
            cc_actor,
            cc_pub,
            HOME,
            Task.Kind.MEDIATION,
            "A respected neighbour to mediate over parking",
            10,
            2,
            1,
        ),
        (street, office, HOME, Task.Kind.CLEAN_UP, "Clearing the bicycle shed", 7, 2, 3),
    ]
    for i, (actor, unit, area, kind, title, days, hours, slots) in enumerate(past):
        start = morning - timedelta(days=days)
        with clock.frozen(start - timedelta(days=2)):
            t = publish(
                actor,
                unit,
                area,
                kind,
                title,
                start,
                hours,
                slots,
                appeal=appeals[0] if i == 2 and appeals else None,
                source=_dispute_ref(disputes, i) if kind == Task.Kind.MEDIATION else "",
            )
            takers = ([volunteer] if i in (0, 1, 3, 5) else []) + people[i : i + slots]
            takes = []
            for u in takers[:slots]:
                takes.append(volunteering.take(actor=u, task=t.code))
        with clock.frozen(start + timedelta(hours=hours, minutes=30)):
            for j, k in enumerate(takes):
                if j == 2 and len(takes) > 2:
                    volunteering.complete(actor=actor, task=t.code, take_id=k.pk, no_show=True)
                else:
                    volunteering.complete(
                        actor=actor,
                        task=t.code,
                        take_id=k.pk,
                        hours=Decimal(hours) - Decimal(j % 2) / 2,
                    )
            volunteering.close(actor=actor, task=t.code)
        tasks += 1
    # an organisation's own take, done
    start = now - timedelta(days=5)
    with clock.frozen(start - timedelta(days=1)):
        t = publish(
            street,
            office,
            f"{STREET}-C02",
            Task.Kind.CLEAN_UP,
            "Greening the courtyard",
            start,
            3,
            2,
        )
        k = volunteering.take(actor=team_manager, task=t.code, organisation=team.code)
    with clock.frozen(start + timedelta(hours=4)):
        volunteering.complete(actor=street, task=t.code, take_id=k.pk, hours=3)
        volunteering.close(actor=street, task=t.code)
    tasks += 1
    # cancelled
    start = now - timedelta(days=3)
    with clock.frozen(start - timedelta(days=2)):
        t = publish(
            city, centre, f"{CITY}-D02-S01", Task.Kind.EVENT, "Outdoor film night", start, 3, 4
        )
        volunteering.cancel(actor=city, task=t.code, reason="heavy rain forecast")
    tasks += 1
    # running now: full, open with takes, open empty, from appeals, taken by volunteer
    upcoming = [
        (
            street,
            office,
            HOME,
            Task.Kind.ELDER_HELP,
            "Weekly visit to a resident living alone",
            1,
            2,
            1,
            1,
        ),
        (street, office, STREET, Task.Kind.CLEAN_UP, "Spring clean of the market lane", 2, 3, 6, 3),
        (cc_actor, cc_pub, HOME, Task.Kind.PATROL, "School gate safety patrol", 1, 2, 2, 2),
        (
            city,
            centre,
            f"{STREET}-C02",
            Task.Kind.MEDIATION,
            "Mediator for a noise dispute",
            3,
            2,
            1,
            0,
        ),
        (
            city,
            centre,
            f"{CITY}-D02-S01-C01",
            Task.Kind.ELDER_HELP,
            "Help with a flat repair for an elderly couple",
            2,
            3,
            2,
            0,
        ),
        (
            street,
            office,
            f"{STREET}-C03",
            Task.Kind.EVENT,
            "Blood donation day helpers",
            6,
            5,
            8,
            2,
        ),
        (cc_actor, cc_pub, HOME, Task.Kind.OTHER, "Teach phone payments to seniors", 4, 2, 3, 1),
        (city, centre, f"{CITY}-D03-S01", Task.Kind.CLEAN_UP, "Beach litter pick", 9, 3, 10, 0),
        (street, office, f"{STREET}-C02", Task.Kind.PATROL, "Flood-season drain check", 5, 2, 2, 2),
        (
            street,
            office,
            HOME,
            Task.Kind.ELDER_HELP,
            "Accompany a resident to hospital",
            2,
            4,
            1,
            0,
        ),
        (street, office, STREET, Task.Kind.EVENT, "Help at the street's sports day", 0, 6, 4, 2),
    ]
    for i, (actor, unit, area, kind, title, days, hours, slots, n_takes) in enumerate(upcoming):
        start = morning + timedelta(days=days) if days else now - timedelta(hours=1)
        appeal = appeals[1 + i % 2] if i in (3, 4) and len(appeals) >= 3 else None
        t = publish(
            actor,
            unit,
            area,
            kind,
            title,
            start,
            hours,
            slots,
            appeal=appeal,
            source=_dispute_ref(disputes, i + 1) if kind == Task.Kind.MEDIATION else "",
        )
        for u in people[5 + i : 5 + i + n_takes]:
            volunteering.take(actor=u, task=t.code)
        tasks += 1
    return {"orgs": len(made_orgs) + (1 if pending else 0), "people": 31, "tasks": tasks}


def summary() -> dict[str, Any]:
    return {
        "organisations": Organisation.objects.filter(city=CITY).count(),
        "participants": Participant.objects.filter(city=CITY).count(),
        "tasks": Task.objects.filter(city=CITY).count(),
    }
