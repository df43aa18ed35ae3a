"""Follow-up pages (R3). Thin: selector (404 for what the user may not see) → form → service →
message. DomainError → its message; PermissionDenied goes on to Django (403). Bad query strings fall back to
defaults with a message, never a 500."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from crm.dates import local_today, start_of_local_day
from crm.errors import DomainError, PermissionDenied
from customers.models import Contact
from customers.selectors import contacts_of, customer_for_user

from . import selectors, services
from .export import reports_workbook
from .forms import CommentForm, PlanForm, SummaryForm, VisitForm, parse_day, parse_kind, parse_month
from .models import Channel, Report, ReportKind, ReportStatus
from .sections import visits_context

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _require_salesperson(user: User) -> None:
    if not user.is_salesperson:
        raise PermissionDenied(_("This page is for salespeople."))


def _require_manager(user: User) -> None:
    if not (user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("This page is for managers."))


def _day_param(request: HttpRequest, name: str = "day") -> date:
    """?day=YYYY-MM-DD, today when absent; a malformed one is today with a warning."""
    raw = request.GET.get(name)
    today = local_today()
    if not raw:
        return today
    day = parse_day(raw)
    if day is None:
        messages.warning(request, _("“%(value)s” is not a date (YYYY-MM-DD); showing today.") % {"value": raw[:20]})
        return today
    return day


def _month_param(request: HttpRequest) -> date:
    raw = request.GET.get("month")
    this_month = local_today().replace(day=1)
    if not raw:
        return this_month
    month = parse_month(raw)
    if month is None:
        messages.warning(request, _("“%(value)s” is not a month (YYYY-MM); showing this month.") % {"value": raw[:20]})
        return this_month
    return month


def _shift_month(month: date, delta: int) -> date:
    total = month.year * 12 + month.month - 1 + delta
    return date(total // 12, total % 12 + 1, 1)


# --- Displaying compiled content -----------------------------------------------------------------


def _to_dt(value: str | None) -> datetime | str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def _to_date(value: str | None) -> date | str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value


def display_content(content: dict[str, Any]) -> dict[str, Any]:
    """The JSON content (live or frozen) with dates, times and channel names for the templates."""
    channels = dict(Channel.choices)
    visits = []
    for v in content.get("visits", []):
        row = dict(v)
        row["visited_at"] = _to_dt(v.get("visited_at"))
        row["next_follow_up_on"] = _to_date(v.get("next_follow_up_on"))
        row["channel_label"] = channels.get(v.get("channel"), v.get("channel", ""))
        visits.append(row)
    progress = dict(content.get("progress", {}))
    progress["month"] = _to_date(progress.get("month"))
    target, done = progress.get("target", 0), progress.get("visits_done", 0)
    planned, visited = progress.get("customers_planned", 0), progress.get("customers_visited", 0)
    progress["visits_percent"] = min(100, round(100 * done / target)) if target else 0
    progress["customers_percent"] = min(100, round(100 * visited / planned)) if planned else 0
    return {
        **content,
        "visits": visits,
        "progress": progress,
        "period_start": _to_date(content.get("period_start")),
        "period_end": _to_date(content.get("period_end")),
    }


# --- Visits (R3.2) -------------------------------------------------------------------------------


def _customer_for_visit(request: HttpRequest, pk: Any):
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    return customer_for_user(user=request.user, pk=pk)


@require_http_methods(GET_POST)
def visit_new(request: HttpRequest) -> HttpResponse:
    """The full visit form for ?customer=<id> (from "my customers", or without htmx)."""
    user = request.user
    _require_salesperson(user)
    customer = _customer_for_visit(request, request.GET.get("customer") or request.POST.get("customer"))
    if not selectors.can_record_visit(user, customer):
        raise PermissionDenied(_("Visits are recorded by the customer's owner: this customer is not yours."))
    contacts = contacts_of(user=user, customer=customer)
    form = VisitForm(request.POST if request.method == "POST" else None, contacts=contacts)
    next_url = _safe_next(request, reverse("customers:detail", args=[customer.pk]))
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_record(customer=customer, user=user, data=form.visit_input())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Visit to %(name)s recorded.") % {"name": customer.name})
            return redirect(next_url)
    return render(
        request,
        "followups/visit_form.html",
        {"customer": customer, "form": form, "visit": None, "next_url": next_url},
    )


@require_POST
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Quick entry from the customer page: with htmx, the "Visits" section is answered in place."""
    user = request.user
    customer = customer_for_user(user=user, pk=pk)
    if not selectors.can_record_visit(user, customer):
        raise PermissionDenied(_("Visits are recorded by the customer's owner: this customer is not yours."))
    form = VisitForm(request.POST, contacts=contacts_of(user=user, customer=customer))
    saved = False
    if form.is_valid():
        try:
            services.visit_record(customer=customer, user=user, data=form.visit_input())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            saved = True
    if _is_htmx(request):
        fresh = customer_for_user(user=user, pk=customer.pk)
        ctx = visits_context(request, fresh, form=None if saved else form, saved=saved)
        return render(request, "followups/_customer_section.html", {"customer": fresh, "ctx": ctx})
    if saved:
        messages.success(request, _("Visit to %(name)s recorded.") % {"name": customer.name})
        return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "followups/visit_form.html",
        {"customer": customer, "form": form, "visit": None, "next_url": reverse("customers:detail", args=[pk])},
    )


