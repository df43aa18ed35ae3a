"""R8 orders and payments, R5.3 first-order ownership, R8.2 reversals, R8.3 commission.

Each state change: the happy path, refusals that leave the database unchanged, the history, and
the roles that may not do it.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from accounts import roles
from customers.models import Basis, Customer, ReleaseReason, Tier
from ownership.models import Action, OwnershipEvent
from ownership.nightly import nightly_release
from ownership.services import compute_deadline
from sales import selectors, services
from sales.models import (
    CommissionHold,
    HoldSource,
    Order,
    OrderStatus,
    Payment,
    SaleEvent,
    SaleEventKind,
    TierCause,
    TierChange,
)

from .factories import UserFactory
from .helpers import at, owned_customer, pool_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in their English source (the default language is Chinese)."""
    with translation.override("en"):
        yield


DAY = date(2026, 3, 10)


def state(customer: Customer) -> tuple:
    c = Customer.objects.get(pk=customer.pk)
    return (c.owner_id, c.owner_basis, c.owned_since, c.deadline, c.last_sale_on, c.tier, c.tier_amount)


# --- R8.1 orders ---------------------------------------------------------------------------------


def test_r8_1_owner_records_an_order_awaiting_payment(owner):
    c = owned_customer(owner, since=date(2026, 3, 1))
    order = record(c, owner, "12500.50", day=DAY)
    assert (order.amount, order.status, order.confirmed_on, order.paid_amount) == (
        Decimal("12500.50"),
        OrderStatus.AWAITING,
        None,
        Decimal(0),
    )
    assert isinstance(order.amount, Decimal)
    assert SaleEvent.objects.get(order=order).kind == SaleEventKind.ORDER_RECORDED
    assert reload(c).last_sale_on is None  # not a sale until finance confirms


@pytest.mark.parametrize("who", ["teammate", "outsider", "manager", "finance"])
def test_r8_1_only_the_owner_records_an_order(request, owner, department, who):
    c = owned_customer(owner, since=date(2026, 3, 1))
    user = request.getfixturevalue(who)
    with pytest.raises(services.PermissionDenied):
        record(c, user, day=DAY)
    assert not Order.objects.exists()


def test_r8_1_a_pool_customer_takes_no_order(owner, department):
    c = pool_customer(department)
    with pytest.raises(services.PermissionDenied):
        record(c, owner, day=DAY)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("-5"), "more than zero"),
        (Decimal("0"), "more than zero"),
        (Decimal("0.00"), "more than zero"),
        (Decimal("1000000000000"), "Check the amount"),  # > 1e12: absurd
        (Decimal("10000000000"), "Check the amount"),
        (Decimal("10.005"), "two decimal places"),
        (Decimal("NaN"), "number of yuan"),
        (Decimal("Infinity"), "number of yuan"),
        ("abc", "number of yuan"),
        (12.5, "exact numbers"),  # a float is refused: money is Decimal
    ],
)
def test_r8_1_bad_amounts_are_refused_with_a_clear_message(owner, amount, message):
    c = owned_customer(owner, since=date(2026, 3, 1))
    with pytest.raises(services.DomainError, match=message):
        services.order_create(customer=c, user=owner, amount=amount, deal_date=DAY, description="x", now=at(DAY))
    assert not Order.objects.exists()


def test_r8_1_future_deal_date_and_empty_description_are_refused(owner):
    c = owned_customer(owner, since=date(2026, 3, 1))
    with pytest.raises(services.DomainError, match="future"):
        services.order_create(
            customer=c, user=owner, amount=Decimal(1), deal_date=date(2026, 3, 11), description="x", now=at(DAY)
        )
    with pytest.raises(services.DomainError, match="Describe"):
        services.order_create(customer=c, user=owner, amount=Decimal(1), deal_date=DAY, description="  ", now=at(DAY))
    assert not Order.objects.exists()


# --- R8.1 payments ---------------------------------------------------------------------------------


