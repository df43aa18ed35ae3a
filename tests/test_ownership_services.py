"""R5 ownership services: registration, claims, limits, releases, manager actions, sales clocks.

Each state change: the happy path, a refused precondition that leaves the database unchanged,
the history row (R5.9), and the roles that may not do it.
"""

from datetime import date

import pytest

from accounts import roles
from crm.errors import DomainError, PermissionDenied
from customers.models import Basis, Customer, ReleaseReason
from customers.services import DuplicateCustomer
from notifications.models import Notification
from ownership import selectors, services
from ownership.models import Action, MissingReleaseNote, OwnershipEvent, PoolSettings, ReleaseNote, Rule
from ownership.services import AlreadyTaken, ClaimRefused, compute_deadline

from .factories import ContactFactory, UserFactory, make_credit_code
from .helpers import at, owned_customer, pool_customer, reload

pytestmark = pytest.mark.django_db


def snapshot(customer: Customer) -> tuple:
    c = Customer.objects.get(pk=customer.pk)
    return (c.owner_id, c.owner_basis, c.owned_since, c.deadline, c.release_reason, c.released_at, c.is_problem)


# --- R5.2 / R5.4 deadline arithmetic --------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "sold", "last_sale", "expected"),
    [
        (date(2026, 1, 10), False, None, date(2026, 3, 10)),  # R5.2: 2 calendar months
        (date(2026, 1, 31), False, None, date(2026, 3, 31)),  # 31 Jan + 2 months
        (date(2025, 12, 31), False, None, date(2026, 2, 28)),  # clamped to the month's end
        (date(2027, 12, 31), False, None, date(2028, 2, 29)),  # leap year
        (date(2026, 3, 1), False, date(2026, 2, 15), date(2026, 5, 15)),  # R5.2: active buyer keeps 3 months
        (date(2026, 3, 1), False, date(2025, 10, 1), date(2026, 5, 1)),  # old sale: 2 months rule wins
        (date(2026, 1, 1), True, date(2026, 2, 10), date(2026, 5, 10)),  # R5.4: 3 months after last sale
        (date(2027, 1, 1), True, date(2027, 11, 30), date(2028, 2, 29)),  # R5.4 into a leap February
    ],
)
def test_compute_deadline_r5_2_r5_4(since, sold, last_sale, expected):
    assert compute_deadline(owned_since=since, sold_in_ownership=sold, last_sale_on=last_sale) == expected


# --- R5.1 registration ------------------------------------------------------------------------


def register_data(name="深圳市华为技术有限公司", code=None):
    return {"name": name, "credit_code": code or make_credit_code(), "source": "media", "industry": "electronics"}


def contact(phone="13800138000"):
    return {"name": "王经理", "phone": phone, "is_primary": True}


def test_r5_1_registering_salesperson_owns_on_first_inquiry(owner):
    now = at(date(2026, 1, 10))
    c = services.customer_register(data=register_data(), contacts=[contact()], user=owner, now=now)
    assert c.owner == owner
    assert c.owner_basis == Basis.FIRST_INQUIRY
    assert c.owned_since == date(2026, 1, 10)
    assert c.deadline == date(2026, 3, 10)
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.to_owner, event.basis, event.actor) == (
        Action.REGISTERED,
        owner,
        Basis.FIRST_INQUIRY,
        owner,
    )


@pytest.mark.parametrize("clash", ["code", "name", "phone"])
def test_r5_1_duplicate_is_refused_naming_the_owner(owner, teammate, clash):
    code = make_credit_code()
    first = services.customer_register(
        data=register_data("杭州恒通贸易有限公司", code), contacts=[contact("138-0013-8000")], user=teammate
    )
    data = register_data("杭州恒通贸易（集团）公司")
    phone = "13900139000"
    if clash == "code":
        data["credit_code"] = code.lower()  # normalised before comparing
    elif clash == "name":
        data["name"] = " 杭州恒通贸易有限公司 "
    else:
        phone = "+86 138 0013 8000"
    before = Customer.objects.count()
    with pytest.raises(DuplicateCustomer) as err:
        services.customer_register(data=data, contacts=[contact(phone)], user=owner)
    assert err.value.duplicate.customer == first
    assert "李娜" in err.value.message
    assert Customer.objects.count() == before
    assert OwnershipEvent.objects.count() == 1


