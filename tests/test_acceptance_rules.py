"""Acceptance tests written from the policy (`/work/shared/SPEC.md`), not from the code, where the
rules meet: a handover (R7) with a reversal (R8.2), with bad credit (R5.5 / R2.3) and with a first
order (R5.3); catch-up nightly runs across a handover; tiers (R2) after a reversal and after a
catch-up run; commission holds (R8.3) with several handovers; a deactivated salesperson's orders;
the cool-off (R5.8) after a handover to the pool; finance's two-step confirmation (R8.1) against
what the save does; partial updates that must not erase what they were not given.

Each test is named after the rules it checks; the decisions they rely on where the policy is silent
are in docs/decisions.md ("Where the rules meet (acceptance review)")."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts import roles
from collection import services as collection
from customers import services as customers
from customers.models import Basis, Contact, CreditStatus, Customer, ReleaseReason, Tier
from handovers import services as handovers
from handovers.models import State
from notifications.models import Notification
from ownership import selectors
from ownership import services as ownership
from ownership.models import Action, NightlyRun, OwnershipEvent
from ownership.nightly import nightly_release
from sales import services as sales
from sales.models import Order, SaleEvent, SaleEventKind, TierChange
from sales.selectors import commission_statement, is_on_hold

from .factories import ContactFactory, UserFactory
from .handover_helpers import items_of, open_resignation, open_transfer, send_and_confirm
from .helpers import at, owned_customer, pool_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def receiver(department):
    """A salesperson who receives customers in handovers."""
    return UserFactory(username="wanglei", display_name="王磊", role=roles.SALESPERSON, department=department)


# --- Builders ---------------------------------------------------------------------------------------


def claim(customer, user, day: date) -> Customer:
    ownership.customer_claim(customer=reload(customer), user=user, now=at(day, 9))
    return reload(customer)


def release(customer, user, day: date) -> Customer:
    ownership.release_note_write(
        customer=customer,
        user=user,
        situation="在谈年度框架",
        contact_details="采购王经理",
        communication_level="已报价",
    )
    ownership.customer_release(customer=reload(customer), user=user, now=at(day, 10))
    return reload(customer)


def reverse_payment(payment, finance, day: date, reason: str = "银行退票"):
    return sales.payment_reverse(payment=payment, user=finance, reason=reason, now=at(day, 15))


def set_credit(customer, user, status, day: date, note="逾期90天未回款"):
    return ownership.customer_set_payment_credit(customer=customer, user=user, status=status, note=note, now=at(day))


def first_order_taken_from(previous, salesperson, finance, department, *, previous_claims_on: date, confirmed_on: date):
    """`salesperson` claimed the customer on 2 Jan, recorded an order on 3 Jan and released it on
    4 Jan; `previous` claimed it; finance confirms the order: R5.3 makes `salesperson` the owner on
    basis first order, taking it from `previous`."""
    c = claim(pool_customer(department), salesperson, date(2026, 1, 2))
    order = record(c, salesperson, "8000.00", day=date(2026, 1, 3))
    c = release(c, salesperson, date(2026, 1, 4))
    claim(c, previous, previous_claims_on)
    payment = confirm(order, finance, day=confirmed_on).payment
    c = reload(c)
    assert (c.owner, c.owner_basis) == (salesperson, Basis.FIRST_ORDER)
    return c, payment


def state(c: Customer) -> tuple:
    c = reload(c)
    return (c.owner, c.owner_basis, c.owned_since, c.deadline, c.sold_in_ownership, c.last_sale_on)


def chain_is_continuous(c: Customer) -> bool:
    """R5.9: every history row starts where the previous one ended, and the last ends on the owner.
    (A customer built owned by the factory has no row for how it became owned: the chain starts at
    its first row.)"""
    events = list(OwnershipEvent.objects.filter(customer=c).order_by("id"))
    owner = events[0].from_owner_id if events else None
    for event in events:
        if event.action == Action.PROBLEM_CLEARED or (event.action == Action.PROBLEM and owner is None):
            continue
        if event.from_owner_id != owner:
            return False
        owner = event.to_owner_id
    return owner == reload(c).owner_id


def told(user, kind: str, *words: str) -> bool:
    return any(
        all(w in text for w in words)
        for text in Notification.objects.filter(recipient=user, kind=kind).values_list("text", flat=True)
    )


# --- R8.2 × R7: a reversal while, or after, a handover holds the customer -----------------------------


def test_r8_2_r7_a_reversal_during_a_handover_leaves_the_customer_in_it_and_the_handover_completes(
    client_for, owner, teammate, manager, finance, department, receiver, english
):
    """R5.3 took the customer from the teammate (claimed 20 Feb) for the owner on 2 Mar; the owner's
    transfer holds it from 5 Mar; finance reverses the sale on 10 Mar. Had the sale never been
    confirmed it would be the teammate's, but only the handover moves a held customer (R7): it stays
    in the handover, the managers are told where the reversal would send it, and the handover
    completes; the receiver's clock is R5.2's without the reversed sale (2 months from 12 Mar)."""
    c, payment = first_order_taken_from(
        teammate, owner, finance, department, previous_claims_on=date(2026, 2, 20), confirmed_on=date(2026, 3, 2)
    )
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 5), receiver=receiver)
    reverse_payment(payment, finance, date(2026, 3, 10))
    c = reload(c)
    assert (c.owner, c.handover_ref, c.last_sale_on, c.sold_in_ownership) == (owner, h.pk, None, False)
    assert told(manager, "sale_reversed", c.name, str(teammate))
    assert chain_is_continuous(c)
    # The customer page's history shows the first order and its reversal (R8.2 "the history shows both").
    page = client_for(manager).get(reverse("customers:detail", args=[c.pk]))
    assert page.status_code == 200 and "keeps it in the handover" in page.content.decode()

    handovers.handover_confirm(handover=h, user=receiver, now=at(date(2026, 3, 11)))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 12), 16))
    assert state(c) == (receiver, Basis.HANDED_OVER, date(2026, 3, 12), date(2026, 5, 12), False, None)
    assert reload(c).handover_ref is None
    assert chain_is_continuous(c)


def test_r8_2_r7_a_reversal_during_a_handover_that_is_then_cancelled_sends_the_customer_to_the_pool(
    owner, manager, finance, department, receiver
):
    """R5.2 released the customer on 2 Mar; finance confirmed the owner's order on 10 Mar (R5.3 took
    it from the pool); the owner's transfer opened on 11 Mar; the sale is reversed on 12 Mar (held:
    the owner keeps it in the handover); the handover is cancelled on 13 Mar. Nobody decided in the
    handover, so the reversal applies: back to the pool, reason "first order reversed", managers
    told. The owner's own cool-off from its R5.2 release still runs (R5.8)."""
    c = owned_customer(owner, since=date(2026, 1, 1), basis=Basis.FIRST_INQUIRY)  # deadline 1 Mar
    order = record(c, owner, "8000.00", day=date(2026, 2, 20))
    nightly_release(as_of=date(2026, 3, 2), now=at(date(2026, 3, 2), 1))
    payment = confirm(order, finance, day=date(2026, 3, 10)).payment
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 11), receiver=receiver)
    reverse_payment(payment, finance, date(2026, 3, 12))
    assert (reload(c).owner, reload(c).handover_ref) == (owner, h.pk)

    Notification.objects.all().delete()
    handovers.handover_cancel(handover=h, manager=manager, reason="开错了", now=at(date(2026, 3, 13)))
    c = reload(c)
    assert (c.owner, c.handover_ref, c.release_reason, c.released_from) == (
        None,
        None,
        ReleaseReason.SALE_REVERSED,
        owner,
    )
    last = OwnershipEvent.objects.filter(customer=c).order_by("-id").first()
    assert (last.action, last.from_owner, last.to_owner, last.actor) == (Action.SALE_REVERSED, owner, None, manager)
    assert told(manager, "sale_reversed", c.name)
    assert chain_is_continuous(c)
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 4, 1)
    assert reload(h).state == State.CANCELLED


