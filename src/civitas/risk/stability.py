"""Social stability risk assessments (社会稳定风险评估): writes and reads.

An assessment of a major decision or project is a draft until it is put on record; a record
is never changed again (redoing it starts a new draft that supersedes it). It scores four
dimensions — legality (合法性), reasonableness (合理性), feasibility (可行性) and
controllability (可控性) — from 1 (serious risk) to 5 (no risk), each with findings in words,
and carries the public consultation: a summary, counted items (source, participants, for,
against, neutral, key concerns) and the appeals that concern the project, attached by ticket.

**The level rule** (``level_by_rule``), stated once here and on the pages:

* **high** when any dimension scores 2 or less, or at least 30% of the positions counted in
  the consultation are against;
* **medium** otherwise, when any dimension scores 3 or less, or at least 10% are against;
* **low** otherwise.

The opposition share is the sum of "against" over the sum of "for", "against" and "neutral"
across all consultation items (compared as exact fractions, so 3 of 10 is high). Without any
counted position there is no share and only the scores decide. The assessor may set another
level with a written reason; the level by the rule stays beside it. Medium and high need
measures before the assessment goes on record.

Every change is checked against the version the writer saw (two people editing one draft:
the second is told), and written to the audit chain in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.kit.models import AuditEntry
from civitas.org import access
from civitas.org.models import Unit
from civitas.risk import selectors
from civitas.risk.models import (
    RiskItem,
    StabilityAppeal,
    StabilityAssessment,
    StabilityLevel,
)

State = StabilityAssessment.State
OBJECT_TYPE = "risk.stability"

DIMENSIONS: tuple[str, ...] = ("legality", "reasonableness", "feasibility", "controllability")
DIMENSION_LABELS = {
    "legality": gettext_lazy("Legality"),
    "reasonableness": gettext_lazy("Reasonableness"),
    "feasibility": gettext_lazy("Feasibility"),
    "controllability": gettext_lazy("Controllability"),
}
DIMENSION_QUESTIONS = {
    "legality": gettext_lazy(
        "Is the decision within the deciding unit's powers, based on law and policy, and made "
        "by the required procedure?"
    ),
    "reasonableness": gettext_lazy(
        "Does it serve the public interest, weigh the interests of those affected fairly, and "
        "are compensation and standards consistent with comparable cases?"
    ),
    "feasibility": gettext_lazy(
        "Are the timing, funds and conditions in place, and do most of those affected accept it?"
    ),
    "controllability": gettext_lazy(
        "Can the risks to social stability it may cause be foreseen, prevented and handled, "
        "with plans ready for incidents?"
    ),
}
SCORE_MIN, SCORE_MAX = 1, 5

# The stated rule (see the module's docstring).
HIGH_MAX_SCORE = 2
MEDIUM_MAX_SCORE = 3
HIGH_OPPOSITION = Fraction(30, 100)
MEDIUM_OPPOSITION = Fraction(10, 100)

LEVEL_ORDER = {StabilityLevel.LOW: 1, StabilityLevel.MEDIUM: 2, StabilityLevel.HIGH: 3}
DECISIONS = {
    StabilityLevel.LOW: gettext_lazy("Proceed"),
    StabilityLevel.MEDIUM: gettext_lazy("Proceed with the measures"),
    StabilityLevel.HIGH: gettext_lazy("Do not proceed as planned"),
}
SHORT_LEVELS = {
    StabilityLevel.LOW: pgettext_lazy("stability level", "Low"),
    StabilityLevel.MEDIUM: pgettext_lazy("stability level", "Medium"),
    StabilityLevel.HIGH: pgettext_lazy("stability level", "High"),
}


class Source(models.TextChoices):
    """Where a consultation item was gathered."""

    NOTICE = "notice", gettext_lazy("Public notice")
    HEARING = "hearing", gettext_lazy("Hearing")
    SURVEY = "survey", gettext_lazy("Survey")
    SYMPOSIUM = "symposium", gettext_lazy("Symposium")
    ONLINE = "online", gettext_lazy("Online comments")


MAX_COUNT = 10_000_000
MAX_CONCERNS = 4000
EDITABLE = (
    "title",
    "description",
    "decision_unit",
    "jurisdiction",
    *DIMENSIONS,
    *(f"{d}_note" for d in DIMENSIONS),
    "consultation_summary",
    "measures",
)


ITEM_LABELS = {
    "source": gettext_lazy("source"),
    "participants": gettext_lazy("participants"),
    "for": gettext_lazy("for"),
    "against": gettext_lazy("against"),
    "neutral": gettext_lazy("neutral"),
    "concerns": gettext_lazy("key concerns"),
}


def label(name: str) -> str:
    """A field's name in the reader's language, for messages."""
    if name in ITEM_LABELS:
        return str(ITEM_LABELS[name])
    try:
        field = StabilityAssessment._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


class StaleAssessment(Conflict):
    code = "stale_assessment"


# -- the rule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """The consultation's counts summed over its items."""

    items: int = 0
    participants: int = 0
    in_favour: int = 0
    against: int = 0
    neutral: int = 0

    @property
    def positions(self) -> int:
        return self.in_favour + self.against + self.neutral

    @property
    def opposition(self) -> Fraction | None:
        """Share of counted positions that are against; None when nothing was counted."""
        if self.positions == 0:
            return None
        return Fraction(self.against, self.positions)

    @property
    def opposition_percent(self) -> float | None:
        share = self.opposition
        return None if share is None else round(float(share) * 100, 1)


