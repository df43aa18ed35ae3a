"""A bounded mixed workload on real PostgreSQL (docs/decisions.md "Lock order"): nine threads, each
on its own connection, claim, release, assign, confirm and reverse payments, register customers,
mark problems and bad credit, record visits and run the nightly job, all on a small set of
customers and salespeople so that they meet on the same rows. It fails on any deadlock, any
error nobody foresaw, and any broken invariant:

- the ownership history of every customer is one continuous chain (each change starts from the
  owner the previous one left) ending on the current owner (R5.9);
- nobody claimed more than the daily cap (R5.8);
- the sale clocks follow the confirmed orders (R5.2-R5.4, R8.2): last sale, sale during this
  ownership, deadline, a first-order basis backed by a confirmed order of the owner that day;
- payments stay within their order and the order's state follows them (R8.1, R8.2);
- no two customers share a contact phone (R5.1), bad payment credit is a problem customer (R2.3).
"""

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connections
from django.db.models import Max, Sum
from django.db.utils import OperationalError
from django.utils import timezone

from accounts import roles
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from customers.models import Basis, Contact, CreditStatus, Customer
from followups.services import VisitInput, visit_record
from ownership import nightly, services
from ownership.models import Action, OwnershipEvent, PoolSettings
from sales import services as sales
from sales.models import Order, OrderStatus, Payment

from .factories import UserFactory
from .helpers import pool_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DURATION = 10.0  # seconds of mixed load; with setup and checks the test takes about 15-20 s
SALESPEOPLE = 8
POOL = 36
DAILY_CAP = 25
PHONES = [f"1390000{n:04d}" for n in range(40)]

# Actions that change (or confirm) who owns the customer, and those that do not.
NO_OWNER_CHANGE = {Action.PROBLEM_CLEARED}


class Load:
    """Shared state of one run: the people, the stop time, and what happened."""

    def __init__(self, department, salespeople, manager, finance):
        self.department = department
        self.salespeople = salespeople
        self.manager = manager
        self.finance = finance
        self.stop_at = time.monotonic() + DURATION
        self.lock = threading.Lock()
        self.done: Counter = Counter()
        self.refused: Counter = Counter()
        self.deadlocks: list[str] = []
        self.errors: list[str] = []
        self.lock_waits = 0

    def running(self) -> bool:
        return time.monotonic() < self.stop_at

    def run(self, name: str, fn) -> None:
        try:
            fn()
        except (DomainError, PermissionDenied):
            with self.lock:
                self.refused[name] += 1
        except OperationalError as exc:
            with self.lock:
                if isinstance(exc.__cause__, psycopg.errors.DeadlockDetected):
                    self.deadlocks.append(f"{name}: {exc}")
                else:
                    self.errors.append(f"{name}: {exc!r}")
        except Exception as exc:  # reported, the worker goes on
            with self.lock:
                self.errors.append(f"{name}: {exc!r}")
        else:
            with self.lock:
                self.done[name] += 1


def _pick_customer(rng: random.Random, load: Load, **filters) -> Customer | None:
    qs = Customer.objects.filter(department=load.department, **filters)
    ids = list(qs.values_list("pk", flat=True))
    return qs.select_related("owner").filter(pk=rng.choice(ids)).first() if ids else None


def claimer(load: Load, rng: random.Random) -> None:
    def claim():
        customer = _pick_customer(rng, load, owner__isnull=True)
        if customer:
            services.customer_claim(customer=customer, user=rng.choice(load.salespeople))

    load.run("claim", claim)


def releaser(load: Load, rng: random.Random) -> None:
    def release():
        customer = _pick_customer(rng, load, owner__isnull=False)
        if customer is None:
            return
        owner = customer.owner
        services.release_note_write(
            customer=customer,
            user=owner,
            situation="暂无需求",
            contact_details="采购 王经理",
            communication_level="已报价",
        )
        services.customer_release(customer=customer, user=owner)

    load.run("release", release)


def assigner(load: Load, rng: random.Random) -> None:
    def assign():
        customer = _pick_customer(rng, load, owner__isnull=True)
        if customer:
            services.customer_assign(
                customer=customer, manager=load.manager, to_user=rng.choice(load.salespeople), relationship=False
            )

    load.run("assign", assign)


