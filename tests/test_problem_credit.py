"""R5.5 / R2.3: bad payment credit makes a problem customer, which returns to the pool at once,
flagged, with the reason written (finance marking bad credit is R5.5's second way in).

The credit lives in the customers app (floor 2) and the problem in ownership (floor 3): the credit
page is served by ownership, whose service sets the credit through the customers service and marks
the problem in one transaction (docs/decisions.md, "Bad payment credit").
"""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation

from crm.errors import DomainError, PermissionDenied
from customers.models import CreditStatus, CreditStatusChange, Customer, ReleaseReason
from customers.services import customer_set_credit_status
from notifications.models import Notification
from ownership import services
from ownership.models import Action, OwnershipEvent, Rule

from .helpers import at, owned_customer, pool_customer, reload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def set_credit(customer, user, status, note="逾期90天未回款", day=date(2026, 3, 10)):
    return services.customer_set_payment_credit(customer=customer, user=user, status=status, note=note, now=at(day))


def snapshot(c: Customer) -> tuple:
    c = reload(c)
    return (c.owner_id, c.credit_status, c.is_problem, c.problem_reason, c.release_reason)


@pytest.mark.parametrize("who", ["finance", "manager", "admin_user"])
def test_r5_5_bad_credit_returns_the_customer_to_the_pool_at_once_flagged(request, owner, who):
    user = request.getfixturevalue(who)
    c = owned_customer(owner, since=date(2026, 2, 1))
    set_credit(c, user, CreditStatus.BAD)
    c = reload(c)
    assert c.owner is None and c.owned_since is None and c.deadline is None
    assert (c.credit_status, c.is_problem, c.release_reason, c.released_from) == (
        CreditStatus.BAD,
        True,
        ReleaseReason.PROBLEM,
        owner,
    )
    assert "逾期90天未回款" in c.problem_reason
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.from_owner, event.actor, event.rule, event.reason) == (
        Action.PROBLEM,
        owner,
        user,
        Rule.R2_3,
        ReleaseReason.PROBLEM,
    )
    change = CreditStatusChange.objects.get(customer=c)
    assert (change.old_status, change.new_status, change.changed_by) == (CreditStatus.GOOD, CreditStatus.BAD, user)
    assert Notification.objects.filter(recipient=owner, kind="released").exists()


def test_r5_5_a_pool_customer_with_bad_credit_is_flagged_and_stays_in_the_pool(department, finance):
    c = pool_customer(department)
    set_credit(c, finance, CreditStatus.BAD)
    c = reload(c)
    assert c.owner is None and c.is_problem and c.release_reason == ReleaseReason.NO_DEAL
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.from_owner, event.rule) == (Action.PROBLEM, None, Rule.R2_3)


def test_r5_5_the_owner_may_not_set_or_lift_bad_credit(owner, finance):
    c = owned_customer(owner, since=date(2026, 2, 1))
    before = snapshot(c)
    with pytest.raises(PermissionDenied, match="finance or a manager"):
        set_credit(c, owner, CreditStatus.BAD)
    assert snapshot(c) == before and not OwnershipEvent.objects.exists()
    set_credit(c, owner, CreditStatus.WATCH)  # good and watch stay the owner's (R4.3)
    assert reload(c).credit_status == CreditStatus.WATCH and reload(c).owner == owner
    # The customers service alone refuses the owner too (imports, future callers).
    with pytest.raises(PermissionDenied):
        customer_set_credit_status(customer=c, user=owner, status=CreditStatus.BAD, note="x")


def test_r5_5_teammates_and_outsiders_may_not_change_credit(owner, teammate, outsider):
    c = owned_customer(owner, since=date(2026, 2, 1))
    for user in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            set_credit(c, user, CreditStatus.BAD)
    assert reload(c).owner == owner and not CreditStatusChange.objects.exists()


def test_r5_5_a_refused_change_leaves_credit_and_ownership_as_they_were(owner, finance):
    c = owned_customer(owner, since=date(2026, 2, 1), credit_status=CreditStatus.BAD)
    before = snapshot(c)
    with pytest.raises(DomainError, match="already"):
        set_credit(c, finance, CreditStatus.BAD)
    assert snapshot(c) == before and not OwnershipEvent.objects.exists()


def test_r2_3_lifting_bad_credit_lifts_the_flag_it_raised(owner, teammate, finance, department):
    c = owned_customer(owner, since=date(2026, 2, 1))
    set_credit(c, finance, CreditStatus.BAD, day=date(2026, 3, 10))
    # Problem customers in the pool may be claimed (docs/decisions.md); the flag goes with it.
    services.customer_claim(customer=reload(c), user=teammate, now=at(date(2026, 3, 12)))
    set_credit(c, finance, CreditStatus.WATCH, note="已结清欠款", day=date(2026, 4, 1))
    c = reload(c)
    assert (c.owner, c.credit_status, c.is_problem, c.problem_reason) == (teammate, CreditStatus.WATCH, False, "")
    event = OwnershipEvent.objects.filter(customer=c).latest("id")
    assert (event.action, event.actor, event.rule) == (Action.PROBLEM_CLEARED, finance, Rule.R2_3)
    assert "已结清欠款" in event.note


