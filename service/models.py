"""R6 customer service under first-inquiry responsibility (首问负责制).

Written only by service/services.py. A request's text and its responsible person never change;
everything that happens later is a RequestEvent (append-only)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Department
from customers.models import Customer


class RequestKind(models.TextChoices):
    """R6.1: what the customer came with."""

    VISIT = "visit", _("Visit")
    CALL = "call", _("Call")
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")


class RequestChannel(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter or fax")
    OTHER = "other", _("Other")


class RequestStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("service request status", "Open")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    """R6.2: the three ways a request ends. There is no "not my job"."""

    SOLVED = "solved", _("Solved on the spot")
    REFERRED = "referred", _("Referred")
    PLAN = "plan", _("Handling plan")


class ServiceRequest(models.Model):
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_requests",
    )
    # An unknown caller (not, or not yet, a customer).
    caller_name = models.CharField(_("caller"), max_length=60, blank=True)
    caller_phone = models.CharField(_("caller's phone"), max_length=30, blank=True)
    caller_company = models.CharField(_("caller's company"), max_length=200, blank=True)

    kind = models.CharField(_("type"), max_length=20, choices=RequestKind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=RequestChannel.choices)
    text = models.TextField(_("request"), help_text=_("What the customer asked for, as written. Never edited."))

    # R6.1: whoever logged it, until it is closed; never changes.
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        related_name="service_requests",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_requests",
        help_text=_("The responsible person's department when the request was logged."),
    )
    handling_department = models.ForeignKey(
        Department,
        verbose_name=_("handling department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    handling_person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handling person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    helpers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="RequestHelper",
        through_fields=("request", "user"),
        related_name="service_requests_helped",
        blank=True,
    )

    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    told_customer = models.TextField(
        _("told the customer"), blank=True, help_text=_("The referral's reason or the plan, as told to the customer.")
    )
    expected_on = models.DateField(_("expected resolution"), null=True, blank=True)
    standard_days = models.PositiveSmallIntegerField(_("time standard (days)"))
    due_on = models.DateField(
        _("due"), help_text=_("Logged day + the time standard; the expected resolution date once a plan is set.")
    )
    created_at = models.DateTimeField(_("logged"))
    # The due day the responsible person was last told is past (R6.3): told once per due day.
    overdue_notified_for = models.DateField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Overdue lists and the nav badge: open requests by due day, per person or department.
            models.Index(fields=["responsible", "due_on"], name="svc_open_resp_due", condition=Q(status="open")),
            models.Index(fields=["department", "due_on"], name="svc_open_dept_due", condition=Q(status="open")),
            models.Index(fields=["responsible", "-created_at"], name="svc_resp_recent"),
            models.Index(fields=["department", "-created_at"], name="svc_dept_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False), name="svc_closed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    IMMUTABLE = frozenset({"responsible", "responsible_id", "text", "created_at", "kind", "customer", "customer_id"})

    def save(self, *args, **kwargs):
        """After creation only named fields are written, never the responsible person (R6.1) nor
        the submitted text (R6.5)."""
        if self.pk is not None and not kwargs.get("force_insert"):
            fields = kwargs.get("update_fields")
            if fields is None or self.IMMUTABLE & set(fields):
                raise ValueError("A service request's responsible person and text are never changed.")
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN

    @property
    def caller_label(self) -> str:
        return self.caller_company or self.caller_name or "—"


class RequestHelper(models.Model):
    """Staff who help the responsible person; added, never removed."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="helper_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="svc_helper_once")]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.user_id}"


class EventKind(models.TextChoices):
    LOGGED = "logged", _("Logged")
    NOTE = "note", _("Note")
    SOLVED = "solved", _("Solved on the spot")
    REFERRED = "referred", _("Referred")
    PLANNED = "planned", _("Handling plan")
    EXPECTED_MOVED = "expected_moved", _("Expected date moved")
    HELPER_ADDED = "helper_added", _("Helper added")
    CLOSED = "closed", _("Closed")


class RequestEvent(models.Model):
    """The request's timeline. Append-only: save() refuses updates, delete() refuses deletes."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    old_date = models.DateField(null=True, blank=True)
    new_date = models.DateField(null=True, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A service request's timeline is never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A service request's timeline is never deleted.")


class ServiceSettings(models.Model):
    """R6.3: a department's time standards, in calendar days from the day a request is logged."""

    DEFAULTS = {"visit_days": 1, "call_days": 1, "consultation_days": 1, "complaint_days": 2}

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="service_settings")
    visit_days = models.PositiveSmallIntegerField(_("visit"), default=1)
    call_days = models.PositiveSmallIntegerField(_("call"), default=1)
    consultation_days = models.PositiveSmallIntegerField(_("consultation"), default=1)
    complaint_days = models.PositiveSmallIntegerField(_("complaint"), default=2)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")

    def __str__(self) -> str:
        return str(self.department)

    def days_for(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_days"))