def tally(items: Iterable[Mapping[str, Any]]) -> Tally:
    n = participants = yes = no = neutral = 0
    for item in items:
        n += 1
        participants += int(item.get("participants") or 0)
        yes += int(item.get("for") or 0)
        no += int(item.get("against") or 0)
        neutral += int(item.get("neutral") or 0)
    return Tally(n, participants, yes, no, neutral)


def level_by_rule(scores: Mapping[str, int | None], opposition: Fraction | None) -> str:
    """The level the stated rule gives, or "" while a dimension has no score."""
    values = [scores.get(d) for d in DIMENSIONS]
    if any(v is None for v in values):
        return ""
    lowest = min(v for v in values if v is not None)
    share = opposition if opposition is not None else Fraction(0)
    if lowest <= HIGH_MAX_SCORE or share >= HIGH_OPPOSITION:
        return StabilityLevel.HIGH.value
    if lowest <= MEDIUM_MAX_SCORE or share >= MEDIUM_OPPOSITION:
        return StabilityLevel.MEDIUM.value
    return StabilityLevel.LOW.value


def rule_reasons(a: StabilityAssessment) -> list[str]:
    """Why the rule gives its level, in words (for the record)."""
    share = tally(a.consultation).opposition
    level = level_by_rule(scores_of(a), share)
    if not level:
        return [_("Score all four dimensions to get a level.")]
    reasons: list[str] = []
    limit = {
        StabilityLevel.HIGH: (HIGH_MAX_SCORE, HIGH_OPPOSITION),
        StabilityLevel.MEDIUM: (MEDIUM_MAX_SCORE, MEDIUM_OPPOSITION),
    }.get(StabilityLevel(level))
    if limit is None:
        return [
            _(
                "Every dimension scores %(score)d or more and less than %(share)d%% of the "
                "counted positions are against."
            )
            % {"score": MEDIUM_MAX_SCORE + 1, "share": int(MEDIUM_OPPOSITION * 100)}
        ]
    max_score, min_share = limit
    for d in DIMENSIONS:
        score = getattr(a, d)
        if score is not None and score <= max_score:
            reasons.append(
                _("%(dimension)s scores %(score)d (%(limit)d or less).")
                % {"dimension": DIMENSION_LABELS[d], "score": score, "limit": max_score}
            )
    if share is not None and share >= min_share:
        reasons.append(
            _("%(share)s%% of the counted positions are against (%(limit)d%% or more).")
            % {"share": f"{float(share) * 100:.1f}", "limit": int(min_share * 100)}
        )
    return reasons


def scores_of(a: StabilityAssessment) -> dict[str, int | None]:
    return {d: getattr(a, d) for d in DIMENSIONS}


def decision_for(level: str) -> str:
    return str(DECISIONS[StabilityLevel(level)]) if level else ""


def is_overridden(a: StabilityAssessment) -> bool:
    return bool(a.level_reason) and a.level != a.computed_level