def test_r8_2_r7_a_reversal_of_the_leavers_own_first_order_during_its_handover(owner, manager, finance, department):
    """The owner claimed on 1 Feb and its own first order was confirmed on 10 Mar, then its
    resignation opened on 12 Mar. Reversing the sale on 15 Mar gives back the claim's clock (the same
    owner, R8.2) and the customer stays in the handover."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    h = open_resignation(owner, manager, day=date(2026, 3, 12))
    reverse_payment(payment, finance, date(2026, 3, 15))
    assert state(c) == (owner, Basis.CLAIMED, date(2026, 2, 1), date(2026, 4, 1), False, None)
    assert reload(c).handover_ref == h.pk
    assert chain_is_continuous(c)


def test_r8_2_r7_a_reversal_after_the_customer_was_handed_over(owner, manager, finance, department, receiver):
    """The owner's first order (10 Mar) gave the receiver of its transfer (16 Mar) the 3-month clock
    of that sale (10 Jun, later than 16 May: R5.2). Reversed on 20 Mar, the receiver keeps the
    customer (it never depended on the sale) with the clock it would have had: 16 May."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 15), receiver=receiver)
    handovers.handover_confirm(handover=h, user=receiver, now=at(date(2026, 3, 16), 9))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 16), 10))
    assert reload(c).deadline == date(2026, 6, 10)
    reverse_payment(payment, finance, date(2026, 3, 20))
    assert state(c) == (receiver, Basis.HANDED_OVER, date(2026, 3, 16), date(2026, 5, 16), False, None)
    assert SaleEvent.objects.filter(customer=c, kind=SaleEventKind.SALE_REVERSED).exists()
    assert chain_is_continuous(c)


