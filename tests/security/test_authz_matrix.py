"""The authorisation matrix: every URL of the project, called as every kind of caller.

Every URL pattern (pages, Open311, the admin) and every operation of the JSON API is found by
walking the URL resolver and the API's OpenAPI document; each must have an expected answer in
``tests/security/authz_table.py``. Each endpoint is one test: it is called (GET, and for pages
POST too; an API operation with its own method and an empty or minimal body) by the callers
that can tell a right answer from a wrong one (``callers_for``):

- where the answer depends on the role (an action of ``org.access.PERMISSIONS``): nobody
  signed in, one person of every role (in district D1 of the small test city), a superuser;
  where it does not, one caller stands for all who answer alike (the resident for "any person",
  the administrator for "no role"), plus the roles the entry names;
- API keys: each key whose scope grants the action, one whose scopes do not, one without
  scopes, a revoked one, one acting for no unit, another city's (where the object or dataset
  is the city's); where keys may not at all, the key holding every scope;
- pages answer sessions only: that key is tried on sample pages; the admin: GET, by nobody
  and a non-staff administrator, and the superuser on views of no object.

Where an endpoint is about one object, it is called for an object in the caller's area (district
D1) and, by those let in there and the superuser, for one outside it (district D2): outside,
only the superuser may see it.

Denied callers must get 401, 403, 404 or (pages) a redirect to the sign-in page, never a 2xx,
and an unsafe call they make must change nothing (the audit chain and the main tables keep
their row counts). Allowed callers must not get 401, 403 or the sign-in redirect. Nobody may
get a 5xx. Each call runs in a savepoint that is rolled back, so one dataset serves the module.
A failure lists every wrong answer of the endpoint, each naming the caller.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security import authz_table as table

# -- the endpoints ---------------------------------------------------------------------------

API_PREFIX = "api/"
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_]+)>")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def url_routes() -> list[str]:
    """Every URL pattern of ``civitas.urls``, as its route text (API operations excluded)."""
    seen: dict[str, None] = {}
    for route, _pattern in _walk(get_resolver().url_patterns):
        seen.setdefault(route, None)
    return list(seen)


def api_operations() -> list[str]:
    """``METHOD /api/path`` for every operation of the JSON API."""
    from civitas.api import api

    schema = api.get_openapi_schema()
    ops = []
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append(f"{method.upper()} {path}")
    return sorted(ops)


def api_routes_in_resolver() -> set[str]:
    """The API's URL patterns as the resolver holds them, in OpenAPI spelling."""
    out = set()
    for route in url_routes():
        if route.startswith(API_PREFIX):
            out.add("/" + _CONVERTER.sub(r"{\1}", route))
    return out


def page_routes() -> list[str]:
    return [r for r in url_routes() if not r.startswith(API_PREFIX) or r in table.API_PAGES]


ENDPOINTS: list[str] = sorted(set(page_routes()) | set(api_operations()))


# -- the callers -----------------------------------------------------------------------------

ROLE_CALLERS = [f"user:{r}" for r in table.ROLES]
USER_CALLERS = ["anon", *ROLE_CALLERS, "superuser"]
KEY_CALLERS = [f"key:{s}" for s in table.SCOPES] + [
    "key:none",
    "key:revoked",
    "key:other-city",
    "key:no-unit",
    "key:all",
]
# The caller that stands for "every person": the least privileged.
ANY_PERSON = f"user:{table.R.RESIDENT}"
# The caller that stands for "every role" where no role may: the most privileged one.
ANY_ROLE = f"user:{table.R.ADMINISTRATOR}"
# The page on which one key with every scope shows that keys open no page.
KEY_SAMPLE_PAGES = {"city/", "audit/"}
# Admin views of no object: the superuser's answers are looked at there only.
_ADMIN_OBJECT = re.compile(r"<(?:path:)?object_id>|<id>")