def _recompute(a: StabilityAssessment) -> None:
    a.computed_level = level_by_rule(scores_of(a), tally(a.consultation).opposition)
    if not a.level_reason:
        a.level = a.computed_level


# -- who may write --------------------------------------------------------------------------


def may_write(actor: Any, a: StabilityAssessment) -> bool:
    """``risk.manage`` over the assessment's area, or over the deciding unit."""
    return _may_manage(actor, a.jurisdiction_path, a.decision_unit_id)


def _may_manage(actor: Any, path: str, unit_id: int | None) -> bool:
    scope = access.scope_of(actor)
    if "risk.manage" not in scope.actions:
        return False
    return scope.covers_path(path) or (unit_id is not None and unit_id in scope.unit_ids)


def _require_manage(actor: Any, path: str, unit_id: int | None) -> None:
    if not _may_manage(actor, path, unit_id):
        raise Forbidden(
            _(
                "You may not write stability assessments for this area; ask someone who "
                "manages risks there."
            ),
            details={"action": "risk.manage"},
        )


# -- reads ----------------------------------------------------------------------------------


def assessments(
    actor: Any,
    *,
    state: str = "",
    level: str = "",
    area: str = "",
    search: str = "",
) -> QuerySet[StabilityAssessment]:
    """Assessments the actor may read, newest first. ``area`` is a jurisdiction code: that
    place and everything inside it."""
    qs = access.readable(
        actor,
        StabilityAssessment.objects.select_related("decision_unit", "jurisdiction"),
    )
    if state:
        qs = qs.filter(state=state)
    if level:
        qs = qs.filter(level=level)
    if area:
        place = Jurisdiction.objects.filter(code=area).first()
        qs = qs.filter(jurisdiction_path__startswith=place.path) if place else qs.none()
    if search:
        qs = qs.filter(models.Q(code__icontains=search) | models.Q(title__icontains=search))
    return qs.order_by("-created_at", "-pk")


def get(actor: Any, code: str) -> StabilityAssessment:
    found = assessments(actor).filter(code=code).first()
    if found is None:
        raise NotFound(
            _("There is no stability assessment %(code)s that you may read.") % {"code": code}
        )
    return found


@dataclass(frozen=True)
class AttachedAppeal:
    """What the record shows of an attached appeal: never the resident's words or details."""

    ticket: str
    matter: str
    area: str
    received: date
    status: str


@dataclass(frozen=True)
class AppealSummary:
    count: int
    by_matter: list[tuple[str, int]]
    rows: list[AttachedAppeal]


def attached_appeals(a: StabilityAssessment) -> AppealSummary:
    links = a.appeal_links.select_related("appeal__matter", "appeal__jurisdiction").order_by(
        "appeal__received_at", "appeal__ticket"
    )
    rows = [
        AttachedAppeal(
            ticket=link.appeal.ticket,
            matter=link.appeal.matter.name if link.appeal.matter else _("not classified"),
            area=link.appeal.jurisdiction.name if link.appeal.jurisdiction else "",
            received=timezone.localdate(link.appeal.received_at),
            status=link.appeal.get_status_display(),
        )
        for link in links
    ]
    by_matter = Counter(r.matter for r in rows)
    return AppealSummary(len(rows), sorted(by_matter.items(), key=lambda kv: (-kv[1], kv[0])), rows)


def editions(a: StabilityAssessment) -> list[StabilityAssessment]:
    """Every revision of the same assessment, first to last."""
    first = a
    while first.supersedes_id is not None:
        first = StabilityAssessment.objects.get(pk=first.supersedes_id)
    chain = [first]
    while True:
        nxt = StabilityAssessment.objects.filter(supersedes=chain[-1]).first()
        if nxt is None:
            return chain
        chain.append(nxt)


def history(a: StabilityAssessment) -> QuerySet[AuditEntry]:
    """The audit entries of this assessment (who changed what, when)."""
    return AuditEntry.objects.filter(object_type=OBJECT_TYPE, object_id=a.code).order_by("seq")


