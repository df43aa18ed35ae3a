"""R5.3 on real PostgreSQL: finance confirming a customer's first payment while the nightly job
releases the same customer, both orders of events forced. Never "released with a confirmed
first order"."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from customers.models import Basis
from ownership.models import Action, OwnershipEvent
from ownership.nightly import nightly_release
from sales import services
from sales.models import OrderStatus

from .helpers import at, owned_customer, reload
from .sales_helpers import record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RUN_DAY = date(2026, 3, 5)


def _wait_until_blocked(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the racing transaction never blocked")


@pytest.mark.parametrize("first", ["confirmation", "nightly"])
def test_r5_3_payment_confirmation_racing_the_nightly_release(owner, finance, first):
    """The owner's customer is due tonight (2 months without a deal, R5.2) while finance confirms
    the first payment of its first order. Either order ends with the owner on basis first order."""
    c = owned_customer(owner, since=date(2026, 1, 1), basis=Basis.FIRST_INQUIRY)
    order = record(c, owner, "20000.00", day=date(2026, 2, 20))
    go = threading.Event()
    errors: list[BaseException] = []

    def confirmation():
        try:
            with transaction.atomic():
                services.payment_confirm(
                    order=order, user=finance, amount=Decimal("5000.00"), received_on=RUN_DAY, now=at(RUN_DAY, 1)
                )
                if first == "confirmation":
                    go.wait(10)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def nightly():
        try:
            with transaction.atomic():
                nightly_release(as_of=RUN_DAY, now=at(RUN_DAY, 1))
                if first == "nightly":
                    go.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    leader, follower = (confirmation, nightly) if first == "confirmation" else (nightly, confirmation)
    t1 = threading.Thread(target=leader)
    t1.start()
    time.sleep(0.3)  # the leader holds the customer's row lock
    t2 = threading.Thread(target=follower)
    t2.start()
    _wait_until_blocked()
    go.set()
    t1.join(30)
    t2.join(30)
    assert not errors, errors
    c, order = reload(c), reload(order)
    assert order.status == OrderStatus.PARTLY_PAID and order.confirmed_on == RUN_DAY
    assert c.owner == owner and c.owner_basis == Basis.FIRST_ORDER and c.sold_in_ownership
    assert c.deadline == date(2026, 6, 5) and c.last_sale_on == RUN_DAY
    actions = list(OwnershipEvent.objects.filter(customer=c).order_by("at", "id").values_list("action", flat=True))
    if first == "confirmation":
        assert actions == [Action.FIRST_ORDER]  # the release found the customer no longer due
    else:
        assert actions == [Action.RELEASED, Action.FIRST_ORDER]  # released, then taken by the first order


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE sales_saleevent SET note = 'x'",
        "DELETE FROM sales_saleevent",
        "UPDATE sales_tierchange SET amount = 0",
        "DELETE FROM sales_tierchange",
        "DELETE FROM sales_payment",
    ],
)
def test_r8_2_sales_history_is_append_only_in_the_database(owner, finance, sql):
    from django.db.utils import DatabaseError

    from .sales_helpers import confirm

    customer = owned_customer(owner, since=date(2026, 1, 5))
    confirm(record(customer, owner, "60000.00", day=date(2026, 2, 1)), finance, day=date(2026, 2, 3))  # tier C → A
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