def test_r8_2_r5_8_a_reversal_after_a_handover_to_the_pool_and_a_claim(owner, teammate, manager, finance, department):
    """The owner's first order (10 Mar), its transfer sends the customer to the pool (15 Mar), the
    teammate claims it (16 Mar: 10 Jun, the sale's clock, is later than 16 May). Reversed on 20 Mar:
    the teammate keeps it with 16 May; the owner's cool-off from the handover still runs."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 14))
    handovers.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items_of(h)], to_pool=True)
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 15), 10))
    c = claim(c, teammate, date(2026, 3, 16))
    assert c.deadline == date(2026, 6, 10)
    reverse_payment(payment, finance, date(2026, 3, 20))
    assert state(c) == (teammate, Basis.CLAIMED, date(2026, 3, 16), date(2026, 5, 16), False, None)
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 4, 14)
    assert chain_is_continuous(c)


def test_r8_2_r5_4_a_reversal_after_the_customer_was_released_and_claimed(owner, teammate, finance, department):
    """The owner's first order on 10 Mar (deadline 10 Jun); no sale since, R5.4 releases it on 11 Jun;
    the teammate claims it on 12 Jun (12 Aug). Reversing the March sale on 15 Jun changes neither the
    teammate's ownership nor its clock, and leaves the R5.4 release in the history."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    payment = confirm(record(c, owner, "8000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    nightly_release(as_of=date(2026, 6, 11), now=at(date(2026, 6, 11), 1))
    assert reload(c).release_reason == ReleaseReason.NO_SALE
    c = claim(c, teammate, date(2026, 6, 12))
    reverse_payment(payment, finance, date(2026, 6, 15))
    assert state(c) == (teammate, Basis.CLAIMED, date(2026, 6, 12), date(2026, 8, 12), False, None)
    assert not OwnershipEvent.objects.filter(customer=c, action=Action.SALE_REVERSED).exists()
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 7, 11)
    assert chain_is_continuous(c)


# --- R5.5 / R2.3 × R7: bad credit while a handover holds the customer ---------------------------------


def test_r5_5_r7_bad_credit_during_a_handover_that_is_then_cancelled_sends_the_customer_to_the_pool(
    owner, manager, finance, receiver
):
    """R5.5: a problem customer "returns to the pool at once". The handover held it back (only the
    handover moves a held customer); once the handover is cancelled nobody holds it any more: it
    returns to the pool, flagged, with the reason written, and the owner is told."""
    c = owned_customer(owner, since=date(2026, 2, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 1), receiver=receiver)
    set_credit(c, finance, CreditStatus.BAD, date(2026, 3, 10))
    assert (reload(c).owner, reload(c).is_problem) == (owner, True)
    handovers.handover_cancel(handover=h, manager=manager, reason="员工留任", now=at(date(2026, 3, 12)))
    c = reload(c)
    assert (c.owner, c.handover_ref, c.is_problem, c.release_reason, c.released_from) == (
        None,
        None,
        True,
        ReleaseReason.PROBLEM,
        owner,
    )
    assert "逾期90天未回款" in c.problem_reason
    last = OwnershipEvent.objects.filter(customer=c).order_by("-id").first()
    assert (last.action, last.from_owner, last.to_owner, last.reason) == (
        Action.PROBLEM,
        owner,
        None,
        ReleaseReason.PROBLEM,
    )
    assert told(owner, "released", c.name)
    assert chain_is_continuous(c)
    # A problem release is no release of the owner's own: no cool-off (R5.8).
    assert selectors.cooloff(customer=c, user=owner) is None
    # The flag still stands for the bad credit only: credit that recovers lifts it (R2.3).
    set_credit(c, finance, CreditStatus.WATCH, date(2026, 3, 20), note="已还款")
    assert (reload(c).is_problem, reload(c).owner) == (False, None)


def test_r2_3_r7_credit_lifted_during_the_handover_leaves_nothing_to_do_at_cancellation(owner, manager, finance):
    c = owned_customer(owner, since=date(2026, 2, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 1))
    set_credit(c, finance, CreditStatus.BAD, date(2026, 3, 10))
    set_credit(c, finance, CreditStatus.WATCH, date(2026, 3, 11), note="已还款")
    handovers.handover_cancel(handover=h, manager=manager, reason="员工留任", now=at(date(2026, 3, 12)))
    c = reload(c)
    assert (c.owner, c.is_problem, c.handover_ref, c.deadline) == (owner, False, None, date(2026, 4, 1))
    assert chain_is_continuous(c)


