"""Demo service requests (R6): open, overdue, planned, referred and closed ones for existing demo
customers and an unknown caller, logged through the real services on recent days."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from crm.dates import local_today
from crm.demo import DemoContext, demo_step
from crm.errors import DomainError, PermissionDenied
from customers.models import Customer

from . import services
from .models import RequestChannel, RequestKind, ServiceRequest

TEXTS = {
    RequestKind.COMPLAINT: [
        "上月到货的控制器有3台无法开机，要求尽快换货并说明原因。",
        "发票抬头开错，财务无法入账，请重新开具。",
        "送货司机态度不好，卸货时损坏了外包装。",
    ],
    RequestKind.CONSULTATION: [
        "咨询新款产品的交货周期和最小起订量。",
        "询问能否提供出口报关所需的产品认证文件。",
        "想了解年度框架协议的付款方式。",
    ],
    RequestKind.CALL: ["来电确认下周的送货时间。", "来电要求补寄产品说明书。"],
    RequestKind.VISIT: ["客户采购经理来访，希望参观生产线并了解质检流程。"],
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


@demo_step(40)
def service_requests(ctx: DemoContext) -> None:
    if ServiceRequest.objects.exists():
        ctx.log("  service requests already seeded; nothing added")
        return
    today = local_today()
    rng = ctx.rng
    count = 0
    for dept in ctx.data.get("departments", []):
        manager = ctx.data["managers"][dept.pk]
        for n, person in enumerate(ctx.data["salespeople"][dept.pk][:4]):
            customers = list(Customer.objects.filter(owner=person).order_by("id")[:4])
            for i, customer in enumerate(customers):
                kind = rng.choice(list(TEXTS))
                day = today - timedelta(days=rng.randint(0, 6))
                now = _at(day, 9 + i, 10 * n)
                try:
                    req = services.request_log(
                        user=person,
                        data=services.RequestInput(
                            kind=kind,
                            channel=rng.choice([RequestChannel.PHONE, RequestChannel.WECHAT, RequestChannel.IN_PERSON]),
                            text=rng.choice(TEXTS[kind]),
                        ),
                        customer=customer,
                        now=now,
                    )
                    step = (i + n) % 4
                    later = now + timedelta(hours=1)
                    if step == 0:
                        services.request_solve(request=req, user=person, text="当场解答，客户满意。", now=later)
                    elif step == 1:
                        services.request_plan(
                            request=req,
                            user=person,
                            expected_on=today + timedelta(days=rng.randint(1, 5)),
                            told_customer="已告知客户：技术部检测后给出处理方案。",
                            now=later,
                        )
                    elif step == 2:
                        services.request_refer(
                            request=req,
                            user=person,
                            reason="属于售后服务范围，已转售后部处理，告知客户两日内回电。",
                            person=manager,
                            now=later,
                        )
                        services.request_add_note(
                            request=req, user=manager, text="已安排售后工程师联系客户。", now=later
                        )
                    # step 3: left open; older ones are overdue under the time standard.
                    count += 1
                except (DomainError, PermissionDenied) as exc:
                    ctx.log(f"  skipped a request: {exc}")
        # An unknown caller, not (yet) a customer.
        caller = ctx.data["salespeople"][dept.pk][0]
        services.request_log(
            user=caller,
            data=services.RequestInput(
                kind=RequestKind.CONSULTATION,
                channel=RequestChannel.PHONE,
                text="来电咨询产品报价，尚未决定是否合作。",
                caller_name="马先生",
                caller_phone="13912345678",
                caller_company="昆山某电子厂",
            ),
            now=_at(today - timedelta(days=3), 15),
        )
        count += 1
    ctx.log(f"  {count} service requests")
    # What last night's job would have told (R6.3): the overdue ones reach their responsible
    # persons' and managers' notifications, dated this morning.
    told = services.requests_notify_overdue(as_of=today, now=_at(today, 1, 45))
    ctx.log(f"  {told} overdue, notified")
