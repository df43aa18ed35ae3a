"""Sales pages. Thin: selector (404 for what the user may not see) → form → service → message →
redirect. DomainError → the message; PermissionDenied goes on to Django (403)."""

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Department, User
from crm.dates import add_months, local_today
from crm.errors import DomainError, PermissionDenied
from crm.pagination import id_param
from crm.sorting import Direction, ordering_param, sort_links
from customers.selectors import customer_for_user, customers_visible_to
from customers.services import customer_search_q
from ownership.selectors import sale_effect

from . import selectors, services
from .forms import HoldForm, OrderForm, PaymentForm, QueueFilter, ReverseForm, SalesSettingsForm
from .models import Order, OrderStatus

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]
PAGE_SIZE = 25


def _paginate(request: HttpRequest, qs: QuerySet) -> Page:
    # Two queries whatever the page: COUNT and the page; a malformed ?page= gives the first page.
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


# --- Orders (R8.1) --------------------------------------------------------------------------------


@require_http_methods(GET)
def orders(request: HttpRequest) -> HttpResponse:
    """A salesperson's own orders; managers, finance and admins see the orders they may see."""
    user = request.user
    qs = selectors.my_orders(user) if user.is_salesperson else selectors.orders_visible_to(user)
    qs = qs.select_related("customer", "salesperson").order_by("-created_at", "-id")
    status = request.GET.get("status") or ""
    if status in OrderStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    return render(
        request,
        "sales/orders.html",
        {"page_obj": _paginate(request, qs), "status": status, "statuses": OrderStatus.choices},
    )