def test_r5_5_r7_a_problem_customer_the_handover_sends_to_the_pool_is_flagged_there(owner, teammate, manager, finance):
    c = owned_customer(owner, since=date(2026, 2, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 1))
    set_credit(c, finance, CreditStatus.BAD, date(2026, 3, 10))
    handovers.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items_of(h)], to_pool=True)
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 11)))
    c = reload(c)
    assert (c.owner, c.is_problem, c.shows_as_problem) == (None, True, True)
    # Problem customers in the pool may be claimed; they keep their flag (docs/decisions.md).
    assert claim(c, teammate, date(2026, 3, 12)).is_problem


# --- R5.3 × R7: a first order confirmed for a customer in a handover --------------------------------


def _teammates_order_on_the_owners_held_customer(owner, teammate, manager, department, receiver):
    c = claim(pool_customer(department), teammate, date(2026, 1, 2))
    order = record(c, teammate, "6000.00", day=date(2026, 1, 3))
    c = release(c, teammate, date(2026, 1, 4))
    claim(c, owner, date(2026, 2, 20))
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 5), receiver=receiver)
    return reload(c), order, h


def test_r5_3_r8_1_the_confirmation_step_says_a_held_customer_stays_because_of_the_handover(
    client_for, time_machine, owner, teammate, manager, finance, department, receiver, english
):
    """The teammate (active, of the department) can own customers: what keeps the owner is the
    handover. The step must say so, not that the teammate "can no longer own customers"."""
    _c, order, _h = _teammates_order_on_the_owners_held_customer(owner, teammate, manager, department, receiver)
    time_machine.move_to(at(date(2026, 3, 10), 15), tick=False)
    response = client_for(finance).post(
        reverse("sales:payment_confirm", args=[order.pk]),
        {"amount": f"{order.outstanding:.2f}", "received_on": "2026-03-10"},
    )
    html = response.content.decode()
    start = html.index('data-testid="ownership-effect"')
    effect = html[start : html.index("</p>", start)]
    assert "can no longer own" not in effect
    assert "handover" in effect and str(owner) in effect


@pytest.mark.parametrize("scenario", ["held_other", "held_own", "left", "pool", "second_payment", "later_sale"])
def test_r8_1_r5_3_what_the_step_predicts_is_what_the_confirmation_does(
    owner, teammate, manager, finance, department, receiver, scenario
):
    """The step's prediction (sale_effect for an order becoming a sale, "nothing changes"
    otherwise) against the real confirmation (payment_confirm), owner and deadline alike."""
    day = date(2026, 3, 10)
    if scenario == "held_other":
        c, order, _h = _teammates_order_on_the_owners_held_customer(owner, teammate, manager, department, receiver)
    elif scenario == "held_own":
        c = claim(pool_customer(department), owner, date(2026, 2, 1))
        order = record(c, owner, "6000.00", day=date(2026, 2, 5))
        open_transfer(owner, manager, [c], day=date(2026, 3, 5), receiver=receiver)
    elif scenario == "left":
        c = claim(pool_customer(department), teammate, date(2026, 1, 2))
        order = record(c, teammate, "6000.00", day=date(2026, 1, 3))
        c = release(c, teammate, date(2026, 1, 4))
        claim(c, owner, date(2026, 2, 20))
        h = open_resignation(teammate, manager, day=date(2026, 3, 1))
        handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 1), 10))
    elif scenario == "pool":
        c = claim(pool_customer(department), owner, date(2026, 1, 2))
        order = record(c, owner, "6000.00", day=date(2026, 1, 3))
        c = release(c, owner, date(2026, 1, 4))
    elif scenario == "second_payment":
        c = claim(pool_customer(department), owner, date(2026, 2, 1))
        order = record(c, owner, "6000.00", day=date(2026, 2, 5))
        confirm(order, finance, "1000.00", day=date(2026, 2, 6))
    else:
        c = claim(pool_customer(department), owner, date(2026, 2, 1))
        confirm(record(c, owner, "500.00", day=date(2026, 2, 2)), finance, day=date(2026, 2, 2))
        order = record(c, owner, "6000.00", day=date(2026, 2, 5))
    c, order = reload(c), reload(order)
    before = (c.owner, c.deadline)
    effect = (
        selectors.sale_effect(customer=c, salesperson=reload(order.salesperson), day=day)
        if order.confirmed_on is None
        else None
    )
    confirm(order, finance, day=day)
    after = reload(c)
    if effect is None:
        assert (after.owner, after.deadline) == before, scenario
    else:
        assert after.owner == (effect.new_owner or effect.previous_owner), scenario
        assert after.deadline == effect.deadline, scenario


