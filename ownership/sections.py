"""The ownership section of the customer file (R5, R5.12, R7.3), registered with customers.sections."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.dates import local_today
from customers.models import Customer
from customers.sections import QuickAction, Section, register
from customers.selectors import can_see_file

from . import selectors, services
from .models import MissingReleaseNote, PoolSettings


def ownership_context(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    user = request.user
    today = local_today()
    settings = selectors.pool_settings_of(customer.department_id)
    in_pool = customer.owner_id is None
    is_owner = customer.owner_id == user.pk
    manages = user.is_admin_role or (user.is_manager and user.department_id == customer.department_id)
    full = can_see_file(user, customer)
    left = selectors.days_left(customer, today=today)
    # R7: while an open handover holds the customer, only the handover moves it.
    in_handover = customer.handover_ref is not None

    cooloff_until = None
    if in_pool and user.is_salesperson:
        ends = selectors.cooloff_ends(customer=customer, user=user, settings=settings)
        if ends and ends > today:
            cooloff_until = ends

    # R5.12: why it entered the pool and the note of the ownership that ended last. The note's
    # contact details stay hidden from a pool card while pool contacts are masked (R6.4).
    previous_note = selectors.last_release_note(customer) if customer.released_from_id else None
    hide_note_contacts = not full and settings.mask_pool_contacts

    history = list(selectors.history_for(user=user, customer=customer).select_related("release_note__author"))
    current_note = services.current_release_note(customer) if is_owner else None
    owes_note = (
        not is_owner
        and MissingReleaseNote.objects.filter(customer=customer, former_owner=user, note__isnull=True).exists()
    )
    can_claim = in_pool and user.is_salesperson and user.department_id == customer.department_id
    actions = []
    if can_claim and not cooloff_until:
        actions.append(
            QuickAction(
                label=_("Claim"),
                url=reverse("ownership:claim", args=[customer.pk]),
                icon="bi-hand-index",
                order=10,
                post=True,
                style="success",
            )
        )
    return {
        "quick_actions": actions,
        "in_pool": in_pool,
        "is_owner": is_owner,
        "owner": customer.owner,
        "basis": customer.get_owner_basis_display() if customer.owner_basis else "",
        "owned_since": customer.owned_since,
        "deadline": customer.deadline,
        "deadline_extended": customer.deadline_extended,
        "sold_in_ownership": customer.sold_in_ownership,
        "last_sale_on": customer.last_sale_on,
        "days_left": left,
        "warning": left is not None and left <= settings.warning_days,
        "warning_days": settings.warning_days,
        "no_sale_months": PoolSettings.NO_SALE_MONTHS,
        "introduced_by": customer.introduced_by,
        "is_problem": customer.is_problem,
        "problem_reason": customer.problem_reason,
        "release_reason": customer.get_release_reason_display() if customer.release_reason else "",
        "released_at": customer.released_at,
        "released_from": customer.released_from if customer.released_from_id else None,
        "previous_note": previous_note,
        "hide_note_contacts": hide_note_contacts,
        # R6.4: the problem reason belongs to the file (owner, managers, admins).
        "sees_file": full,
        "cooloff_until": cooloff_until,
        "history": history,
        "current_note": current_note,
        "can_claim": can_claim,
        "in_handover": in_handover,
        "can_release": is_owner and not in_handover,
        "owes_note": owes_note,
        "can_assign": manages and in_pool,
        "can_mark_problem": (manages or user.is_finance) and not customer.is_problem and not in_handover,
        "can_clear_problem": (manages or user.is_finance) and customer.is_problem,
        "can_extend": manages
        and not in_pool
        and not in_handover
        and customer.deadline is not None
        and not customer.deadline_extended,
    }


register(Section(key="ownership", template="ownership/_customer_section.html", order=10, context=ownership_context))