def finance_desk(load: Load, rng: random.Random) -> None:
    def confirm():
        customer = _pick_customer(rng, load, owner__isnull=False)
        if customer is None:
            return
        order = (
            Order.objects.filter(customer=customer, salesperson_id=customer.owner_id)
            .exclude(status=OrderStatus.PAID)
            .first()
        )
        if order is None or rng.random() < 0.5:
            order = sales.order_create(
                customer=customer,
                user=customer.owner,
                amount=Decimal(rng.choice(["8000.00", "20000.00", "60000.00"])),
                deal_date=local_today(),
                description="工业控制器",
            )
        half = (order.outstanding / 2).quantize(Decimal("0.01"))
        amount = order.outstanding if rng.random() < 0.5 or half <= 0 else half
        sales.payment_confirm(order=order, user=load.finance, amount=amount, received_on=local_today())

    def reverse():
        ids = list(Payment.objects.filter(reversed_at__isnull=True).values_list("pk", flat=True))
        if ids:
            payment = Payment.objects.get(pk=rng.choice(ids))
            sales.payment_reverse(payment=payment, user=load.finance, reason="银行退票")

    if rng.random() < 0.6:
        load.run("confirm", confirm)
    else:
        load.run("reverse", reverse)


def registrar(load: Load, rng: random.Random) -> None:
    def register():
        user = rng.choice([*load.salespeople, load.manager])
        services.customer_register(
            data={"name": f"压测{uuid.uuid4().hex[:10]}有限公司", "source": "other"},
            # Half the phones come from a small shared set: registrations meet on them (R5.1).
            contacts=[{"name": "王经理", "phone": rng.choice(PHONES) if rng.random() < 0.5 else _unique_phone()}],
            user=user,
        )

    load.run("register", register)


def _unique_phone() -> str:
    return "137" + str(uuid.uuid4().int)[:8]


def problem_desk(load: Load, rng: random.Random) -> None:
    def mark():
        customer = _pick_customer(rng, load, is_problem=False)
        if customer:
            services.customer_mark_problem(customer=customer, user=load.manager, reason="投诉未结")

    def clear():
        customer = _pick_customer(rng, load, is_problem=True)
        if customer:
            services.customer_clear_problem(customer=customer, user=load.manager, reason="已解决")

    def credit():
        customer = _pick_customer(rng, load)
        if customer:
            status = CreditStatus.BAD if customer.credit_status != CreditStatus.BAD else CreditStatus.GOOD
            services.customer_set_payment_credit(customer=customer, user=load.finance, status=status, note="逾期90天")

    choice = rng.random()
    if choice < 0.35:
        load.run("problem", mark)
    elif choice < 0.7:
        load.run("clear_problem", clear)
    else:
        load.run("credit", credit)


def visitor(load: Load, rng: random.Random) -> None:
    def visit():
        customer = _pick_customer(rng, load)
        if customer is None:
            return
        user = customer.owner if customer.owner_id and rng.random() < 0.7 else rng.choice(load.salespeople)
        visit_record(
            customer=customer,
            user=user,
            data=VisitInput(visited_at=timezone.now() - timedelta(minutes=5), channel="phone", discussed="交期"),
        )

    load.run("visit", visit)


def nightly_runner(load: Load, rng: random.Random) -> None:
    def run():
        # As of days ahead, so that each run finds deadlines to release and to warn about.
        nightly.nightly_release(as_of=local_today() + timedelta(days=rng.randint(0, 100)), triggered_by="soak")

    load.run("nightly", run)
    time.sleep(0.2)


def lock_watcher(load: Load) -> None:
    """Counts the moments when some transaction waits on a lock: the load meets on the same rows."""
    params = connections["default"].get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as watcher:
        while load.running():
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            load.lock_waits += bool(waiting)
            time.sleep(0.05)


WORKERS = [claimer, claimer, releaser, assigner, finance_desk, registrar, problem_desk, visitor, nightly_runner]


def _worker(load: Load, fn, seed: int) -> None:
    rng = random.Random(seed)
    try:
        while load.running():
            fn(load, rng)
    finally:
        connections.close_all()


# --- Invariants -----------------------------------------------------------------------------------


def history_chain_breaks() -> list[str]:
    owners = dict(Customer.objects.values_list("pk", "owner_id"))
    current: dict[int, int | None] = defaultdict(lambda: None)
    breaks = []
    for pk, customer_id, action, from_id, to_id in OwnershipEvent.objects.order_by("id").values_list(
        "pk", "customer_id", "action", "from_owner_id", "to_owner_id"
    ):
        if action in NO_OWNER_CHANGE:
            continue
        if action == Action.PROBLEM and from_id is None and current[customer_id] is None:
            continue  # flagged in the pool
        if from_id != current[customer_id]:
            breaks.append(
                f"customer {customer_id} event {pk} {action}: from {from_id}, owner was {current[customer_id]}"
            )
        current[customer_id] = to_id
    for customer_id, owner_id in owners.items():
        if current[customer_id] != owner_id:
            breaks.append(f"customer {customer_id}: history ends on {current[customer_id]}, owner is {owner_id}")
    return breaks


def claim_cap_breaks() -> list[str]:
    per_day: Counter = Counter()
    for actor_id, at in OwnershipEvent.objects.filter(action=Action.CLAIMED).values_list("actor_id", "at"):
        per_day[(actor_id, local_today(at))] += 1
    return [f"user {u} claimed {n} on {d}" for (u, d), n in per_day.items() if n > DAILY_CAP]