def test_r5_3_r7_the_leavers_own_first_order_during_its_resignation_carries_its_clock_to_the_receiver(
    owner, manager, finance, department, receiver
):
    """Confirmed on 10 Mar while the resignation holds the customer: still the leaver's (first
    order) and still held; at completion on 20 Mar the receiver gets R5.2's later-of deadline:
    10 Jun (the sale's 3 months) rather than 20 May."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    order = record(c, owner, "6000.00", day=date(2026, 2, 5))
    h = open_resignation(owner, manager, day=date(2026, 3, 5))
    confirm(order, finance, day=date(2026, 3, 10))
    assert (reload(c).owner, reload(c).owner_basis, reload(c).handover_ref) == (owner, Basis.FIRST_ORDER, h.pk)
    send_and_confirm(h, manager, receiver, day=date(2026, 3, 20))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 20), 16))
    assert state(c) == (receiver, Basis.HANDED_OVER, date(2026, 3, 20), date(2026, 6, 10), False, date(2026, 3, 10))


# --- The nightly job across a handover ------------------------------------------------------------


def test_nightly_r5_2_r7_a_catch_up_run_after_completion_releases_nothing_of_the_receivers(owner, manager, receiver):
    """Deadline 1 May; the transfer holds it from 28 Apr; nights from 29 Apr are missed; the handover
    completes on 5 May (the receiver's deadline: 5 Jul). Catch-up runs as of 3 May and 10 May, run
    on 10 May, release nothing: the receiver's clock is its own."""
    c = owned_customer(owner, since=date(2026, 3, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 4, 28), receiver=receiver)
    handovers.handover_confirm(handover=h, user=receiver, now=at(date(2026, 5, 4)))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 5, 5), 10))
    for as_of in (date(2026, 5, 3), date(2026, 5, 10)):
        assert nightly_release(as_of=as_of, now=at(date(2026, 5, 10), 9)).run.released == 0
    assert state(c)[:4] == (receiver, Basis.HANDED_OVER, date(2026, 5, 5), date(2026, 7, 5))


def test_nightly_r5_2_r5_8_r7_a_catch_up_run_after_a_cancelled_handover(owner, manager, teammate, receiver):
    """Deadline 1 May passes during the transfer (held, nothing released); the handover is cancelled
    on 5 May 10:00 and the missed night of 3 May is caught up on 10 May: the customer is released
    then, stamped no earlier than the cancellation (the history stays in order and the owner's
    cool-off counts from then, 30 days: 4 Jun); a second run the same day changes nothing."""
    c = owned_customer(owner, since=date(2026, 3, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 4, 28), receiver=receiver)
    assert nightly_release(as_of=date(2026, 5, 2), now=at(date(2026, 5, 2), 1)).run.released == 0
    handovers.handover_cancel(handover=h, manager=manager, reason="员工留任", now=at(date(2026, 5, 5), 10))
    run = nightly_release(as_of=date(2026, 5, 3), now=at(date(2026, 5, 10), 9)).run
    c = reload(c)
    assert (run.released, c.owner, c.release_reason, c.released_at) == (
        1,
        None,
        ReleaseReason.NO_DEAL,
        at(date(2026, 5, 5), 10),
    )
    assert nightly_release(as_of=date(2026, 5, 3), now=at(date(2026, 5, 10), 9, 5)).run.released == 0
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 6, 4)
    assert chain_is_continuous(c)


def test_r5_10_r7_the_receiver_is_warned_before_its_own_deadline(owner, manager, receiver):
    """The owner was warned about 1 May (R5.10, 7 days ahead); the transfer completes on 28 Apr with
    the receiver's deadline 28 Jun: the receiver is warned on 21 Jun, once."""
    c = owned_customer(owner, since=date(2026, 3, 1))
    assert nightly_release(as_of=date(2026, 4, 24), now=at(date(2026, 4, 24), 1)).run.warned == 1
    h = open_transfer(owner, manager, [c], day=date(2026, 4, 26), receiver=receiver)
    handovers.handover_confirm(handover=h, user=receiver, now=at(date(2026, 4, 27)))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 4, 28), 10))
    assert nightly_release(as_of=date(2026, 6, 20), now=at(date(2026, 6, 20), 1)).run.warned == 0
    assert nightly_release(as_of=date(2026, 6, 21), now=at(date(2026, 6, 21), 1)).run.warned == 1
    assert nightly_release(as_of=date(2026, 6, 22), now=at(date(2026, 6, 22), 1)).run.warned == 0
    assert Notification.objects.filter(recipient=receiver, kind="warning").count() == 1


def test_nightly_finished_at_follows_the_clock_it_was_given():
    """A run given `now=` (the demo's replay, `--as-of` catch-ups in tests) stamps its finish on that
    clock too: a run cannot finish months after it started."""
    now = at(date(2026, 3, 5), 1)
    run = nightly_release(as_of=date(2026, 3, 5), now=now).run
    run = NightlyRun.objects.get(pk=run.pk)
    assert run.started_at == now
    assert now <= run.finished_at <= now + timedelta(milliseconds=run.duration_ms + 1)