def test_r2_3_a_flag_a_manager_raised_for_another_reason_stays(owner, manager, finance, department):
    c = owned_customer(owner, since=date(2026, 2, 1))
    services.customer_mark_problem(customer=c, user=manager, reason="多次投诉", now=at(date(2026, 3, 1)))
    set_credit(c, finance, CreditStatus.BAD, day=date(2026, 3, 10))
    c = reload(c)
    assert c.is_problem and "多次投诉" in c.problem_reason and "逾期90天未回款" in c.problem_reason
    set_credit(c, finance, CreditStatus.GOOD, note="已结清", day=date(2026, 4, 1))
    c = reload(c)
    assert c.credit_status == CreditStatus.GOOD and c.is_problem
    assert not OwnershipEvent.objects.filter(customer=c, action=Action.PROBLEM_CLEARED).exists()


def test_r2_3_bad_credit_of_a_claimed_problem_customer_sends_it_back_to_the_pool(owner, teammate, manager, finance):
    """A problem customer in the pool was claimed (it keeps its flag); its credit then goes bad: it
    returns to the pool at once, the flag's reasons both written."""
    c = owned_customer(owner, since=date(2026, 2, 1))
    services.customer_mark_problem(customer=c, user=manager, reason="多次投诉", now=at(date(2026, 3, 1)))
    services.customer_claim(customer=reload(c), user=teammate, now=at(date(2026, 3, 2)))
    set_credit(c, finance, CreditStatus.BAD, day=date(2026, 3, 10))
    c = reload(c)
    assert c.owner is None and c.is_problem and c.released_from == teammate
    assert c.problem_reason.splitlines()[0] == "多次投诉"


def test_r2_3_the_problem_flag_of_bad_credit_is_not_cleared_while_the_credit_is_bad(owner, manager, finance):
    c = owned_customer(owner, since=date(2026, 2, 1))
    set_credit(c, finance, CreditStatus.BAD)
    before = snapshot(c)
    with pytest.raises(DomainError, match="credit status first"):
        services.customer_clear_problem(customer=c, user=manager, reason="已沟通")
    assert snapshot(c) == before


# --- The credit page --------------------------------------------------------------------------------


def test_r5_5_the_credit_page_says_what_bad_credit_will_do_before_saving(client_for, owner, finance, english):
    c = owned_customer(owner, since=date(2026, 2, 1))
    url = reverse("ownership:credit_status", args=[c.pk])
    page = client_for(finance).get(url).content.decode()
    assert 'id="credit-effect-bad"' in page and "张伟" in page[page.index('id="credit-effect-bad"') :]
    response = client_for(finance).post(url, {"status": "bad", "note": "逾期90天"})
    assert response.status_code == 302
    c = reload(c)
    assert c.owner is None and c.is_problem
    page = client_for(finance).get(url).content.decode()
    assert 'id="credit-effect-lift"' in page and "lifted" in page


def test_r5_5_the_owner_is_not_offered_bad_credit(client_for, owner):
    c = owned_customer(owner, since=date(2026, 2, 1))
    url = reverse("ownership:credit_status", args=[c.pk])
    page = client_for(owner).get(url).content.decode()
    assert 'value="bad"' not in page and 'value="watch"' in page
    assert 'id="credit-effect-bad"' not in page
    response = client_for(owner).post(url, {"status": "bad", "note": "逾期"})
    assert response.status_code == 200 and reload(c).credit_status == CreditStatus.GOOD
    # A customer with bad credit is finance's and the managers' to lift: 403 for its owner.
    Customer.objects.filter(pk=c.pk).update(credit_status=CreditStatus.BAD)
    assert client_for(owner).get(url).status_code == 403


def test_r5_5_bad_credit_of_a_customer_in_a_handover_flags_it_and_the_handover_moves_it(
    owner, teammate, manager, finance
):
    """R7: while an open handover holds the customer only the handover moves it. Bad credit flags
    it at once (R2.3) and tells the managers; the owner keeps it until the handover sends it."""
    from handovers import services as handovers
    from handovers.models import Kind, Reason

    c = owned_customer(owner, since=date(2026, 2, 1))
    handovers.handover_open(
        kind=Kind.TRANSFER,
        leaver=owner,
        manager=manager,
        customer_ids=[c.pk],
        reason=Reason.POSITION,
        receiver=teammate,
        now=at(date(2026, 3, 1)),
    )
    set_credit(c, finance, CreditStatus.BAD, day=date(2026, 3, 10))
    c = reload(c)
    assert (c.owner, c.is_problem, c.credit_status) == (owner, True, CreditStatus.BAD)
    event = OwnershipEvent.objects.filter(customer=c, action=Action.PROBLEM).get()
    assert (event.from_owner, event.to_owner, event.rule) == (owner, owner, Rule.R2_3)
    assert Notification.objects.filter(recipient=manager, kind="problem_in_handover").exists()
