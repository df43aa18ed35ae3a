"""The sales section of the customer file (R4.4), registered with customers.sections."""

from typing import Any

from django.http import HttpRequest

from customers.models import Customer
from customers.sections import Section, register

from . import selectors


def sales_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    user = request.user
    summary = selectors.sales_summary(user=user, customer=customer)
    if summary is None:  # R6.4: the sales summary is part of the file
        return None
    return {
        "summary": summary,
        "can_record": user.is_salesperson and customer.owner_id == user.pk,
        "is_finance": user.is_finance,
    }


register(Section(key="sales", template="sales/_customer_section.html", order=20, context=sales_context))