# --- R2 tiers after a reversal and across catch-up runs -----------------------------------------------


def test_r2_1_r8_2_a_reversal_lowers_the_tier_and_keeps_both_changes(owner, finance, department):
    c = claim(pool_customer(department, is_long_term=True), owner, date(2026, 2, 1))
    payment = confirm(record(c, owner, "120000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10)).payment
    assert reload(c).tier == Tier.VIP
    reverse_payment(payment, finance, date(2026, 3, 12))
    c = reload(c)
    assert (c.tier, c.tier_amount) == (Tier.C, Decimal(0))
    assert list(TierChange.objects.filter(customer=c).order_by("id").values_list("old_tier", "new_tier")) == [
        (Tier.C, Tier.VIP),
        (Tier.VIP, Tier.C),
    ]
    # The next night has nothing to change (R2.1).
    assert nightly_release(as_of=date(2026, 3, 13), now=at(date(2026, 3, 13), 1)).run.tiers_changed == 0


def test_r2_1_r8_2_reversing_a_first_payment_keeps_the_sale_in_the_window_from_its_next_payment(
    owner, finance, department
):
    """An order of 60,000 (A) paid in two parts, confirmed 10 Mar 2026 and 20 Mar 2026; reversing the
    first payment makes 20 Mar the sale date: the sale counts until 19 Mar 2027 (R8.1, R2)."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    order = record(c, owner, "60000.00", day=date(2026, 3, 1))
    first = confirm(order, finance, "10000.00", day=date(2026, 3, 10)).payment
    confirm(reload(order), finance, "10000.00", day=date(2026, 3, 20))
    reverse_payment(first, finance, date(2026, 3, 25))
    assert reload(order).confirmed_on == date(2026, 3, 20) and reload(c).tier == Tier.A
    nightly_release(as_of=date(2026, 3, 26), now=at(date(2026, 3, 26), 1))
    nightly_release(as_of=date(2027, 3, 19), now=at(date(2027, 3, 19), 1))
    assert reload(c).tier == Tier.A
    nightly_release(as_of=date(2027, 3, 20), now=at(date(2027, 3, 20), 1))
    assert reload(c).tier == Tier.C


def test_r2_1_a_catch_up_run_for_an_earlier_day_does_not_turn_the_tiers_back(owner, finance, department):
    """The run as of 10 Mar 2027 lowered the tier (the sale of 10 Mar 2026 left the window); a run by
    hand as of 9 Mar 2027 afterwards must not raise it again, nor leave it wrong for later nights."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    confirm(record(c, owner, "60000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 10))
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    nightly_release(as_of=date(2027, 3, 10), now=at(date(2027, 3, 10), 1))
    assert reload(c).tier == Tier.C
    nightly_release(as_of=date(2027, 3, 9), now=at(date(2027, 3, 10), 11))
    assert reload(c).tier == Tier.C
    nightly_release(as_of=date(2027, 3, 11), now=at(date(2027, 3, 11), 1))
    assert reload(c).tier == Tier.C


def test_r2_1_a_catch_up_run_keeps_a_sale_confirmed_since_its_as_of_day(owner, finance, department):
    """The night of 10 Mar 2027 was missed. At 14:00 that day finance confirms an order of 70,000
    (A); at 15:00 the missed night of 9 Mar is run by hand. The customer's sale of 9 Mar 2026 leaves
    the window that day: the tier is the window's as it is now, A on 70,000, not C on nothing."""
    c = claim(pool_customer(department), owner, date(2026, 2, 1))
    confirm(record(c, owner, "40000.00", day=date(2026, 3, 1)), finance, day=date(2026, 3, 9))
    later = record(c, owner, "70000.00", day=date(2026, 3, 5))
    nightly_release(as_of=date(2026, 3, 10), now=at(date(2026, 3, 10), 1))
    nightly_release(as_of=date(2027, 3, 8), now=at(date(2027, 3, 8), 1))
    assert reload(c).tier == Tier.B
    confirm(later, finance, day=date(2027, 3, 10))
    assert (reload(c).tier, reload(c).tier_amount) == (Tier.A, Decimal("70000.00"))
    nightly_release(as_of=date(2027, 3, 9), now=at(date(2027, 3, 10), 15))
    assert (reload(c).tier, reload(c).tier_amount) == (Tier.A, Decimal("70000.00"))
    nightly_release(as_of=date(2027, 3, 11), now=at(date(2027, 3, 11), 1))
    assert (reload(c).tier, reload(c).tier_amount) == (Tier.A, Decimal("70000.00"))


# --- R8.3 × R7: commission holds with several handovers ---------------------------------------------


