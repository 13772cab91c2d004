"""Routing learned from history: who actually handled which matter where.

``train(city=..., by=...)`` learns from the city's finished cases — resolved, under review or
closed, whose lead assignment was accepted or done — the unit that handled each matter at
each place. The keys run from the most specific to the most general: the case's matter with
the deepest place of its jurisdiction path up to the city, then the matter's parent with
the same places, and so on (``understanding.history`` smooths and weights by recency). The
model is scored on the newest fifth of the cases after learning from the older ones, beside
the responsibility list's own accuracy on the same cases, and saved with the model store.

``route(appeal)`` is a router for ``CIVITAS_ROUTER``: the list's guards come first (no matter,
not located, several districts named, an entry reserved to the city: the centre decides);
then the learned unit when the model is at least ``CIVITAS_ROUTE_MIN_CONFIDENCE`` sure and the
unit is active and in the city; otherwise the responsibility list (``dispatch.routing``). A
missing or damaged model file is logged and the list routes: never an error for the resident.

``proposals(city)`` compares history with the list: entries the list lacks or contradicts,
each with the cases it would apply to, how many of them it would have sent to the unit that
handled them, the same for the list as it stands and the entry it would take precedence
over. ``accept(...)`` writes one through ``org.services.save_responsibility`` (a revision and
an audit entry); only the city's administrators may.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal, Assignment, Status
from civitas.dispatch import routing as list_routing
from civitas.dispatch.routing import Decision
from civitas.geo.models import Jurisdiction, Level
from civitas.kit import clock
from civitas.kit.errors import InvalidInput, NotFound
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRule, Unit
from civitas.understanding import store
from civitas.understanding.history import Example, HistoryLearner, Prediction
from civitas.understanding.models import ModelKind, ModelVersion

log = logging.getLogger(__name__)

KIND = ModelKind.ROUTER.value
HALF_LIFE_DAYS = 60.0
ALPHA = 2.0
HOLDOUT_SHARE = 0.2
MIN_HOLDOUT = 10
FINISHED = (Status.RESOLVED, Status.REVIEW, Status.CLOSED)
HANDLED = (Assignment.State.ACCEPTED, Assignment.State.DONE)


def min_confidence() -> float:
    return float(getattr(settings, "CIVITAS_ROUTE_MIN_CONFIDENCE", 0.8))


def _codes(path: str) -> tuple[str, ...]:
    return tuple(c for c in (path or "").strip("/").split("/") if c)


@dataclass(frozen=True)
class Case:
    """A finished case as routing learns from it: codes from the root down."""

    matter: tuple[str, ...]  # matter path codes, catalogue root → the case's matter
    place: tuple[str, ...]  # jurisdiction path codes, city → the case's jurisdiction
    unit: str  # code of the unit that handled it
    received_at: datetime | None = None


# -- the model ---------------------------------------------------------------------------------


class HistoryRouter:
    """Keys of a case for the learner, and the learner. Pure and picklable."""

    def __init__(self, city: str, matter_depths: int, place_depths: int, level_codes: list[str]):
        self.city = city
        self.matter_depths = max(1, matter_depths)  # matter depths 0 .. matter_depths-1
        self.place_depths = max(1, place_depths)  # place depths 0 (city) .. place_depths-1
        self.level_codes = level_codes  # level code of each place depth (for names)
        self.levels: list[tuple[int, int]] = [
            (k, d)
            for k in range(self.matter_depths - 1, -1, -1)
            for d in range(self.place_depths - 1, -1, -1)
        ]
        names = [
            f"matter@{k}×{level_codes[d] if d < len(level_codes) else d}" for k, d in self.levels
        ]
        self.learner = HistoryLearner(names, half_life_days=HALF_LIFE_DAYS, alpha=ALPHA)

    def keys(self, matter: Sequence[str], place: Sequence[str]) -> list[tuple[str, ...] | None]:
        out: list[tuple[str, ...] | None] = []
        for k, d in self.levels:
            if k >= len(matter) or d >= len(place):
                out.append(None)
            elif d == 0:
                out.append((matter[k],))
            else:
                out.append((matter[k], place[d]))
        return out

    def fit(self, cases: Iterable[Case]) -> HistoryRouter:
        self.learner.fit(
            Example(self.keys(c.matter, c.place), c.unit, c.received_at) for c in cases
        )
        return self

    def predict(self, matter: Sequence[str], place: Sequence[str]) -> Prediction:
        return self.learner.predict(self.keys(matter, place))

    def describe(self, prediction: Prediction, matter: Sequence[str], place: Sequence[str]) -> str:
        if prediction.level_used is None:
            return "all cases of the city"
        k, d = self.levels[prediction.level_used]
        where = place[d] if d > 0 else self.city
        return f"{matter[k]} in {where}"


# -- reading history ---------------------------------------------------------------------------


def finished_cases(city: str, since: datetime | None = None) -> list[Case]:
    """The city's finished cases and the unit that handled each (the last accepted lead)."""
    qs = Assignment.objects.filter(
        role=Assignment.Role.LEAD,
        state__in=HANDLED,
        appeal__city=city,
        appeal__status__in=FINISHED,
        appeal__matter__isnull=False,
        appeal__jurisdiction__isnull=False,
        appeal__duplicate_of__isnull=True,
    )
    if since is not None:
        qs = qs.filter(appeal__received_at__gte=since)
    rows = qs.order_by("appeal_id", "dispatched_at", "id").values_list(
        "appeal_id",
        "unit__code",
        "appeal__matter__path",
        "appeal__jurisdiction__path",
        "appeal__received_at",
    )
    last: dict[int, Case] = {}
    for appeal_id, unit, matter_path, place_path, received in rows.iterator(chunk_size=5000):
        last[appeal_id] = Case(_codes(matter_path), _codes(place_path), unit, received)
    return sorted(last.values(), key=lambda c: (c.received_at is None, c.received_at))