def test_r5_1_duplicate_in_pool_says_it_can_be_claimed(owner, department):
    existing = pool_customer(department, name="苏州嘉禾食品有限公司")
    with pytest.raises(DuplicateCustomer) as err:
        services.customer_register(
            data=register_data("苏州嘉禾食品有限公司"), contacts=[contact("13700000001")], user=owner
        )
    assert err.value.duplicate.customer == existing
    assert "pool" in err.value.message or "客户池" in err.value.message


def test_manager_registers_into_the_pool(manager):
    c = services.customer_register(data=register_data(), contacts=[contact()], user=manager)
    assert c.owner is None and c.release_reason == ReleaseReason.REGISTERED


def test_finance_cannot_register(finance):
    with pytest.raises(PermissionDenied):
        services.customer_register(data=register_data(), contacts=[contact()], user=finance)


# --- R5.7 claims ----------------------------------------------------------------------------


def test_r5_7_claim_makes_the_claimer_owner_with_a_2_month_clock(owner, department):
    c = pool_customer(department)
    now = at(date(2026, 4, 30))
    services.customer_claim(customer=c, user=owner, now=now)
    c = reload(c)
    assert (c.owner, c.owner_basis, c.owned_since, c.deadline) == (
        owner,
        Basis.CLAIMED,
        date(2026, 4, 30),
        date(2026, 6, 30),
    )
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.from_owner, event.to_owner, event.actor, event.reason) == (
        Action.CLAIMED,
        None,
        owner,
        owner,
        ReleaseReason.NO_DEAL,
    )


def test_r5_7_claiming_an_owned_customer_says_it_is_taken_and_changes_nothing(owner, teammate):
    c = owned_customer(teammate, since=date(2026, 1, 1))
    before = snapshot(c)
    with pytest.raises(AlreadyTaken):
        services.customer_claim(customer=c, user=owner)
    assert snapshot(c) == before
    assert not OwnershipEvent.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "manager", "finance", "admin_user"])
def test_r5_7_only_a_salesperson_of_the_department_claims(request, department, who):
    user = request.getfixturevalue(who)
    c = pool_customer(department)
    before = snapshot(c)
    with pytest.raises(PermissionDenied):
        services.customer_claim(customer=c, user=user)
    assert snapshot(c) == before
    assert not OwnershipEvent.objects.exists()


# --- R5.8 limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim_on", "allowed"),
    [(date(2026, 3, 10), False), (date(2026, 3, 11), True), (date(2026, 3, 12), True)],
)
def test_r5_8_previous_owner_waits_out_the_cooloff(owner, department, claim_on, allowed):
    # Released by R5.2 on 9 Feb; 30-day cool-off: may claim again from 11 Mar.
    c = pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 2, 9))
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 3, 11)
    if allowed:
        services.customer_claim(customer=c, user=owner, now=at(claim_on))
        assert reload(c).owner == owner
    else:
        with pytest.raises(ClaimRefused) as err:
            services.customer_claim(customer=c, user=owner, now=at(claim_on))
        assert "2026-03-11" in err.value.message
        assert reload(c).owner is None


def test_r5_8_cooloff_does_not_bind_other_salespeople_or_problem_releases(owner, teammate, department):
    c = pool_customer(department, released_from=owner, reason=ReleaseReason.NO_SALE, released_on=date(2026, 2, 9))
    services.customer_claim(customer=c, user=teammate, now=at(date(2026, 2, 10)))
    assert reload(c).owner == teammate
    d = pool_customer(department, released_from=owner, reason=ReleaseReason.PROBLEM, released_on=date(2026, 2, 9))
    services.customer_claim(customer=d, user=owner, now=at(date(2026, 2, 10)))
    assert reload(d).owner == owner


def test_r5_8_daily_claim_cap_counts_the_shanghai_day(owner, department):
    PoolSettings.objects.create(department=department, daily_claim_cap=2)
    customers = [pool_customer(department) for _ in range(4)]
    services.customer_claim(customer=customers[0], user=owner, now=at(date(2026, 5, 6), 9))
    services.customer_claim(customer=customers[1], user=owner, now=at(date(2026, 5, 6), 23, 50))
    with pytest.raises(ClaimRefused):
        services.customer_claim(customer=customers[2], user=owner, now=at(date(2026, 5, 6), 23, 55))
    assert reload(customers[2]).owner is None
    # 00:10 in Shanghai is still the previous day in UTC: the cap resets on the local day.
    services.customer_claim(customer=customers[3], user=owner, now=at(date(2026, 5, 7), 0, 10))
    assert reload(customers[3]).owner == owner


