"""The home page of each role and the reports behind their charts. Read-only: every page is a GET
that builds a scope from the filter bar (what the user may read, nothing more), asks
dashboard/selectors.py for the figures and renders them; exports are the same rows as .xlsx."""

from datetime import timedelta
from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import User
from crm.dates import start_of_local_day
from crm.errors import PermissionDenied
from crm.pagination import capped_page
from crm.sorting import ordering_param, sort_links
from crm.spreadsheets import xlsx_response
from ownership.selectors import PoolFlow, pool_flow_person_q, pool_movements_visible_to
from sales.selectors import orders_visible_to

from . import pages, selectors
from .forms import ReportFilter

GET = ["GET", "HEAD"]
EXPORT_CAP = 100_000


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_team(user: User) -> None:
    _require(selectors.manages_team(user), _("The team dashboard is for managers."))


def _require_reader(user: User) -> None:
    _require(selectors.reads_team(user), _("These reports are for managers and finance."))


def _filter(request: HttpRequest, **extra: Any) -> tuple[ReportFilter, selectors.Scope | None]:
    form = ReportFilter(request.GET or None, user=request.user, **extra)
    return form, form.scope()


# --- The home page --------------------------------------------------------------------------------


@require_http_methods(GET)
def home(request: HttpRequest) -> HttpResponse:
    """`/`: the home page of the user's role (managers and admins: the team dashboard; finance:
    the finance home; salespeople: the workbench)."""
    user = request.user
    if user.is_manager or user.is_admin_role:
        return team(request)
    if user.is_finance:
        return finance(request)
    if user.is_salesperson:
        return workbench(request)
    return render(request, "dashboard/no_role.html")


@require_http_methods(GET)
def workbench(request: HttpRequest) -> HttpResponse:
    """工作台: the salesperson's own day. It takes no filters: nobody else's figures can be asked for."""
    user = request.user
    _require(user.is_salesperson, _("The workbench is for salespeople."))
    bench = selectors.workbench(user, now=timezone.now())
    urgent = {
        "releasing": bool(bench.releasing),
        "follow_ups": bool(bench.follow_ups),
        "service": bool(bench.overdue_requests),
        "notifications": bool(bench.unread),
    }
    order = ["releasing", "follow_ups", "service", "notifications", "report", "claims", "visits", "sales", "pool"]
    cards = sorted(order, key=lambda card: (not urgent.get(card, False), order.index(card)))
    return render(
        request,
        "dashboard/workbench.html",
        {
            "bench": bench,
            "cards": [{"name": card, "urgent": urgent.get(card, False)} for card in cards],
            "sales_chart": pages.workbench_sales_chart(bench),
        },
    )


