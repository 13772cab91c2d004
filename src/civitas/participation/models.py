"""Co-governance (共建共治共享): organisations, volunteers, tasks, consultations, suggestions.

:class:`Organisation` rows are the social organisations, enterprises, volunteer teams and
party organisations that take part, with their area and what they can offer. A
:class:`Participant` is a person's record of taking part: a party member or volunteer linked
to the community where they live (双报到) and to their own organisation.

Offices publish a :class:`Task` (often arising from an appeal); people and organisations take
it (:class:`TaskTake`), and the office confirms completion and the hours. A street or
department opens a :class:`Consultation` on a plan (documents, deadline, map area); residents
comment and support; the office answers publicly, and the result feeds a social stability
risk assessment. Residents make a :class:`Suggestion`; past a support threshold the
responsible unit must answer publicly. Public text can be reported (:class:`Report`) and
hidden with a reason.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.bilingual import BilingualName
from civitas.kit.crypto import EncryptedCharField
from civitas.org.models import Unit, User


class OrgKind(models.TextChoices):
    SOCIAL_ORG = "social_org", _("Social organisation")
    ENTERPRISE = "enterprise", _("Enterprise")
    VOLUNTEER_TEAM = "volunteer_team", _("Volunteer team")
    PARTY_ORG = "party_org", _("Party organisation")


class Offer(models.TextChoices):
    """What an organisation or a volunteer can offer."""

    ELDER_CARE = "elder_care", _("Help for elderly residents")
    CLEAN_UP = "clean_up", _("Clean-up and greening")
    MEDIATION = "mediation", _("Mediation")
    LEGAL_AID = "legal_aid", _("Legal advice")
    MEDICAL = "medical", _("Health care")
    REPAIRS = "repairs", _("Repairs")
    TUTORING = "tutoring", _("Tutoring")
    PATROL = "patrol", _("Safety patrol")
    FUNDS = "funds", _("Funds or materials")
    OTHER = "other", _("Other")


class Organisation(BilingualName, models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    code = models.CharField(_("code"), max_length=40, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrgKind.choices)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    offers = models.JSONField(_("what it can offer"), default=list, blank=True)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    # A person's name and phone: encrypted at rest (civitas.kit.crypto).
    contact_name = EncryptedCharField(_("contact person"), max_length=120, blank=True)
    contact_phone = EncryptedCharField(_("contact phone"), max_length=40, blank=True)
    # The government unit it reports to or works with (a street office, a community).
    partner_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("partner unit"),
    )
    managers = models.ManyToManyField(
        User, blank=True, related_name="+", verbose_name=_("people who act for it")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="pending")
    registered_by = models.CharField(_("registered by"), max_length=120)
    registered_at = models.DateTimeField(_("registered"), default=clock.now)
    # Why it was suspended or reactivated (the last decision), shown to staff.
    state_reason = models.CharField(_("reason"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["city", "kind", "code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Participant(models.Model):
    """A person taking part: a volunteer or a party member reporting to where they live."""

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting the community's confirmation")
        ACTIVE = "active", _("Active")
        LEFT = "left", _("Left")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="participant")
    city = models.CharField(_("city"), max_length=40, db_index=True)
    is_volunteer = models.BooleanField(_("volunteer"), default=True)
    is_party_member = models.BooleanField(_("party member"), default=False)
    home = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("community where they live"),
    )
    home_path = models.CharField(max_length=400, db_index=True, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("own organisation"),
    )
    skills = models.JSONField(_("what they can offer"), default=list, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="pending")
    reported_at = models.DateTimeField(_("reported to the community"), default=clock.now)
    confirmed_by = models.CharField(_("confirmed by"), max_length=120, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    # Why the community declined the report (shown to the person).
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["city", "home_path", "pk"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.home_path}"


class Task(models.Model):
    class Kind(models.TextChoices):
        ELDER_HELP = "elder_help", _("Help for an elderly resident")
        CLEAN_UP = "clean_up", _("Neighbourhood clean-up")
        MEDIATION = "mediation", _("A respected mediator needed")
        PATROL = "patrol", _("Safety patrol")
        EVENT = "event", _("Community event")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open to take")
        FULL = "full", _("Taken")
        DONE = "done", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    code = models.CharField(_("code"), max_length=32, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what is needed"))
    publisher = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("published by")
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    place = models.CharField(_("where"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    slots = models.PositiveSmallIntegerField(_("people or teams needed"), default=1)
    hours_expected = models.DecimalField(
        _("hours expected"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    appeal = models.ForeignKey(
        Appeal,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("arising from appeal"),
    )
    # A reference to where else it arose (a dispute code, say), shown to staff only.
    source_ref = models.CharField(_("arising from"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    published_by = models.CharField(_("published by"), max_length=120)
    published_at = models.DateTimeField(_("published"), default=clock.now, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class TaskTake(models.Model):
    """Someone (a person, or an organisation through one of its managers) taking a task."""

    class State(models.TextChoices):
        TAKEN = "taken", _("Taken")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        DONE = "done", _("Completed")
        NO_SHOW = "no_show", _("Did not come")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="takes")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="takes"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="taken")
    taken_at = models.DateTimeField(_("taken"), default=clock.now)
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1, null=True, blank=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=120, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["task", "taken_at", "pk"]
        verbose_name = _("task taken")
        verbose_name_plural = _("tasks taken")
        constraints = [
            models.UniqueConstraint(
                fields=["task", "user"],
                condition=models.Q(state__in=["taken", "done"]),
                name="uniq_live_take",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.user_id}"


class Moderated(models.Model):
    """Public text that can be hidden with a reason."""

    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)
    hidden_by = models.CharField(_("hidden by"), max_length=120, blank=True)
    hidden_reason = models.CharField(_("why hidden"), max_length=300, blank=True)

    class Meta:
        abstract = True


class Consultation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for comments")
        CLOSED = "closed", _("Closed, answer pending")
        ANSWERED = "answered", _("Answered")

    code = models.CharField(_("code"), max_length=32, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("the plan or decision"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("consulting unit")
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    # The area on the map when narrower than the jurisdiction (GeoJSON geometry).
    area = models.JSONField(_("area on the map"), null=True, blank=True)
    opens_at = models.DateTimeField(_("opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="draft")
    answer = models.TextField(_("public answer"), blank=True)
    changes = models.TextField(_("what was changed"), blank=True)
    answered_by = models.CharField(_("answered by"), max_length=120, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    # The social stability risk assessment its results feed (civitas.risk.stability).
    assessment = models.ForeignKey(
        "risk.StabilityAssessment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("stability assessment"),
    )
    fed_at = models.DateTimeField(_("fed to the assessment"), null=True, blank=True)
    created_by = models.CharField(_("created by"), max_length=120)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Document(models.Model):
    """A file published with a consultation."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="documents"
    )
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="consultations/%Y/%m/")
    added_by = models.CharField(_("added by"), max_length=120)
    added_at = models.DateTimeField(_("added"), default=clock.now)

    class Meta:
        ordering = ["consultation", "added_at", "pk"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.name


class Position(models.TextChoices):
    SUPPORT = "support", _("In favour")
    OPPOSE = "oppose", _("Against")
    NEUTRAL = "neutral", _("Neutral")


class Comment(Moderated):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    position = models.CharField(_("position"), max_length=8, choices=Position.choices)
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("written"), default=clock.now)
    supporters = models.ManyToManyField(User, blank=True, related_name="+")

    class Meta:
        ordering = ["consultation", "created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.consultation_id} #{self.pk}"


class Suggestion(Moderated):
    class Status(models.TextChoices):
        OPEN = "open", _("Gathering support")
        DUE = "due", _("Awaiting the unit's answer")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("code"), max_length=32, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("the suggestion"))
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible unit"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    support_count = models.PositiveIntegerField(_("supporters"), default=0)
    threshold = models.PositiveIntegerField(_("supporters needed for an answer"))
    threshold_reached_at = models.DateTimeField(_("threshold reached"), null=True, blank=True)
    answer_due = models.DateTimeField(_("answer due"), null=True, blank=True)
    answer = models.TextField(_("public answer"), blank=True)
    answered_by = models.CharField(_("answered by"), max_length=120, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed"), default=clock.now, db_index=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Support(models.Model):
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["suggestion", "at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "user"], name="uniq_support"),
        ]

    def __str__(self) -> str:
        return f"{self.suggestion_id} {self.user_id}"


class Report(models.Model):
    """Someone reporting public text (a comment or a suggestion) to the moderators."""

    class Target(models.TextChoices):
        COMMENT = "comment", _("Comment")
        SUGGESTION = "suggestion", _("Suggestion")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        HIDDEN = "hidden", _("Text hidden")
        DISMISSED = "dismissed", _("Dismissed")

    city = models.CharField(_("city"), max_length=40, db_index=True)
    target = models.CharField(_("what"), max_length=10, choices=Target.choices)
    target_id = models.PositiveBigIntegerField()
    target_path = models.CharField(max_length=400, db_index=True, editable=False)
    reporter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="open")
    at = models.DateTimeField(_("reported"), default=clock.now)
    decided_by = models.CharField(_("decided by"), max_length=120, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "target_id", "reporter"], name="uniq_report_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.target_id}"
