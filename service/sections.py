"""The "Service requests" section of the customer file (R6), registered with customers.sections."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.dates import local_today
from customers.models import Customer
from customers.sections import QuickAction, Section, register

from .selectors import requests_visible_to

SECTION_SIZE = 10


def service_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    user = request.user
    rows = list(
        requests_visible_to(user)
        .filter(customer=customer)
        .select_related("responsible")
        .order_by("-created_at", "-id")[: SECTION_SIZE + 1]
    )
    can_log = user.is_salesperson or user.is_manager or user.is_finance or user.is_admin_role
    if not rows and not can_log:
        return None
    today = local_today()
    for row in rows:
        row.overdue = row.is_open and row.due_on < today
    log = QuickAction(
        label=_("Log a request"),
        url=f"{reverse('service:new')}?customer={customer.pk}",
        icon="bi-headset",
        order=40,
    )
    return {
        "quick_actions": [log] if can_log else [],
        "requests": rows[:SECTION_SIZE],
        "more": len(rows) > SECTION_SIZE,
        "can_log": can_log,
    }


register(Section(key="service", template="service/_customer_section.html", order=40, context=service_context))
