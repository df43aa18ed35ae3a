"""R3 follow-ups, services: report compilation (Asia/Shanghai days, weeks Monday to Sunday), plan
progress, frozen reports, who may record visits, and that a visit never moves ownership clocks
(R5.2, R5.4) but does move "last contact"."""

from datetime import UTC, date, datetime, timedelta

import pytest

from crm.errors import DomainError, PermissionDenied
from customers.models import Customer
from followups import selectors, services
from followups.models import Channel, Report, ReportComment, ReportKind, ReportStatus, Visit, VisitPlan
from followups.services import VisitInput
from ownership.models import OwnershipEvent

from .factories import ContactFactory, UserFactory
from .helpers import SHANGHAI, at, owned_customer, pool_customer, reload

pytestmark = pytest.mark.django_db

NOW = at(date(2026, 3, 20), 20)  # "now" of most tests: Friday 20 March 2026, evening
MONDAY = date(2026, 3, 9)


def visit(customer, user, when, *, now=NOW, **kw) -> Visit:
    data = VisitInput(
        visited_at=when, channel=kw.pop("channel", Channel.VISIT), discussed=kw.pop("discussed", "介绍产品"), **kw
    )
    return services.visit_record(customer=customer, user=user, data=data, now=now)


def visit_ids(content) -> set[int]:
    return {v["id"] for v in content["visits"]}


@pytest.fixture
def mine(owner):
    return owned_customer(owner, since=date(2026, 2, 1))


# --- Compilation: which visits fall in a day or a week -----------------------------------------


def test_r3_3_daily_report_uses_shanghai_days(owner, mine):
    day = date(2026, 3, 10)
    before = visit(mine, owner, datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI))
    # 00:00 in Shanghai is 16:00 UTC of the previous day: it belongs to the 10th.
    first = visit(mine, owner, datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI))
    assert first.visited_at.astimezone(UTC).date() == date(2026, 3, 9)
    last = visit(mine, owner, datetime(2026, 3, 10, 23, 59, tzinfo=SHANGHAI))
    after = visit(mine, owner, datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI))

    content = services.report_compile(salesperson=owner, kind=ReportKind.DAILY, period_start=day)

    assert visit_ids(content) == {first.pk, last.pk}
    assert content["period_start"] == content["period_end"] == "2026-03-10"
    assert content["totals"] == {"visits": 2, "customers": 1}
    assert before.pk in visit_ids(
        services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 9))
    )
    assert after.pk in visit_ids(
        services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 11))
    )


def test_r3_3_utc_midnight_is_not_the_day_boundary(owner, mine):
    """07:59 Shanghai on the 10th is 23:59 UTC on the 9th: still the 10th's report."""
    early = visit(mine, owner, datetime(2026, 3, 9, 23, 59, tzinfo=UTC))
    content = services.report_compile(salesperson=owner, kind=ReportKind.DAILY, period_start=date(2026, 3, 10))
    assert visit_ids(content) == {early.pk}


def test_r3_3_weekly_report_runs_monday_to_sunday(owner, mine):
    sunday_before = visit(mine, owner, datetime(2026, 3, 8, 23, 59, tzinfo=SHANGHAI))
    monday = visit(mine, owner, datetime(2026, 3, 9, 0, 0, tzinfo=SHANGHAI))
    sunday = visit(mine, owner, datetime(2026, 3, 15, 23, 59, tzinfo=SHANGHAI))
    next_monday = visit(mine, owner, datetime(2026, 3, 16, 0, 0, tzinfo=SHANGHAI))

    # Any day of the week gives the same Monday-to-Sunday report.
    for day in (date(2026, 3, 9), date(2026, 3, 12), date(2026, 3, 15)):
        content = services.report_compile(salesperson=owner, kind=ReportKind.WEEKLY, period_start=day)
        assert (content["period_start"], content["period_end"]) == ("2026-03-09", "2026-03-15")
        assert visit_ids(content) == {monday.pk, sunday.pk}
    assert sunday_before.pk not in visit_ids(content) and next_monday.pk not in visit_ids(content)