def _person_callers(entry: table.Access) -> list[str]:
    """The people worth calling: callers that get the same answer for the same reason are
    represented by one of them (every role is called where the answer depends on the role)."""
    named = sorted(f"user:{r}" for r in entry.but | entry.also | entry.away_also)
    if entry.who in {table.PUBLIC, table.SIGNED_IN}:
        people = ["anon", ANY_PERSON, *named]
    elif entry.who in {table.SUPERUSER, table.NOBODY}:
        people = ["anon", ANY_ROLE, *named, "superuser"]
    elif entry.who == table.STAFF_ONLY:
        people = ["anon", ANY_PERSON, ANY_ROLE, "superuser"]
    else:  # an action: every role
        people = USER_CALLERS
    if entry.obj and "superuser" not in people:
        people = [*people, "superuser"]  # the one caller who may see the away object
    return list(dict.fromkeys(people))


def _key_callers(entry: table.Access) -> list[str]:
    """Keys: every key whose scope grants the action (must get in), one usable key whose
    scopes do not and one without scopes (must not), the revoked key; another city's key
    where the object or the dataset is the city's; a key acting for no unit. Where keys may
    not at all (people only, superusers), the key holding every scope."""
    action = entry.keys or entry.who
    if action in {table.NO_KEYS, table.SUPERUSER, table.NOBODY, table.STAFF_ONLY}:
        return ["key:all"]
    if action in {table.PUBLIC, table.SIGNED_IN}:
        keys = ["key:none", "key:revoked"]
    else:
        granting = [f"key:{s}" for s in table.SCOPES if action in table.API_KEY_SCOPES[s]]
        others = [f"key:{s}" for s in table.SCOPES if action not in table.API_KEY_SCOPES[s]]
        keys = [*granting, *others[:1], "key:none", "key:revoked", "key:no-unit"]
    if entry.obj or entry.city:
        keys.append("key:other-city")
    return keys


def callers_for(endpoint: str) -> list[str]:
    entry = table.entry_for(endpoint)
    if entry is None:
        return USER_CALLERS
    return list(dict.fromkeys([*_callers(endpoint, entry), *entry.xfail]))


def _callers(endpoint: str, entry: table.Access) -> list[str]:
    if table.is_api(endpoint):
        return _person_callers(entry) + _key_callers(entry)
    if endpoint.startswith("admin/"):
        # Every admin view goes through AdminSite.admin_view; the superuser only where no
        # object is named (its answers are not judged: a server error is what is looked for).
        people = ["anon", ANY_ROLE]
        return people if _ADMIN_OBJECT.search(endpoint) else [*people, "superuser"]
    people = _person_callers(entry)
    # Pages answer sessions only; a key with every scope shows it on sample pages.
    return [*people, "key:all"] if endpoint in KEY_SAMPLE_PAGES else people


def variants_for(entry: table.Access, caller: str, endpoint: str) -> list[str]:
    """The away object is called by those let in at home (it must refuse them) and by the
    superuser; a caller refused at home is refused by the same check away."""
    out = []
    for variant in table.variants(entry):
        if variant == "away" and not (
            caller == "superuser"
            or expected(entry, caller, "home", endpoint)
            or caller.split(":", 1)[-1] in entry.away_also
        ):
            continue
        out.append(variant)
    return out


# -- the dataset -----------------------------------------------------------------------------


def _person(username: str, role: str | None, unit: Any = None, **extra: Any) -> Any:
    from tests.factories import UserFactory, member

    if role is None:
        return UserFactory(username=username, **extra)
    return member(username, role, unit, **extra)


