"""Customer pages. Thin: selector (404 for what the user may not see) → form → service."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, QuerySet
from django.forms.models import model_to_dict
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from crm.net import client_ip
from crm.sorting import sort_links

from . import sections, services
from .filters import (
    LIST_SORT_COLUMNS,
    MINE_ORDERING_CHOICES,
    MINE_ORDERINGS,
    MINE_SORT_COLUMNS,
    ORDERINGS,
    CustomerFilter,
    sees_owners,
)
from .forms import ContactForm, CustomerForm, DocumentForm
from .models import Contact, Customer
from .selectors import (
    EXPIRY_WARNING_DAYS,
    can_edit,
    can_see_file,
    can_see_sales_and_credit,
    can_set_credit,
    contacts_of,
    customer_for_user,
    customers_visible_to,
    customers_with_expiring_documents,
    document_for_user,
    documents_of,
    expiring_soon,
    left_the_pool,
    mask_email,
    mask_phone,
    owned_by,
)
from .services import describe_existing

PAGE_SIZE = 25
DEFAULT_WARNING_DAYS = 7  # R5.10; a department's PoolSettings overrides it


def _paginate(request: HttpRequest, qs: QuerySet) -> Page:
    # get_page() answers a malformed or out-of-range ?page= with the first or last page.
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _warning_days(user) -> int:
    pool_settings = getattr(user.department, "pool_settings", None) if user.department_id else None
    return pool_settings.warning_days if pool_settings is not None else DEFAULT_WARNING_DAYS


@require_http_methods(["GET", "HEAD"])
def mine(request: HttpRequest) -> HttpResponse:
    """The salesperson's own customers, soonest deadline first (R5.10: days left shown)."""
    base = owned_by(request.user).order_by(F("deadline").asc(nulls_last=True), "id")
    filterset = CustomerFilter(
        request.GET or None,
        queryset=base,
        request=request,
        with_owner=False,
        orderings=(MINE_ORDERINGS, MINE_ORDERING_CHOICES),
    )
    page_obj = _paginate(request, filterset.qs.prefetch_related(_first_phone_prefetch()))
    today = local_today()
    warning_days = _warning_days(request.user)
    expiring = customers_with_expiring_documents(customer_ids=[c.pk for c in page_obj], today=today)
    for customer in page_obj:
        customer.days_left = (customer.deadline - today).days if customer.deadline else None
        customer.is_warning = customer.days_left is not None and customer.days_left <= warning_days
        customer.documents_expiring = customer.pk in expiring
        customer.phone = next((c.phone for c in customer.contact_list if c.phone), "")
    return render(
        request,
        "customers/mine.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "warning_days": warning_days,
            "today": today,
            "sorts": sort_links(filterset.ordering_key("deadline"), MINE_SORT_COLUMNS, allowed=MINE_ORDERINGS),
        },
    )


def _first_phone_prefetch() -> Prefetch:
    """The contacts' phones of a page of customers in one query (primary contact first)."""
    return Prefetch(
        "contacts",
        queryset=Contact.objects.order_by("-is_primary", "id").only("id", "customer_id", "phone", "is_primary"),
        to_attr="contact_list",
    )


@require_http_methods(["GET", "HEAD"])
def customer_list(request: HttpRequest) -> HttpResponse:
    """Every customer the user may see, for managers, finance and admins."""
    if not sees_owners(request.user):
        raise PermissionDenied(_("Salespeople find their customers under My customers and in the pool."))
    base = customers_visible_to(request.user).select_related("owner", "department").order_by("-created_at", "-id")
    filterset = CustomerFilter(request.GET or None, queryset=base, request=request)
    page_obj = _paginate(request, filterset.qs)
    return render(
        request,
        "customers/list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "show_department": request.user.is_admin_role or request.user.is_finance,
            "sorts": sort_links(filterset.ordering_key("-created_at"), LIST_SORT_COLUMNS, allowed=ORDERINGS),
        },
    )


