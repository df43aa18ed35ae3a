"""Writes to customers, contacts and credit status (never the ownership columns)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from crm.errors import DomainError, PermissionDenied

from .models import Contact, CreditStatus, CreditStatusChange, Customer
from .selectors import can_edit
from .validators import normalize_company_name, normalize_credit_code, normalize_phone

CUSTOMER_FIELDS = (
    "name",
    "credit_code",
    "industry",
    "province",
    "city",
    "address",
    "source",
    "source_detail",
    "is_long_term",
    "notes",
)
CONTACT_FIELDS = ("name", "position", "phone", "email", "wechat", "is_primary")


@dataclass(frozen=True)
class Duplicate:
    customer: Customer
    matched_on: str  # "credit_code" | "name" | "phone"

    def message(self) -> str:
        name = self.customer.name
        if self.customer.owner_id is None:
            pooled = {
                "credit_code": _(
                    "Not registered: %(name)s already has this unified social credit code and is in the customer "
                    "pool, where it can be claimed."
                ),
                "name": _(
                    "Not registered: %(name)s already exists under this company name and is in the customer pool, "
                    "where it can be claimed."
                ),
                "phone": _(
                    "Not registered: %(name)s already has a contact with this phone and is in the customer pool, "
                    "where it can be claimed."
                ),
            }[self.matched_on]
            return pooled % {"name": name}
        owned = {
            "credit_code": _(
                "Not registered: %(name)s already has this unified social credit code and is owned by %(owner)s."
            ),
            "name": _("Not registered: %(name)s already exists under this company name and is owned by %(owner)s."),
            "phone": _("Not registered: %(name)s already has a contact with this phone and is owned by %(owner)s."),
        }[self.matched_on]
        return owned % {"name": name, "owner": self.customer.owner}


class DuplicateCustomer(DomainError):
    def __init__(self, duplicate: Duplicate) -> None:
        super().__init__(duplicate.message())
        self.duplicate = duplicate


def customer_find_duplicate(
    *,
    name: str,
    credit_code: str | None = None,
    phones: list[str] | tuple[str, ...] = (),
    exclude_pk: int | None = None,
) -> Duplicate | None:
    """R5.1: the same credit code, the same normalised company name, or the same contact phone,
    anywhere in the company (a company is one customer whichever department met it first)."""
    qs = Customer.objects.select_related("owner")
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    code = normalize_credit_code(credit_code or "")
    if code:
        found = qs.filter(credit_code=code).first()
        if found:
            return Duplicate(found, "credit_code")
    key = normalize_company_name(name)
    if key:
        found = qs.filter(name_key=key).first()
        if found:
            return Duplicate(found, "name")
    digits = [d for d in (normalize_phone(p) for p in phones) if len(d) >= 7]
    if digits:
        found = qs.filter(contacts__phone_digits__in=digits).first()
        if found:
            return Duplicate(found, "phone")
    return None


def customer_create(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    department_id: int,
    created_by: User | None,
    now: datetime | None = None,
) -> Customer:
    """Create a customer with its contacts after the duplicate check. Ownership is set by the
    caller (ownership.services) in the same transaction."""
    dup = customer_find_duplicate(
        name=data["name"], credit_code=data.get("credit_code"), phones=[c.get("phone", "") for c in contacts]
    )
    if dup:
        raise DuplicateCustomer(dup)
    fields = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    fields["credit_code"] = normalize_credit_code(fields.get("credit_code") or "") or None
    customer = Customer(department_id=department_id, created_by=created_by, **fields)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # A simultaneous registration of the same code won the unique index.
        raise DomainError(_("Not registered: a customer with this credit code was registered a moment ago.")) from exc
    for contact in contacts:
        _contact_save(Contact(customer=customer), contact)
    return customer


def _contact_save(contact: Contact, data: dict[str, Any]) -> Contact:
    for k in CONTACT_FIELDS:
        if k in data:
            setattr(contact, k, data[k] or ("" if k != "is_primary" else False))
    if not (contact.phone or contact.email or contact.wechat):
        raise DomainError(_("A contact needs a phone, an email or a WeChat ID (R4.2)."))
    contact.save()
    return contact


def _require_edit(user: User, customer: Customer) -> None:
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may not change this customer."))


@transaction.atomic
def customer_update(*, customer: Customer, user: User, data: dict[str, Any]) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    _require_edit(user, customer)
    new_code = normalize_credit_code(data.get("credit_code") or "") or None
    dup = customer_find_duplicate(name=data.get("name", customer.name), credit_code=new_code, exclude_pk=customer.pk)
    if dup and dup.matched_on != "phone":
        raise DuplicateCustomer(dup)
    for k in CUSTOMER_FIELDS:
        if k in data:
            setattr(customer, k, data[k])
    customer.credit_code = new_code
    customer.save()
    return customer


@transaction.atomic
def contact_add(*, customer: Customer, user: User, data: dict[str, Any]) -> Contact:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    _require_edit(user, customer)
    digits = normalize_phone(data.get("phone") or "")
    if len(digits) >= 7:
        clash = (
            Customer.objects.filter(contacts__phone_digits=digits)
            .exclude(pk=customer.pk)
            .select_related("owner")
            .first()
        )
        if clash:
            raise DuplicateCustomer(Duplicate(clash, "phone"))
    if data.get("is_primary"):
        customer.contacts.update(is_primary=False)
    return _contact_save(Contact(customer=customer), data)


@transaction.atomic
def contact_update(*, contact: Contact, user: User, data: dict[str, Any]) -> Contact:
    customer = Customer.objects.select_for_update().get(pk=contact.customer_id)
    _require_edit(user, customer)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    digits = normalize_phone(data.get("phone") or "")
    if len(digits) >= 7:
        clash = (
            Customer.objects.filter(contacts__phone_digits=digits)
            .exclude(pk=customer.pk)
            .select_related("owner")
            .first()
        )
        if clash:
            raise DuplicateCustomer(Duplicate(clash, "phone"))
    if data.get("is_primary"):
        customer.contacts.exclude(pk=contact.pk).update(is_primary=False)
    return _contact_save(contact, data)


@transaction.atomic
def contact_delete(*, contact: Contact, user: User) -> None:
    customer = Customer.objects.select_for_update().get(pk=contact.customer_id)
    _require_edit(user, customer)
    contact.delete()


@transaction.atomic
def customer_set_credit_status(
    *, customer: Customer, user: User, status: str, note: str, now: datetime | None = None
) -> Customer:
    """R4.3: owner, manager or finance change the payment credit; every change is kept."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not (user.is_finance or user.is_admin_role or can_edit(user, customer)):
        raise PermissionDenied(_("You may not change this customer's credit status."))
    if status not in CreditStatus.values:
        raise DomainError(_("Unknown credit status."))
    if status == customer.credit_status:
        raise DomainError(
            _("The credit status is already %(status)s.") % {"status": customer.get_credit_status_display()}
        )
    if not note.strip():
        raise DomainError(_("Say why the credit status changes."))
    CreditStatusChange.objects.create(
        customer=customer,
        old_status=customer.credit_status,
        new_status=status,
        note=note.strip(),
        changed_by=user,
        changed_at=now or timezone.now(),
    )
    customer.credit_status = status
    customer.credit_note = note.strip()
    customer.save(update_fields=["credit_status", "credit_note", "updated_at"])
    return customer