def test_r3_3_report_holds_only_the_salespersons_own_visits(owner, teammate, mine, department):
    tracked = pool_customer(department)
    mine_visit = visit(mine, owner, at(date(2026, 3, 10)))
    visit(tracked, teammate, at(date(2026, 3, 10)))
    content = services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 10))
    assert visit_ids(content) == {mine_visit.pk}


def test_r3_3_achievements_problems_and_suggestions_are_compiled(owner, mine):
    visit(
        mine,
        owner,
        at(date(2026, 3, 10), 9),
        achievements="拿到采购清单",
        unsolved_problems="账期要求90天",
        improvements_suggestions="申请阶梯价",
    )
    visit(mine, owner, at(date(2026, 3, 10), 15), achievements="", unsolved_problems="")
    content = services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 10))
    assert content["achievements"] == [{"customer": mine.name, "text": "拿到采购清单"}]
    assert content["unsolved_problems"] == [{"customer": mine.name, "text": "账期要求90天"}]
    assert content["suggestions"] == [{"customer": mine.name, "text": "申请阶梯价"}]


# --- Plan progress (R3.1) ------------------------------------------------------------------------


def test_r3_1_plan_progress_figures(owner):
    a, b, c, d = (owned_customer(owner, since=date(2026, 1, 5)) for _ in range(4))
    services.plan_set(
        salesperson=owner,
        month=date(2026, 3, 1),
        target_count=10,
        customer_ids=[a.pk, b.pk, c.pk],
        user=owner,
        now=at(date(2026, 3, 1)),
    )
    visit(a, owner, at(date(2026, 3, 2)), now=at(date(2026, 4, 2)))
    visit(a, owner, at(date(2026, 3, 12)), now=at(date(2026, 4, 2)))
    visit(d, owner, at(date(2026, 3, 5)), now=at(date(2026, 4, 2)))  # not planned: a visit, not a planned customer
    visit(b, owner, datetime(2026, 2, 28, 23, 59, tzinfo=SHANGHAI), now=at(date(2026, 4, 2)))  # February
    visit(c, owner, datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI), now=at(date(2026, 4, 2)))  # April

    whole = services.plan_progress(salesperson=owner, month=date(2026, 3, 17))
    assert (whole.target, whole.visits_done, whole.customers_planned, whole.customers_visited) == (10, 3, 3, 1)
    assert whole.visits_percent == 30 and whole.customers_percent == 33

    # A report counts progress up to its own last day.
    content = services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 10))
    assert content["progress"] == {
        "month": "2026-03-01",
        "has_plan": True,
        "target": 10,
        "visits_done": 2,
        "customers_planned": 3,
        "customers_visited": 1,
    }


def test_r3_1_no_plan_still_counts_visits(owner, mine):
    visit(mine, owner, at(date(2026, 3, 10)))
    progress = services.plan_progress(salesperson=owner, month=date(2026, 3, 1))
    assert (progress.has_plan, progress.target, progress.visits_done) == (False, 0, 1)


def test_r3_1_manager_sets_a_plan_teammate_and_outsider_may_not(owner, teammate, manager, outsider, mine):
    plan = services.plan_set(
        salesperson=owner, month=date(2026, 3, 15), target_count=20, customer_ids=[mine.pk], user=manager, now=NOW
    )
    assert (plan.month, plan.target_count, plan.set_by) == (date(2026, 3, 1), 20, manager)
    assert list(plan.customers.all()) == [mine]
    for intruder in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.plan_set(
                salesperson=owner, month=date(2026, 3, 1), target_count=5, customer_ids=[], user=intruder, now=NOW
            )
    # Setting it again replaces it: one plan per salesperson and month.
    services.plan_set(salesperson=owner, month=date(2026, 3, 1), target_count=25, customer_ids=[], user=owner, now=NOW)
    plan = VisitPlan.objects.get(salesperson=owner)
    assert plan.target_count == 25 and plan.customers.count() == 0