def build_world() -> dict[str, Any]:
    """The small test city with mediation bodies, committees, a hub, a second city, one
    person per role, API keys, and one object of every kind in D1 (home) and D2 (away)."""
    from civitas.appeals import intake
    from civitas.geo import services as geo_services
    from civitas.hub import grants
    from civitas.kit import clock
    from civitas.org import services as org_services
    from civitas.org.models import Role, UnitKind
    from civitas.participation import orgs
    from civitas.risk import services as risk_services
    from civitas.risk import stability
    from civitas.risk.models import Level
    from tests import factories
    from tests.hub import helpers as hub_helpers
    from tests.mediation import helpers as med_helpers
    from tests.participation import suggest_helpers, tasks_helpers
    from tests.risk import register_setup

    c: dict[str, Any] = factories.small_city()
    from civitas.geo.locate import index

    index.invalidate()
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=c["leaf"],
            level=c["levels"]["district"],
            city="T",
            unit_type="housing",
        )
        c["rule"] = org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=c["leaf"],
            level=c["levels"]["street"],
            city="T",
            unit_type="street_office",
        )
        for place in ("T-D1-S1-C1", "T-D2-S1-C1"):
            for kind, suffix in (
                (UnitKind.MEDIATION_COMMITTEE, "MEDIATION"),
                (UnitKind.COMMUNITY_COMMITTEE, "CC"),
                (UnitKind.GRID_TEAM, "GRID"),
            ):
                c[f"{place}-{suffix}"] = org_services.save_unit(
                    actor="test",
                    code=f"{place}-{suffix}",
                    kind=kind,
                    department_type="community" if suffix == "CC" else "",
                    name_en=f"{place} {suffix}",
                    name_zh=f"{place}{suffix}",
                    jurisdiction=c[place],
                )
        c["market"] = org_services.save_unit(
            actor="test",
            code="T-MARKET",
            kind=UnitKind.DEPARTMENT,
            department_type="market_supervision",
            name_en="Market Supervision Bureau",
            name_zh="市场监督管理局",
            jurisdiction=c["T"],
        )
        other = geo_services.save_jurisdiction(
            actor="test",
            code="U",
            level=c["levels"]["city"],
            name_en="Otherton",
            name_zh="他市",
            boundary=factories.rect(10, 10, 11, 11),
        )
        c["U-centre"] = org_services.save_unit(
            actor="test",
            code="U-CENTRE",
            kind=UnitKind.CENTRE,
            name_en="Otherton Centre",
            name_zh="他市中心",
            jurisdiction=other,
        )
    index.invalidate()

    d1 = c["T-D1-centre"]
    units = {
        Role.RESIDENT: None,
        Role.HOTLINE_OPERATOR: d1,
        Role.DISPATCHER: d1,
        Role.UNIT_HANDLER: c["T-D1-S1-office"],
        Role.UNIT_LEADER: c["T-D1-S1-office"],
        Role.GRID_WORKER: c["T-D1-S1-C1-GRID"],
        Role.MEDIATOR: c["T-D1-S1-C1-MEDIATION"],
        Role.ANALYST: d1,
        Role.DATA_STEWARD: c["market"],
        Role.AUDITOR: d1,
        Role.ADMINISTRATOR: d1,
    }
    people: dict[str, Any] = {}
    for role in table.ROLES:
        people[f"user:{role}"] = _person(f"mx-{role}", role, units[role])
    people["superuser"] = _person("mx-root", None, is_superuser=True, is_staff=True)
    # People of D2 who make the "away" objects.
    d2_handler = _person("mx-d2-handler", Role.UNIT_HANDLER, c["T-D2-S1-office"])
    d2_mediator = _person("mx-d2-mediator", Role.MEDIATOR, c["T-D2-S1-C1-MEDIATION"])
    d2_analyst = _person("mx-d2-analyst", Role.ANALYST, c["T-D2-centre"])
    resident = people[f"user:{Role.RESIDENT}"]

    # API keys: one per single scope (acting for D1's centre), and the odd ones.
    keys: dict[str, str] = {}
    with transaction.atomic():
        for scope in table.SCOPES:
            _row, keys[f"key:{scope}"] = org_services.create_api_key(
                actor="test", name=f"mx {scope}", scopes=[scope], unit=d1
            )
        _row, keys["key:none"] = org_services.create_api_key(
            actor="test", name="mx none", scopes=[], unit=d1
        )
        row, keys["key:revoked"] = org_services.create_api_key(
            actor="test", name="mx revoked", scopes=list(table.SCOPES), unit=d1
        )
        org_services.revoke_api_key(actor="test", key=row)
        _row, keys["key:other-city"] = org_services.create_api_key(
            actor="test", name="mx other", scopes=list(table.SCOPES), unit=c["U-centre"]
        )
        _row, keys["key:no-unit"] = org_services.create_api_key(
            actor="test", name="mx app", scopes=list(table.SCOPES), unit=None
        )
        c["apikey_row"], keys["key:all"] = org_services.create_api_key(
            actor="test", name="mx all", scopes=list(table.SCOPES), unit=d1
        )

    # Appeals: one in D1 (Elm 11 street) by the resident caller, one in D2 by a neighbour.
    neighbour = _person("mx-neighbour", Role.RESIDENT)

    def appeal(lon: float, by: Any) -> Any:
        data = intake.AppealIn(
            city="T",
            text="The lift in building 3 is broken again",
            lat=0.5,
            lon=lon,
            contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
        )
        with transaction.atomic():
            return intake.submit(actor=by, data=data, resident=by)

    home_appeal, away_appeal = appeal(0.5, resident), appeal(2.5, neighbour)

    # Disputes, at the C1 committees of D1 and D2.
    home_dispute = med_helpers.services.register(
        actor=people[f"user:{Role.MEDIATOR}"], data=med_helpers.data(c, "T-D1-S1-C1")
    )
    away_dispute = med_helpers.services.register(
        actor=d2_mediator,
        data=med_helpers.data(
            c, "T-D2-S1-C1", parties=med_helpers.parties(c, "T-D2-S1-C1", "T-D2-S1-C1")
        ),
    )

    # Participation: consultations, comments, suggestions, tasks, a participant.
    home_cons = suggest_helpers.consultation(c, "T-CONS-1", "T-D1-S1")
    away_cons = suggest_helpers.consultation(c, "T-CONS-2", "T-D2-S1")
    home_comment = suggest_helpers.comment(home_cons, neighbour)
    away_comment = suggest_helpers.comment(away_cons, neighbour)
    home_sugg = suggest_helpers.propose(neighbour, c["T-D1-S1-C1"])
    away_sugg = suggest_helpers.propose(neighbour, c["T-D2-S1-C1"], title="A bus shelter")
    tc = dict(c)
    tc["handler"] = people[f"user:{Role.UNIT_HANDLER}"]
    home_task = tasks_helpers.task(tc)
    away_task = tasks_helpers.task(
        tc, place="T-D2-S1-C1", actor=d2_handler, publisher=c["T-D2-S1-office"]
    )
    home_part = orgs.report(
        actor=neighbour, home=c["T-D1-S1-C1"], is_volunteer=True, is_party_member=False
    )
    away_neighbour = _person("mx-away-neighbour", Role.RESIDENT)
    away_part = orgs.report(
        actor=away_neighbour, home=c["T-D2-S1-C1"], is_volunteer=True, is_party_member=False
    )

    # Risk: alerts, risks, stability assessments.
    rc = dict(c)
    rc["resident"] = resident
    home_alert = register_setup.store_alert(
        rc, [home_appeal.appeal], lat=0.5, lon=0.5, key="mx-home"
    )
    away_alert = register_setup.store_alert(
        rc, [away_appeal.appeal], lat=0.5, lon=2.5, key="mx-away"
    )

    def risk(owner: Any, place: Any, actor: Any) -> Any:
        return risk_services.create_risk(
            actor=actor,
            city="T",
            data=risk_services.RiskIn(
                title="Lifts failing",
                level=Level.YELLOW,
                owner_unit=owner,
                deadline=clock.now() + timedelta(days=7),
                jurisdiction=place,
            ),
        )

    home_risk = risk(c["T-D1-housing"], c["T-D1"], people[f"user:{Role.ANALYST}"])
    away_risk = risk(c["T-D2-housing"], c["T-D2"], d2_analyst)

    def ssa(place: str, unit: str, actor: Any) -> Any:
        return stability.create(
            actor,
            title="Waste transfer station",
            description="A covered transfer station beside the river.",
            jurisdiction=c[place],
            decision_unit=c[unit],
        )

    home_ssa = ssa("T-D1-S1", "T-D1-housing", people[f"user:{Role.ANALYST}"])
    away_ssa = ssa("T-D2-S1", "T-D2-housing", d2_analyst)

    # The hub: the market bureau's city-wide dataset; D2 housing's own dataset; grants.
    home_ds = hub_helpers.inspections_dataset(c["market"], c["T"])
    away_ds = hub_helpers.make_dataset(
        code="t-d2-housing",
        owner=c["T-D2-housing"],
        area=c["T-D2"],
        fields=[("enterprise", "string", "public", "", True)],
    )
    ask = {
        "purpose": "inspections near schools",
        "legal_basis": "city data regulation art. 12",
        "expires_at": clock.now() + timedelta(days=30),
    }
    home_grant = grants.request_grant(
        people[f"user:{Role.ANALYST}"],
        home_ds,
        consumer=d1,
        fields=["enterprise"],
        **ask,
    )
    away_grant = grants.request_grant(
        d2_analyst, home_ds, consumer=c["T-D2-centre"], fields=["enterprise"], **ask
    )

    world: dict[str, Any] = {
        "city": c,
        "people": people,
        "keys": keys,
        "home": {
            "ticket": home_appeal.appeal.ticket,
            "token": home_appeal.token,
            "dispute": home_dispute.code,
            "consultation": home_cons.code,
            "comment": home_comment.pk,
            "suggestion": home_sugg.code,
            "task": home_task.code,
            "participant": home_part.pk,
            "alert": home_alert.pk,
            "risk": home_risk.code,
            "ssa": home_ssa.code,
            "dataset": home_ds.code,
            "grant": home_grant.pk,
            "grant_version": home_grant.version,
            "jurisdiction": "T-D1-S1",
            "unit": "T-D1-S1-OFFICE",
            "rule": c["rule"].pk,
            "apikey": c["apikey_row"].pk,
        },
        "away": {
            "ticket": away_appeal.appeal.ticket,
            "token": away_appeal.token,
            "dispute": away_dispute.code,
            "consultation": away_cons.code,
            "comment": away_comment.pk,
            "suggestion": away_sugg.code,
            "task": away_task.code,
            "participant": away_part.pk,
            "alert": away_alert.pk,
            "risk": away_risk.code,
            "ssa": away_ssa.code,
            "dataset": away_ds.code,
            "grant": away_grant.pk,
            "grant_version": away_grant.version,
            "jurisdiction": "T-D2-S1",
            "unit": "T-D2-S1-OFFICE",
            "rule": c["rule"].pk,
            "apikey": c["apikey_row"].pk,
        },
    }
    return world


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """One dataset for the whole module, built in a transaction rolled back at its end."""
    from django.conf import settings

    from civitas.geo.locate import index
    from civitas.understanding import duplicates, store

    hashers = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        # Like a TestCase's own block: services may open durable blocks inside it.
        connection.atomic_blocks[-1]._from_testcase = True
        try:
            index.invalidate()
            duplicates.forget()
            store.forget()
            made = build_world()
            made["clients"] = _clients(made)
            yield made
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            index.invalidate()
            settings.PASSWORD_HASHERS = hashers