def test_r5_8_unsold_limit_lower_for_probation(owner, probation, department):
    PoolSettings.objects.create(department=department, max_unsold=2, max_unsold_probation=1)
    owned_customer(owner, since=date(2026, 5, 1))
    owned_customer(owner, since=date(2026, 5, 1), sold=True, last_sale_on=date(2026, 5, 2))  # a sale: not counted
    owned_customer(probation, since=date(2026, 5, 1))
    c1, c2 = pool_customer(department), pool_customer(department)
    services.customer_claim(customer=c1, user=owner, now=at(date(2026, 5, 6)))
    with pytest.raises(ClaimRefused):
        services.customer_claim(customer=c2, user=owner, now=at(date(2026, 5, 6)))
    with pytest.raises(ClaimRefused):
        services.customer_claim(customer=c2, user=probation, now=at(date(2026, 5, 6)))
    assert reload(c2).owner is None


# --- Voluntary release and release notes (R7.3) -----------------------------------------------


def write_note(customer, user, when=None):
    return services.release_note_write(
        customer=customer,
        user=user,
        situation="年底预算冻结",
        contact_details="王经理 13800138000",
        communication_level="已报价，等待采购审批",
        now=when,
    )


def test_r7_3_voluntary_release_requires_the_note(owner):
    c = owned_customer(owner, since=date(2026, 1, 5))
    before = snapshot(c)
    with pytest.raises(DomainError):
        services.customer_release(customer=c, user=owner)
    assert snapshot(c) == before
    note = write_note(c, owner)
    services.customer_release(customer=c, user=owner, now=at(date(2026, 2, 1)))
    c = reload(c)
    assert c.owner is None and c.release_reason == ReleaseReason.VOLUNTARY and c.released_from == owner
    event = OwnershipEvent.objects.get(customer=c, action=Action.RELEASED)
    assert event.release_note == note and event.actor == owner


def test_only_the_owner_releases_or_writes_the_note(owner, teammate, manager):
    c = owned_customer(owner, since=date(2026, 1, 5))
    for user in (teammate, manager):
        with pytest.raises(PermissionDenied):
            write_note(c, user)
        with pytest.raises(PermissionDenied):
            services.customer_release(customer=c, user=user)
    assert reload(c).owner == owner
    assert not ReleaseNote.objects.exists()


def test_r7_3_note_needs_all_three_parts(owner):
    c = owned_customer(owner, since=date(2026, 1, 5))
    with pytest.raises(DomainError):
        services.release_note_write(customer=c, user=owner, situation="x", contact_details=" ", communication_level="y")
    assert not ReleaseNote.objects.exists()


# --- Manager actions ------------------------------------------------------------------------


def test_r5_6_manager_assigns_relationship_customer_with_introducer(manager, owner, department):
    c = pool_customer(department)
    services.customer_assign(
        customer=c, manager=manager, to_user=owner, introduced_by="刘总的老同学", now=at(date(2026, 6, 1))
    )
    c = reload(c)
    assert (c.owner, c.owner_basis, c.introduced_by, c.deadline) == (
        owner,
        Basis.RELATIONSHIP,
        "刘总的老同学",
        date(2026, 8, 1),
    )
    event = OwnershipEvent.objects.get(customer=c)
    assert event.action == Action.RELATIONSHIP and event.actor == manager and "刘总的老同学" in event.note
    assert Notification.objects.filter(recipient=owner, kind="assigned").exists()


def test_r5_6_relationship_needs_introducer_and_pool_customer(manager, owner, teammate, department):
    c = pool_customer(department)
    with pytest.raises(DomainError):
        services.customer_assign(customer=c, manager=manager, to_user=owner, introduced_by=" ")
    taken = owned_customer(teammate, since=date(2026, 1, 1))
    with pytest.raises(AlreadyTaken):
        services.customer_assign(customer=taken, manager=manager, to_user=owner, introduced_by="x")
    assert reload(c).owner is None and reload(taken).owner == teammate
    assert not OwnershipEvent.objects.exists()


