"""Pages of social stability risk assessments (/risk/stability/): the list, the form, the
record, and the actions on a draft (consultation input, appeals, the level, putting it on
record) and on a record (a new revision, following it in the risk register)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError
from civitas.org import access
from civitas.risk import selectors, stability
from civitas.risk.forms_stability import (
    AppealForm,
    AssessmentForm,
    ConsultationForm,
    LinkRiskForm,
    OpenRiskForm,
    places,
)
from civitas.risk.models import RiskItem, StabilityAssessment, StabilityLevel

PAGE_SIZE = 30


def _require_read(request: HttpRequest) -> None:
    if not access.can(request.user, "risk.read"):
        raise PermissionDenied(
            _(
                "Stability assessments are open to analysts, dispatchers, administrators, unit "
                "leaders and auditors."
            )
        )


def _require_manage(request: HttpRequest) -> None:
    if not access.can(request.user, "risk.manage"):
        raise PermissionDenied(
            _("Only analysts, dispatchers, administrators and unit leaders write assessments.")
        )


def _get(request: HttpRequest, code: str) -> StabilityAssessment:
    _require_read(request)
    try:
        return stability.get(request.user, code)
    except CivitasError as exc:
        raise Http404(exc.message) from exc


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _form_error(form: Any, exc: CivitasError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)


@login_required
def assessments(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    state = request.GET.get("state", "")
    level = request.GET.get("level", "")
    area = request.GET.get("area", "").strip()
    q = request.GET.get("q", "").strip()[:80]
    state = state if state in StabilityAssessment.State.values else ""
    level = level if level in StabilityLevel.values else ""
    items = stability.assessments(request.user, state=state, level=level, area=area, search=q)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "risk/stability_list.html",
        {
            "page": page,
            "state": state,
            "level": level,
            "area": area,
            "q": q,
            "states": StabilityAssessment.State.choices,
            "levels": [(v, stability.SHORT_LEVELS[StabilityLevel(v)]) for v in StabilityLevel],
            "areas": _areas(request),
            "decisions": {v: stability.decision_for(v) for v in StabilityLevel.values},
            "may_write": access.can(request.user, "risk.manage"),
            "qs": params.urlencode(),
        },
    )


def _areas(request: HttpRequest) -> list[Any]:
    """Places to filter by: those of the assessments the person may read."""
    paths = set(
        stability.assessments(request.user).values_list("jurisdiction_path", flat=True)[:2000]
    )
    codes = {c for p in paths for c in p.strip("/").split("/")}
    return list(places(request.user).filter(code__in=codes)) if codes else []


@login_required
def new(request: HttpRequest) -> HttpResponse:
    _require_read(request)
    _require_manage(request)
    form = AssessmentForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            # One transaction: a level refused for want of a reason leaves no draft behind.
            with transaction.atomic():
                created = stability.create(request.user, **form.service_fields())
                if form.cleaned_data["set_level"]:
                    created = stability.set_level(
                        request.user,
                        created,
                        version=created.version,
                        level=form.cleaned_data["set_level"],
                        reason=form.cleaned_data["level_reason"],
                    )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Draft %(code)s was started.") % {"code": created.code})
            return redirect("risk-stability", code=created.code)
    return render(
        request,
        "risk/stability_form.html",
        {"form": form, "a": None, "rule": _rule_text()},
    )


@login_required
def edit(request: HttpRequest, code: str) -> HttpResponse:
    a = _get(request, code)
    if not stability.may_write(request.user, a):
        raise PermissionDenied(_("You may read this assessment but not change it."))
    if a.state != StabilityAssessment.State.DRAFT:
        messages.error(
            request,
            _("%(code)s is on record and can no longer be changed; start a new revision.")
            % {"code": a.code},
        )
        return redirect("risk-stability", code=a.code)
    form = AssessmentForm(
        request.POST or None, initial=AssessmentForm.initial_for(a), actor=request.user, current=a
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = stability.update(
                request.user,
                a,
                version=form.cleaned_data["version"],
                fields=form.service_fields(),
                set_level=form.cleaned_data["set_level"],
                level_reason=form.cleaned_data["level_reason"],
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("%(code)s was saved.") % {"code": saved.code})
            return redirect("risk-stability", code=saved.code)
    return render(
        request,
        "risk/stability_form.html",
        {"form": form, "a": a, "rule": _rule_text()},
    )


def _rule_text() -> list[str]:
    limits = {
        "high": stability.HIGH_MAX_SCORE,
        "medium": stability.MEDIUM_MAX_SCORE,
        "low": stability.MEDIUM_MAX_SCORE + 1,
        "high_share": int(stability.HIGH_OPPOSITION * 100),
        "medium_share": int(stability.MEDIUM_OPPOSITION * 100),
    }
    return [
        _(
            "High: any dimension scores %(high)d or less, or %(high_share)d%% or more of the "
            "counted positions in the consultation are against."
        )
        % limits,
        _(
            "Medium: otherwise, any dimension scores %(medium)d or less, or %(medium_share)d%% "
            "or more are against."
        )
        % limits,
        _(
            "Low: every dimension scores %(low)d or more and less than %(medium_share)d%% are "
            "against."
        )
        % limits,
    ]


def _risk_url(risk: RiskItem | None) -> str:
    if risk is None:
        return ""
    try:
        return reverse("risk-risk", args=[risk.code])
    except NoReverseMatch:
        return ""


def _detail_context(request: HttpRequest, a: StabilityAssessment, **forms: Any) -> dict[str, Any]:
    writer = stability.may_write(request.user, a)
    draft = a.state == StabilityAssessment.State.DRAFT
    count = stability.tally(a.consultation)
    items = [
        {
            **item,
            "index": i,
            "source_label": stability.Source(item["source"]).label
            if item.get("source") in stability.Source.values
            else item.get("source", ""),
        }
        for i, item in enumerate(a.consultation)
    ]
    dimensions = [
        {
            "name": d,
            "label": stability.DIMENSION_LABELS[d],
            "question": stability.DIMENSION_QUESTIONS[d],
            "score": getattr(a, d),
            "note": getattr(a, f"{d}_note"),
        }
        for d in stability.DIMENSIONS
    ]
    followable = a.level in (StabilityLevel.HIGH, StabilityLevel.MEDIUM) and a.risk_id is None
    people = selectors.people([a.created_by, a.finalised_by])
    context: dict[str, Any] = {
        "created_by": people.get(a.created_by, a.created_by),
        "finalised_by": people.get(a.finalised_by, a.finalised_by),
        "a": a,
        "dimensions": dimensions,
        "items": items,
        "tally": count,
        "appeals": stability.attached_appeals(a),
        "short_levels": {k.value: v for k, v in stability.SHORT_LEVELS.items()},
        "level_label": stability.SHORT_LEVELS[StabilityLevel(a.level)] if a.level else "",
        "computed_label": stability.SHORT_LEVELS[StabilityLevel(a.computed_level)]
        if a.computed_level
        else "",
        "overridden": stability.is_overridden(a),
        "decision": stability.decision_for(a.level),
        "reasons": stability.rule_reasons(a),
        "rule": _rule_text(),
        "missing": stability.readiness(a) if draft else [],
        "editions": stability.editions(a),
        "history": stability.steps(a),
        "may_write": writer,
        "editable": writer and draft,
        "risk_url": _risk_url(a.risk),
        "followable": writer and followable,
        "consultation_form": forms.get("consultation_form")
        or ConsultationForm(initial={"version": a.version}),
        "appeal_form": forms.get("appeal_form") or AppealForm(initial={"version": a.version}),
        "open_risk_form": forms.get("open_risk_form")
        or OpenRiskForm(initial=OpenRiskForm.initial_for(a), actor=request.user),
        "link_risk_form": forms.get("link_risk_form")
        or LinkRiskForm(initial={"version": a.version}),
    }
    return context


@login_required
def detail(request: HttpRequest, code: str) -> HttpResponse:
    a = _get(request, code)
    return render(request, "risk/stability_detail.html", _detail_context(request, a))


def _writer(request: HttpRequest, code: str) -> StabilityAssessment:
    a = _get(request, code)
    if not stability.may_write(request.user, a):
        raise PermissionDenied(_("You may read this assessment but not change it."))
    return a


def _done(request: HttpRequest, a: StabilityAssessment, message: str, anchor: str = "") -> Any:
    messages.success(request, message)
    return redirect(reverse("risk-stability", args=[a.code]) + (f"#{anchor}" if anchor else ""))


def _failed(request: HttpRequest, a: StabilityAssessment, exc: CivitasError, anchor: str) -> Any:
    messages.error(request, exc.message)
    return redirect(reverse("risk-stability", args=[a.code]) + f"#{anchor}")


def _again(request: HttpRequest, a: StabilityAssessment, **forms: Any) -> HttpResponse:
    """The record again with a form's errors (the form keeps what was typed)."""
    return render(request, "risk/stability_detail.html", _detail_context(request, a, **forms))


