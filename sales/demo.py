"""Demo sales for `seed_demo`: during the ownership step's half-year replay, owners record orders
and finance confirms payments (in full or in parts) on later days, now and then reversing one,
all through the real services at those past moments. Tiers, first-order ownership (R5.3),
receivables and commission statements then look like a department's last half year."""

import contextlib
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from crm.demo import DemoContext, demo_step
from crm.errors import DomainError

from . import services
from .models import Order, OrderStatus, Payment

PRODUCTS = ["工业控制器", "伺服电机", "传感器模组", "PLC 模块", "变频器", "线缆及接插件", "检测设备", "备品备件"]
REVERSAL_REASONS = ["银行退票，款项未到账", "误将其他客户的回款登记到此订单", "客户撤回付款，需重新核对"]


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=timezone.get_current_timezone())


def _amount(ctx: DemoContext) -> Decimal:
    # Mostly mid-sized orders, a few large ones, so every tier shows up.
    base = ctx.rng.choice([6000, 9800, 12000, 18000, 26000, 35000, 48000, 65000, 120000])
    return Decimal(base + ctx.rng.randint(0, 40) * 100)


def sales_day(ctx: DemoContext, day, created) -> None:
    rng = ctx.rng
    finance = ctx.data["finance"]
    buyers: list = ctx.data.setdefault("sales_buyers", [])
    # Orders: a couple a day, repeat buyers more likely than new ones.
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        pool = buyers if buyers and rng.random() < 0.45 else created
        if not pool:
            break
        customer, _dept = rng.choice(pool)
        customer.refresh_from_db()
        if customer.owner_id is None or rng.random() < 0.2:
            continue
        lines = "、".join(rng.sample(PRODUCTS, rng.randint(1, 3)))
        with contextlib.suppress(DomainError):
            services.order_create(
                customer=customer,
                user=customer.owner,
                amount=_amount(ctx),
                deal_date=day - timedelta(days=rng.randint(0, 3)),
                description=f"{lines}，含税，交货期 {rng.choice([7, 15, 30])} 天",
                now=_at(day, 11),
            )
            if (customer, _dept) not in buyers:
                buyers.append((customer, _dept))
    # Finance confirms what came in: open orders recorded 2-20 days ago, in full or in parts.
    open_orders = list(
        Order.objects.exclude(status=OrderStatus.PAID)
        .filter(created_at__lt=_at(day - timedelta(days=2), 0), created_at__gte=_at(day - timedelta(days=40), 0))
        .order_by("created_at", "id")[:40]
    )
    for order in open_orders:
        # New orders get paid soon; the rest of a part-paid order comes slowly (receivables).
        if rng.random() > (0.25 if order.paid_amount == 0 else 0.04):
            continue
        part = order.outstanding if rng.random() < 0.6 else (order.outstanding * Decimal("0.4")).quantize(Decimal("1"))
        with contextlib.suppress(DomainError):
            services.payment_confirm(
                order=order,
                user=finance,
                amount=max(part, Decimal(1)),
                received_on=day - timedelta(days=rng.randint(0, 2)),
                now=_at(day, 14),
            )
    # Now and then a confirmation from the last days turns out wrong (R8.2).
    if rng.random() < 0.04:
        recent = (
            Payment.objects.filter(reversed_at__isnull=True, confirmed_at__gte=_at(day - timedelta(days=5), 0))
            .order_by("id")
            .first()
        )
        if recent is not None:
            with contextlib.suppress(DomainError):
                services.payment_reverse(
                    payment=recent, user=finance, reason=rng.choice(REVERSAL_REASONS), now=_at(day, 16)
                )


@demo_step(25)
def sales_hook(ctx: DemoContext) -> None:
    hooks = ctx.data.setdefault("daily_hooks", [])
    if sales_day not in hooks:
        hooks.append(sales_day)
