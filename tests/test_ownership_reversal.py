"""R8.2: a reversed first sale undoes its ownership effects (docs/decisions.md, "Reversing the
customer's first confirmed sale").

After finance reverses the confirmation that made a customer's first sale (R5.3), the ownership is
what it would have been had that sale never been confirmed: R5.3 applies to the earliest sale left;
with none left, the ownership the first order replaced comes back (the same owner on its old basis
and clock; a previous owner that can still own it; else the pool, managers told). Each change is one
history row, shown on the customer's page next to the first order.
"""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from accounts import roles
from customers.models import Basis, Customer, ReleaseReason
from notifications.models import Notification
from ownership import selectors, services
from ownership.models import Action, OwnershipEvent, PoolSettings
from ownership.nightly import nightly_release
from sales import services as sales
from sales.models import SaleEvent, SaleEventKind

from .factories import UserFactory
from .helpers import at, owned_customer, pool_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def reverse_payment(payment, finance, day: date, reason: str = "银行退票"):
    return sales.payment_reverse(payment=payment, user=finance, reason=reason, now=at(day, 15))


def ownership(c: Customer) -> tuple:
    c = reload(c)
    return (c.owner, c.owner_basis, c.owned_since, c.deadline, c.sold_in_ownership, c.last_sale_on)


def actions(c: Customer) -> list[str]:
    return list(OwnershipEvent.objects.filter(customer=c).order_by("id").values_list("action", flat=True))


def chain_is_continuous(c: Customer) -> bool:
    owner = None
    for event in OwnershipEvent.objects.filter(customer=c).order_by("id"):
        if event.action in (Action.PROBLEM_CLEARED,) or (event.action == Action.PROBLEM and owner is None):
            continue
        if event.from_owner_id != owner:
            return False
        owner = event.to_owner_id
    return owner == reload(c).owner_id


def claimed_by(user, department, day: date) -> Customer:
    c = pool_customer(department)
    services.customer_claim(customer=c, user=user, now=at(day, 9))
    return reload(c)


# --- The same owner ------------------------------------------------------------------------------


def test_r8_2_the_owner_of_its_only_sale_goes_back_to_its_first_inquiry_clock(owner, finance):
    """Registered 1 Feb (deadline 1 Apr); first order confirmed 10 Mar (first order, deadline 10 Jun);
    reversed 15 Mar: first inquiry since 1 Feb, deadline 1 Apr again, no sale."""
    c = services.customer_register(
        data={"name": "福州闽江电子有限公司", "source": "media"},
        contacts=[{"name": "王经理", "phone": "13800138000"}],
        user=owner,
        now=at(date(2026, 2, 1)),
    )
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    assert ownership(c)[1:4] == (Basis.FIRST_ORDER, date(2026, 3, 10), date(2026, 6, 10))
    reverse_payment(payment, finance, date(2026, 3, 15))
    assert ownership(c) == (owner, Basis.FIRST_INQUIRY, date(2026, 2, 1), date(2026, 4, 1), False, None)
    assert actions(c) == [Action.REGISTERED, Action.FIRST_ORDER, Action.SALE_REVERSED]
    event = OwnershipEvent.objects.get(customer=c, action=Action.SALE_REVERSED)
    assert (event.from_owner, event.to_owner, event.basis, event.actor, event.deadline) == (
        owner,
        owner,
        Basis.FIRST_INQUIRY,
        finance,
        date(2026, 4, 1),
    )
    assert "银行退票" in event.note
    assert chain_is_continuous(c)
    assert SaleEvent.objects.filter(customer=c, kind=SaleEventKind.FIRST_SALE_REVERSED).exists()


