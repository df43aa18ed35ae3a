"""The sales section of the customer file (R4.4), registered with customers.sections."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.sections import QuickAction, Section, register

from . import selectors


def sales_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    user = request.user
    summary = selectors.sales_summary(user=user, customer=customer)
    if summary is None:  # R6.4: the sales summary is part of the file
        return None
    can_record = user.is_salesperson and customer.owner_id == user.pk
    order = QuickAction(
        label=_("Record order"), url=reverse("sales:order_create", args=[customer.pk]), icon="bi-cart-plus", order=30
    )
    return {
        "quick_actions": [order] if can_record else [],
        "summary": summary,
        "can_record": can_record,
        "is_finance": user.is_finance,
    }


register(Section(key="sales", template="sales/_customer_section.html", order=20, context=sales_context))
