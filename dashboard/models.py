"""Summaries the dashboard reads instead of scanning a million customers and their history.

Written only by dashboard/summary.py, during the nightly job (or `manage.py dashboard_summarize`):
- `PoolFlowDay`: how many customers entered and left each department's pool per Asia/Shanghai
  day and flow, from the ownership history. Kept for every day (the weekly flows need history).
- `CustomerCount`, `ReleaseCount`, `MissingNoteCount`: the state at the last summary (customers by
  owner and tier, the next nights' releases, open missing release notes), replaced at each one.
- `SalesMonth`: confirmed sales per department, salesperson and month, of the sale dates before the
  day of the summary, replaced at each one; the dashboard corrects it with the orders whose sale
  changed since (their sales history says which).
- `SummaryRun`: when each summary was taken; the latest one's `taken_at` is the watermark: the
  dashboard adds what happened after it from the live tables.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from ownership.selectors import PoolFlow

PROBLEM = "problem"  # CustomerCount.tier of problem customers (R2.3: shown instead of a tier)


class SummaryRun(models.Model):
    taken_at = models.DateTimeField(_("taken at"), help_text=_("History up to this moment is summarised."))
    as_of = models.DateField(_("as of"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=40)

    class Meta:
        verbose_name = _("dashboard summary")
        verbose_name_plural = _("dashboard summaries")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M}"


class PoolFlowDay(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    flow = models.CharField(max_length=20, choices=PoolFlow.choices)
    n = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["department", "day", "flow"], name="poolflowday_once")]
        indexes = [models.Index(fields=["day", "department"], name="poolflowday_day")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.day} {self.flow}: {self.n}"


SHOWN_TIERS = ("vip", "special_vip", "a", "b", "c", PROBLEM)  # customers.Tier's values, then problem


class CustomerCount(models.Model):
    """Customers of a department per owner (none: the pool) at the last summary, by the tier they
    show, and how many of the owner's have no sale during this ownership (R5.8's limit)."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    vip = models.PositiveIntegerField(default=0)
    special_vip = models.PositiveIntegerField(default=0)
    a = models.PositiveIntegerField(default=0)
    b = models.PositiveIntegerField(default=0)
    c = models.PositiveIntegerField(default=0)
    problem = models.PositiveIntegerField(default=0)
    unsold = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.department_id} {self.owner_id}"


class ReleaseCount(models.Model):
    """What each of the next nightly runs will release, per owner (R5.11), at the last summary."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    run_date = models.DateField()
    n = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.department_id} {self.owner_id} {self.run_date}: {self.n}"


class MissingNoteCount(models.Model):
    """Release notes still missing per former owner (R7.3), at the last summary."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    former_owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.department_id} {self.former_owner_id}: {self.n}"


class SalesMonth(models.Model):
    """Confirmed sales (R8.1, by sale date) of the days before the summary's day, per department,
    salesperson and calendar month."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "department"], name="salesmonth_month")]

    def __str__(self) -> str:
        return f"{self.department_id} {self.salesperson_id} {self.month:%Y-%m}: {self.amount}"
