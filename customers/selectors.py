"""Reads of customers, always scoped to the requesting user (R6.4)."""

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User

from .models import Contact, Customer, CustomerDocument

EXPIRY_WARNING_DAYS = 30  # R4.1: documents expiring within this many days are flagged


def customers_visible_to(user: User) -> QuerySet[Customer]:
    """The one rule of who sees which customer (R6.4); every list, detail, filter choice list,
    export and autocomplete starts here.

    Admins and finance see every department (finance confirms payments company-wide), a manager
    its department, a salesperson its own customers and its department's pool.
    """
    qs = Customer.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin_role or user.is_finance:
        return qs
    if user.is_manager:
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    if user.is_salesperson and user.department_id:
        return qs.filter(Q(owner=user) | Q(owner__isnull=True, department_id=user.department_id))
    return qs.none()


def customer_for_user(*, user: User, pk: int) -> Customer:
    """A customer the user may see, or 404: another salesperson's customer does not exist for it."""
    try:
        return customers_visible_to(user).select_related("owner", "department", "released_from").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def can_see_file(user: User, customer: Customer) -> bool:
    """R6.4: the customer's file (documents, unmasked contacts, notes) belongs to the owner, the
    managers of its department and admins; a pool customer's card alone is for every salesperson.
    Finance sees sales and credit only (`can_see_sales_and_credit`)."""
    if user.is_admin_role:
        return True
    if user.is_manager:
        return user.department_id == customer.department_id
    return customer.owner_id == user.pk


def file_visible_q(user: User, *, prefix: str = "") -> Q:
    """`can_see_file` as a query condition, on customers (or, with prefix="customer__", on their
    contacts or documents): the owner, its department's managers, admins."""
    if user.is_admin_role:
        # Always true, yet not the empty Q(), which an OR would drop.
        return Q(**{f"{prefix}pk__isnull": False})
    if user.is_manager:
        return Q(**{f"{prefix}department_id": user.department_id}) if user.department_id else Q(pk__in=[])
    return Q(**{f"{prefix}owner_id": user.pk})


def can_see_sales_and_credit(user: User, customer: Customer) -> bool:
    """R6.4 "finance (sales and credit)": orders, payments, receivables, tier and the credit status
    with its history; finance sees them company-wide (it confirms every payment)."""
    return user.is_finance or can_see_file(user, customer)


def can_edit(user: User, customer: Customer) -> bool:
    if user.is_admin_role:
        return True
    if user.is_manager:
        return user.department_id == customer.department_id
    return customer.owner_id == user.pk and user.is_salesperson


def owned_by(user: User) -> QuerySet[Customer]:
    return Customer.objects.filter(owner=user)


def contacts_of(*, user: User, customer: Customer) -> QuerySet[Contact]:
    return customer.contacts.all() if can_see_file(user, customer) or customer.in_pool else Contact.objects.none()


def mask_phone(value: str) -> str:
    """138****8000: enough to recognise a number already known, not to call it."""
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    keep = 3 if len(value) >= 7 else 1
    return value[:keep] + "*" * max(len(value) - keep - 4, 4) + value[-4:]


def mask_email(value: str) -> str:
    if not value or "@" not in value:
        return ""
    local, _, domain = value.partition("@")
    return local[:1] + "***@" + domain


def documents_of(*, user: User, customer: Customer, archived: bool = False) -> QuerySet[CustomerDocument]:
    """R6.4: a customer's documents exist only for who sees its file."""
    if not can_see_file(user, customer):
        return CustomerDocument.objects.none()
    return customer.documents.filter(archived_at__isnull=not archived).select_related("uploaded_by")


def document_for_user(*, user: User, customer_pk: int, pk: int) -> CustomerDocument:
    """A document of a customer whose file the user sees, or 404 (never 403: it does not exist for
    anyone else)."""
    customer = customer_for_user(user=user, pk=customer_pk)
    if not can_see_file(user, customer):
        raise Http404
    try:
        document = customer.documents.select_related("uploaded_by").get(pk=pk)
    except (CustomerDocument.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc
    document.customer = customer
    return document


def expiring_soon(valid_until: date | None, *, today: date) -> bool:
    return valid_until is not None and valid_until <= today + timedelta(days=EXPIRY_WARNING_DAYS)


def customers_with_expiring_documents(*, customer_ids: list[int], today: date) -> set[int]:
    """Which of these customers (a page of "my customers") hold a live document that expires within
    30 days or has expired: one query."""
    return set(
        CustomerDocument.objects.filter(
            customer_id__in=customer_ids,
            archived_at__isnull=True,
            valid_until__lte=today + timedelta(days=EXPIRY_WARNING_DAYS),
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