def test_r5_6_only_the_departments_manager_assigns(owner, teammate, outsider, department, other_department):
    other_manager = UserFactory(role=roles.MANAGER, department=other_department)
    c = pool_customer(department)
    for user in (teammate, other_manager):
        with pytest.raises(PermissionDenied):
            services.customer_assign(customer=c, manager=user, to_user=owner, introduced_by="x")
    manager = UserFactory(role=roles.MANAGER, department=department)
    with pytest.raises(DomainError):  # a salesperson of another department
        services.customer_assign(customer=c, manager=manager, to_user=outsider, introduced_by="x")
    assert reload(c).owner is None


def test_r5_5_problem_customer_returns_to_pool_at_once(manager, owner):
    c = owned_customer(owner, since=date(2026, 1, 5))
    services.customer_mark_problem(customer=c, user=manager, reason="多次拖欠货款", now=at(date(2026, 1, 20)))
    c = reload(c)
    assert c.owner is None and c.is_problem and c.problem_reason == "多次拖欠货款"
    assert c.release_reason == ReleaseReason.PROBLEM and c.released_from == owner
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.from_owner, event.actor, event.note) == (Action.PROBLEM, owner, manager, "多次拖欠货款")
    assert Notification.objects.filter(recipient=owner, kind="released").exists()


def test_r5_5_finance_may_mark_problem_salesperson_may_not(finance, teammate, owner):
    c = owned_customer(owner, since=date(2026, 1, 5))
    with pytest.raises(PermissionDenied):
        services.customer_mark_problem(customer=c, user=teammate, reason="x")
    with pytest.raises(PermissionDenied):
        services.customer_mark_problem(customer=c, user=owner, reason="x")
    assert reload(c).owner == owner
    services.customer_mark_problem(customer=c, user=finance, reason="付款信誉差")
    assert reload(c).is_problem


@pytest.mark.parametrize(
    ("new_deadline", "ok"),
    [(date(2026, 3, 10), False), (date(2026, 4, 10), True), (date(2026, 4, 11), False)],
)
def test_r5_11_extension_at_most_one_month(manager, owner, new_deadline, ok):
    c = owned_customer(owner, since=date(2026, 1, 10))  # deadline 10 Mar
    if ok:
        services.customer_extend_deadline(customer=c, manager=manager, new_deadline=new_deadline, reason="大单在谈")
        c = reload(c)
        assert c.deadline == new_deadline and c.deadline_extended
        event = OwnershipEvent.objects.get(customer=c)
        assert event.action == Action.EXTENDED and "大单在谈" in event.note and event.deadline == new_deadline
    else:
        with pytest.raises(DomainError):
            services.customer_extend_deadline(customer=c, manager=manager, new_deadline=new_deadline, reason="x")
        assert reload(c).deadline == date(2026, 3, 10)


def test_r5_11_extension_only_once_and_only_by_managers(manager, owner, teammate):
    c = owned_customer(owner, since=date(2026, 1, 10))
    with pytest.raises(PermissionDenied):
        services.customer_extend_deadline(customer=c, manager=owner, new_deadline=date(2026, 3, 20), reason="x")
    services.customer_extend_deadline(customer=c, manager=manager, new_deadline=date(2026, 3, 20), reason="x")
    with pytest.raises(DomainError):
        services.customer_extend_deadline(customer=c, manager=manager, new_deadline=date(2026, 3, 25), reason="y")
    assert reload(c).deadline == date(2026, 3, 20)


# --- Sales move the clocks (R5.3, R5.4) -----------------------------------------------------------


def test_r5_3_own_first_order_keeps_owner_on_basis_first_order(owner):
    c = owned_customer(owner, since=date(2026, 1, 5), basis=Basis.FIRST_INQUIRY)
    out = services.customer_record_sale(customer=c, salesperson=owner, sale_date=date(2026, 2, 1))
    c = reload(c)
    assert out.became_owner
    assert (c.owner, c.owner_basis, c.sold_in_ownership, c.deadline) == (
        owner,
        Basis.FIRST_ORDER,
        True,
        date(2026, 5, 1),
    )
    event = OwnershipEvent.objects.get(customer=c)
    assert (event.action, event.rule, event.from_owner, event.to_owner) == (Action.FIRST_ORDER, Rule.R5_3, owner, owner)


