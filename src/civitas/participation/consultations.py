"""Public consultations (征求意见): writes.

A street office, a community committee or a department opens a consultation on a plan or a
decision: the plan in words, documents, a closing date and an area (a jurisdiction, and
optionally a polygon inside it). The life of one::

    draft --open--> open --close (early, or at the deadline by close_due)--> closed
    closed --answer (the public answer and what changed)--> answered

Who may manage one: ``participation.manage``, and the consulting unit is one of the actor's
units, or a unit whose area the actor's scope covers (a department of the district, for a
district centre); the place always lies inside the consulting unit's area.

Signed-in people comment with a position (in favour, against, neutral) while it is open, and
support others' comments (once each, never their own). A person may comment several times
(a second thought, an answer to a neighbour) but at most ``MAX_COMMENTS_PER_PERSON`` times per
consultation, and not twice within ``COMMENT_GAP``.

When answered — or on a staff action — the result is fed, once, into the linked draft social
stability risk assessment as one "online comments" item: the people who commented (each once,
by the position of their latest comment, hidden comments included: hiding removes offensive
words, not the person's view), and as key concerns the most supported objections and the
office's answer. A record on file is never changed, so feeding one is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.validation import explain_validity

from civitas.appeals import attachments
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock, numbering, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Role, Unit, User
from civitas.participation.models import Comment, Consultation, Document, Position
from civitas.participation.public import scrub
from civitas.risk import stability
from civitas.risk.models import StabilityAssessment

OBJECT_TYPE = "participation.consultation"
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_COMMENT = 2_000
MAX_REASON = 500
MAX_COMMENTS_PER_PERSON = 5
COMMENT_GAP = timedelta(seconds=60)
MAX_DOCUMENTS = 12
DEFAULT_MAX_DOCUMENT_MB = 20
NOTICE_ROLES = (Role.UNIT_LEADER, Role.UNIT_HANDLER)

# What a document may be, recognised by its first bytes (never by its name or the browser's
# claim): label, content type, extension.
PDF = ("PDF", "application/pdf", "pdf")
DOCX = (
    "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
)
XLSX = ("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = (
    "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptx",
)
ODT = ("OpenDocument text", "application/vnd.oasis.opendocument.text", "odt")
ODS = ("OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", "ods")
OLE = ("Office 97-2003", "application/vnd.ms-office", "doc")
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}


def max_document_bytes() -> int:
    mb = int(getattr(settings, "CIVITAS_CONSULTATION_DOCUMENT_MB", DEFAULT_MAX_DOCUMENT_MB))
    return mb * 1024 * 1024


class StaleConsultation(Conflict):
    code = "stale_consultation"


# -- who may do what ------------------------------------------------------------------------


def may_manage(actor: Any, unit: Unit, place_path: str) -> bool:
    """May ``actor`` run a consultation by ``unit`` about the place at ``place_path``?"""
    scope = access.scope_of(actor)
    if "participation.manage" not in scope.actions:
        return False
    if not unit.active or not place_path.startswith(unit.jurisdiction.path):
        return False
    return unit.pk in scope.unit_ids or scope.covers_path(unit.jurisdiction.path)


def may_manage_consultation(actor: Any, c: Consultation) -> bool:
    return may_manage(actor, c.unit, c.jurisdiction_path)


def _require_manage(actor: Any, c: Consultation) -> None:
    if not may_manage_consultation(actor, c):
        raise Forbidden(
            _(
                "Only the staff of the consulting unit, or of an office over its area, may "
                "manage consultation %(code)s."
            )
            % {"code": c.code},
            details={"action": "participation.manage"},
        )


def _require_person(actor: Any) -> User:
    """Comments and support come from signed-in people, never from a key or anonymously."""
    if isinstance(actor, ApiKey):
        raise Forbidden(
            _("Comments and support come from signed-in people; an API key cannot give them."),
            details={"action": "comment"},
        )
    if not isinstance(actor, User) or not actor.pk or not actor.is_active:
        raise Forbidden(
            _("Sign in to comment on or support a consultation."), details={"action": "comment"}
        )
    return actor


# -- checks ---------------------------------------------------------------------------------


def _text(name: str, value: Any, *, required: bool, limit: int, label: str) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label}, details={"field": name})
    if len(text) > limit:
        raise InvalidInput(
            _("%(field)s is too long (at most %(limit)d characters).")
            % {"field": label, "limit": limit},
            details={"field": name},
        )
    return text


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(
            _("Give a date and time for %(field)s.") % {"field": name}, details={"field": name}
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _future(value: Any, name: str = "closes_at") -> datetime:
    when = _aware(value, name)
    if when <= clock.now():
        raise InvalidInput(_("The closing date must be in the future."), details={"field": name})
    return when


def check_area(area: Any, place: Jurisdiction) -> dict[str, Any] | None:
    """The area on the map: a GeoJSON polygon (or multipolygon, or a feature holding one)
    lying within ``place``. Text is parsed as JSON. Empty means the whole place."""
    if area in (None, "", {}):
        return None
    if isinstance(area, str):
        try:
            area = json.loads(area)
        except ValueError as exc:
            raise InvalidInput(
                _("The area is not valid GeoJSON (%(error)s).") % {"error": exc},
                details={"field": "area"},
            ) from exc
    if isinstance(area, Mapping) and area.get("type") == "Feature":
        area = area.get("geometry")
    if isinstance(area, Mapping) and area.get("type") == "FeatureCollection":
        features = area.get("features") or []
        if len(features) != 1:
            raise InvalidInput(
                _("Give the area as one polygon, not a collection of %(n)d features.")
                % {"n": len(features)},
                details={"field": "area"},
            )
        area = features[0].get("geometry") if isinstance(features[0], Mapping) else None
    if not isinstance(area, Mapping) or area.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            _("The area must be a GeoJSON Polygon or MultiPolygon."), details={"field": "area"}
        )
    try:
        geom = shape(area)
    except (GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidInput(
            _("The area's coordinates cannot be read (%(error)s).") % {"error": exc},
            details={"field": "area"},
        ) from exc
    if geom.is_empty or not geom.is_valid:
        raise InvalidInput(
            _("The area is not a valid polygon: %(why)s.")
            % {"why": explain_validity(geom) if not geom.is_empty else _("it is empty")},
            details={"field": "area"},
        )
    if not place.boundary:
        raise InvalidInput(
            _("%(place)s has no boundary on record, so an area cannot be drawn inside it.")
            % {"place": place.name},
            details={"field": "area"},
        )
    outline = shape(place.boundary)
    # A hair of tolerance (about 1 m) for points drawn on the very edge.
    if not outline.buffer(1e-5).contains(geom):
        raise InvalidInput(
            _("The area must lie within %(place)s; part of it is outside.") % {"place": place.name},
            details={"field": "area"},
        )
    return {"type": geom.geom_type, "coordinates": json.loads(json.dumps(area["coordinates"]))}


def _check_assessment(actor: Any, assessment: Any, city: str) -> StabilityAssessment | None:
    if assessment in (None, ""):
        return None
    if not isinstance(assessment, StabilityAssessment):
        raise InvalidInput(
            _("Choose a stability assessment from the list."), details={"field": "assessment"}
        )
    readable = access.readable(actor, StabilityAssessment.objects.filter(pk=assessment.pk))
    if assessment.city != city or not readable.exists():
        raise InvalidInput(
            _(
                "Stability assessment %(code)s is not one you may read in this city; choose "
                "another or leave it out."
            )
            % {"code": assessment.code},
            details={"field": "assessment"},
        )
    return assessment


# -- writes by staff ------------------------------------------------------------------------


def _snapshot(c: Consultation) -> dict[str, Any]:
    return {
        "status": c.status,
        "title": c.title,
        "unit": c.unit.code if c.unit_id else None,
        "jurisdiction": c.jurisdiction.code if c.jurisdiction_id else None,
        "area": bool(c.area),
        "closes_at": c.closes_at.isoformat() if c.closes_at else None,
        "assessment": c.assessment.code if c.assessment_id and c.assessment else None,
        "answered": bool(c.answer),
        "fed_at": c.fed_at.isoformat() if c.fed_at else None,
    }


def _record(
    actor: Any,
    c: Consultation,
    action: str,
    before: dict[str, Any] | None,
    *,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    after = _snapshot(c)
    if before is not None:
        keys = [k for k in after if before.get(k) != after[k]]
        before, after = {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
    audit.record(
        actor=actor,
        action=f"consultation.{action}",
        object_type=OBJECT_TYPE,
        object_id=c.code,
        before=before,
        after=after,
        reason=reason,
        extra=extra,
    )


def create(
    actor: Any,
    *,
    unit: Unit | None,
    jurisdiction: Jurisdiction | None,
    title: str,
    body: str,
    closes_at: Any,
    area: Any = None,
    assessment: StabilityAssessment | None = None,
) -> Consultation:
    """Start a draft; nobody outside the office sees it until it is opened."""
    if not access.can(actor, "participation.manage"):
        raise Forbidden(
            _("Only staff of a street office, a community or a department open consultations."),
            details={"action": "participation.manage"},
        )
    title = _text("title", title, required=True, limit=MAX_TITLE, label=_("The title"))
    body = _text("body", body, required=True, limit=MAX_BODY, label=_("The plan or decision"))
    if not isinstance(jurisdiction, Jurisdiction):
        raise InvalidInput(_("Choose the area concerned."), details={"field": "jurisdiction"})
    if not isinstance(unit, Unit):
        raise InvalidInput(_("Choose the consulting unit."), details={"field": "unit"})
    city = jurisdiction.path.strip("/").split("/")[0]
    if unit.city != city:
        raise InvalidInput(
            _("The consulting unit must belong to the same city as the area."),
            details={"field": "unit"},
        )
    if not jurisdiction.path.startswith(unit.jurisdiction.path):
        raise InvalidInput(
            _("%(place)s is outside the area of %(unit)s.")
            % {"place": jurisdiction.name, "unit": unit.name},
            details={"field": "jurisdiction"},
        )
    if not may_manage(actor, unit, jurisdiction.path):
        raise Forbidden(
            _("You may not consult on behalf of %(unit)s.") % {"unit": unit.name},
            details={"action": "participation.manage", "field": "unit"},
        )
    when = _future(closes_at)
    shape_ = check_area(area, jurisdiction)
    linked = _check_assessment(actor, assessment, city)
    with transaction.atomic():
        now = clock.now()
        c = numbering.create_numbered(
            Consultation,
            f"{city}-CON-{timezone.localdate(now).year}-",
            4,
            {
                "city": city,
                "title": title,
                "body": body,
                "unit": unit,
                "jurisdiction": jurisdiction,
                "jurisdiction_path": jurisdiction.path,
                "area": shape_,
                "closes_at": when,
                "assessment": linked,
                "created_by": audit.actor_label(actor)[:120],
                "created_at": now,
            },
            _("Could not number the consultation; try again."),
        )
        _record(actor, c, "create", None)
    return c


def _locked(c: Consultation, version: int | None) -> Consultation:
    locked = (
        Consultation.objects.select_for_update(of=("self",), no_key=True)
        .select_related("unit__jurisdiction", "jurisdiction", "assessment")
        .get(pk=c.pk)
    )
    if version is not None and locked.version != version:
        raise StaleConsultation(
            _("%(code)s was changed by someone else meanwhile; reload the page and try again.")
            % {"code": locked.code},
            details={"version": locked.version},
        )
    return locked


def _save(c: Consultation) -> None:
    c.version += 1
    c.save()


def _refuse_status(c: Consultation, allowed: Iterable[str], doing: str) -> None:
    if c.status not in allowed:
        raise Conflict(
            _("%(code)s is %(status)s: it cannot be %(doing)s now.")
            % {"code": c.code, "status": c.get_status_display().lower(), "doing": doing},
            code="wrong_status",
            details={"status": c.status},
        )


def open_(actor: Any, c: Consultation, *, version: int | None) -> Consultation:
    """Draft → open: the public sees it from now on and may comment until it closes."""
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        _refuse_status(locked, [Consultation.Status.DRAFT], _("opened"))
        if locked.closes_at <= clock.now():
            raise InvalidInput(
                _("The closing date has passed; set a later one before opening."),
                details={"field": "closes_at"},
            )
        before = _snapshot(locked)
        locked.status = Consultation.Status.OPEN
        locked.opens_at = clock.now()
        _save(locked)
        _record(actor, locked, "open", before)
    return locked


def update_draft(
    actor: Any, c: Consultation, *, version: int | None, closes_at: Any = None, area: Any = ...
) -> Consultation:
    """Change a draft's closing date or area before it opens."""
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        _refuse_status(locked, [Consultation.Status.DRAFT], _("edited"))
        before = _snapshot(locked)
        if closes_at is not None:
            locked.closes_at = _future(closes_at)
        if area is not ...:
            locked.area = check_area(area, locked.jurisdiction)
        _save(locked)
        _record(actor, locked, "edit", before)
    return locked


