"""Reads of orders, receivables, commission and holds, always scoped to the requesting user:
finance and admins see every department, a manager its department, a salesperson its own."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Q, QuerySet, Sum
from django.http import Http404

from accounts import roles
from accounts.models import User
from crm.dates import add_months
from customers.models import Customer
from customers.selectors import can_see_sales_and_credit

from .models import CommissionHold, Order, OrderStatus, Payment, SaleEvent, SalesSettings, TierChange
from .services import commission_for, sales_settings_of

OUTSTANDING = ExpressionWrapper(
    F("amount") - F("paid_amount"), output_field=DecimalField(max_digits=14, decimal_places=2)
)


def _sees_all(user: User) -> bool:
    return user.is_authenticated and user.is_active and (user.is_finance or user.is_admin_role)


def orders_visible_to(user: User) -> QuerySet[Order]:
    """Finance and admins: every order; a manager: its department's customers' orders; a
    salesperson: the orders it recorded and the orders of the customers it owns."""
    qs = Order.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if _sees_all(user):
        return qs
    if user.is_manager:
        # The order's copy of its customer's department: no join with the customers.
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    if user.is_salesperson:
        return qs.filter(Q(salesperson=user) | Q(customer__owner=user))
    return qs.none()


def order_for_user(*, user: User, pk: int) -> Order:
    try:
        return orders_visible_to(user).select_related("customer", "salesperson", "customer__owner").get(pk=pk)
    except (Order.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def payment_for_user(*, user: User, pk: int) -> Payment:
    try:
        return Payment.objects.select_related("order__customer").get(
            pk=pk, order__in=orders_visible_to(user).values("pk")
        )
    except (Payment.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def my_orders(user: User) -> QuerySet[Order]:
    """A salesperson's own orders, newest first."""
    return Order.objects.filter(salesperson=user).select_related("customer").order_by("-created_at", "-id")


def confirmation_queue(user: User) -> QuerySet[Order]:
    """Finance's queue: orders not yet paid in full, oldest first (two queries a page)."""
    if not _sees_all(user):
        return Order.objects.none()
    return (
        Order.objects.exclude(status=OrderStatus.PAID)
        .select_related("customer", "customer__department", "salesperson")
        .order_by("created_at", "id")
    )


def salespeople_for_filters(user: User) -> QuerySet[User]:
    # A deactivated account (R7.1) is never offered in a list of salespeople.
    qs = User.objects.filter(is_active=True, groups__name=roles.SALESPERSON).order_by("username")
    if _sees_all(user):
        return qs
    if user.is_manager and user.department_id:
        return qs.filter(department_id=user.department_id)
    return qs.filter(pk=user.pk)


# --- Receivables (R7.1, issue 4) ---------------------------------------------------------------


def receivable_orders(user: User) -> QuerySet[Order]:
    """Confirmed orders not yet paid in full."""
    return (
        orders_visible_to(user)
        .filter(confirmed_on__isnull=False)
        .exclude(status=OrderStatus.PAID)
        .annotate(due=OUTSTANDING)
    )


# The receivables' sortable columns (?ordering=), per grouping: what is owed, how many orders, since
# when (the oldest unpaid confirmed sale: how long it has been owed) and the name. A department's
# receivables are a few hundred groups: sorting them needs no index of its own.
RECEIVABLE_ORDERINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {
        "-due_total": ("-due_total", "customer_id"),
        "due_total": ("due_total", "customer_id"),
        "-orders": ("-orders", "customer_id"),
        "orders": ("orders", "customer_id"),
        "since": ("since", "customer_id"),
        "-since": ("-since", "customer_id"),
        "name": ("customer__name", "customer_id"),
        "-name": ("-customer__name", "-customer_id"),
    },
    "salesperson": {
        "-due_total": ("-due_total", "salesperson_id"),
        "due_total": ("due_total", "salesperson_id"),
        "-orders": ("-orders", "salesperson_id"),
        "orders": ("orders", "salesperson_id"),
        "since": ("since", "salesperson_id"),
        "-since": ("-since", "salesperson_id"),
        "name": ("salesperson__display_name", "salesperson__username", "salesperson_id"),
        "-name": ("-salesperson__display_name", "-salesperson__username", "-salesperson_id"),
    },
}


