"""R3 follow-ups: monthly visit plans, visit records, daily and weekly reports with comments.

Written only by followups/services.py."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Contact, Customer


class Channel(models.TextChoices):
    """R3.2: how the salesperson reached the customer."""

    VISIT = "visit", _("Visit")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    OTHER = "other", _("Other")


class VisitPlan(models.Model):
    """R3.1: a salesperson's plan for one month: the customers to visit and a target count."""

    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), on_delete=models.PROTECT, related_name="visit_plans"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    target_count = models.PositiveIntegerField(_("target number of visits"), default=0)
    customers = models.ManyToManyField(
        Customer, through="VisitPlanCustomer", related_name="visit_plans", verbose_name=_("planned customers")
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("visit plan")
        verbose_name_plural = _("visit plans")
        ordering = ["-month", "salesperson_id"]
        constraints = [models.UniqueConstraint(fields=["salesperson", "month"], name="visitplan_one_per_month")]

    def __str__(self) -> str:
        return f"{self.salesperson} {self.month:%Y-%m}"


class VisitPlanCustomer(models.Model):
    plan = models.ForeignKey(VisitPlan, on_delete=models.CASCADE, related_name="entries")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "customer"], name="visitplan_customer_once")]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.customer_id}"


class Visit(models.Model):
    """R3.2: one follow-up (a visit, a call, a message) of a customer by a salesperson."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="visits")
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), on_delete=models.PROTECT, related_name="visits"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="visits"
    )
    visited_at = models.DateTimeField(_("time"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.VISIT)
    discussed = models.TextField(_("what was discussed"))
    achievements = models.TextField(_("achievements"), blank=True)
    unsolved_problems = models.TextField(_("problems still unsolved"), blank=True)
    improvements_suggestions = models.TextField(_("improvements and suggestions"), blank=True)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at", "-id"]
        indexes = [
            # Reports: a salesperson's visits of a day or a week.
            models.Index(fields=["salesperson", "visited_at"], name="visit_salesperson_time"),
            # The customer page's timeline.
            models.Index(fields=["customer", "-visited_at"], name="visit_customer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.visited_at:%Y-%m-%d}"


class ReportKind(models.TextChoices):
    DAILY = "daily", _("Daily report")
    WEEKLY = "weekly", _("Weekly report")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class Report(models.Model):
    """R3.3: a daily or weekly report. On submission the compiled content is frozen in `content`
    (a JSON snapshot); a submitted report is never edited, later words are comments."""

    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), on_delete=models.PROTECT, related_name="reports"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ReportKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    summary = models.TextField(_("summary"), blank=True)
    content = models.JSONField(_("compiled content"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-period_start", "kind", "salesperson_id"]
        constraints = [
            models.UniqueConstraint(fields=["salesperson", "kind", "period_start"], name="report_one_per_period"),
        ]
        indexes = [models.Index(fields=["kind", "period_start", "status"], name="report_team_period")]

    def __str__(self) -> str:
        return f"{self.salesperson} {self.get_kind_display()} {self.period_start}"

    @property
    def is_submitted(self) -> bool:
        return self.status == ReportStatus.SUBMITTED


class ReportComment(models.Model):
    """Words after submission: the salesperson's additions and the manager's comments."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("report comment")
        verbose_name_plural = _("report comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.author}"