@pytest.fixture(autouse=True)
def _fresh_indexes() -> None:
    """The module's dataset stays for every case: the shared per-test index reset (in
    tests/conftest.py) would rebuild the city's index for each of thousands of calls."""


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """As above: the dataset does not change between cases (every call is rolled back)."""


def _clients(w: dict[str, Any]) -> dict[str, Client]:
    clients: dict[str, Client] = {"anon": Client(raise_request_exception=False)}
    for name, person in w["people"].items():
        client = Client(raise_request_exception=False)
        client.force_login(person)
        clients[name] = client
    for name, key in w["keys"].items():
        clients[name] = Client(raise_request_exception=False, headers={"X-Api-Key": key})
    return clients


def _counted() -> list[Any]:
    from civitas.appeals.models import Appeal
    from civitas.hub.models import Dataset, Grant
    from civitas.kit.models import AuditEntry
    from civitas.mediation.models import Dispute
    from civitas.org.models import ApiKey, Membership, ResponsibilityRule, Unit, User
    from civitas.participation.models import Comment, Consultation, Suggestion, Task
    from civitas.risk.models import RiskItem, StabilityAssessment

    return [
        AuditEntry,
        Appeal,
        Dispute,
        Consultation,
        Comment,
        Suggestion,
        Task,
        RiskItem,
        StabilityAssessment,
        Dataset,
        Grant,
        ApiKey,
        ResponsibilityRule,
        Membership,
        Unit,
        User,
    ]


