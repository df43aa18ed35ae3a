"""The nightly job: R5.2, R5.4 releases, R7.3 missing notes and R5.10 warnings, as of a date.

Idempotent, catching up after missed nights, and (on PostgreSQL, see test_ownership_pg.py)
exclusive.
"""

from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer, ReleaseReason
from notifications.models import Notification
from ownership import services
from ownership.models import Action, MissingReleaseNote, NightlyRun, OwnershipEvent, PoolSettings, Rule
from ownership.nightly import nightly_release

from .helpers import at, owned_customer, reload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("as_of", "released"),
    [(date(2026, 3, 10), False), (date(2026, 3, 11), True), (date(2026, 3, 12), True)],
)
def test_r5_2_no_deal_within_2_months_boundary(owner, as_of, released):
    """Owned since 10 Jan: the deadline is 10 Mar; the first run on or after 11 Mar releases it."""
    c = owned_customer(owner, since=date(2026, 1, 10))
    nightly_release(as_of=as_of, now=at(as_of, 1))
    c = reload(c)
    if released:
        assert c.owner is None and c.release_reason == ReleaseReason.NO_DEAL and c.released_from == owner
        event = OwnershipEvent.objects.get(customer=c)
        assert (event.action, event.rule, event.from_owner, event.actor, event.deadline) == (
            Action.RELEASED,
            Rule.R5_2,
            owner,
            None,
            date(2026, 3, 10),
        )
    else:
        assert c.owner == owner
        assert not OwnershipEvent.objects.exists()


@pytest.mark.parametrize(
    ("as_of", "released"),
    [(date(2026, 5, 20), False), (date(2026, 5, 21), True), (date(2026, 5, 22), True)],
)
def test_r5_4_no_sales_for_3_months_boundary(owner, as_of, released):
    c = owned_customer(owner, since=date(2026, 1, 5), sold=True, last_sale_on=date(2026, 2, 20))
    nightly_release(as_of=as_of, now=at(as_of, 1))
    c = reload(c)
    assert (c.owner is None) == released
    if released:
        assert c.release_reason == ReleaseReason.NO_SALE
        assert OwnershipEvent.objects.get(customer=c).rule == Rule.R5_4


@pytest.mark.parametrize(
    ("since", "last_kept", "first_release"),
    [
        (date(2026, 1, 31), date(2026, 3, 31), date(2026, 4, 1)),  # 31 Jan + 2 months
        (date(2025, 12, 31), date(2026, 2, 28), date(2026, 3, 1)),  # clamped February
        (date(2027, 12, 31), date(2028, 2, 29), date(2028, 3, 1)),  # leap year
    ],
)
def test_r5_2_month_end_boundaries(owner, since, last_kept, first_release):
    c = owned_customer(owner, since=since)
    nightly_release(as_of=last_kept)
    assert reload(c).owner == owner
    nightly_release(as_of=first_release)
    assert reload(c).owner is None