def _shape(city: str) -> tuple[int, int, list[str]]:
    matter_depth = (
        Matter.objects.filter(catalogue=city).order_by("-depth").values_list("depth", flat=True)
    ).first()
    places = Jurisdiction.objects.filter(path__startswith=f"/{city}/", level__overlay=False)
    place_depth = places.order_by("-depth").values_list("depth", flat=True).first()
    depths = place_depth or 0
    level_codes = []
    for d in range(depths + 1):
        code = places.filter(depth=d).values_list("level__code", flat=True).first()
        level_codes.append(code or str(d))
    return (matter_depth or 0) + 1, depths + 1, level_codes


# -- the responsibility list, read in memory ---------------------------------------------------


Resolved = tuple[str | None, int | None]  # (unit code, entry id)


class ListView:
    """The city's responsibility list applied to many (matter, place) pairs at once.

    It follows ``dispatch.routing.route`` after its guards (which depend on the case's text
    and are not part of history): the entries of the matter and its ancestors, the deepest
    matter first, then an entry restricted to a jurisdiction containing the case, then the
    lowest level; a unit named by the entry if active, else the entry's department type at
    the case's ancestor of the entry's level. A test keeps the two in agreement."""

    def __init__(self, city: str) -> None:
        self.city = city
        self.rules: dict[str, list[ResponsibilityRule]] = defaultdict(list)
        for r in ResponsibilityRule.objects.filter(city=city, active=True).select_related(
            "matter", "level", "jurisdiction", "unit"
        ):
            self.rules[r.matter.code].append(r)
        self.places = {
            j.code: (j.level_id, j.level.rank, j.path)
            for j in Jurisdiction.objects.filter(path__startswith=f"/{city}/").select_related(
                "level"
            )
        }
        self.typed: dict[tuple[str, str], str] = {}
        for u in (
            Unit.objects.filter(city=city, active=True)
            .exclude(department_type="")
            .select_related("jurisdiction")
            .order_by("-kind", "-code")  # the first by (kind, code) is written last
        ):
            self.typed[(u.jurisdiction.code, u.department_type)] = u.code
        self._memo: dict[
            tuple[tuple[str, ...], tuple[str, ...]], tuple[str | None, int | None]
        ] = {}

    def resolve(self, matter: Sequence[str], place: Sequence[str]) -> tuple[str | None, int | None]:
        """(unit code, entry id) the list gives; (None, id) for an entry reserved to the city."""
        key = (tuple(matter), tuple(place))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._resolve(matter, place)
        return hit

    def _resolve(
        self, matter: Sequence[str], place: Sequence[str]
    ) -> tuple[str | None, int | None]:
        rules = [r for code in matter for r in self.rules.get(code, ())]
        reserved = next((r for r in rules if r.city_coordinates), None)
        if reserved is not None:
            return None, reserved.pk
        known = self.places.get(place[-1]) if place else None
        if known is None:
            return None, None
        _level, case_rank, case_path = known
        for rule in list_routing.applicable(rules, case_rank, case_path):
            if rule.unit is not None:
                if rule.unit.active:
                    return rule.unit.code, rule.pk
                continue
            anchors = [c for c in place if self.places.get(c, (None,))[0] == rule.level_id]
            unit = self.typed.get((anchors[0], rule.unit_type)) if anchors else None
            if unit is not None:
                return unit, rule.pk
        return None, None