@require_http_methods(GET_POST)
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    visit = selectors.visit_for_user(user=user, pk=pk)
    if visit.salesperson_id != user.pk:
        raise PermissionDenied(_("Only the salesperson who recorded a visit corrects it."))
    customer = visit.customer
    # R6.4: the customer's current contacts only while the author still sees its file (it may have
    # changed hands since); otherwise the visit's own contact alone.
    contacts = contacts_of(user=user, customer=customer)
    if not contacts.exists() and visit.contact_id:
        contacts = Contact.objects.filter(pk=visit.contact_id)
    form = VisitForm(
        request.POST if request.method == "POST" else None,
        contacts=contacts,
        initial=VisitForm.initial_from(visit),
    )
    next_url = _safe_next(request, reverse("followups:visits"))
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_update(visit=visit, user=user, data=form.visit_input())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Visit saved."))
            return redirect(next_url)
    return render(
        request, "followups/visit_form.html", {"customer": customer, "form": form, "visit": visit, "next_url": next_url}
    )


@require_http_methods(GET)
def visits(request: HttpRequest) -> HttpResponse:
    """My visit records of a week (managers: the team's), newest first."""
    user = request.user
    if not (user.is_salesperson or user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("This page is for salespeople."))
    day = _day_param(request)
    start, end = services.report_period(kind=ReportKind.WEEKLY, day=day)
    qs = (
        selectors.visits_visible_to(user)
        .filter(visited_at__gte=start_of_local_day(start), visited_at__lt=start_of_local_day(end + timedelta(days=1)))
        .select_related("customer", "contact", "salesperson")
        .order_by("-visited_at", "-id")
    )
    return render(
        request,
        "followups/visits.html",
        {
            "visits": qs[:500],
            "start": start,
            "end": end,
            "prev_day": start - timedelta(days=7),
            "next_day": start + timedelta(days=7),
            "show_salesperson": not user.is_salesperson or user.is_manager or user.is_admin_role,
        },
    )


@require_http_methods(GET)
def due(request: HttpRequest) -> HttpResponse:
    """Follow-ups due today or overdue."""
    user = request.user
    _require_salesperson(user)
    today = local_today()
    rows = []
    for customer in selectors.follow_ups_due(user=user, today=today):
        when = customer.next_follow_up_on if customer.owner_id == user.pk else customer.my_next
        if when is None:
            continue
        rows.append({"customer": customer, "when": when, "days_over": (today - when).days, "tracked": customer.in_pool})
    rows.sort(key=lambda r: (r["when"], r["customer"].pk))
    return render(request, "followups/due.html", {"rows": rows, "today": today})


# --- Plans (R3.1) --------------------------------------------------------------------------------