def test_r8_3_r7_2_the_commission_stays_on_hold_while_any_handover_is_open(owner, manager, finance, receiver):
    a = owned_customer(owner, since=date(2026, 2, 1))
    b = owned_customer(owner, since=date(2026, 2, 1))
    first = open_transfer(owner, manager, [a], day=date(2026, 3, 1), receiver=receiver)
    second = open_transfer(owner, manager, [b], day=date(2026, 3, 2), reason="customer_request", receiver=receiver)
    manager_hold = sales.commission_hold_set(
        salesperson=owner, user=manager, reason="账目核对", now=at(date(2026, 3, 3))
    )
    line = next(x for x in commission_statement(user=finance, month=date(2026, 3, 1)) if x.salesperson == owner)
    assert len(line.holds) == 3 and all(h.progress for h in line.holds if h.pk != manager_hold.pk)

    sales.commission_hold_release(hold=manager_hold, user=manager, now=at(date(2026, 3, 4)))
    handovers.handover_confirm(handover=first, user=receiver, now=at(date(2026, 3, 5)))
    handovers.handover_complete(handover=first, manager=manager, now=at(date(2026, 3, 5), 16))
    assert is_on_hold(owner)  # the second transfer is still open
    handovers.handover_cancel(handover=second, manager=manager, reason="客户改主意", now=at(date(2026, 3, 6)))
    assert not is_on_hold(owner)
    assert reload(owner).is_active  # transfers keep the account


# --- A deactivated salesperson's orders ---------------------------------------------------------------


def test_r5_3_r5_4_r8_3_a_leavers_order_confirmed_after_its_resignation(owner, teammate, manager, finance, department):
    """The teammate recorded an order in January, released the customer, left on 1 Mar (resignation
    completed, account deactivated). Finance confirms the order on 10 Mar: R5.3 cannot give the
    customer to an account nobody uses, so the owner keeps it and its clock becomes the sale's (R5.4:
    10 Jun); the managers are told; the sale counts in the leaver's commission for March (R8.3)."""
    c = claim(pool_customer(department), teammate, date(2026, 1, 2))
    order = record(c, teammate, "6000.00", day=date(2026, 1, 3))
    c = release(c, teammate, date(2026, 1, 4))
    claim(c, owner, date(2026, 2, 20))
    h = open_resignation(teammate, manager, day=date(2026, 3, 1))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 1), 10))
    assert not reload(teammate).is_active
    confirm(order, finance, day=date(2026, 3, 10))
    assert state(c) == (owner, Basis.CLAIMED, date(2026, 2, 20), date(2026, 6, 10), True, date(2026, 3, 10))
    assert told(manager, "first_order_unowned", c.name)
    line = next(x for x in commission_statement(user=finance, month=date(2026, 3, 1)) if x.salesperson == teammate)
    assert (line.sales_count, line.sales_amount, line.on_hold) == (1, Decimal("6000.00"), False)


def test_r8_2_r7_1_a_reversal_never_gives_the_customer_back_to_a_salesperson_who_left(
    owner, teammate, manager, finance, department
):
    c, payment = first_order_taken_from(
        teammate, owner, finance, department, previous_claims_on=date(2026, 2, 20), confirmed_on=date(2026, 3, 2)
    )
    h = open_resignation(teammate, manager, day=date(2026, 3, 5))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 5), 10))
    reverse_payment(payment, finance, date(2026, 3, 10))
    c = reload(c)
    assert (c.owner, c.release_reason) == (None, ReleaseReason.SALE_REVERSED)
    assert told(manager, "sale_reversed", c.name)
    assert chain_is_continuous(c)


# --- R5.8: the cool-off after a handover to the pool ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "allowed"),
    [(date(2026, 7, 9), False), (date(2026, 7, 10), True), (date(2026, 7, 11), True)],
)
def test_r5_8_r7_2_the_leaver_of_a_transfer_waits_out_the_cool_off_after_a_handover_to_the_pool(
    owner, teammate, manager, department, day, allowed
):
    """Sent to the pool by the owner's transfer on 10 Jun: 30 days (the default D) before the owner
    may claim it again, 10 Jul; the pool page shows what the claim enforces; a colleague claims it
    at once."""
    c = owned_customer(owner, since=date(2026, 5, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 6, 10))
    handovers.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items_of(h)], to_pool=True)
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 6, 10), 16))
    assert selectors.cooloff_ends(customer=reload(c), user=owner) == date(2026, 7, 10)
    assert selectors.cooloff(customer=reload(c), user=teammate) is None
    if allowed:
        assert claim(c, owner, day).owner == owner
    else:
        with pytest.raises(ownership.ClaimRefused, match="2026-07-10"):
            claim(c, owner, day)
        assert claim(c, teammate, day).owner == teammate


# --- Partial updates never erase what they were not given -------------------------------------------