def test_r8_2_a_restored_clock_that_has_run_out_releases_the_customer_that_night(owner, manager, finance, department):
    """Claimed 5 Jan (deadline 5 Mar), first order 2 Mar, reversed 20 Mar: without the sale the
    customer would have gone back to the pool on 6 Mar. The owner keeps it until the next nightly
    run, which releases it under R5.2; the managers are told at the reversal."""
    c = claimed_by(owner, department, date(2026, 1, 5))
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 2)).payment
    reverse_payment(payment, finance, date(2026, 3, 20))
    assert ownership(c) == (owner, Basis.CLAIMED, date(2026, 1, 5), date(2026, 3, 5), False, None)
    assert Notification.objects.filter(recipient=manager, kind="sale_reversed").exists()
    nightly_release(as_of=date(2026, 3, 21), now=at(date(2026, 3, 21), 1))
    c = reload(c)
    assert c.owner is None and c.release_reason == ReleaseReason.NO_DEAL
    assert actions(c)[-2:] == [Action.SALE_REVERSED, Action.RELEASED]


def test_r8_2_an_extension_of_the_restored_ownership_is_kept(owner, manager, finance, department):
    """Claimed 1 Feb (deadline 1 Apr), extended on 5 Mar to 25 Apr (R5.11), first order 10 Mar,
    reversed 15 Mar: deadline 25 Apr, and the once-per-ownership extension is spent."""
    c = claimed_by(owner, department, date(2026, 2, 1))
    services.customer_extend_deadline(
        customer=c, manager=manager, new_deadline=date(2026, 4, 25), reason="大单在谈", now=at(date(2026, 3, 5))
    )
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 8)), finance, day=date(2026, 3, 10)).payment
    assert not reload(c).deadline_extended
    reverse_payment(payment, finance, date(2026, 3, 15))
    c = reload(c)
    assert (c.owner_basis, c.owned_since, c.deadline, c.deadline_extended) == (
        Basis.CLAIMED,
        date(2026, 2, 1),
        date(2026, 4, 25),
        True,
    )
    with pytest.raises(services.DomainError, match="already been extended"):
        services.customer_extend_deadline(
            customer=c, manager=manager, new_deadline=date(2026, 5, 1), reason="再延", now=at(date(2026, 3, 16))
        )


# --- R5.3 had taken the customer from someone else ----------------------------------------------------


def _taken_from_teammate(owner, teammate, finance, department, *, teammate_claims_on: date):
    """The owner recorded an order while it owned the customer, then released it; the teammate
    claimed it; finance confirms the owner's order on 2 Mar: R5.3 gives it to the owner."""
    c = claimed_by(owner, department, date(2026, 1, 2))
    order = record(c, owner, "8000.00", day=date(2026, 1, 3))
    services.release_note_write(
        customer=c, user=owner, situation="在谈", contact_details="王经理", communication_level="已报价"
    )
    services.customer_release(customer=c, user=owner, now=at(date(2026, 1, 4)))
    services.customer_claim(customer=reload(c), user=teammate, now=at(teammate_claims_on, 9))
    payment = confirm(order, finance, day=date(2026, 3, 2)).payment
    assert ownership(c)[:2] == (owner, Basis.FIRST_ORDER)
    return reload(c), payment


def test_r8_2_back_to_the_claimer_whose_clock_still_runs(owner, teammate, finance, department):
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 2, 20))
    Notification.objects.all().delete()
    reverse_payment(payment, finance, date(2026, 3, 15))
    assert ownership(c) == (teammate, Basis.CLAIMED, date(2026, 2, 20), date(2026, 4, 20), False, None)
    assert actions(c) == [
        Action.CLAIMED,
        Action.RELEASED,
        Action.CLAIMED,
        Action.FIRST_ORDER,
        Action.SALE_REVERSED,
    ]
    event = OwnershipEvent.objects.get(customer=c, action=Action.SALE_REVERSED)
    assert (event.from_owner, event.to_owner, event.basis) == (owner, teammate, Basis.CLAIMED)
    assert chain_is_continuous(c)
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"zhangwei", "lina"}