def extend(
    actor: Any, c: Consultation, *, version: int | None, closes_at: Any, reason: str
) -> Consultation:
    """Move the deadline of an open consultation later, saying why (shown to the public)."""
    reason = _text("reason", reason, required=True, limit=MAX_REASON, label=_("The reason"))
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        _refuse_status(locked, [Consultation.Status.OPEN], _("extended"))
        when = _future(closes_at)
        if when <= locked.closes_at:
            raise InvalidInput(
                _("The new closing date must be later than the current one (%(when)s).")
                % {"when": timezone.localtime(locked.closes_at).strftime("%Y-%m-%d %H:%M")},
                details={"field": "closes_at"},
            )
        before = _snapshot(locked)
        locked.closes_at = when
        _save(locked)
        _record(actor, locked, "extend", before, reason=reason)
    return locked


def _notify_closed(c: Consultation) -> None:
    people = org_services.people_in(c.unit, NOTICE_ROLES)
    for channel, recipient in org_services.notice_addresses(people, fallback=c.unit):
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=_("Consultation %(code)s closed: answer due") % {"code": c.code},
            body=_(
                'The consultation "%(title)s" is closed with %(n)d comments. Write the public '
                "answer and what was changed."
            )
            % {"title": scrub(c.title), "n": c.comments.count()},
            topic="participation.consultation",
            dedupe_key=f"consultation-closed:{c.code}",
        )


