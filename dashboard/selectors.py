"""The figures of the home pages and reports, computed in the database.

Live figures go through the other apps' selectors, always with the user (what a role may see is
decided there, R6.4). Figures that would scan a million customers or their whole history at every
view come from the nightly summary (dashboard/summary.py), read for the departments the same rule
gives the user (`Scope.department_ids`), plus what happened since the summary from the live tables.
Every function runs a fixed number of queries, whatever the size of the data.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import Case, CharField, Count, DecimalField, F, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractMonth, ExtractYear, TruncDate
from django.utils import timezone

from accounts.models import Department, User
from crm.dates import add_months, local_today, start_of_local_day
from crm.sorting import Direction
from customers.models import Customer, Industry
from customers.selectors import customers_visible_to
from followups.models import Report, ReportKind
from followups.selectors import plan_progress_visible_to, reports_visible_to
from followups.services import PlanProgress
from handovers.models import Handover
from handovers.models import State as HandoverState
from handovers.selectors import handovers_visible_to, progress_of
from notifications.models import Notification
from notifications.selectors import notifications_for
from ownership.models import OwnershipEvent
from ownership.selectors import (
    POOL_INFLOWS,
    POOL_OUTFLOWS,
    ClaimAllowance,
    claim_allowance,
    missing_notes_visible_to,
    next_run_dates,
    pool_flow_person_q,
    pool_movements_visible_to,
    pool_visible_to,
    releasing_soon_for,
)
from sales.models import CommissionHold, Order, Payment, SaleEvent
from sales.selectors import (
    OUTSTANDING,
    CommissionLine,
    commission_statement,
    confirmation_queue,
    holds_visible_to,
    is_on_hold,
    orders_visible_to,
    receivable_orders,
    salespeople_for_filters,
)
from sales.services import commission_for, sales_settings_of
from service.models import ServiceRequest
from service.selectors import open_requests_of, overdue_for

from .models import SHOWN_TIERS, CustomerCount, MissingNoteCount, PoolFlowDay, ReleaseCount, SalesMonth, SummaryRun
from .summary import RELEASE_NIGHTS, customer_rows, latest_run, missing_note_rows, release_rows

DEFAULT_WEEKS = 12
DEFAULT_MONTHS = 12
WORKBENCH_MONTHS = 6
LIST_ROWS = 8  # items listed on a workbench card before "all …"


# --- Who and what: the scope of a report -------------------------------------------------------


def reads_team(user: User) -> bool:
    """Managers (their department), finance and admins (every department) read team figures."""
    return user.is_authenticated and user.is_active and (user.is_manager or user.is_admin_role or user.is_finance)


def manages_team(user: User) -> bool:
    """Team figures (customers, the pool, releases, visits, service) are the managers' and admins'."""
    return user.is_authenticated and user.is_active and (user.is_manager or user.is_admin_role)


def departments_for(user: User) -> QuerySet[Department]:
    """The departments whose figures the user reads (the department filter's choices)."""
    if not reads_team(user):
        return Department.objects.none()
    if user.is_admin_role or user.is_finance:
        return Department.objects.order_by("name")
    return Department.objects.filter(pk__in=[user.department_id] if user.department_id else []).order_by("name")


def salespeople_for(user: User) -> QuerySet[User]:
    """The salespeople a report may be narrowed to, those who left included (their history stays)."""
    if not reads_team(user):
        return User.objects.none()
    return salespeople_for_filters(user).select_related("department")


@dataclass
class Scope:
    """One report's question: whose figures (departments, one salesperson) over which days."""

    user: User
    now: datetime
    department_ids: list[int] | None  # None: every department
    salesperson_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def today(self) -> date:
        return local_today(self.now)

    @property
    def end(self) -> date:
        return self.date_to or self.today

    @property
    def has_range(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def weeks(self) -> tuple[date, date]:
        """The days of the weekly figures: the range, or the 12 weeks (Monday to Sunday) up to today."""
        if self.date_from is not None:
            return self.date_from, self.end
        monday = self.end - timedelta(days=self.end.weekday())
        return monday - timedelta(weeks=DEFAULT_WEEKS - 1), self.end

    def months(self) -> tuple[date, date]:
        """The days of the monthly figures: the range, or the 12 calendar months up to today."""
        if self.date_from is not None:
            return self.date_from, self.end
        return add_months(self.end.replace(day=1), -(DEFAULT_MONTHS - 1)), self.end

    @property
    def month(self) -> date:
        """The month of the monthly snapshot figures (plans, commission): the range's last month."""
        return self.end.replace(day=1)


def scope_for(
    user: User,
    *,
    department: Department | None = None,
    salesperson: User | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
) -> Scope:
    """The scope of a team report for `user`: a manager reads its own department whatever is asked,
    finance and admins every department or the one chosen; a salesperson reads no team figures."""
    if not reads_team(user):
        department_ids: list[int] | None = []
    elif user.is_admin_role or user.is_finance:
        department_ids = [department.pk] if department is not None else None
    else:
        department_ids = [user.department_id] if user.department_id else []
    if salesperson is not None and not salespeople_for(user).filter(pk=salesperson.pk).exists():
        salesperson = None  # the filter form refuses it first; this is the belt to its braces
    return Scope(
        user=user,
        now=now or timezone.now(),
        department_ids=department_ids,
        salesperson_id=salesperson.pk if salesperson else None,
        date_from=date_from,
        date_to=date_to,
    )


def _departments(qs: QuerySet, scope: Scope, field_name: str) -> QuerySet:
    if scope.department_ids is not None:
        qs = qs.filter(**{f"{field_name}__in": scope.department_ids})
    return qs


def _person(qs: QuerySet, scope: Scope, field_name: str) -> QuerySet:
    if scope.salesperson_id is not None:
        qs = qs.filter(**{field_name: scope.salesperson_id})
    return qs


def _summary(scope: Scope) -> SummaryRun | None:
    """The nightly summary, if one was taken (before the first one, figures are computed live);
    read once per scope, however many figures use it."""
    if not reads_team(scope.user):
        return None
    if "summary" not in scope.cache:
        scope.cache["summary"] = latest_run()
    return scope.cache["summary"]


def names_of(ids: set[int | None] | list[int]) -> dict[int, str]:
    """Display names of users, one query."""
    wanted = [pk for pk in ids if pk]
    if not wanted:
        return {}
    fields = ("pk", "username", "display_name", "first_name", "last_name")
    return {u.pk: str(u) for u in User.objects.filter(pk__in=wanted).only(*fields)}


def department_names(ids: set[int] | list[int]) -> dict[int, str]:
    return dict(Department.objects.filter(pk__in=list(ids)).values_list("pk", "name")) if ids else {}


# --- Customers by tier and owner --------------------------------------------------------------


@dataclass
class OwnerCounts:
    owner_id: int | None  # None: the pool
    tiers: dict[str, int]  # shown tier (SHOWN_TIERS) -> customers
    unsold: int  # without a sale during this ownership (R5.8)

    @property
    def total(self) -> int:
        return sum(self.tiers.values())


@dataclass
class CustomerCounts:
    rows: list[OwnerCounts]
    as_of: datetime | None  # the summary's moment; None: live


def customer_counts(scope: Scope) -> CustomerCounts:
    """Customers per owner (and the pool) by the tier they show (R2, R2.3)."""
    if not manages_team(scope.user) or scope.department_ids == []:
        return CustomerCounts([], None)
    run = _summary(scope)
    totals: dict[int | None, OwnerCounts] = {}

    def add(row: dict) -> None:
        slot = totals.setdefault(row["owner_id"], OwnerCounts(row["owner_id"], dict.fromkeys(SHOWN_TIERS, 0), 0))
        for tier in SHOWN_TIERS:
            slot.tiers[tier] += row[tier]
        slot.unsold += row["unsold"]

    if run is not None:
        qs = _person(_departments(CustomerCount.objects.all(), scope, "department_id"), scope, "owner_id")
        for row in (
            qs.order_by().values("owner_id").annotate(**{tier: Sum(tier) for tier in SHOWN_TIERS}, unsold=Sum("unsold"))
        ):
            add(row)
    else:
        qs = _person(_departments(customers_visible_to(scope.user), scope, "department_id"), scope, "owner_id")
        for row in customer_rows(qs):
            add(row)
    return CustomerCounts(list(totals.values()), run.taken_at if run else None)


# --- The pool: size and weekly flows ------------------------------------------------------------


@dataclass
class FlowWeek:
    start: date
    end: date
    counts: dict[str, int]
    size_end: int | None = None

    @property
    def inflow(self) -> int:
        return sum(self.counts.get(str(f), 0) for f in POOL_INFLOWS)

    @property
    def outflow(self) -> int:
        return sum(self.counts.get(str(f), 0) for f in POOL_OUTFLOWS)


@dataclass
class PoolFlows:
    weeks: list[FlowWeek]
    size_now: int | None  # None when narrowed to one salesperson (the pool is the department's)
    as_of: datetime | None


def _live_flows(events: QuerySet[OwnershipEvent]) -> QuerySet:
    return (
        events.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day", "flow")
        .annotate(total=Count("id"))
    )


def pool_flows(scope: Scope) -> PoolFlows:
    """Customers that entered and left the pool per week (Monday to Sunday, Asia/Shanghai), by
    flow, and the pool's size at the end of each week: its size now minus what came in since plus
    what went out since (every entry and exit is a history row, R5.9)."""
    start, end = scope.weeks()
    if not manages_team(scope.user) or scope.department_ids == []:
        return PoolFlows([], None, None)
    movements = _departments(pool_movements_visible_to(scope.user), scope, "customer__department_id")
    per_day: dict[date, Counter] = defaultdict(Counter)
    run = None
    size_now: int | None = None
    if scope.salesperson_id is not None:
        live = movements.filter(pool_flow_person_q(scope.salesperson_id)).filter(
            at__gte=start_of_local_day(start), at__lt=start_of_local_day(end + timedelta(days=1))
        )
        for r in _live_flows(live):
            per_day[r["day"]][r["flow"]] += r["total"]
    else:
        run = _summary(scope)
        if run is not None:
            summary = _departments(PoolFlowDay.objects.filter(day__gte=start), scope, "department_id")
            for r in summary.order_by().values("day", "flow").annotate(total=Sum("n")):
                per_day[r["day"]][r["flow"]] += r["total"]
            live = movements.filter(at__gt=run.taken_at, at__lte=scope.now)
        else:
            live = movements.filter(at__gte=start_of_local_day(start), at__lte=scope.now)
        since: Counter = Counter()
        for r in _live_flows(live):
            since[r["flow"]] += r["total"]
            if r["day"] >= start:
                per_day[r["day"]][r["flow"]] += r["total"]
        if run is not None:
            pool = _departments(CustomerCount.objects.filter(owner__isnull=True), scope, "department_id")
            at_summary = sum(n or 0 for n in pool.aggregate(**{tier: Sum(tier) for tier in SHOWN_TIERS}).values())
            size_now = at_summary + sum(since[str(f)] for f in POOL_INFLOWS) - sum(since[str(f)] for f in POOL_OUTFLOWS)
        else:
            size_now = _departments(pool_visible_to(scope.user), scope, "department_id").count()
    weeks: list[FlowWeek] = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        first, last = max(monday, start), min(monday + timedelta(days=6), end)
        counts: Counter = Counter()
        day = first
        while day <= last:
            counts.update(per_day.get(day, {}))
            day += timedelta(days=1)
        weeks.append(FlowWeek(start=first, end=last, counts=dict(counts)))
        monday += timedelta(weeks=1)
    if size_now is not None:
        net_after: int = 0  # inflow - outflow after the end of the week being sized
        for day, counts in per_day.items():
            if day > end:
                net_after += sum(counts[str(f)] for f in POOL_INFLOWS) - sum(counts[str(f)] for f in POOL_OUTFLOWS)
        for week in reversed(weeks):
            week.size_end = size_now - net_after
            net_after += week.inflow - week.outflow
    return PoolFlows(weeks, size_now, run.taken_at if run else None)


# --- The next nights' releases and the missing release notes -----------------------------------


@dataclass
class Releases:
    nights: list[date]
    rows: list[tuple[int, date, int]]  # owner, night, n
    as_of: datetime | None


def releases(scope: Scope) -> Releases:
    """R5.11: what each of the next 7 nightly runs will release, per owner."""
    nights = next_run_dates(now=scope.now, count=RELEASE_NIGHTS)
    if not manages_team(scope.user) or scope.department_ids == []:
        return Releases(nights, [], None)
    run = _summary(scope)
    counts: Counter = Counter()
    if run is not None:
        qs = _person(_departments(ReleaseCount.objects.all(), scope, "department_id"), scope, "owner_id")
        for r in qs.order_by().values("owner_id", "run_date").annotate(total=Sum("n")):
            # A summary older than this morning's run: its first nights are already past.
            night = max(r["run_date"], nights[0])
            if night <= nights[-1]:
                counts[(r["owner_id"], night)] += r["total"]
    else:
        qs = _person(_departments(customers_visible_to(scope.user), scope, "department_id"), scope, "owner_id")
        for _dept, owner_id, night, n in release_rows(qs, now=scope.now):
            counts[(owner_id, night)] += n
    return Releases(nights, [(o, night, n) for (o, night), n in counts.items()], run.taken_at if run else None)


@dataclass
class MissingNotes:
    rows: list[tuple[int, int]]  # former owner, n
    as_of: datetime | None


def missing_notes(scope: Scope) -> MissingNotes:
    """R7.3: release notes still owed, per former owner."""
    if not manages_team(scope.user) or scope.department_ids == []:
        return MissingNotes([], None)
    run = _summary(scope)
    if run is not None:
        qs = _person(_departments(MissingNoteCount.objects.all(), scope, "department_id"), scope, "former_owner_id")
        rows = qs.order_by().values("former_owner_id").annotate(total=Sum("n"))
        return MissingNotes([(r["former_owner_id"], r["total"]) for r in rows], run.taken_at)
    items = missing_notes_visible_to(scope.user)
    items = _person(_departments(items, scope, "customer__department_id"), scope, "former_owner_id")
    totals: Counter = Counter()
    for r in missing_note_rows(items):
        totals[r["former_owner_id"]] += r["n"]
    return MissingNotes(list(totals.items()), None)


# --- Visits against plan (R3.1) -----------------------------------------------------------------


@dataclass
class VisitProgress:
    month: date
    until: date
    rows: list[tuple[int, PlanProgress]]


def visit_progress(scope: Scope) -> VisitProgress:
    """Every salesperson of the scope (active ones even without a plan), its visits this month up
    to the end of the range against its plan."""
    month = scope.month
    until = min(scope.end, add_months(month, 1) - timedelta(days=1))
    if not manages_team(scope.user) or scope.department_ids == []:
        return VisitProgress(month, until, [])
    progress = plan_progress_visible_to(
        user=scope.user,
        month=month,
        until=until,
        salesperson_id=scope.salesperson_id,
        department_ids=scope.department_ids,
    )
    members = _person(_departments(salespeople_for(scope.user), scope, "department_id"), scope, "pk")
    active = set(members.filter(is_active=True).values_list("pk", flat=True))
    empty = PlanProgress(month=month, has_plan=False, target=0, visits_done=0, customers_planned=0, customers_visited=0)
    rows = [(pk, progress.get(pk, empty)) for pk in active | set(progress)]
    return VisitProgress(month, until, rows)


# --- Sales (R8) ----------------------------------------------------------------------------------


def _sales(scope: Scope, start: date, end: date) -> QuerySet[Order]:
    qs = orders_visible_to(scope.user).filter(confirmed_on__gte=start, confirmed_on__lte=end)
    return _person(_departments(qs, scope, "department_id"), scope, "salesperson_id")


@dataclass
class MonthSales:
    month: date
    amount: Decimal
    count: int


@dataclass
class GroupSales:
    key: int
    amount: Decimal
    count: int


@dataclass
class SalesFigures:
    months: list[MonthSales]  # every calendar month of the range, empty ones included
    groups: list[GroupSales]  # per salesperson or department, largest first


def _month_starts(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def sales_figures(scope: Scope, by: str) -> SalesFigures:
    """Confirmed sales (by sale date, R8.1) of the range per month and per salesperson or
    department.

    Months the range covers from their first day come from the nightly summary (`SalesMonth`: the
    sale dates before the summary's day), corrected by the orders whose sale changed since (confirmed or
    reversed: their sales history says which, and their payments say what their sale date was at
    the summary's moment); the other days (a range's partial months, the days since the summary)
    are read from the orders. Before the first summary, everything is read from the orders."""
    key = {"salesperson": "salesperson_id", "department": "department_id"}[by]
    start, end = scope.months()
    if not reads_team(scope.user):
        return SalesFigures([], [])
    per_month: dict[date, list] = defaultdict(lambda: [Decimal(0), 0])
    per_group: dict[int, list] = defaultdict(lambda: [Decimal(0), 0])

    def add(month: date, group: int, amount: Decimal, n: int) -> None:
        for slot in (per_month[month], per_group[group]):
            slot[0] += amount
            slot[1] += n

    run = _summary(scope)
    summarised: set[date] = set()  # months whose days before the summary's day come from it
    mark_day = date.max
    if run is not None:
        mark_day = local_today(run.taken_at)
        # A month the range covers from its first day up to the summary's last day (or beyond):
        # the current month too when the range ends today (no sale is dated in the future).
        summarised = {
            m
            for m in _month_starts(start, end)
            if m >= start and min(add_months(m, 1), mark_day) - timedelta(days=1) <= end
        }
    # Live: the days of the range outside the summarised months, and those of the summary's day on.
    live_q = Q()
    for month in _month_starts(start, end):
        first, last = max(month, start), min(add_months(month, 1) - timedelta(days=1), end)
        if month in summarised:
            first = max(first, mark_day)
        if first <= last:
            live_q |= Q(confirmed_on__gte=first, confirmed_on__lte=last)
    if live_q:
        live = (
            _sales(scope, start, end)
            .filter(live_q)
            .annotate(year=ExtractYear("confirmed_on"), month=ExtractMonth("confirmed_on"))
            .order_by()
            .values("year", "month", key)
            .annotate(amount=Sum("amount"), n=Count("id"))
        )
        for r in live:
            add(date(r["year"], r["month"], 1), r[key], r["amount"], r["n"])
    if run is not None and summarised:
        rows = _departments(SalesMonth.objects.filter(month__in=summarised), scope, "department_id")
        rows = _person(rows, scope, "salesperson_id").order_by()
        # Two small sums rather than a row per month and person.
        for r in rows.values("month").annotate(total=Sum("amount"), count=Sum("n")):
            per_month[r["month"]][0] += r["total"]
            per_month[r["month"]][1] += r["count"]
        for r in rows.values(key).annotate(total=Sum("amount"), count=Sum("n")):
            per_group[r[key]][0] += r["total"]
            per_group[r[key]][1] += r["count"]
        _correct_changed_sales(scope, run, summarised, mark_day, key, add)
    months = [MonthSales(m, *per_month.get(m, (Decimal(0), 0))) for m in _month_starts(start, end)]
    groups = [GroupSales(k, amount, n) for k, (amount, n) in per_group.items() if n]
    groups.sort(key=lambda g: (-g.amount, g.key))
    return SalesFigures(months, groups)


def _correct_changed_sales(scope: Scope, run: SummaryRun, summarised: set[date], mark_day: date, key: str, add) -> None:
    """The orders whose sale changed since the summary (a payment confirmed or reversed): take out
    what the summary counted for them, put in what they are now. A sale date is the day the
    earliest payment still standing was confirmed (sales.services.payment_reverse)."""
    changed = SaleEvent.objects.filter(at__gt=run.taken_at).values("order_id")
    orders = _person(
        _departments(orders_visible_to(scope.user).filter(pk__in=changed), scope, "department_id"),
        scope,
        "salesperson_id",
    ).prefetch_related(Prefetch("payments", queryset=Payment.objects.only("order_id", "confirmed_at", "reversed_at")))

    def counted(day: date | None) -> bool:
        return day is not None and day < mark_day and day.replace(day=1) in summarised

    for order in orders.only("id", "department_id", "salesperson_id", "amount", "confirmed_on"):
        standing = [
            local_today(p.confirmed_at)
            for p in order.payments.all()
            if p.confirmed_at <= run.taken_at and (p.reversed_at is None or p.reversed_at > run.taken_at)
        ]
        then = min(standing) if standing else None
        group = getattr(order, key)
        if then is not None and counted(then):
            add(then.replace(day=1), group, -order.amount, -1)
        if order.confirmed_on is not None and counted(order.confirmed_on):
            add(order.confirmed_on.replace(day=1), group, order.amount, 1)


def sales_by_month(scope: Scope) -> list[MonthSales]:
    return sales_figures(scope, "salesperson").months


def sales_by(scope: Scope, by: str) -> list[GroupSales]:
    """Confirmed sales of the range per salesperson or per department, largest first."""
    return sales_figures(scope, by).groups


# --- Receivables (R7.1, R8) ------------------------------------------------------------------

# Days since the sale date (the first confirmed payment, R8.1) of an order not yet paid in full.
AGE_BUCKETS: list[tuple[str, int, int | None]] = [
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("365+", 366, None),
]
AGE_KEYS = [key for key, _low, _high in AGE_BUCKETS]


def age_bucket(today: date) -> Case:
    whens = [
        When(confirmed_on__gte=today - timedelta(days=high), then=Value(key))
        for key, _low, high in AGE_BUCKETS
        if high is not None
    ]
    return Case(*whens, default=Value(AGE_BUCKETS[-1][0]), output_field=CharField())


def receivables(scope: Scope, *, age: str = "") -> QuerySet[Order]:
    """Confirmed orders not paid in full that the user may see, with `due` (outstanding), `age`
    (the bucket) and `days` (since the sale date); sale dates within the range when one is given."""
    qs = receivable_orders(scope.user) if reads_team(scope.user) else Order.objects.none()
    qs = _person(_departments(qs, scope, "department_id"), scope, "salesperson_id")
    if scope.date_from is not None:
        qs = qs.filter(confirmed_on__gte=scope.date_from)
    if scope.date_to is not None:
        qs = qs.filter(confirmed_on__lte=scope.date_to)
    qs = qs.annotate(age=age_bucket(scope.today))
    if age in AGE_KEYS:
        qs = qs.filter(age=age)
    return qs


@dataclass
class AgeRow:
    key: str
    amount: Decimal
    count: int


def receivables_ageing(scope: Scope) -> list[AgeRow]:
    # `age` is annotated by receivables(), which the type checker does not follow.
    grouped = (
        receivables(scope).order_by().values("age").annotate(amount=Sum(OUTSTANDING), n=Count("id"))  # type: ignore[misc]
    )
    found = {r["age"]: (r["amount"], r["n"]) for r in grouped}
    return [AgeRow(key, *found.get(key, (Decimal(0), 0))) for key in AGE_KEYS]


RECEIVABLE_SORTS: dict[str, tuple[Any, ...]] = {
    "confirmed_on": (F("confirmed_on").asc(), F("id").asc()),
    "-confirmed_on": (F("confirmed_on").desc(), F("id").desc()),
    "due": (F("due").asc(), F("id").asc()),
    "-due": (F("due").desc(), F("id").desc()),
    "amount": (F("amount").asc(), F("id").asc()),
    "-amount": (F("amount").desc(), F("id").desc()),
    "customer": (F("customer__name").asc(), F("id").asc()),
    "-customer": (F("customer__name").desc(), F("id").desc()),
    "salesperson": (F("salesperson__username").asc(), F("id").asc()),
    "-salesperson": (F("salesperson__username").desc(), F("id").desc()),
}
RECEIVABLE_DEFAULT_SORT = "confirmed_on"  # the oldest first: the most overdue
# The sortable columns (crm.sorting) and the direction of a first click.
RECEIVABLE_COLUMNS: dict[str, Direction] = {
    "customer": "asc",
    "salesperson": "asc",
    "confirmed_on": "asc",
    "amount": "desc",
    "due": "desc",
}


def receivables_sorted(scope: Scope, *, age: str = "", sort: str = "") -> QuerySet[Order]:
    order = RECEIVABLE_SORTS.get(sort) or RECEIVABLE_SORTS[RECEIVABLE_DEFAULT_SORT]
    return (
        receivables(scope, age=age)
        .select_related("customer", "department", "salesperson")
        .only(
            "id",
            "amount",
            "paid_amount",
            "confirmed_on",
            "deal_date",
            "customer__id",
            "customer__name",
            "department__name",
            "salesperson__id",
            "salesperson__username",
            "salesperson__display_name",
            "salesperson__first_name",
            "salesperson__last_name",
        )
        .order_by(*order)
    )


# --- Payments waiting for finance, commission (R8.1, R8.3) ---------------------------------------


@dataclass
class Waiting:
    count: int
    outstanding: Decimal
    awaiting_first: int  # orders no payment of which is confirmed yet
    oldest: list[Order]


def payments_waiting(scope: Scope, *, limit: int = LIST_ROWS) -> Waiting:
    """Orders not yet paid in full: finance's confirmation queue."""
    qs = confirmation_queue(scope.user)
    qs = _person(_departments(qs, scope, "department_id"), scope, "salesperson_id")
    totals = qs.aggregate(
        n=Count("id"),
        due=Sum(F("amount") - F("paid_amount"), output_field=DecimalField(max_digits=14, decimal_places=2)),
        first=Count("id", filter=Q(confirmed_on__isnull=True)),
    )
    return Waiting(totals["n"], totals["due"] or Decimal(0), totals["first"], list(qs[:limit]))


COMMISSION_SORTS = {
    "salesperson": lambda line: (str(line.salesperson), line.salesperson.pk),
    "department": lambda line: (str(line.salesperson.department or ""), str(line.salesperson)),
    "count": lambda line: (line.sales_count, str(line.salesperson)),
    "amount": lambda line: (line.sales_amount, str(line.salesperson)),
    "commission": lambda line: (line.commission, str(line.salesperson)),
}
COMMISSION_DEFAULT_SORT = "-amount"
COMMISSION_COLUMNS: dict[str, Direction] = {
    "salesperson": "asc",
    "department": "asc",
    "count": "desc",
    "amount": "desc",
    "commission": "desc",
}
COMMISSION_ORDERINGS: dict[str, tuple] = {f"{sign}{key}": () for key in COMMISSION_SORTS for sign in ("", "-")}


def commission(scope: Scope, *, sort: str = "") -> list[CommissionLine]:
    """R8.3: the month's statement with the open holds (R7), narrowed to the scope and sorted. The
    statement itself is one line per salesperson, computed by the sales app."""
    lines = commission_statement(user=scope.user, month=scope.month) if reads_team(scope.user) else []
    if scope.department_ids is not None:
        lines = [line for line in lines if line.salesperson.department_id in scope.department_ids]
    if scope.salesperson_id is not None:
        lines = [line for line in lines if line.salesperson.pk == scope.salesperson_id]
    if sort.lstrip("-") not in COMMISSION_SORTS:
        sort = COMMISSION_DEFAULT_SORT
    return sorted(lines, key=COMMISSION_SORTS[sort.lstrip("-")], reverse=sort.startswith("-"))


def open_holds(scope: Scope) -> list[CommissionHold]:
    if not reads_team(scope.user):
        return []
    qs = holds_visible_to(scope.user).filter(released_at__isnull=True)
    qs = _person(_departments(qs, scope, "salesperson__department_id"), scope, "salesperson_id")
    return list(qs.order_by("set_at", "id"))


# --- Service requests (R6.3) ---------------------------------------------------------------------


@dataclass
class RequestKindCount:
    kind: str
    open: int
    overdue: int


def open_requests(scope: Scope) -> list[RequestKindCount]:
    """Open and overdue service requests per type, of the scope's departments (the department the
    request was logged in) and, narrowed, of one responsible person."""
    from service.models import RequestKind

    if not manages_team(scope.user) or scope.department_ids == []:
        return []
    qs = _person(open_requests_of(user=scope.user, department_ids=scope.department_ids), scope, "responsible_id")
    grouped = qs.order_by().values("kind").annotate(n=Count("id"), late=Count("id", filter=Q(due_on__lt=scope.today)))
    found = {r["kind"]: (r["n"], r["late"]) for r in grouped}
    return [RequestKindCount(kind, *found.get(kind, (0, 0))) for kind in RequestKind.values]


# --- Open handovers (R7) -------------------------------------------------------------------------


@dataclass
class OpenHandover:
    handover: Handover
    items: int
    done: int  # confirmed by their receiver, or sent to the pool


def open_handovers(scope: Scope) -> list[OpenHandover]:
    """R7.1, R7.2: the open handovers of the scope (narrowed: those of one leaver), oldest first,
    with their items and how many are done. Two queries."""
    if not manages_team(scope.user) or scope.department_ids == []:
        return []
    qs = handovers_visible_to(scope.user).filter(state=HandoverState.OPEN)
    qs = _person(_departments(qs, scope, "department_id"), scope, "leaver_id")
    handovers = list(qs.select_related("leaver").order_by("opened_at", "id"))
    progress = progress_of(handovers)
    return [OpenHandover(h, progress[h.pk].total, progress[h.pk].done) for h in handovers]


# --- The salesperson's workbench ---------------------------------------------------------------


@dataclass
class Workbench:
    today: date
    releasing: list[Customer]
    releasing_total: int
    follow_ups: list[Customer]
    due_today: int
    overdue: int
    allowance: ClaimAllowance | None
    progress: PlanProgress
    month_sales: MonthSales
    rate: Decimal
    commission: Decimal
    on_hold: bool
    sales_months: list[MonthSales]
    overdue_requests: list[ServiceRequest]
    overdue_requests_total: int
    pool_new: list[Customer]
    pool_industries: list[str]
    pool_cities: list[str]
    unread: list[Notification]
    unread_total: int
    daily_report: Report | None
    nights: list[date] = field(default_factory=list)


def _my_markets(user: User, *, top: int = 3) -> tuple[list[str], list[str]]:
    """The industries and cities the salesperson sells to: the most frequent among its customers."""
    mine = customers_visible_to(user).filter(owner=user).order_by()
    industries = list(
        mine.exclude(industry=Industry.OTHER)
        .values("industry")
        .annotate(n=Count("id"))
        .order_by("-n", "industry")
        .values_list("industry", flat=True)[:top]
    )
    cities = list(
        mine.exclude(city="")
        .values("city")
        .annotate(n=Count("id"))
        .order_by("-n", "city")
        .values_list("city", flat=True)[:top]
    )
    return industries, cities


def workbench(user: User, *, now: datetime | None = None) -> Workbench:
    """What a salesperson sees first in the morning, its own figures only (whatever the URL says)."""
    now = now or timezone.now()
    today = local_today(now)
    month = today.replace(day=1)

    releasing_qs = releasing_soon_for(user=user, now=now)
    releasing = list(releasing_qs[: LIST_ROWS * 3])

    due = customers_visible_to(user).filter(owner=user, next_follow_up_on__lte=today)
    due_counts = due.aggregate(today=Count("id", filter=Q(next_follow_up_on=today)), all=Count("id"))

    sales = orders_visible_to(user).filter(
        salesperson=user, confirmed_on__gte=add_months(month, -(WORKBENCH_MONTHS - 1)), confirmed_on__lte=today
    )
    by_month = {
        date(r["year"], r["month"], 1): (r["amount"], r["n"])
        for r in sales.annotate(year=ExtractYear("confirmed_on"), month=ExtractMonth("confirmed_on"))
        .order_by()
        .values("year", "month")
        .annotate(amount=Sum("amount"), n=Count("id"))
    }
    months = [add_months(month, -i) for i in range(WORKBENCH_MONTHS - 1, -1, -1)]
    sales_months = [MonthSales(m, *by_month.get(m, (Decimal(0), 0))) for m in months]
    rate = sales_settings_of(user.department_id).commission_rate

    overdue = overdue_for(user=user, today=today).filter(responsible=user)
    industries, cities = _my_markets(user)
    pool_new: list[Customer] = []
    if industries or cities:
        pool_new = list(
            pool_visible_to(user)
            .filter(Q(industry__in=industries) | Q(city__in=cities))
            .order_by("-released_at", "-id")
            .only("id", "name", "industry", "city", "tier", "released_at", "release_reason", "is_problem")[:LIST_ROWS]
        )
    unread = notifications_for(user).filter(read_at__isnull=True)
    progress = plan_progress_visible_to(user=user, month=month, until=today, salesperson_id=user.pk).get(
        user.pk,
        PlanProgress(month=month, has_plan=False, target=0, visits_done=0, customers_planned=0, customers_visited=0),
    )
    return Workbench(
        today=today,
        releasing=releasing,
        releasing_total=releasing_qs.count() if len(releasing) == LIST_ROWS * 3 else len(releasing),
        follow_ups=list(due.order_by("next_follow_up_on", "id")[:LIST_ROWS]),
        due_today=due_counts["today"],
        overdue=due_counts["all"] - due_counts["today"],
        allowance=claim_allowance(user=user, now=now),
        progress=progress,
        month_sales=sales_months[-1],
        rate=rate,
        commission=commission_for(sales_months[-1].amount, rate),
        on_hold=is_on_hold(user),
        sales_months=sales_months,
        overdue_requests=list(overdue.select_related("customer").order_by("due_on", "id")[:LIST_ROWS]),
        overdue_requests_total=overdue.count(),
        pool_new=pool_new,
        pool_industries=industries,
        pool_cities=cities,
        unread=list(unread.order_by("-created_at", "-id")[:5]),
        unread_total=unread.count(),
        daily_report=reports_visible_to(user)
        .filter(salesperson=user, kind=ReportKind.DAILY, period_start=today)
        .only("id", "status", "summary", "period_start")
        .first(),
        nights=next_run_dates(now=now, count=RELEASE_NIGHTS),
    )