ACTIONS = {
    "stability.create": gettext_lazy("Draft started"),
    "stability.update": gettext_lazy("Draft edited"),
    "stability.level": gettext_lazy("Level set"),
    "stability.consultation.add": gettext_lazy("Consultation input added"),
    "stability.consultation.remove": gettext_lazy("Consultation input removed"),
    "stability.appeal.attach": gettext_lazy("Appeal attached"),
    "stability.appeal.detach": gettext_lazy("Appeal detached"),
    "stability.record": gettext_lazy("Put on record"),
    "stability.revise": gettext_lazy("Revision started"),
    "stability.risk": gettext_lazy("Followed in the risk register"),
}
# Bookkeeping fields that every change touches: not worth listing as "what changed".
QUIET = {"version", "computed_level", "consultation"}


@dataclass(frozen=True)
class Step:
    at: Any
    who: str
    what: str
    detail: str


def steps(a: StabilityAssessment) -> list[Step]:
    """The assessment's history in words, from its audit entries."""
    entries = list(history(a))
    who = selectors.people(e.actor for e in entries)
    out: list[Step] = []
    for e in entries:
        summary = e.summary or {}
        details: list[str] = []
        if e.action == "stability.update":
            changed = [k for k in (summary.get("after") or {}) if k not in QUIET]
            details.append(", ".join(label(k) for k in changed))
        if summary.get("ticket"):
            details.append(str(summary["ticket"]))
        if summary.get("supersedes"):
            details.append(_("supersedes %(code)s") % {"code": summary["supersedes"]})
        if summary.get("opened"):
            details.append(str(summary["opened"]))
        if e.reason:
            details.append(e.reason)
        out.append(
            Step(
                at=e.at,
                who=who.get(e.actor, e.actor),
                what=str(ACTIONS.get(e.action, e.action)),
                detail=" · ".join(d for d in details if d),
            )
        )
    return out


def readiness(a: StabilityAssessment) -> list[str]:
    """What is missing before the assessment may go on record; empty when it may."""
    missing: list[str] = []
    for d in DIMENSIONS:
        if getattr(a, d) is None:
            missing.append(_("Score %(dimension)s.") % {"dimension": DIMENSION_LABELS[d]})
        if not getattr(a, f"{d}_note").strip():
            missing.append(
                _("Write the findings on %(dimension)s.") % {"dimension": DIMENSION_LABELS[d]}
            )
    if not a.consultation:
        missing.append(_("Add at least one item of public consultation input."))
    if not a.consultation_summary.strip():
        missing.append(_("Summarise the public consultation."))
    if a.level in (StabilityLevel.HIGH, StabilityLevel.MEDIUM) and not a.measures.strip():
        missing.append(
            _("A %(level)s level needs measures to prevent and resolve the risks.")
            % {"level": str(SHORT_LEVELS[StabilityLevel(a.level)]).lower()}
        )
    return missing


# -- writes ---------------------------------------------------------------------------------


def _snapshot(a: StabilityAssessment) -> dict[str, Any]:
    data: dict[str, Any] = {
        f: getattr(a, f)
        for f in (
            "title",
            "description",
            *DIMENSIONS,
            *(f"{d}_note" for d in DIMENSIONS),
            "consultation_summary",
            "consultation",
            "computed_level",
            "level",
            "level_reason",
            "measures",
            "state",
            "revision",
        )
    }
    data["decision_unit"] = a.decision_unit.code if a.decision_unit_id else None
    data["jurisdiction"] = a.jurisdiction.code if a.jurisdiction_id else None
    data["risk"] = a.risk.code if a.risk_id and a.risk is not None else None
    return data


