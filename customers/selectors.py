"""Reads of customers, always scoped to the requesting user (R6.4)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User

from .models import Contact, CreditStatus, Customer, CustomerDocument
from .validators import normalize_company_name, normalize_credit_code, normalize_phone

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


def credit_statuses_for(user: User, customer: Customer) -> list[str]:
    """R4.3 / R5.5: the payment credit statuses `user` may give `customer`. Bad credit makes a
    problem customer that leaves its owner (R2.3, R5.5), so only the roles R5.5 names set it or
    lift it: finance, the department's managers and admins. The owner moves between good and
    watch."""
    if user.is_finance or user.is_admin_role or (user.is_manager and user.department_id == customer.department_id):
        return list(CreditStatus.values)
    if can_edit(user, customer) and customer.credit_status != CreditStatus.BAD:
        return [CreditStatus.GOOD, CreditStatus.WATCH]
    return []


def can_set_credit(user: User, customer: Customer) -> bool:
    return bool(set(credit_statuses_for(user, customer)) - {customer.credit_status})


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


# --- R6.1: the customer a service request is logged against ------------------------------------

LOG_PICK_LIMIT = 10  # results shown
LOG_PICK_CANDIDATES = 50  # rows read from the index before ranking
LOG_PHONE_MIN_DIGITS = 7  # a whole number: a landline without area code has 7 digits


@dataclass(frozen=True)
class CustomerBrief:
    """All that a member of staff who does not see a customer's file may know of it in order to
    log a request against it (R6.1 within R6.4): its name, department and owner's name (empty in
    the pool). No contacts, credit code, tier or anything else of the file."""

    pk: int
    name: str
    department: str
    owner: str


def may_log_requests(user: User) -> bool:
    """R6.1: every member of staff who receives a visit, call, consultation or complaint logs it."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_salesperson or user.is_manager or user.is_finance or user.is_admin_role)
    )


def brief_of(customer: Customer) -> CustomerBrief:
    return CustomerBrief(
        pk=customer.pk,
        name=customer.name,
        department=str(customer.department) if customer.department_id else "",
        owner=str(customer.owner) if customer.owner_id else "",
    )


def customers_to_log_against(*, user: User, query: str) -> tuple[list[CustomerBrief], bool]:
    """R6.1: whoever takes a complaint logs it against the company's customer, whoever owns it, so
    every member of staff searches every department's customers here. R6.4 still holds for what
    the search matches on and what it returns: the name (two characters or more, as anywhere);
    the credit code only whole (18 characters); a contact's phone only as the whole number, never
    a prefix, and the number itself is never shown. Whoever holds a caller's whole number learns
    which company it belongs to and who owns it, which is what the call needs; nobody can list the
    numbers of a colleague's customers or complete a partial one. Returns at most LOG_PICK_LIMIT
    briefs (exact names first) and whether more matched (then the user types more)."""
    from .search import name_contains_q

    query = (query or "").strip()[:100]
    if not may_log_requests(user) or not query or "\x00" in query:
        return [], False
    cond = name_contains_q(query)
    code = normalize_credit_code(query)
    if len(code) == 18 and code.isascii() and code.isalnum():
        cond |= Q(credit_code=code)
    digits = normalize_phone(query)
    if len(digits) >= LOG_PHONE_MIN_DIGITS and digits == query.replace("-", "").replace(" ", "").lstrip("+"):
        ids = list(
            Contact.objects.filter(phone_digits=digits)
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()[:LOG_PICK_CANDIDATES]
        )
        if ids:
            cond |= Q(pk__in=ids)
    base = (
        Customer.objects.select_related("owner", "department")
        .only(
            "pk",
            "name",
            "name_key",
            "owner",
            "department",
            "department__name",
            "owner__display_name",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
        .order_by()
    )
    key = normalize_company_name(query)
    # The exact name first (its own index), then the other matches. No ORDER BY for those: a
    # common pair of characters (公司) matches much of a million rows, and sorting them all would
    # cost more than reading the first candidates the index gives; they are ranked here.
    exact = list(base.filter(name_key=key)[:LOG_PICK_LIMIT]) if key else []
    others = list(base.filter(cond).exclude(pk__in=[c.pk for c in exact])[:LOG_PICK_CANDIDATES])
    others.sort(key=lambda c: (not c.name_key.startswith(key), len(c.name), c.name, c.pk))
    found = exact + others
    return [brief_of(c) for c in found[:LOG_PICK_LIMIT]], len(found) > LOG_PICK_LIMIT


def customer_to_log_against(*, user: User, pk: int) -> Customer:
    """A customer of the company that `user` may log a request against (R6.1), or 404. The
    caller shows it only as a CustomerBrief unless `customers_visible_to` also holds."""
    if not may_log_requests(user):
        raise Http404
    try:
        return Customer.objects.select_related("owner", "department").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def left_the_pool(*, user: User, pk: int) -> bool:
    """A stale pool link (a notification, a colleague's link): the customer was in the pool of
    the user's department and someone else has claimed it or been assigned it since. The answer
    says only that (R6.4: no card, no owner); anything else stays a plain 404."""
    if not (user.is_authenticated and user.is_active and user.is_salesperson and user.department_id):
        return False
    try:
        return (
            Customer.objects.filter(
                pk=pk, department_id=user.department_id, owner__isnull=False, released_at__isnull=False
            )
            .exclude(owner=user)
            .exists()
        )
    except (ValueError, OverflowError):
        return False


def expiring_documents_of(*, user: User, customer_ids: list[int], today: date) -> dict[int, list[CustomerDocument]]:
    """R7 handover items: the live documents of each customer that expire within 30 days (or have
    expired), for whoever sees the customers' files (R6.4), in one query."""
    visible = customers_visible_to(user)
    if not (user.is_admin_role or user.is_manager):
        visible = visible.filter(owner=user)
    out: dict[int, list[CustomerDocument]] = {}
    qs = CustomerDocument.objects.filter(
        customer_id__in=customer_ids,
        customer__in=visible,
        archived_at__isnull=True,
        valid_until__lte=today + timedelta(days=EXPIRY_WARNING_DAYS),
    ).order_by("customer_id", "valid_until", "id")
    for doc in qs:
        out.setdefault(doc.customer_id, []).append(doc)
    return out