_COUNT_SQL: tuple[str, list[Any]] | None = None


def _count_sql() -> tuple[str, list[Any]]:
    """One statement counting the rows of every main table (a round trip per table, twice per
    refused write, was much of the module's cost)."""
    global _COUNT_SQL
    if _COUNT_SQL is None:
        parts, params = [], []
        for model in _counted():
            qs = model.objects.order_by().values("pk")
            if model.__name__ == "AuditEntry":
                qs = qs.exclude(action__endswith="_refused")
            sql, p = qs.query.sql_with_params()
            # The ORM's own SQL for each table; values stay parameters.
            alias = f"{model.__name__.lower()}_rows"
            parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS {alias})")  # noqa: S608
            params += list(p)
        _COUNT_SQL = ("SELECT " + ", ".join(parts), params)
    return _COUNT_SQL


def _counts() -> dict[str, int]:
    """Row counts of the main tables. A refusal the hub records for its access log
    (``hub.read_refused``) is the record of the refusal, not a change."""
    sql, params = _count_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {model.__name__: int(n) for model, n in zip(_counted(), row, strict=True)}


# -- calling ---------------------------------------------------------------------------------

LOGIN_PATHS = ("/login/", "/admin/login/")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    variant: str
    status: int
    location: str
    changed: dict[str, tuple[int, int]]
    body: str = ""

    def denied(self) -> bool:
        if self.status in {401, 403, 404}:
            return True
        return 300 <= self.status < 400 and self.location.startswith(LOGIN_PATHS)

    def neutral(self) -> bool:
        """Answers that grant nothing and refuse nothing: the method is not taken, the caller
        is slowed down."""
        return self.status in {405, 429}

    def refused_input(self) -> bool:
        return self.status in {400, 409, 422}

    def describe(self) -> str:
        where = f" -> {self.location}" if self.location else ""
        return f"{self.method} {self.url} [{self.variant}] answered {self.status}{where}"


