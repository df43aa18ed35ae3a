"""Writes to customers, contacts and credit status (never the ownership columns)."""

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from notifications.services import Message, notify_many

from .models import (
    Contact,
    CreditStatus,
    CreditStatusChange,
    Customer,
    CustomerDocument,
    DocumentDownload,
    DocumentKind,
)
from .selectors import (
    EXPIRY_WARNING_DAYS,
    can_edit,
    can_see_file,
    can_set_credit,
    credit_statuses_for,
    file_visible_q,
)
from .uploads import SNIFF_BYTES, sanitize_filename, sniff
from .validators import (
    company_near_key,
    normalize_company_name,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
)

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


def clean_credit_code(value: str | None) -> str | None:
    """R4.1 in the service layer, whoever calls it (form, import, a future API): the normalised
    code (None when empty), or a DomainError saying what is wrong with it."""
    code = normalize_credit_code(value or "")
    if not code:
        return None
    try:
        validate_credit_code(code)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    return code


# Imports take this key exclusively (one at a time, from their re-check to their commit);
# registrations and contact edits take it shared: neither checks for duplicates while the other
# writes.
IMPORT_LOCK_KEY = "customer-import"


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def duplicate_keys_lock(*, name: str = "", credit_code: str | None = None, phones: Iterable[str] = ()) -> None:
    """R5.1: lock, until the transaction ends, every key a new customer or contact could be a
    duplicate by (its normalised name, credit code, contact phones), one after the other in a fixed
    order (sorted lock ids), so that two registrations sharing any key run one after the other and
    the second finds the first. Also waits for an import being written. Taken before any row lock
    (docs/decisions.md, "Lock order"). PostgreSQL only: SQLite serialises writes anyway."""
    if connection.vendor != "postgresql":
        return
    keys = set()
    if key := normalize_company_name(name):
        keys.add("name:" + key)
    if code := normalize_credit_code(credit_code or ""):
        keys.add("code:" + code)
    keys |= {"phone:" + d for d in (normalize_phone(p) for p in phones) if len(d) >= 7}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", [IMPORT_LOCK_KEY])
        for lock_id in sorted(_lock_id(k) for k in keys):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def customers_import_lock() -> None:
    """R1.2: hold the import lock exclusively until the transaction ends: imports run one at a
    time, and no registration checks or writes a duplicate key meanwhile (locking each key of a
    10,000-row file would exhaust PostgreSQL's lock table)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [IMPORT_LOCK_KEY])


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


SIMILAR_LIMIT = 5


def describe_existing(customer: Customer) -> str:
    """An existing customer as a duplicate warning names it: what R5.1's refusal says of a
    duplicate (its name, its owner or the pool it is in), never its contacts or file."""
    if customer.owner_id is None:
        return _("%(name)s (in the pool of %(department)s)") % {
            "name": customer.name,
            "department": customer.department,
        }
    return _("%(name)s (owned by %(owner)s)") % {"name": customer.name, "owner": customer.owner}


class SimilarCustomers(DomainError):
    """Possibly the same company written another way: a warning the user may overrule."""

    def __init__(self, matches: list[Customer], near_key: str) -> None:
        super().__init__(
            _(
                "Possibly the same company as %(names)s. Check before registering; if it is another company, "
                "confirm and register again."
            )
            % {"names": "; ".join(describe_existing(c) for c in matches)}
        )
        self.matches = matches
        self.near_key = near_key


def customer_find_similar(*, name: str, exclude_pk: int | None = None, limit: int = SIMILAR_LIMIT) -> list[Customer]:
    """Customers whose name differs from `name` only in administrative-division words or the legal
    form (validators.company_near_key), company-wide, through the indexed near key. Exact
    duplicates (R5.1) are not among them: those are refused, not warned about."""
    key = company_near_key(name)
    if not key:
        return []
    qs = (
        Customer.objects.filter(name_near_key=key)
        .exclude(name_key=normalize_company_name(name))
        .select_related("owner", "department")
        .order_by("pk")
    )
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs[:limit])


def customer_create(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    department_id: int,
    created_by: User | None,
    now: datetime | None = None,
    check_similar: bool = False,
) -> Customer:
    """Create a customer with its contacts after the duplicate check. Ownership is set by the
    caller (ownership.services) in the same transaction. With check_similar, a possible duplicate
    written another way raises SimilarCustomers (the user confirms, then registers again)."""
    code = clean_credit_code(data.get("credit_code"))
    dup = customer_find_duplicate(name=data["name"], credit_code=code, phones=[c.get("phone", "") for c in contacts])
    if dup:
        raise DuplicateCustomer(dup)
    if check_similar and (similar := customer_find_similar(name=data["name"])):
        raise SimilarCustomers(similar, company_near_key(data["name"]))
    fields = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    fields["credit_code"] = code
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
        raise DomainError(_("A contact needs a phone, an email or a WeChat ID."))
    contact.save()
    return contact


def _require_edit(user: User, customer: Customer) -> None:
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may not change this customer."))


@transaction.atomic
def customer_update(*, customer: Customer, user: User, data: dict[str, Any]) -> Customer:
    """Change the fields given in `data` (the file's own fields, CUSTOMER_FIELDS); a field left out
    keeps its value: a partial update never erases what it was not given (an empty credit code
    given explicitly clears it)."""
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    _require_edit(user, customer)
    given = [k for k in CUSTOMER_FIELDS if k in data]
    new_code = clean_credit_code(data["credit_code"]) if "credit_code" in data else customer.credit_code
    dup = customer_find_duplicate(name=data.get("name", customer.name), credit_code=new_code, exclude_pk=customer.pk)
    if dup and dup.matched_on != "phone":
        raise DuplicateCustomer(dup)
    for k in given:
        setattr(customer, k, data[k])
    customer.credit_code = new_code
    # Only what was given (and the name's derived keys): the ownership columns are not this
    # service's to write, even with their current values.
    customer.save(update_fields=[*given, "name_key", "name_near_key", "updated_at"])
    return customer


@transaction.atomic
def contact_add(*, customer: Customer, user: User, data: dict[str, Any]) -> Contact:
    duplicate_keys_lock(phones=[data.get("phone") or ""])
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
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
    duplicate_keys_lock(phones=[data.get("phone") or ""])
    customer = Customer.objects.select_for_update(no_key=True).get(pk=contact.customer_id)
    _require_edit(user, customer)
    contact = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
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
    customer = Customer.objects.select_for_update(no_key=True).get(pk=contact.customer_id)
    _require_edit(user, customer)
    contact.delete()


@transaction.atomic
def customer_set_credit_status(
    *, customer: Customer, user: User, status: str, note: str, now: datetime | None = None
) -> Customer:
    """R4.3: the owner (good or watch), the department's managers, finance and admins change the
    payment credit; every change is kept. What bad credit does to the ownership (a problem
    customer, R2.3 / R5.5) is ownership.services.customer_set_payment_credit's, which calls this."""
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    if status not in CreditStatus.values:
        raise DomainError(_("Unknown credit status."))
    if status not in credit_statuses_for(user, customer) or not can_set_credit(user, customer):
        if CreditStatus.BAD in (status, customer.credit_status) and can_edit(user, customer):
            raise PermissionDenied(_("Only finance or a manager sets or lifts bad payment credit."))
        raise PermissionDenied(_("You may not change this customer's credit status."))
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
PHONE_FULL_MIN_DIGITS = 7  # a whole number: a landline without area code has 7 digits


def customer_search_q(query: str, *, user: User) -> Q:
    """The search box (R5.7): name substring of two characters or more, phone digits, credit
    code prefix. On PostgreSQL the name part is served by the bigram index (see migrations).

    R6.4: a search matches only on what the searcher may see of a customer, or it would tell
    who owns a phone number it was never shown. Name and credit code are on every card it sees.
    Contact phones: by prefix where it sees the contacts in full (`can_see_file`: its own
    customers, a manager its department's, admins; a pool whose department shows phones
    unmasked); on a pool card that masks them (138****8000), by the full number only, since a
    prefix would reveal the hidden digits one at a time; finance, which sees sales and credit
    but not contacts, never finds an owned customer by phone.

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
        pool = Q(customer__owner__isnull=True)
        # The department's pool setting (ownership.PoolSettings); no settings row masks.
        unmasked_pool = pool & Q(customer__department__pool_settings__mask_pool_contacts=False)
        seen = file_visible_q(user, prefix="customer__") | unmasked_pool
        if len(digits) >= PHONE_FULL_MIN_DIGITS:
            seen |= pool & Q(phone_digits=digits)
        ids = list(
            Contact.objects.filter(phone_digits__startswith=digits)
            .filter(seen)
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()[:PHONE_MATCH_CAP]
        )
        if ids:
            cond |= Q(pk__in=ids)
    return cond


# --- R4.1 qualification documents ------------------------------------------------------------

DOCUMENTS_DIR = "customer_documents"


def document_path(document: CustomerDocument) -> Path:
    """Where the file lives: PRIVATE_MEDIA_ROOT/customer_documents/<2 hex>/<random name>. The
    uploader's file name never takes part in it."""
    return Path(settings.PRIVATE_MEDIA_ROOT) / DOCUMENTS_DIR / document.stored_name[:2] / document.stored_name


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


@dataclass(frozen=True)
class DocumentInput:
    kind: str
    number: str = ""
    valid_from: date | None = None
    valid_until: date | None = None


def _clean_document_input(data: DocumentInput) -> DocumentInput:
    if data.kind not in DocumentKind.values:
        raise DomainError(_("Choose the kind of document."))
    number = (data.number or "").strip()
    if len(number) > 64:
        raise DomainError(_("A document number has at most 64 characters."))
    if data.kind != DocumentKind.OTHER and not number:
        raise DomainError(_("Give the number of the business licence or tax registration."))
    if data.valid_from and data.valid_until and data.valid_until < data.valid_from:
        raise DomainError(_("The document cannot expire before it becomes valid."))
    return DocumentInput(kind=data.kind, number=number, valid_from=data.valid_from, valid_until=data.valid_until)


def _store_upload(chunks: Iterable[bytes], *, max_bytes: int) -> tuple[Path, str, int, str, str]:
    """Stream the upload to a temporary file beside its final place, checking the size and the
    first bytes on the way. Returns (temporary path, stored name, size, sha256, content type);
    on any refusal nothing is left on disk."""
    root = Path(settings.PRIVATE_MEDIA_ROOT) / DOCUMENTS_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = root / f".upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        # Created 0600 from the start: the directory may be a volume with looser permissions.
        with os.fdopen(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise DomainError(
                        _("The file is larger than %(mb)s MB, the limit for documents. Nothing was stored.")
                        % {"mb": _mb(max_bytes)}
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError(_("The file is empty. Nothing was stored."))
        kind = sniff(head)
        if kind is None:
            raise DomainError(
                _(
                    "Only PDF, JPEG and PNG files are accepted, recognised by their content whatever their name. "
                    "Nothing was stored."
                )
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, uuid.uuid4().hex + kind.extension, size, digest.hexdigest(), kind.content_type


def document_upload(
    *,
    customer: Customer,
    user: User,
    data: DocumentInput,
    file_name: str,
    chunks: Iterable[bytes],
    now: datetime | None = None,
) -> CustomerDocument:
    """R4.1: store one qualification document of the customer. Its owner, the department's
    managers and admins upload. The content decides the type (PDF, JPEG, PNG), the size is at most
    settings.DOCUMENT_MAX_BYTES, the file is stored under a random name; a refusal stores nothing."""
    now = now or timezone.now()
    data = _clean_document_input(data)
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may not add documents to this customer."))
    tmp, stored_name, size, sha256, content_type = _store_upload(chunks, max_bytes=settings.DOCUMENT_MAX_BYTES)
    extension = "." + stored_name.rsplit(".", 1)[1]
    final: Path | None = None
    try:
        with transaction.atomic():
            locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
            if not can_edit(user, locked):
                raise PermissionDenied(_("You may not add documents to this customer."))
            document = CustomerDocument.objects.create(
                customer=locked,
                kind=data.kind,
                number=data.number,
                valid_from=data.valid_from,
                valid_until=data.valid_until,
                original_name=sanitize_filename(file_name, extension=extension),
                stored_name=stored_name,
                content_type=content_type,
                size=size,
                sha256=sha256,
                uploaded_by=user,
                uploaded_at=now,
            )
            final = document_path(document)
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(tmp, final)
            os.chmod(final, 0o600)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    return document


@transaction.atomic
def document_archive(*, document: CustomerDocument, user: User, now: datetime | None = None) -> CustomerDocument:
    """Take a document out of the customer's current papers (replaced, uploaded by mistake). The
    file and its download log stay: documents are never deleted."""
    customer = Customer.objects.select_for_update(no_key=True).get(pk=document.customer_id)
    if not can_edit(user, customer):
        raise PermissionDenied(_("You may not change this customer's documents."))
    document = CustomerDocument.objects.select_for_update(no_key=True).get(pk=document.pk)
    if document.archived_at is not None:
        raise DomainError(_("This document is already archived."))
    document.archived_at = now or timezone.now()
    document.archived_by = user
    document.save(update_fields=["archived_at", "archived_by"])
    return document


def document_record_download(
    *, document: CustomerDocument, user: User, ip: str | None, now: datetime | None = None
) -> DocumentDownload:
    """R6.4: a download is served only to who sees the customer's file, and every one is logged."""
    if not can_see_file(user, document.customer):
        raise PermissionDenied(_("You may not see this customer's documents."))
    return DocumentDownload.objects.create(document=document, user=user, at=now or timezone.now(), ip=ip or None)


def documents_notify_expiring(*, as_of: date | None = None, now: datetime | None = None) -> int:
    """R4.1: tell each (active) owner, once per document, validity date and owner, that a live document of its
    customer expires within 30 days (or has expired). Run nightly; a second run sends nothing."""
    now = now or timezone.now()
    today = as_of or local_today(now)
    horizon = today + timedelta(days=EXPIRY_WARNING_DAYS)
    with transaction.atomic():
        due = list(
            CustomerDocument.objects.select_for_update(no_key=True, of=("self",))
            .filter(archived_at__isnull=True, valid_until__isnull=False, valid_until__lte=horizon)
            .filter(customer__owner__isnull=False, customer__owner__is_active=True)
            .exclude(notified_for=F("valid_until"), notified_owner_id=F("customer__owner_id"))
            .select_related("customer")
            .order_by("id")
        )
        messages = []
        for doc in due:
            assert doc.valid_until is not None  # filtered above
            days = (doc.valid_until - today).days
            values = {
                "kind": doc.get_kind_display(),
                "customer": doc.customer.name,
                "date": doc.valid_until.isoformat(),
                "days": days,
            }
            if days < 0:
                text = _("The %(kind)s of %(customer)s expired on %(date)s: ask the customer for a new one.") % values
            elif days == 0:
                text = _("The %(kind)s of %(customer)s expires today: ask for the renewed one.") % values
            else:
                text = (
                    ngettext(
                        "The %(kind)s of %(customer)s expires on %(date)s (in %(days)d day): ask for the renewed one.",
                        "The %(kind)s of %(customer)s expires on %(date)s (in %(days)d days): ask for the renewed one.",
                        days,
                    )
                    % values
                )
            url = reverse("customers:detail", args=[doc.customer_id]) + "#section-documents"
            messages.append(Message(doc.customer.owner_id, "document_expiring", text, url))  # type: ignore[arg-type]
        for doc in due:  # at most a few hundred a night
            CustomerDocument.objects.filter(pk=doc.pk).update(
                notified_for=doc.valid_until, notified_owner_id=doc.customer.owner_id
            )
        notify_many(messages=messages, now=now)
    return len(due)


def customers_bulk_create(
    *, rows: list[dict[str, Any]], department_id: int, created_by: User | None, batch_size: int = 1000
) -> list[Customer]:
    """Insert many customers with their contacts in a few statements (R1.2 imports). The caller
    has checked duplicates and validated the fields and runs this inside its transaction; ownership
    columns are left to ownership.services. Each row: CUSTOMER_FIELDS plus "contacts" (a list of
    CONTACT_FIELDS dicts, each reachable by phone, email or WeChat)."""
    customers = []
    for row in rows:
        fields = {k: row[k] for k in CUSTOMER_FIELDS if k in row}
        try:
            fields["credit_code"] = clean_credit_code(fields.get("credit_code"))
        except DomainError as exc:
            raise DomainError(
                _("%(name)s: %(error)s") % {"name": fields.get("name", ""), "error": exc.message}
            ) from exc
        customer = Customer(department_id=department_id, created_by=created_by, **fields)
        customer.name_key = normalize_company_name(customer.name)
        customer.name_near_key = company_near_key(customer.name)
        customers.append(customer)
    try:
        with transaction.atomic():
            Customer.objects.bulk_create(customers, batch_size=batch_size)
    except IntegrityError as exc:
        raise DomainError(_("A customer with one of these credit codes was registered a moment ago.")) from exc
    contacts = []
    for customer, row in zip(customers, rows, strict=True):
        for data in row.get("contacts") or ():
            contact = Contact(customer=customer, **{k: data[k] for k in CONTACT_FIELDS if k in data})
            if not (contact.phone or contact.email or contact.wechat):
                raise DomainError(_("A contact needs a phone, an email or a WeChat ID."))
            contact.phone_digits = normalize_phone(contact.phone)
            contacts.append(contact)
    Contact.objects.bulk_create(contacts, batch_size=batch_size)
    return customers
