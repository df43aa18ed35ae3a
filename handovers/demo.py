"""Demo handovers for `seed_demo` (R7): a completed resignation (孙悦 left: her customers went to two
colleagues and one to the pool, with notes, confirmations and her account deactivated) and an open
transfer (刘洋 changes position: three customers on their way to 陈浩, notes half written, one
confirmed). Everything through the real services, today, after the ownership replay."""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import roles
from accounts.models import User
from crm.demo import DEMO_PASSWORD, DemoContext, demo_step
from customers.models import Customer
from ownership.services import customer_assign
from sales.models import Order, OrderStatus

from . import services
from .models import Handover, HandoverItem

NOTES = [
    services.NoteInput(
        situation="老客户，每季度固定采购伺服电机，明年有扩产计划",
        key_contacts="采购部钱经理（决策前先找他），电话在联系人里；技术对接是李工",
        stage="年度框架协议已报价，等对方财务审批",
        receivables_note="上月一笔货款还差四成，对方答应月底前付清",
        promises="答应下个月安排一次工厂参观",
    ),
    services.NoteInput(
        situation="新客户，试用了两台控制器，反馈不错",
        key_contacts="王总亲自拍板，微信沟通最快",
        stage="样机试用结束，准备谈首批订单",
        promises="首单给九五折",
    ),
    services.NoteInput(
        situation="预算紧，今年采购意向不大",
        key_contacts="行政兼采购张姐",
        stage="只做过一次电话介绍",
    ),
]


def _leaver(department) -> User:
    user, created = User.objects.get_or_create(
        username="sunyue",
        defaults={"display_name": "孙悦", "department": department, "email": "sunyue@demo.example.cn"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=roles.SALESPERSON)[0])
    return user


@demo_step(50)
def handovers(ctx: DemoContext) -> None:
    if Handover.objects.exists():
        ctx.log("  handovers already seeded; nothing added")
        return
    department = ctx.data["departments"][0]
    manager = ctx.data["managers"][department.pk]
    people = {u.username: u for u in ctx.data["salespeople"][department.pk]}
    now = timezone.now()

    # A completed resignation. 孙悦 took over five pool customers (those with receivables first) …
    leaver = _leaver(department)
    with_receivables = Order.objects.filter(
        confirmed_on__isnull=False, customer__owner__isnull=True, customer__department=department
    ).exclude(status=OrderStatus.PAID)
    pool = Customer.objects.filter(department=department, owner__isnull=True, is_problem=False)
    chosen = list(pool.filter(pk__in=with_receivables.values("customer_id")).order_by("pk")[:2])
    chosen += [c for c in pool.order_by("-released_at", "pk")[:10] if c not in chosen][: 5 - len(chosen)]
    for i, customer in enumerate(chosen):
        customer_assign(
            customer=customer,
            manager=manager,
            to_user=leaver,
            relationship=False,
            now=now - timedelta(hours=9, minutes=i),
        )
    # … then resigned: notes, receivers, confirmations, completion.
    done = services.handover_open(
        kind="resignation",
        leaver=leaver,
        manager=manager,
        note="本月底离职，客户全部交接",
        now=now - timedelta(hours=8),
    )
    items = list(HandoverItem.objects.filter(handover=done).order_by("pk"))
    for i, item in enumerate(items):
        # A customer that owes money gets the note that says how it will be paid.
        note = NOTES[0] if item.receivable_orders else NOTES[1 + i % 2]
        services.handover_write_note(item=item, user=leaver, data=note, now=now - timedelta(hours=7, minutes=i))
    zhangwei, lina = people["zhangwei"], people["lina"]
    services.handover_send(
        handover=done,
        manager=manager,
        item_ids=[i.pk for i in items[:2]],
        receiver=zhangwei,
        now=now - timedelta(hours=6),
    )
    services.handover_send(
        handover=done,
        manager=manager,
        item_ids=[i.pk for i in items[2:-1]],
        receiver=lina,
        now=now - timedelta(hours=6),
    )
    services.handover_send(
        handover=done, manager=manager, item_ids=[items[-1].pk], to_pool=True, now=now - timedelta(hours=6)
    )
    services.handover_confirm(handover=done, user=zhangwei, now=now - timedelta(hours=5))
    services.handover_confirm(handover=done, user=lina, now=now - timedelta(hours=4))
    services.handover_complete(handover=done, manager=manager, now=now - timedelta(hours=3))

    # An open transfer: 刘洋 moves to key accounts; three of his customers go to 陈浩.
    liuyang, chenhao = people["liuyang"], people["chenhao"]
    mine = list(Customer.objects.filter(owner=liuyang, handover_ref__isnull=True).order_by("pk")[:3])
    if mine:
        moving = services.handover_open(
            kind="transfer",
            leaver=liuyang,
            manager=manager,
            reason="position",
            customer_ids=[c.pk for c in mine],
            receiver=chenhao,
            note="刘洋调往大客户部",
            now=now - timedelta(hours=2),
        )
        moving_items = list(HandoverItem.objects.filter(handover=moving).order_by("pk"))
        for i, item in enumerate(moving_items[:2]):
            note = NOTES[0] if item.receivable_orders else NOTES[1]
            services.handover_write_note(item=item, user=liuyang, data=note, now=now - timedelta(hours=1, minutes=i))
        services.handover_confirm(
            handover=moving, user=chenhao, item_ids=[moving_items[0].pk], now=now - timedelta(minutes=30)
        )
    ctx.log(f"  {Handover.objects.count()} handovers (孙悦's resignation completed, 刘洋's transfer open)")
