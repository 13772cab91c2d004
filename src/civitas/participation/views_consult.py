"""Pages of public consultations (/participate/consultations/): the list and each
consultation's page are open to everyone (drafts only to their office); signed-in people
comment and support; staff create, open, extend, close, answer and feed the assessment."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError, NotFound
from civitas.org import access
from civitas.participation import consultations as svc
from civitas.participation import selectors_consult as sel
from civitas.participation.forms_consult import (
    AnswerForm,
    CloseForm,
    CommentForm,
    ConsultationForm,
    DocumentForm,
    ExtendForm,
    LinkForm,
)
from civitas.participation.models import Comment, Consultation

PAGE_SIZE = 20


def _form_error(form: Any, exc: CivitasError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)


def _get(request: HttpRequest, code: str) -> Consultation:
    try:
        return sel.get(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _detail(c: Consultation) -> HttpResponse:
    return redirect("participation-consultation", code=c.code)


def consultations(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    items = sel.public_consultations(status=status)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    may_create = access.can(request.user, "participation.manage")
    return render(
        request,
        "participation/consult_list.html",
        {
            "page": page,
            "status": status if status in sel.PUBLIC else "",
            "statuses": [(s.value, s.label) for s in sel.PUBLIC],
            "drafts": list(sel.drafts(request.user)[:50]) if may_create else [],
            "may_create": may_create,
        },
    )


@login_required
def new(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "participation.manage"):
        raise PermissionDenied(
            _("Only staff of a street office, a community or a department open consultations.")
        )
    form = ConsultationForm(request.POST or None, request.FILES or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = svc.create(
                request.user,
                unit=d["unit"],
                jurisdiction=d["jurisdiction"],
                title=d["title"],
                body=d["body"],
                closes_at=d["closes_at"],
                area=d["area"],
                assessment=d["assessment"],
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            if d.get("document"):
                try:
                    svc.add_document(request.user, c, d["document"])
                except CivitasError as exc:
                    messages.error(request, exc.message)
            messages.success(
                request,
                _("Draft %(code)s saved. Nobody outside the office sees it until you open it.")
                % {"code": c.code},
            )
            return _detail(c)
    return render(request, "participation/consult_form.html", {"form": form})


def consultation(request: HttpRequest, code: str) -> HttpResponse:
    c = _get(request, code)
    user = request.user
    manage = svc.may_manage_consultation(user, c)
    signed_in = bool(getattr(user, "is_authenticated", False))
    is_open = c.status == Consultation.Status.OPEN
    ctx: dict[str, Any] = {
        "c": c,
        "documents": list(sel.documents(c)),
        "comments": sel.comments(c, user),
        "result": sel.counts(c),
        "manage": manage,
        "signed_in": signed_in,
        "is_open": is_open,
        "comment_form": CommentForm() if is_open and signed_in else None,
        "login_url": f"{reverse('login')}?next={quote(request.get_full_path())}",
    }
    if manage:
        v = {"version": c.version}
        ctx.update(
            document_form=DocumentForm() if c.status in ("draft", "open") else None,
            extend_form=ExtendForm(initial=v) if is_open else None,
            close_form=CloseForm(initial=v) if is_open else None,
            answer_form=AnswerForm(initial=v) if c.status == "closed" else None,
            link_form=LinkForm(initial={**v, "assessment": c.assessment_id}, actor=user)
            if c.fed_at is None
            else None,
            may_feed=bool(c.assessment_id)
            and c.fed_at is None
            and c.status in ("closed", "answered"),
        )
    return render(request, "participation/consult_detail.html", ctx)


def area_map(request: HttpRequest, code: str) -> JsonResponse:
    c = _get(request, code)
    return JsonResponse(sel.area_map(c))


def document(request: HttpRequest, code: str, pk: int) -> FileResponse:
    try:
        d = sel.document(request.user, code, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        handle = d.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the file is missing") from exc
    response = FileResponse(handle, content_type=d.content_type)
    name = svc.filename(d)
    ascii_name = "".join(ch if ch.isascii() and ch not in '"\\;' else "_" for ch in name)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = (
        "public, max-age=600" if sel.is_public(d.consultation) else "private, no-store"
    )
    return response


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@require_POST
def comment(request: HttpRequest, code: str) -> HttpResponse:
    c = _get(request, code)
    if not request.user.is_authenticated:
        return redirect(
            f"{reverse('login')}?next={quote(reverse('participation-consultation', args=[c.code]))}"
        )
    form = CommentForm(request.POST)
    if not form.is_valid():
        _fail(request, form)
        return _detail(c)
    try:
        svc.comment(
            request.user, c, position=form.cleaned_data["position"], text=form.cleaned_data["text"]
        )
    except CivitasError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: your comment is published under your pseudonym."))
    return _detail(c)


@require_POST
def support(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    c = _get(request, code)
    if not request.user.is_authenticated:
        return redirect(
            f"{reverse('login')}?next={quote(reverse('participation-consultation', args=[c.code]))}"
        )
    target = Comment.objects.filter(consultation=c, pk=pk).select_related("consultation").first()
    if target is None:
        raise Http404(_("There is no such comment."))
    try:
        svc.support(request.user, target)
    except CivitasError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You support this comment."))
    return redirect(f"{reverse('participation-consultation', args=[c.code])}#comment-{pk}")


def _staff(request: HttpRequest, code: str) -> Consultation:
    if not request.user.is_authenticated:
        raise PermissionDenied(_("Sign in first."))
    c = _get(request, code)
    if not svc.may_manage_consultation(request.user, c):
        raise PermissionDenied(_("You may not manage this consultation."))
    return c


def _fail(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        text = " ".join(str(e) for e in errors)
        messages.error(request, f"{label}: {text}" if label else text)


@login_required
@require_POST
def act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    c = _staff(request, code)
    user = request.user
    try:
        if action == "open":
            svc.open_(user, c, version=_version(request))
            messages.success(request, _("%(code)s is open for comments.") % {"code": c.code})
        elif action == "document":
            doc_form = DocumentForm(request.POST, request.FILES)
            if not doc_form.is_valid():
                _fail(request, doc_form)
                return _detail(c)
            svc.add_document(
                user, c, doc_form.cleaned_data["document"], name=doc_form.cleaned_data["name"]
            )
            messages.success(request, _("The document is added."))
        elif action == "extend":
            ext = ExtendForm(request.POST)
            if not ext.is_valid():
                _fail(request, ext)
                return _detail(c)
            svc.extend(
                user,
                c,
                version=ext.cleaned_data["version"],
                closes_at=ext.cleaned_data["closes_at"],
                reason=ext.cleaned_data["reason"],
            )
            messages.success(request, _("The closing date is moved."))
        elif action == "close":
            cl = CloseForm(request.POST)
            if not cl.is_valid():
                _fail(request, cl)
                return _detail(c)
            svc.close(user, c, version=cl.cleaned_data["version"], reason=cl.cleaned_data["reason"])
            messages.success(request, _("%(code)s is closed.") % {"code": c.code})
        elif action == "answer":
            ans = AnswerForm(request.POST)
            if not ans.is_valid():
                _fail(request, ans)
                return _detail(c)
            done = svc.answer_and_feed(
                user,
                c,
                version=ans.cleaned_data["version"],
                answer_text=ans.cleaned_data["answer"],
                changes=ans.cleaned_data["changes"],
            )
            messages.success(request, _("The answer is published."))
            if done.fed:
                messages.success(
                    request,
                    _("The result is added to stability assessment %(code)s.")
                    % {
                        "code": done.consultation.assessment.code
                        if done.consultation.assessment
                        else ""
                    },
                )
            elif done.note:
                messages.warning(
                    request, _("Not added to the assessment: %(why)s") % {"why": done.note}
                )
        elif action == "feed":
            fed = svc.feed(user, c)
            messages.success(
                request,
                _("The result is added to stability assessment %(code)s.")
                % {"code": fed.assessment.code if fed.assessment else ""},
            )
        elif action == "link":
            link = LinkForm(request.POST, actor=user)
            if not link.is_valid():
                _fail(request, link)
                return _detail(c)
            svc.link_assessment(
                user,
                c,
                version=link.cleaned_data["version"],
                assessment=link.cleaned_data["assessment"],
            )
            messages.success(request, _("The assessment link is saved."))
        else:
            raise Http404(_("There is no such action."))
    except CivitasError as exc:
        messages.error(request, exc.message)
    return _detail(c)