def _changed(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _locked(a: StabilityAssessment, version: int | None) -> StabilityAssessment:
    locked = (
        StabilityAssessment.objects.select_for_update(of=("self",))
        .select_related("decision_unit", "jurisdiction", "risk")
        .get(pk=a.pk)
    )
    if version is not None and locked.version != version:
        raise StaleAssessment(
            _(
                "%(code)s was changed by someone else while you were editing it; reload it, "
                "check their changes and try again."
            )
            % {"code": locked.code},
            details={"version": locked.version},
        )
    return locked


def _draft(actor: Any, a: StabilityAssessment, version: int | None) -> StabilityAssessment:
    locked = _locked(a, version)
    _require_manage(actor, locked.jurisdiction_path, locked.decision_unit_id)
    if locked.state != State.DRAFT:
        raise Conflict(
            _(
                "%(code)s is on record and can no longer be changed; start a new revision to "
                "redo it."
            )
            % {"code": locked.code},
            code="assessment_on_record",
        )
    return locked


def _save(
    actor: Any,
    locked: StabilityAssessment,
    action: str,
    before: dict[str, Any],
    *,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> StabilityAssessment:
    locked.version += 1
    locked.updated_at = clock.now()
    locked.save()
    old, new = _changed(before, _snapshot(locked))
    audit.record(
        actor=actor,
        action=f"stability.{action}",
        object_type=OBJECT_TYPE,
        object_id=locked.code,
        before=old,
        after=new,
        reason=reason,
        extra=extra,
    )
    return locked


def _check_score(name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if not SCORE_MIN <= score <= SCORE_MAX or str(score) != str(value).strip():
        raise InvalidInput(
            _("%(dimension)s must be scored from 1 (serious risk) to 5 (no risk).")
            % {"dimension": DIMENSION_LABELS[name]},
            details={"field": name},
        )
    return score


def _check_text(name: str, value: Any, *, required: bool, limit: int) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(
            _("This field is required: %(field)s.") % {"field": label(name)},
            details={"field": name},
        )
    if len(text) > limit:
        raise InvalidInput(
            _("%(field)s is too long (at most %(limit)d characters).")
            % {"field": label(name), "limit": limit},
            details={"field": name},
        )
    return text


def _apply_fields(actor: Any, a: StabilityAssessment, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            _("These fields cannot be written: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    if "title" in fields:
        a.title = _check_text("title", fields["title"], required=True, limit=200)
    if "description" in fields:
        a.description = _check_text(
            "description", fields["description"], required=True, limit=20000
        )
    for d in DIMENSIONS:
        if d in fields:
            setattr(a, d, _check_score(d, fields[d]))
        if f"{d}_note" in fields:
            setattr(
                a,
                f"{d}_note",
                _check_text(f"{d}_note", fields[f"{d}_note"], required=False, limit=20000),
            )
    if "consultation_summary" in fields:
        a.consultation_summary = _check_text(
            "consultation_summary", fields["consultation_summary"], required=False, limit=20000
        )
    if "measures" in fields:
        a.measures = _check_text("measures", fields["measures"], required=False, limit=20000)
    place = fields.get("jurisdiction", a.jurisdiction if a.jurisdiction_id else None)
    unit = fields.get("decision_unit", a.decision_unit if a.decision_unit_id else None)
    if not isinstance(place, Jurisdiction):
        raise InvalidInput(
            _("Choose the area the decision concerns."), details={"field": "jurisdiction"}
        )
    if not isinstance(unit, Unit):
        raise InvalidInput(_("Choose the deciding unit."), details={"field": "decision_unit"})
    city = place.path.strip("/").split("/")[0]
    if unit.city != city:
        raise InvalidInput(
            _("The deciding unit must belong to the same city as the area."),
            details={"field": "decision_unit"},
        )
    if "jurisdiction" in fields or "decision_unit" in fields:
        _require_manage(actor, place.path, unit.pk)
    a.jurisdiction, a.jurisdiction_path, a.decision_unit, a.city = place, place.path, unit, city


def _next_number(city: str, year: int) -> int:
    prefix = f"{city}-SSA-{year}-"
    codes = StabilityAssessment.objects.filter(
        code__startswith=prefix, supersedes__isnull=True
    ).values_list("code", flat=True)
    numbers = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return max(numbers, default=0) + 1


def create(actor: Any, **fields: Any) -> StabilityAssessment:
    """Start a draft. ``fields`` are those of ``EDITABLE``; title, description, the area and
    the deciding unit are required."""
    if not access.can(actor, "risk.manage"):
        raise Forbidden(
            _("Only analysts, dispatchers, administrators and unit leaders write assessments."),
            details={"action": "risk.manage"},
        )
    for required in ("title", "description", "jurisdiction", "decision_unit"):
        fields.setdefault(required, None)
    with transaction.atomic():
        a = StabilityAssessment(created_by=audit.actor_label(actor)[:120], state=State.DRAFT)
        _apply_fields(actor, a, fields)
        _recompute(a)
        a.created_at = a.updated_at = clock.now()
        year = timezone.localdate(a.created_at).year
        number = _next_number(a.city, year)
        # Two people starting drafts at once may pick the same number: the unique code
        # refuses the second, which takes the next one.
        for attempt in range(5):
            a.code = f"{a.city}-SSA-{year}-{number + attempt:04d}"
            try:
                with transaction.atomic():
                    a.save()
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        audit.record(
            actor=actor,
            action="stability.create",
            object_type=OBJECT_TYPE,
            object_id=a.code,
            after=_snapshot(a),
        )
    return a


def update(
    actor: Any,
    a: StabilityAssessment,
    *,
    version: int | None,
    fields: Mapping[str, Any],
    set_level: str | None = None,
    level_reason: str = "",
) -> StabilityAssessment:
    """Change a draft. ``set_level`` None leaves the level as it is; "" returns it to the
    rule; a level other than the rule's needs ``level_reason``."""
    with transaction.atomic():
        locked = _draft(actor, a, version)
        before = _snapshot(locked)
        _apply_fields(actor, locked, fields)
        _recompute(locked)
        reason = ""
        if set_level is not None:
            reason = _set_level(locked, set_level, level_reason)
        return _save(actor, locked, "update", before, reason=reason)


def _set_level(a: StabilityAssessment, level: str, reason: str) -> str:
    if level and level not in StabilityLevel.values:
        raise InvalidInput(
            _("Unknown level %(level)s.") % {"level": level}, details={"field": "level"}
        )
    if not level or level == a.computed_level:
        a.level_reason = ""
        a.level = a.computed_level
        return ""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _(
                "Say why the level should be %(level)s rather than what the rule gives; the "
                "reason is kept on the record."
            )
            % {"level": str(SHORT_LEVELS[StabilityLevel(level)]).lower()},
            details={"field": "level_reason"},
        )
    if len(reason) > 4000:
        raise InvalidInput(
            _("The reason is too long (at most 4000 characters)."),
            details={"field": "level_reason"},
        )
    a.level, a.level_reason = level, reason
    return reason


def set_level(
    actor: Any, a: StabilityAssessment, *, version: int | None, level: str, reason: str = ""
) -> StabilityAssessment:
    """Set the level by the assessor's judgment ("" returns to the rule)."""
    with transaction.atomic():
        locked = _draft(actor, a, version)
        before = _snapshot(locked)
        _recompute(locked)
        kept = _set_level(locked, level, reason)
        return _save(actor, locked, "level", before, reason=kept)


def _count(name: str, value: Any) -> int:
    try:
        n = int(value or 0)
    except (TypeError, ValueError):
        n = -1
    if n < 0 or n > MAX_COUNT:
        raise InvalidInput(
            _("%(field)s must be a whole number from 0 to %(max)d.")
            % {"field": label(name), "max": MAX_COUNT},
            details={"field": name},
        )
    return n


def consultation_item(
    *,
    source: str,
    participants: Any,
    in_favour: Any = 0,
    against: Any = 0,
    neutral: Any = 0,
    concerns: str = "",
    held_on: date | None = None,
) -> dict[str, Any]:
    """A checked consultation item, as stored."""
    if source not in Source.values:
        raise InvalidInput(_("Choose where the input came from."), details={"field": "source"})
    participants_n = _count("participants", participants)
    counts = [
        _count(name, v)
        for name, v in (("for", in_favour), ("against", against), ("neutral", neutral))
    ]
    if participants_n == 0:
        raise InvalidInput(
            _("Give the number of participants (people, or comments for online input)."),
            details={"field": "participants"},
        )
    if sum(counts) > participants_n:
        raise InvalidInput(
            _(
                "For, against and neutral add up to more than the participants; each "
                "participant counts once at most."
            ),
            details={"field": "participants"},
        )
    item: dict[str, Any] = {
        "source": source,
        "held_on": held_on.isoformat() if held_on else "",
        "participants": participants_n,
        "for": counts[0],
        "against": counts[1],
        "neutral": counts[2],
        "concerns": _check_text("concerns", concerns, required=False, limit=MAX_CONCERNS),
    }
    return item


def add_consultation(
    actor: Any, a: StabilityAssessment, *, version: int | None, item: dict[str, Any]
) -> StabilityAssessment:
    """Add a consultation item (made by ``consultation_item``)."""
    checked = consultation_item(
        source=item.get("source", ""),
        participants=item.get("participants"),
        in_favour=item.get("for"),
        against=item.get("against"),
        neutral=item.get("neutral"),
        concerns=item.get("concerns", ""),
        held_on=date.fromisoformat(item["held_on"]) if item.get("held_on") else None,
    )
    with transaction.atomic():
        locked = _draft(actor, a, version)
        before = _snapshot(locked)
        locked.consultation = [*locked.consultation, checked]
        _recompute(locked)
        return _save(actor, locked, "consultation.add", before)


def remove_consultation(
    actor: Any, a: StabilityAssessment, *, version: int | None, index: int
) -> StabilityAssessment:
    with transaction.atomic():
        locked = _draft(actor, a, version)
        if not 0 <= index < len(locked.consultation):
            raise NotFound(_("There is no such consultation item."))
        before = _snapshot(locked)
        items = list(locked.consultation)
        del items[index]
        locked.consultation = items
        _recompute(locked)
        return _save(actor, locked, "consultation.remove", before)


def attach_appeal(
    actor: Any, a: StabilityAssessment, *, version: int | None, ticket: str
) -> StabilityAssessment:
    """Attach an appeal that concerns the project (one the actor may read, of the city)."""
    ticket = (ticket or "").strip()
    with transaction.atomic():
        locked = _draft(actor, a, version)
        appeal = access.readable(
            actor, Appeal.objects.filter(ticket=ticket, city=locked.city)
        ).first()
        if appeal is None:
            raise NotFound(
                _("No appeal %(ticket)s of this city that you may read.") % {"ticket": ticket},
                details={"field": "ticket"},
            )
        if StabilityAppeal.objects.filter(assessment=locked, appeal=appeal).exists():
            raise Conflict(
                _("Appeal %(ticket)s is already attached.") % {"ticket": ticket},
                details={"field": "ticket"},
            )
        StabilityAppeal.objects.create(
            assessment=locked,
            appeal=appeal,
            added_by=audit.actor_label(actor)[:120],
            added_at=clock.now(),
        )
        return _save(actor, locked, "appeal.attach", _snapshot(locked), extra={"ticket": ticket})


def detach_appeal(
    actor: Any, a: StabilityAssessment, *, version: int | None, ticket: str
) -> StabilityAssessment:
    with transaction.atomic():
        locked = _draft(actor, a, version)
        deleted, _rows = StabilityAppeal.objects.filter(
            assessment=locked, appeal__ticket=ticket
        ).delete()
        if not deleted:
            raise NotFound(_("Appeal %(ticket)s is not attached.") % {"ticket": ticket})
        return _save(actor, locked, "appeal.detach", _snapshot(locked), extra={"ticket": ticket})


def put_on_record(
    actor: Any, a: StabilityAssessment, *, version: int | None
) -> StabilityAssessment:
    """Make the draft the final record: complete, and read-only from now on."""
    with transaction.atomic():
        locked = _draft(actor, a, version)
        before = _snapshot(locked)
        _recompute(locked)
        missing = readiness(locked)
        if missing:
            raise InvalidInput(
                _("%(code)s cannot go on record yet: %(missing)s")
                % {"code": locked.code, "missing": " ".join(missing)},
                code="assessment_incomplete",
                details={"missing": missing},
            )
        locked.state = State.FINAL
        locked.finalised_by = audit.actor_label(actor)[:120]
        locked.finalised_at = clock.now()
        return _save(
            actor,
            locked,
            "record",
            before,
            extra={"attached_appeals": locked.appeal_links.count()},
        )


def revise(actor: Any, a: StabilityAssessment) -> StabilityAssessment:
    """Start a new draft from a record on file (it supersedes it once it is on record)."""
    with transaction.atomic():
        locked = _locked(a, None)
        _require_manage(actor, locked.jurisdiction_path, locked.decision_unit_id)
        if locked.state != State.FINAL:
            raise Conflict(
                _("%(code)s is still a draft; edit it instead of revising it.")
                % {"code": locked.code},
                code="assessment_draft",
            )
        newer = StabilityAssessment.objects.filter(supersedes=locked).first()
        if newer is not None:
            raise Conflict(
                _("%(code)s already has a new revision, %(newer)s; continue with that one.")
                % {"code": locked.code, "newer": newer.code},
                code="assessment_revised",
                details={"newer": newer.code},
            )
        first = editions(locked)[0]
        now = clock.now()
        copy = StabilityAssessment(
            city=locked.city,
            code=f"{first.code}-R{locked.revision + 1}",
            title=locked.title,
            description=locked.description,
            decision_unit=locked.decision_unit,
            jurisdiction=locked.jurisdiction,
            jurisdiction_path=locked.jurisdiction_path,
            consultation_summary=locked.consultation_summary,
            consultation=list(locked.consultation),
            computed_level=locked.computed_level,
            level=locked.level,
            level_reason=locked.level_reason,
            measures=locked.measures,
            state=State.DRAFT,
            created_by=audit.actor_label(actor)[:120],
            created_at=now,
            updated_at=now,
            revision=locked.revision + 1,
            supersedes=locked,
        )
        for d in DIMENSIONS:
            setattr(copy, d, getattr(locked, d))
            setattr(copy, f"{d}_note", getattr(locked, f"{d}_note"))
        copy.save()
        StabilityAppeal.objects.bulk_create(
            StabilityAppeal(
                assessment=copy,
                appeal_id=link.appeal_id,
                added_by=link.added_by,
                added_at=link.added_at,
            )
            for link in locked.appeal_links.all()
        )
        audit.record(
            actor=actor,
            action="stability.revise",
            object_type=OBJECT_TYPE,
            object_id=copy.code,
            after=_snapshot(copy),
            extra={"supersedes": locked.code},
        )
        return copy


def _refuse_unless_followable(a: StabilityAssessment) -> None:
    """Only a medium or high assessment is followed in the register, and by one risk."""
    if a.level not in (StabilityLevel.HIGH, StabilityLevel.MEDIUM):
        raise Conflict(
            _("Only a medium or high assessment is followed in the risk register."),
            code="assessment_low",
        )
    if a.risk_id is not None:
        raise Conflict(
            _("%(code)s is already followed as risk %(risk)s.")
            % {"code": a.code, "risk": a.risk.code if a.risk else ""},
            code="assessment_has_risk",
        )


def link_risk(
    actor: Any, a: StabilityAssessment, *, version: int | None, risk: RiskItem
) -> StabilityAssessment:
    """Tie a medium or high assessment to a risk in the register (in either state: the link
    is the register's follow-up, not part of the assessment's findings)."""
    with transaction.atomic():
        locked = _locked(a, version)
        _require_manage(actor, locked.jurisdiction_path, locked.decision_unit_id)
        _refuse_unless_followable(locked)
        if not access.readable(actor, RiskItem.objects.filter(pk=risk.pk)).exists():
            raise NotFound(_("There is no risk %(code)s that you may read.") % {"code": risk.code})
        if risk.city != locked.city:
            raise InvalidInput(
                _("Risk %(risk)s is of another city; follow %(code)s with a risk of its own city.")
                % {"risk": risk.code, "code": locked.code},
                details={"field": "risk"},
            )
        before = _snapshot(locked)
        locked.risk = risk
        return _save(actor, locked, "risk", before)


def open_risk(
    actor: Any,
    a: StabilityAssessment,
    *,
    version: int | None,
    level: str,
    owner_unit: Unit,
    deadline: datetime,
) -> StabilityAssessment:
    """Open a risk in the register for a medium or high assessment and follow it there. The
    risk takes the project's title, area and measures; the register's own rules apply."""
    from civitas.risk import services as register

    with transaction.atomic():
        locked = _locked(a, version)
        _require_manage(actor, locked.jurisdiction_path, locked.decision_unit_id)
        _refuse_unless_followable(locked)
        risk = register.create_risk(
            actor=actor,
            city=locked.city,
            data=register.RiskIn(
                title=locked.title,
                level=level,
                owner_unit=owner_unit,
                deadline=deadline,
                measures=locked.measures,
                description=_(
                    "From social stability risk assessment %(code)s: level %(level)s, %(decision)s."
                )
                % {
                    "code": locked.code,
                    "level": str(SHORT_LEVELS[StabilityLevel(locked.level)]).lower(),
                    "decision": decision_for(locked.level).lower(),
                },
                jurisdiction=locked.jurisdiction,
            ),
        )
        before = _snapshot(locked)
        locked.risk = risk
        return _save(actor, locked, "risk", before, extra={"opened": risk.code})
