"""Reads of imports and information reports, always scoped to the requesting user (R6.4)."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import roles
from accounts.models import User

from .models import ImportBatch, InfoReport, InfoTask, ReportStatus


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


# --- Imports (R1.2) ------------------------------------------------------------------------------


def can_import(user: User) -> bool:
    """Salespeople and managers of a department (and admins with one) import collected lists."""
    return (
        _active(user)
        and user.department_id is not None
        and (user.is_salesperson or user.is_manager or user.is_admin_role)
    )


def imports_visible_to(user: User) -> QuerySet[ImportBatch]:
    """Admins: all; a manager: its department's; a salesperson: its own uploads."""
    qs = ImportBatch.objects.all()
    if not _active(user):
        return qs.none()
    if user.is_admin_role:
        return qs
    if user.is_manager:
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    if user.is_salesperson:
        return qs.filter(uploaded_by=user)
    return qs.none()


def import_for_user(*, user: User, pk: int) -> ImportBatch:
    try:
        return imports_visible_to(user).select_related("uploaded_by", "department", "imported_by").get(pk=pk)
    except (ImportBatch.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def can_manage_import(user: User, batch: ImportBatch) -> bool:
    """Map, check, import or cancel: the uploader, a manager of the department, an admin."""
    if not _active(user):
        return False
    if user.is_admin_role:
        return True
    if user.is_manager and user.department_id == batch.department_id:
        return True
    return batch.uploaded_by_id == user.pk and user.department_id == batch.department_id


def previous_import(batch: ImportBatch) -> ImportBatch | None:
    """An earlier import of the very same file (same SHA-256) into the same department."""
    return (
        ImportBatch.objects.filter(department_id=batch.department_id, file_hash=batch.file_hash, status="done")
        .exclude(pk=batch.pk)
        .select_related("uploaded_by")
        .order_by("-imported_at")
        .first()
    )


def progress_key(batch_id: int) -> str:
    return f"collection:import:{batch_id}:progress"


def _cached_progress(batch_id: int) -> Any:
    """The running transaction's (done, total, unix time) from the cache; None when there is none
    or the cache (Redis) cannot be reached: a page must not fail for a progress bar."""
    try:
        return cache.get(progress_key(batch_id))
    except Exception as exc:
        logging.getLogger(__name__).warning("import %s: progress not read: %s", batch_id, exc)
        return None


def import_progress(batch: ImportBatch) -> tuple[int, int]:
    """(rows done, rows in all) of a running check or import: the running transaction publishes
    it in the cache (its row updates are not visible before it commits)."""
    value = _cached_progress(batch.pk)
    if value:
        return int(value[0]), int(value[1])
    return batch.processed_rows, batch.total_rows or batch.estimated_rows


def last_progress_at(batch_id: int) -> datetime | None:
    value = _cached_progress(batch_id)
    if value and len(value) > 2:
        return datetime.fromtimestamp(float(value[2]), tz=UTC)
    return None


def import_state(batch: ImportBatch, *, now: datetime | None = None) -> str:
    """What the progress bar says of a running batch: "waiting" (the broker could not be reached),
    "stalled" (no progress for IMPORT_STALL_MINUTES: resume-stalled-imports hands it to a worker
    again) or "running"."""
    if batch.is_waiting:
        return "waiting"
    now = now or timezone.now()
    latest = max(filter(None, [batch.queued_at, last_progress_at(batch.pk)]), default=None)
    if latest is not None and latest < now - timedelta(minutes=settings.IMPORT_STALL_MINUTES):
        return "stalled"
    return "running"


def can_export_customers(user: User) -> bool:
    """R6.4: exports are for managers (and admins)."""
    return _active(user) and (user.is_manager or user.is_admin_role)


# --- Information reports (R1.3) ------------------------------------------------------------------


def reports_visible_to(user: User) -> QuerySet[InfoReport]:
    """Admins: all. Managers: their department's, drafts included. Salespeople: their department's
    published and archived reports, and the drafts they wrote or hold a task in."""
    qs = InfoReport.objects.all()
    if not _active(user):
        return qs.none()
    if user.is_admin_role:
        return qs
    if not user.department_id:
        return qs.none()
    if user.is_manager:
        return qs.filter(department_id=user.department_id)
    if user.is_salesperson:
        drafts_of_mine = Q(author=user) | Q(pk__in=InfoTask.objects.filter(assignee=user).values("report_id"))
        return qs.filter(department_id=user.department_id).filter(~Q(status=ReportStatus.DRAFT) | drafts_of_mine)
    return qs.none()


def report_for_user(*, user: User, pk: int) -> InfoReport:
    try:
        return reports_visible_to(user).select_related("author", "department", "published_by", "archived_by").get(pk=pk)
    except (InfoReport.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def manages_report(user: User, report: InfoReport) -> bool:
    if user.is_admin_role:
        return True
    return user.is_manager and user.department_id == report.department_id


def can_edit_report(user: User, report: InfoReport) -> bool:
    """A draft is edited (plan, tasks, summary, linked customers) by its author and the managers."""
    return report.status == ReportStatus.DRAFT and (report.author_id == user.pk or manages_report(user, report))


def can_publish_report(user: User, report: InfoReport) -> bool:
    """Publishing sends the report to every salesperson of the department: a manager's act."""
    return report.status == ReportStatus.DRAFT and manages_report(user, report)


def can_archive_report(user: User, report: InfoReport) -> bool:
    return report.status == ReportStatus.PUBLISHED and manages_report(user, report)


def can_write_findings(user: User, task: InfoTask, report: InfoReport) -> bool:
    return report.status == ReportStatus.DRAFT and task.assignee_id == user.pk


def report_assignees(report: InfoReport) -> QuerySet[User]:
    """Who may get a task: the active salespeople of the report's department."""
    return (
        User.objects.filter(is_active=True, department_id=report.department_id, groups__name=roles.SALESPERSON)
        .distinct()
        .order_by("username")
    )


def report_categories(user: User) -> list[tuple[str, int]]:
    """The categories of the reports the user sees, with how many each (the archive's index)."""
    rows = (
        reports_visible_to(user)
        .exclude(status=ReportStatus.DRAFT)
        .values("category")
        .annotate(n=Count("id"))
        .order_by("category")
    )
    return [(r["category"], r["n"]) for r in rows[:200]]


def my_open_tasks(user: User) -> QuerySet[InfoTask]:
    """The salesperson's tasks in draft reports (R1.3: findings are added before publication)."""
    return (
        InfoTask.objects.filter(assignee=user, report__status=ReportStatus.DRAFT)
        .select_related("report")
        .order_by("created_at", "id")
    )