def test_r8_2_to_the_pool_when_the_claimers_clock_has_run_out(owner, teammate, manager, finance, department):
    """The teammate claimed on 5 Jan (deadline 5 Mar); reversed 20 Mar: had the sale never been
    confirmed the teammate would have lost it, so it goes to the pool, managers told."""
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 1, 5))
    reverse_payment(payment, finance, date(2026, 3, 20))
    c = reload(c)
    assert c.owner is None and c.owned_since is None and c.deadline is None
    assert (c.release_reason, c.released_from, c.released_at) == (
        ReleaseReason.SALE_REVERSED,
        owner,
        at(date(2026, 3, 20), 15),
    )
    event = OwnershipEvent.objects.get(customer=c, action=Action.SALE_REVERSED)
    assert (event.from_owner, event.to_owner, event.reason) == (owner, None, ReleaseReason.SALE_REVERSED)
    assert "deadline" in event.note
    assert Notification.objects.filter(recipient=manager, kind="sale_reversed").exists()
    assert chain_is_continuous(c)
    # Nobody lost it to a rule or released it: no cool-off from this (R5.8).
    assert selectors.cooloff(customer=c, user=teammate) is None
    services.customer_claim(customer=c, user=teammate, now=at(date(2026, 3, 21)))
    assert reload(c).owner == teammate


@pytest.mark.parametrize("why", ["inactive", "limit", "moved"])
def test_r8_2_to_the_pool_when_the_claimer_can_no_longer_own_it(owner, teammate, finance, department, why):
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 2, 20))
    if why == "inactive":
        teammate.is_active = False
        teammate.save(update_fields=["is_active"])
    elif why == "limit":
        PoolSettings.objects.update_or_create(department=department, defaults={"max_unsold": 1})
        owned_customer(teammate, since=date(2026, 3, 1))
    else:
        teammate.department = UserFactory(role=roles.MANAGER).department
        teammate.save(update_fields=["department"])
    reverse_payment(payment, finance, date(2026, 3, 15))
    c = reload(c)
    assert c.owner is None and c.release_reason == ReleaseReason.SALE_REVERSED
    assert chain_is_continuous(c)


def test_r8_2_back_to_the_pool_where_it_was_before_the_first_order(owner, finance, department):
    """Released under R5.2 on 2 Mar before finance confirmed the owner's order on 10 Mar (R5.3 took
    it from the pool); reversed on 15 Mar: back to the pool. The owner's own cool-off from its R5.2
    release still runs (R5.8)."""
    c = owned_customer(owner, since=date(2026, 1, 1), basis=Basis.FIRST_INQUIRY)
    order = record(c, owner, "8000.00", day=date(2026, 2, 20))
    nightly_release(as_of=date(2026, 3, 2), now=at(date(2026, 3, 2), 1))
    payment = confirm(order, finance, day=date(2026, 3, 10)).payment
    reverse_payment(payment, finance, date(2026, 3, 15))
    c = reload(c)
    assert c.owner is None and c.release_reason == ReleaseReason.SALE_REVERSED and c.last_sale_on is None
    assert actions(c) == [Action.RELEASED, Action.FIRST_ORDER, Action.SALE_REVERSED]
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 4, 1)
    with pytest.raises(services.ClaimRefused):
        services.customer_claim(customer=c, user=owner, now=at(date(2026, 3, 16)))


def test_r8_2_r5_3_applies_again_when_the_same_order_is_confirmed_again(owner, teammate, finance, department):
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 2, 20))
    reverse_payment(payment, finance, date(2026, 3, 15))
    order = reload(payment).order
    second = confirm(order, finance, day=date(2026, 3, 18)).payment
    assert ownership(c)[:3] == (owner, Basis.FIRST_ORDER, date(2026, 3, 18))
    reverse_payment(second, finance, date(2026, 3, 19))
    assert ownership(c) == (teammate, Basis.CLAIMED, date(2026, 2, 20), date(2026, 4, 20), False, None)
    assert chain_is_continuous(c)