@require_http_methods(GET_POST)
def order_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    user = request.user
    customer = customer_for_user(user=user, pk=customer_pk)
    _require(
        user.is_salesperson and customer.owner_id == user.pk, _("You can record orders only for customers you own.")
    )
    form = OrderForm(
        request.POST if request.method == "POST" else None, initial={"deal_date": local_today().isoformat()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(customer=customer, user=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Order #%(id)s of %(amount)s recorded; it counts as a sale once finance confirms its first payment.")
                % {"id": order.pk, "amount": services.money(order.amount)},
            )
            return redirect("sales:order_detail", pk=order.pk)
    return render(request, "sales/order_form.html", {"customer": customer, "form": form})


def _order_page(request: HttpRequest, order: Order, payment_form: PaymentForm | None = None) -> HttpResponse:
    user = request.user
    if user.is_finance and payment_form is None and order.outstanding > 0:
        payment_form = PaymentForm(initial={"amount": f"{order.outstanding:.2f}", "received_on": local_today()})
    return render(
        request,
        "sales/order_detail.html",
        {
            "order": order,
            "payments": list(
                order.payments.select_related("confirmed_by", "reversed_by").order_by("confirmed_at", "id")
            ),
            "events": list(order.events.select_related("actor").order_by("-at", "-id")),
            "payment_form": payment_form if user.is_finance else None,
            "is_finance": user.is_finance,
            "next_url": _safe_next(request, ""),
        },
    )


@require_http_methods(GET)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, selectors.order_for_user(user=request.user, pk=pk))


@require_POST
def payment_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: the queue's or the order's form (pre-filled with the full amount due and today)
    posts here and gets the confirmation step — amount, order and what the confirmation does to
    the customer's ownership (R5.3) — whose button posts again with `confirmed=1` to save."""
    user = request.user
    order = selectors.order_for_user(user=user, pk=pk)
    _require(user.is_finance, _("Only finance confirms or reverses payments."))
    form = PaymentForm(request.POST)
    if form.is_valid() and request.POST.get("confirmed") != "1":
        return _confirmation_step(request, order, form)
    if form.is_valid():
        try:
            result = services.payment_confirm(order=order, user=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            text = _("%(amount)s confirmed on order #%(id)s.") % {
                "amount": services.money(result.payment.amount),
                "id": order.pk,
            }
            if result.became_owner:
                text += " " + _("First order: %(user)s now owns %(name)s.") % {
                    "user": order.salesperson,
                    "name": order.customer.name,
                }
            messages.success(request, text)
            return HttpResponseRedirect(_safe_next(request, reverse("sales:order_detail", args=[order.pk])))
    order.refresh_from_db()
    return _order_page(request, order, payment_form=form)


def _confirmation_step(request: HttpRequest, order: Order, form: PaymentForm) -> HttpResponse:
    amount = form.cleaned_data["amount"]
    problem = ""
    try:
        services.payment_check(
            order=order, amount=amount, received_on=form.cleaned_data["received_on"], today=local_today()
        )
    except DomainError as exc:
        problem = exc.message
    becomes_sale = order.confirmed_on is None
    customer = order.customer
    effect = sale_effect(customer=customer, salesperson=order.salesperson, day=local_today()) if becomes_sale else None
    return render(
        request,
        "sales/payment_confirm.html",
        {
            "order": order,
            "customer": customer,
            "amount": amount,
            "received_on": form.cleaned_data["received_on"],
            "still_due_after": order.outstanding - amount,
            "becomes_sale": becomes_sale,
            "effect": effect,
            "problem": problem,
            "next_url": _safe_next(request, ""),
            "back_url": _safe_next(request, reverse("sales:order_detail", args=[order.pk])),
            "today": local_today(),
        },
    )


@require_http_methods(GET_POST)
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    payment = selectors.payment_for_user(user=user, pk=pk)
    _require(user.is_finance, _("Only finance confirms or reverses payments."))
    if payment.is_reversed:
        messages.info(request, _("This payment confirmation has already been reversed."))
        return redirect("sales:order_detail", pk=payment.order_id)
    form = ReverseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_reverse(payment=payment, user=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The confirmation of %(amount)s is reversed; ownership and tier follow.")
                % {"amount": services.money(payment.amount)},
            )
            return redirect("sales:order_detail", pk=payment.order_id)
    return render(request, "sales/reverse_form.html", {"payment": payment, "order": payment.order, "form": form})


# --- Finance ------------------------------------------------------------------------------------


@require_http_methods(GET)
def queue(request: HttpRequest) -> HttpResponse:
    """Finance's confirmation queue: orders awaiting (further) payment, oldest first."""
    user = request.user
    _require(user.is_finance or user.is_admin_role, _("This page is for finance."))
    form = QueueFilter(request.GET or None, salespeople=selectors.salespeople_for_filters(user))
    qs = selectors.confirmation_queue(user)
    if form.is_bound and not form.is_valid():
        qs = qs.none()
    elif form.is_bound:
        data = form.cleaned_data
        if data.get("salesperson"):
            qs = qs.filter(salesperson=data["salesperson"])
        if data.get("q"):
            qs = qs.filter(
                customer__in=customers_visible_to(request.user).filter(
                    customer_search_q(data["q"].strip(), user=request.user)
                )
            )
        if data.get("date_from"):
            qs = qs.filter(deal_date__gte=data["date_from"])
        if data.get("date_to"):
            qs = qs.filter(deal_date__lte=data["date_to"])
    return render(
        request,
        "sales/queue.html",
        {"filter": form, "page_obj": _paginate(request, qs), "today": local_today(), "is_finance": user.is_finance},
    )


def _require_reader(user: User) -> None:
    _require(user.is_finance or user.is_manager or user.is_admin_role, _("This page is for finance and managers."))


@require_http_methods(GET)
def receivables(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_reader(user)
    by = "salesperson" if request.GET.get("by") == "salesperson" else "customer"
    orderings = selectors.RECEIVABLE_ORDERINGS[by]
    ordering = ordering_param(request.GET.get("ordering"), orderings, "-due_total")
    if by == "salesperson":
        qs = selectors.receivables_by_salesperson(user, ordering)
    else:
        qs = selectors.receivables_by_customer(user, ordering)
    sorts = sort_links(ordering, RECEIVABLE_SORT_COLUMNS, allowed=orderings)
    return render(request, "sales/receivables.html", {"by": by, "page_obj": _paginate(request, qs), "sorts": sorts})


RECEIVABLE_SORT_COLUMNS: dict[str, Direction] = {"name": "asc", "orders": "desc", "due_total": "desc", "since": "asc"}


def _month(value: str | None) -> date:
    today = local_today()
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        day = date(year, month, 1)
    except (TypeError, ValueError):
        return today.replace(day=1)
    return day if date(2000, 1, 1) <= day <= date(2999, 12, 1) else today.replace(day=1)


@require_http_methods(GET)
def commission(request: HttpRequest) -> HttpResponse:
    """R8.3: the monthly statement, with who is on hold (R7)."""
    user = request.user
    _require_reader(user)
    month = _month(request.GET.get("month"))
    lines = selectors.commission_statement(user=user, month=month)
    detail_id = id_param(request.GET.get("salesperson"))
    detail_line = next((line for line in lines if line.salesperson.pk == detail_id), None)
    detail = list(selectors.commission_orders(user=user, salesperson_id=detail_id, month=month)) if detail_line else []
    return render(
        request,
        "sales/commission.html",
        {
            "month": month,
            "previous": add_months(month, -1),
            "next": add_months(month, 1),
            "lines": lines,
            "total_sales": sum((line.sales_amount for line in lines), Decimal(0)),
            "total_commission": sum((line.commission for line in lines), Decimal(0)),
            "detail_line": detail_line,
            "detail": detail,
        },
    )


# --- Managers -----------------------------------------------------------------------------------


def _require_manager(user: User) -> None:
    _require(user.is_manager or user.is_admin_role, _("This page is for managers."))


@require_http_methods(GET_POST)
def settings(request: HttpRequest) -> HttpResponse:
    """R2.2 / R8.3: a department's thresholds, window and commission rate."""
    user = request.user
    _require_manager(user)
    departments = None
    department: Department | None = None
    if user.is_admin_role:
        departments = list(Department.objects.order_by("name"))
        wanted = id_param(request.GET.get("department")) or user.department_id
        department = next((d for d in departments if d.pk == wanted), None)
    elif user.department_id:
        department = user.department
    else:
        raise PermissionDenied(_("You belong to no department."))
    form = None
    instance = services.sales_settings_of(department.pk) if department else None
    if department is not None:
        form = SalesSettingsForm(request.POST if request.method == "POST" else None, instance=instance)
        if request.method == "POST" and form.is_valid():
            try:
                services.sales_settings_update(department=department, user=user, data=form.settings_data())
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Sales settings of %(dept)s saved.") % {"dept": department})
                return redirect(request.get_full_path())
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "sales/settings_form.html",
        {"form": form, "department": department, "departments": departments, "instance": instance},
    )


@require_http_methods(GET_POST)
def holds(request: HttpRequest) -> HttpResponse:
    """Commission holds: managers set and release them; finance reads them."""
    user = request.user
    _require_reader(user)
    can_manage = user.is_manager or user.is_admin_role
    form = None
    if can_manage:
        form = HoldForm(
            request.POST if request.method == "POST" else None, salespeople=selectors.salespeople_for_filters(user)
        )
        if request.method == "POST" and form.is_valid():
            try:
                hold = services.commission_hold_set(
                    salesperson=form.cleaned_data["salesperson"], user=user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The commission of %(user)s is on hold.") % {"user": hold.salesperson})
                return redirect("sales:holds")
    elif request.method == "POST":
        raise PermissionDenied(_("This page is for managers."))
    show = "all" if request.GET.get("show") == "all" else "open"
    qs = selectors.holds_visible_to(user).order_by("-set_at", "-id")
    if show == "open":
        qs = qs.filter(released_at__isnull=True)
    page = _paginate(request, qs)
    selectors.describe_holds(list(page))
    return render(request, "sales/holds.html", {"form": form, "page_obj": page, "can_manage": can_manage, "show": show})


@require_POST
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_manager(user)
    hold = selectors.holds_visible_to(user).filter(pk=id_param(pk) or 0).first()
    if hold is None:
        raise Http404
    try:
        services.commission_hold_release(hold=hold, user=user, note=(request.POST.get("note") or "")[:2000])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The hold on %(user)s's commission is released.") % {"user": hold.salesperson})
    return redirect("sales:holds")
