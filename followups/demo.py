"""Demo follow-ups: monthly visit plans, visits of owned customers on working days, and the last
weeks' daily and weekly reports with a manager's comments, all through the real services on the
days of the ownership replay (ownership.demo calls the hook registered here)."""

import contextlib
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from crm.dates import local_today
from crm.demo import DemoContext, demo_step
from crm.errors import DomainError
from customers.models import Customer

from . import services
from .models import Channel, ReportKind

TOPICS = [
    "介绍了新一代产品的技术参数和报价方案",
    "对方反馈上批货物的质量情况，整体满意",
    "沟通了下季度的采购计划和交货周期",
    "讨论了年度框架协议的付款条款",
    "陪同对方技术负责人参观了样品，答疑",
    "了解到对方正在评估两家供应商，我方价格略高",
    "确认了样品测试结果，对方准备小批量试单",
    "对方采购换人，重新建立联系并介绍公司情况",
    "沟通售后服务响应时间和备件供应",
    "对方询问能否提供定制化包装",
]
ACHIEVEMENTS = [
    "对方同意安排下周技术交流",
    "拿到了下季度采购需求清单",
    "对方口头确认试单意向，约20万元",
    "加上了采购总监的微信",
    "对方同意将我司列入合格供应商名录",
    "",
    "",
]
PROBLEMS = [
    "对方要求账期延长至90天，需请示财务",
    "报价比竞争对手高约8%",
    "交货期要求15天，目前产能紧张",
    "决策人尚未接触到",
    "",
    "",
    "",
]
SUGGESTIONS = [
    "建议申请阶梯价格政策，提高竞争力",
    "建议技术部派工程师一同拜访",
    "建议准备一份同行业成功案例",
    "建议公司优化样品申请流程",
    "",
    "",
    "",
]
SUMMARIES = [
    "今日重点跟进老客户续单，整体进展顺利，明日继续跟进报价反馈。",
    "本日拜访客户反馈良好，价格仍是主要障碍，需要公司政策支持。",
    "完成计划拜访，新增一个意向客户，下周安排技术交流。",
    "本周完成大部分计划拜访，两家客户进入试单阶段，回款跟进正常。",
]
COMMENTS = [
    "进展不错，试单客户要盯紧交期。",
    "价格问题我来协调，请整理竞品报价发我。",
    "本周拜访量偏少，下周注意完成计划。",
    "收到，注意跟进回款。",
]
DAILY_REPORT_DAYS = 12  # daily reports for the last working days
WEEKLY_REPORT_DAYS = 35  # weekly reports for the last weeks


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def _plan_month(ctx: DemoContext, day: date, salesperson, manager) -> None:
    owned = list(Customer.objects.filter(owner=salesperson).values_list("pk", flat=True)[:40])
    picked = ctx.rng.sample(owned, min(len(owned), ctx.rng.randint(5, 10)))
    setter = manager if ctx.rng.random() < 0.3 else salesperson
    with contextlib.suppress(DomainError):
        services.plan_set(
            salesperson=salesperson,
            month=day,
            target_count=ctx.rng.choice([20, 25, 30, 40]),
            customer_ids=picked,
            user=setter,
            now=_at(day, 9),
        )


def _visits(ctx: DemoContext, day: date, salesperson) -> None:
    rng = ctx.rng
    owned = list(Customer.objects.filter(owner=salesperson).prefetch_related("contacts")[:60])
    if not owned:
        return
    for i, customer in enumerate(rng.sample(owned, min(len(owned), rng.randint(0, 3)))):
        contacts = list(customer.contacts.all())
        when = _at(day, 9 + 2 * i + rng.randint(0, 1), rng.choice([0, 15, 30, 45]))
        data = services.VisitInput(
            visited_at=when,
            channel=rng.choice([Channel.VISIT, Channel.VISIT, Channel.PHONE, Channel.WECHAT, Channel.EMAIL]),
            discussed=rng.choice(TOPICS),
            achievements=rng.choice(ACHIEVEMENTS),
            unsolved_problems=rng.choice(PROBLEMS),
            improvements_suggestions=rng.choice(SUGGESTIONS),
            next_follow_up_on=day + timedelta(days=rng.choice([3, 7, 7, 14, 30])) if rng.random() < 0.8 else None,
            contact=contacts[0] if contacts and rng.random() < 0.8 else None,
        )
        with contextlib.suppress(DomainError):
            services.visit_record(customer=customer, user=salesperson, data=data, now=when + timedelta(minutes=30))


def _daily_report(ctx: DemoContext, day: date, salesperson, manager) -> None:
    rng = ctx.rng
    if rng.random() < 0.8:
        with contextlib.suppress(DomainError):
            report = services.report_submit(
                salesperson=salesperson,
                kind=ReportKind.DAILY,
                period_start=day,
                summary=rng.choice(SUMMARIES[:3]),
                user=salesperson,
                now=_at(day, 18, rng.randint(0, 50)),
            )
            if rng.random() < 0.3:
                services.report_comment(report=report, user=manager, text=rng.choice(COMMENTS), now=_at(day, 21))


def _weekly_report(ctx: DemoContext, day: date, salesperson, manager) -> None:
    """Friday evening: the week's report."""
    rng = ctx.rng
    if rng.random() < 0.9:
        with contextlib.suppress(DomainError):
            report = services.report_submit(
                salesperson=salesperson,
                kind=ReportKind.WEEKLY,
                period_start=day,
                summary=SUMMARIES[3],
                user=salesperson,
                now=_at(day, 19),
            )
            services.report_comment(
                report=report, user=manager, text=rng.choice(COMMENTS), now=_at(day + timedelta(days=1), 10)
            )


def daily_follow_ups(ctx: DemoContext, day: date, created) -> None:
    """Called by the ownership replay for each day of the half year."""
    today = local_today()
    planned: set = ctx.data.setdefault("followups_planned", set())
    for dept in ctx.data["departments"]:
        manager = ctx.data["managers"][dept.pk]
        for salesperson in ctx.data["salespeople"][dept.pk]:
            key = (salesperson.pk, day.year, day.month)
            if key not in planned and (day.day >= 3 or (today - day).days < 3):
                planned.add(key)
                _plan_month(ctx, day, salesperson, manager)
            if day.weekday() >= 5:
                continue
            _visits(ctx, day, salesperson)
            if day < today and (today - day).days <= DAILY_REPORT_DAYS:
                _daily_report(ctx, day, salesperson, manager)
            if day < today and day.weekday() == 4 and (today - day).days <= WEEKLY_REPORT_DAYS:
                _weekly_report(ctx, day, salesperson, manager)


@demo_step(26)
def follow_ups(ctx: DemoContext) -> None:
    """Registers the daily hook before the replay (order 30) runs."""
    hooks = ctx.data.setdefault("daily_hooks", [])
    if daily_follow_ups not in hooks:
        hooks.append(daily_follow_ups)
