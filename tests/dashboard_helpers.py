"""A department's known week, built through the real services at past moments, for the dashboard's
figures (issue 13). All times are Asia/Shanghai; "today" is Wednesday 2026-11-25, 10:00.

Pool before: a1..a5 (no history: they were there before). Owned: d1 (owner's, deadline passed).

    Sun 11-15 23:50  teammate claims a5                      W0: claimed 1        pool 4
    Mon 11-16 09:00  manager imports i1, i2, i3              W1: imported 3       pool 7
    Mon 11-16 10:00  manager registers r1 into the pool      W1: registered 1     pool 8
    Tue 11-17 10:00  owner claims i1; 11:00 owner claims i2  W1: claimed 2        pool 6
    Wed 11-18 10:00  manager assigns a1 to teammate          W1: assigned 1       pool 5
    Thu 11-19 15:00  owner releases i1 with its note         W1: by hand 1        pool 6
    Fri 11-20 16:00  manager marks a1 (teammate's) problem   W1: problem 1        pool 7
    Fri 11-20 17:00  manager marks a2 (in the pool) problem  (no movement)        pool 7
    Sat 11-21 01:00  the nightly job releases d1 (R5.2)      W1: by the rules 1   pool 8
                     and takes the dashboard summary
    Sun 11-22 23:30  teammate claims i3                      W1: claimed 1        pool 7
    Mon 11-23 00:10  owner claims r1                         W2: claimed 1        pool 6
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from customers.models import Customer
from ownership import services as ownership
from ownership.nightly import nightly_release

from .helpers import owned_customer, pool_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour, minute), tzinfo=SHANGHAI)


@dataclass
class Week:
    pool: dict[str, Customer]
    imported: list[Customer]
    registered: Customer
    due: Customer


def _row(name: str, phone: str) -> dict:
    return {
        "name": name,
        "source": "association",
        "industry": "electronics",
        "city": "深圳市",
        "contacts": [{"name": "王经理", "phone": phone}],
    }


def build_week(*, department, owner, teammate, manager, monday: date = date(2026, 11, 16)) -> Week:
    """The week above; `monday` moves it (the browser tests use the last full week before today)."""

    def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
        offset = (date(2026, month, day) - date(2026, 11, 16)).days
        return datetime.combine(monday + timedelta(days=offset), time(hour, minute), tzinfo=SHANGHAI)

    pool = {
        key: pool_customer(department, name=f"苏州{key}精密机械有限公司", released_on=monday - timedelta(days=300))
        for key in ("a1", "a2", "a3", "a4", "a5")
    }
    due = owned_customer(owner, since=monday - timedelta(days=70), name="杭州到期电子有限公司")
    assert due.deadline < monday + timedelta(days=5)  # the nightly run of Saturday releases it

    ownership.customer_claim(customer=pool["a5"], user=teammate, now=sh(15, 23, 50))
    ids = ownership.customers_import_into_pool(
        rows=[
            _row("深圳导入一号电子有限公司", "13911110001"),
            _row("深圳导入二号电子有限公司", "13911110002"),
            _row("深圳导入三号电子有限公司", "13911110003"),
        ],
        department_id=department.pk,
        user=manager,
        now=sh(16, 9),
    )
    imported = [Customer.objects.get(pk=pk) for pk in ids]
    registered = ownership.customer_register(
        data={"name": "广州登记入池贸易有限公司", "source": "media"},
        contacts=[{"name": "李总", "phone": "13911110009"}],
        user=manager,
        now=sh(16, 10),
    )
    ownership.customer_claim(customer=imported[0], user=owner, now=sh(17, 10))
    ownership.customer_claim(customer=imported[1], user=owner, now=sh(17, 11))
    ownership.customer_assign(
        customer=pool["a1"], manager=manager, to_user=teammate, introduced_by="王总", now=sh(18, 10)
    )
    ownership.release_note_write(
        customer=imported[0],
        user=owner,
        situation="暂无预算",
        contact_details="王经理 13911110001",
        communication_level="已报价",
        now=sh(19, 14),
    )
    ownership.customer_release(customer=imported[0], user=owner, now=sh(19, 15))
    ownership.customer_mark_problem(customer=pool["a1"], user=manager, reason="拖欠货款", now=sh(20, 16))
    ownership.customer_mark_problem(customer=pool["a2"], user=manager, reason="资质造假", now=sh(20, 17))
    nightly_release(as_of=monday + timedelta(days=5), now=sh(21, 1), triggered_by="test")
    ownership.customer_claim(customer=imported[2], user=teammate, now=sh(22, 23, 30))
    ownership.customer_claim(customer=registered, user=owner, now=sh(23, 0, 10))
    return Week(pool=pool, imported=imported, registered=registered, due=due)


def build_recent(*, department, owner, teammate, manager, finance) -> Week:
    """Something for every chart of every home page, around the real today: the week above as the
    last full week, a customer released in two nights, a visit plan with a visit, confirmed and
    part-paid sales in two months, an overdue service request and a follow-up due today."""
    from django.utils import timezone

    from crm.dates import local_today
    from customers.models import Basis
    from dashboard.summary import summarize
    from followups import services as followups
    from service import services as service

    from .factories import CustomerFactory
    from .sales_helpers import confirm, record

    today = local_today()
    this_monday = today - timedelta(days=today.weekday())
    week = build_week(
        department=department, owner=owner, teammate=teammate, manager=manager, monday=this_monday - timedelta(weeks=1)
    )
    soon = CustomerFactory(
        department=department,
        owner=owner,
        owner_basis=Basis.CLAIMED,
        owned_since=today - timedelta(days=58),
        deadline=today + timedelta(days=2),
        name="宁波即将退回机械有限公司",
    )
    followups.plan_set(
        salesperson=owner, month=today.replace(day=1), target_count=6, customer_ids=[soon.pk], user=manager
    )
    followups.visit_record(
        customer=soon,
        user=owner,
        data=followups.VisitInput(
            visited_at=timezone.now() - timedelta(hours=1), channel="visit", discussed="报价", next_follow_up_on=today
        ),
    )
    theirs = owned_customer(teammate, since=today - timedelta(days=20), name="厦门蓝海食品有限公司")
    buyer = owned_customer(owner, since=today - timedelta(days=60), name="上海常购电子有限公司")
    # A sale moves its customer's deadline (R5.4): the sales are on another customer than `soon`.
    confirm(record(buyer, owner, "26000.00", day=today - timedelta(days=45)), finance, day=today - timedelta(days=44))
    confirm(
        record(buyer, owner, "12000.00", day=today - timedelta(days=3)),
        finance,
        "5000.00",
        day=today - timedelta(days=2),
    )
    confirm(record(theirs, teammate, "9000.00", day=today - timedelta(days=6)), finance, day=today - timedelta(days=5))
    record(theirs, teammate, "3000.00", day=today - timedelta(days=1))  # waiting for its first payment
    service.request_log(
        user=owner,
        data=service.RequestInput(kind="complaint", channel="phone", text="交货延迟投诉"),
        customer=soon,
        now=timezone.now() - timedelta(days=5),
    )
    # An open transfer of the teammate's customer to the owner, one item of two confirmed (R7.2).
    from handovers import services as handovers

    other = owned_customer(teammate, since=today - timedelta(days=15), name="厦门海纳物流有限公司")
    transfer = handovers.handover_open(
        kind="transfer", leaver=teammate, manager=manager, reason="position", customer_ids=[theirs.pk, other.pk]
    )
    first = transfer.items.order_by("customer_id").first()
    handovers.handover_send(handover=transfer, manager=manager, item_ids=[first.pk], receiver=owner)
    handovers.handover_confirm(handover=transfer, user=owner)
    summarize(triggered_by="test")  # as this morning's nightly run would have
    return week