def test_r3_1_plan_refuses_others_customers_past_months_and_bad_targets(owner, teammate, mine):
    theirs = owned_customer(teammate, since=date(2026, 2, 1))
    with pytest.raises(DomainError):
        services.plan_set(
            salesperson=owner, month=date(2026, 3, 1), target_count=5, customer_ids=[theirs.pk], user=owner, now=NOW
        )
    with pytest.raises(DomainError):
        services.plan_set(
            salesperson=owner, month=date(2026, 2, 1), target_count=5, customer_ids=[], user=owner, now=NOW
        )
    for bad in (-1, 1000):
        with pytest.raises(DomainError):
            services.plan_set(
                salesperson=owner, month=date(2026, 3, 1), target_count=bad, customer_ids=[], user=owner, now=NOW
            )
    assert not VisitPlan.objects.exists()


# --- Frozen reports ----------------------------------------------------------------------------


def submit(user, day=date(2026, 3, 10), kind=ReportKind.DAILY, summary="今日跟进顺利", now=NOW) -> Report:
    return services.report_submit(salesperson=user, kind=kind, period_start=day, summary=summary, user=user, now=now)


def test_r3_3_submitted_report_does_not_change_when_visits_are_edited(owner, mine):
    v = visit(mine, owner, at(date(2026, 3, 10)), discussed="原来的记录", achievements="拿到清单")
    report = submit(owner)
    frozen = dict(report.content)
    assert report.status == ReportStatus.SUBMITTED and report.submitted_at == NOW
    assert frozen["visits"][0]["discussed"] == "原来的记录"

    services.visit_update(
        visit=v,
        user=owner,
        data=VisitInput(visited_at=at(date(2026, 3, 11)), channel=Channel.PHONE, discussed="改过的记录"),
        now=NOW,
    )
    visit(mine, owner, at(date(2026, 3, 10), 16), discussed="补录的拜访")

    report = reload(report)
    assert report.content == frozen
    # The live compilation has moved on; the report has not.
    live = services.report_compile(salesperson=owner, kind="daily", period_start=date(2026, 3, 10))
    assert [x["discussed"] for x in live["visits"]] == ["补录的拜访"]


def test_r3_3_submitted_report_is_not_edited_but_takes_comments(owner, manager, teammate, outsider, mine):
    visit(mine, owner, at(date(2026, 3, 10)))
    report = submit(owner, summary="第一版总结")
    for action in (services.report_submit, services.report_save_draft):
        with pytest.raises(DomainError):
            action(
                salesperson=owner, kind="daily", period_start=date(2026, 3, 10), summary="改总结", user=owner, now=NOW
            )
    assert reload(report).summary == "第一版总结"

    services.report_comment(report=report, user=owner, text="补充：客户下午又来电", now=NOW)
    services.report_comment(report=report, user=manager, text="注意交期", now=NOW)
    assert list(ReportComment.objects.values_list("author__username", flat=True)) == [owner.username, manager.username]
    assert owner.notifications.filter(kind="report_comment").count() == 1
    for intruder in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.report_comment(report=report, user=intruder, text="?", now=NOW)


def test_r3_3_draft_then_submit_and_refusals(owner, manager, mine):
    draft = services.report_save_draft(
        salesperson=owner, kind="weekly", period_start=date(2026, 3, 12), summary="草稿", user=owner, now=NOW
    )
    assert (draft.period_start, draft.period_end, draft.status) == (MONDAY, date(2026, 3, 15), ReportStatus.DRAFT)
    with pytest.raises(DomainError):  # comments come after submission
        services.report_comment(report=draft, user=manager, text="?", now=NOW)
    with pytest.raises(DomainError):  # a summary is needed
        submit(owner, day=MONDAY, kind="weekly", summary="  ")
    with pytest.raises(PermissionDenied):  # nobody submits for someone else
        services.report_submit(
            salesperson=owner, kind="weekly", period_start=MONDAY, summary="x", user=manager, now=NOW
        )
    with pytest.raises(DomainError):  # a period that has not started
        submit(owner, day=date(2026, 3, 21))
    report = submit(owner, day=date(2026, 3, 15), kind="weekly", summary="本周总结")
    assert report.pk == draft.pk and Report.objects.count() == 1