def test_r8_1_partial_then_full_payment(owner, finance):
    c = owned_customer(owner, since=date(2026, 3, 1))
    order = record(c, owner, "10000.00", day=DAY)
    first = confirm(order, finance, "4000.00", day=DAY)
    order = reload(order)
    assert first.became_sale
    assert (order.status, order.paid_amount, order.confirmed_on) == (OrderStatus.PARTLY_PAID, Decimal(4000), DAY)
    second = confirm(order, finance, "6000.00", day=date(2026, 3, 20))
    order = reload(order)
    assert not second.became_sale
    assert (order.status, order.paid_amount, order.confirmed_on) == (OrderStatus.PAID, Decimal(10000), DAY)
    assert reload(c).last_sale_on == DAY  # a later payment of the same order does not move the sale date


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("6000.01"), "overpayment"),
        (Decimal("-1"), "more than zero"),
        (Decimal("0"), "more than zero"),
        (Decimal("1e13"), "Check the amount"),
        ("一万", "number of yuan"),
    ],
)
def test_r8_1_bad_payments_are_refused_and_nothing_changes(owner, finance, amount, message):
    c = owned_customer(owner, since=date(2026, 3, 1))
    order = record(c, owner, "10000.00", day=DAY)
    confirm(order, finance, "4000.00", day=DAY)
    before = state(c), Payment.objects.count(), reload(order).paid_amount
    with pytest.raises(services.DomainError, match=message):
        services.payment_confirm(order=order, user=finance, amount=amount, received_on=DAY, now=at(DAY, 15))
    assert (state(c), Payment.objects.count(), reload(order).paid_amount) == before


def test_r8_1_overpayment_message_names_what_is_due(owner, finance):
    order = record(owned_customer(owner, since=date(2026, 3, 1)), owner, "10000.00", day=DAY)
    with pytest.raises(services.DomainError) as exc:
        confirm(order, finance, "10000.01", day=DAY)
    assert "¥10,000.01" in exc.value.message and "¥10,000.00" in exc.value.message


def test_r8_1_paid_order_takes_no_more_payments(owner, finance):
    order = record(owned_customer(owner, since=date(2026, 3, 1)), owner, "100.00", day=DAY)
    confirm(order, finance, day=DAY)
    with pytest.raises(services.DomainError, match="paid in full"):
        confirm(reload(order), finance, "1.00", day=DAY)


def test_r8_1_received_date_in_the_future_is_refused(owner, finance):
    order = record(owned_customer(owner, since=date(2026, 3, 1)), owner, "100.00", day=DAY)
    with pytest.raises(services.DomainError, match="future"):
        confirm(order, finance, day=DAY, received_on=date(2026, 3, 11))
    assert not Payment.objects.exists()


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "admin_user"])
def test_r8_only_finance_confirms_or_reverses(request, owner, finance, who):
    c = owned_customer(owner, since=date(2026, 3, 1))
    order = record(c, owner, "100.00", day=DAY)
    user = request.getfixturevalue(who)
    with pytest.raises(services.PermissionDenied):
        confirm(order, user, day=DAY)
    assert not Payment.objects.exists() and reload(order).confirmed_on is None
    payment = confirm(order, finance, day=DAY).payment
    with pytest.raises(services.PermissionDenied):
        services.payment_reverse(payment=payment, user=user, reason="wrong")
    assert reload(payment).reversed_at is None


# --- R5.3 first-order ownership ----------------------------------------------------------------


def test_r5_3_owner_by_first_inquiry_stays_on_basis_first_order_and_the_clock_starts(owner, finance):
    c = owned_customer(owner, since=date(2026, 2, 1), basis=Basis.FIRST_INQUIRY)
    order = record(c, owner, "8000.00", day=date(2026, 3, 1))
    result = confirm(order, finance, "3000.00", day=DAY)  # confirmed nine days after the deal
    c = reload(c)
    assert result.became_owner
    assert (c.owner, c.owner_basis, c.owned_since, c.last_sale_on) == (owner, Basis.FIRST_ORDER, DAY, DAY)
    assert c.sold_in_ownership
    assert c.deadline == date(2026, 6, 10)  # R5.4: 3 months from the confirmation day, not the deal date
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.from_owner, event.to_owner, event.basis) == (
        Action.FIRST_ORDER,
        owner,
        owner,
        Basis.FIRST_ORDER,
    )
    assert SaleEvent.objects.filter(order=order, kind=SaleEventKind.FIRST_ORDER).exists()