def receivables_by_customer(user: User, ordering: str = "-due_total") -> QuerySet:
    return (
        receivable_orders(user)
        .order_by()
        .values("customer_id", "customer__name", "customer__owner__display_name", "customer__owner__username")
        .annotate(orders=Count("id"), due_total=Sum(OUTSTANDING), since=Min("confirmed_on"))
        .order_by(*RECEIVABLE_ORDERINGS["customer"].get(ordering, RECEIVABLE_ORDERINGS["customer"]["-due_total"]))
    )


def receivables_by_salesperson(user: User, ordering: str = "-due_total") -> QuerySet:
    orderings = RECEIVABLE_ORDERINGS["salesperson"]
    return (
        receivable_orders(user)
        .order_by()
        .values("salesperson_id", "salesperson__display_name", "salesperson__username")
        .annotate(orders=Count("id"), due_total=Sum(OUTSTANDING), since=Min("confirmed_on"))
        .order_by(*orderings.get(ordering, orderings["-due_total"]))
    )


def receivables_of_customer(*, user: User, customer: Customer) -> list[Order]:
    """The customer's receivables (used by handovers, R7.1); empty for who may not see its file."""
    if not can_see_sales_and_credit(user, customer):
        return []
    return list(
        Order.objects.filter(customer=customer, confirmed_on__isnull=False)
        .exclude(status=OrderStatus.PAID)
        .annotate(due=OUTSTANDING)
        .select_related("salesperson")
        .order_by("confirmed_on", "id")
    )


def receivable_total_of_customer(*, user: User, customer: Customer) -> Decimal:
    return sum((o.outstanding for o in receivables_of_customer(user=user, customer=customer)), Decimal(0))


# --- The customer file (R4.4) -----------------------------------------------------------------


@dataclass
class SalesSummary:
    orders: list[Order]
    order_count: int
    confirmed_total: Decimal
    paid_total: Decimal
    receivable: Decimal
    awaiting: Decimal
    tier_history: list[TierChange]
    events: list[SaleEvent]
    settings: SalesSettings


def sales_summary(*, user: User, customer: Customer, limit: int = 20) -> SalesSummary | None:
    if not can_see_sales_and_credit(user, customer):
        return None
    orders = Order.objects.filter(customer=customer)
    totals = orders.aggregate(
        n=Count("id"),
        confirmed=Sum("amount", filter=Q(confirmed_on__isnull=False)),
        paid=Sum("paid_amount"),
        receivable=Sum(OUTSTANDING, filter=Q(confirmed_on__isnull=False)),
        awaiting=Sum("amount", filter=Q(confirmed_on__isnull=True)),
    )
    return SalesSummary(
        orders=list(orders.select_related("salesperson").order_by("-created_at", "-id")[:limit]),
        order_count=totals["n"] or 0,
        confirmed_total=totals["confirmed"] or Decimal(0),
        paid_total=totals["paid"] or Decimal(0),
        receivable=totals["receivable"] or Decimal(0),
        awaiting=totals["awaiting"] or Decimal(0),
        tier_history=list(TierChange.objects.filter(customer=customer).order_by("-at", "-id")[:limit]),
        events=list(
            SaleEvent.objects.filter(customer=customer).select_related("actor", "order").order_by("-at", "-id")[:limit]
        ),
        settings=sales_settings_of(customer.department_id),
    )


# --- Commission (R8.3) -------------------------------------------------------------------------


def holds_visible_to(user: User) -> QuerySet[CommissionHold]:
    qs = CommissionHold.objects.select_related("salesperson", "set_by", "released_by")
    if _sees_all(user):
        return qs
    if user.is_manager and user.department_id:
        return qs.filter(salesperson__department_id=user.department_id)
    return qs.filter(salesperson=user)


# Higher apps describe their own holds (R7: a handover's progress), registered in their
# AppConfig.ready(): fn(holds of that source) -> {hold id: text}. This module never imports them.
HoldDetail = Callable[[list[CommissionHold]], dict[int, str]]
_hold_details: dict[str, HoldDetail] = {}


def register_hold_detail(source: str, fn: HoldDetail) -> None:
    _hold_details[source] = fn