# --- Who may record visits ---------------------------------------------------------------------


def test_r3_2_a_visit_record_holds_every_field_of_the_rule(owner, mine):
    """R3.2: customer, contact, time, channel (visit, phone, WeChat, email, other), what was
    discussed, achievements, problems still unsolved, improvements and suggestions, and the next
    follow-up date, each kept as given."""
    assert set(Channel.values) == {"visit", "phone", "wechat", "email", "other"}
    contact = ContactFactory(customer=mine, name="赵经理")
    when = at(date(2026, 3, 10), 14, 30)
    v = visit(
        mine,
        owner,
        when,
        channel=Channel.WECHAT,
        discussed="微信沟通二季度订单",
        achievements="确认试单 20 台",
        unsolved_problems="付款周期未谈妥",
        improvements_suggestions="希望缩短交期",
        next_follow_up_on=date(2026, 3, 17),
        contact=contact,
    )
    v = Visit.objects.get(pk=v.pk)
    assert (v.customer, v.salesperson, v.contact, v.visited_at, v.channel) == (
        mine,
        owner,
        contact,
        when,
        Channel.WECHAT,
    )
    assert (v.discussed, v.achievements, v.unsolved_problems, v.improvements_suggestions, v.next_follow_up_on) == (
        "微信沟通二季度订单",
        "确认试单 20 台",
        "付款周期未谈妥",
        "希望缩短交期",
        date(2026, 3, 17),
    )


def test_r3_2_visits_to_another_salespersons_customer_are_refused(owner, teammate, outsider, manager, mine):
    """R3.2: a visit record is its salesperson's, for its own customer: nobody records one for another salesperson's
    customer."""
    for intruder in (teammate, outsider, manager):
        with pytest.raises(PermissionDenied):
            visit(mine, intruder, at(date(2026, 3, 10)))
    assert not Visit.objects.exists()
    assert reload(mine).last_contact_at is None


def test_r3_2_pool_customer_may_be_tracked_by_its_departments_salespeople(owner, teammate, outsider, department):
    """R3.2 with R5.7: a department's salespeople record visits to its pool customers; the next follow-up date stays
    the tracker's own."""
    c = pool_customer(department)
    v = visit(c, teammate, at(date(2026, 3, 10)), next_follow_up_on=date(2026, 3, 12))
    c = reload(c)
    assert c.last_contact_at == v.visited_at
    assert c.next_follow_up_on is None  # the row's date is an owner's schedule; the tracker keeps its own
    due = list(selectors.follow_ups_due(user=teammate, today=date(2026, 3, 12)))
    assert due == [c] and due[0].my_next == date(2026, 3, 12)
    assert list(selectors.follow_ups_due(user=owner, today=date(2026, 3, 12))) == []
    with pytest.raises(PermissionDenied):  # another department's pool
        visit(c, outsider, at(date(2026, 3, 10)))


def test_r3_2_visit_record_fields_are_validated(owner, mine, teammate):
    """R3.2: the time is of the past and within a year, what was discussed is required, the channel is one of visit,
    phone, WeChat, email, other, the next follow-up is on or after the visit day, the contact is the customer's."""
    other = owned_customer(teammate, since=date(2026, 2, 1))
    foreign_contact = ContactFactory(customer=other)
    bad = [
        {"when": NOW + timedelta(hours=1)},  # the future
        {"when": NOW - timedelta(days=400)},  # more than a year back
        {"discussed": "   "},
        {"channel": "telegram"},
        {"next_follow_up_on": date(2026, 3, 9)},  # before the visit
        {"contact": foreign_contact},
    ]
    for case in bad:
        when = case.pop("when", at(date(2026, 3, 10)))
        with pytest.raises(DomainError):
            visit(mine, owner, when, **case)
    assert not Visit.objects.exists()


