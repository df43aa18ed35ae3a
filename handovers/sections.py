"""The handover section of the customer file (R7): "in handover to X since D" while an open
handover holds the customer, and the managers' way into a transfer. Registered with
customers.sections."""

from typing import Any

from django.http import HttpRequest

from customers.models import Customer
from customers.sections import Section, register

from .models import HandoverItem, State
from .selectors import handovers_visible_to, manages


def handover_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    user = request.user
    item = None
    if customer.handover_ref is not None:
        item = (
            HandoverItem.objects.filter(
                handover_id=customer.handover_ref, customer=customer, handover__state=State.OPEN
            )
            .select_related("handover", "handover__leaver", "receiver")
            .first()
        )
    can_transfer = (
        item is None
        and customer.owner_id is not None
        and (user.is_admin_role or (user.is_manager and user.department_id == customer.department_id))
    )
    if item is None and not can_transfer:
        return None
    return {
        "item": item,
        "handover": item.handover if item else None,
        "can_open": item is not None and handovers_visible_to(user).filter(pk=item.handover_id).exists(),
        "manages": item is not None and manages(user, item.handover),
        "can_transfer": can_transfer,
    }


register(Section(key="handover", template="handovers/_customer_section.html", order=5, context=handover_context))