def test_r5_3_first_order_goes_to_the_orders_salesperson_whoever_holds_it(owner, teammate, department):
    held = owned_customer(teammate, since=date(2026, 1, 5))
    services.customer_record_sale(customer=held, salesperson=owner, sale_date=date(2026, 2, 1))
    assert reload(held).owner == owner
    pooled = pool_customer(department, released_from=owner)
    services.customer_record_sale(customer=pooled, salesperson=owner, sale_date=date(2026, 2, 1))
    pooled = reload(pooled)
    assert pooled.owner == owner and pooled.owner_basis == Basis.FIRST_ORDER and pooled.deadline == date(2026, 5, 1)


def test_r5_3_later_sales_move_the_clock_not_the_owner(owner, teammate):
    c = owned_customer(teammate, since=date(2026, 1, 5), sold=True, last_sale_on=date(2026, 1, 20))
    out = services.customer_record_sale(customer=c, salesperson=owner, sale_date=date(2026, 3, 3))
    c = reload(c)
    assert not out.became_owner
    assert c.owner == teammate and c.last_sale_on == date(2026, 3, 3) and c.deadline == date(2026, 6, 3)
    assert not OwnershipEvent.objects.exists()


def test_r5_4_a_sale_switches_a_claimed_customer_to_the_3_month_rule(owner):
    c = owned_customer(owner, since=date(2026, 1, 5), last_sale_on=date(2025, 6, 1))
    assert c.deadline == date(2026, 3, 5)
    services.customer_record_sale(customer=c, salesperson=owner, sale_date=date(2026, 2, 20))
    c = reload(c)
    assert c.sold_in_ownership and c.deadline == date(2026, 5, 20) and c.owner_basis == Basis.CLAIMED


def test_sale_reversal_recomputes_the_clock(owner):
    c = owned_customer(owner, since=date(2026, 1, 5), sold=True, last_sale_on=date(2026, 2, 20))
    services.customer_set_sale_clock(customer=c, last_sale_on=None)
    c = reload(c)
    assert not c.sold_in_ownership and c.deadline == date(2026, 3, 5)


# --- R5.9 history is append-only ----------------------------------------------------------------


def test_r5_9_history_rows_cannot_be_changed_or_deleted(owner, department):
    c = pool_customer(department)
    services.customer_claim(customer=c, user=owner)
    event = OwnershipEvent.objects.get()
    event.note = "rewritten"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    assert OwnershipEvent.objects.get().note == ""


def test_missing_note_can_be_written_late_by_the_former_owner(owner, manager, department):
    c = pool_customer(department, released_from=owner)
    item = MissingReleaseNote.objects.create(
        customer=c,
        former_owner=owner,
        ownership_started=date(2026, 1, 1),
        released_at=at(date(2026, 3, 2)),
        reason="no_deal",
    )
    services.missing_note_demand(item=item, manager=manager)
    assert Notification.objects.filter(recipient=owner, kind="note_demanded").exists()
    note = write_note(c, owner)
    item.refresh_from_db()
    assert item.note == note and note.late
    with pytest.raises(DomainError):
        services.missing_note_demand(item=item, manager=manager)


def test_r5_1_contact_phone_clash_on_another_customer_is_refused(owner, teammate):
    from customers.services import contact_add

    mine = owned_customer(owner, since=date(2026, 1, 1))
    theirs = owned_customer(teammate, since=date(2026, 1, 1))
    ContactFactory(customer=theirs, phone="13912345678")
    with pytest.raises(DuplicateCustomer):
        contact_add(customer=mine, user=owner, data={"name": "李四", "phone": "139-1234-5678"})
    assert not mine.contacts.exists()