def test_r3_2_only_its_author_corrects_a_visit_record(owner, manager, mine):
    """R3.2: a visit record is corrected by the salesperson who wrote it, not by its manager."""
    v = visit(mine, owner, at(date(2026, 3, 10)))
    with pytest.raises(PermissionDenied):
        services.visit_update(
            visit=v, user=manager, data=VisitInput(visited_at=v.visited_at, channel="phone", discussed="x"), now=NOW
        )


# --- Visits and the ownership clocks (R5.2, R5.4) ----------------------------------------------


def test_r3_2_visit_moves_last_contact_never_the_ownership_clocks(owner, mine):
    """R3.2 with R5.2/R5.4: a visit record moves the customer's last contact and next follow-up date, never its
    ownership clocks."""
    before = Customer.objects.values("owner_id", "owner_basis", "owned_since", "deadline", "sold_in_ownership").get(
        pk=mine.pk
    )
    events = OwnershipEvent.objects.count()
    v = visit(mine, owner, at(date(2026, 3, 10), 15), next_follow_up_on=date(2026, 3, 17))
    after = Customer.objects.values("owner_id", "owner_basis", "owned_since", "deadline", "sold_in_ownership").get(
        pk=mine.pk
    )
    assert after == before
    assert OwnershipEvent.objects.count() == events
    mine = reload(mine)
    assert (mine.last_contact_at, mine.next_follow_up_on) == (v.visited_at, date(2026, 3, 17))

    # An older visit recorded later does not move last contact back nor change the next date.
    visit(mine, owner, at(date(2026, 3, 2)), next_follow_up_on=date(2026, 3, 5))
    mine = reload(mine)
    assert (mine.last_contact_at, mine.next_follow_up_on) == (v.visited_at, date(2026, 3, 17))
    assert mine.deadline == before["deadline"]


def test_r3_2_next_follow_up_dates_due_today_and_overdue(owner, mine):
    """R3.2: the next follow-up date of a visit record brings the customer into the due list on that day and after."""
    later = owned_customer(owner, since=date(2026, 2, 1))
    visit(mine, owner, at(date(2026, 3, 10)), next_follow_up_on=date(2026, 3, 12))
    visit(later, owner, at(date(2026, 3, 10)), next_follow_up_on=date(2026, 3, 20))
    assert list(selectors.follow_ups_due(user=owner, today=date(2026, 3, 12))) == [mine]
    assert set(selectors.follow_ups_due(user=owner, today=date(2026, 3, 25))) == {mine, later}
    assert list(selectors.follow_ups_due(user=owner, today=date(2026, 3, 11))) == []


# --- Visibility (R6.4) -------------------------------------------------------------------------


def test_visibility_of_visits_plans_and_reports(owner, teammate, manager, outsider, admin_user, finance, mine):
    from accounts import roles

    other_manager = UserFactory(role=roles.MANAGER, department=outsider.department)
    v = visit(mine, owner, at(date(2026, 3, 10)))
    services.plan_set(salesperson=owner, month=date(2026, 3, 1), target_count=3, customer_ids=[], user=owner, now=NOW)
    submitted = submit(owner)
    draft = services.report_save_draft(
        salesperson=owner, kind="weekly", period_start=MONDAY, summary="草稿", user=owner, now=NOW
    )
    expectations = {
        owner: (True, True, {submitted.pk, draft.pk}),
        teammate: (False, False, set()),
        outsider: (False, False, set()),
        manager: (True, True, {submitted.pk}),  # drafts stay with their author
        other_manager: (False, False, set()),
        admin_user: (True, True, {submitted.pk}),
        finance: (False, False, set()),
    }
    for user, (sees_visit, sees_plan, reports) in expectations.items():
        assert selectors.visits_visible_to(user).filter(pk=v.pk).exists() is sees_visit, user
        assert selectors.plans_visible_to(user).exists() is sees_plan, user
        assert set(selectors.reports_visible_to(user).values_list("pk", flat=True)) == reports, user