# -- training ----------------------------------------------------------------------------------


def _score(model: HistoryRouter, test: Sequence[Case], listed: ListView) -> dict[str, Any]:
    threshold = min_confidence()
    right = sure = sure_right = list_right = 0
    for c in test:
        p = model.predict(c.matter, c.place)
        ok = p.label == c.unit
        right += ok
        if p.confidence >= threshold:
            sure += 1
            sure_right += ok
        list_right += listed.resolve(c.matter, c.place)[0] == c.unit
    n = len(test)
    return {
        "protocol": f"learn from the older {1 - HOLDOUT_SHARE:.0%}, score the newest "
        f"{HOLDOUT_SHARE:.0%} of finished cases",
        "n_test": n,
        "accuracy": round(right / n, 4),
        "threshold": threshold,
        "share_confident": round(sure / n, 4),
        "accuracy_confident": round(sure_right / sure, 4) if sure else None,
        "list_accuracy": round(list_right / n, 4),
    }


def build(city: str, cases: Sequence[Case]) -> HistoryRouter:
    depths, places, level_codes = _shape(city)
    return HistoryRouter(city, depths, places, level_codes).fit(cases)


def train(*, city: str, by: Any, activate: bool | None = None) -> ModelVersion:
    """Learn from the city's finished cases and save a new version of its router.

    ``activate=None`` activates the new version unless it scores clearly worse on its newest
    cases than the active one did on its own (accuracy lower by more than 0.02)."""
    if not Jurisdiction.objects.filter(code=city, parent__isnull=True).exists():
        raise NotFound(_("no city with code %(city)s") % {"city": repr(city)})
    cases = finished_cases(city)
    if not cases:
        raise InvalidInput(
            _(
                "%(city)s has no finished cases with a matter, a place and the unit that "
                "handled them yet; routing cannot be learned"
            )
            % {"city": city}
        )
    scores: dict[str, Any] = {}
    n_test = int(len(cases) * HOLDOUT_SHARE)
    if n_test >= MIN_HOLDOUT:
        scores = _score(build(city, cases[:-n_test]), cases[-n_test:], ListView(city))
    model = build(city, cases)
    units = Counter(c.unit for c in cases)
    summary = {
        "n_train": len(cases),
        "n_units": len(units),
        "first_case": cases[0].received_at.isoformat() if cases[0].received_at else None,
        "last_case": cases[-1].received_at.isoformat() if cases[-1].received_at else None,
        "levels": list(model.learner.levels),
        "half_life_days": HALF_LIFE_DAYS,
        "alpha": ALPHA,
        "trained_at": clock.now().isoformat(),
        "per_unit": dict(units.most_common(50)),
    }
    return store.save(
        kind=KIND,
        city=city,
        obj=model,
        summary=summary,
        scores=scores,
        by=by,
        activate=activate,
        metric="accuracy",
    )


# -- the router --------------------------------------------------------------------------------


def _held_by_list(appeal: Appeal) -> bool:
    """The list's own guards: the centre decides, whatever history says."""
    if appeal.matter_id is None or appeal.jurisdiction_id is None:
        return True
    if len(list_routing._districts_named(appeal)) > 1:
        return True
    codes = _codes(appeal.matter.path)  # type: ignore[union-attr]
    return ResponsibilityRule.objects.filter(
        city=appeal.city, active=True, city_coordinates=True, matter__code__in=codes
    ).exists()