def sale_clock_breaks() -> list[str]:
    breaks = []
    last_sale = dict(
        Order.objects.filter(confirmed_on__isnull=False)
        .values("customer_id")
        .annotate(m=Max("confirmed_on"))
        .values_list("customer_id", "m")
    )
    first_orders = set(
        Order.objects.filter(confirmed_on__isnull=False).values_list("customer_id", "salesperson_id", "confirmed_on")
    )
    for c in Customer.objects.all():
        if c.last_sale_on != last_sale.get(c.pk):
            breaks.append(f"{c.pk}: last sale {c.last_sale_on}, orders say {last_sale.get(c.pk)}")
        if c.owner_id is None:
            if c.owned_since or c.deadline or c.owner_basis or c.sold_in_ownership:
                breaks.append(f"{c.pk}: in the pool with ownership columns set")
            continue
        if not (c.owned_since and c.deadline and c.owner_basis):
            breaks.append(f"{c.pk}: owned without since/deadline/basis")
            continue
        if c.sold_in_ownership and not (c.last_sale_on and c.last_sale_on >= c.owned_since):
            breaks.append(f"{c.pk}: sold in ownership without a sale since {c.owned_since}")
        expected = services.compute_deadline(
            owned_since=c.owned_since, sold_in_ownership=c.sold_in_ownership, last_sale_on=c.last_sale_on
        )
        if c.deadline != expected:
            breaks.append(f"{c.pk}: deadline {c.deadline}, clocks give {expected}")
        if c.owner_basis == Basis.FIRST_ORDER and (c.pk, c.owner_id, c.owned_since) not in first_orders:
            breaks.append(f"{c.pk}: basis first order since {c.owned_since} without such a confirmed order")
    return breaks


def payment_breaks() -> list[str]:
    breaks = []
    for order in Order.objects.all():
        live = order.payments.filter(reversed_at__isnull=True)
        paid = live.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        first = min((local_today(p.confirmed_at) for p in live), default=None)
        if paid != order.paid_amount or paid > order.amount:
            breaks.append(f"order {order.pk}: paid {order.paid_amount}, payments {paid}, amount {order.amount}")
        if first != order.confirmed_on:
            breaks.append(f"order {order.pk}: sale date {order.confirmed_on}, payments say {first}")
    return breaks


def duplicate_phone_breaks() -> list[str]:
    counts = Counter(
        Contact.objects.filter(phone_digits__in=PHONES).values_list("phone_digits", "customer_id").distinct()
    )
    per_phone = Counter(phone for phone, _customer in counts)
    return [f"phone {p} on {n} customers" for p, n in per_phone.items() if n > 1]


def credit_breaks() -> list[str]:
    bad = Customer.objects.filter(credit_status=CreditStatus.BAD, is_problem=False)
    return [f"{c.pk}: bad credit but not a problem customer" for c in bad]


def test_mixed_workload_has_no_deadlock_and_keeps_every_invariant(department):
    PoolSettings.objects.create(department=department, daily_claim_cap=DAILY_CAP, reclaim_cooloff_days=1)
    salespeople = [UserFactory(role=roles.SALESPERSON, department=department) for _ in range(SALESPEOPLE)]
    manager = UserFactory(role=roles.MANAGER, department=department)
    finance = UserFactory(role=roles.FINANCE, department=None)
    customers = [pool_customer(department) for _ in range(POOL)]
    for i, customer in enumerate(customers[: POOL // 2]):
        services.customer_claim(customer=customer, user=salespeople[i % SALESPEOPLE])
    load = Load(department, salespeople, manager, finance)
    threads = [
        threading.Thread(target=_worker, args=(load, fn, seed), name=fn.__name__) for seed, fn in enumerate(WORKERS)
    ]
    threads.append(threading.Thread(target=lock_watcher, args=(load,), name="lock_watcher"))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DURATION + 60)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    print(f"\nsoak: done {dict(load.done)}, refused {dict(load.refused)}")
    print(f"soak: lock waits seen in {load.lock_waits} samples, deadlocks {len(load.deadlocks)}")
    problems = {
        "deadlocks": load.deadlocks,
        "errors": load.errors,
        "history chain": history_chain_breaks(),
        "claim cap": claim_cap_breaks(),
        "sale clocks": sale_clock_breaks(),
        "payments": payment_breaks(),
        "duplicate phones": duplicate_phone_breaks(),
        "bad credit": credit_breaks(),
    }
    print("soak: broken " + str({k: len(v) for k, v in problems.items()}))
    assert {k: v[:5] for k, v in problems.items() if v} == {}
    # The load did what it says: every kind of work succeeded at least once.
    assert set(load.done) >= {"claim", "release", "assign", "confirm", "reverse", "register", "visit", "nightly"}