def fill(route: str, values: dict[str, Any]) -> str:
    """A concrete URL for a route: path converters and regex groups replaced by values."""
    if table.is_api(route):
        path = route.split(" ", 1)[1]
        return re.sub(r"\{([a-zA-Z_]+)\}", lambda m: str(values[m.group(1)]), path)
    url = route
    if url.startswith("^") or "(?P<" in url:
        url = re.sub(r"\(\?P<([a-zA-Z_]+)>[^)]*\)", lambda m: str(values[m.group(1)]), url)
        url = url.replace("^", "").replace("$", "").replace("\\.", ".")
    url = _CONVERTER.sub(lambda m: str(values[m.group(1)]), url)
    return "/" + url


def call(
    w: dict[str, Any],
    caller: str,
    method: str,
    url: str,
    body: Any,
    variant: str,
    count: bool = True,
) -> Call:
    client = w["clients"][caller]
    cookies = copy.deepcopy(client.cookies)
    cache.clear()
    with transaction.atomic():
        unsafe = method in UNSAFE and count
        before = _counts() if unsafe else {}
        if table.is_api_url(url):
            data = json.dumps(body if body is not None else {})
            response = client.generic(method, url, data, content_type="application/json")
        elif method == "GET":
            response = client.get(url)
        else:
            response = client.generic(
                method, url, "", content_type="application/x-www-form-urlencoded"
            )
        changed: dict[str, tuple[int, int]] = {}
        if unsafe:
            try:
                after = _counts()
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            except Exception:
                changed = {}
        transaction.set_rollback(True)
    client.cookies = cookies
    text = ""
    if response.get("Content-Type", "").startswith("application/json") and not getattr(
        response, "streaming", False
    ):
        text = response.content.decode("utf-8", "replace")
    location = response.get("Location", "")
    return Call(method, url, variant, response.status_code, location, changed, text)


def expected(entry: table.Access, caller: str, variant: str, endpoint: str) -> bool:
    """Should ``caller`` be let in?"""
    return table.allowed(entry, caller, variant, table.is_api(endpoint))


def holds_no_rows(done: Call) -> bool:
    """A list answered to a caller who may read none of it: nothing in it."""
    try:
        data = json.loads(done.body)
    except ValueError:
        return False
    if isinstance(data, list):
        return not data
    if isinstance(data, dict):
        if "count" in data:
            return data["count"] == 0
        lists = [v for v in data.values() if isinstance(v, list)]
        return bool(lists) and not any(lists)
    return False