@require_http_methods(GET)
def team(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_team(user)
    form, scope = _filter(request)
    charts = pages.team_charts(form, scope) if scope else []
    return render(
        request,
        "dashboard/team.html",
        {"filter": form, "scope": scope, "charts": charts},
    )


@require_http_methods(GET)
def finance(request: HttpRequest) -> HttpResponse:
    """Finance's home: payments to confirm, receivables ageing, the month's commission and holds."""
    user = request.user
    _require_reader(user)
    form, scope = _filter(request)
    context: dict[str, Any] = {"filter": form, "scope": scope}
    if scope is not None:
        ordering = ordering_param(
            request.GET.get("ordering"), selectors.COMMISSION_ORDERINGS, selectors.COMMISSION_DEFAULT_SORT
        )
        context.update(
            waiting=selectors.payments_waiting(scope),
            receivables=list(selectors.receivables_sorted(scope)[: selectors.LIST_ROWS * 2]),
            commission=selectors.commission(scope, sort=ordering),
            sorts=sort_links(ordering, selectors.COMMISSION_COLUMNS, selectors.COMMISSION_ORDERINGS),
            charts=pages.finance_charts(form, scope),
            query=form.query(),
            ordering=ordering,
        )
    return render(request, "dashboard/finance.html", context)


# --- The lists behind the charts ---------------------------------------------------------------


@require_http_methods(GET)
def movements(request: HttpRequest) -> HttpResponse:
    """The history rows behind the pool's flows: customers that entered or left the pool."""
    user = request.user
    _require_team(user)
    form, scope = _filter(request)
    flow = request.GET.get("flow") or ""
    if flow not in PoolFlow.values:
        flow = ""
    page = None
    if scope is not None:
        start, end = scope.weeks()
        qs = pool_movements_visible_to(user)
        if scope.department_ids is not None:
            qs = qs.filter(customer__department_id__in=scope.department_ids)
        if scope.salesperson_id is not None:
            qs = qs.filter(pool_flow_person_q(scope.salesperson_id))
        qs = qs.filter(at__gte=start_of_local_day(start), at__lt=start_of_local_day(end + timedelta(days=1)))
        if flow:
            qs = qs.filter(flow=flow)
        qs = qs.select_related("customer", "from_owner", "to_owner", "actor").order_by("-at", "-id")
        page = capped_page(request, qs)
        context_range = (start, end)
    else:
        context_range = None
    return render(
        request,
        "dashboard/movements.html",
        {
            "filter": form,
            "page": page,
            "flow": flow,
            "hidden": [("flow", flow)],
            "flows": PoolFlow.choices,
            "range": context_range,
            "labels": dict(PoolFlow.choices),
        },
    )


@require_http_methods(GET)
def sales(request: HttpRequest) -> HttpResponse:
    """Confirmed sales of the range (by sale date, R8.1): the orders behind the sales charts."""
    user = request.user
    _require_reader(user)
    form, scope = _filter(request)
    page = totals = period = None
    if scope is not None:
        start, end = scope.months()
        period = (start, end)
        qs = orders_visible_to(user).filter(confirmed_on__gte=start, confirmed_on__lte=end)
        if scope.department_ids is not None:
            qs = qs.filter(department_id__in=scope.department_ids)
        if scope.salesperson_id is not None:
            qs = qs.filter(salesperson_id=scope.salesperson_id)
        totals = qs.aggregate(n=Count("id"), amount=Sum("amount"))
        page = capped_page(
            request,
            qs.select_related("customer", "department", "salesperson").order_by("-confirmed_on", "-id"),
        )
    return render(request, "dashboard/sales.html", {"filter": form, "page": page, "totals": totals, "period": period})


def _receivables_query(request: HttpRequest) -> tuple[ReportFilter, selectors.Scope | None, str, str]:
    form, scope = _filter(request)
    age = request.GET.get("age") or ""
    if age not in selectors.AGE_KEYS:
        age = ""
    sort = ordering_param(request.GET.get("ordering"), selectors.RECEIVABLE_SORTS, selectors.RECEIVABLE_DEFAULT_SORT)
    return form, scope, age, sort


@require_http_methods(GET)
def receivables(request: HttpRequest) -> HttpResponse:
    """Confirmed orders not paid in full, with their age (R7.1, R8): sortable, exportable."""
    user = request.user
    _require_reader(user)
    form, scope, age, sort = _receivables_query(request)
    page = totals = None
    if scope is not None:
        qs = selectors.receivables_sorted(scope, age=age, sort=sort)
        totals = selectors.receivables(scope, age=age).aggregate(n=Count("id"), outstanding=Sum("due"))
        page = capped_page(request, qs)
    return render(
        request,
        "dashboard/receivables.html",
        {
            "filter": form,
            "scope": scope,
            "page": page,
            "totals": totals,
            "age": age,
            "hidden": [("age", age), ("ordering", request.GET.get("ordering") and sort)],
            "ages": [(key, pages.age_label(key)) for key in selectors.AGE_KEYS],
            "sorts": sort_links(sort, selectors.RECEIVABLE_COLUMNS, selectors.RECEIVABLE_SORTS),
            "export_query": request.GET.urlencode(),
        },
    )


# --- Exports (R6.4: for managers; finance exports receivables and commission) --------------------


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


@require_http_methods(GET)
def receivables_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_reader(user)
    _form, scope, age, sort = _receivables_query(request)
    if scope is None:
        return receivables(request)  # the page shows what is wrong with the filters
    today = scope.today
    rows = (
        (
            o.customer.name,
            o.department.name,
            str(o.salesperson),
            o.pk,
            o.deal_date,
            o.confirmed_on,
            o.amount,
            o.paid_amount,
            o.due,
            (today - o.confirmed_on).days if o.confirmed_on else None,
            pages.age_label(o.age),
        )
        for o in selectors.receivables_sorted(scope, age=age, sort=sort)[:EXPORT_CAP].iterator(chunk_size=2000)
    )
    header = [
        _("Customer"),
        _("Department"),
        _("Salesperson"),
        _("Order"),
        _("Deal date"),
        _("Sale date"),
        _("Amount"),
        _("Confirmed payments"),
        _("Outstanding"),
        _("Days since the sale"),
        _("Ageing"),
    ]
    return xlsx_response(filename=f"receivables-{_stamp()}.xlsx", title=_("Receivables"), header=header, rows=rows)


@require_http_methods(GET)
def commission_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_reader(user)
    _form, scope = _filter(request)
    if scope is None:
        return finance(request)
    ordering = ordering_param(
        request.GET.get("ordering"), selectors.COMMISSION_ORDERINGS, selectors.COMMISSION_DEFAULT_SORT
    )
    lines = selectors.commission(scope, sort=ordering)
    header = [
        _("Salesperson"),
        _("Department"),
        _("Month"),
        _("Sales"),
        _("Sales amount"),
        _("Rate"),
        _("Commission"),
        _("On hold"),
    ]
    rows = [
        (
            str(line.salesperson),
            str(line.salesperson.department or ""),
            f"{scope.month:%Y-%m}",
            line.sales_count,
            line.sales_amount,
            line.rate,
            line.commission,
            "；".join(hold.reason for hold in line.holds),
        )
        for line in lines
    ]
    return xlsx_response(
        filename=f"commission-{scope.month:%Y-%m}-{_stamp()}.xlsx",
        title=_("Commission statement"),
        header=header,
        rows=rows,
    )
