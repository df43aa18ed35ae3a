"""Is the nightly job (R5.2, R5.4, R5.10, R7.3) still running every night?

A missed night is the failure that matters: customers past their deadline stay with their owners
and nobody notices. This module reads the job's own bookkeeping (NightlyRun rows: a run that fails
rolls back and leaves none, a skipped one says so) and says whether a run succeeded within
NIGHTLY_STALE_HOURS. It feeds the panel on the release log and the upcoming releases page, the
Django admin's nightly runs list, /healthz, and the hourly reminder to admins.

Kept apart from nightly.py, which runs the job itself."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from crm.db import try_xact_lock
from notifications.selectors import notified_since
from notifications.services import Message, notify_many

from .models import NightlyRun

NOTIFICATION_KIND = "nightly_overdue"
REMIND_EVERY = timedelta(hours=24)
LOCK_KEY = "crm.ownership.nightly_overdue_check"

OK, STALE, PENDING = "ok", "stale", "pending"


@dataclass(frozen=True)
class NightlyStatus:
    state: str  # OK, STALE, or PENDING (never succeeded, installed less than the limit ago)
    last: NightlyRun | None  # the last successful run
    since: datetime  # when the clock started: the last success, or the installation
    stale_hours: int

    @property
    def ok(self) -> bool:
        return self.state != STALE

    @property
    def hours_since(self) -> int:
        return int((timezone.now() - self.since).total_seconds() // 3600)


def last_successful_run() -> NightlyRun | None:
    """The latest real run (not a dry run, not skipped) that finished, as of its own day or later:
    a run by hand for a past date (`--as-of`) does not stand for tonight's."""
    return (
        NightlyRun.objects.filter(dry_run=False, skipped=False, finished_at__isnull=False)
        .filter(as_of__gte=TruncDate("started_at"))  # the started_at's Asia/Shanghai day
        .order_by("-finished_at", "-id")
        .first()
    )


def _installed_at() -> datetime:
    applied = MigrationRecorder(connection).migration_qs.order_by("applied").values_list("applied", flat=True).first()
    return applied or timezone.now()


def nightly_status(*, now: datetime | None = None) -> NightlyStatus:
    now = now or timezone.now()
    limit = settings.NIGHTLY_STALE_HOURS
    last = last_successful_run()
    since = last.finished_at if last is not None and last.finished_at else _installed_at()
    fresh = since >= now - timedelta(hours=limit)
    state = STALE if not fresh else OK if last is not None else PENDING
    return NightlyStatus(state=state, last=last, since=since, stale_hours=limit)


def nightly_health() -> tuple[bool, dict[str, Any]]:
    """For /healthz (crm.health): reported, never a reason for a 503 by itself (crm/views.py)."""
    status = nightly_status()
    last = status.last.finished_at if status.last else None
    return status.ok, {"nightly": status.state, "nightly_last_success": last.isoformat() if last else None}


def _admins() -> list[User]:
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=roles.ADMIN))
        .distinct()
        .order_by("pk")
    )


def nightly_notify_if_stale(*, now: datetime | None = None) -> int:
    """Tell every active admin when no nightly run succeeded for NIGHTLY_STALE_HOURS, once, then
    once a day while it lasts. Run hourly by beat (task ownership.tasks.check_nightly_overdue,
    command `check_nightly`); safe twice, and two runs at once send one reminder (advisory lock).
    Returns how many admins were notified."""
    now = now or timezone.now()
    status = nightly_status(now=now)
    if status.ok:
        return 0
    with transaction.atomic():
        if not try_xact_lock(LOCK_KEY):
            return 0
        admins = _admins()
        done = notified_since(
            user_ids=[u.pk for u in admins], kind=NOTIFICATION_KIND, after=max(status.since, now - REMIND_EVERY)
        )
        values = {
            "hours": int((now - status.since).total_seconds() // 3600),
            "time": timezone.localtime(status.since).strftime("%Y-%m-%d %H:%M"),
        }
        if status.last is not None:
            text = (
                _(
                    "The nightly customer release has not completed for %(hours)d hours (last success: "
                    "%(time)s). Customers past their deadline stay with their owners until it runs: check "
                    "the Celery worker and beat, or run release_customers."
                )
                % values
            )
        else:
            text = (
                _(
                    "The nightly customer release has never completed since the installation (%(time)s). "
                    "Customers past their deadline stay with their owners until it runs: check the Celery "
                    "worker and beat, or run release_customers."
                )
                % values
            )
        url = reverse("ownership:release_log")
        return notify_many(
            messages=[Message(u.pk, NOTIFICATION_KIND, text, url) for u in admins if u.pk not in done], now=now
        )
