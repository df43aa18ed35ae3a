"""R7.1 at a department's scale: a resignation of 500 customers opens, is sent in bulk and
completes in one request each, with a number of queries that does not grow with the customers."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from accounts import roles
from customers.models import Basis, Customer, ReleaseReason
from handovers import services
from handovers.models import HandoverItem, State
from ownership.models import Action, OwnershipEvent
from ownership.services import compute_deadline
from sales.models import Order, OrderStatus

from .factories import UserFactory
from .helpers import at

pytestmark = pytest.mark.django_db

DAY = date(2026, 6, 10)


def _book(leaver, n: int) -> list[Customer]:
    since = date(2026, 5, 1)
    rows = [
        Customer(
            department_id=leaver.department_id,
            name=f"规模测试第{i}有限公司",
            name_key=f"scale-{leaver.pk}-{i}",
            source="other",
            owner=leaver,
            owner_basis=Basis.CLAIMED,
            owned_since=since,
            deadline=compute_deadline(owned_since=since, sold_in_ownership=False, last_sale_on=None),
        )
        for i in range(n)
    ]
    customers = Customer.objects.bulk_create(rows)
    Order.objects.bulk_create(
        Order(
            customer=c,
            department_id=c.department_id,  # bulk_create skips Order.save(), which copies it
            salesperson=leaver,
            amount=Decimal("1000.00"),
            paid_amount=Decimal("400.00"),
            status=OrderStatus.PARTLY_PAID,
            deal_date=date(2026, 5, 5),
            confirmed_on=date(2026, 5, 6),
            description="x",
            created_at=at(date(2026, 5, 5)),
        )
        for c in customers[::10]
    )
    return customers


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _run(n: int, manager, department, assert_queries) -> int:
    leaver = UserFactory(role=roles.SALESPERSON, department=department)
    receivers = [UserFactory(role=roles.SALESPERSON, department=department) for _ in range(3)]
    customers = _book(leaver, n)
    with assert_queries(60):
        h = services.handover_open(kind="resignation", leaver=leaver, manager=manager, now=at(DAY, 9))
    HandoverItem.objects.filter(handover=h).update(
        situation="在谈", key_contacts="钱经理", stage="已报价", receivables_note="月底付", note_written_at=at(DAY, 10)
    )
    ids = list(HandoverItem.objects.filter(handover=h).order_by("pk").values_list("pk", flat=True))
    third = len(ids) // 3
    with assert_queries(30):
        services.handover_send(handover=h, manager=manager, item_ids=ids[:third], receiver=receivers[0])
    services.handover_send(handover=h, manager=manager, item_ids=ids[third : 2 * third], receiver=receivers[1])
    services.handover_send(handover=h, manager=manager, item_ids=ids[2 * third : -10], receiver=receivers[2])
    services.handover_send(handover=h, manager=manager, item_ids=ids[-10:], to_pool=True)
    for receiver in receivers:
        with assert_queries(20):
            services.handover_confirm(handover=h, user=receiver, now=at(DAY, 12))
    with assert_queries(50) as captured:
        done = services.handover_complete(handover=h, manager=manager, now=at(DAY + timedelta(days=1), 9))
    assert done.state == State.COMPLETED
    assert not Customer.objects.filter(owner=leaver).exists()
    mine = Customer.objects.filter(pk__in=[c.pk for c in customers])
    assert mine.filter(owner_basis=Basis.HANDED_OVER, handover_ref__isnull=True).count() == n - 10
    assert mine.filter(release_reason=ReleaseReason.HANDOVER, owner__isnull=True).count() == 10
    events = OwnershipEvent.objects.filter(customer__in=mine, at=at(DAY + timedelta(days=1), 9))
    assert events.filter(action=Action.HANDED_OVER).count() == n - 10
    assert events.filter(action=Action.RELEASED, reason=ReleaseReason.HANDOVER).count() == 10
    assert events.count() == n  # one history row per change
    assert HandoverItem.objects.filter(handover=h, receivable_orders=1).count() == len(customers[::10])
    return len(captured)


def test_r7_1_a_500_customer_resignation_completes_in_one_request_with_bounded_queries(
    manager, department, django_assert_max_num_queries
):
    big = _run(500, manager, department, django_assert_max_num_queries)
    small = _run(40, manager, department, django_assert_max_num_queries)
    # The count does not grow with the customers (44 for both on PostgreSQL when written).
    assert big <= small + 4, (big, small)
