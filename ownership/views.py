"""Pages of the pool and of ownership. Thin: selector (404 for what the user may not see) → form →
service → message → redirect. DomainError → the message; PermissionDenied goes on to Django (403)."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Department, User
from crm.dates import add_months, local_today
from crm.errors import DomainError, PermissionDenied
from crm.pagination import capped_page, id_param, int_param
from crm.sorting import sort_links
from customers.forms import CreditStatusForm, CustomerRegisterForm
from customers.models import Contact, CreditStatus, Customer
from customers.selectors import credit_statuses_for, customer_for_user, customers_visible_to, mask_phone
from customers.services import DuplicateCustomer, SimilarCustomers
from customers.views import left_the_pool_page, similar_rows

from . import selectors, services
from .forms import (
    POOL_ORDERINGS,
    POOL_SORT_COLUMNS,
    AssignForm,
    ExtendForm,
    PoolFilter,
    PoolSettingsForm,
    ProblemForm,
    ReleaseLogFilter,
    ReleaseNoteForm,
)
from .models import Action, MissingReleaseNote, OwnershipEvent, PoolSettings
from .monitoring import nightly_status

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]

# --- Helpers ------------------------------------------------------------------------------------


def _require_manager(user: User) -> None:
    if not (user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("This page is for managers."))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


_settings_read = selectors.pool_settings_of


def _contacts_prefetch() -> Prefetch:
    """The contacts of a page of customers in one query (the first one is the primary)."""
    return Prefetch(
        "contacts",
        queryset=Contact.objects.order_by("-is_primary", "id").only("id", "customer_id", "phone", "is_primary"),
        to_attr="contact_list",
    )


@dataclass
class PoolView:
    """What a row of the pool shows to this user."""

    user: User
    settings: PoolSettings
    today: date
    can_claim: bool
    can_manage: bool
    show_department: bool
    mask: bool
    next_url: str

    def decorate_all(self, customers: list[Customer]) -> list[Customer]:
        # The claim's own cool-off rule (R5.8), for the whole page in one query.
        waits = (
            selectors.cooloffs(user=self.user, customers=customers, settings=self.settings) if self.can_claim else {}
        )
        for customer in customers:
            contacts = getattr(customer, "contact_list", None) or []
            phone = next((c.phone for c in contacts if c.phone), "")
            customer.primary_phone = mask_phone(phone) if self.mask else phone
            ends = waits[customer.pk][1] if customer.pk in waits else None
            customer.cooloff_until = ends if ends and ends > self.today else None
        return customers

    def decorate(self, customer: Customer) -> Customer:
        return self.decorate_all([customer])[0]


def _pool_view(request: HttpRequest, next_url: str) -> PoolView:
    user = request.user
    settings = _settings_read(user.department_id)
    # Unmasked pool contacts are the file's (R6.4): managers and admins; finance sees them masked.
    sees_file = user.is_manager or user.is_admin_role
    return PoolView(
        user=user,
        settings=settings,
        today=local_today(),
        can_claim=user.is_salesperson and bool(user.department_id),
        can_manage=user.is_manager or user.is_admin_role,
        show_department=user.is_admin_role or user.is_finance,
        mask=not sees_file and settings.mask_pool_contacts,
        next_url=next_url,
    )


def _limits(view: PoolView) -> dict[str, int] | None:
    """The claimer's quota counters (R5.8), shown over the pool and refreshed after a claim."""
    if not view.can_claim:
        return None
    return {
        "claims_today": services.claims_today(user=view.user),
        "daily_cap": view.settings.daily_claim_cap,
        "unsold": services.unsold_count(user=view.user),
        "unsold_limit": services.unsold_limit(user=view.user, settings=view.settings),
        "cooloff_days": view.settings.reclaim_cooloff_days,
    }


# --- The pool (R5.7) ------------------------------------------------------------------------------


