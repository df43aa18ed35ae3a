"""Missed nights: `release_customers` exits non-zero when it did nothing, the last successful run is
shown to managers and admins, /healthz reports it (stale after NIGHTLY_STALE_HOURS) and the admins
are told, once a day, while no run succeeds."""

import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from notifications.models import Notification
from ownership import monitoring, nightly
from ownership.models import NightlyRun
from ownership.monitoring import NOTIFICATION_KIND, nightly_notify_if_stale, nightly_status

from .factories import UserFactory
from .helpers import at, owned_customer, reload

pytestmark = pytest.mark.usefixtures("english")

DAY = date(2026, 11, 20)


def _succeed(time_machine, day: date = DAY) -> NightlyRun:
    """The night's run, at 01:00 of `day` (the clock stays there)."""
    time_machine.move_to(at(day, 1), tick=False)
    return nightly.nightly_release().run


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True, department=None)


# --- The command's exit status ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_exits_zero_and_is_the_last_success(owner):
    owned_customer(owner, since=date(2026, 1, 1))
    out = StringIO()
    call_command("release_customers", stdout=out)  # as of today
    assert "released 1 customers" in out.getvalue()
    assert monitoring.last_successful_run() == NightlyRun.objects.get()
    assert nightly_status().state == "ok"


@pytest.mark.django_db
def test_a_failed_run_exits_one_and_changes_nothing(owner):
    """A step that fails (here a nightly step registered through the job's own extension point)
    rolls the whole run back: no release, no run row, exit status 1."""
    c = owned_customer(owner, since=date(2026, 1, 1))

    def broken(**kwargs):
        raise RuntimeError("disk full")

    nightly.register_nightly_step("test-broken", broken)
    try:
        with pytest.raises(CommandError, match="failed and changed nothing: disk full") as caught:
            call_command("release_customers", stdout=StringIO())
    finally:
        nightly._extra_steps.pop("test-broken")
    assert caught.value.returncode == 1
    assert reload(c).owner == owner and not NightlyRun.objects.exists()
    assert monitoring.last_successful_run() is None


def _hold_nightly_lock(ready: threading.Event, release: threading.Event) -> None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [nightly.LOCK_KEY])
            ready.set()
            release.wait(timeout=60)
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_skipped_run_exits_three_for_cron(owner):
    """For real: another run holds the lock; `manage.py release_customers`, as cron runs it, exits 3
    and says why; the skipped run is recorded, and is not a success."""
    c = owned_customer(owner, since=date(2026, 1, 1))
    ready, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_nightly_lock, args=(ready, release))
    holder.start()
    try:
        assert ready.wait(timeout=30)
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DJANGO_SETTINGS_MODULE": "crm.settings",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "release_customers"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        release.set()
        holder.join(timeout=30)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Another run is in progress" in result.stderr
    assert reload(c).owner == owner
    assert NightlyRun.objects.get().skipped and monitoring.last_successful_run() is None
    call_command("release_customers", stdout=StringIO())  # the lock is free again: exit 0
    assert reload(c).owner is None


# --- Staleness ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stale_after_26_hours_without_a_success(time_machine):
    run = _succeed(time_machine)
    assert run.finished_at == at(DAY, 1)
    assert nightly_status(now=at(DAY, 1) + timedelta(hours=25, minutes=59)).state == "ok"
    assert nightly_status(now=at(DAY, 1) + timedelta(hours=26, minutes=1)).state == "stale"
    # A skipped run, a dry run, or a run by hand for a past day does not stand for tonight's.
    later = DAY + timedelta(days=2)
    NightlyRun.objects.create(as_of=later, started_at=at(later, 1), finished_at=at(later, 1), skipped=True)
    time_machine.move_to(at(later, 2), tick=False)
    nightly.nightly_release(dry_run=True)
    nightly.nightly_release(as_of=DAY)
    status = nightly_status(now=at(later, 4))
    assert status.state == "stale" and status.last == run


@pytest.mark.django_db
def test_never_run_is_pending_for_a_day_after_installation_then_stale():
    installed = MigrationRecorder(connection).migration_qs.order_by("applied").first().applied
    assert nightly_status(now=installed + timedelta(hours=2)).state == "pending"
    assert nightly_status(now=installed + timedelta(hours=27)).state == "stale"


# --- What managers and admins see ---------------------------------------------------------------