def customer_record_contact(*, customer: Customer, at: datetime, next_follow_up_on: date | None = None) -> None:
    """A visit, call or message happened (R3.2): "last contact" moves forward, never back, and the
    next follow-up date is the one the latest visit set. Ownership clocks are not touched: only a
    confirmed sale moves them (R5.2, R5.4)."""
    Customer.objects.filter(pk=customer.pk).filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lte=at)).update(
        last_contact_at=at, next_follow_up_on=next_follow_up_on
    )


PHONE_MATCH_CAP = 1000


def customer_search_q(query: str) -> Q:
    """The search box (R5.7): name substring of two characters or more, phone digits, credit
    code prefix. On PostgreSQL the name part is served by the bigram index (see migrations).

    Phone matches are looked up first, as a capped list of ids: an `OR pk IN (subquery)` would
    stop PostgreSQL from combining the three indexes and walk the whole pool instead."""
    from .search import name_contains_q

    query = (query or "").strip()[:100]
    if not query:
        return Q()
    cond = name_contains_q(query)
    code = normalize_credit_code(query)
    if code.isascii() and code.isalnum() and len(code) >= 2:
        cond |= Q(credit_code__startswith=code)
    digits = normalize_phone(query)
    if len(digits) >= 4 and digits == query.replace("-", "").replace(" ", "").lstrip("+"):
        ids = list(
            Contact.objects.filter(phone_digits__startswith=digits)
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()[:PHONE_MATCH_CAP]
        )
        if ids:
            cond |= Q(pk__in=ids)
    return cond