@require_http_methods(GET)
def pool(request: HttpRequest) -> HttpResponse:
    user = request.user
    view = _pool_view(request, request.get_full_path())
    filter_form = PoolFilter(request.GET or None, user=user)
    qs = filter_form.filter(
        selectors.pool_visible_to(user)
        .select_related("released_from", "department")
        .prefetch_related(_contacts_prefetch())
    )
    page = capped_page(request, qs)
    view.decorate_all(list(page))
    return render(
        request,
        "ownership/pool.html",
        {
            "filter": filter_form,
            "page": page,
            "rows": page.items,
            "view": view,
            "limits": _limits(view),
            "sizes": [10, 25, 50, 100],
            "sorts": sort_links(filter_form.ordering_key, POOL_SORT_COLUMNS, allowed=POOL_ORDERINGS),
        },
    )


@require_http_methods(GET)
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One customer page: the pool card is the customer page with its ownership section. A link
    to a customer claimed since answers that it left the pool; the new owner gets its page."""
    try:
        customer = selectors.pool_customer_for_user(user=request.user, pk=pk)
    except Http404:
        if customers_visible_to(request.user).filter(pk=pk).exists():
            return redirect("customers:detail", pk=pk)  # its owner or a manager: the customer page
        stale = left_the_pool_page(request, pk)
        if stale is None:
            raise
        return stale
    return redirect("customers:detail", pk=customer.pk)


def _claim_target(user: User, pk: int) -> Customer:
    """The customer a claim names, whether or not it is still in the pool: a customer someone
    claimed a moment ago must answer "already taken", not 404."""
    if not user.department_id:
        raise Http404
    try:
        customer = Customer.objects.filter(pk=pk, department_id=user.department_id).first()
    except (ValueError, OverflowError) as exc:
        raise Http404 from exc
    if customer is None:
        raise Http404
    if customer.owner_id not in (None, user.pk) and not _left_pool_recently(customer):
        # Another salesperson's customer that was not in the pool a moment ago: answering
        # "already taken" would show its name and card to whoever guesses its id (R6.4).
        raise Http404
    return customer


# How long after leaving the pool a stale pool row still gets "just claimed by someone else".
CLAIM_RACE_WINDOW = timedelta(days=1)


def _left_pool_recently(customer: Customer) -> bool:
    return OwnershipEvent.objects.filter(
        customer=customer,
        to_owner_id=customer.owner_id,
        action__in=[Action.CLAIMED, Action.ASSIGNED, Action.RELATIONSHIP],
        at__gte=timezone.now() - CLAIM_RACE_WINDOW,
    ).exists()


@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    customer = _claim_target(user, pk)
    pool_url = reverse("ownership:pool")
    next_url = _safe_next(request, pool_url)
    state, message = "", ""
    try:
        customer = services.customer_claim(customer=customer, user=user)
    except DomainError as exc:  # AlreadyTaken, ClaimRefused
        state, message = "refused", exc.message
    else:
        state = "claimed"
        message = _("%(name)s is now your customer; close a deal by %(deadline)s.") % {
            "name": customer.name,
            "deadline": customer.deadline,
        }
    if _is_htmx(request):
        view = _pool_view(request, next_url)
        fresh = (
            Customer.objects.select_related("released_from", "department")
            .prefetch_related(_contacts_prefetch())
            .get(pk=customer.pk)
        )
        if state == "claimed":
            view.mask = False  # the claimer's own customer now
            fresh.days_left = selectors.days_left(fresh, today=view.today)
        # The row answers in place; the quota counters follow out of band (one response, no reload).
        return render(
            request,
            "ownership/_claim_answer.html",
            {
                "c": view.decorate(fresh),
                "view": view,
                "row_state": state,
                "row_message": message,
                "limits": _limits(view),
            },
        )
    if state == "claimed":
        messages.success(request, message)
    else:
        messages.error(request, message)
    return HttpResponseRedirect(next_url)


# --- Registration (R5.1) ---------------------------------------------------------------------------


@require_http_methods(GET_POST)
def register(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.department_id or not (user.is_salesperson or user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("Only members of a sales department register customers."))
    form = CustomerRegisterForm(request.POST if request.method == "POST" else None)
    duplicate_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_register(
                data=form.customer_data(),
                contacts=[form.contact_data()],
                user=user,
                confirmed_similar=form.similar_confirmed(),
            )
        except SimilarCustomers as exc:
            form.warn_similar(near_key=exc.near_key, similar=similar_rows(user, exc.matches))
        except DuplicateCustomer as exc:
            form.add_error(None, exc.message)
            dup = exc.duplicate.customer
            if dup.owner_id is None and selectors.pool_visible_to(user).filter(pk=dup.pk).exists():
                duplicate_url = reverse("ownership:pool_detail", args=[dup.pk])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if customer.owner_id == user.pk:
                messages.success(
                    request,
                    _("%(name)s is registered and yours (first inquiry); close a deal by %(deadline)s.")
                    % {"name": customer.name, "deadline": customer.deadline},
                )
            else:
                messages.success(request, _("%(name)s is registered into the pool.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "ownership/register.html", {"form": form, "duplicate_url": duplicate_url})


# --- Release notes and releases (R7.3) ----------------------------------------------------------


@require_http_methods(GET_POST)
def release_note(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner writes (or rewrites) its note for the current ownership; a former owner writes a
    missing one late. Anybody else: 404."""
    user = request.user
    customer = Customer.objects.select_related("owner").filter(pk=pk).first()
    if customer is None:
        raise Http404
    is_owner = customer.owner_id == user.pk
    missing = None
    if not is_owner:
        missing = (
            MissingReleaseNote.objects.filter(customer=customer, former_owner=user, note__isnull=True)
            .order_by("-released_at")
            .first()
        )
        if missing is None:
            raise Http404
    initial: dict[str, Any] = {}
    existing = services.current_release_note(customer) if is_owner else None
    if existing is not None:
        initial = {
            "situation": existing.situation,
            "contact_details": existing.contact_details,
            "communication_level": existing.communication_level,
        }
    form = ReleaseNoteForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_note_write(customer=customer, user=user, **form.cleaned_data)
            if is_owner and "release" in request.POST:
                services.customer_release(customer=customer, user=user)
                messages.success(
                    request, _("%(name)s returned to the pool with your release note.") % {"name": customer.name}
                )
                return redirect("customers:mine")
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Release note saved."))
            if is_owner:
                return redirect("customers:detail", pk=customer.pk)
            return redirect("ownership:missing_notes")
    return render(
        request,
        "ownership/release_note_form.html",
        {"customer": customer, "form": form, "is_owner": is_owner, "missing": missing, "existing": existing},
    )


