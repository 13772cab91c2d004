"""The demo's residents' suggestions, their support and moderation.

Made through the real services, once: fifteen suggestions by made-up residents around Elm
Street (DC-D01-S01) and two other streets; one past its threshold awaiting the street office's
answer, one whose answer is late, one answered, one closed as a duplicate, the rest gathering
support; one hidden by a moderator and two reported ones waiting in the moderation queue. The
demo login ``leader`` (Elm Street's office) finds them under "Suggestions for my units" and in
the moderation queue. Each suggestion is made whole in one transaction, found again by its
title, so a second run makes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.org.models import User
from civitas.participation import moderation, suggestions
from civitas.participation.models import Comment, Report, Suggestion

STREET = f"{CITY}-D01-S01"
RESIDENTS = 40
PREFIX = "demo-resident-"


@dataclass(frozen=True)
class Plan:
    title: str
    text: str
    place: str  # a jurisdiction code, or "" for the street's n-th community
    community: int  # which community of the place (0: the place itself)
    days_ago: int
    supporters: int  # how many made-up residents support it
    fate: str = ""  # "", "answer", "close", "hide", "report", "late"
    note: str = ""


PLANS: list[Plan] = [
    Plan(
        "Shade over the bus stop on Elm Road",
        "The stop by the primary school has no roof. Children wait in full sun in summer "
        "and in the rain in autumn. A simple shelter with a bench would do.",
        STREET,
        1,
        12,
        34,
    ),
    Plan(
        "Repair the broken street lights behind block 7",
        "Four lights on the path behind block 7 have been dark since spring. Older residents "
        "no longer walk there in the evening.",
        STREET,
        2,
        40,
        31,
        "late",
    ),
    Plan(
        "A pedestrian crossing at the market entrance",
        "People cross between moving cars to reach the market. Please paint a crossing and "
        "add a traffic island.",
        STREET,
        1,
        60,
        33,
        "answer",
        "The district traffic police agreed: a crossing with an island will be built in "
        "the next works season, and a warden stands there on market days until then.",
    ),
    Plan(
        "More benches along the canal walk",
        "The walk is 2 km long with two benches. Every 200 m would help older residents and "
        "parents with prams.",
        STREET,
        3,
        20,
        18,
    ),
    Plan(
        "Recycling bins for every building",
        "Only the first three buildings have sorted bins; the others carry rubbish across "
        "the courtyard.",
        STREET,
        2,
        15,
        12,
    ),
    Plan(
        "Benches on the canal walk, please",
        "Same as the other suggestion about benches: we need places to sit by the canal.",
        STREET,
        3,
        18,
        2,
        "close",
        "A duplicate of 'More benches along the canal walk': please support that one.",
    ),
    Plan(
        "A covered bicycle shelter at the metro exit",
        "Bicycles are parked on the pavement at exit B. A shelter with racks would clear the "
        "way for wheelchairs.",
        STREET,
        1,
        9,
        21,
    ),
    Plan(
        "Evening opening of the community library",
        "The library closes at 17:00, before most people are home from work. Open until 20:00 "
        "twice a week?",
        STREET,
        2,
        7,
        9,
    ),
    Plan(
        "The neighbours at block 3 are idiots",
        "Everyone knows who parks on the grass at block 3. Call the owner on 13912345678 and "
        "tell him what you think.",
        STREET,
        1,
        5,
        1,
        "report",
    ),
    Plan(
        "Ban delivery scooters from the courtyards",
        "Scooters race through the courtyards where children play. They should stop at the "
        "gate. Anyone who disagrees is a fool.",
        STREET,
        2,
        6,
        4,
        "report",
    ),
    Plan(
        "Stupid office never does anything",
        "Write to me at angry.neighbour@example.com and I will tell you what I think of the "
        "street office staff.",
        STREET,
        3,
        4,
        0,
        "hide",
        "insulting language and personal data",
    ),
    Plan(
        "A small playground in the old factory yard",
        "The yard of the closed factory is empty and fenced. Part of it could become a "
        "playground for the three communities around it.",
        f"{CITY}-D01-S02",
        1,
        25,
        26,
    ),
    Plan(
        "Free health checks for older residents",
        "A monthly morning of blood pressure and sugar checks in the community centre.",
        f"{CITY}-D01-S02",
        2,
        11,
        14,
    ),
    Plan(
        "Longer green light for pedestrians on Harbour Avenue",
        "Twenty seconds is not enough to cross six lanes with a walking stick.",
        f"{CITY}-D02-S01",
        1,
        8,
        17,
    ),
    Plan(
        "Plant trees along the new ring road",
        "The new road has no shade at all; trees would also cut the noise for the flats.",
        f"{CITY}-D02",
        0,
        3,
        5,
    ),
]


def _residents(n: int) -> list[User]:
    people = []
    for i in range(1, n + 1):
        user, made = User.objects.get_or_create(
            username=f"{PREFIX}{i:02d}",
            defaults={"display_name": f"Resident {i:02d} (made up)"},
        )
        if made:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        people.append(user)
    return people


def _place(plan: Plan) -> Jurisdiction | None:
    base = Jurisdiction.objects.filter(code=plan.place).first()
    if base is None or plan.community == 0:
        return base
    children = list(Jurisdiction.objects.filter(parent=base).order_by("code"))
    if not children:
        return base
    return children[(plan.community - 1) % len(children)]


def _make(plan: Plan, i: int, people: list[User], staff: dict[str, User]) -> Suggestion | None:
    place = _place(plan)
    if place is None:
        return None
    author = people[i % len(people)]
    others = [p for p in people if p.pk != author.pk]
    start = clock.now() - timedelta(days=plan.days_ago)
    with transaction.atomic():
        with clock.frozen(start):
            s = suggestions.propose(author, title=plan.title, text=plan.text, place=place)
        for n, person in enumerate(others[: plan.supporters]):
            # Supporters come over the following days (at most two weeks).
            at = start + timedelta(hours=1 + n * min(8, 14 * 24 // max(plan.supporters, 1)))
            with clock.frozen(min(at, clock.now())):
                s = suggestions.support(person, s)
        handler, leader = staff["handler"], staff["leader"]
        if plan.fate == "answer":
            s = suggestions.answer(handler, s, version=s.version, text=plan.note)
        elif plan.fate == "close":
            s = suggestions.close(handler, s, version=s.version, reason=plan.note)
        elif plan.fate == "hide":
            moderation.report(
                others[0], target="suggestion", target_id=s.pk, reason="insults the staff"
            )
            moderation.hide(leader, target="suggestion", target_id=s.pk, reason=plan.note)
            s.refresh_from_db()
        elif plan.fate == "report":
            for reporter, why in ((others[1], "insults"), (others[2], "a phone number")):
                moderation.report(reporter, target="suggestion", target_id=s.pk, reason=why)
    return s


def _report_a_comment(people: list[User]) -> bool:
    """Report one consultation comment of the street that gives a phone number, if any."""
    c = (
        Comment.objects.filter(
            consultation__city=CITY,
            consultation__jurisdiction_path__startswith=f"/{CITY}/",
            hidden_at__isnull=True,
            text__contains="138",
        )
        .order_by("pk")
        .first()
    )
    if c is None:
        return False
    reporter = people[-1]
    if Report.objects.filter(target="comment", target_id=c.pk, reporter=reporter).exists():
        return False
    moderation.report(
        reporter, target="comment", target_id=c.pk, reason="gives a phone number in public"
    )
    return True


def setup(progress: Callable[[str], None]) -> list[str]:
    """Create what is missing; return lines telling the visitor what to explore."""
    handler = User.objects.filter(username="handler-street").first()
    leader = User.objects.filter(username="leader").first()
    if not (Jurisdiction.objects.filter(code=STREET).exists() and handler and leader):
        return ["skipped: the demo street or the demo sign-ins are missing"]
    staff = {"handler": handler, "leader": leader}
    people = _residents(RESIDENTS)
    made = 0
    for i, plan in enumerate(PLANS):
        if Suggestion.objects.filter(city=CITY, title=plan.title).exists():
            continue
        if _make(plan, i, people, staff) is not None:
            made += 1
    if made:
        progress(f"{made} residents' suggestions with their support and reports")
    _report_a_comment(people)
    suggestions.flag_overdue()

    def code(title: str) -> str:
        s = Suggestion.objects.filter(city=CITY, title=title).first()
        return s.code if s else "?"

    return [
        f"Residents' suggestions: /participate/suggestions/ — {code(PLANS[0].title)} passed "
        f"its threshold and awaits Elm Street office's public answer, {code(PLANS[1].title)}'s "
        f"answer is late, {code(PLANS[2].title)} is answered; sign in as leader and open "
        "/participate/suggestions/work/",
        "Moderation: as leader, /participate/moderation/ holds reported suggestions (and a "
        f"comment); {code(PLANS[10].title)} shows 'hidden by a moderator' to the public",
    ]
