"""The nightly summary behind the dashboard (docs/decisions.md, "Dashboard"): pool flows per day,
and the morning's state of what would otherwise be scanned over a million customers at every
page view (customers by owner and tier, the next nights' releases, missing release notes).

A system job like the nightly release it runs in: it reads the tables directly (sales too:
confirmed sales per month); pages read the
summary scoped by the user's departments, and the live tables through the apps' selectors.
Idempotent: each run recomputes whole days from the day of the previous watermark (that day was
summarised only up to its moment) and replaces the state tables, so a second run changes nothing
but the watermark. Exclusive through an advisory lock.
"""

import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractMonth, ExtractYear, TruncDate
from django.utils import timezone

from crm.dates import local_today, start_of_local_day
from customers.models import CreditStatus, Customer
from ownership.models import MissingReleaseNote, OwnershipEvent
from ownership.selectors import POOL_FLOW_ACTIONS, next_run_dates, pool_flow_case
from sales.models import Order

from .models import (
    PROBLEM,
    SHOWN_TIERS,
    CustomerCount,
    MissingNoteCount,
    PoolFlowDay,
    ReleaseCount,
    SalesMonth,
    SummaryRun,
)

LOCK_KEY = "crm.dashboard.summary"
RELEASE_NIGHTS = 7


def shown_tier() -> Case:
    """R2.3: a problem customer (flagged, or with bad payment credit) is shown as such, not by tier."""
    return Case(
        When(Q(is_problem=True) | Q(credit_status=CreditStatus.BAD), then=Value(PROBLEM)),
        default=F("tier"),
    )


def flow_rows(events: QuerySet[OwnershipEvent]) -> QuerySet:
    """(department, day, flow, n) of pool movements, days in Asia/Shanghai."""
    return (
        events.filter(action__in=POOL_FLOW_ACTIONS)
        .annotate(flow=pool_flow_case())
        .exclude(flow=None)
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("customer__department_id", "day", "flow")
        .annotate(n=Count("id"))
    )


def customer_rows(customers: QuerySet[Customer]) -> QuerySet:
    """(department, owner, a count per shown tier, unsold): one row per owner and department."""
    return (
        customers.annotate(shown=shown_tier())
        .order_by()
        .values("department_id", "owner_id")
        .annotate(
            **{tier: Count("id", filter=Q(shown=tier)) for tier in SHOWN_TIERS},
            unsold=Count("id", filter=Q(owner__isnull=False, sold_in_ownership=False)),
        )
    )


def release_rows(customers: QuerySet[Customer], *, now: datetime) -> list[tuple[int, int, date, int]]:
    """(department, owner, run date, n): what each of the next nightly runs releases (R5.11). A
    run on day d releases the deadlines before d; the first run also everything overdue."""
    runs = next_run_dates(now=now, count=RELEASE_NIGHTS)
    grouped = (
        customers.filter(owner__isnull=False, deadline__lt=runs[-1])
        .order_by()
        .values("department_id", "owner_id", "deadline")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[int, int, date], int] = defaultdict(int)
    for row in grouped:
        deadline = row["deadline"]
        if deadline is None:  # excluded by the filter; keeps the type checker honest
            continue
        run_day = max(deadline + timedelta(days=1), runs[0])
        counts[(row["department_id"], row["owner_id"], run_day)] += row["n"]
    return [(d, o, day, n) for (d, o, day), n in counts.items()]


def missing_note_rows(items: QuerySet[MissingReleaseNote]) -> QuerySet:
    """(department, former owner, n) of release notes still missing (R7.3)."""
    return (
        items.filter(note__isnull=True)
        .order_by()
        .values("customer__department_id", "former_owner_id")
        .annotate(n=Count("id"))
    )


def latest_run() -> SummaryRun | None:
    """The watermark: the last summary taken (by creation, not by moment: a run with an earlier
    `now` replaces the days after it)."""
    return SummaryRun.objects.order_by("-id").first()


def sales_month_rows(orders: QuerySet[Order], *, before: date) -> QuerySet:
    """(department, salesperson, year, month, amount, n) of the confirmed sales dated before `before`.
    EXTRACT on the date column: date_trunc() would first cast every date to a zoned timestamp."""
    return (
        orders.filter(confirmed_on__lt=before)
        .annotate(year=ExtractYear("confirmed_on"), month=ExtractMonth("confirmed_on"))
        .order_by()
        .values("department_id", "salesperson_id", "year", "month")
        .annotate(amount=Sum("amount"), n=Count("id"))
    )


def summarize(*, now: datetime | None = None, triggered_by: str = "command", rebuild: bool = False) -> SummaryRun:
    """Summarise the history up to `now` (default: this moment). `rebuild` recomputes every day
    from the first history row, for history written after a summary with past timestamps (demo
    data, a restored backup)."""
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [LOCK_KEY])
        previous = None if rebuild else latest_run()
        first_day = local_today(now)
        if previous is not None:
            first_day = min(first_day, local_today(previous.taken_at))
        (PoolFlowDay.objects.all() if previous is None else PoolFlowDay.objects.filter(day__gte=first_day)).delete()
        events = OwnershipEvent.objects.filter(at__lte=now)
        if previous is not None:
            events = events.filter(at__gte=start_of_local_day(first_day))
        PoolFlowDay.objects.bulk_create(
            [
                PoolFlowDay(department_id=r["customer__department_id"], day=r["day"], flow=r["flow"], n=r["n"])
                for r in flow_rows(events)
            ],
            batch_size=2000,
        )
        CustomerCount.objects.all().delete()
        CustomerCount.objects.bulk_create(
            [
                CustomerCount(
                    department_id=r["department_id"],
                    owner_id=r["owner_id"],
                    unsold=r["unsold"],
                    **{tier: r[tier] for tier in SHOWN_TIERS},
                )
                for r in customer_rows(Customer.objects.all())
            ],
            batch_size=2000,
        )
        ReleaseCount.objects.all().delete()
        ReleaseCount.objects.bulk_create(
            [
                ReleaseCount(department_id=d, owner_id=o, run_date=day, n=n)
                for d, o, day, n in release_rows(Customer.objects.all(), now=now)
            ],
            batch_size=2000,
        )
        MissingNoteCount.objects.all().delete()
        MissingNoteCount.objects.bulk_create(
            [
                MissingNoteCount(
                    department_id=r["customer__department_id"], former_owner_id=r["former_owner_id"], n=r["n"]
                )
                for r in missing_note_rows(MissingReleaseNote.objects.all())
            ],
            batch_size=2000,
        )
        SalesMonth.objects.all().delete()
        SalesMonth.objects.bulk_create(
            [
                SalesMonth(
                    department_id=r["department_id"],
                    salesperson_id=r["salesperson_id"],
                    month=date(r["year"], r["month"], 1),
                    amount=r["amount"],
                    n=r["n"],
                )
                for r in sales_month_rows(Order.objects.all(), before=local_today(now))
            ],
            batch_size=2000,
        )
        return SummaryRun.objects.create(
            taken_at=now,
            as_of=local_today(now),
            duration_ms=int((time.monotonic() - started) * 1000),
            triggered_by=triggered_by[:40],
        )


def summarize_nightly(*, as_of: date, now: datetime, dry_run: bool) -> int:
    """The nightly job's step (ownership.nightly.register_nightly_step), inside its transaction and
    after the releases, so the summary holds the morning's state. Steps report how many tiers they
    changed; a summary changes none."""
    if not dry_run:
        summarize(now=now, triggered_by="nightly")
    return 0
