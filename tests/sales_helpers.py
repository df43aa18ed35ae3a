"""Builders for the sales tests."""

from datetime import date
from decimal import Decimal

from sales import services

from .helpers import at


def record(customer, salesperson, amount="10000.00", *, day: date, description="工业控制器 10 台"):
    return services.order_create(
        customer=customer,
        user=salesperson,
        amount=Decimal(amount),
        deal_date=day,
        description=description,
        now=at(day, 9),
    )


def confirm(order, finance, amount=None, *, day: date, received_on: date | None = None):
    return services.payment_confirm(
        order=order,
        user=finance,
        amount=Decimal(amount) if amount is not None else order.outstanding,
        received_on=received_on or day,
        now=at(day, 14),
    )