def test_r5_8_cooloff_is_not_shortened_by_a_colleague_in_between(owner, teammate, department):
    """X loses a customer to R5.2; Y claims it and releases it the next day: X still waits out the
    cool-off counted from its own loss (from the history, not only the last release)."""
    c = pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 2, 9))
    OwnershipEvent.objects.create(  # what the nightly job wrote when it released X's customer
        customer=c, action=Action.RELEASED, from_owner=owner, reason=ReleaseReason.NO_DEAL, at=at(date(2026, 2, 9), 1)
    )
    services.customer_claim(customer=c, user=teammate, now=at(date(2026, 2, 10)))
    services.release_note_write(
        customer=c, user=teammate, situation="无需求", contact_details="—", communication_level="初次接触"
    )
    services.customer_release(customer=reload(c), user=teammate, now=at(date(2026, 2, 11)))
    assert reload(c).owner is None and reload(c).released_from == teammate
    with pytest.raises(ClaimRefused) as err:
        services.customer_claim(customer=reload(c), user=owner, now=at(date(2026, 2, 12)))
    assert "2026-03-11" in err.value.message
    services.customer_claim(customer=reload(c), user=owner, now=at(date(2026, 3, 11)))
    assert reload(c).owner == owner


def test_r7_3_a_note_written_while_the_release_ran_closes_the_missing_item(owner, department):
    """On PostgreSQL a note committed while the nightly statement waited on the customer's lock is
    not seen by that statement: the customer is released with a missing-note item although the
    note exists. Writing the note then completes it instead of failing on the one-note rule."""
    since = date(2026, 1, 5)
    c = owned_customer(owner, since=since)
    note = ReleaseNote.objects.create(
        customer=c,
        author=owner,
        ownership_started=since,
        situation="在谈",
        contact_details="钱经理",
        communication_level="已报价",
        written_at=at(date(2026, 3, 4)),
    )
    Customer.objects.filter(pk=c.pk).update(owner=None, released_from=owner, release_reason=ReleaseReason.NO_DEAL)
    item = MissingReleaseNote.objects.create(
        customer=c,
        former_owner=owner,
        ownership_started=since,
        released_at=at(date(2026, 3, 6), 1),
        reason=ReleaseReason.NO_DEAL,
    )
    written = services.release_note_write(
        customer=reload(c),
        user=owner,
        situation="价格谈妥前停止",
        contact_details="钱经理",
        communication_level="已报价",
    )
    assert written.pk == note.pk and ReleaseNote.objects.count() == 1
    item.refresh_from_db()
    assert item.note_id == note.pk and reload_note(note).situation == "价格谈妥前停止"


def reload_note(note):
    return ReleaseNote.objects.get(pk=note.pk)


def test_r5_11_a_sale_reversal_keeps_the_managers_extension(owner, manager, department):
    """Claimed 10 Jan (2-month clock: 10 Mar), extended to 10 Apr; a sale on 5 Mar moves the clock
    to 5 Jun; its reversal goes back to the extended 10 Apr, not to the plain 10 Mar."""
    c = pool_customer(department)
    Customer.objects.filter(pk=c.pk).update(last_sale_on=date(2025, 6, 1))  # sold in an earlier ownership
    services.customer_claim(customer=c, user=owner, now=at(date(2026, 1, 10)))
    assert reload(c).deadline == date(2026, 3, 10)
    services.customer_extend_deadline(
        customer=reload(c), manager=manager, new_deadline=date(2026, 4, 10), reason="大单在谈", now=at(date(2026, 3, 1))
    )
    services.customer_record_sale(customer=reload(c), salesperson=owner, sale_date=date(2026, 3, 5))
    assert reload(c).deadline == date(2026, 6, 5)
    services.customer_set_sale_clock(customer=reload(c), last_sale_on=date(2025, 6, 1))
    assert reload(c).deadline == date(2026, 4, 10) and reload(c).deadline_extended


def test_r5_8_the_unsold_limit_holds_for_first_inquiries_too(owner, manager, department):
    """A salesperson at its limit of customers without a sale cannot register more (R5.8): the
    refusal says why and keeps nothing; its manager may still register into the pool."""
    PoolSettings.objects.create(department=department, max_unsold=1)
    services.customer_register(data={"name": "甲科技有限公司", "source": "other"}, contacts=[], user=owner)
    with pytest.raises(ClaimRefused, match="上限"):
        services.customer_register(data={"name": "乙科技有限公司", "source": "other"}, contacts=[], user=owner)
    assert not Customer.objects.filter(name="乙科技有限公司").exists()
    pooled = services.customer_register(data={"name": "乙科技有限公司", "source": "other"}, contacts=[], user=manager)
    assert pooled.owner is None