def describe_holds(holds: list[CommissionHold]) -> list[CommissionHold]:
    """Set `hold.progress` on each hold (the registered description of its source, or ""), one
    call per source whatever the number of holds."""
    by_source: dict[str, list[CommissionHold]] = {}
    for hold in holds:
        hold.progress = ""  # type: ignore[attr-defined]
        by_source.setdefault(hold.source, []).append(hold)
    for source, group in by_source.items():
        fn = _hold_details.get(source)
        if fn is None:
            continue
        texts = fn(group)
        for hold in group:
            hold.progress = texts.get(hold.pk, "")  # type: ignore[attr-defined]
    return holds


def is_on_hold(salesperson: User) -> bool:
    return CommissionHold.objects.filter(salesperson=salesperson, released_at__isnull=True).exists()


@dataclass
class CommissionLine:
    salesperson: User
    sales_count: int
    sales_amount: Decimal
    rate: Decimal
    commission: Decimal
    holds: list[CommissionHold] = field(default_factory=list)

    @property
    def on_hold(self) -> bool:
        return bool(self.holds)


def month_range(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, add_months(first, 1)


def commission_statement(*, user: User, month: date) -> list[CommissionLine]:
    """R8.3: per salesperson, its orders that became confirmed sales in `month` (by sale date),
    the department's rate and the commission; with the open holds (R7). Salespeople on hold
    without sales this month are listed too, so finance sees every hold."""
    if not (_sees_all(user) or user.is_manager):
        return []
    first, after = month_range(month)
    sales = (
        orders_visible_to(user)
        .filter(confirmed_on__gte=first, confirmed_on__lt=after)
        .order_by()
        .values("salesperson_id")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    totals = {row["salesperson_id"]: (row["n"], row["total"]) for row in sales}
    holds_qs = holds_visible_to(user).filter(released_at__isnull=True).order_by("set_at", "id")
    holds: dict[int, list[CommissionHold]] = {}
    for hold in describe_holds(list(holds_qs)):
        holds.setdefault(hold.salesperson_id, []).append(hold)
    people = User.objects.filter(pk__in=set(totals) | set(holds)).select_related("department")
    rates = {s.department_id: s.commission_rate for s in SalesSettings.objects.all()}
    default_rate = SalesSettings().commission_rate
    lines = []
    for person in people:
        n, total = totals.get(person.pk, (0, Decimal(0)))
        rate = rates.get(person.department_id, default_rate) if person.department_id else default_rate
        lines.append(
            CommissionLine(
                salesperson=person,
                sales_count=n,
                sales_amount=total,
                rate=rate,
                commission=commission_for(total, rate),
                holds=holds.get(person.pk, []),
            )
        )
    return sorted(lines, key=lambda line: (-line.sales_amount, line.salesperson.username))


def commission_orders(*, user: User, salesperson_id: int, month: date) -> QuerySet[Order]:
    first, after = month_range(month)
    return (
        orders_visible_to(user)
        .filter(salesperson_id=salesperson_id, confirmed_on__gte=first, confirmed_on__lt=after)
        .select_related("customer")
        .order_by("confirmed_on", "id")
    )


# --- Handover items (R7.1) ---------------------------------------------------------------------


@dataclass
class OpenSales:
    """A customer's orders not yet paid in full: the receivables (confirmed sales) and the orders
    still awaiting their first payment."""

    receivables: list[Order] = field(default_factory=list)
    awaiting: list[Order] = field(default_factory=list)

    @property
    def receivable_total(self) -> Decimal:
        return sum((o.outstanding for o in self.receivables), Decimal(0))

    @property
    def awaiting_total(self) -> Decimal:
        return sum((o.amount for o in self.awaiting), Decimal(0))


def open_sales_of_customers(*, user: User, customer_ids: list[int]) -> dict[int, OpenSales]:
    """R7.1 handover items: each customer's open orders and receivables that `user` may see, in
    one query whatever the number of customers."""
    out: dict[int, OpenSales] = {}
    qs = (
        orders_visible_to(user)
        .filter(customer_id__in=customer_ids)
        .exclude(status=OrderStatus.PAID)
        .select_related("salesperson")
        .order_by("customer_id", "confirmed_on", "id")
    )
    for order in qs:
        entry = out.setdefault(order.customer_id, OpenSales())
        (entry.receivables if order.confirmed_on else entry.awaiting).append(order)
    return out
