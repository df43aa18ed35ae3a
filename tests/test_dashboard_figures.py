"""The dashboard's figures against hand-computed fixtures (issue 13): the pool's weekly flows and
sizes (tests/dashboard_helpers.py), customers by tier and owner, the next nights' releases, missing
notes, visits against plan, sales by month and salesperson with a reversal, receivables ageing,
service requests, the salesperson's workbench; week and month boundaries in Asia/Shanghai; the
nightly summary against the live computation; empty states."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from customers.models import CreditStatus, Tier
from dashboard import selectors
from dashboard.models import CustomerCount, PoolFlowDay, SummaryRun
from dashboard.summary import summarize
from followups import services as followups
from followups.models import ReportKind
from notifications.models import Notification
from ownership.models import ReleaseNote
from ownership.nightly import nightly_release
from sales import services as sales
from sales.models import Payment
from service import services as service
from service.models import ServiceRequest

from .dashboard_helpers import NOW, TODAY, build_week, sh
from .factories import CustomerFactory
from .helpers import owned_customer, pool_customer
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def scope(user, **kw):
    return selectors.scope_for(user, now=NOW, **kw)


def weeks_of(flows):
    return [(w.start, w.end, w.counts, w.size_end) for w in flows.weeks]


# --- The pool's weekly flows ---------------------------------------------------------------------

W0 = {"claimed": 1}
W1 = {"imported": 3, "registered": 1, "claimed": 3, "assigned": 1, "hand": 1, "problem": 1, "rule": 1}
W2 = {"claimed": 1}
EXPECTED_WEEKS = [
    (date(2026, 11, 9), date(2026, 11, 15), W0, 4),
    (date(2026, 11, 16), date(2026, 11, 22), W1, 7),
    (date(2026, 11, 23), date(2026, 11, 25), W2, 6),
]


@pytest.fixture
def week(today, department, owner, teammate, manager):
    return build_week(department=department, owner=owner, teammate=teammate, manager=manager)


def test_weekly_flows_and_sizes_with_the_nightly_summary(week, manager):
    """The nightly run of 11-21 took the summary; what came after is read from the history."""
    assert SummaryRun.objects.get().taken_at == sh(21, 1)
    flows = selectors.pool_flows(scope(manager, date_from=date(2026, 11, 9)))
    assert weeks_of(flows) == EXPECTED_WEEKS
    assert flows.size_now == 6
    assert flows.as_of == sh(21, 1)
    w1 = flows.weeks[1]
    assert (w1.inflow, w1.outflow) == (7, 4)


def test_weekly_flows_live_equal_the_summary(week, manager):
    SummaryRun.objects.all().delete()
    flows = selectors.pool_flows(scope(manager, date_from=date(2026, 11, 9)))
    assert weeks_of(flows) == EXPECTED_WEEKS
    assert flows.size_now == 6
    assert flows.as_of is None


def test_a_later_summary_gives_the_same_figures_and_a_rerun_changes_nothing(week, manager):
    summarize(now=NOW)
    rows = sorted(PoolFlowDay.objects.values_list("department_id", "day", "flow", "n"))
    summarize(now=NOW)
    assert sorted(PoolFlowDay.objects.values_list("department_id", "day", "flow", "n")) == rows
    # Days are Asia/Shanghai days: 23:30 on Sunday is Sunday's, 00:10 on Monday is Monday's.
    assert (date(2026, 11, 22), "claimed", 1) in [(d, f, n) for _dep, d, f, n in rows]
    assert (date(2026, 11, 23), "claimed", 1) in [(d, f, n) for _dep, d, f, n in rows]
    assert weeks_of(selectors.pool_flows(scope(manager, date_from=date(2026, 11, 9)))) == EXPECTED_WEEKS


def test_the_default_period_is_twelve_weeks_up_to_today(week, manager):
    flows = selectors.pool_flows(scope(manager))
    assert len(flows.weeks) == 12
    assert flows.weeks[0].start == date(2026, 9, 7)  # a Monday, 11 weeks before this week's
    assert flows.weeks[-1].end == TODAY
    assert flows.weeks[-2].counts == W1


def test_flows_narrowed_to_a_salesperson(week, manager, owner, teammate):
    mine = selectors.pool_flows(scope(manager, salesperson=owner, date_from=date(2026, 11, 9)))
    assert [w.counts for w in mine.weeks] == [{}, {"claimed": 2, "hand": 1, "rule": 1}, {"claimed": 1}]
    assert mine.size_now is None and all(w.size_end is None for w in mine.weeks)
    theirs = selectors.pool_flows(scope(manager, salesperson=teammate, date_from=date(2026, 11, 9)))
    assert [w.counts for w in theirs.weeks] == [{"claimed": 1}, {"assigned": 1, "problem": 1, "claimed": 1}, {}]


def test_flows_of_another_department_stay_out(week, other_department, admin_user, manager):
    from .factories import UserFactory

    other_manager = UserFactory(role="manager", department=other_department)
    assert selectors.pool_flows(scope(other_manager, date_from=date(2026, 11, 9))).size_now == 0
    assert all(not w.counts for w in selectors.pool_flows(scope(other_manager, date_from=date(2026, 11, 9))).weeks)
    everything = selectors.pool_flows(scope(admin_user, date_from=date(2026, 11, 9)))
    assert weeks_of(everything) == EXPECTED_WEEKS
    chosen = selectors.pool_flows(scope(admin_user, department=other_department, date_from=date(2026, 11, 9)))
    assert chosen.size_now == 0


def test_salespeople_and_finance_read_no_team_figures(week, owner, finance):
    for user in (owner, finance):
        assert selectors.pool_flows(scope(user)).weeks == []
        assert selectors.customer_counts(scope(user)).rows == []
        assert selectors.releases(scope(user)).rows == []
        assert selectors.missing_notes(scope(user)).rows == []


def test_the_nightly_step_summarises_and_a_dry_run_does_not(today, department, owner):
    owned_customer(owner, since=date(2026, 9, 1))
    nightly_release(as_of=TODAY, now=sh(25, 1), dry_run=True)
    assert not SummaryRun.objects.exists()
    nightly_release(as_of=TODAY, now=sh(25, 1))
    assert SummaryRun.objects.get().triggered_by == "nightly"
    assert PoolFlowDay.objects.get().flow == "rule"


# --- Customers by tier and owner; releases; missing notes ------------------------------------------


@pytest.fixture
def portfolio(today, department, owner, teammate):
    since = TODAY - timedelta(days=10)
    for tier in (Tier.VIP, Tier.A, Tier.C, Tier.C):
        owned_customer(owner, since=since, tier=tier)
    owned_customer(owner, since=since, tier=Tier.B, sold=True, last_sale_on=since)
    owned_customer(teammate, since=since, tier=Tier.A, credit_status=CreditStatus.BAD)  # shown as a problem
    pool_customer(department, tier=Tier.SPECIAL_VIP)
    pool_customer(department, tier=Tier.C, is_problem=True)
    return since


def _by_owner(counts):
    return {row.owner_id: ({t: n for t, n in row.tiers.items() if n}, row.unsold) for row in counts.rows}


def test_customers_by_tier_and_owner_live_and_summarised(portfolio, manager, owner, teammate):
    expected = {
        owner.pk: ({"vip": 1, "a": 1, "c": 2, "b": 1}, 4),  # the B customer has a sale
        teammate.pk: ({"problem": 1}, 1),  # bad payment credit shows as a problem (R2.3)
        None: ({"special_vip": 1, "problem": 1}, 0),
    }
    live = selectors.customer_counts(scope(manager))
    assert live.as_of is None and _by_owner(live) == expected
    summarize(now=NOW)
    summarised = selectors.customer_counts(scope(manager))
    assert summarised.as_of == NOW and _by_owner(summarised) == expected
    narrowed = selectors.customer_counts(scope(manager, salesperson=teammate))
    assert _by_owner(narrowed) == {teammate.pk: ({"problem": 1}, 1)}


def test_releases_of_the_next_seven_nights(today, department, owner, teammate, manager):
    # Today 11-25 10:00: the next runs are 11-26 … 12-02; a run releases the deadlines before it.
    owned_customer(owner, since=date(2026, 9, 24))  # deadline 11-24: overdue, the first run's
    owned_customer(owner, since=date(2026, 9, 25))  # deadline 11-25 -> released on 11-26
    owned_customer(owner, since=date(2026, 10, 1))  # deadline 12-01 -> released on 12-02
    owned_customer(teammate, since=date(2026, 9, 30))  # deadline 11-30 -> 12-01
    owned_customer(teammate, since=date(2026, 10, 2))  # deadline 12-02 -> 12-03, after the 7 nights
    expected = sorted(
        [(owner.pk, date(2026, 11, 26), 2), (owner.pk, date(2026, 12, 2), 1), (teammate.pk, date(2026, 12, 1), 1)]
    )
    live = selectors.releases(scope(manager))
    assert live.nights[0] == date(2026, 11, 26) and live.nights[-1] == date(2026, 12, 2)
    assert sorted(live.rows) == expected
    summarize(now=NOW)
    assert sorted(selectors.releases(scope(manager)).rows) == expected


def test_missing_release_notes_per_former_owner(today, department, owner, teammate, manager):
    owned_customer(owner, since=date(2026, 9, 1))
    noted = owned_customer(owner, since=date(2026, 9, 2))
    owned_customer(teammate, since=date(2026, 9, 3))
    ReleaseNote.objects.create(
        customer=noted,
        author=owner,
        ownership_started=noted.owned_since,
        situation="在谈",
        contact_details="王经理",
        communication_level="报价",
        written_at=sh(20, 9),
    )
    nightly_release(as_of=TODAY, now=sh(25, 1))
    expected = sorted([(owner.pk, 1), (teammate.pk, 1)])
    assert sorted(selectors.missing_notes(scope(manager)).rows) == expected
    SummaryRun.objects.all().delete()
    assert sorted(selectors.missing_notes(scope(manager)).rows) == expected


# --- Visits against plan (R3.1), month boundaries ---------------------------------------------------


def test_visits_against_plan_match_the_followups_computation(today, department, owner, teammate, manager):
    mine = [owned_customer(owner, since=date(2026, 10, 1)) for _ in range(3)]
    followups.plan_set(
        salesperson=owner, month=date(2026, 11, 1), target_count=10, customer_ids=[c.pk for c in mine[:2]], user=owner
    )

    def visit(customer, at):
        followups.visit_record(
            customer=customer,
            user=owner,
            data=followups.VisitInput(visited_at=at, channel="phone", discussed="交期"),
            now=NOW,
        )

    visit(mine[0], sh(31, 23, 30, month=10))  # October in Shanghai (15:30 UTC)
    visit(mine[0], sh(1, 0, 10))  # November
    visit(mine[0], sh(20, 9))
    visit(mine[2], sh(24, 9))  # not a planned customer
    progress = selectors.visit_progress(scope(manager))
    rows = dict(progress.rows)
    assert progress.month == date(2026, 11, 1) and progress.until == TODAY
    assert rows[owner.pk] == followups.plans_progress(salespeople=[owner], month=TODAY, until=TODAY)[owner.pk]
    assert (rows[owner.pk].target, rows[owner.pk].visits_done) == (10, 3)
    assert (rows[owner.pk].customers_planned, rows[owner.pk].customers_visited) == (2, 1)
    assert rows[teammate.pk].visits_done == 0 and not rows[teammate.pk].has_plan  # on the team, no plan yet
    october = dict(selectors.visit_progress(scope(manager, date_to=date(2026, 10, 31))).rows)
    assert october[owner.pk].visits_done == 1 and not october[owner.pk].has_plan


# --- Sales by month and salesperson, with a reversal (R8) --------------------------------------------


@pytest.fixture
def sales_world(today, department, other_department, owner, teammate, outsider, finance):
    a = owned_customer(owner, since=date(2026, 9, 1))
    b = owned_customer(teammate, since=date(2026, 9, 1))
    c = owned_customer(outsider, since=date(2026, 9, 1))
    confirm(record(a, owner, "10000.00", day=date(2026, 10, 30)), finance, day=date(2026, 10, 31))  # October
    confirm(record(a, owner, "20000.00", day=date(2026, 10, 31)), finance, day=date(2026, 11, 1))  # November
    reversed_order = record(b, teammate, "5000.00", day=date(2026, 11, 2))
    confirm(reversed_order, finance, day=date(2026, 11, 3))
    payment = Payment.objects.get(order=reversed_order)
    sales.payment_reverse(payment=payment, user=finance, reason="银行退票", now=sh(4, 9))
    confirm(record(b, teammate, "7000.00", day=date(2026, 11, 5)), finance, "3000.00", day=date(2026, 11, 6))
    confirm(record(c, outsider, "9000.00", day=date(2026, 11, 7)), finance, day=date(2026, 11, 8))
    record(a, owner, "4000.00", day=date(2026, 11, 20))  # recorded, no payment: not a sale
    return {"a": a, "b": b, "c": c}


def test_sales_by_month_and_salesperson(sales_world, manager, owner, teammate, outsider, finance):
    months = selectors.sales_by_month(scope(manager))
    assert len(months) == 12 and months[0].month == date(2025, 12, 1) and months[-1].month == date(2026, 11, 1)
    assert [(m.month, m.amount, m.count) for m in months[-2:]] == [
        (date(2026, 10, 1), Decimal("10000.00"), 1),
        (date(2026, 11, 1), Decimal("27000.00"), 2),  # 20,000 + 7,000; the reversed 5,000 left
    ]
    assert [(r.key, r.amount, r.count) for r in selectors.sales_by(scope(manager), "salesperson")] == [
        (owner.pk, Decimal("30000.00"), 2),
        (teammate.pk, Decimal("7000.00"), 1),
    ]
    # Finance: every department.
    everyone = {r.key: r.amount for r in selectors.sales_by(scope(finance), "salesperson")}
    assert everyone == {owner.pk: Decimal("30000.00"), teammate.pk: Decimal("7000.00"), outsider.pk: Decimal("9000.00")}
    by_department = {r.key: r.amount for r in selectors.sales_by(scope(finance), "department")}
    assert by_department == {owner.department_id: Decimal("37000.00"), outsider.department_id: Decimal("9000.00")}
    # A range: November only.
    november = selectors.sales_by_month(scope(finance, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)))
    assert [(m.month, m.amount, m.count) for m in november] == [(date(2026, 11, 1), Decimal("36000.00"), 3)]


def test_commission_of_the_month_and_receivables_ageing(sales_world, manager, teammate, finance, owner):
    lines = {line.salesperson.pk: line for line in selectors.commission(scope(finance))}
    assert lines[owner.pk].sales_amount == Decimal("20000.00") and lines[owner.pk].commission == Decimal("600.00")
    assert lines[teammate.pk].sales_amount == Decimal("7000.00")
    ageing = {r.key: (r.amount, r.count) for r in selectors.receivables_ageing(scope(manager))}
    # Only the 7,000 order is confirmed and part-paid: 4,000 due, sold on 11-06, 19 days ago.
    assert ageing["0-30"] == (Decimal("4000.00"), 1)
    assert sum(count for _amount, count in ageing.values()) == 1


def test_receivables_age_buckets_at_their_boundaries(today, owner, finance):
    customer = owned_customer(owner, since=date(2026, 6, 1))
    for days in (30, 31, 60, 61, 90, 91, 180, 181, 365, 366):
        sold = TODAY - timedelta(days=days)
        confirm(record(customer, owner, "1000.00", day=sold), finance, "100.00", day=sold)
    rows = selectors.receivables_ageing(scope(finance))
    assert [(r.key, r.count) for r in rows] == [
        ("0-30", 1),
        ("31-60", 2),
        ("61-90", 2),
        ("91-180", 2),
        ("181-365", 2),
        ("365+", 1),
    ]
    assert rows[0].amount == Decimal("900.00")


def test_payments_waiting_for_finance(sales_world, finance, teammate):
    waiting = selectors.payments_waiting(scope(finance))
    # The 7,000 order part-paid (4,000 left), the 4,000 order not paid at all, the reversed 5,000.
    assert (waiting.count, waiting.outstanding, waiting.awaiting_first) == (3, Decimal("13000.00"), 2)
    assert selectors.payments_waiting(scope(finance, salesperson=teammate)).count == 2


# --- Service requests (R6.3) ---------------------------------------------------------------------


def test_open_and_overdue_service_requests(today, department, owner, teammate, manager):
    customer = owned_customer(owner, since=date(2026, 10, 1))

    def log(user, kind, when):
        caller = "" if user == owner else "王先生"
        return service.request_log(
            user=user,
            data=service.RequestInput(kind=kind, channel="phone", text="咨询交期", caller_name=caller),
            customer=customer if user == owner else None,
            now=when,
        )

    log(owner, "complaint", sh(20, 9))  # due 11-22: overdue
    log(owner, "call", sh(24, 9))  # due 11-25: today, not overdue
    log(teammate, "call", sh(10, 9))  # due 11-11: overdue
    closed = log(teammate, "consultation", sh(25, 9))
    service.request_solve(request=closed, user=teammate, text="当场解答", now=sh(25, 9, 30))
    counts = {r.kind: (r.open, r.overdue) for r in selectors.open_requests(scope(manager))}
    assert counts == {"visit": (0, 0), "call": (2, 1), "consultation": (0, 0), "complaint": (1, 1)}
    narrowed = {r.kind: (r.open, r.overdue) for r in selectors.open_requests(scope(manager, salesperson=owner))}
    assert narrowed["call"] == (1, 0) and narrowed["complaint"] == (1, 1)
    assert ServiceRequest.objects.count() == 4


# --- The workbench ---------------------------------------------------------------------------------


def test_workbench_items(today, department, owner, teammate, manager, finance):
    releasing = owned_customer(owner, since=date(2026, 9, 26))  # deadline 11-26 -> the run of 11-27
    noted = owned_customer(owner, since=date(2026, 9, 27))
    ReleaseNote.objects.create(
        customer=noted,
        author=owner,
        ownership_started=noted.owned_since,
        situation="在谈",
        contact_details="王经理",
        communication_level="报价",
        written_at=sh(24, 9),
    )
    owned_customer(owner, since=date(2026, 10, 10))  # deadline 12-10: later
    owned_customer(teammate, since=date(2026, 9, 26))  # a colleague's
    due_today = owned_customer(owner, since=date(2026, 11, 1), next_follow_up_on=TODAY)
    overdue = owned_customer(owner, since=date(2026, 11, 1), next_follow_up_on=TODAY - timedelta(days=3))
    owned_customer(owner, since=date(2026, 11, 1), next_follow_up_on=TODAY + timedelta(days=1))
    tracked = pool_customer(department, name="宁波跟踪中电子有限公司", industry="electronics", city="宁波市")
    followups.visit_record(
        customer=tracked,
        user=owner,
        data=followups.VisitInput(
            visited_at=sh(20, 9), channel="phone", discussed="了解需求", next_follow_up_on=date(2026, 11, 24)
        ),
        now=sh(20, 10),
    )
    confirm(record(due_today, owner, "10000.00", day=date(2026, 11, 2)), finance, day=date(2026, 11, 3))
    confirm(record(due_today, owner, "8000.00", day=date(2026, 10, 2)), finance, day=date(2026, 10, 3))
    Notification.objects.filter(recipient=owner).update(read_at=sh(24, 0))  # the confirmations' messages
    Notification.objects.create(recipient=owner, kind="warning", text="到期提醒", created_at=sh(25, 1))
    Notification.objects.create(recipient=owner, kind="warning", text="已读", created_at=sh(24, 1), read_at=sh(24, 2))
    Notification.objects.create(recipient=teammate, kind="warning", text="别人的", created_at=sh(25, 1))
    followups.report_save_draft(
        salesperson=owner, kind=ReportKind.DAILY, period_start=TODAY, summary="草稿", user=owner
    )

    bench = selectors.workbench(owner, now=NOW)
    assert [c.pk for c in bench.releasing] == [releasing.pk, noted.pk]
    assert [c.has_note for c in bench.releasing] == [False, True]
    # Owned only: the pool customer it tracks is due too, but it cannot act on it.
    assert [c.pk for c in bench.follow_ups] == [overdue.pk, due_today.pk]
    assert (bench.due_today, bench.overdue) == (1, 1)
    # Six customers, one of them with a confirmed sale during this ownership (R5.8 counts the others).
    assert bench.allowance.claims_left == 20 and bench.allowance.unsold == 5
    assert bench.month_sales.amount == Decimal("10000.00") and bench.commission == Decimal("300.00")
    assert [m.amount for m in bench.sales_months[-2:]] == [Decimal("8000.00"), Decimal("10000.00")]
    assert [n.text for n in bench.unread] == ["到期提醒"] and bench.unread_total == 1
    assert bench.daily_report is not None and not bench.daily_report.is_submitted
    assert bench.overdue_requests == []


def test_workbench_new_pool_entries_follow_my_industries_and_cities(today, department, owner):
    for _ in range(3):
        owned_customer(owner, since=date(2026, 11, 1), industry="electronics", city="深圳市")
    owned_customer(owner, since=date(2026, 11, 1), industry="food", city="成都市")
    newer = pool_customer(department, industry="electronics", city="杭州市", released_on=date(2026, 11, 24))
    city = pool_customer(department, industry="retail", city="深圳市", released_on=date(2026, 11, 23))
    other = pool_customer(department, industry="retail", city="杭州市", released_on=date(2026, 11, 24))
    bench = selectors.workbench(owner, now=NOW)
    assert bench.pool_industries == ["electronics", "food"] and bench.pool_cities == ["深圳市", "成都市"]
    assert [c.pk for c in bench.pool_new] == [newer.pk, city.pk]
    assert other not in bench.pool_new


def test_workbench_when_there_is_nothing(today, owner):
    bench = selectors.workbench(owner, now=NOW)
    assert bench.releasing == [] and bench.follow_ups == [] and bench.pool_new == []
    assert bench.month_sales.amount == 0 and bench.daily_report is None and bench.unread_total == 0
    assert bench.progress.visits_done == 0 and not bench.progress.has_plan


def test_team_figures_when_there_is_nothing(today, manager):
    s = scope(manager)
    assert selectors.customer_counts(s).rows == []
    assert [w.counts for w in selectors.pool_flows(s).weeks] == [{}] * 12
    assert selectors.pool_flows(s).size_now == 0
    assert [m.amount for m in selectors.sales_by_month(s)] == [0] * 12
    assert all(r.count == 0 for r in selectors.receivables_ageing(s))
    assert CustomerCount.objects.count() == 0


def test_customer_tier_counts_are_not_read_from_other_departments(today, department, other_department, owner):
    from .factories import UserFactory

    CustomerFactory(department=other_department, owner=None, tier=Tier.VIP)
    other_manager = UserFactory(role="manager", department=other_department)
    owned_customer(owner, since=TODAY, tier=Tier.VIP)
    summarize(now=NOW)
    assert _by_owner(selectors.customer_counts(scope(other_manager))) == {None: ({"vip": 1}, 0)}


def test_sales_from_the_summary_corrected_by_later_changes_equal_the_live_figures(
    today, department, owner, teammate, finance, manager
):
    """The summary counts sale dates before its day; confirmations and reversals after it are
    corrected from the sales history, whichever month they touch (R8.1, R8.2)."""
    a = owned_customer(owner, since=date(2026, 6, 1))
    b = owned_customer(teammate, since=date(2026, 6, 1))
    moved = record(a, owner, "10000.00", day=date(2026, 9, 10))
    first = confirm(moved, finance, "4000.00", day=date(2026, 9, 12)).payment  # sale date 09-12
    confirm(moved, finance, "2000.00", day=date(2026, 10, 5))  # a later payment: the date stays
    undone = record(a, owner, "5000.00", day=date(2026, 10, 1))
    undone_payment = confirm(undone, finance, day=date(2026, 10, 2)).payment
    confirm(record(b, teammate, "7000.00", day=date(2026, 11, 2)), finance, day=date(2026, 11, 3))
    summarize(now=sh(20, 1))  # sale dates before 11-20 are summarised
    sales.payment_reverse(payment=first, user=finance, reason="退票", now=sh(21, 9))  # 09-12 -> 10-05
    sales.payment_reverse(payment=undone_payment, user=finance, reason="退票", now=sh(22, 9))  # no sale
    confirm(record(a, owner, "3000.00", day=date(2026, 11, 23)), finance, day=date(2026, 11, 24))  # live

    def figures(**kw):
        found = selectors.sales_figures(scope(manager, **kw), "salesperson")
        return [(m.month, m.amount, m.count) for m in found.months if m.count], [
            (g.key, g.amount, g.count) for g in found.groups
        ]

    expected = (
        [(date(2026, 10, 1), Decimal("10000.00"), 1), (date(2026, 11, 1), Decimal("10000.00"), 2)],
        [(owner.pk, Decimal("13000.00"), 2), (teammate.pk, Decimal("7000.00"), 1)],
    )
    assert figures() == expected
    partial = figures(date_from=date(2026, 9, 15), date_to=date(2026, 11, 30))  # September partly
    assert partial == expected
    SummaryRun.objects.all().delete()
    assert figures() == expected and figures(date_from=date(2026, 9, 15), date_to=date(2026, 11, 30)) == expected


# --- Open handovers (R7) -----------------------------------------------------------------------------


def test_open_handovers_with_their_progress(today, department, other_department, owner, teammate, outsider, manager):
    from handovers import services as handovers

    from .factories import UserFactory
    from .handover_helpers import items_of, open_transfer

    mine = [owned_customer(owner, since=date(2026, 10, 1)) for _ in range(3)]
    transfer = open_transfer(owner, manager, mine, day=date(2026, 11, 20))
    first = items_of(transfer)[0]
    handovers.handover_send(handover=transfer, manager=manager, item_ids=[first.pk], receiver=teammate, now=sh(21, 9))
    handovers.handover_confirm(handover=transfer, user=teammate, now=sh(21, 10))
    other_manager = UserFactory(role="manager", department=other_department)
    open_transfer(outsider, other_manager, [owned_customer(outsider, since=date(2026, 10, 1))], day=date(2026, 11, 20))

    rows = selectors.open_handovers(scope(manager))
    assert [(r.handover.pk, r.items, r.done) for r in rows] == [(transfer.pk, 3, 1)]
    assert selectors.open_handovers(scope(manager, salesperson=teammate)) == []  # it leaves nothing
    assert selectors.open_handovers(scope(owner)) == []  # a salesperson reads no team figures


def test_a_first_order_from_the_pool_and_its_reversal_move_the_pool(today, department, owner, manager, finance):
    """R5.3 and R8.2: an order recorded while owned is confirmed after its customer went back to the
    pool (the first order takes it out again), then reversed with no earlier ownership to restore
    (it returns to the pool): four movements, and the pool's size follows them."""
    from ownership import services as ownership

    customer = pool_customer(department, released_on=date(2026, 1, 5))
    ownership.customer_claim(customer=customer, user=owner, now=sh(16, 9))
    order = record(customer, owner, "6000.00", day=date(2026, 11, 16))
    ownership.release_note_write(
        customer=customer,
        user=owner,
        situation="暂停",
        contact_details="王经理",
        communication_level="报价",
        now=sh(16, 11),
    )
    ownership.customer_release(customer=customer, user=owner, now=sh(16, 12))
    payment = confirm(order, finance, day=date(2026, 11, 17)).payment
    sales.payment_reverse(payment=payment, user=finance, reason="退票", now=sh(18, 9))
    customer.refresh_from_db()
    assert customer.owner_id is None and customer.release_reason == "sale_reversed"

    week = selectors.pool_flows(scope(manager, date_from=date(2026, 11, 16), date_to=date(2026, 11, 22))).weeks[0]
    assert week.counts == {"claimed": 1, "hand": 1, "first_order": 1, "sale_reversed": 1}
    assert week.size_end == 1
    mine = selectors.pool_flows(
        scope(manager, salesperson=owner, date_from=date(2026, 11, 16), date_to=date(2026, 11, 22))
    ).weeks[0]
    assert mine.counts == {"claimed": 1, "hand": 1, "first_order": 1, "sale_reversed": 1}