def close(actor: Any, c: Consultation, *, version: int | None, reason: str = "") -> Consultation:
    """Open → closed before the deadline (the deadline itself closes it by ``close_due``)."""
    reason = _text("reason", reason, required=False, limit=MAX_REASON, label=_("The reason"))
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        _refuse_status(locked, [Consultation.Status.OPEN], _("closed"))
        before = _snapshot(locked)
        locked.status = Consultation.Status.CLOSED
        if locked.closes_at > clock.now():
            locked.closes_at = clock.now()
        _save(locked)
        _record(actor, locked, "close", before, reason=reason)
        _notify_closed(locked)
    return locked


def close_due(now: datetime | None = None) -> dict[str, int]:
    """The periodic job: close every open consultation whose deadline has passed. Running it
    again closes nothing more."""
    at = now or clock.now()
    closed = 0
    due = Consultation.objects.filter(status=Consultation.Status.OPEN, closes_at__lte=at)
    for pk in list(due.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            locked = (
                Consultation.objects.select_for_update(of=("self",), no_key=True, skip_locked=True)
                .select_related("unit__jurisdiction", "jurisdiction", "assessment")
                .filter(pk=pk, status=Consultation.Status.OPEN, closes_at__lte=at)
                .first()
            )
            if locked is None:
                continue
            before = _snapshot(locked)
            locked.status = Consultation.Status.CLOSED
            _save(locked)
            _record(None, locked, "close", before, reason="deadline")
            _notify_closed(locked)
            closed += 1
    return {"closed": closed}


def answer(
    actor: Any, c: Consultation, *, version: int | None, answer: str, changes: str
) -> Consultation:
    """Closed → answered: the office's public answer and what it changed (or "nothing")."""
    answer = _text("answer", answer, required=True, limit=MAX_BODY, label=_("The answer"))
    changes = _text("changes", changes, required=True, limit=MAX_BODY, label=_("What was changed"))
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        _refuse_status(locked, [Consultation.Status.CLOSED], _("answered"))
        before = _snapshot(locked)
        locked.status = Consultation.Status.ANSWERED
        locked.answer, locked.changes = answer, changes
        locked.answered_by = audit.actor_label(actor)[:120]
        locked.answered_at = clock.now()
        _save(locked)
        _record(actor, locked, "answer", before)
    return locked


@dataclass(frozen=True)
class Answered:
    consultation: Consultation
    fed: bool
    # Why the result was not fed (no assessment linked, or a refusal), in words; "" when fed.
    note: str


def answer_and_feed(
    actor: Any, c: Consultation, *, version: int | None, answer_text: str, changes: str
) -> Answered:
    """Answer, then feed the linked assessment when there is one (a refusal to feed leaves
    the answer standing and says why)."""
    done = answer(actor, c, version=version, answer=answer_text, changes=changes)
    if done.assessment_id is None:
        return Answered(done, False, "")
    try:
        fed = feed(actor, done)
    except (Conflict, Forbidden, InvalidInput) as exc:
        return Answered(Consultation.objects.get(pk=done.pk), False, exc.message)
    return Answered(fed, True, "")


def link_assessment(
    actor: Any, c: Consultation, *, version: int | None, assessment: StabilityAssessment | None
) -> Consultation:
    """Link (or unlink, with None) the stability assessment the result is to feed; not once
    it has been fed."""
    with transaction.atomic():
        locked = _locked(c, version)
        _require_manage(actor, locked)
        if locked.fed_at is not None:
            raise Conflict(
                _("The result of %(code)s was already fed to an assessment.")
                % {"code": locked.code},
                code="already_fed",
            )
        before = _snapshot(locked)
        locked.assessment = _check_assessment(actor, assessment, locked.city)
        _save(locked)
        _record(actor, locked, "link", before)
    return locked


# -- documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanDocument:
    name: str
    data: bytes
    content_type: str


def _zip_kind(raw: bytes) -> tuple[str, str, str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                if z.getinfo("mimetype").file_size > 200:
                    return None  # a real mimetype entry is a few dozen bytes, not a zip bomb
                mime = z.read("mimetype").decode("ascii", "replace").strip()
                return {ODT[1]: ODT, ODS[1]: ODS}.get(mime)
            if "[Content_Types].xml" in names:
                tops = {n.split("/", 1)[0] for n in names}
                if "word" in tops:
                    return DOCX
                if "xl" in tops:
                    return XLSX
                if "ppt" in tops:
                    return PPTX
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def sniff(raw: bytes) -> tuple[str, str, str] | None:
    """(label, content type, extension) of a document by its first bytes, or None."""
    if raw.startswith(b"%PDF-"):
        return PDF
    if raw.startswith(b"PK\x03\x04"):
        return _zip_kind(raw)
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return ("PNG", "image/png", "png")
    if raw.startswith(b"\xff\xd8\xff"):
        return ("JPEG", "image/jpeg", "jpg")
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return ("WebP", "image/webp", "webp")
    return None


def check_document(upload: Any) -> CleanDocument:
    """Read an upload, check its size and its type by content; photos are re-encoded without
    their metadata (as appeals' photos are). Raise InvalidInput naming the file."""
    name = str(getattr(upload, "name", "") or "document")[:150]
    limit = max_document_bytes()
    too_big = InvalidInput(
        _("%(name)s: larger than %(mb)d MB") % {"name": name, "mb": limit // (1024 * 1024)},
        details={"field": "document"},
    )
    if hasattr(upload, "read"):
        if getattr(upload, "size", 0) and upload.size > limit:
            raise too_big
        raw = upload.read(limit + 1)
    else:
        raw = bytes(upload)
    if len(raw) > limit:
        raise too_big
    if not raw:
        raise InvalidInput(_("%(name)s is empty.") % {"name": name}, details={"field": "document"})
    kind = sniff(raw)
    if kind is None:
        raise InvalidInput(
            _(
                "%(name)s: this kind of file is not accepted; send a PDF, an office document "
                "(Word, Excel, PowerPoint, OpenDocument) or a JPEG, PNG or WebP picture."
            )
            % {"name": name},
            details={"field": "document"},
        )
    stem = "".join(ch for ch in name.rsplit(".", 1)[0] if ch.isalnum() or ch in "-_ ")[:60]
    stem = stem.strip() or "document"
    if kind[1] in IMAGE_TYPES:
        try:
            image = attachments.check_image(io.BytesIO(raw))
        except InvalidInput as exc:
            raise InvalidInput(
                f"{name}: {exc.message.split(': ', 1)[-1]}", details={"field": "document"}
            ) from exc
        return CleanDocument(f"{stem}.{kind[2]}", image.data, image.content_type)
    return CleanDocument(f"{stem}.{kind[2]}", raw, kind[1])


def add_document(actor: Any, c: Consultation, upload: Any, *, name: str = "") -> Document:
    """Publish a document with a draft or open consultation."""
    doc = check_document(upload)
    title = _text("name", name, required=False, limit=200, label=_("The name")) or doc.name
    with transaction.atomic():
        locked = _locked(c, None)
        _require_manage(actor, locked)
        _refuse_status(
            locked,
            [Consultation.Status.DRAFT, Consultation.Status.OPEN],
            _("given documents"),
        )
        if locked.documents.count() >= MAX_DOCUMENTS:
            raise InvalidInput(
                _("A consultation holds at most %(n)d documents.") % {"n": MAX_DOCUMENTS},
                details={"field": "document"},
            )
        digest = hashlib.sha256(doc.data).hexdigest()
        d = Document(
            consultation=locked,
            name=title,
            content_type=doc.content_type,
            size=len(doc.data),
            sha256=digest,
            added_by=audit.actor_label(actor)[:120],
            added_at=clock.now(),
        )
        d.file.save(f"{locked.code}-{digest[:12]}-{doc.name}", ContentFile(doc.data), save=False)
        d.save()
        _record(
            actor,
            locked,
            "document.add",
            None,
            extra={"document": d.pk, "sha256": digest, "size": d.size, "type": d.content_type},
        )
    return d


def filename(d: Document) -> str:
    """The name a downloaded document is saved under: the stored name's safe tail."""
    stored = d.file.name.rsplit("/", 1)[-1]
    prefix = f"{d.consultation.code}-{d.sha256[:12]}-"
    return stored[len(prefix) :] if stored.startswith(prefix) else stored


# -- comments and support -------------------------------------------------------------------


def comment(actor: Any, c: Consultation, *, position: str, text: str) -> Comment:
    person = _require_person(actor)
    if position not in Position.values:
        raise InvalidInput(
            _("Choose whether you are in favour, against or neutral."),
            details={"field": "position"},
        )
    text = _text("text", text, required=True, limit=MAX_COMMENT, label=_("Your comment"))
    with transaction.atomic():
        # The consultation row is locked so that a person's rapid comments are counted one
        # after the other (the limit holds under double submits).
        locked = _locked(c, None)
        if locked.status != Consultation.Status.OPEN or locked.closes_at <= clock.now():
            raise Conflict(
                _("%(code)s is not open for comments.") % {"code": locked.code},
                code="not_open",
            )
        mine = Comment.objects.filter(consultation=locked, author=person)
        if mine.count() >= MAX_COMMENTS_PER_PERSON:
            raise Conflict(
                _("You have already commented %(n)d times on this consultation.")
                % {"n": MAX_COMMENTS_PER_PERSON},
                code="too_many_comments",
            )
        if mine.filter(created_at__gt=clock.now() - COMMENT_GAP).exists():
            raise Conflict(
                _("You commented a moment ago; wait a minute before commenting again."),
                code="too_soon",
            )
        made = Comment.objects.create(
            consultation=locked,
            author=person,
            position=position,
            text=text,
            created_at=clock.now(),
        )
        audit.record(
            actor=person,
            action="consultation.comment",
            object_type=OBJECT_TYPE,
            object_id=locked.code,
            extra={"comment": made.pk, "position": position},
        )
    return made


def support(actor: Any, target: Comment) -> Comment:
    """Support someone else's comment, once, while the consultation is open."""
    person = _require_person(actor)
    with transaction.atomic():
        c = _locked(target.consultation, None)
        com = Comment.objects.filter(pk=target.pk, consultation=c).first()
        if com is None:
            raise NotFound(_("There is no such comment."))
        if c.status != Consultation.Status.OPEN or c.closes_at <= clock.now():
            raise Conflict(
                _("%(code)s is closed; comments can no longer be supported.") % {"code": c.code},
                code="not_open",
            )
        if com.hidden_at is not None:
            raise Conflict(
                _("This comment was hidden by a moderator and cannot be supported."),
                code="hidden",
            )
        if com.author_id == person.pk:
            raise Conflict(_("You cannot support your own comment."), code="own_comment")
        if com.supporters.filter(pk=person.pk).exists():
            raise Conflict(_("You already support this comment."), code="already_supported")
        com.supporters.add(person)
        audit.record(
            actor=person,
            action="consultation.support",
            object_type=OBJECT_TYPE,
            object_id=c.code,
            extra={"comment": com.pk},
        )
    return com


# -- the result and the stability assessment ------------------------------------------------


@dataclass(frozen=True)
class Result:
    """People who commented, each counted once by the position of their latest comment."""

    participants: int
    in_favour: int
    against: int
    neutral: int
    comments: int


def result(c: Consultation) -> Result:
    latest: dict[int, str] = {}
    n = 0
    for author_id, position in (
        Comment.objects.filter(consultation=c)
        .order_by("created_at", "pk")
        .values_list("author_id", "position")
    ):
        latest[author_id] = position
        n += 1
    positions = list(latest.values())
    return Result(
        participants=len(latest),
        in_favour=positions.count(Position.SUPPORT),
        against=positions.count(Position.OPPOSE),
        neutral=positions.count(Position.NEUTRAL),
        comments=n,
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def concerns(c: Consultation, *, top: int = 3) -> str:
    """The most supported visible objections (scrubbed of phones and ids), then the office's
    answer and what it changed."""
    objections = (
        Comment.objects.filter(consultation=c, position=Position.OPPOSE, hidden_at__isnull=True)
        .annotate(n=Count("supporters"))
        .order_by("-n", "-created_at", "-pk")[:top]
    )
    parts: list[str] = []
    for i, com in enumerate(objections, start=1):
        parts.append(
            _("%(i)d) %(text)s (%(n)d supporters)")
            % {"i": i, "text": _clip(scrub(com.text), 300), "n": com.n}
        )
    out: list[str] = []
    if parts:
        out.append(_("Most supported objections: %(list)s") % {"list": " ".join(parts)})
    if c.answer:
        out.append(_("The office's answer: %(text)s") % {"text": _clip(scrub(c.answer), 600)})
    if c.changes:
        out.append(_("Changed: %(text)s") % {"text": _clip(scrub(c.changes), 600)})
    return _clip(" ".join(out), stability.MAX_CONCERNS)


def feed(actor: Any, c: Consultation) -> Consultation:
    """Add the consultation's result, once, to its linked draft stability assessment."""
    with transaction.atomic():
        locked = _locked(c, None)
        _require_manage(actor, locked)
        _refuse_status(
            locked,
            [Consultation.Status.CLOSED, Consultation.Status.ANSWERED],
            _("sent to the assessment before it closes"),
        )
        if locked.assessment_id is None or locked.assessment is None:
            raise InvalidInput(
                _("%(code)s is not linked to a stability assessment.") % {"code": locked.code},
                details={"field": "assessment"},
            )
        if locked.fed_at is not None:
            raise Conflict(
                _("The result of %(code)s was already added to %(assessment)s.")
                % {"code": locked.code, "assessment": locked.assessment.code},
                code="already_fed",
            )
        a = locked.assessment
        if a.state != StabilityAssessment.State.DRAFT:
            raise Conflict(
                _(
                    "Stability assessment %(assessment)s is on record and can no longer take "
                    "input; link the consultation to its new revision instead."
                )
                % {"assessment": a.code},
                code="assessment_on_record",
            )
        r = result(locked)
        if r.participants == 0:
            raise InvalidInput(
                _("Nobody commented on %(code)s, so there is nothing to add.")
                % {"code": locked.code},
                details={"field": "comments"},
            )
        item = stability.consultation_item(
            source=stability.Source.ONLINE,
            participants=r.participants,
            in_favour=r.in_favour,
            against=r.against,
            neutral=r.neutral,
            concerns=concerns(locked),
            held_on=timezone.localdate(locked.closes_at),
        )
        stability.add_consultation(actor, a, version=None, item=item)
        before = _snapshot(locked)
        locked.fed_at = clock.now()
        _save(locked)
        _record(
            actor,
            locked,
            "feed",
            before,
            extra={
                "participants": r.participants,
                "for": r.in_favour,
                "against": r.against,
                "neutral": r.neutral,
            },
        )
    return locked
