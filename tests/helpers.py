"""Small builders for ownership states, shared by the ownership tests."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Model

from customers.models import Basis, Customer, ReleaseReason
from ownership.services import compute_deadline

from .factories import ContactFactory, CustomerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware moment on a Shanghai calendar day."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def pool_customer(
    department, *, released_from=None, reason=ReleaseReason.NO_DEAL, released_on: date | None = None, **kw
) -> Customer:
    released_at = at(released_on or date(2026, 1, 5), 1, 0)
    customer = CustomerFactory(
        department=department,
        owner=None,
        released_at=released_at,
        release_reason=reason,
        released_from=released_from,
        **kw,
    )
    ContactFactory(customer=customer)
    return customer


def owned_customer(
    owner, *, since: date, basis=Basis.CLAIMED, sold: bool = False, last_sale_on: date | None = None, **kw
) -> Customer:
    """A customer in the state the services leave it in after `owner` took it on `since`."""
    deadline = compute_deadline(owned_since=since, sold_in_ownership=sold, last_sale_on=last_sale_on)
    return CustomerFactory(
        department=owner.department,
        owner=owner,
        owner_basis=basis,
        owned_since=since,
        deadline=deadline,
        sold_in_ownership=sold,
        last_sale_on=last_sale_on,
        **kw,
    )


def reload(obj: Model) -> Model:
    obj.refresh_from_db()
    return obj
