"""The "Visits" section of the customer file (R3.2): the timeline and a quick-entry form,
registered with customers.sections."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.sections import QuickAction, Section, register
from customers.selectors import contacts_of

from .forms import VisitForm
from .selectors import can_record_visit, customer_visits_for

TIMELINE_SIZE = 20


def visits_context(
    request: HttpRequest, customer: Customer, *, form: VisitForm | None = None, saved: bool = False
) -> dict[str, Any] | None:
    user = request.user
    can_record = can_record_visit(user, customer)
    visible = customer_visits_for(user=user, customer=customer)
    if not can_record and not (user.is_manager or user.is_admin_role):
        # Finance and others: no follow-up records here (R6.4); a salesperson who lost the
        # customer no longer sees the section, though its own visits stay in its reports.
        return None
    visits = list(visible.select_related("contact", "salesperson").order_by("-visited_at", "-id")[: TIMELINE_SIZE + 1])
    if can_record and form is None:
        form = VisitForm(contacts=contacts_of(user=user, customer=customer))
    detail = reverse("customers:detail", args=[customer.pk])
    query = urlencode({"customer": customer.pk, "next": detail})
    actions = [
        QuickAction(
            label=_("Log a visit"),
            url=f"{reverse('followups:visit_new')}?{query}",
            icon="bi-chat-left-text",
            order=20,
            style="primary",
        )
    ]
    return {
        "quick_actions": actions if can_record else [],
        "visits": visits[:TIMELINE_SIZE],
        "more": len(visits) > TIMELINE_SIZE,
        "can_record": can_record,
        "form": form if can_record else None,
        "in_pool": customer.owner_id is None,
        "saved": saved,
    }


def _section_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    return visits_context(request, customer)


register(Section(key="visits", template="followups/_customer_section.html", order=20, context=_section_context))
