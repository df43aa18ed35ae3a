"""R7 handovers racing the other writers of ownership, for real on PostgreSQL (threads on their
own connections): a completion against a pool claim, against a finance confirmation that would
make someone else the first-order owner (R5.3), and against the nightly release; an opening
against the nightly release. Each ends consistent, with one history row per change."""

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from accounts import roles
from crm.dates import local_today
from crm.errors import DomainError
from customers.models import Basis, ReleaseReason
from handovers import services
from handovers.models import Handover, HandoverItem, State
from ownership import services as ownership
from ownership.models import Action, OwnershipEvent
from ownership.nightly import nightly_release
from sales.models import Order
from sales.services import payment_confirm

from .factories import UserFactory
from .handover_helpers import items_of, open_resignation, open_transfer
from .helpers import at, owned_customer, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _wait_until_blocked(timeout: float = 10) -> None:
    """Wait until some backend waits on a row lock (the racing statement reached the lock)."""
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


def _race(leader, follower, *, blocks: bool = True) -> dict:
    """Run `leader` in a transaction held open until `follower` has started (and, if `blocks`,
    waits on a row lock the leader holds); then let the leader commit."""
    go = threading.Event()
    out: dict = {}

    def lead():
        try:
            with transaction.atomic():
                out["leader"] = leader()
                go.wait(15)
        except Exception as exc:  # pragma: no cover - reported by the assertions
            out["leader"] = exc
        finally:
            connections.close_all()

    def follow():
        try:
            out["follower"] = follower()
        except Exception as exc:
            out["follower"] = exc
        finally:
            connections.close_all()

    t1 = threading.Thread(target=lead)
    t1.start()
    time.sleep(0.4)  # the leader holds its locks
    t2 = threading.Thread(target=follow)
    t2.start()
    if blocks:
        _wait_until_blocked()
    else:
        t2.join(15)
    go.set()
    t1.join(30)
    t2.join(30)
    return out


def actions(customer) -> list[str]:
    return list(OwnershipEvent.objects.filter(customer=customer).order_by("at", "id").values_list("action", flat=True))


@pytest.fixture
def receiver(department):
    return UserFactory(username="wanglei", display_name="王磊", role=roles.SALESPERSON, department=department)


def test_r7_completion_against_a_pool_claim(owner, manager, teammate, receiver):
    """A customer sent to the pool is claimable only once the completion has committed: a claim
    while it runs is told the customer is taken; one after it wins."""
    today = local_today()
    c = owned_customer(owner, since=today - timedelta(days=20))
    h = open_transfer(owner, manager, [c], day=today)
    services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], to_pool=True)

    def claim():
        try:
            ownership.customer_claim(customer=c, user=teammate)
            return "won"
        except ownership.AlreadyTaken:
            return "taken"

    out = _race(lambda: services.handover_complete(handover=h, manager=manager), claim, blocks=False)
    assert out["follower"] == "taken"
    assert reload(h).state == State.COMPLETED
    c = reload(c)
    assert (c.owner, c.release_reason, c.handover_ref) == (None, ReleaseReason.HANDOVER, None)
    assert claim() == "won"
    assert actions(c) == [Action.HANDOVER_OPENED, Action.RELEASED, Action.CLAIMED]


@pytest.mark.parametrize("first", ["completion", "confirmation"])
def test_r7_completion_against_a_first_order_for_someone_else(owner, manager, teammate, receiver, finance, first):
    """R5.3 against R7: the teammate's order (recorded while it owned the customer) gets its first
    payment while the owner's transfer completes. Completion first: the receiver gets the customer,
    then the first order gives it to the teammate. Confirmation first: the handover holds the
    customer (the owner stays, managers told), then the receiver gets it with the sale clock."""
    today = local_today()
    c = owned_customer(owner, since=today - timedelta(days=20))
    order = Order.objects.create(
        customer=c,
        salesperson=teammate,
        amount=Decimal("8000.00"),
        deal_date=today - timedelta(days=30),
        description="工业控制器",
        created_at=at(today - timedelta(days=30)),
    )
    h = open_transfer(owner, manager, [c], day=today, receiver=receiver)
    services.handover_confirm(handover=h, user=receiver)

    def complete():
        return services.handover_complete(handover=h, manager=manager)

    def pay():
        return payment_confirm(order=order, user=finance, amount=Decimal("1000.00"), received_on=today)

    leader, follower = (complete, pay) if first == "completion" else (pay, complete)
    out = _race(leader, follower)
    assert not isinstance(out["leader"], Exception), out
    assert not isinstance(out["follower"], Exception), out
    c = reload(c)
    assert reload(h).state == State.COMPLETED and c.last_sale_on == today and c.handover_ref is None
    if first == "completion":
        assert (c.owner, c.owner_basis) == (teammate, Basis.FIRST_ORDER)
        assert actions(c) == [Action.HANDOVER_OPENED, Action.HANDED_OVER, Action.FIRST_ORDER]
        first_order = OwnershipEvent.objects.get(customer=c, action=Action.FIRST_ORDER)
        assert (first_order.from_owner, first_order.to_owner) == (receiver, teammate)
    else:
        assert (c.owner, c.owner_basis) == (receiver, Basis.HANDED_OVER)
        # The sale of today carries over: 3 months after it, later than 2 months from today.
        from crm.dates import add_months

        assert c.deadline == add_months(today, 3)
        assert actions(c) == [Action.HANDOVER_OPENED, Action.HANDED_OVER]