def test_r4_1_a_partial_customer_update_keeps_the_credit_code_and_every_field_it_was_not_given(owner):
    c = owned_customer(owner, since=date(2026, 2, 1), address="深圳市南山区科技园", notes="老客户介绍")
    code = c.credit_code
    customers.customer_update(customer=c, user=owner, data={"city": "广州市"})
    c = reload(c)
    assert (c.credit_code, c.city, c.address, c.notes) == (code, "广州市", "深圳市南山区科技园", "老客户介绍")
    # Given explicitly, an empty code clears it (the form sends every field).
    customers.customer_update(customer=c, user=owner, data={"credit_code": ""})
    assert reload(c).credit_code is None


def test_r4_2_a_partial_contact_update_keeps_the_fields_it_was_not_given(owner):
    c = owned_customer(owner, since=date(2026, 2, 1))
    contact = ContactFactory(customer=c, email="wang@example.com", wechat="wang_jl", is_primary=True)
    customers.contact_update(contact=contact, user=owner, data={"position": "总经理"})
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.position, contact.email, contact.wechat, contact.is_primary) == (
        "总经理",
        "wang@example.com",
        "wang_jl",
        True,
    )


def test_r1_3_a_partial_report_update_keeps_the_texts_it_was_not_given(owner):
    report = collection.report_create(
        user=owner,
        data={
            "title": "华南新能源结构件需求摸底",
            "category": "新能源",
            "information_needed": "各厂三季度采购计划",
            "work_plan": "走访 30 家",
        },
    )
    collection.report_update(report=report, user=owner, data={"summary": "共收集 42 家"})
    report.refresh_from_db()
    assert (report.title, report.category, report.information_needed, report.work_plan, report.summary) == (
        "华南新能源结构件需求摸底",
        "新能源",
        "各厂三季度采购计划",
        "走访 30 家",
        "共收集 42 家",
    )


def test_orders_keep_their_salesperson_after_it_left(owner, teammate, manager, finance, department):
    """R7: orders and receivables travel with the customer in the state they had: the leaver's order
    is still its order (its name on the receivable), now on the receiver's customer."""
    c = claim(pool_customer(department), teammate, date(2026, 2, 1))
    order = record(c, teammate, "6000.00", day=date(2026, 2, 5))
    confirm(order, finance, "1000.00", day=date(2026, 2, 6))
    h = open_resignation(teammate, manager, day=date(2026, 3, 1))
    send_and_confirm(h, manager, owner, day=date(2026, 3, 2))
    handovers.handover_complete(handover=h, manager=manager, now=at(date(2026, 3, 2), 16))
    order = Order.objects.get(pk=order.pk)
    assert (order.salesperson, order.customer.owner, order.outstanding) == (teammate, owner, Decimal("5000.00"))


# --- R7.1: a deactivated account owns nothing, whoever deactivates it --------------------------------


def _admin_user_form(user) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "department": user.department_id or "",
        "groups": list(user.groups.values_list("pk", flat=True)),
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "is_active": "on",
    }


def test_r7_1_the_admin_does_not_deactivate_a_salesperson_who_still_owns_customers(
    client_for, owner, teammate, english
):
    """Unticking "active" in the Django admin would leave the customers with an account nobody uses
    (nobody records their visits or orders, R5.3 skips it, only their deadlines free them): a leaver
    goes through a resignation handover, which deactivates the account once everything is handed
    over. Someone who owns nothing is deactivated there as before."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True, department=None)
    owned_customer(owner, since=date(2026, 2, 1))
    client = client_for(root)
    for user, refused in ((owner, True), (teammate, False)):
        data = {k: v for k, v in _admin_user_form(user).items() if k != "is_active"}
        response = client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)
        assert reload(user).is_active is refused, response.content.decode()[:2000]
        if refused:
            assert response.status_code == 200 and "resignation handover" in response.content.decode()
        else:
            assert response.status_code == 302


def test_r5_5_r7_the_pool_flows_count_a_problem_customer_when_it_enters_the_pool_not_before(
    owner, manager, finance, receiver
):
    """Bad credit flags a customer a handover holds without moving it: no pool inflow then (the pool
    flows count every change of owner to or from empty exactly once, R5.9). The cancellation that
    sends it to the pool is the inflow."""
    c = owned_customer(owner, since=date(2026, 2, 1))
    h = open_transfer(owner, manager, [c], day=date(2026, 3, 1), receiver=receiver)
    set_credit(c, finance, CreditStatus.BAD, date(2026, 3, 10))

    def flows():
        return list(selectors.pool_movements_visible_to(manager).filter(customer=c).values_list("flow", flat=True))

    assert flows() == []
    handovers.handover_cancel(handover=h, manager=manager, reason="员工留任", now=at(date(2026, 3, 12)))
    assert flows() == [selectors.PoolFlow.PROBLEM]
