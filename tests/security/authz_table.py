"""Who may call what: the expected answer of every endpoint, read by test_authz_matrix.py.

An entry names, for one URL pattern (pages, Open311, the admin: the route as Django holds it)
or one API operation (``METHOD /api/path`` as /api/openapi.json names it):

- ``who``: ``PUBLIC`` (anyone, signed in or not), ``SIGNED_IN`` (any person; for the API also
  any usable key), ``SUPERUSER`` (superusers and the admin's staff), or an action of
  ``civitas.org.access.PERMISSIONS``: then the roles that hold it may, and an API key may when
  one of its scopes grants the action (``API_KEY_SCOPES``; a key acting for no unit only for
  ``reference.read`` and ``appeals.submit``);
- ``obj``: the URL names one object. It is called for an object in the callers' area
  (district D1, "home") and for one outside it (district D2, "away"): away, only the superuser
  may (``away_too`` lets in those allowed at home: capability links such as tracking tokens);
- ``but`` / ``also``: roles refused although they hold the action (their unit does not reach
  the home object), or let in without it (their own things);
- ``keys``: the action an API key needs when it differs from ``who`` (``NO_KEYS``: people only);
- ``args``: the URL's values: a key of the world's home/away objects, or ``"=literal"``;
- ``absent``: the URL names nothing the dataset holds (an attachment, a batch): allowed
  callers may get 404; the check is that denied callers are refused;
- ``xfail``: callers for whom a known finding waits for a decision (reason given): their
  wrong answers are listed but do not fail the endpoint; once they are right, it fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from civitas.org.access import API_KEY_SCOPES, PERMISSIONS
from civitas.org.models import Role

ROLES: list[str] = [str(r) for r in Role.values]
SCOPES: list[str] = list(API_KEY_SCOPES)

PUBLIC = "public"
SIGNED_IN = "signed_in"
SUPERUSER = "superuser"
STAFF_ONLY = "staff"  # any role but resident
NOBODY = "nobody"  # only the roles in ``also``
NO_KEYS = "no_keys"

# The API's own pages (schema, docs, root) live beside its operations.
API_PAGES = {"api/openapi.json", "api/docs", "api/"}

_API = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /api/")


@dataclass(frozen=True)
class Access:
    who: str
    obj: bool = False
    but: frozenset[str] = frozenset()
    also: frozenset[str] = frozenset()
    keys: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    absent: bool = False
    away_too: bool = False
    body: dict[str, Any] | None = None
    xfail: dict[str, str] = field(default_factory=dict)
    away_also: frozenset[str] = frozenset()
    city: bool = False
    rows: bool = False
    query: str = ""
    free: frozenset[str] = frozenset()
    unavailable: bool = False


def is_api(endpoint: str) -> bool:
    return bool(_API.match(endpoint))


def is_api_url(url: str) -> bool:
    return url.startswith("/api/") and not url.startswith(("/api/docs", "/api/openapi.json"))


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


R = Role
STAFF = frozenset(ROLES) - {R.RESIDENT}


def A(who: str, **kw: Any) -> Access:
    for k in ("but", "also", "away_also", "free"):
        if k in kw:
            kw[k] = frozenset(kw[k])
    return Access(who, **kw)


P = A(PUBLIC)
S = A(SIGNED_IN)
SU = A(SUPERUSER)
PEOPLE = A(SIGNED_IN, keys=NO_KEYS)

# Units of D1 that do not reach the street office, the appeal routed to D1 housing, or D1's
# other units: the data steward (market bureau), the grid worker and the C1 mediator.
UNIT_BLIND = [R.DATA_STEWARD, R.GRID_WORKER, R.MEDIATOR]
# The dispute is the C1 committee's: the grid team and the street office's handler do not see
# it (the street office's leader does: the committee's parent office).
DISPUTE_BLIND = [R.GRID_WORKER, R.UNIT_HANDLER]

# Reference data: every person may; a key needs the reference:read scope.
REFERENCE = A("reference.read")

# The hub dataset is the market bureau's: only its people (our data steward) manage it and
# read its records (no grant is approved in the dataset); keys act for D1's centre, not the
# owner. Grants: D1 centre's people and the dataset's owner; the away grant is D2 centre's.
OWNER_MANAGES = A(
    "hub.manage", args={"code": "dataset"}, but=[R.ADMINISTRATOR], keys=NO_KEYS, city=True
)
OWNER_READS = A(SUPERUSER, also=[R.DATA_STEWARD], args={"code": "dataset"})
GRANT_READ = A(
    "hub.browse",
    obj=True,
    args={"pk": "grant"},
    but=[R.GRID_WORKER, R.MEDIATOR, R.UNIT_HANDLER, R.UNIT_LEADER],
    away_also=[R.DATA_STEWARD],
)

# -- pages --------------------------------------------------------------------------------------

PAGES: dict[str, Access] = {
    # Open311 GeoReport v2: public reading; posting needs the city's api_key in the form.
    "open311/v2/^discovery\\.(?P<fmt>xml|json)$": A(PUBLIC, args={"fmt": "=json"}),
    "open311/v2/^services\\.(?P<fmt>xml|json)$": A(PUBLIC, args={"fmt": "=json"}),
    "open311/v2/^services/(?P<code>[^/]+?)\\.(?P<fmt>xml|json)$": A(
        PUBLIC, args={"fmt": "=json", "code": "=T-M1-1-1"}, absent=True
    ),
    "open311/v2/^requests\\.(?P<fmt>xml|json)$": A(PUBLIC, args={"fmt": "=json"}),
    "open311/v2/^requests/(?P<request_id>[^/]+?)\\.(?P<fmt>xml|json)$": A(
        PUBLIC, args={"fmt": "=json", "request_id": "ticket"}, absent=True
    ),
    "open311/v2/^tokens/(?P<token>[^/]+?)\\.(?P<fmt>xml|json)$": A(
        PUBLIC, args={"fmt": "=json", "token": "=no-such-token"}, absent=True
    ),
    "open311/v2/^servicerequestupdates\\.(?P<fmt>xml|json)$": A(PUBLIC, args={"fmt": "=json"}),
    "open311/v2/^(?P<rest>.*)$": A(PUBLIC, args={"rest": "=nothing-here"}, absent=True),
    "i18n/setlang/": P,
    "jsi18n/": P,
    "api/": A(PUBLIC, absent=True),  # no page at the API's root
    # Operations: health for load balancers; metrics for loopback, CIVITAS_METRICS_ALLOW or
    # the bearer token (the test client calls from 127.0.0.1).
    "healthz": P,
    "readyz": A(PUBLIC, unavailable=True),  # 503 while a dependency is down
    "metrics": P,
    "api/docs": P,
    "api/openapi.json": P,
    "": S,
    "login/": P,
    "logout/": P,
    # The city model: reference data for every signed-in person.
    "city/": S,
    "city/search/": S,
    "city/locate/": S,
    "city/places/": S,
    "city/j/<str:code>/": A(SIGNED_IN, args={"code": "jurisdiction"}),
    "city/j/<str:code>/map.json": A(SIGNED_IN, args={"code": "jurisdiction"}),
    "city/j/<str:code>/profile/": A(STAFF_ONLY, args={"code": "jurisdiction"}),
    "units/": A("units.read"),
    # The street office is outside the units of the steward, grid worker and mediator.
    "units/<str:code>/": A("units.read", obj=True, args={"code": "unit"}, but=UNIT_BLIND),
    "people/": A("people.read"),
    "matters/": S,
    "matters/<str:code>/": A(SIGNED_IN, args={"code": "=T-M1-1-1"}),
    "responsibilities/": A("responsibility.read"),
    "responsibilities/new/": A("responsibility.edit"),
    "responsibilities/<int:pk>/": A("responsibility.read", args={"pk": "rule"}),
    "responsibilities/<int:pk>/edit/": A("responsibility.edit", args={"pk": "rule"}),
    # A city's administrators only (ours administers district D1).
    "responsibilities/learned/": A("responsibility.edit", but=[R.ADMINISTRATOR]),
    "responsibilities/learned/accept/": A("responsibility.edit", but=[R.ADMINISTRATOR]),
    "audit/": A("audit.read"),
    "audit/verify/": A("audit.read"),
    "models/": A("models.read"),
    "models/act/": A("models.manage", but=[R.ADMINISTRATOR]),  # city administrators
    # Appeals: residents need no account; staff enter, handle and dispatch.
    "appeal/new/": P,
    "appeal/submitted/<str:ticket>/": A(PUBLIC, args={"ticket": "ticket"}, absent=True),
    "appeal/map/<str:code>.json": A(PUBLIC, args={"code": "=T"}),
    "appeal/place.json": P,
    "track/<str:token>/": A(PUBLIC, obj=True, away_too=True, args={"token": "token"}),
    "track/<str:token>/file/<int:pk>/": A(
        PUBLIC, args={"token": "token", "pk": "=999999"}, absent=True
    ),
    "my/appeals/": S,
    # A resident's own appeals: the home appeal is the resident caller's, the away one not.
    "my/appeals/<str:ticket>/": A(NOBODY, obj=True, also=[R.RESIDENT], args={"ticket": "ticket"}),
    "my/appeals/<str:ticket>/file/<int:pk>/": A(
        NOBODY, also=[R.RESIDENT], args={"ticket": "ticket", "pk": "=999999"}, absent=True
    ),
    "desk/call/": A("appeals.enter"),
    "report/": A("appeals.enter"),
    "work/": A("appeals.read"),
    "desk/": A("appeals.dispatch"),
    "case/<str:ticket>/": A("appeals.read", obj=True, args={"ticket": "ticket"}, but=UNIT_BLIND),
    "case/<str:ticket>/act/<str:action>/": A(
        "appeals.read",
        obj=True,
        args={"ticket": "ticket", "action": "=accept"},
        but=UNIT_BLIND,
    ),
    "case/<str:ticket>/file/<int:pk>/": A(
        "appeals.read", obj=True, args={"ticket": "ticket", "pk": "=999999"}, absent=True
    ),
    "case/<str:ticket>/handoff/<int:pk>/retry/": A(
        "appeals.dispatch", obj=True, args={"ticket": "ticket", "pk": "=999999"}, absent=True
    ),
    # Assessment, risk, the command centre.
    "assessment/": A("assessment.read"),
    "assessment/export.csv": A("assessment.read"),
    "assessment/export.xlsx": A("assessment.read"),
    "risk/reports/": A("risk.read"),
    "risk/reports/<reportkind:kind>/<reportlabel:label>.pdf": A(
        "risk.read", args={"kind": "=month", "label": "=2026-10"}, absent=True
    ),
    "risk/reports/<reportkind:kind>/<reportlabel:label>/": A(
        "risk.read", args={"kind": "=month", "label": "=2026-10"}, absent=True
    ),
    "risk/stability/": A("risk.read"),
    "risk/stability/new/": A("risk.manage"),
    "risk/stability/<str:code>/": A("risk.read", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/edit/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/consultation/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/consultation/<int:index>/remove/": A(
        "risk.manage", obj=True, args={"code": "ssa", "index": "=0"}
    ),
    "risk/stability/<str:code>/appeals/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/appeals/<str:ticket>/remove/": A(
        "risk.manage", obj=True, args={"code": "ssa", "ticket": "ticket"}
    ),
    "risk/stability/<str:code>/record/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/revise/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/risk/open/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/stability/<str:code>/risk/link/": A("risk.manage", obj=True, args={"code": "ssa"}),
    "risk/alerts/": A("risk.read"),
    "risk/alerts/<int:pk>/": A("risk.read", obj=True, args={"pk": "alert"}),
    "risk/alerts/<int:pk>/map.json": A("risk.read", obj=True, args={"pk": "alert"}),
    "risk/alerts/<int:pk>/act/<str:action>/": A(
        "risk.manage", obj=True, args={"pk": "alert", "action": "=acknowledge"}
    ),
    "risk/risks/": A("risk.read"),
    "risk/risks/new/": A("risk.manage"),
    # The risk is D1 housing's: the street office's leader does not reach it.
    "risk/risks/<str:code>/": A("risk.read", obj=True, args={"code": "risk"}, but=[R.UNIT_LEADER]),
    "risk/risks/<str:code>/map.json": A(
        "risk.read", obj=True, args={"code": "risk"}, but=[R.UNIT_LEADER]
    ),
    "risk/risks/<str:code>/act/<str:action>/": A(
        "risk.manage", obj=True, args={"code": "risk", "action": "=update"}, but=[R.UNIT_LEADER]
    ),
    "command/": A("risk.read"),
    "command/alerts/": A("risk.read"),
    "command/map.json": A("risk.read"),
    # The data-sharing hub.
    "hub/": A("hub.browse"),
    "hub/datasets/new/": A("hub.manage"),
    "hub/datasets/<slug:code>/": A("hub.browse", args={"code": "dataset"}),
    "hub/datasets/<slug:code>/edit/": OWNER_MANAGES,
    "hub/datasets/<slug:code>/active/": OWNER_MANAGES,
    "hub/datasets/<slug:code>/schema/": OWNER_MANAGES,
    "hub/datasets/<slug:code>/versions/": A("hub.browse", args={"code": "dataset"}),
    "hub/datasets/<slug:code>/upload/": OWNER_MANAGES,
    "hub/batches/<int:pk>/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/batches/<int:pk>/progress/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/batches/<int:pk>/run/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/batches/<int:pk>/discard/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/quarantine/<int:pk>/fix/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/quarantine/<int:pk>/drop/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/quarantine/<int:pk>/restore/": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "hub/datasets/<slug:code>/request/": A("hub.request", args={"code": "dataset"}),
    "hub/datasets/<slug:code>/data/": OWNER_READS,
    "hub/datasets/<slug:code>/data/export/": OWNER_READS,
    "hub/datasets/<slug:code>/usage/": OWNER_MANAGES,
    "hub/grants/": A("hub.browse"),
    "hub/grants/<int:pk>/": GRANT_READ,
    "hub/grants/<int:pk>/<slug:action>/": A(
        "hub.decide",
        obj=True,
        args={"pk": "grant", "action": "=approve"},
        but=[R.UNIT_LEADER],  # the street office's leader is no party to D1 centre's grant
    ),
    # Mediation.
    "mediation/": A("disputes.read"),
    "mediation/new/": A("disputes.register"),
    "mediation/refer/<str:ticket>/": A(
        "disputes.register", obj=True, args={"ticket": "ticket"}, but=[R.GRID_WORKER, R.MEDIATOR]
    ),
    "mediation/d/<str:code>/": A(
        "disputes.read", obj=True, args={"code": "dispute"}, but=DISPUTE_BLIND
    ),
    "mediation/d/<str:code>/act/<str:action>/": A(
        "disputes.mediate", obj=True, args={"code": "dispute", "action": "=accept"}
    ),
    "mediation/figures/": A("disputes.figures"),
    "mediation/figures.csv": A("disputes.figures"),
    "mediation/d/<str:code>/agreements/<int:pk>.pdf": A(
        "disputes.read", obj=True, args={"code": "dispute", "pk": "=999999"}, absent=True
    ),
    # Participation: the public side is open; the staff side needs participation.*.
    "participate/": P,
    "participate/tasks/": P,
    "participate/tasks/new/": A("participation.manage"),
    "participate/tasks/<str:code>/": A(PUBLIC, args={"code": "task"}),
    "participate/tasks/<str:code>/<str:action>/": A(
        SIGNED_IN, args={"code": "task", "action": "=take"}
    ),
    "participate/me/": S,
    "participate/me/<str:action>/": A(SIGNED_IN, args={"action": "=report"}),
    "participate/participants/": A("participation.read"),
    "participate/participants/<int:pk>/<str:action>/": A(
        "participation.manage", obj=True, args={"pk": "participant", "action": "=confirm"}
    ),
    "participate/figures/": A("participation.read"),
    "participate/organisations/": P,
    "participate/organisations/new/": S,  # anyone may register an organisation for review
    "participate/organisations/<str:code>/": A(PUBLIC, args={"code": "=NOPE"}, absent=True),
    "participate/organisations/<str:code>/<str:action>/": A(
        "participation.manage", args={"code": "=NOPE", "action": "=approve"}, absent=True
    ),
    "participate/consultations/": P,
    "participate/consultations/new/": A("participation.manage"),
    "participate/consultations/<str:code>/": A(PUBLIC, args={"code": "consultation"}),
    "participate/consultations/<str:code>/map.json": A(PUBLIC, args={"code": "consultation"}),
    "participate/consultations/<str:code>/documents/<int:pk>/": A(
        PUBLIC, args={"code": "consultation", "pk": "=999999"}, absent=True
    ),
    "participate/consultations/<str:code>/comment/": A(SIGNED_IN, args={"code": "consultation"}),
    "participate/consultations/<str:code>/comments/<int:pk>/support/": A(
        SIGNED_IN, args={"code": "consultation", "pk": "comment"}
    ),
    "participate/consultations/<str:code>/<slug:action>/": A(
        "participation.manage", obj=True, args={"code": "consultation", "action": "=close"}
    ),
    "participate/suggestions/": P,
    "participate/suggestions/new/": S,
    "participate/suggestions/work/": A("participation.read"),
    "participate/suggestions/<str:code>/": A(PUBLIC, args={"code": "suggestion"}),
    "participate/suggestions/<str:code>/support/": A(SIGNED_IN, args={"code": "suggestion"}),
    "participate/suggestions/<str:code>/answer/": A(
        "participation.manage", obj=True, args={"code": "suggestion"}
    ),
    "participate/suggestions/<str:code>/close/": A(
        "participation.manage", obj=True, args={"code": "suggestion"}
    ),
    "participate/suggestions/<str:code>/reassign/": A(
        "participation.manage", obj=True, args={"code": "suggestion"}
    ),
    "participate/moderation/": A("participation.moderate"),
    "participate/moderation/report/<str:target>/<int:target_id>/": A(
        SIGNED_IN, args={"target": "=comment", "target_id": "comment"}
    ),
    "participate/moderation/<str:target>/<int:target_id>/<str:action>/": A(
        "participation.moderate",
        args={"target": "=comment", "target_id": "comment", "action": "=hide"},
    ),
}

# Minimal valid bodies of writes that check their input before the caller's right: without
# them a refused caller would be stopped by validation and the permission never reached.
# ``"@name"`` is the home or away object's value of ``name`` in the test world.
APPEAL_BODY = {
    "city": "T",
    "text": "The lift in building 3 is broken again",
    "lat": 0.5,
    "lon": 0.5,
}
RISK_BODY = {
    "city": "T",
    "title": "Lifts failing",
    "level": "yellow",
    "owner_unit": "T-D1-HOUSING",
    "deadline": "2099-01-01T00:00:00+00:00",
    "area": "T-D1",
}
DATASET_BODY = {
    "owner_unit": "T-MARKET",
    "code": "mx-new-dataset",
    "title_en": "Shop inspections",
    "title_zh": "商铺检查",
    "domain": "health",
    "frequency": "monthly",
    "sharing": "conditional",
}
DISPUTE_BODY = {
    "title": "Water leaking through the ceiling",
    "summary": "The flat above leaks; the neighbours disagree on who pays.",
    "type": "neighbour",
    "area": "T-D1-S1-C1",
    "parties": [
        {"side": "applicant", "name": "Wang Fang", "area": "T-D1-S1-C1"},
        {"side": "respondent", "name": "Li Lei", "area": "T-D1-S1-C1"},
    ],
}

# -- the JSON API -------------------------------------------------------------------------------

API: dict[str, Access] = {
    "GET /api/levels": REFERENCE,
    "GET /api/jurisdictions": REFERENCE,
    "GET /api/jurisdictions/{code}": A("reference.read", args={"code": "jurisdiction"}),
    "GET /api/locate": A("reference.read", query="lat=0.5&lon=0.5"),
    "GET /api/gazetteer": A("reference.read", query="text=Oak"),
    "GET /api/matters": REFERENCE,
    "GET /api/matters/{code}": A("reference.read", args={"code": "=T-M1-1-1"}),
    "GET /api/me": S,
    "GET /api/units": A("units.read", rows=True),
    "GET /api/units/{code}": A("units.read", obj=True, args={"code": "unit"}, but=UNIT_BLIND),
    "GET /api/people": A("people.read", rows=True, also=[R.RESIDENT]),  # one's own record
    "GET /api/responsibilities": A("responsibility.read", rows=True),
    "GET /api/audit/verify": A("audit.read"),
    "GET /api/audit/entries": A("audit.read"),
    "POST /api/appeals": A(SIGNED_IN, keys="appeals.submit", body=APPEAL_BODY),
    # Residents list and read their own appeals (the home appeal is the resident caller's).
    "GET /api/appeals": A("appeals.read", rows=True, also=[R.RESIDENT]),
    "GET /api/appeals/{ticket}": A(
        "appeals.read", obj=True, args={"ticket": "ticket"}, but=UNIT_BLIND, also=[R.RESIDENT]
    ),
    "POST /api/appeals/{ticket}/actions/{action}": A(
        "appeals.read",
        obj=True,
        keys="appeals.handle",
        args={"ticket": "ticket", "action": "=internal_note"},
        body={"note": "checked"},
        # Internal notes are the handling side's: not the hotline, analysts or auditors.
        but=[*UNIT_BLIND, R.HOTLINE_OPERATOR, R.ANALYST, R.AUDITOR],
    ),
    "GET /api/track/{token}": A(PUBLIC, obj=True, away_too=True, args={"token": "token"}),
    "POST /api/track/{token}/rate": A(PUBLIC, obj=True, away_too=True, args={"token": "token"}),
    "POST /api/track/{token}/info": A(PUBLIC, obj=True, away_too=True, args={"token": "token"}),
    "GET /api/assessment": A("assessment.read"),
    "GET /api/risk/alerts": A("risk.read"),
    "GET /api/risk/alerts/{pk}": A("risk.read", obj=True, args={"pk": "alert"}),
    "POST /api/risk/alerts/{pk}/{action}": A(
        "risk.manage", obj=True, args={"pk": "alert", "action": "=acknowledge"}
    ),
    "GET /api/risk/risks": A("risk.read"),
    # The new risk is D1 housing's: the street office's leader does not reach it.
    "POST /api/risk/risks": A("risk.manage", body=RISK_BODY, but=[R.UNIT_LEADER]),
    "GET /api/risk/risks/{code}": A(
        "risk.read", obj=True, args={"code": "risk"}, but=[R.UNIT_LEADER]
    ),
    "POST /api/risk/risks/{code}/{action}": A(
        "risk.manage", obj=True, args={"code": "risk", "action": "=update"}, but=[R.UNIT_LEADER]
    ),
    "GET /api/hub/datasets": A("hub.browse"),
    # A dataset is made by its owner's stewards or the owner's own key: the new one is the
    # market bureau's, which D1's administrator and keys (acting for D1's centre) are not.
    "POST /api/hub/datasets": A(
        "hub.manage", body=DATASET_BODY, but=[R.ADMINISTRATOR], keys=NO_KEYS
    ),
    "GET /api/hub/datasets/{code}": A("hub.browse", args={"code": "dataset"}, city=True),
    "PATCH /api/hub/datasets/{code}": A("hub.manage", args={"code": "dataset"}),
    "GET /api/hub/datasets/{code}/schemas": A("hub.browse", args={"code": "dataset"}, city=True),
    "PUT /api/hub/datasets/{code}/schema": A("hub.manage", args={"code": "dataset"}),
    "POST /api/hub/datasets/{code}/records": A("hub.manage", args={"code": "dataset"}),
    "GET /api/hub/datasets/{code}/records": A(
        SUPERUSER, also=[R.DATA_STEWARD], args={"code": "dataset"}
    ),
    "GET /api/hub/datasets/{code}/batches": OWNER_MANAGES,
    "GET /api/hub/batches/{pk}": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "GET /api/hub/batches/{pk}/quarantine": A("hub.manage", args={"pk": "=999999"}, absent=True),
    "GET /api/hub/datasets/{code}/usage": OWNER_MANAGES,
    "GET /api/hub/grants": A("hub.browse"),
    "POST /api/hub/grants": A("hub.request", keys=NO_KEYS),
    "GET /api/hub/grants/{pk}": GRANT_READ,
    "POST /api/hub/grants/{pk}/{action}": A(
        "hub.decide",
        obj=True,
        keys=NO_KEYS,
        args={"pk": "grant", "action": "=approve"},
        # Both grants ask for the market bureau's dataset: its steward decides them; D1's
        # administrator and the street office's leader are no deciders of it.
        but=[R.ADMINISTRATOR, R.UNIT_LEADER],
        away_also=[R.DATA_STEWARD],
        body={"version": "@grant_version", "note": "agreed"},
    ),
    "GET /api/mediation/disputes": A("disputes.read"),
    "POST /api/mediation/disputes": A("disputes.register", body=DISPUTE_BODY),
    "GET /api/mediation/disputes/{code}": A(
        "disputes.read", obj=True, args={"code": "dispute"}, but=DISPUTE_BLIND
    ),
    # Accepting is the committee's mediators' step.
    "POST /api/mediation/disputes/{code}/{action}": A(
        "disputes.mediate",
        obj=True,
        args={"code": "dispute", "action": "=accept"},
        but=[R.DISPATCHER, R.UNIT_LEADER],
    ),
    "GET /api/mediation/figures": A("disputes.figures"),
    "GET /api/participation/organisations": P,
    "GET /api/participation/organisations/{code}": A(
        "participation.read", args={"code": "=NOPE"}, absent=True
    ),
    "GET /api/participation/tasks": P,
    "POST /api/participation/tasks": A("participation.manage"),
    "GET /api/participation/tasks/{code}": A(PUBLIC, args={"code": "task"}),
    # Only confirmed volunteers take tasks; none of the callers is one.
    "POST /api/participation/tasks/{code}/take": A(NOBODY, keys=NO_KEYS, args={"code": "task"}),
    "POST /api/participation/tasks/{code}/withdraw": A(
        SIGNED_IN, keys=NO_KEYS, args={"code": "task"}
    ),
    "POST /api/participation/tasks/{code}/complete": A(
        "participation.manage", obj=True, args={"code": "task"}
    ),
    # No caller has reported to a community: 404 "no record" for every person.
    "GET /api/participation/participants/me": A(SIGNED_IN, keys=NO_KEYS, absent=True),
    "GET /api/participation/figures": A("participation.read"),
    "GET /api/participation/consultations": P,
    "POST /api/participation/consultations": A("participation.manage"),
    "GET /api/participation/consultations/{code}": A(PUBLIC, args={"code": "consultation"}),
    "GET /api/participation/consultations/{code}/comments": A(
        PUBLIC, args={"code": "consultation"}
    ),
    "POST /api/participation/consultations/{code}/comments": A(
        SIGNED_IN, args={"code": "consultation"}
    ),
    "POST /api/participation/consultations/{code}/comments/{pk}/support": A(
        SIGNED_IN, keys=NO_KEYS, args={"code": "consultation", "pk": "comment"}
    ),
    "POST /api/participation/consultations/{code}/{action}": A(
        "participation.manage", obj=True, args={"code": "consultation", "action": "=close"}
    ),
    "GET /api/participation/suggestions": P,
    "POST /api/participation/suggestions": S,
    "GET /api/participation/suggestions/{code}": A(PUBLIC, args={"code": "suggestion"}),
    "POST /api/participation/suggestions/{code}/support": A(
        SIGNED_IN, keys=NO_KEYS, args={"code": "suggestion"}
    ),
    "POST /api/participation/suggestions/{code}/answer": A(
        "participation.manage",
        obj=True,
        args={"code": "suggestion"},
        body={"answer": "We will look at it."},
    ),
    "POST /api/participation/suggestions/{code}/close": A(
        "participation.manage",
        obj=True,
        args={"code": "suggestion"},
        body={"reason": "Done elsewhere."},
    ),
    "POST /api/participation/suggestions/{code}/reassign": A(
        "participation.manage",
        obj=True,
        args={"code": "suggestion"},
        body={"unit": "T-D1-HOUSING", "reason": "Theirs."},
    ),
    "POST /api/participation/reports": S,
    "GET /api/participation/moderation": A("participation.moderate"),
    "POST /api/participation/moderation/{target}/{target_id}/{action}": A(
        "participation.moderate",
        args={"target": "=comment", "target_id": "comment", "action": "=hide"},
    ),
}

# -- the admin ----------------------------------------------------------------------------------

# Every admin URL goes through AdminSite.admin_view: staff only, then the model permissions.
# The sign-in and sign-out pages are open; the others are declared here as one rule because
# Django adds them for every registered model (a new model's pages are covered at once).
ADMIN_OPEN = {"admin/login/", "admin/logout/"}
ADMIN_VALUES = {
    "object_id": "=1",
    "id": "=1",
    "app_label": "=org",
    "content_type_id": "=1",
    "url": "=nothing",
}
# The superuser's answers vary by model (read-only admins refuse add and delete): not judged.
ADMIN = A(SUPERUSER, args=ADMIN_VALUES, absent=True, free=["superuser"])
ADMIN_PUBLIC = A(PUBLIC, args=ADMIN_VALUES)


def entry_for(endpoint: str) -> Access | None:
    if is_api(endpoint):
        return API.get(endpoint)
    if endpoint.startswith("admin/"):
        return ADMIN_PUBLIC if endpoint in ADMIN_OPEN else ADMIN
    return PAGES.get(endpoint)


def declared() -> list[str]:
    return [*PAGES, *API]


# -- reading an entry ---------------------------------------------------------------------------


def variants(entry: Access) -> list[str]:
    return ["home", "away"] if entry.obj else ["home"]


def methods(entry: Access, endpoint: str) -> list[str]:
    if is_api(endpoint):
        return [endpoint.split(" ", 1)[0]]
    if endpoint.startswith("admin/"):
        return ["GET"]  # AdminSite.admin_view checks staff before any method is looked at
    return ["GET", "POST"]


_PARAM = re.compile(r"\{([a-zA-Z_]+)\}|<(?:[a-z]+:)?([a-zA-Z_]+)>|\(\?P<([a-zA-Z_]+)>")


def url_values(entry: Access, world: dict[str, Any], variant: str, endpoint: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for m in _PARAM.finditer(endpoint):
        name = m.group(1) or m.group(2) or m.group(3)
        spec = entry.args.get(name)
        if spec is None:
            raise KeyError(f"{endpoint}: say in authz_table.py what fills <{name}>")
        values[name] = spec[1:] if spec.startswith("=") else world[variant][spec]
    return values


def body(entry: Access, world: dict[str, Any], variant: str) -> Any:
    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            return world[variant][value[1:]]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return fill(entry.body)


def _key_actions(caller: str) -> tuple[set[str], str]:
    """The actions a test key holds, and what it acts for: "unit", "other-city", "none"."""
    name = caller.split(":", 1)[1]
    if name == "revoked":
        return set(), "unit"
    if name == "none":
        return set(), "unit"
    everything = set().union(*API_KEY_SCOPES.values())
    if name in {"other-city", "all"}:
        return everything, name
    if name == "no-unit":
        return everything & {"reference.read", "appeals.submit"}, "none"
    return set(API_KEY_SCOPES[name]), "unit"


def allowed(entry: Access, caller: str, variant: str, api: bool) -> bool:
    """Should ``caller`` get through to ``entry`` (for the home or the away object)?"""
    who = entry.who
    if caller.startswith("key:") and not api:
        caller = "anon"  # pages answer sessions only: a key is nobody there
    if who == PUBLIC:
        if variant == "away" and not entry.away_too:
            return caller == "superuser"
        return True
    if caller == "anon":
        return False
    if caller.startswith("key:"):
        return _key_allowed(entry, caller, variant)
    if caller == "superuser":
        return who != NOBODY
    role = caller.split(":", 1)[1]
    if variant == "away" and not entry.away_too:
        return role in entry.away_also
    if role in entry.also:
        return True
    if who == SIGNED_IN:
        return True
    if who in {SUPERUSER, NOBODY}:
        return False
    if role in entry.but:
        return False
    if who == STAFF_ONLY:
        return role != Role.RESIDENT
    return role in PERMISSIONS[who]


def _key_allowed(entry: Access, caller: str, variant: str) -> bool:
    name = caller.split(":", 1)[1]
    if name == "revoked":
        return False
    action = entry.keys or entry.who
    if action in {NO_KEYS, SUPERUSER, NOBODY, STAFF_ONLY}:
        return False
    held, acts_for = _key_actions(caller)
    if acts_for == "other-city" and (entry.obj or entry.city):
        return False
    if action == SIGNED_IN:
        return True
    if action not in held:
        return False
    return not (entry.obj and variant == "away" and not entry.away_too)