@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customer_for_user(user=request.user, pk=pk)
    try:
        services.customer_release(customer=customer, user=request.user)
    except DomainError as exc:
        messages.error(
            request,
            format_html(
                '{} <a class="alert-link" href="{}">{}</a>',
                exc.message,
                reverse("ownership:release_note", args=[customer.pk]),
                _("Write the release note"),
            ),
        )
        return redirect("customers:detail", pk=customer.pk)
    messages.success(request, _("%(name)s returned to the pool.") % {"name": customer.name})
    return redirect("customers:mine")


# --- Manager actions (R5.5, R5.6, R5.11) ---------------------------------------------------------


def _managed(request: HttpRequest, pk: int) -> Customer:
    _require_manager(request.user)
    return selectors.managed_customer_for_user(user=request.user, pk=pk)


def _problem_target(request: HttpRequest, pk: int) -> Customer:
    """R5.5: managers of the department and admins, or finance (payment credit)."""
    user = request.user
    if user.is_finance and not (user.is_manager or user.is_admin_role):
        return customer_for_user(user=user, pk=pk)
    return _managed(request, pk)


@require_http_methods(GET_POST)
def credit_status(request: HttpRequest, pk: int) -> HttpResponse:
    """R4.3 payment credit, with what bad credit does to the ownership (R2.3, R5.5) said before
    saving: served by the ownership app, whose service changes both in one transaction."""
    customer = customer_for_user(user=request.user, pk=pk)
    statuses = credit_statuses_for(request.user, customer)
    if not set(statuses) - {customer.credit_status}:
        raise PermissionDenied(_("You may not change this customer's credit status."))
    form = CreditStatusForm(
        request.POST if request.method == "POST" else None,
        initial={"status": customer.credit_status},
        statuses=statuses,
    )
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_set_payment_credit(
                customer=customer,
                user=request.user,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if customer.is_problem and customer.credit_status == CreditStatus.BAD:
                messages.success(
                    request,
                    _("Credit status changed: %(name)s is a problem customer, in the pool.") % {"name": customer.name},
                )
            else:
                messages.success(request, _("Credit status changed."))
            return redirect("customers:detail", pk=customer.pk)
    is_bad = customer.credit_status == CreditStatus.BAD
    context = {
        "customer": customer,
        "form": form,
        "may_set_bad": not is_bad and CreditStatus.BAD in statuses,
        "is_bad": is_bad,
        "flag_lifts": is_bad and selectors.problem_flag_is_bad_credit_only(customer),
    }
    return render(request, "ownership/credit_form.html", context)


@require_http_methods(GET_POST)
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _managed(request, pk)
    form = AssignForm(request.POST if request.method == "POST" else None, user=request.user, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = services.customer_assign(
                customer=customer,
                manager=request.user,
                to_user=data["to_user"],
                relationship=data["relationship"],
                introduced_by=data["introduced_by"],
                note=data["note"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s assigned to %(user)s; deadline %(deadline)s.")
                % {"name": customer.name, "user": data["to_user"], "deadline": customer.deadline},
            )
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "ownership/assign_form.html", {"customer": customer, "form": form})


@require_http_methods(GET_POST)
def mark_problem(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _problem_target(request, pk)
    form = ProblemForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_mark_problem(
                customer=customer, user=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("%(name)s is marked as a problem customer and is in the pool.") % {"name": customer.name}
            )
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "ownership/problem_form.html", {"customer": customer, "form": form})


@require_POST
def clear_problem(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _problem_target(request, pk)
    form = ProblemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write why the problem is resolved."))
        return redirect("customers:detail", pk=customer.pk)
    try:
        services.customer_clear_problem(customer=customer, user=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The problem flag of %(name)s is cleared.") % {"name": customer.name})
    return redirect("customers:detail", pk=customer.pk)


@require_http_methods(GET_POST)
def extend(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _managed(request, pk)
    latest = add_months(customer.deadline, PoolSettings.MAX_EXTENSION_MONTHS) if customer.deadline else None
    form = ExtendForm(request.POST if request.method == "POST" else None, initial={"new_deadline": latest})
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_extend_deadline(
                customer=customer,
                manager=request.user,
                new_deadline=form.cleaned_data["new_deadline"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The deadline of %(name)s is now %(deadline)s.")
                % {"name": customer.name, "deadline": customer.deadline},
            )
            return redirect(_safe_next(request, reverse("customers:detail", args=[customer.pk])))
    return render(
        request,
        "ownership/extend_form.html",
        {"customer": customer, "form": form, "latest": latest, "next_url": _safe_next(request, "")},
    )


# --- Manager pages -----------------------------------------------------------------------------


@require_http_methods(GET)
def release_log(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    filter_form = ReleaseLogFilter(request.GET or None)
    qs = filter_form.filter(selectors.release_log(user=request.user).select_related("customer__department"))
    page = capped_page(request, qs)
    return render(
        request,
        "ownership/release_log.html",
        {
            "filter": filter_form,
            "page": page,
            "show_department": request.user.is_admin_role,
            "nightly": nightly_status(),
        },
    )


@require_http_methods(GET)
def missing_notes(request: HttpRequest) -> HttpResponse:
    user = request.user
    qs = selectors.missing_notes_visible_to(user).order_by("released_at", "id")
    former_owner = id_param(request.GET.get("former_owner"))
    if former_owner:  # the dashboard's "missing notes" bars open one former owner's items
        qs = qs.filter(former_owner_id=former_owner)
    page = capped_page(request, qs)
    return render(
        request,
        "ownership/missing_notes.html",
        {"page": page, "is_manager": user.is_manager or user.is_admin_role},
    )


@require_POST
def missing_note_demand(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    item = get_object_or_404(selectors.missing_notes_visible_to(request.user), pk=pk)
    try:
        services.missing_note_demand(item=item, manager=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(user)s is asked for the release note on %(name)s.")
            % {"user": item.former_owner, "name": item.customer.name},
        )
    return HttpResponseRedirect(_safe_next(request, reverse("ownership:missing_notes")))


@require_http_methods(GET)
def preview(request: HttpRequest) -> HttpResponse:
    """R5.11: what the next nightly runs will release, per salesperson, split R5.2 / R5.4."""
    _require_manager(request.user)
    days = selectors.release_preview(user=request.user)
    for day in days:
        owners: dict[int, dict[str, Any]] = {}
        for row in day.rows:
            slot = owners.setdefault(
                row["owner_id"],
                {"owner_id": row["owner_id"], "owner": row["owner"], "no_deal": 0, "no_sale": 0, "total": 0},
            )
            slot["no_sale" if row["sold_in_ownership"] else "no_deal"] += row["n"]
            slot["total"] += row["n"]
        day.owners = sorted(owners.values(), key=lambda r: (-r["total"], str(r["owner"])))
        day.no_deal = sum(r["no_deal"] for r in day.owners)
        day.no_sale = sum(r["no_sale"] for r in day.owners)
    return render(request, "ownership/preview.html", {"days": days, "nightly": nightly_status()})


@require_http_methods(GET)
def preview_day(request: HttpRequest, day: str) -> HttpResponse:
    _require_manager(request.user)
    try:
        run_date = date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    owner_id = int_param(request.GET.get("owner"), default=0, low=0, high=2**63 - 1) or None
    first_run = selectors.next_run_dates(count=1)[0]
    qs = selectors.releasing_on(user=request.user, run_date=run_date, owner_id=owner_id, first_run=first_run)
    page = capped_page(request, qs)
    owner = None
    if owner_id:
        owner = next((c.owner for c in page.items), None)
    return render(
        request,
        "ownership/preview_day.html",
        {"run_date": run_date, "page": page, "owner": owner, "owner_id": owner_id, "today": local_today()},
    )


@require_http_methods(GET_POST)
def settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    departments = None
    department: Department | None = None
    if user.is_admin_role:
        departments = list(Department.objects.order_by("name"))
        wanted = int_param(request.GET.get("department"), default=0, low=0, high=2**63 - 1)
        if not wanted and user.department_id:
            wanted = user.department_id
        department = next((d for d in departments if d.pk == wanted), None)
    elif user.department_id:
        department = user.department
    else:
        raise PermissionDenied(_("You belong to no department."))
    form = None
    if department is not None:
        if request.method == "POST":
            instance = services.pool_settings_for(department.pk)
            form = PoolSettingsForm(request.POST, instance=instance)
            if form.is_valid():
                try:
                    services.pool_settings_update(settings=instance, user=user, data=form.settings_data())
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Pool settings of %(dept)s saved.") % {"dept": department})
                    return redirect(request.get_full_path())
        else:
            form = PoolSettingsForm(instance=_settings_read(department.pk))
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "ownership/settings_form.html",
        {"form": form, "department": department, "departments": departments},
    )
