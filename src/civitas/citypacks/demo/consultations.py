"""The demo's public consultations: made through the real services, once.

Elm Street's office (DC-D01-S01) consults on turning an empty lot in its first community into
a car park and a small park: open, with a PDF of the plan, an area drawn inside the community
and about 25 comments by made-up residents (mixed positions, some supported). A second one —
a night market on the same street — is closed, answered publicly, and its result is fed into
a draft social stability risk assessment, whose level follows the opposition share.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from shapely import affinity
from shapely.geometry import mapping, shape

from civitas.citypacks.demo.places import CITY
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.org.models import Unit, User
from civitas.participation import consultations as svc
from civitas.participation.models import Comment, Consultation
from civitas.risk import stability

STREET = f"{CITY}-D01-S01"
COMMUNITY = f"{STREET}-C01"
OFFICE = f"{STREET}-OFFICE"
PARK_TITLE = "Car park and pocket park on the empty lot behind block 4"
MARKET_TITLE = "Friday night market on the street's main road"

PARK_BODY = (
    "The street office proposes to turn the empty lot behind block 4 (about 3,000 m², fenced "
    "since 2019) into 60 parking places, 12 of them with chargers, and a small park with "
    "benches, a play area and trees along the school side.\n\n"
    "Works would take four months from March; the entrance would be on the side road, not "
    "by the school gate. Tell us what you think: the number of places, the entrance, the "
    "park, and anything we missed."
)
MARKET_BODY = (
    "Stalls on the main road every Friday from 18:00 to 23:00, the road closed to traffic "
    "in that time, 40 stalls chosen by lot among local vendors."
)

# (position, text) — a made-up neighbourhood's views; a few type phone numbers, which the
# public page masks.
PARK_COMMENTS: list[tuple[str, str]] = [
    ("support", "Finally! We have circled the blocks for parking every evening for years."),
    ("oppose", "Sixty cars next to the primary school is dangerous at 8 o'clock."),
    ("support", "The play area is badly needed; the nearest one is 1 km away."),
    ("neutral", "Fine if the trees on the school side are kept."),
    ("oppose", "The lot should be only a park. More parking brings more cars."),
    ("support", "Please add chargers — several neighbours have electric cars."),
    ("oppose", "Night noise from the car park: doors, alarms. Block 4 faces it directly."),
    ("support", "Good plan, and please light the path at night."),
    ("neutral", "Who will manage the car park, and what will it cost per month?"),
    ("oppose", "Traffic by the school again; the entrance must not be on Elm Road."),
    ("support", "The fenced lot collects rubbish; anything is better."),
    ("support", "Residents of blocks 2-6 should have priority for the places."),
    ("oppose", "My window is 10 m from the lot. Call me on 13812345678 to see it."),
    ("neutral", "Please put benches in the shade for older residents."),
    ("support", "Supporting it, with a fence around the play area."),
    ("oppose", "Works from March means dust during exams. Start in July."),
    ("support", "Parking on the pavement will stop; that is good for prams and wheelchairs."),
    ("neutral", "Could the park have a small community garden?"),
    ("oppose", "The trees on the lot are 30 years old; keep them all."),
    ("support", "A good use of an empty space."),
    ("support", "Yes, and a bicycle shelter please."),
    ("oppose", "Parking fees will go up for everyone; keep the lot green."),
    ("neutral", "I'd like to see the drainage plan; the lot floods in summer."),
    ("support", "The side-road entrance answers the school's worry. In favour."),
    ("oppose", "Too little consultation with block 4; we were not asked before."),
]
MARKET_COMMENTS: list[tuple[str, str]] = [
    ("support", "Great for local vendors and for families on Friday evenings."),
    ("oppose", "Closing the main road every Friday sends the buses through our lane."),
    ("oppose", "Noise until 23:00 next to the flats is too late."),
    ("support", "We used to have a market like this; it brought the street to life."),
    ("oppose", "Rubbish after the stalls leave — who cleans it?"),
    ("neutral", "Fine if it ends at 22:00."),
    ("support", "Please reserve stalls for residents selling home-made food."),
    ("oppose", "Parking for the market will fill our courtyard."),
]


def _plan_pdf(title: str, body: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    out = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author="Elm Street Office (demo)")
    story: list[Any] = [Paragraph(title, styles["Title"]), Spacer(1, 12)]
    for para in body.split("\n\n"):
        story += [Paragraph(para, styles["BodyText"]), Spacer(1, 8)]
    story.append(
        Paragraph(
            "Plan drawings and the traffic study are available at the street office. This "
            "document is part of the Civitas demo and describes a made-up project.",
            styles["Italic"],
        )
    )
    doc.build(story)
    return out.getvalue()


def _inner_area(place: Jurisdiction) -> dict[str, Any] | None:
    """A polygon well inside the community: its outline shrunk around an inner point."""
    if not place.boundary:
        return None
    outline = shape(place.boundary)
    inner = affinity.scale(outline, 0.35, 0.35, origin=outline.representative_point())
    inner = inner.intersection(outline.buffer(-1e-5))
    if inner.geom_type == "MultiPolygon":
        inner = max(inner.geoms, key=lambda g: g.area)
    if inner.is_empty or inner.geom_type != "Polygon":
        return None
    return dict(mapping(inner.simplify(0)))


def _residents(n: int) -> list[User]:
    people = []
    for i in range(1, n + 1):
        user, made = User.objects.get_or_create(
            username=f"demo-neighbour-{i:02d}",
            defaults={"display_name": f"Neighbour {i:02d} (made up)"},
        )
        if made:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        people.append(user)
    return people


def _comment_all(
    c: Consultation, people: list[User], views: list[tuple[str, str]], *, step: int
) -> list[Comment]:
    made = []
    base = clock.now()
    for i, (position, text) in enumerate(views):
        # Comments spread over the past days, one per person (the rate limit holds).
        with clock.frozen(base - timedelta(minutes=step * (len(views) - i))):
            made.append(svc.comment(people[i % len(people)], c, position=position, text=text))
    # Supports: each person supports a few others' comments, never their own.
    for j, person in enumerate(people):
        for k in made[(j * 3) % len(made) :: 7][:3]:
            if k.author_id != person.pk and not k.supporters.filter(pk=person.pk).exists():
                svc.support(person, k)
    return made


def setup(progress: Callable[[str], None]) -> list[str]:
    """Create what is missing; return lines telling the visitor what to explore."""
    street = Jurisdiction.objects.filter(code=STREET).first()
    community = Jurisdiction.objects.filter(code=COMMUNITY).first()
    office = Unit.objects.filter(code=OFFICE).first()
    handler = User.objects.filter(username="handler-street").first()
    leader = User.objects.filter(username="leader").first()
    if not (street and community and office and handler and leader):
        return ["skipped: the demo street, its office or the demo sign-ins are missing"]
    park = Consultation.objects.filter(city=CITY, title=PARK_TITLE).first()
    market = Consultation.objects.filter(city=CITY, title=MARKET_TITLE).first()
    people = _residents(25)
    if park is None:
        progress("a consultation on the empty lot, with its plan and 25 comments")
        # Opened a week ago (the clock is moved back for the story), closing in three weeks.
        with clock.frozen(clock.now() - timedelta(days=7)):
            park = svc.create(
                handler,
                unit=office,
                jurisdiction=community,
                title=PARK_TITLE,
                body=PARK_BODY,
                closes_at=clock.now() + timedelta(days=28),
                area=_inner_area(community),
            )
            svc.add_document(
                handler,
                park,
                SimpleUploadedFile("lot-plan.pdf", _plan_pdf(PARK_TITLE, PARK_BODY)),
                name="The plan (PDF)",
            )
            park = svc.open_(handler, park, version=park.version)
        _comment_all(park, people, PARK_COMMENTS, step=300)
    if market is None:
        progress("an answered consultation fed into a stability assessment")
        with transaction.atomic():
            assessment = stability.create(
                leader,
                title="Friday night market on the main road",
                description=MARKET_BODY,
                jurisdiction=street,
                decision_unit=office,
                legality=5,
                legality_note="Street trading allowed by the district's 2025 rules.",
                reasonableness=4,
                reasonableness_note="Stalls by lot; buses diverted for five hours a week.",
                feasibility=5,
                feasibility_note="Stalls and cleaning funded by the street.",
                controllability=4,
                controllability_note="Two wardens and a complaints line on market nights.",
                consultation_summary="Online consultation on the street's page.",
            )
        with clock.frozen(clock.now() - timedelta(days=20)):
            market = svc.create(
                leader,
                unit=office,
                jurisdiction=street,
                title=MARKET_TITLE,
                body=MARKET_BODY,
                closes_at=clock.now() + timedelta(days=14),
                assessment=assessment,
            )
            market = svc.open_(leader, market, version=market.version)
        with clock.frozen(clock.now() - timedelta(days=10)):
            _comment_all(market, people[:8], MARKET_COMMENTS, step=600)
        with clock.frozen(clock.now() - timedelta(days=6)):
            market = svc.close(leader, market, version=market.version, reason="Enough views")
        svc.answer_and_feed(
            leader,
            market,
            version=market.version,
            answer_text=(
                "Thank you for 8 comments. The market goes ahead as a six-month trial, and we "
                "will review it with residents in the autumn."
            ),
            changes=(
                "It ends at 22:00, not 23:00; buses keep their route (stalls on the pavement "
                "side only); vendors clean their pitch, checked by the wardens."
            ),
        )
    market.refresh_from_db()
    level = market.assessment.level if market.assessment else ""
    return [
        f"consultation open: /participate/consultations/{park.code}/ "
        "(comment and support as 'resident'; manage as 'handler-street' or 'leader')",
        f"consultation answered: /participate/consultations/{market.code}/ — its result is in "
        f"stability assessment {market.assessment.code if market.assessment else '-'} "
        f"(level {level}; /risk/stability/, as 'leader' or 'analyst')",
    ]
