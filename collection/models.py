"""R1 customer information collection: spreadsheet imports into the pool (R1.2) and information
reports (R1.3). Written only by collection/services.py (the customers themselves are written by
customers.services and ownership.services, which the import calls)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Department
from customers.models import Customer, Source

# --- Imports (R1.2) ------------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded: map the columns")
    CHECKING = "checking", _("Checking the rows")
    CHECKED = "checked", _("Checked: ready to import")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Could not be read")
    CANCELLED = "cancelled", _("Cancelled")


class ImportBatch(models.Model):
    """One uploaded file. The file itself sits in PRIVATE_MEDIA_ROOT while the import is open and
    is deleted when it is imported or cancelled; the row verdicts stay, for the rejected report."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="imports"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    source_detail = models.CharField(_("source details"), max_length=200, blank=True)
    file_name = models.CharField(_("file"), max_length=255)
    file_hash = models.CharField(max_length=64, db_index=True, editable=False)
    file_size = models.PositiveBigIntegerField(default=0)
    file_format = models.CharField(max_length=8)  # "xlsx" | "csv"
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    stored_path = models.CharField(max_length=255, blank=True, editable=False)
    language = models.CharField(max_length=10, default="zh-hans", editable=False)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    error = models.TextField(_("error"), blank=True)
    estimated_rows = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    duplicate_count = models.PositiveIntegerField(_("duplicates"), default=0)
    in_file_count = models.PositiveIntegerField(_("duplicates inside the file"), default=0)
    invalid_count = models.PositiveIntegerField(_("invalid"), default=0)
    imported_count = models.PositiveIntegerField(_("imported"), default=0)
    as_task = models.BooleanField(default=False)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"))
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # When the running check or import was last handed to a worker (or started inline); empty
    # while it waits for an unreachable broker. resume-stalled-imports hands it again when nobody
    # works on it (collection.services.imports_resume_stalled).
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    resume_count = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "-created_at"], name="import_dept_recent")]

    def __str__(self) -> str:
        return self.file_name

    @property
    def rejected_count(self) -> int:
        return self.duplicate_count + self.in_file_count + self.invalid_count

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)

    @property
    def is_waiting(self) -> bool:
        """Running, but no worker has it: the broker could not be reached when it was queued."""
        return self.is_running and self.queued_at is None

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class Verdict(models.TextChoices):
    NEW = "new", _("New")
    DUPLICATE = "duplicate", _("Duplicate of an existing customer")
    IN_FILE = "in_file", _("Duplicate inside the file")
    INVALID = "invalid", _("Invalid")


class ImportRow(models.Model):
    """A row of the file with its verdict. `number` is the spreadsheet's row number (the header
    is row 1), so the importer finds it in its own file."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict)
    raw = models.JSONField(default=list)
    duplicate_customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duplicate_row = models.PositiveIntegerField(null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["batch", "number"]
        indexes = [models.Index(fields=["batch", "verdict", "number"], name="import_row_verdict")]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="import_row_once")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.number} {self.verdict}"


# --- Information reports (R1.3) ------------------------------------------------------------------


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class InfoReport(models.Model):
    """R1.3: plan (information needed, work plan), task assignments, compiled summary, the customer
    needs direction it concludes, category, linked customers; draft → published → archived."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="info_reports"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=60, help_text=_("An industry or a theme."))
    information_needed = models.TextField(_("information needed"), blank=True)
    work_plan = models.TextField(_("work plan"), blank=True)
    summary = models.TextField(_("compiled summary"), blank=True)
    needs_direction = models.TextField(_("customer needs direction"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    customers = models.ManyToManyField(
        Customer, through="InfoReportCustomer", related_name="info_reports", verbose_name=_("linked customers")
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("information report")
        verbose_name_plural = _("information reports")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "status", "-published_at"], name="inforeport_dept_status"),
            models.Index(fields=["department", "category"], name="inforeport_dept_category"),
        ]

    def __str__(self) -> str:
        return self.title


class InfoReportCustomer(models.Model):
    report = models.ForeignKey(InfoReport, on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "customer"], name="inforeport_customer_once")]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.customer_id}"


class InfoTask(models.Model):
    """R1.3 step 2: a task assigned to a salesperson, with the findings it adds before publication."""

    report = models.ForeignKey(InfoReport, on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT, related_name="info_tasks"
    )
    text = models.TextField(_("task"))
    findings = models.TextField(_("findings"), blank=True)
    findings_at = models.DateTimeField(_("findings added"), null=True, blank=True)
    created_at = models.DateTimeField(_("assigned"))

    class Meta:
        verbose_name = _("information task")
        verbose_name_plural = _("information tasks")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.assignee_id}"


class ReportAction(models.TextChoices):
    CREATED = "created", pgettext_lazy("information report history", "Created")
    PUBLISHED = "published", pgettext_lazy("information report history", "Published")
    ARCHIVED = "archived", pgettext_lazy("information report history", "Archived")


class InfoReportEvent(models.Model):
    """The history of a report's state changes, never edited."""

    report = models.ForeignKey(InfoReport, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=12, choices=ReportAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action}"