def _contact_rows(user, customer: Customer, full: bool) -> list[dict[str, Any]]:
    """Contacts as shown: in full to those who see the file; masked on a pool card (R6.4)."""
    mask = not full
    if mask:
        pool_settings = getattr(customer.department, "pool_settings", None)
        mask = pool_settings is None or pool_settings.mask_pool_contacts
    rows = []
    for contact in contacts_of(user=user, customer=customer):
        rows.append(
            {
                "contact": contact,
                "name": contact.name,
                "position": contact.position,
                "is_primary": contact.is_primary,
                "phone": mask_phone(contact.phone) if mask else contact.phone,
                "email": mask_email(contact.email) if mask else contact.email,
                "wechat": (contact.wechat[:1] + "***" if contact.wechat else "") if mask else contact.wechat,
            }
        )
    return rows


def left_the_pool_page(request: HttpRequest, pk: int) -> HttpResponse | None:
    """A pool link gone stale answers 410 with a page saying so (never the card nor the owner),
    rather than a bare 404; None when that is not the case."""
    if not left_the_pool(user=request.user, pk=pk):
        return None
    return render(request, "customers/left_pool.html", status=410)


def similar_rows(user: User, matches: list[Customer]) -> list[dict[str, Any]]:
    """Possible duplicates as a registration warning shows them: what R5.1 says of a duplicate
    (name, owner or pool), linked only for who may open the customer (R6.4)."""
    visible = set(customers_visible_to(user).filter(pk__in=[c.pk for c in matches]).values_list("pk", flat=True))
    return [
        {
            "text": describe_existing(c),
            "url": reverse("customers:detail", args=[c.pk]) if c.pk in visible else "",
        }
        for c in matches
    ]