def _mark(appeal: Appeal, method: str, confidence: float | None) -> None:
    appeal.route_method, appeal.route_confidence = method, confidence
    if appeal.pk is not None:
        Appeal.objects.filter(pk=appeal.pk).update(route_method=method, route_confidence=confidence)


def _from_history(appeal: Appeal) -> tuple[Decision | None, str]:
    """The learned decision, or None and why history was not used."""
    try:
        loaded = store.load(KIND, appeal.city)
    except store.ModelUnavailable as exc:
        log.error("routing model unavailable, the responsibility list routes: %s", exc)
        return None, "routing model unavailable"
    if loaded is None:
        return None, "no routing model trained"
    mv, model = loaded
    matter = _codes(appeal.matter.path)  # type: ignore[union-attr]
    place = _codes(appeal.jurisdiction.path)  # type: ignore[union-attr]
    p = model.predict(matter, place)
    if p.label is None or p.level_used is None:
        return None, f"{mv.label} has no history for this matter"
    basis = model.describe(p, matter, place)
    numbers = (
        f"{p.label} handled {p.count} of {p.support} cases of {basis} "
        f"(recent share {p.share:.2f}, confidence {p.confidence:.2f}, {mv.label})"
    )
    threshold = min_confidence()
    if p.confidence < threshold:
        return None, f"history unsure: {numbers} < {threshold:.2f}"
    unit = Unit.objects.filter(code=p.label, city=appeal.city, active=True).first()
    if unit is None:
        return None, f"history names {p.label}, which is not an active unit of {appeal.city}"
    return Decision(unit, f"learned from history: {numbers}", None, p.confidence), ""


def route(appeal: Appeal) -> Decision:
    """The history router (set ``CIVITAS_ROUTER = "civitas.understanding.routing.route"``)."""
    if _held_by_list(appeal):
        decision = list_routing.route(appeal)
        _mark(appeal, "list" if decision.unit is not None else "", None)
        return decision
    learned, why_not = _from_history(appeal)
    if learned is not None:
        _mark(appeal, "history", learned.confidence)
        return learned
    decision = list_routing.route(appeal)
    _mark(appeal, "list" if decision.unit is not None else "", None)
    return Decision(decision.unit, f"{decision.reason} ({why_not})", decision.rule_id, None)


# -- proposals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A responsibility-list entry implied by history."""

    id: str
    city: str
    matter: str  # matter code
    level: str  # level code
    jurisdiction: str | None  # "only within" this jurisdiction, or the whole city
    unit_type: str  # department type at the case's ancestor of ``level`` ...
    unit: str | None  # ... or this unit
    support: int  # finished cases the entry would apply to
    agree: int  # of which handled by the unit the entry names
    list_agree: int  # of which the list as it stands sends to the unit that handled them
    current_rule: int | None  # the entry the list uses for most of these cases
    kind: str  # for most of these cases the list names "missing": nobody; "refines": the
    # parent unit of the one that handled them; "contradicts": another unit

    @property
    def share(self) -> float:
        return self.agree / self.support if self.support else 0.0

    @property
    def list_share(self) -> float:
        return self.list_agree / self.support if self.support else 0.0

    @property
    def gain(self) -> int:
        return self.agree - self.list_agree

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(share=round(self.share, 4), list_share=round(self.list_share, 4))
        return d


def _proposal_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:10]


@dataclass
class _Candidate:
    matter: str
    level: str
    jurisdiction: str | None
    unit_type: str
    unit: str | None
    cases: list[int]
    targets: list[str]  # the unit the entry gives for each case


