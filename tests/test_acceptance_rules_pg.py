"""Acceptance races for real on PostgreSQL (threads on their own connections), where the rules meet.

R8.2 with R5.8: a reversal that gives a customer back to its previous owner checks that owner's
limit of customers without a sale; a claim of the same salesperson at the same moment must not let
both pass the limit. The test holds the claim at its write (its checks done under the claimer's
lock, nothing committed), runs the reversal until it finishes or waits on a lock, then lets the
claim commit.
"""

from datetime import date

import pytest
from django.db import connection

from customers.models import Basis, Customer, ReleaseReason
from ownership import services as ownership
from ownership.models import PoolSettings
from sales import services as sales

from .helpers import at, owned_customer, pool_customer, reload
from .sales_helpers import confirm, record
from .test_ownership_rules_pg import PauseBefore, run_until_done_or_waiting

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_r8_2_r5_8_a_reversal_and_a_claim_at_once_never_put_the_previous_owner_over_its_limit(
    owner, teammate, finance, department
):
    """The teammate may own 2 customers without a sale and owns 1. R5.3 took customer X from it for
    the owner; on 10 Mar the teammate claims pool customer Y while finance reverses the owner's
    sale of X (which would give X back to the teammate). Whichever comes second sees the other: the
    teammate ends with 2 unsold customers, X in the pool (the reversal's refusal: the limit)."""
    PoolSettings.objects.update_or_create(department=department, defaults={"max_unsold": 2})
    owned_customer(teammate, since=date(2026, 3, 1))
    x = pool_customer(department)
    ownership.customer_claim(customer=x, user=owner, now=at(date(2026, 1, 2)))
    order = record(reload(x), owner, "8000.00", day=date(2026, 1, 3))
    ownership.release_note_write(
        customer=x, user=owner, situation="在谈", contact_details="王经理", communication_level="已报价"
    )
    ownership.customer_release(customer=reload(x), user=owner, now=at(date(2026, 1, 4)))
    ownership.customer_claim(customer=reload(x), user=teammate, now=at(date(2026, 2, 20)))
    payment = confirm(order, finance, day=date(2026, 3, 2)).payment
    assert (reload(x).owner, reload(x).owner_basis) == (owner, Basis.FIRST_ORDER)
    y = pool_customer(department)

    def reverse():
        sales.payment_reverse(payment=payment, user=finance, reason="银行退票", now=at(date(2026, 3, 10), 15))

    held = []
    pause = PauseBefore(
        "UPDATE", ('"customers_customer"', '"owner_basis" = '), lambda: held.append(run_until_done_or_waiting(reverse))
    )
    with connection.execute_wrapper(pause):
        ownership.customer_claim(customer=y, user=teammate, now=at(date(2026, 3, 10), 15))
    held[0].join(30)
    assert not held[0].errors, held[0].errors  # type: ignore[attr-defined]
    assert held[0].waited  # type: ignore[attr-defined]  # the reversal waited for the claimer's row
    assert reload(y).owner == teammate
    x = reload(x)
    assert (x.owner, x.release_reason) == (None, ReleaseReason.SALE_REVERSED)
    assert Customer.objects.filter(owner=teammate, sold_in_ownership=False).count() == 2
