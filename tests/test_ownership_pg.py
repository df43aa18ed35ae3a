"""Concurrency and database-enforced rules, for real on PostgreSQL (threads with their own
connections, transactional_db): R5.7 claims, the exclusive nightly job, R5.9 append-only
history, and a finance confirmation racing the nightly release (R5.3)."""

import threading
import time
from datetime import date

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from accounts import roles
from customers.models import Basis, Customer
from customers.services import customer_search_q
from ownership import services
from ownership.models import Action, OwnershipEvent
from ownership.nightly import LOCK_KEY, nightly_release
from ownership.selectors import pool_visible_to

from .factories import UserFactory
from .helpers import at, owned_customer, pool_customer, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_r5_7_of_50_simultaneous_claims_exactly_one_wins(department, attempt):
    claimers = [UserFactory(role=roles.SALESPERSON, department=department) for _ in range(50)]
    customer = pool_customer(department)

    def claim(i):
        try:
            services.customer_claim(customer=customer, user=claimers[i])
            return "won"
        except services.AlreadyTaken:
            return "taken"

    results = run_threads(50, claim)
    assert results.count("won") == 1, results
    assert results.count("taken") == 49, results
    winner = claimers[results.index("won")]
    assert reload(customer).owner == winner
    assert OwnershipEvent.objects.filter(customer=customer).count() == 1


def test_r5_8_one_claimers_simultaneous_claims_respect_the_daily_cap(department, owner):
    from ownership.models import PoolSettings

    PoolSettings.objects.create(department=department, daily_claim_cap=3)
    customers = [pool_customer(department) for _ in range(10)]

    def claim(i):
        try:
            services.customer_claim(customer=customers[i], user=owner)
            return "won"
        except services.ClaimRefused:
            return "refused"

    results = run_threads(10, claim)
    assert results.count("won") == 3, results
    assert Customer.objects.filter(owner=owner).count() == 3


def test_nightly_runs_at_once_act_once(owner, teammate):
    due = [owned_customer(owner if i % 2 else teammate, since=date(2026, 1, 1)) for i in range(40)]
    results = run_threads(2, lambda i: nightly_release(as_of=date(2026, 3, 5)).run)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.released for r in results) == 40
    assert OwnershipEvent.objects.filter(action=Action.RELEASED).count() == 40
    assert all(reload(c).owner is None for c in due)


def test_nightly_skips_while_another_run_holds_the_lock(owner):
    c = owned_customer(owner, since=date(2026, 1, 1))
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", [LOCK_KEY])
        result = nightly_release(as_of=date(2026, 3, 5))
        assert result.run.skipped and result.run.released == 0
        assert reload(c).owner == owner
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [LOCK_KEY])
    assert nightly_release(as_of=date(2026, 3, 5)).run.released == 1


def test_r5_9_database_refuses_to_edit_or_delete_history(owner, department):
    c = pool_customer(department)
    services.customer_claim(customer=c, user=owner)
    for sql in ("UPDATE ownership_ownershipevent SET note = 'x'", "DELETE FROM ownership_ownershipevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert OwnershipEvent.objects.get().note == ""


def _wait_until_blocked(pid_holder: list, timeout: float = 10) -> None:
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


@pytest.mark.parametrize("first", ["confirmation", "nightly"])
def test_r5_3_confirmation_racing_the_nightly_release_never_leaves_a_sold_customer_released(owner, teammate, first):
    """The customer is due tonight (owned by teammate since 1 Jan); owner's first order is
    confirmed at the same moment. Either order of events ends with owner on basis first order."""
    c = owned_customer(teammate, since=date(2026, 1, 1))
    go = threading.Event()

    def confirmation():
        with transaction.atomic():
            services.customer_record_sale(customer=c, salesperson=owner, sale_date=date(2026, 3, 5))
            if first == "confirmation":
                go.wait(10)
        connections.close_all()

    def nightly():
        with transaction.atomic():
            nightly_release(as_of=date(2026, 3, 5), now=at(date(2026, 3, 5), 1))
            if first == "nightly":
                go.wait(10)
        connections.close_all()

    leader, follower = (confirmation, nightly) if first == "confirmation" else (nightly, confirmation)
    t1 = threading.Thread(target=leader)
    t1.start()
    time.sleep(0.3)  # the leader holds the row lock
    t2 = threading.Thread(target=follower)
    t2.start()
    _wait_until_blocked([])
    go.set()
    t1.join(30)
    t2.join(30)
    c = reload(c)
    assert c.owner == owner and c.owner_basis == Basis.FIRST_ORDER and c.sold_in_ownership
    actions = list(OwnershipEvent.objects.filter(customer=c).order_by("at", "id").values_list("action", flat=True))
    if first == "confirmation":
        assert actions == [Action.FIRST_ORDER]
    else:
        assert actions == [Action.RELEASED, Action.FIRST_ORDER]


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_two_character_chinese_search_uses_the_bigram_index(owner, department):
    hit = pool_customer(department, name="深圳市华为技术有限公司")
    pool_customer(department, name="杭州恒通贸易有限公司")
    qs = pool_visible_to(owner).filter(customer_search_q("华为", user=owner))
    assert list(qs) == [hit]
    with transaction.atomic():
        assert "cust_name_bigrams" in _plan(Customer.objects.filter(customer_search_q("华为", user=owner)))
    assert list(pool_visible_to(owner).filter(customer_search_q("为技术有", user=owner))) == [hit]
    assert not pool_visible_to(owner).filter(customer_search_q("华技", user=owner)).exists()


def test_nightly_due_lookup_uses_the_partial_deadline_index(owner):
    owned_customer(owner, since=date(2026, 1, 1))
    with transaction.atomic():
        plan = _plan(
            Customer.objects.filter(owner__isnull=False, handover_ref__isnull=True, deadline__lt=date(2026, 3, 5))
        )
    assert "cust_owned_deadline" in plan