def proposals(
    city: str,
    *,
    min_support: int = 10,
    min_share: float = 0.8,
    margin: float = 0.1,
    days: int = 365,
) -> list[Proposal]:
    """Entries implied by the last ``days`` of finished cases that the list lacks or
    contradicts: each would have sent at least ``min_share`` of at least ``min_support``
    cases to the unit that handled them, and ``margin`` more of them than the list does.
    The most general matter and the most general form (a department type at a level before
    a unit within a jurisdiction) come first; an entry that adds nothing to one already
    proposed is left out. Sorted by how many more cases would have gone right."""
    since = clock.now() - timedelta(days=days)
    cases = finished_cases(city, since=since)
    if not cases:
        return []
    units: dict[str, tuple[str, str]] = {}
    parents: dict[str, str] = {}
    for u in Unit.objects.filter(city=city).select_related("jurisdiction", "parent"):
        units[u.code] = (u.department_type, u.jurisdiction.code)
        if u.parent is not None:
            parents[u.code] = u.parent.code
    level_of: dict[str, str] = {}
    depth_of_place: dict[str, int] = {}
    place_paths: dict[str, str] = {}
    for code, level_code, depth, path in Jurisdiction.objects.filter(
        path__startswith=f"/{city}/"
    ).values_list("code", "level__code", "depth", "path"):
        level_of[code], depth_of_place[code], place_paths[code] = level_code, depth, path
    root_level = level_of.get(city, "")
    listed = ListView(city)
    list_units = [listed.resolve(c.matter, c.place) for c in cases]

    # Matters whose cases all come through one child say nothing the child does not.
    branches: dict[str, set[str]] = defaultdict(set)
    for c in cases:
        for k, m in enumerate(c.matter):
            branches[m].add(c.matter[k + 1] if k + 1 < len(c.matter) else "")
    matters_kept = {m for m, nxt in branches.items() if len(nxt) > 1 or "" in nxt}

    # Cases a typed entry (matter, level, only within) would apply to, and per (matter, place).
    typed: dict[tuple[str, str, str | None], list[int]] = defaultdict(list)
    within: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        for m in c.matter:
            if m not in matters_kept:
                continue
            for d, code in enumerate(c.place):
                within[(m, code)].append(i)
                if d == 0 or code not in level_of:
                    continue
                for r in range(d):
                    typed[(m, level_of[code], None if r == 0 else c.place[r])].append(i)

    candidates: list[_Candidate] = []
    for (m, level, restrict), idx in typed.items():
        if len(idx) < min_support:
            continue
        anchors = [_anchor(cases[i].place, level, level_of) for i in idx]
        votes: Counter[str] = Counter()
        for i, anchor in zip(idx, anchors, strict=True):
            dtype, where = units.get(cases[i].unit, ("", ""))
            if dtype and where == anchor:
                votes[dtype] += 1
        if not votes or len(set(anchors)) < 2:
            continue  # a pattern seen at one place is that place's unit (below)
        below = 1 if restrict is None else depth_of_place.get(restrict, 0) + 1
        if below < _depth_of_level(level, cases[idx[0]].place, level_of) and _one_child(
            cases, idx, below
        ):
            continue  # the same entry restricted to that one child says it more honestly
        dtype, _n = votes.most_common(1)[0]
        targets = [listed.typed.get((a, dtype), "") for a in anchors]
        candidates.append(_Candidate(m, level, restrict, dtype, None, idx, targets))
    unit_paths = {u.code: u.jurisdiction.path for u in Unit.objects.filter(city=city)}
    for (m, code), idx in within.items():
        if len(idx) < min_support:
            continue
        unit, _n = Counter(cases[i].unit for i in idx).most_common(1)[0]
        above_unit = not place_paths.get(code, "").startswith(unit_paths.get(unit, "\0"))
        if above_unit and _one_child(cases, idx, depth_of_place.get(code, 0) + 1):
            continue  # evidence from one part of the place only: narrow it
        restrict = None if code == city else code
        level = root_level if restrict is None else level_of.get(code, "")
        candidates.append(_Candidate(m, level, restrict, "", unit, idx, [unit] * len(idx)))

    depth_of_matter = {m: d for c in cases for d, m in enumerate(c.matter)}
    candidates.sort(
        key=lambda c: (
            depth_of_matter.get(c.matter, 0),
            c.unit is not None,
            0 if c.jurisdiction is None else depth_of_place.get(c.jurisdiction, 0),
            c.matter,
            c.level,
            c.jurisdiction or "",
        )
    )
    covered: dict[int, str] = {}
    out: list[Proposal] = []
    for cand in candidates:
        agree = sum(1 for i, t in zip(cand.cases, cand.targets, strict=True) if t == cases[i].unit)
        support = len(cand.cases)
        if agree < min_share * support:
            continue
        list_agree = sum(1 for i in cand.cases if list_units[i][0] == cases[i].unit)
        if agree - list_agree < margin * support:
            continue
        same = sum(1 for i, t in zip(cand.cases, cand.targets, strict=True) if covered.get(i) == t)
        if same >= 0.9 * support:
            continue  # an entry already proposed does the same for these cases
        for i, t in zip(cand.cases, cand.targets, strict=True):
            covered.setdefault(i, t)
        rules = Counter(list_units[i][1] for i in cand.cases)
        current, _n = rules.most_common(1)[0]
        nobody = sum(1 for i in cand.cases if list_units[i][0] is None)
        parent = sum(
            1
            for i in cand.cases
            if list_units[i][0] is not None and parents.get(cases[i].unit) == list_units[i][0]
        )
        kind = (
            "missing"
            if nobody * 2 > support
            else ("refines" if parent * 2 > support else "contradicts")
        )
        out.append(
            Proposal(
                id=_proposal_id(
                    city, cand.matter, cand.level, cand.jurisdiction, cand.unit_type, cand.unit
                ),
                city=city,
                matter=cand.matter,
                level=cand.level,
                jurisdiction=cand.jurisdiction,
                unit_type=cand.unit_type,
                unit=cand.unit,
                support=support,
                agree=agree,
                list_agree=list_agree,
                current_rule=current,
                kind=kind,
            )
        )
    out.sort(key=lambda p: (-p.gain, -p.support, p.id))
    return out