def test_r5_3_released_before_confirmation_goes_to_the_orders_salesperson(owner, finance, department):
    c = owned_customer(owner, since=date(2026, 1, 1), basis=Basis.FIRST_INQUIRY)
    order = record(c, owner, "8000.00", day=date(2026, 2, 20))
    nightly_release(as_of=date(2026, 3, 2), now=at(date(2026, 3, 2), 1))  # R5.2: deadline 1 Mar passed
    c = reload(c)
    assert c.owner is None and c.release_reason == ReleaseReason.NO_DEAL
    confirm(order, finance, "1000.00", day=DAY)
    c = reload(c)
    assert (c.owner, c.owner_basis, c.owned_since, c.deadline) == (owner, Basis.FIRST_ORDER, DAY, date(2026, 6, 10))
    actions = list(OwnershipEvent.objects.filter(customer=c).order_by("at", "id").values_list("action", flat=True))
    assert actions == [Action.RELEASED, Action.FIRST_ORDER]


def test_r5_3_first_order_moves_the_customer_from_another_owner(owner, teammate, finance):
    c = owned_customer(owner, since=date(2026, 1, 10), basis=Basis.FIRST_INQUIRY)
    order = record(c, owner, "8000.00", day=date(2026, 2, 1))
    # The customer was later claimed by the teammate (released and claimed in between).
    Customer.objects.filter(pk=c.pk).update(owner=teammate, owner_basis=Basis.CLAIMED, owned_since=date(2026, 3, 5))
    confirm(order, finance, day=DAY)
    c = reload(c)
    assert (c.owner, c.owner_basis) == (owner, Basis.FIRST_ORDER)


def test_r5_3_later_confirmations_move_the_clock_not_the_owner(owner, teammate, finance):
    c = owned_customer(owner, since=date(2026, 1, 10), basis=Basis.FIRST_INQUIRY)
    confirm(record(c, owner, "8000.00", day=date(2026, 2, 1)), finance, day=date(2026, 2, 1))
    later = record(c, owner, "9000.00", day=DAY)
    Customer.objects.filter(pk=c.pk).update(owner=teammate)  # handed over meanwhile
    result = confirm(later, finance, day=DAY)
    c = reload(c)
    assert not result.became_owner
    assert (c.owner, c.last_sale_on) == (teammate, DAY)
    assert OwnershipEvent.objects.filter(customer=c).count() == 1


# --- R8.2 reversals -----------------------------------------------------------------------------


def test_r8_2_reversal_keeps_the_payment_and_recomputes_order_and_tier(owner, finance):
    c = owned_customer(owner, since=date(2026, 2, 1))
    order = record(c, owner, "60000.00", day=DAY)
    p1 = confirm(order, finance, "10000.00", day=DAY).payment
    p2 = confirm(order, finance, "20000.00", day=date(2026, 3, 12)).payment
    assert reload(c).tier == Tier.A
    services.payment_reverse(payment=p2, user=finance, reason="银行退票", now=at(date(2026, 3, 13)))
    order, p2 = reload(order), reload(p2)
    assert (order.paid_amount, order.status, order.confirmed_on) == (Decimal(10000), OrderStatus.PARTLY_PAID, DAY)
    assert p2.reversed_by == finance and p2.reverse_reason == "银行退票" and Payment.objects.count() == 2
    assert reload(c).tier == Tier.A  # still a confirmed sale
    services.payment_reverse(payment=p1, user=finance, reason="误登记", now=at(date(2026, 3, 14)))
    order, c = reload(order), reload(c)
    assert (order.paid_amount, order.status, order.confirmed_on) == (Decimal(0), OrderStatus.AWAITING, None)
    assert (c.tier, c.tier_amount) == (Tier.C, Decimal(0))
    assert TierChange.objects.filter(customer=c).first().cause == TierCause.PAYMENT_REVERSED
    kinds = list(SaleEvent.objects.filter(order=order).order_by("at", "id").values_list("kind", flat=True))
    assert kinds == [
        SaleEventKind.ORDER_RECORDED,
        SaleEventKind.PAYMENT_CONFIRMED,
        SaleEventKind.SALE_CONFIRMED,
        SaleEventKind.FIRST_ORDER,
        SaleEventKind.PAYMENT_CONFIRMED,
        SaleEventKind.PAYMENT_REVERSED,
        SaleEventKind.PAYMENT_REVERSED,
        SaleEventKind.SALE_REVERSED,
        SaleEventKind.FIRST_SALE_REVERSED,
    ]
    with pytest.raises(services.DomainError, match="already"):
        services.payment_reverse(payment=p1, user=finance, reason="again")
    with pytest.raises(services.DomainError, match="why"):
        services.payment_reverse(payment=reload(p2), user=finance, reason="  ")