# --- A confirmed sale remains ----------------------------------------------------------------------


def test_r8_2_the_next_confirmed_sale_becomes_the_first_order(owner, finance, department):
    """Claimed 1 Feb; order A confirmed 10 Mar (first order), order B 1 Apr. Reversing A: B is the
    customer's first confirmed sale, first order since 1 Apr (deadline 1 Jul). Reversing B then
    brings back the claim of 1 Feb."""
    c = claimed_by(owner, department, date(2026, 2, 1))
    a = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    order_b = record(c, owner, "9000.00", day=date(2026, 3, 30))
    b = confirm(order_b, finance, day=date(2026, 4, 1)).payment
    reverse_payment(a, finance, date(2026, 4, 5))
    assert ownership(c) == (owner, Basis.FIRST_ORDER, date(2026, 4, 1), date(2026, 7, 1), True, date(2026, 4, 1))
    event = OwnershipEvent.objects.get(customer=c, action=Action.SALE_REVERSED)
    assert (event.from_owner, event.to_owner, event.basis, event.deadline) == (
        owner,
        owner,
        Basis.FIRST_ORDER,
        date(2026, 7, 1),
    )
    assert SaleEvent.objects.filter(order=order_b, kind=SaleEventKind.FIRST_ORDER).exists()
    reverse_payment(b, finance, date(2026, 4, 6))
    assert ownership(c) == (owner, Basis.CLAIMED, date(2026, 2, 1), date(2026, 4, 1), False, None)
    assert chain_is_continuous(c)


def test_r8_2_the_next_sale_of_another_salesperson_makes_it_its_customer(owner, teammate, finance, department):
    """The teammate recorded order B while it owned the customer (January), then released it; the
    owner claimed it and recorded order A. A is confirmed first (10 Mar: the owner's first order),
    B on 12 Mar. Reversing A: B was the first confirmed sale, so R5.3 gives the customer to the
    teammate from 12 Mar."""
    c = claimed_by(teammate, department, date(2026, 1, 10))
    order_b = record(c, teammate, "9000.00", day=date(2026, 1, 20))
    services.release_note_write(
        customer=c, user=teammate, situation="在谈", contact_details="王经理", communication_level="已报价"
    )
    services.customer_release(customer=c, user=teammate, now=at(date(2026, 1, 25)))
    services.customer_claim(customer=reload(c), user=owner, now=at(date(2026, 2, 1)))
    a = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    confirm(order_b, finance, day=date(2026, 3, 12))
    assert ownership(c)[:2] == (owner, Basis.FIRST_ORDER)
    reverse_payment(a, finance, date(2026, 3, 15))
    assert ownership(c) == (
        teammate,
        Basis.FIRST_ORDER,
        date(2026, 3, 12),
        date(2026, 6, 12),
        True,
        date(2026, 3, 12),
    )
    assert chain_is_continuous(c)


def test_r8_2_reversing_a_later_sale_leaves_the_first_order_alone(owner, finance, department):
    c = claimed_by(owner, department, date(2026, 2, 1))
    confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10))
    later = confirm(record(c, owner, "9000.00", day=date(2026, 3, 30)), finance, day=date(2026, 4, 1)).payment
    reverse_payment(later, finance, date(2026, 4, 5))
    assert ownership(c) == (owner, Basis.FIRST_ORDER, date(2026, 3, 10), date(2026, 6, 10), True, date(2026, 3, 10))
    assert actions(c) == [Action.CLAIMED, Action.FIRST_ORDER]


