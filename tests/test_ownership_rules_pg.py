"""Races of issue 11, for real on PostgreSQL (threads on their own connections): the nightly
warning step against a release and claim (R5.10), simultaneous registrations sharing a phone or a
credit code (R5.1).

Each test forces the interleaving that used to go wrong: it holds one transaction at the exact
statement where the other must slip in, lets the other run until it finishes or waits on a lock,
then lets the first go on.
"""

import threading
import time
from datetime import date, timedelta

import psycopg
import pytest
from django.db import connection, connections, transaction

from crm.dates import local_today
from customers.models import Customer
from customers.services import DuplicateCustomer, customer_find_duplicate
from notifications.models import Notification
from ownership import services
from ownership.models import OwnershipEvent
from ownership.nightly import nightly_release

from .factories import make_credit_code
from .helpers import at, owned_customer, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True)


def run_until_done_or_waiting(target, timeout: float = 15) -> threading.Thread:
    """Start `target` in a thread with its own connection and return once it has finished or is
    waiting on a lock held by the caller."""
    errors: list[BaseException] = []

    def work():
        try:
            target()
        except BaseException as exc:  # reported by the caller through .errors
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    deadline = time.monotonic() + timeout
    with _other_connection() as watcher:
        while thread.is_alive() and time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.02)
    assert thread.is_alive() or not errors, errors
    thread.waited = thread.is_alive()  # type: ignore[attr-defined]
    return thread


class PauseBefore:
    """A database execute wrapper that, the first time a statement beginning with `start` and
    containing `marker` is about to run on this connection, calls `meanwhile()` first."""

    def __init__(self, start: str, marker: str, meanwhile):
        self.start = start
        self.marker = marker
        self.meanwhile = meanwhile
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        markers = (self.marker,) if isinstance(self.marker, str) else self.marker
        if not self.fired and sql.lstrip().startswith(self.start) and all(m in sql for m in markers):
            self.fired = True
            self.meanwhile()
        return execute(sql, params, many, context)


# --- R5.10: the warning step marks only what it warned about -----------------------------------------


def test_r5_10_a_customer_released_and_claimed_while_the_warnings_run_is_not_marked_warned(owner, teammate):
    """Owner's deadline is 1 Mar; the run as of 25 Feb warns it. Between the run's reading of the
    customers to warn and its marking them warned, the owner releases the customer and the
    teammate claims it (deadline 25 Apr). The teammate's deadline must not be marked warned: it was
    never warned about it."""
    c = owned_customer(owner, since=date(2026, 1, 1))
    services.release_note_write(
        customer=c, user=owner, situation="暂无需求", contact_details="王经理", communication_level="已报价"
    )
    claimed: list[threading.Thread] = []

    def release_and_claim():
        services.customer_release(customer=reload(c), user=owner, now=at(date(2026, 2, 25), 2))
        services.customer_claim(customer=reload(c), user=teammate, now=at(date(2026, 2, 25), 3))

    pause = PauseBefore(
        "UPDATE", '"warned_for_deadline" = ', lambda: claimed.append(run_until_done_or_waiting(release_and_claim))
    )
    with connection.execute_wrapper(pause):
        result = nightly_release(as_of=date(2026, 2, 25), now=at(date(2026, 2, 25), 1))
    claimed[0].join(30)
    assert not claimed[0].errors, claimed[0].errors  # type: ignore[attr-defined]
    c = reload(c)
    assert c.owner == teammate and c.deadline == date(2026, 4, 25)
    assert c.warned_for_deadline is None  # the teammate will be warned before 25 Apr
    assert result.run.warned == 1
    assert Notification.objects.filter(recipient=owner, kind="warning").count() == 1
    assert not Notification.objects.filter(recipient=teammate, kind="warning").exists()
    assert claimed[0].waited  # type: ignore[attr-defined]  # the release waited for the run's lock


# --- R5.1: simultaneous registrations sharing a phone or a credit code --------------------------------


def _register(user, name: str, phone: str, code: str | None = None):
    return services.customer_register(
        data={"name": name, "credit_code": code, "source": "media", "industry": "electronics"},
        contacts=[{"name": "王经理", "phone": phone}],
        user=user,
    )


def _first_held_at_its_insert(first, second) -> tuple[list, threading.Thread]:
    """Run `first` in this thread; when it is about to insert its customer (its duplicate check
    done, nothing committed), run `second` until it finishes or waits on a lock."""
    held: list[threading.Thread] = []
    pause = PauseBefore("INSERT", '"customers_customer"', lambda: held.append(run_until_done_or_waiting(second)))
    with connection.execute_wrapper(pause):
        results = [first()]
    held[0].join(30)
    return results, held[0]


@pytest.mark.parametrize("phones", [("13800138000", "13800138000"), ("138 0013 8000", "+86 138-0013-8000")])
def test_r5_1_two_registrations_with_the_same_phone_at_once_register_one(owner, teammate, phones):
    outcome: list = []

    def second():
        try:
            outcome.append(_register(teammate, "杭州恒通贸易有限公司", phones[1]))
        except services.DomainError as exc:
            outcome.append(exc)

    (first,), thread = _first_held_at_its_insert(lambda: _register(owner, "深圳市华信科技有限公司", phones[0]), second)
    assert thread.waited  # type: ignore[attr-defined]  # the second waited for the first
    assert isinstance(outcome[0], DuplicateCustomer), outcome
    assert outcome[0].duplicate.customer == first and outcome[0].duplicate.matched_on == "phone"
    assert Customer.objects.count() == 1 and OwnershipEvent.objects.count() == 1