def test_r8_2_reversing_the_first_sale_restores_the_owners_earlier_basis_and_clock(owner, finance):
    c = owned_customer(owner, since=date(2026, 2, 1), basis=Basis.FIRST_INQUIRY)
    payment = confirm(record(c, owner, "8000.00", day=DAY), finance, day=DAY).payment
    services.payment_reverse(payment=payment, user=finance, reason="退票", now=at(date(2026, 3, 15)))
    c = reload(c)
    assert (c.owner, c.owner_basis, c.owned_since, c.last_sale_on, c.sold_in_ownership) == (
        owner,
        Basis.FIRST_INQUIRY,
        date(2026, 2, 1),
        None,
        False,
    )
    assert c.deadline == compute_deadline(owned_since=date(2026, 2, 1), sold_in_ownership=False, last_sale_on=None)
    # No confirmed sale is left: the next confirmation is the customer's first again (R5.3).
    actions = list(OwnershipEvent.objects.filter(customer=c).order_by("id").values_list("action", flat=True))
    assert actions == [Action.FIRST_ORDER, Action.SALE_REVERSED]


def test_r8_2_reversing_a_later_sale_restores_the_previous_sale_date(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5))
    confirm(record(c, owner, "8000.00", day=date(2026, 1, 20)), finance, day=date(2026, 1, 20))
    payment = confirm(record(c, owner, "9000.00", day=DAY), finance, day=DAY).payment
    assert reload(c).deadline == date(2026, 6, 10)
    services.payment_reverse(payment=payment, user=finance, reason="退票", now=at(date(2026, 3, 15)))
    c = reload(c)
    assert (c.last_sale_on, c.deadline) == (date(2026, 1, 20), date(2026, 4, 20))


# --- Receivables, commission (R8.3, R7.1) ------------------------------------------------------


def test_receivables_are_confirmed_orders_not_paid_in_full(owner, teammate, finance, manager, outsider):
    c1 = owned_customer(owner, since=date(2026, 2, 1))
    c2 = owned_customer(teammate, since=date(2026, 2, 1))
    confirm(record(c1, owner, "10000.00", day=DAY), finance, "2500.00", day=DAY)
    confirm(record(c1, owner, "5000.00", day=DAY), finance, day=DAY)  # paid: not a receivable
    record(c1, owner, "7000.00", day=DAY)  # not confirmed: not a receivable
    confirm(record(c2, teammate, "3000.00", day=DAY), finance, "1000.00", day=DAY)
    by_customer = {r["customer_id"]: r["due_total"] for r in selectors.receivables_by_customer(finance)}
    assert by_customer == {c1.pk: Decimal("7500.00"), c2.pk: Decimal("2000.00")}
    by_person = {r["salesperson_id"]: r["due_total"] for r in selectors.receivables_by_salesperson(manager)}
    assert by_person == {owner.pk: Decimal("7500.00"), teammate.pk: Decimal("2000.00")}
    assert {r["customer_id"] for r in selectors.receivables_by_customer(owner)} == {c1.pk}
    assert not selectors.receivables_by_customer(outsider).exists()
    assert selectors.receivable_total_of_customer(user=manager, customer=c1) == Decimal("7500.00")
    assert selectors.receivables_of_customer(user=teammate, customer=c1) == []