@pytest.mark.parametrize("first", ["opening", "nightly"])
def test_r7_opening_against_the_nightly_release_of_the_same_customer(owner, manager, first):
    """The owner's customer is due tonight while its resignation opens. Nightly first: released,
    and the resignation holds only the rest. Opening first: held, and the nightly run skips it."""
    today = local_today()
    due = owned_customer(owner, since=today - timedelta(days=70))  # deadline passed
    other = owned_customer(owner, since=today - timedelta(days=5))

    def open_():
        return open_resignation(owner, manager, day=today)

    def night():
        return nightly_release(as_of=today, now=at(today, 1)).run

    leader, follower = (open_, night) if first == "opening" else (night, open_)
    out = _race(leader, follower)
    assert not isinstance(out["leader"], Exception), out
    assert not isinstance(out["follower"], Exception), out
    h = Handover.objects.get()
    held = set(HandoverItem.objects.filter(handover=h).values_list("customer_id", flat=True))
    if first == "opening":
        assert held == {due.pk, other.pk}
        assert (reload(due).owner, reload(due).handover_ref) == (owner, h.pk)
        assert actions(due) == [Action.HANDOVER_OPENED]
    else:
        assert held == {other.pk}
        assert (reload(due).owner, reload(due).handover_ref) == (None, None)
        assert actions(due) == [Action.RELEASED]
    assert actions(other) == [Action.HANDOVER_OPENED]


def test_r7_completion_against_the_nightly_release(owner, manager, receiver):
    """Two customers of the handover have passed their deadline: the nightly job running while the
    completion commits releases neither; the receiver gets one with a fresh deadline, the pool the
    other, once."""
    today = local_today()
    kept = owned_customer(owner, since=today - timedelta(days=70))
    pooled = owned_customer(owner, since=today - timedelta(days=75))
    free = owned_customer(receiver, since=today - timedelta(days=80))  # due, not in the handover
    h = open_transfer(owner, manager, [kept, pooled], day=today)
    items = {i.customer_id: i for i in items_of(h)}
    services.handover_send(handover=h, manager=manager, item_ids=[items[kept.pk].pk], receiver=receiver)
    services.handover_send(handover=h, manager=manager, item_ids=[items[pooled.pk].pk], to_pool=True)
    services.handover_confirm(handover=h, user=receiver)
    barrier = threading.Barrier(2)
    out: dict = {}

    def worker(name, fn):
        try:
            barrier.wait(10)
            out[name] = fn()
        except Exception as exc:
            out[name] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(
            target=worker, args=("complete", lambda: services.handover_complete(handover=h, manager=manager))
        ),
        threading.Thread(target=worker, args=("nightly", lambda: nightly_release(as_of=today, now=at(today, 1)).run)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(isinstance(v, Exception) for v in out.values()), out
    kept, pooled, free = reload(kept), reload(pooled), reload(free)
    assert (kept.owner, kept.deadline) == (
        receiver,
        ownership.compute_deadline(owned_since=today, sold_in_ownership=False, last_sale_on=None),
    )
    assert actions(kept) == [Action.HANDOVER_OPENED, Action.HANDED_OVER]
    assert (pooled.owner, pooled.release_reason) == (None, ReleaseReason.HANDOVER)
    assert actions(pooled) == [Action.HANDOVER_OPENED, Action.RELEASED]
    assert free.owner is None and actions(free) == [Action.RELEASED]
    assert out["nightly"].released == 1


def test_r7_two_managers_opening_the_same_resignation_open_one(owner, manager, admin_user, department):
    owned_customer(owner, since=local_today() - timedelta(days=5))
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def open_(i, user):
        try:
            barrier.wait(10)
            results[i] = open_resignation(owner, user, day=local_today())
        except DomainError as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_, args=(i, u)) for i, u in enumerate((manager, admin_user))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(isinstance(r, Handover) for r in results) == 1, results
    assert sum(isinstance(r, DomainError) for r in results) == 1, results
    assert Handover.objects.filter(state=State.OPEN).count() == 1


def test_r7_the_database_refuses_to_edit_handover_events(owner, manager):
    from django.db.utils import DatabaseError

    owned_customer(owner, since=date(2026, 5, 1))
    open_resignation(owner, manager, day=local_today())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE handovers_handoverevent SET text = 'x'")


def test_r7_1_the_daily_reminder_run_twice_at_once_reminds_once(owner, manager):
    """Two workers (or two beats) run the reminder at the same moment while a note is being saved:
    both wait on the handover, then one reminds and the other finds it reminded today."""
    from notifications.models import Notification

    owned_customer(owner, since=local_today() - timedelta(days=5))
    h = open_resignation(owner, manager, day=local_today())
    results: list = []
    holding, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                list(Handover.objects.filter(pk=h.pk).select_for_update())
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    def run():
        try:
            results.append(services.handovers_nag_missing_notes())
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(30)
    threads += [threading.Thread(target=run) for _ in range(2)]
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= 2:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the two runs never both waited")
    release.set()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 1], results
    assert Notification.objects.filter(recipient=owner, kind="handover_nag").count() == 1