def test_r8_2_a_first_order_row_without_a_snapshot_is_read_from_the_history(owner, teammate, finance, department):
    """First orders recorded before the replaced ownership was kept on their history row: the
    previous owner and its start come from the history."""
    c = claimed_by(teammate, department, date(2026, 2, 20))
    Customer.objects.filter(pk=c.pk).update(
        owner=owner, owner_basis=Basis.FIRST_ORDER, owned_since=date(2026, 3, 2), last_sale_on=date(2026, 3, 2)
    )
    OwnershipEvent.objects.create(
        customer=c,
        action=Action.FIRST_ORDER,
        from_owner=teammate,
        to_owner=owner,
        basis=Basis.FIRST_ORDER,
        at=at(date(2026, 3, 2), 14),
    )
    outcome = services.customer_reverse_sale(
        customer=c,
        salesperson=owner,
        sale_date=date(2026, 3, 2),
        remaining=[],
        actor=finance,
        reason="退票",
        now=at(date(2026, 3, 15)),
    )
    assert outcome.undone and outcome.changed and outcome.owner == teammate
    assert ownership(c) == (teammate, Basis.CLAIMED, date(2026, 2, 20), date(2026, 4, 20), False, None)


# --- Shown to people -------------------------------------------------------------------------------


def test_r8_2_the_customer_page_shows_the_first_order_and_its_reversal(
    client_for, owner, teammate, finance, department
):
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 1, 5))
    reverse_payment(payment, finance, date(2026, 3, 20))
    with translation.override("zh-hans"):
        first_order = str(Action.FIRST_ORDER.label)
        reversed_label = str(Action.SALE_REVERSED.label)
        pool_reason = str(ReleaseReason.SALE_REVERSED.label)
    page = client_for(teammate).get(reverse("customers:detail", args=[c.pk])).content.decode()
    history = page[page.index("section-ownership") :]
    assert first_order in history and reversed_label in history
    assert pool_reason in page  # why it entered the pool (R5.12)


def test_r8_2_reversing_the_first_payment_of_a_sale_moves_the_first_order_to_the_next_payment(
    owner, finance, department
):
    """One order, paid in two parts (10 and 12 Mar); the first part is reversed: the order became a
    sale on 12 Mar (docs/decisions.md, "Sale date"), so the first-order ownership starts then."""
    c = claimed_by(owner, department, date(2026, 2, 1))
    order = record(c, owner, "8000.00", day=date(2026, 3, 1))
    p1 = confirm(order, finance, "3000.00", day=date(2026, 3, 10)).payment
    confirm(order, finance, "2000.00", day=date(2026, 3, 12))
    reverse_payment(p1, finance, date(2026, 3, 15))
    assert ownership(c) == (owner, Basis.FIRST_ORDER, date(2026, 3, 12), date(2026, 6, 12), True, date(2026, 3, 12))
    assert chain_is_continuous(c)
    assert not SaleEvent.objects.filter(order=order, kind=SaleEventKind.FIRST_SALE_REVERSED).exists()


def test_r8_2_the_release_log_and_the_pool_card_show_a_reversal_into_the_pool(
    client_for, owner, teammate, manager, finance, department
):
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 1, 5))
    reverse_payment(payment, finance, date(2026, 3, 20))
    assert selectors.release_log(user=manager).filter(customer=c, action=Action.SALE_REVERSED).exists()
    # The release note of the owner's earlier release (January) is not passed off as the last one.
    assert selectors.last_release_note(reload(c)) is None


def test_r8_2_the_reason_of_the_reversal_stays_in_the_file(client_for, owner, teammate, finance, department):
    """R6.4: a pool card shows the reversal in the history, not finance's reason (sales belong to
    the file)."""
    c, payment = _taken_from_teammate(owner, teammate, finance, department, teammate_claims_on=date(2026, 1, 5))
    reverse_payment(payment, finance, date(2026, 3, 20), reason="客户账户冻结退票")
    page = client_for(teammate).get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert "客户账户冻结退票" not in page
    services.customer_claim(customer=reload(c), user=teammate, now=at(date(2026, 3, 21)))
    page = client_for(teammate).get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert "客户账户冻结退票" in page