def test_asia_shanghai_date_between_midnight_and_8am(owner):
    """00:30 on 11 Mar in Shanghai is 16:30 on 10 Mar in UTC: the run acts as of 11 Mar."""
    c = owned_customer(owner, since=date(2026, 1, 10))
    now = datetime(2026, 3, 11, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert now.astimezone(ZoneInfo("UTC")).date() == date(2026, 3, 10)
    result = nightly_release(now=now)
    assert result.run.as_of == date(2026, 3, 11)
    assert reload(c).owner is None


def test_second_run_same_day_changes_nothing(owner, teammate):
    due = [owned_customer(owner, since=date(2026, 1, 1)) for _ in range(3)]
    kept = owned_customer(teammate, since=date(2026, 3, 1))
    first = nightly_release(as_of=date(2026, 3, 5))
    assert first.run.released_no_deal == 3
    events = OwnershipEvent.objects.count()
    missing = MissingReleaseNote.objects.count()
    second = nightly_release(as_of=date(2026, 3, 5))
    assert second.run.released == 0
    assert OwnershipEvent.objects.count() == events == 3
    assert MissingReleaseNote.objects.count() == missing == 3
    assert all(reload(c).owner is None for c in due) and reload(kept).owner == teammate
    assert NightlyRun.objects.filter(dry_run=False).count() == 2


def test_catch_up_after_three_missed_nights_releases_all_due_once(owner):
    # Deadlines on 9, 10 and 11 Mar; the runs of 10, 11 and 12 Mar were missed.
    customers = [owned_customer(owner, since=date(2026, 1, d)) for d in (9, 10, 11)]
    not_yet = owned_customer(owner, since=date(2026, 1, 12))
    result = nightly_release(as_of=date(2026, 3, 12))
    assert result.run.released_no_deal == 3
    assert all(reload(c).owner is None for c in customers)
    assert reload(not_yet).owner == owner
    assert OwnershipEvent.objects.filter(action=Action.RELEASED).count() == 3


def test_r7_3_released_without_note_leaves_an_overdue_item(owner, teammate):
    with_note = owned_customer(owner, since=date(2026, 1, 1))
    note = services.release_note_write(
        customer=with_note,
        user=owner,
        situation="暂无需求",
        contact_details="王经理 13800138000",
        communication_level="初次拜访",
    )
    without = owned_customer(teammate, since=date(2026, 1, 1))
    result = nightly_release(as_of=date(2026, 3, 5))
    assert result.run.missing_notes == 1
    assert OwnershipEvent.objects.get(customer=with_note).release_note == note
    item = MissingReleaseNote.objects.get()
    assert (item.customer, item.former_owner, item.ownership_started, item.note) == (
        without,
        teammate,
        date(2026, 1, 1),
        None,
    )
    assert Notification.objects.filter(recipient=teammate, kind="released").exists()


@pytest.mark.parametrize(
    ("as_of", "warned"),
    [(date(2026, 3, 2), False), (date(2026, 3, 3), True), (date(2026, 3, 10), True)],
)
def test_r5_10_warning_w_days_before_the_deadline(owner, as_of, warned):
    owned_customer(owner, since=date(2026, 1, 10))  # deadline 10 Mar, warned from 3 Mar (7 days)
    result = nightly_release(as_of=as_of)
    assert result.run.warned == int(warned)
    assert Notification.objects.filter(recipient=owner, kind="warning").exists() == warned


def test_r5_10_warns_once_per_deadline_and_uses_department_setting(owner, department):
    PoolSettings.objects.create(department=department, warning_days=3)
    c = owned_customer(owner, since=date(2026, 1, 10))
    assert nightly_release(as_of=date(2026, 3, 6)).run.warned == 0
    assert nightly_release(as_of=date(2026, 3, 7)).run.warned == 1
    assert nightly_release(as_of=date(2026, 3, 8)).run.warned == 0
    # A sale moves the deadline: the owner is warned again before the new one.
    services.customer_record_sale(customer=c, salesperson=owner, sale_date=date(2026, 3, 8))
    assert nightly_release(as_of=date(2026, 6, 5)).run.warned == 1
    assert Notification.objects.filter(recipient=owner, kind="warning").count() == 2


def test_dry_run_changes_nothing(owner):
    c = owned_customer(owner, since=date(2026, 1, 1))
    result = nightly_release(as_of=date(2026, 3, 5), dry_run=True)
    assert result.run.released_no_deal == 1 and result.per_owner[owner.pk].missing_notes == 1
    assert reload(c).owner == owner
    assert not OwnershipEvent.objects.exists() and not MissingReleaseNote.objects.exists()


def test_release_customers_command_prints_counts_and_table(owner):
    owned_customer(owner, since=date(2026, 1, 1))
    out = StringIO()
    call_command("release_customers", "--as-of", "2026-03-05", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "would release 1" in text and "张伟" in text
    assert Customer.objects.filter(owner=owner).count() == 1
    call_command("release_customers", "--as-of", "2026-03-05", stdout=out)
    assert Customer.objects.filter(owner=owner).count() == 0
    with pytest.raises(CommandError):
        call_command("release_customers", "--as-of", "2026-02-30")


def test_celery_task_runs_the_same_service(owner):
    from ownership.tasks import nightly_release as task

    owned_customer(owner, since=date(2026, 1, 1))
    out = task.delay("2026-03-05").get()
    assert out["released_no_deal"] == 1
    assert task.delay("2026-03-05").get()["released_no_deal"] == 0


def test_beat_schedule_runs_at_1am_shanghai(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-release"]
    assert entry["task"] == "ownership.tasks.nightly_release"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_release_clears_the_previous_owners_next_follow_up(owner):
    c = owned_customer(owner, since=date(2026, 1, 1), next_follow_up_on=date(2026, 3, 20))
    nightly_release(as_of=date(2026, 3, 5))
    c = reload(c)
    assert c.owner is None and c.next_follow_up_on is None