def judge(entry: table.Access, endpoint: str, caller: str, done: Call, want: bool) -> str:
    """What is wrong with one answer ("" when nothing)."""
    if done.status >= 500 and not (entry.unavailable and done.status == 503):
        return "a server error"
    if done.neutral() or caller in entry.free:
        return ""
    if want and done.denied():
        if entry.absent and done.status == 404:
            return ""  # the URL names nothing the dataset holds
        return f"{caller} should be let in"
    if not want and done.changed:
        return f"a refused call changed {done.changed}"
    if not want and not done.denied():
        if done.method in UNSAFE and done.refused_input():
            return ""  # refused before any change; the body never reached a decision
        if entry.rows and done.status == 200 and holds_no_rows(done):
            return ""  # a list narrowed to nothing
        if done.method in UNSAFE and not table.is_api(endpoint) and 300 <= done.status < 400:
            return ""  # a form posted back to its page with the refusal as a message
        return f"{caller} should be refused"
    return ""


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_authorisation(world: dict[str, Any], endpoint: str) -> None:
    """Every chosen caller of one endpoint; the failure lists every wrong answer, each naming
    the endpoint, the caller, the URL, the object (home/away) and the status."""
    entry = table.entry_for(endpoint)
    assert entry is not None, f"endpoint {endpoint} has no expected answer in authz_table.py"
    problems: list[str] = []
    known: dict[str, list[str]] = {}
    for caller in callers_for(endpoint):
        for variant in variants_for(entry, caller, endpoint):
            values = table.url_values(entry, world, variant, endpoint)
            url = fill(endpoint, values) + (f"?{entry.query}" if entry.query else "")
            want = expected(entry, caller, variant, endpoint)
            for method in table.methods(entry, endpoint):
                body = table.body(entry, world, variant) if method in UNSAFE else None
                done = call(world, caller, method, url, body, variant, count=not want)
                _survey(endpoint, caller, done)
                wrong = judge(entry, endpoint, caller, done, want)
                if wrong:
                    line = f"{caller}: {done.describe()}: {wrong}"
                    if caller in entry.xfail:
                        known.setdefault(caller, []).append(line)
                    else:
                        problems.append(line)
    for caller, reason in entry.xfail.items():
        if caller not in known:
            problems.append(f"{caller}: expected to fail ({reason}) but passes; drop the xfail")
    assert not problems, f"endpoint {endpoint}:\n  " + "\n  ".join(problems)


def _survey(endpoint: str, caller: str, done: Call) -> None:
    import os

    path = os.environ.get("AUTHZ_SURVEY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            row = {"e": endpoint, "c": caller, "v": done.variant, "m": done.method}
            row |= {"s": done.status, "l": done.location, "ch": done.changed}
            out.write(json.dumps(row) + "\n")


def test_every_endpoint_has_an_expected_answer() -> None:
    missing = [e for e in ENDPOINTS if table.entry_for(e) is None]
    assert not missing, "\n".join(
        f"endpoint {e} has no expected answer in authz_table.py" for e in missing
    )


def test_the_table_names_no_endpoint_that_is_gone() -> None:
    known = set(ENDPOINTS)
    stale = sorted(k for k in table.declared() if k not in known)
    assert not stale, f"authz_table.py names endpoints that no longer exist: {stale}"


def test_every_api_url_is_an_operation_in_the_schema() -> None:
    """An API URL left out of the OpenAPI document would escape the matrix."""
    documented = {op.split(" ", 1)[1] for op in api_operations()}
    hidden = api_routes_in_resolver() - documented - {"/" + p for p in table.API_PAGES}
    assert not hidden, f"API URLs missing from /api/openapi.json: {sorted(hidden)}"


def test_every_kind_of_caller_is_called_somewhere() -> None:
    """Choosing callers per endpoint must not drop a kind of caller from the whole matrix."""
    used = {c for e in ENDPOINTS for c in callers_for(e)}
    missing = sorted(set(USER_CALLERS + KEY_CALLERS) - used)
    assert not missing, f"callers no endpoint calls: {missing}"