@require_http_methods(GET_POST)
def plan(request: HttpRequest) -> HttpResponse:
    """My monthly plan (?month=YYYY-MM); a manager edits a team member's with ?salesperson=<id>."""
    user = request.user
    month = _month_param(request)
    raw_sp = request.GET.get("salesperson")
    if raw_sp:
        salesperson = selectors.team_member_for_user(user=user, pk=raw_sp)
    elif user.is_salesperson:
        salesperson = user
    elif user.is_manager or user.is_admin_role:
        return redirect(f"{reverse('followups:team_plans')}?month={month:%Y-%m}")
    else:
        raise PermissionDenied(_("This page is for salespeople."))
    existing = selectors.plan_of(user=user, salesperson=salesperson, month=month)
    editable = month >= local_today().replace(day=1)
    choices = selectors.plannable_customers(salesperson).order_by("owner_id", "name")
    if existing is not None:
        # Customers planned earlier stay listed even if they changed hands since.
        choices = (choices | existing.customers.all()).distinct().order_by("owner_id", "name")
    initial = {
        "target_count": existing.target_count if existing else 0,
        "customers": list(existing.entries.values_list("customer_id", flat=True)) if existing else [],
    }
    form = PlanForm(request.POST if request.method == "POST" else None, customers=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_set(
                salesperson=salesperson,
                month=month,
                target_count=form.cleaned_data["target_count"],
                customer_ids=[c.pk for c in form.cleaned_data["customers"]],
                user=user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Visit plan for %(month)s saved.") % {"month": f"{month:%Y-%m}"})
            return redirect(request.get_full_path())
    progress = services.plan_progress(salesperson=salesperson, month=month)
    planned = []
    if existing is not None:
        start = start_of_local_day(month)
        end = start_of_local_day(_shift_month(month, 1))
        planned = list(
            existing.customers.annotate(
                n_visits=Count(
                    "visits",
                    filter=Q(
                        visits__salesperson=salesperson, visits__visited_at__gte=start, visits__visited_at__lt=end
                    ),
                )
            ).order_by("name")
        )
    return render(
        request,
        "followups/plan.html",
        {
            "form": form,
            "plan": existing,
            "planned": planned,
            "progress": progress,
            "month": month,
            "prev_month": _shift_month(month, -1),
            "next_month": _shift_month(month, 1),
            "salesperson": salesperson,
            "is_self": salesperson.pk == user.pk,
            "editable": editable,
        },
    )


@require_http_methods(GET)
def team_plans(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    month = _month_param(request)
    team = list(selectors.team_of(user))
    progress = services.plans_progress(salespeople=team, month=month)
    rows = [{"member": m, "progress": progress[m.pk]} for m in team]
    return render(
        request,
        "followups/team_plans.html",
        {
            "rows": rows,
            "month": month,
            "prev_month": _shift_month(month, -1),
            "next_month": _shift_month(month, 1),
            "show_department": user.is_admin_role,
        },
    )


# --- Reports (R3.3) ------------------------------------------------------------------------------


@dataclass
class Period:
    kind: str
    start: date
    end: date

    @property
    def prev_day(self) -> date:
        return self.start - timedelta(days=1 if self.kind == ReportKind.DAILY else 7)

    @property
    def next_day(self) -> date:
        return self.start + timedelta(days=1 if self.kind == ReportKind.DAILY else 7)

    @property
    def label(self) -> str:
        return ReportKind(self.kind).label


def _period(request: HttpRequest, kind: str) -> Period:
    start, end = services.report_period(kind=kind, day=_day_param(request))
    return Period(kind, start, end)


@require_http_methods(GET_POST)
def my_report(request: HttpRequest, kind: str) -> HttpResponse:
    """My daily or weekly report (?day=YYYY-MM-DD): compiled live while a draft; add a summary,
    save or submit. A submitted one is shown frozen, with its comments."""
    user = request.user
    if kind not in ReportKind.values:
        raise Http404
    _require_salesperson(user)
    period = _period(request, kind)
    report = Report.objects.filter(salesperson=user, kind=kind, period_start=period.start).first()
    if report is not None and report.is_submitted:
        if request.method == "POST":
            messages.error(request, _("This report is already submitted and is not edited; add a comment instead."))
        return redirect("followups:report_detail", pk=report.pk)
    form = SummaryForm(
        request.POST if request.method == "POST" else None, initial={"summary": report.summary if report else ""}
    )
    if request.method == "POST" and form.is_valid():
        action = services.report_submit if "submit" in request.POST else services.report_save_draft
        try:
            report = action(
                salesperson=user, kind=kind, period_start=period.start, summary=form.cleaned_data["summary"], user=user
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if report.is_submitted:
                messages.success(request, _("Report submitted."))
                return redirect("followups:report_detail", pk=report.pk)
            messages.success(request, _("Draft saved."))
            return redirect(f"{request.path}?day={period.start.isoformat()}")
    content = display_content(services.report_compile(salesperson=user, kind=kind, period_start=period.start))
    return render(
        request,
        "followups/my_report.html",
        {
            "period": period,
            "report": report,
            "content": content,
            "form": form,
            "not_started": period.start > local_today(),
            "salesperson": user,
        },
    )


@require_http_methods(GET)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    report = selectors.report_for_user(user=user, pk=pk)
    if not report.is_submitted:
        # A draft is read on its editing page, by its author only.
        return redirect(f"{reverse('followups:my_report', args=[report.kind])}?day={report.period_start.isoformat()}")
    can_comment = report.salesperson_id == user.pk or selectors.manages(user, report.salesperson)
    return render(
        request,
        "followups/report_detail.html",
        {
            "report": report,
            "content": display_content(report.content or {}),
            "comments": report.comments.select_related("author"),
            "form": CommentForm() if can_comment else None,
            "is_author": report.salesperson_id == user.pk,
        },
    )


@require_POST
def report_comment(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    report = selectors.report_for_user(user=user, pk=pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a comment of at most 2000 characters."))
        return redirect("followups:report_detail", pk=report.pk)
    try:
        services.report_comment(report=report, user=user, text=form.cleaned_data["text"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Comment added."))
    return redirect("followups:report_detail", pk=report.pk)


def _team_period(request: HttpRequest) -> Period:
    kind = parse_kind(request.GET.get("kind")) or ReportKind.DAILY
    return _period(request, kind)


@require_http_methods(GET)
def team_reports(request: HttpRequest) -> HttpResponse:
    """The team's reports of a day or a week: who submitted, who has not; read and comment."""
    user = request.user
    _require_manager(user)
    period = _team_period(request)
    members = list(selectors.team_of(user))
    reports = {
        r.salesperson_id: r
        for r in selectors.reports_visible_to(user).filter(
            salesperson__in=members, kind=period.kind, period_start=period.start, status=ReportStatus.SUBMITTED
        )
    }
    lo, hi = start_of_local_day(period.start), start_of_local_day(period.end + timedelta(days=1))
    counts = dict(
        selectors.visits_visible_to(user)
        .filter(salesperson__in=members, visited_at__gte=lo, visited_at__lt=hi)
        .order_by()
        .values("salesperson_id")
        .annotate(n=Count("id"))
        .values_list("salesperson_id", "n")
    )
    rows = [{"member": m, "report": reports.get(m.pk), "visits": counts.get(m.pk, 0)} for m in members]
    return render(
        request,
        "followups/team_reports.html",
        {
            "period": period,
            "rows": rows,
            "submitted": sum(1 for r in rows if r["report"]),
            "missing": [r["member"] for r in rows if not r["report"]],
            "show_department": user.is_admin_role,
            "kinds": ReportKind.choices,
        },
    )


@require_http_methods(GET)
def team_export(request: HttpRequest) -> HttpResponse:
    """The submitted reports of the team's day or week as an Excel workbook (managers only, R6.4)."""
    user = request.user
    _require_manager(user)
    period = _team_period(request)
    reports = (
        selectors.reports_visible_to(user)
        .filter(
            salesperson__in=selectors.team_of(user),
            kind=period.kind,
            period_start=period.start,
            status=ReportStatus.SUBMITTED,
        )
        .select_related("salesperson", "salesperson__department")
        .order_by("salesperson__username")
    )
    body = reports_workbook(reports)
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"reports-{period.kind}-{period.start.isoformat()}-{timezone.localtime():%Y%m%d%H%M}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"  # reports are confidential (R6.4)
    return response