def _anchor(place: Sequence[str], level: str, level_of: dict[str, str]) -> str:
    return next((code for code in place if level_of.get(code) == level), "")


def _depth_of_level(level: str, place: Sequence[str], level_of: dict[str, str]) -> int:
    return next((d for d, code in enumerate(place) if level_of.get(code) == level), 0)


def _one_child(cases: Sequence[Case], idx: Sequence[int], depth: int) -> bool:
    """Do all these cases lie in one and the same place at ``depth``?"""
    seen = {cases[i].place[depth] if depth < len(cases[i].place) else "" for i in idx}
    return len(seen) == 1 and "" not in seen


def find(city: str, proposal_id: str, **options: Any) -> Proposal:
    for p in proposals(city, **options):
        if p.id == proposal_id:
            return p
    raise NotFound(
        _(
            "no proposal %(id)s for %(city)s: history or the list changed since it was shown; "
            "look at the proposals again"
        )
        % {"id": proposal_id, "city": city}
    )


def may_review(actor: Any, city: str) -> bool:
    return access.can(actor, "responsibility.edit", path=f"/{city}/")


def accept(proposal: Proposal, actor: Any, reason: str = "") -> ResponsibilityRule:
    """Write the proposed entry: the active entry of the same matter, level and jurisdiction
    is changed (a new version), else a new entry is created. City administrators only; the
    command line (an actor given as a plain label) is trusted like other commands."""
    city = proposal.city
    if not isinstance(actor, str):
        access.require(actor, "responsibility.edit", path=f"/{city}/")
    matter = Matter.objects.filter(code=proposal.matter, catalogue=city).first()
    level = Level.objects.filter(code=proposal.level).first()
    jurisdiction = (
        Jurisdiction.objects.filter(code=proposal.jurisdiction).first()
        if proposal.jurisdiction
        else None
    )
    unit = Unit.objects.filter(code=proposal.unit, city=city).first() if proposal.unit else None
    if (
        matter is None
        or level is None
        or (proposal.jurisdiction and jurisdiction is None)
        or (proposal.unit and unit is None)
    ):
        raise NotFound(
            _("the matter, level, place or unit of proposal %(id)s no longer exists")
            % {"id": proposal.id}
        )
    evidence = _(
        "learned from history: %(agree)d of %(support)d finished cases handled as proposed "
        "(the list as it stood: %(list_agree)d)"
    ) % {"agree": proposal.agree, "support": proposal.support, "list_agree": proposal.list_agree}
    why = f"{reason.strip()} — {evidence}" if reason.strip() else evidence
    with transaction.atomic():
        existing = (
            ResponsibilityRule.objects.select_for_update()
            .filter(city=city, active=True, matter=matter, level=level, jurisdiction=jurisdiction)
            .first()
        )
        return org_services.save_responsibility(
            actor=actor,
            reason=why,
            matter=matter,
            level=level,
            city=city,
            jurisdiction=jurisdiction,
            unit_type=proposal.unit_type if unit is None else "",
            unit=unit,
            note=existing.note if existing else evidence,
            rule=existing,
        )