@login_required
@require_POST
def consultation_add(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    form = ConsultationForm(request.POST)
    if form.is_valid():
        try:
            a = stability.add_consultation(
                request.user, a, version=form.cleaned_data["version"], item=form.item()
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            return _done(request, a, _("The consultation input was added."), "consultation")
    return _again(request, a, consultation_form=form)


@login_required
@require_POST
def consultation_remove(request: HttpRequest, code: str, index: int) -> HttpResponse:
    a = _writer(request, code)
    try:
        a = stability.remove_consultation(request.user, a, version=_version(request), index=index)
    except CivitasError as exc:
        return _failed(request, a, exc, "consultation")
    return _done(request, a, _("The consultation item was removed."), "consultation")


@login_required
@require_POST
def appeal_attach(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            a = stability.attach_appeal(
                request.user,
                a,
                version=form.cleaned_data["version"],
                ticket=form.cleaned_data["ticket"],
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            return _done(
                request,
                a,
                _("Appeal %(ticket)s was attached.") % {"ticket": form.cleaned_data["ticket"]},
                "appeals",
            )
    return _again(request, a, appeal_form=form)


@login_required
@require_POST
def appeal_detach(request: HttpRequest, code: str, ticket: str) -> HttpResponse:
    a = _writer(request, code)
    try:
        a = stability.detach_appeal(request.user, a, version=_version(request), ticket=ticket)
    except CivitasError as exc:
        return _failed(request, a, exc, "appeals")
    return _done(request, a, _("Appeal %(ticket)s was detached.") % {"ticket": ticket}, "appeals")


@login_required
@require_POST
def put_on_record(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    try:
        a = stability.put_on_record(request.user, a, version=_version(request))
    except CivitasError as exc:
        return _failed(request, a, exc, "record")
    return _done(request, a, _("%(code)s is on record.") % {"code": a.code})


@login_required
@require_POST
def revise(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    try:
        copy = stability.revise(request.user, a)
    except CivitasError as exc:
        return _failed(request, a, exc, "record")
    return _done(
        request,
        copy,
        _("Revision %(code)s was started from %(old)s.") % {"code": copy.code, "old": a.code},
    )


@login_required
@require_POST
def open_risk(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    form = OpenRiskForm(request.POST, actor=request.user)
    if form.is_valid():
        d = form.cleaned_data
        deadline = timezone.make_aware(datetime.combine(d["deadline"], time(18, 0)))
        try:
            a = stability.open_risk(
                request.user,
                a,
                version=d["version"],
                level=d["level"],
                owner_unit=d["owner_unit"],
                deadline=deadline,
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            code = a.risk.code if a.risk else ""
            return _done(
                request, a, _("Risk %(risk)s was opened in the register.") % {"risk": code}, "risk"
            )
    return _again(request, a, open_risk_form=form)


@login_required
@require_POST
def link_risk(request: HttpRequest, code: str) -> HttpResponse:
    a = _writer(request, code)
    form = LinkRiskForm(request.POST)
    if form.is_valid():
        found = access.readable(
            request.user, RiskItem.objects.filter(code=form.cleaned_data["risk"].strip())
        ).first()
        if found is None:
            form.add_error("risk", _("There is no risk with this code that you may read."))
        else:
            try:
                a = stability.link_risk(
                    request.user, a, version=form.cleaned_data["version"], risk=found
                )
            except CivitasError as exc:
                _form_error(form, exc)
            else:
                return _done(
                    request,
                    a,
                    _("%(code)s is followed as risk %(risk)s.")
                    % {"code": a.code, "risk": found.code},
                    "risk",
                )
    return _again(request, a, link_risk_form=form)


__all__ = [
    "appeal_attach",
    "appeal_detach",
    "assessments",
    "consultation_add",
    "consultation_remove",
    "detail",
    "edit",
    "link_risk",
    "new",
    "open_risk",
    "put_on_record",
    "revise",
]