@require_http_methods(["GET", "HEAD"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = customer_for_user(user=request.user, pk=pk)
    except Http404:
        stale = left_the_pool_page(request, pk)
        if stale is None:
            raise
        return stale
    user = request.user
    full = can_see_file(user, customer)
    contacts = _contact_rows(user, customer, full)
    section_list = sections.render_context(request, customer)
    call = [
        sections.QuickAction(
            label=pgettext("quick action", "Call"), url=f"tel:{row['phone']}", icon="bi-telephone", order=90
        )
        for row in contacts[:1]
        if full and row["phone"]
    ]
    ctx: dict[str, Any] = {
        "customer": customer,
        "can_see_file": full,
        "can_edit": can_edit(user, customer),
        "can_set_credit": can_set_credit(user, customer),
        "contacts": contacts,
        # Contacts exist but belong to the file finance does not see (R6.4): say so, not "none".
        "contacts_confidential": not contacts and customer.contacts.exists(),
        "masked": not full,
        "can_see_credit": can_see_sales_and_credit(user, customer),
        "credit_changes": (
            customer.credit_changes.select_related("changed_by") if can_see_sales_and_credit(user, customer) else []
        ),
        "sections": section_list,
        "quick_actions": sections.quick_actions(section_list, call),
        **_documents_context(user, customer),
    }
    return render(request, "customers/detail.html", ctx)


def _documents_context(user, customer: Customer) -> dict[str, Any]:
    """R4.1: the documents card, for who sees the file (R6.4); expiring ones are flagged."""
    if not can_see_file(user, customer):
        return {"documents": None}
    today = local_today()
    documents = list(documents_of(user=user, customer=customer))
    for doc in documents:
        doc.expiring = expiring_soon(doc.valid_until, today=today)
        doc.expired = doc.valid_until is not None and doc.valid_until < today
        doc.days_left = (doc.valid_until - today).days if doc.valid_until else None
    return {
        "documents": documents,
        "archived_documents": list(documents_of(user=user, customer=customer, archived=True)[:20]),
        "documents_expiring": any(doc.expiring for doc in documents),
        "expiry_warning_days": EXPIRY_WARNING_DAYS,
    }


def _editable_customer(request: HttpRequest, pk: int) -> Customer:
    customer = customer_for_user(user=request.user, pk=pk)
    if not can_edit(request.user, customer):
        raise PermissionDenied(_("You may not change this customer."))
    return customer


@require_http_methods(["GET", "HEAD", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    initial = model_to_dict(customer, fields=CustomerForm.Meta.fields)
    form = CustomerForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, user=request.user, data=form.customer_data())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"customer": customer, "form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_add(customer=customer, user=request.user, data=form.contact_data())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Contact added."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/contact_form.html", {"customer": customer, "form": form, "contact": None})


def _contact_of(customer: Customer, cid: int) -> Contact:
    return get_object_or_404(customer.contacts, pk=cid)


@require_http_methods(["GET", "HEAD", "POST"])
def contact_edit(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    contact = _contact_of(customer, cid)
    initial = model_to_dict(contact, fields=ContactForm.Meta.fields)
    form = ContactForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, user=request.user, data=form.contact_data())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/contact_form.html", {"customer": customer, "form": form, "contact": contact})


@require_POST
def contact_delete(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    contact = _contact_of(customer, cid)
    try:
        services.contact_delete(contact=contact, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Contact %(name)s deleted.") % {"name": contact.name})
    return redirect("customers:detail", pk=customer.pk)


# --- R4.1 documents ---------------------------------------------------------------------------


def _uploaded_files(request: HttpRequest) -> list | None:
    """Every file of the request, whatever its field name; None when the request holds more
    files or data than Django accepts to parse."""
    try:
        return [f for key in request.FILES for f in request.FILES.getlist(key)]
    except (TooManyFilesSent, RequestDataTooBig):
        return None


@require_http_methods(["GET", "HEAD", "POST"])
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """One document per request (R4.1), by the owner, the department's managers or an admin."""
    customer = customer_for_user(user=request.user, pk=pk)
    if not can_see_file(request.user, customer):
        raise Http404
    if not can_edit(request.user, customer):
        raise PermissionDenied(_("You may not add documents to this customer."))
    if request.method != "POST":
        return render(request, "customers/document_form.html", {"customer": customer, "form": DocumentForm()})
    files = _uploaded_files(request)
    form = DocumentForm(request.POST)  # after a refused parse, an empty QueryDict
    valid = form.is_valid()
    if files is None or len(files) > 1:
        form.add_error(None, _("Upload one file at a time. Nothing was stored."))
    elif not files:
        form.add_error("file", _("Choose the file to upload."))
    elif valid:
        upload = files[0]
        try:
            services.document_upload(
                customer=customer,
                user=request.user,
                data=form.document_input(),
                file_name=upload.name or "",
                chunks=upload.chunks(),
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, _("Document uploaded."))
            return redirect(reverse("customers:detail", args=[customer.pk]) + "#section-documents")
    return render(request, "customers/document_form.html", {"customer": customer, "form": form})


@require_http_methods(["GET"])
def document_download(request: HttpRequest, pk: int, did: int) -> HttpResponse:
    """R6.4: served only to who sees the customer's file, as an attachment, and logged."""
    document = document_for_user(user=request.user, customer_pk=pk, pk=did)
    try:
        handle = open(services.document_path(document), "rb")  # noqa: SIM115  (FileResponse closes it)
    except OSError as exc:
        raise Http404 from exc
    try:
        services.document_record_download(document=document, user=request.user, ip=client_ip(request))
    except PermissionDenied as exc:
        handle.close()
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def document_archive(request: HttpRequest, pk: int, did: int) -> HttpResponse:
    document = document_for_user(user=request.user, customer_pk=pk, pk=did)
    try:
        services.document_archive(document=document, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Document %(name)s archived.") % {"name": document.original_name})
    return redirect(reverse("customers:detail", args=[pk]) + "#section-documents")