def test_r8_3_commission_statement_by_sale_date_with_holds(owner, teammate, finance, manager):
    c1 = owned_customer(owner, since=date(2026, 2, 1))
    c2 = owned_customer(teammate, since=date(2026, 2, 1))
    confirm(record(c1, owner, "10000.00", day=date(2026, 2, 25)), finance, "1.00", day=date(2026, 3, 2))
    confirm(record(c1, owner, "3333.33", day=DAY), finance, "1.00", day=DAY)
    confirm(record(c1, owner, "50000.00", day=DAY), finance, "1.00", day=date(2026, 4, 1))  # April's sale
    record(c2, teammate, "9999.00", day=DAY)  # never confirmed
    services.commission_hold_set(salesperson=teammate, user=manager, reason="交接未完成", now=at(DAY))
    lines = {line.salesperson: line for line in selectors.commission_statement(user=finance, month=date(2026, 3, 1))}
    assert set(lines) == {owner, teammate}
    mine = lines[owner]
    assert (mine.sales_count, mine.sales_amount, mine.rate, mine.commission, mine.on_hold) == (
        2,
        Decimal("13333.33"),
        Decimal("0.03"),
        Decimal("400.00"),  # 13,333.33 × 3% = 399.9999 → 400.00
        False,
    )
    assert lines[teammate].on_hold and lines[teammate].sales_amount == Decimal(0)
    april = selectors.commission_statement(user=finance, month=date(2026, 4, 1))
    assert [(line.salesperson, line.commission) for line in april] == [(owner, Decimal("1500.00")), (teammate, 0)]
    assert selectors.commission_statement(user=owner, month=date(2026, 3, 1)) == []


def test_commission_holds_set_and_release(owner, manager, finance, outsider):
    hold = services.commission_hold_set(salesperson=owner, user=manager, reason="离职交接中")
    assert selectors.is_on_hold(owner)
    with pytest.raises(services.DomainError, match="already on hold"):
        services.commission_hold_set(salesperson=owner, user=manager, reason="again")
    handover = services.commission_hold_set(
        salesperson=owner, user=manager, reason="交接 #3", source=HoldSource.HANDOVER
    )
    for user in (finance, outsider, owner):
        with pytest.raises(services.PermissionDenied):
            services.commission_hold_set(salesperson=owner, user=user, reason="x")
        with pytest.raises(services.PermissionDenied):
            services.commission_hold_release(hold=hold, user=user)
    with pytest.raises(services.DomainError, match="why"):
        services.commission_hold_set(salesperson=owner, user=manager, reason=" ")
    services.commission_hold_release(hold=hold, user=manager)
    assert selectors.is_on_hold(owner)  # the handover's hold is still open
    with pytest.raises(services.DomainError, match="handover"):  # R7.1: it ends with its handover
        services.commission_hold_release(hold=handover, user=manager)
    services.commission_hold_release(hold=handover, user=manager, by_handover=True)
    assert not selectors.is_on_hold(owner)
    with pytest.raises(services.DomainError, match="already been released"):
        services.commission_hold_release(hold=hold, user=manager)
    assert CommissionHold.objects.count() == 2


def test_manager_of_another_department_cannot_hold(owner, other_department):
    other = UserFactory(role=roles.MANAGER, department=other_department)
    with pytest.raises(services.PermissionDenied):
        services.commission_hold_set(salesperson=owner, user=other, reason="x")


def test_history_rows_are_append_only(owner, finance):
    order = record(owned_customer(owner, since=date(2026, 3, 1)), owner, day=DAY)
    confirm(order, finance, day=DAY)
    event = SaleEvent.objects.first()
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    with pytest.raises(RuntimeError):
        Payment.objects.first().delete()
