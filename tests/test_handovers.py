"""R7.1 resignation and R7.2 transfer handovers, service by service: opening, the leaver's notes,
the manager's (bulk) assignment, the receivers' confirmations, completion (ownership, history,
deadlines, hold, account) and cancellation; the customers held meanwhile; the daily reminder.

Each step: the happy path, refusals that leave the database unchanged, the history rows, and the
roles that may not do it."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from accounts import roles
from crm.errors import DomainError, PermissionDenied
from customers.models import Basis, Customer, ReleaseReason
from handovers import services
from handovers.models import EventKind, Handover, HandoverEvent, HandoverItem, Kind, State
from handovers.selectors import (
    handovers_visible_to,
    hold_progress,
    items_visible_to,
    open_counts_by_department,
    receivers_for,
)
from notifications.models import Notification
from ownership import services as ownership
from ownership.models import Action, OwnershipEvent
from ownership.nightly import nightly_release
from sales.models import CommissionHold, HoldSource
from sales.selectors import commission_statement

from .factories import DEFAULT_PASSWORD, UserFactory
from .handover_helpers import NOTE, items_of, open_resignation, open_transfer, send_and_confirm, write_all_notes
from .helpers import at, owned_customer, pool_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db

DAY = date(2026, 6, 10)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def receiver2(department):
    return UserFactory(username="wanglei", display_name="王磊", role=roles.SALESPERSON, department=department)


@pytest.fixture
def bystander(department):
    """A salesperson of the department who neither hands over nor receives."""
    return UserFactory(username="zhaoyun", display_name="赵云", role=roles.SALESPERSON, department=department)


@pytest.fixture
def other_manager(other_department):
    return UserFactory(username="huangmin", display_name="黄敏", role=roles.MANAGER, department=other_department)


@pytest.fixture
def book(owner, finance):
    """The leaver's three customers: one with a receivable (confirmed, partly paid), one with an
    order awaiting payment, one quiet."""
    with_receivable = owned_customer(owner, since=date(2026, 4, 1), name="宁波德润精密机械有限公司")
    order = record(with_receivable, owner, "10000.00", day=date(2026, 5, 20))
    confirm(order, finance, "4000.00", day=date(2026, 5, 20))
    awaiting = owned_customer(owner, since=date(2026, 5, 1), name="厦门蓝海食品有限公司")
    record(awaiting, owner, "2500.00", day=date(2026, 6, 1))
    quiet = owned_customer(owner, since=date(2026, 5, 15), name="苏州嘉禾电子有限公司")
    return [reload(with_receivable), reload(awaiting), reload(quiet)]


def snapshot() -> tuple:
    """Everything a handover step may change."""
    return (
        list(
            Customer.objects.order_by("pk").values_list(
                "pk", "owner_id", "owner_basis", "owned_since", "deadline", "handover_ref", "release_reason"
            )
        ),
        OwnershipEvent.objects.count(),
        list(Handover.objects.order_by("pk").values_list("pk", "state", "hold_id", "all_done_at")),
        list(
            HandoverItem.objects.order_by("pk").values_list(
                "pk", "receiver_id", "to_pool", "confirmed_at", "note_written_at", "situation"
            )
        ),
        HandoverEvent.objects.count(),
        list(CommissionHold.objects.order_by("pk").values_list("pk", "released_at")),
        Notification.objects.count(),
    )


# --- Opening (R7.1, R7.2) ---------------------------------------------------------------------------


def test_r7_1_resignation_holds_every_customer_with_what_it_carries(owner, manager, book):
    h = open_resignation(owner, manager, day=DAY)
    assert (h.kind, h.reason, h.state, h.department_id) == (
        Kind.RESIGNATION,
        "resignation",
        State.OPEN,
        owner.department_id,
    )
    items = {i.customer_id: i for i in items_of(h)}
    assert set(items) == {c.pk for c in book}
    for c in book:
        assert reload(c).handover_ref == h.pk and reload(c).owner == owner
        event = OwnershipEvent.objects.get(customer=c, action=Action.HANDOVER_OPENED)
        assert (event.from_owner, event.to_owner, event.actor) == (owner, owner, manager)
        assert f"#{h.pk}" in event.note
    receivable = items[book[0].pk]
    assert (receivable.receivable_orders, receivable.receivable_total) == (1, Decimal("6000.00"))
    assert receivable.details["receivables"][0]["due"] == "6000.00"
    awaiting = items[book[1].pk]
    assert (awaiting.open_orders, awaiting.open_orders_total, awaiting.receivable_orders) == (1, Decimal("2500.00"), 0)
    assert items[book[2].pk].deadline_before == book[2].deadline
    hold = h.hold
    assert (hold.salesperson, hold.source, hold.released_at) == (owner, HoldSource.HANDOVER, None)
    assert Notification.objects.filter(recipient=owner, kind="handover").exists()
    assert HandoverEvent.objects.get(handover=h, kind=EventKind.OPENED).count == 3


def test_r7_1_items_read_open_service_requests_plans_follow_ups_and_expiring_documents(
    owner, manager, book, settings, tmp_path
):
    from customers.services import DocumentInput, customer_record_contact, document_upload
    from followups.services import plan_set
    from service import services as service_services

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    c = book[2]
    service_services.request_log(
        user=owner, data=service_services.RequestInput(kind="complaint", channel="phone", text="交货延迟"), customer=c
    )
    plan_set(salesperson=owner, month=DAY, target_count=5, customer_ids=[c.pk], user=owner, now=at(DAY, 8))
    customer_record_contact(customer=c, at=at(DAY, 8), next_follow_up_on=DAY + timedelta(days=5))
    document_upload(
        customer=c,
        user=owner,
        data=DocumentInput(kind="business_licence", number="91330200MA2AXXXX1X", valid_until=DAY + timedelta(days=10)),
        file_name="营业执照.pdf",
        chunks=[b"%PDF-1.4\n%%EOF\n"],
    )
    h = open_resignation(owner, manager, day=DAY)
    item = HandoverItem.objects.get(handover=h, customer=c)
    assert (item.open_requests, item.planned_this_month, item.next_follow_up_on, item.expiring_documents) == (
        1,
        True,
        DAY + timedelta(days=5),
        1,
    )
    assert item.details["requests"][0]["kind"] == "complaint"
    assert item.details["planned_by"] == [str(owner)]


def test_r7_2_transfer_of_chosen_customers_for_a_reason(owner, manager, teammate, book):
    h = open_transfer(owner, manager, book[:2], day=DAY, reason="customer_request", receiver=teammate)
    assert (h.kind, h.reason) == (Kind.TRANSFER, "customer_request")
    assert {i.customer_id for i in items_of(h)} == {book[0].pk, book[1].pk}
    assert reload(book[2]).handover_ref is None
    assert all(i.receiver == teammate for i in items_of(h))
    assert Notification.objects.filter(recipient=teammate, kind="handover").count() == 1
    assert h.hold.source == HoldSource.HANDOVER


@pytest.mark.parametrize(
    ("who", "kwargs", "error"),
    [
        ("teammate", {}, PermissionDenied),
        ("other_manager", {}, PermissionDenied),
        ("finance", {}, PermissionDenied),
        ("manager", {"kind": "transfer"}, DomainError),  # a transfer names no customers
        ("manager", {"kind": "transfer", "reason": "resignation", "customer_ids": "book"}, DomainError),
        ("manager", {"kind": "sacking"}, DomainError),
    ],
)
def test_r7_opening_refusals_change_nothing(request, owner, book, who, kwargs, error):
    user = request.getfixturevalue(who)
    kwargs = dict(kwargs)
    if kwargs.get("customer_ids") == "book":
        kwargs["customer_ids"] = [book[0].pk]
    kwargs.setdefault("kind", "resignation")
    before = snapshot()
    with pytest.raises(error):
        services.handover_open(leaver=owner, manager=user, now=at(DAY), **kwargs)
    assert snapshot() == before


def test_r7_2_transfer_refuses_another_salespersons_customer(owner, teammate, manager, book):
    theirs = owned_customer(teammate, since=date(2026, 5, 1))
    before = snapshot()
    with pytest.raises(DomainError, match="no longer owns"):
        open_transfer(owner, manager, [book[0], theirs], day=DAY)
    assert snapshot() == before


def test_r7_1_one_open_handover_at_a_time_and_no_transfer_during_a_resignation(owner, manager, book):
    open_transfer(owner, manager, [book[0]], day=DAY)
    with pytest.raises(DomainError, match="already has an open handover"):
        open_resignation(owner, manager, day=DAY)
    with pytest.raises(DomainError, match="Already in a handover"):
        open_transfer(owner, manager, [book[0]], day=DAY)


def test_r7_1_resignation_refuses_an_inactive_or_non_sales_leaver(manager, department, finance):
    gone = UserFactory(role=roles.SALESPERSON, department=department, is_active=False)
    with pytest.raises(DomainError):
        open_resignation(gone, manager, day=DAY)
    with pytest.raises((DomainError, PermissionDenied)):
        open_resignation(finance, manager, day=DAY)


def test_r7_1_admin_opens_for_any_department(outsider, admin_user):
    c = owned_customer(outsider, since=date(2026, 5, 1))
    h = open_resignation(outsider, admin_user, day=DAY)
    assert reload(c).handover_ref == h.pk


# --- The leaver's notes -----------------------------------------------------------------------------


def test_r7_1_the_leaver_writes_a_note_per_item(owner, manager, book):
    h = open_resignation(owner, manager, day=DAY)
    item = items_of(h)[0]
    services.handover_write_note(item=item, user=owner, data=NOTE, now=at(DAY, 10))
    item = reload(item)
    assert (item.situation, item.stage, item.note_written_at) == (NOTE.situation, NOTE.stage, at(DAY, 10))
    assert HandoverEvent.objects.get(handover=h, kind=EventKind.NOTE).item == item


@pytest.mark.parametrize("who", ["teammate", "manager", "admin_user", "bystander"])
def test_r7_1_only_the_leaver_writes_notes(request, owner, manager, book, who):
    h = open_resignation(owner, manager, day=DAY)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.handover_write_note(item=items_of(h)[0], user=request.getfixturevalue(who), data=NOTE)
    assert snapshot() == before


def test_r7_1_a_note_needs_its_parts_and_the_receivables_status_when_money_is_owed(owner, manager, book):
    h = open_resignation(owner, manager, day=DAY)
    with_receivable = HandoverItem.objects.get(handover=h, customer=book[0])
    before = snapshot()
    with pytest.raises(DomainError, match="situation"):
        services.handover_write_note(item=with_receivable, user=owner, data=services.NoteInput("", "钱经理", "已报价"))
    with pytest.raises(DomainError, match="receivables status"):
        services.handover_write_note(
            item=with_receivable, user=owner, data=services.NoteInput("在谈", "钱经理", "已报价")
        )
    assert snapshot() == before
    quiet = HandoverItem.objects.get(handover=h, customer=book[2])
    services.handover_write_note(item=quiet, user=owner, data=services.NoteInput("在谈", "钱经理", "已报价"))
    assert reload(quiet).note_written_at is not None


def test_r7_1_a_confirmed_item_keeps_its_note(owner, manager, teammate, book):
    h = open_resignation(owner, manager, day=DAY)
    write_all_notes(h, day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    before = snapshot()
    with pytest.raises(DomainError, match="already confirmed"):
        services.handover_write_note(item=items_of(h)[0], user=owner, data=NOTE)
    assert snapshot() == before


# --- Sending to receivers or the pool -------------------------------------------------------------------


def test_r7_1_manager_sends_items_to_receivers_and_the_pool(owner, manager, teammate, receiver2, book):
    h = open_resignation(owner, manager, day=DAY)
    items = items_of(h)
    assert (
        services.handover_send(handover=h, manager=manager, item_ids=[items[0].pk, items[1].pk], receiver=teammate) == 2
    )
    assert services.handover_send(handover=h, manager=manager, item_ids=[items[2].pk], to_pool=True) == 1
    # Sending again to the same receiver changes nothing (and keeps a confirmation).
    assert services.handover_send(handover=h, manager=manager, item_ids=[items[0].pk], receiver=teammate) == 0
    assert [(i.receiver_id, i.to_pool) for i in items_of(h)] == [
        (teammate.pk, False),
        (teammate.pk, False),
        (None, True),
    ]
    note = Notification.objects.get(recipient=teammate, kind="handover")
    assert "2 customers" in note.text and str(owner) in note.text
    kinds = list(HandoverEvent.objects.filter(handover=h).values_list("kind", "count", "receiver_id"))
    assert (EventKind.SENT, 2, teammate.pk) in kinds and (EventKind.SENT_TO_POOL, 1, None) in kinds


def test_r7_1_resending_an_item_clears_its_confirmation(owner, manager, teammate, receiver2, book):
    h = open_resignation(owner, manager, day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    item = items_of(h)[0]
    services.handover_send(handover=h, manager=manager, item_ids=[item.pk], receiver=receiver2)
    item = reload(item)
    assert (item.receiver, item.confirmed_at, item.confirmed_by) == (receiver2, None, None)
    assert reload(h).all_done_at is None


@pytest.mark.parametrize("target", ["leaver", "inactive", "outsider", "leaving", "manager"])
def test_r7_1_send_refuses_a_wrong_receiver(request, owner, manager, department, book, target):
    if target == "leaver":
        receiver = owner
    elif target == "inactive":
        receiver = UserFactory(role=roles.SALESPERSON, department=department, is_active=False)
    elif target == "leaving":
        receiver = UserFactory(role=roles.SALESPERSON, department=department)
        owned_customer(receiver, since=date(2026, 5, 1))
        open_resignation(receiver, manager, day=DAY)
    else:
        receiver = request.getfixturevalue(target)
    h = open_transfer(owner, manager, [book[0]], day=DAY)
    before = snapshot()
    with pytest.raises(DomainError):
        services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], receiver=receiver)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["owner", "teammate", "finance", "other_manager"])
def test_r7_1_only_a_manager_of_the_department_sends(request, owner, manager, teammate, book, who):
    h = open_resignation(owner, manager, day=DAY)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.handover_send(
            handover=h, manager=request.getfixturevalue(who), item_ids=[items_of(h)[0].pk], receiver=teammate
        )
    assert snapshot() == before


def test_r7_1_send_refuses_items_of_another_handover(owner, teammate, manager, receiver2, book):
    h = open_transfer(owner, manager, [book[0]], day=DAY)
    theirs = open_transfer(teammate, manager, [owned_customer(teammate, since=date(2026, 5, 1))], day=DAY)
    before = snapshot()
    with pytest.raises(DomainError, match="not in this handover"):
        services.handover_send(handover=h, manager=manager, item_ids=[items_of(theirs)[0].pk], receiver=receiver2)
    assert snapshot() == before


# --- Confirmations -------------------------------------------------------------------------------------


def test_r7_1_receiver_confirms_one_then_all_and_the_manager_is_told_once(owner, manager, teammate, book):
    h = open_resignation(owner, manager, day=DAY)
    items = items_of(h)
    services.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items[:2]], receiver=teammate)
    services.handover_send(handover=h, manager=manager, item_ids=[items[2].pk], to_pool=True)
    assert services.handover_confirm(handover=h, user=teammate, item_ids=[items[0].pk], now=at(DAY, 12)) == 1
    assert reload(h).all_done_at is None
    assert not Notification.objects.filter(recipient=manager, kind="handover").exists()
    assert services.handover_confirm(handover=h, user=teammate, now=at(DAY, 13)) == 1
    assert reload(items[0]).confirmed_by == teammate and reload(items[1]).confirmed_at == at(DAY, 13)
    assert reload(h).all_done_at == at(DAY, 13)
    assert Notification.objects.filter(recipient=manager, kind="handover").count() == 1
    with pytest.raises(DomainError, match="Nothing left"):
        services.handover_confirm(handover=h, user=teammate)
    assert Notification.objects.filter(recipient=manager, kind="handover").count() == 1


@pytest.mark.parametrize("who", ["owner", "manager", "admin_user", "bystander", "receiver2"])
def test_r7_1_only_the_receiver_confirms(request, owner, manager, teammate, receiver2, book, who):
    h = open_resignation(owner, manager, day=DAY)
    items = items_of(h)
    services.handover_send(handover=h, manager=manager, item_ids=[items[0].pk], receiver=teammate)
    services.handover_send(handover=h, manager=manager, item_ids=[items[1].pk], receiver=receiver2)
    if who == "receiver2":
        # receiver2 may confirm its own item, never the one sent to teammate.
        with pytest.raises(DomainError):
            services.handover_confirm(handover=h, user=receiver2, item_ids=[items[0].pk])
        assert reload(items[0]).confirmed_at is None
        return
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.handover_confirm(handover=h, user=request.getfixturevalue(who))
    assert snapshot() == before


# --- Completion -----------------------------------------------------------------------------------------


def test_r7_1_completion_moves_every_customer_keeps_history_and_deactivates(
    owner, manager, teammate, receiver2, finance, book
):
    pooled = book[2]
    h = open_resignation(owner, manager, day=DAY)
    write_all_notes(h, day=DAY)
    items = {i.customer_id: i for i in items_of(h)}
    services.handover_send(handover=h, manager=manager, item_ids=[items[book[0].pk].pk], receiver=teammate)
    services.handover_send(handover=h, manager=manager, item_ids=[items[book[1].pk].pk], receiver=receiver2)
    services.handover_send(handover=h, manager=manager, item_ids=[items[pooled.pk].pk], to_pool=True)
    services.handover_confirm(handover=h, user=teammate)
    services.handover_confirm(handover=h, user=receiver2)
    session = Client()
    session.force_login(owner)
    assert Session.objects.count() == 1

    done = services.handover_complete(handover=h, manager=manager, now=at(DAY, 16))

    assert (done.state, done.completed_by, done.completed_at, done.deactivated_at) == (
        State.COMPLETED,
        manager,
        at(DAY, 16),
        at(DAY, 16),
    )
    first, second, third = (reload(c) for c in book)
    assert (first.owner, first.owner_basis, first.owned_since, first.handover_ref) == (
        teammate,
        Basis.HANDED_OVER,
        DAY,
        None,
    )
    assert second.owner == receiver2
    # The sale clock carries over: sold on 20 May, so 20 Aug is later than 10 Aug (R5.2).
    assert first.deadline == date(2026, 8, 20) and second.deadline == date(2026, 8, 10)
    assert (third.owner, third.release_reason, third.released_from, third.handover_ref) == (
        None,
        ReleaseReason.HANDOVER,
        owner,
        None,
    )
    handed = OwnershipEvent.objects.get(customer=first, action=Action.HANDED_OVER)
    assert (handed.from_owner, handed.to_owner, handed.actor, handed.basis, handed.deadline) == (
        owner,
        teammate,
        manager,
        Basis.HANDED_OVER,
        date(2026, 8, 20),
    )
    assert f"#{h.pk}" in handed.note
    released = OwnershipEvent.objects.get(customer=third, action=Action.RELEASED)
    assert (released.reason, released.actor, released.from_owner) == (ReleaseReason.HANDOVER, manager, owner)
    note = released.release_note
    assert (note.situation, note.contact_details, note.author) == (NOTE.situation, NOTE.key_contacts, owner)
    assert NOTE.stage in note.communication_level
    # Nothing else moved: one history row per change.
    for c in book:
        assert OwnershipEvent.objects.filter(customer=c, at=at(DAY, 16)).count() == 1
    assert reload(h.hold).released_at == at(DAY, 16)
    owner.refresh_from_db()
    assert not owner.is_active
    assert Session.objects.count() == 0
    assert session.get("/customers/mine/").status_code == 302
    refused = Client().post("/accounts/login/", {"username": owner.username, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    assert Customer.objects.filter(owner=owner).count() == 0
    assert HandoverItem.objects.get(handover=h, customer=first).new_deadline == date(2026, 8, 20)
    assert Notification.objects.filter(recipient=teammate, text__contains="now yours").exists()
    assert set(HandoverEvent.objects.filter(handover=h).values_list("kind", flat=True)) >= {
        EventKind.COMPLETED,
        EventKind.DEACTIVATED,
    }


@pytest.mark.parametrize(
    ("last_sale", "deadline"),
    [
        (None, date(2026, 8, 10)),
        (date(2026, 5, 9), date(2026, 8, 10)),  # last sale + 3 months is the day before: 2 months win
        (date(2026, 5, 10), date(2026, 8, 10)),  # the same day
        (date(2026, 5, 11), date(2026, 8, 11)),  # the day after: the sale clock wins
    ],
)
def test_r7_receivers_deadline_is_r5_2_later_of(owner, manager, teammate, last_sale, deadline):
    c = owned_customer(owner, since=date(2026, 4, 1), sold=last_sale is not None, last_sale_on=last_sale)
    h = open_transfer(owner, manager, [c], day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    services.handover_complete(handover=h, manager=manager, now=at(DAY, 16))
    c = reload(c)
    assert (c.deadline, c.sold_in_ownership, c.last_sale_on) == (deadline, False, last_sale)


def test_r7_2_transfer_completion_keeps_the_account_and_releases_the_hold(owner, manager, teammate, book):
    h = open_transfer(owner, manager, [book[0]], day=DAY, receiver=teammate)
    services.handover_confirm(handover=h, user=teammate)
    services.handover_complete(handover=h, manager=manager)
    owner.refresh_from_db()
    assert owner.is_active and reload(book[0]).owner == teammate and reload(book[1]).owner == owner
    assert reload(h.hold).released_at is not None
    assert Notification.objects.filter(recipient=owner, text__contains="complete").exists()


def test_r7_1_completion_waits_for_every_item(owner, manager, teammate, book):
    h = open_resignation(owner, manager, day=DAY)
    services.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items_of(h)], receiver=teammate)
    services.handover_confirm(handover=h, user=teammate, item_ids=[items_of(h)[0].pk])
    before = snapshot()
    with pytest.raises(DomainError, match="2 customers are not yet"):
        services.handover_complete(handover=h, manager=manager)
    assert snapshot() == before
    assert reload(owner).is_active


@pytest.mark.parametrize("who", ["owner", "teammate", "finance", "other_manager"])
def test_r7_1_only_a_manager_completes(request, owner, manager, teammate, book, who):
    h = open_resignation(owner, manager, day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.handover_complete(handover=h, manager=request.getfixturevalue(who))
    assert snapshot() == before


def test_r7_1_a_customer_gained_meanwhile_must_join_before_completion(
    owner, manager, teammate, finance, book, department
):
    """R5.3 during the resignation: an order the leaver recorded before losing the customer is
    confirmed; the leaver owns it again and the account cannot close until it is handed over."""
    lost = owned_customer(owner, since=date(2026, 4, 1))
    order = record(lost, owner, "3000.00", day=date(2026, 5, 1))
    ownership.release_note_write(customer=lost, user=owner, situation="s", contact_details="c", communication_level="l")
    ownership.customer_release(customer=lost, user=owner, now=at(date(2026, 5, 2)))
    h = open_resignation(owner, manager, day=DAY)
    confirm(order, finance, day=DAY)
    assert reload(lost).owner == owner and reload(lost).handover_ref is None
    send_and_confirm(h, manager, teammate, day=DAY)
    before = snapshot()
    with pytest.raises(DomainError, match="still owns 1 customers"):
        services.handover_complete(handover=h, manager=manager)
    assert snapshot() == before and reload(owner).is_active
    assert services.handover_add_customers(handover=h, manager=manager) == 1
    assert reload(h).all_done_at is None
    added = HandoverItem.objects.get(handover=h, customer=lost)
    services.handover_send(handover=h, manager=manager, item_ids=[added.pk], receiver=teammate)
    services.handover_confirm(handover=h, user=teammate)
    services.handover_complete(handover=h, manager=manager)
    assert reload(lost).owner == teammate and not reload(owner).is_active


def test_r7_1_completion_refuses_a_receiver_who_left_meanwhile(owner, manager, teammate, book):
    h = open_resignation(owner, manager, day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    teammate.is_active = False
    teammate.save(update_fields=["is_active"])
    before = snapshot()
    with pytest.raises(DomainError, match="can no longer receive"):
        services.handover_complete(handover=h, manager=manager)
    assert snapshot() == before


def test_r7_completion_makes_the_receiver_a_helper_of_the_leavers_open_requests(owner, manager, teammate, book):
    from service import services as service_services
    from service.models import RequestHelper

    req = service_services.request_log(
        user=owner,
        data=service_services.RequestInput(kind="complaint", channel="phone", text="交货延迟"),
        customer=book[0],
    )
    h = open_transfer(owner, manager, [book[0]], day=DAY, receiver=teammate)
    services.handover_confirm(handover=h, user=teammate)
    services.handover_complete(handover=h, manager=manager)
    req.refresh_from_db()
    assert req.responsible == owner  # R6.1: never rewritten
    assert RequestHelper.objects.filter(request=req, user=teammate, added_by=manager).exists()


def test_r7_everything_travels_visits_orders_contacts_and_the_next_follow_up(
    client_for, owner, manager, teammate, book
):
    from followups.services import VisitInput, visit_record

    c = book[0]
    visit_record(
        customer=c,
        user=owner,
        data=VisitInput(
            visited_at=at(DAY - timedelta(days=2), 10),
            channel="visit",
            discussed="ZZ_LEAVER_VISIT",
            next_follow_up_on=DAY + timedelta(days=3),
        ),
        now=at(DAY - timedelta(days=2), 11),
    )
    contacts = list(c.contacts.values_list("pk", flat=True))
    h = open_transfer(owner, manager, [c], day=DAY, receiver=teammate)
    services.handover_confirm(handover=h, user=teammate)
    services.handover_complete(handover=h, manager=manager)
    c = reload(c)
    assert c.next_follow_up_on == DAY + timedelta(days=3)
    assert list(c.contacts.values_list("pk", flat=True)) == contacts
    page = client_for(teammate).get(f"/customers/{c.pk}/").content.decode()
    assert "ZZ_LEAVER_VISIT" in page
    assert "宁波德润精密机械有限公司" in page
    order = c.orders.get()
    assert client_for(teammate).get(f"/sales/orders/{order.pk}/").status_code == 200


def test_r7_a_failure_half_way_leaves_nothing_half_moved(owner, manager, teammate, book, monkeypatch):
    h = open_resignation(owner, manager, day=DAY)
    write_all_notes(h, day=DAY)
    send_and_confirm(h, manager, teammate, day=DAY)
    before = snapshot()

    def boom(**kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services, "user_deactivate", boom)
    with pytest.raises(RuntimeError):
        services.handover_complete(handover=h, manager=manager)
    assert snapshot() == before
    assert all(reload(c).owner == owner and reload(c).handover_ref == h.pk for c in book)
    assert reload(owner).is_active and reload(h).state == State.OPEN


# --- Cancelling -----------------------------------------------------------------------------------------


def test_r7_cancel_gives_the_customers_back_and_a_passed_deadline_applies_next_night(owner, manager, teammate):
    due = owned_customer(owner, since=date(2026, 3, 1))  # deadline 1 May: passed
    h = open_transfer(owner, manager, [due], day=DAY, receiver=teammate)
    nightly_release(as_of=DAY + timedelta(days=1), now=at(DAY + timedelta(days=1), 1))
    assert reload(due).owner == owner  # held by the handover
    with pytest.raises(DomainError):
        services.handover_cancel(handover=h, manager=manager, reason="  ")
    services.handover_cancel(handover=h, manager=manager, reason="员工留任", now=at(DAY + timedelta(days=1), 9))
    due = reload(due)
    assert (due.owner, due.handover_ref, due.deadline) == (owner, None, date(2026, 5, 1))
    assert OwnershipEvent.objects.get(customer=due, action=Action.HANDOVER_CANCELLED).actor == manager
    assert reload(h).state == State.CANCELLED and reload(h.hold).released_at is not None
    assert Notification.objects.filter(recipient=teammate, text__contains="员工留任").exists()
    nightly_release(as_of=DAY + timedelta(days=2), now=at(DAY + timedelta(days=2), 1))
    assert reload(due).owner is None
    with pytest.raises(DomainError):
        services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], to_pool=True)


# --- While a handover is open -------------------------------------------------------------------------


def test_r7_held_customers_are_not_released_warned_assigned_or_released_by_hand(owner, manager, teammate):
    due = owned_customer(owner, since=date(2026, 3, 1))  # deadline 1 May
    soon = owned_customer(owner, since=date(2026, 4, 12))  # deadline 12 Jun: warned on 10 Jun
    ownership.release_note_write(customer=soon, user=owner, situation="s", contact_details="c", communication_level="l")
    h = open_transfer(owner, manager, [due, soon], day=DAY)
    run = nightly_release(as_of=DAY, now=at(DAY, 1)).run
    assert (run.released, run.warned) == (0, 0)
    assert reload(due).owner == owner
    for call in (
        lambda: ownership.customer_release(customer=soon, user=owner),
        lambda: ownership.customer_mark_problem(customer=due, user=manager, reason="拖欠"),
        lambda: ownership.customer_extend_deadline(
            customer=soon, manager=manager, new_deadline=date(2026, 7, 1), reason="大单"
        ),
        lambda: ownership.customer_assign(customer=due, manager=manager, to_user=teammate, relationship=False),
    ):
        with pytest.raises(DomainError, match="in a handover"):
            call()
    from ownership.selectors import release_preview

    assert sum(day.total for day in release_preview(user=manager, now=at(DAY, 9))) == 0
    assert reload(h).state == State.OPEN


def test_r7_a_held_customer_is_never_taken_even_if_ownerless():
    """The claim's conditional UPDATE excludes held customers (defence in depth: a held customer is
    owned, so the owner check refuses first)."""
    from tests.factories import DepartmentFactory

    dept = DepartmentFactory()
    c = pool_customer(dept)
    Customer.objects.filter(pk=c.pk).update(handover_ref=1)
    claimer = UserFactory(role=roles.SALESPERSON, department=dept)
    with pytest.raises(ownership.AlreadyTaken):
        ownership.customer_claim(customer=c, user=claimer)
    assert reload(c).owner is None


def test_r5_3_during_a_handover_someone_elses_first_order_leaves_the_owner(owner, manager, teammate, finance):
    c = owned_customer(teammate, since=date(2026, 4, 1))
    order = record(c, teammate, "5000.00", day=date(2026, 5, 1))
    ownership.release_note_write(customer=c, user=teammate, situation="s", contact_details="c", communication_level="l")
    ownership.customer_release(customer=c, user=teammate, now=at(date(2026, 5, 2)))
    Customer.objects.filter(pk=c.pk).update(owner=owner, owner_basis=Basis.CLAIMED, owned_since=date(2026, 5, 3))
    h = open_transfer(owner, manager, [c], day=DAY)
    confirm(order, finance, day=DAY)
    c = reload(c)
    assert (c.owner, c.handover_ref, c.last_sale_on) == (owner, h.pk, DAY)
    assert not OwnershipEvent.objects.filter(customer=c, action=Action.FIRST_ORDER).exists()
    assert Notification.objects.filter(
        recipient=manager, kind="first_order_unowned", text__contains="handover"
    ).exists()


def test_r5_3_finances_confirmation_step_says_a_held_customer_stays(owner, manager, teammate):
    """The preview finance reads before saving a first payment mirrors the service."""
    from ownership.selectors import sale_effect

    c = owned_customer(owner, since=date(2026, 5, 1))
    open_transfer(owner, manager, [c], day=DAY)
    effect = sale_effect(customer=reload(c), salesperson=teammate, day=DAY)
    assert (effect.first_order, effect.new_owner, effect.owner_blocked) == (True, None, True)
    assert sale_effect(customer=reload(c), salesperson=owner, day=DAY).new_owner == owner


def test_r5_3_the_leavers_own_first_order_during_a_handover(owner, manager, finance):
    c = owned_customer(owner, since=date(2026, 5, 1))
    order = record(c, owner, "5000.00", day=date(2026, 5, 5))
    h = open_transfer(owner, manager, [c], day=DAY)
    confirm(order, finance, day=DAY)
    c = reload(c)
    assert (c.owner, c.owner_basis, c.handover_ref) == (owner, Basis.FIRST_ORDER, h.pk)


# --- Reads ----------------------------------------------------------------------------------------------


def test_who_sees_which_handover_and_item(
    owner, manager, teammate, receiver2, bystander, outsider, finance, admin_user, book
):
    h = open_resignation(owner, manager, day=DAY)
    items = items_of(h)
    services.handover_send(handover=h, manager=manager, item_ids=[items[0].pk], receiver=teammate)
    services.handover_send(handover=h, manager=manager, item_ids=[items[1].pk], receiver=receiver2)
    for user in (owner, manager, teammate, receiver2, admin_user):
        assert handovers_visible_to(user).filter(pk=h.pk).exists(), user
    for user in (bystander, outsider, finance):
        assert not handovers_visible_to(user).filter(pk=h.pk).exists(), user
    assert items_visible_to(owner, h).count() == 3 and items_visible_to(manager, h).count() == 3
    assert list(items_visible_to(teammate, h)) == [items[0]]
    assert list(items_visible_to(receiver2, h)) == [items[1]]


def test_receivers_list_skips_the_leaver_the_leaving_and_the_inactive(owner, manager, teammate, department):
    gone = UserFactory(role=roles.SALESPERSON, department=department, is_active=False)
    leaving = UserFactory(role=roles.SALESPERSON, department=department)
    open_resignation(leaving, manager, day=DAY)
    found = set(receivers_for(user=manager, department_id=department.pk, leaver_id=owner.pk))
    assert teammate in found and not ({owner, gone, leaving} & found)


def test_counts_per_department_for_the_dashboard(owner, manager, teammate, book, admin_user):
    h = open_resignation(owner, manager, day=DAY)
    services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], to_pool=True)
    rows = open_counts_by_department(manager)
    assert rows == [
        {
            "department_id": owner.department_id,
            "department": str(owner.department),
            "handovers": 1,
            "items": 3,
            "items_done": 1,
        }
    ]
    assert open_counts_by_department(teammate) == []
    assert open_counts_by_department(admin_user) == rows


def test_r8_3_finance_sees_the_hold_and_its_progress_on_the_statement(owner, manager, teammate, finance, book):
    h = open_resignation(owner, manager, day=DAY)
    services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], to_pool=True)
    lines = commission_statement(user=finance, month=DAY)
    line = next(line for line in lines if line.salesperson == owner)
    assert line.on_hold
    assert line.holds[0].progress == f"Handover #{h.pk} (Resignation): 1 of 3 customers confirmed"
    assert hold_progress([h.hold]) == {h.hold_id: line.holds[0].progress}


def test_a_handover_hold_is_not_released_by_hand(owner, manager, book):
    from sales.services import commission_hold_release

    h = open_resignation(owner, manager, day=DAY)
    with pytest.raises(DomainError, match="handover"):
        commission_hold_release(hold=h.hold, user=manager)
    assert reload(h.hold).released_at is None


# --- The daily reminder -----------------------------------------------------------------------------------


def test_r7_1_leavers_are_reminded_daily_until_the_notes_are_written(owner, manager, book):
    h = open_resignation(owner, manager, day=DAY)
    first = DAY + timedelta(days=1)
    assert services.handovers_nag_missing_notes(as_of=first, now=at(first, 9)) == 1
    assert services.handovers_nag_missing_notes(as_of=first, now=at(first, 9)) == 0  # safe twice
    nag = Notification.objects.get(recipient=owner, kind="handover_nag")
    assert "3 customers" in nag.text
    out = StringIO()
    second = first + timedelta(days=1)
    call_command("nag_handover_notes", "--as-of", second.isoformat(), stdout=out)
    assert "Reminded 1" in out.getvalue()
    write_all_notes(h, day=second)
    third = second + timedelta(days=1)
    assert services.handovers_nag_missing_notes(as_of=third, now=at(third, 9)) == 0
    assert Notification.objects.filter(recipient=owner, kind="handover_nag").count() == 2


def test_the_reminder_task_calls_the_service(owner, manager, book):
    from handovers.tasks import nag_missing_notes

    open_resignation(owner, manager, day=DAY)
    assert nag_missing_notes.delay((DAY + timedelta(days=1)).isoformat()).get() == 1
    assert nag_missing_notes.delay((DAY + timedelta(days=1)).isoformat()).get() == 0


def test_r7_1_a_leaver_without_customers_is_ready_at_once(department, manager):
    leaver = UserFactory(role=roles.SALESPERSON, department=department)
    h = open_resignation(leaver, manager, day=DAY)
    assert reload(h).all_done_at is not None
    assert Notification.objects.filter(recipient=manager, kind="handover").count() == 1
    services.handover_complete(handover=h, manager=manager, now=at(DAY, 10))
    assert not reload(leaver).is_active and reload(h.hold).released_at == at(DAY, 10)


@pytest.mark.parametrize("target", ["owner", "outsider", "manager"])
def test_r7_2_a_transfer_named_to_a_wrong_receiver_opens_nothing(request, owner, manager, book, target):
    before = snapshot()
    with pytest.raises(DomainError):
        open_transfer(owner, manager, [book[0]], day=DAY, receiver=request.getfixturevalue(target))
    assert snapshot() == before