@pytest.mark.django_db
def test_release_log_and_preview_show_the_last_success_and_a_missed_night(client_for, manager, owner, time_machine):
    owned_customer(owner, since=date(2026, 1, 1))
    _succeed(time_machine)
    client = client_for(manager)
    for name in ("ownership:release_log", "ownership:preview"):
        body = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'data-state="ok"' in body
        assert "Last successful nightly run: as of 2026-11-20, finished 2026-11-20 01:00." in body
        assert "1 customers returned to the pool (1 without a deal, 0 without further sales)" in body
    time_machine.move_to(at(DAY + timedelta(days=1), 4), tick=False)  # 27 hours later
    client = client_for(manager)  # the session has timed out meanwhile
    body = client.get(reverse("ownership:release_log"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-state="stale"' in body
    assert "No nightly run has succeeded for more than 26 hours" in body
    assert client_for(owner).get(reverse("ownership:release_log")).status_code == 403


@pytest.mark.django_db
def test_the_admin_lists_runs_under_the_last_success(client_for, admin_user, time_machine):
    _succeed(time_machine)
    client = client_for(admin_user)
    body = client.get(reverse("admin:ownership_nightlyrun_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Last successful run: as of 2026-11-20, finished 2026-11-20 01:00" in body
    time_machine.move_to(at(DAY + timedelta(days=2), 9), tick=False)
    client = client_for(admin_user)
    body = client.get(reverse("admin:ownership_nightlyrun_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No run has succeeded for more than 26 hours" in body


@pytest.mark.django_db
def test_healthz_reports_the_nightly_job_without_failing_the_container(client, time_machine):
    run = _succeed(time_machine)
    body = client.get("/healthz").json()
    assert (body["status"], body["nightly"]) == ("ok", "ok")
    assert body["nightly_last_success"] == run.finished_at.isoformat()

    time_machine.move_to(at(DAY + timedelta(days=2), 9), tick=False)
    response = client.get("/healthz")
    # The compose health check restarts nothing for a missed night: every web container would
    # restart in a loop while the worker or beat is what stopped.
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["nightly"]) == ("degraded", "stale")
    # Monitors that only read status codes ask for the strict answer.
    assert client.get("/healthz?strict=1").status_code == 503
    assert client.get("/healthz?strict=0").status_code == 200


# --- Admins told ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admins_are_told_once_a_day_while_no_run_succeeds(admin_user, superuser, manager, time_machine):
    retired = UserFactory(username="oldadmin", role=roles.ADMIN, is_staff=True, is_active=False)
    _succeed(time_machine)
    assert nightly_notify_if_stale(now=at(DAY, 1) + timedelta(hours=25)) == 0

    first = at(DAY, 1) + timedelta(hours=27)
    assert nightly_notify_if_stale(now=first) == 2
    assert nightly_notify_if_stale(now=first) == 0  # safe twice
    assert nightly_notify_if_stale(now=first + timedelta(hours=1)) == 0  # the hourly run: once a day
    told = Notification.objects.filter(kind=NOTIFICATION_KIND)
    assert {n.recipient for n in told} == {admin_user, superuser}
    assert not told.filter(recipient__in=[manager, retired]).exists()
    note = told.first()
    assert note is not None
    assert "has not completed for 27 hours" in note.text and note.url == reverse("ownership:release_log")

    assert nightly_notify_if_stale(now=first + timedelta(hours=24)) == 2  # still broken a day later
    _succeed(time_machine, DAY + timedelta(days=3))
    assert nightly_notify_if_stale(now=at(DAY + timedelta(days=3), 9)) == 0


@pytest.mark.django_db
def test_check_nightly_command_and_task(admin_user, time_machine):
    from ownership.tasks import check_nightly_overdue

    _succeed(time_machine)
    out = StringIO()
    call_command("check_nightly", stdout=out)
    assert "Last successful nightly run: as of 2026-11-20" in out.getvalue()
    time_machine.move_to(at(DAY + timedelta(days=2), 9), tick=False)
    with pytest.raises(CommandError, match="1 admins notified") as caught:
        call_command("check_nightly", stdout=StringIO())
    assert caught.value.returncode == 1
    assert check_nightly_overdue.delay().get() == 0  # already told today
    assert Notification.objects.filter(kind=NOTIFICATION_KIND, recipient=admin_user).count() == 1
    assert timezone.localtime(Notification.objects.get().created_at).date() == DAY + timedelta(days=2)