def test_r5_1_two_registrations_with_the_same_credit_code_at_once_name_the_owner(owner, teammate):
    """The unique index alone would stop the second with "registered a moment ago"; serialised on
    the code, it finds the first and names its owner, as R5.1 says."""
    code = make_credit_code()
    outcome: list = []

    def second():
        try:
            outcome.append(_register(teammate, "杭州恒通贸易有限公司", "13900139000", code.lower()))
        except services.DomainError as exc:
            outcome.append(exc)

    (first,), _thread = _first_held_at_its_insert(
        lambda: _register(owner, "深圳市华信科技有限公司", "13800138000", code), second
    )
    assert isinstance(outcome[0], DuplicateCustomer), outcome
    assert outcome[0].duplicate.customer == first and outcome[0].duplicate.matched_on == "credit_code"


def test_r5_1_an_import_waits_for_a_registration_being_written_and_finds_it(owner, department):
    """The import's re-check runs under the import lock (collection.services._import_run): it must
    not run while a registration with the same phone is between its check and its commit."""
    found: list = []

    def import_recheck():
        with transaction.atomic():
            services.customers_import_lock()
            found.append(customer_find_duplicate(name="宁波德润精密机械有限公司", phones=["13800138000"]))

    (first,), thread = _first_held_at_its_insert(
        lambda: _register(owner, "深圳市华信科技有限公司", "13800138000"), import_recheck
    )
    assert thread.waited  # type: ignore[attr-defined]
    assert found[0] is not None and found[0].customer == first


def test_r5_1_different_phones_register_side_by_side(owner, teammate):
    outcome: list = []
    (first,), thread = _first_held_at_its_insert(
        lambda: _register(owner, "深圳市华信科技有限公司", "13800138000"),
        lambda: outcome.append(_register(teammate, "杭州恒通贸易有限公司", "13900139000")),
    )
    assert not thread.waited  # type: ignore[attr-defined]  # nothing in common: no waiting
    assert outcome[0].owner == teammate and first.owner == owner


# --- R5.2: a claim racing a reversal on the same pool customer -----------------------------------------


def test_r5_2_a_claim_racing_a_reversal_gets_the_clock_of_the_sales_left(owner, teammate, finance, department):
    """A pool customer whose only sale (today) is being reversed while a salesperson claims it: the
    claim's deadline must follow the sales left (2 months, no sale), not the sale it read before the
    reversal committed (3 months from it)."""
    from sales.services import payment_reverse

    from .sales_helpers import confirm, record

    today = local_today()
    c = owned_customer(owner, since=today - timedelta(days=5))
    payment = confirm(record(c, owner, "8000.00", day=today), finance, day=today).payment
    services.release_note_write(
        customer=c, user=owner, situation="在谈", contact_details="王经理", communication_level="已报价"
    )
    services.customer_release(customer=reload(c), user=owner)
    assert reload(c).last_sale_on == today

    held: list[threading.Thread] = []

    def reverse():
        payment_reverse(payment=payment, user=finance, reason="银行退票")

    pause = PauseBefore("UPDATE", '"owner_id" IS NULL', lambda: held.append(run_until_done_or_waiting(reverse)))
    with connection.execute_wrapper(pause):
        services.customer_claim(customer=reload(c), user=teammate)
    held[0].join(30)
    assert not held[0].errors, held[0].errors  # type: ignore[attr-defined]
    c = reload(c)
    assert (c.owner, c.last_sale_on, c.sold_in_ownership) == (teammate, None, False)
    assert c.deadline == services.compute_deadline(owned_since=today, sold_in_ownership=False, last_sale_on=None)


# --- Lock order: a claim and a first-order confirmation of the same salesperson ---------------------------


def test_r5_7_a_claim_meeting_a_first_order_confirmation_of_the_claimer_does_not_deadlock(owner, finance, department):
    """The owner recorded an order, released the customer and claims it again at the moment finance
    confirms that order (R5.3 reads the salesperson's active flag under a lock on its user row, after
    the customer's). Both lock the customer before the salesperson: the claim waits, then finds the
    customer is the owner's by its first order."""
    from sales.services import payment_confirm

    from .sales_helpers import record

    today = local_today()
    c = owned_customer(owner, since=today - timedelta(days=5))
    order = record(c, owner, "8000.00", day=today)
    services.release_note_write(
        customer=c, user=owner, situation="在谈", contact_details="王经理", communication_level="已报价"
    )
    services.customer_release(customer=reload(c), user=owner)
    # A release is voluntary: no cool-off in this department, so the claim itself may go through.
    from ownership.models import PoolSettings

    PoolSettings.objects.update_or_create(department=department, defaults={"reclaim_cooloff_days": 0})
    outcome: list = []

    def claim():
        try:
            outcome.append(services.customer_claim(customer=reload(c), user=owner))
        except services.DomainError as exc:
            outcome.append(exc)

    held: list[threading.Thread] = []
    # Before R5.3 locks the salesperson's user row (after the customer's and the order's).
    pause = PauseBefore(
        "SELECT",
        ('FROM "accounts_user"', "FOR NO KEY UPDATE"),
        lambda: held.append(run_until_done_or_waiting(claim)),
    )
    with connection.execute_wrapper(pause):
        payment_confirm(order=order, user=finance, amount=order.amount, received_on=today)
    held[0].join(30)
    assert not held[0].errors, held[0].errors  # type: ignore[attr-defined]
    assert isinstance(outcome[0], services.AlreadyTaken), outcome
    c = reload(c)
    assert (c.owner, c.owner_basis) == (owner, "first_order")
