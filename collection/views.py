"""Collection pages (R1): imports of customer lists into the pool, the customer export for
managers, information reports. Thin: selector (404 for what the user may not see) → form →
service → message. DomainError → its message; PermissionDenied goes on to Django (403). No input gives a 500."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from crm.dates import local_today, start_of_local_day
from crm.errors import DomainError, PermissionDenied
from crm.middleware import passive
from crm.pagination import capped_page, id_param
from crm.spreadsheets import csv_response, xlsx_response
from customers.filters import CustomerFilter
from customers.models import Contact, Customer, Industry
from customers.selectors import customers_visible_to
from customers.services import customer_search_q

from . import parsing, selectors, services
from .forms import FindingsForm, MappingForm, ReportForm, ReportSearchForm, TaskForm, UploadForm, verdict_param
from .models import ImportStatus, InfoTask, ReportStatus, Verdict

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]
EXPORT_MAX_ROWS = 100_000
FORMATS = ("xlsx", "csv")


# --- Imports (R1.2) --------------------------------------------------------------------------------


def _say_if_waiting(request: HttpRequest, batch) -> None:
    """The batch was handed to the worker but the broker could not be reached: it waits, and
    resume-stalled-imports queues it once the broker is back."""
    if batch.is_waiting:
        messages.warning(
            request,
            _(
                "The background task queue cannot be reached right now. Your file is kept and waits: "
                "the work starts by itself once the queue is back."
            ),
        )


def _progress_context(batch) -> dict[str, Any]:
    done, total = selectors.import_progress(batch)
    return {
        "progress": (done, total),
        "percent": min(100, round(100 * done / total)) if total else 0,
        "progress_state": selectors.import_state(batch),
        "stall_minutes": settings.IMPORT_STALL_MINUTES,
    }


@require_http_methods(GET)
def imports(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (selectors.can_import(user) or user.is_admin_role):
        raise PermissionDenied(_("Customer lists are imported by salespeople and managers."))
    qs = selectors.imports_visible_to(user).select_related("uploaded_by", "department").order_by("-created_at", "-id")
    return render(
        request,
        "collection/imports.html",
        {"page_obj": capped_page(request, qs), "can_import": selectors.can_import(user)},
    )


def _uploaded_file(request: HttpRequest):
    try:
        files = [f for key in request.FILES for f in request.FILES.getlist(key)]
    except (TooManyFilesSent, RequestDataTooBig):
        return None
    return files


@require_http_methods(GET_POST)
def import_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not selectors.can_import(user):
        raise PermissionDenied(_("Customer lists are imported by salespeople and managers of a sales department."))
    form = UploadForm(request.POST or None, request.FILES or None) if request.method == "POST" else UploadForm()
    if request.method == "POST":
        files = _uploaded_file(request)
        if files is None or len(files) > 1:
            form.add_error(None, _("Upload one file at a time."))
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.import_upload(
                    user=user,
                    file_name=upload.name or "",
                    data=upload.read(),
                    source=form.cleaned_data["source"],
                    source_detail=form.cleaned_data["source_detail"],
                    language=get_language() or "zh-hans",
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                if batch.mapping.get("name") is not None:
                    # The columns were recognised: check right away, the preview shows the verdicts.
                    try:
                        batch = services.import_check(batch=batch, user=user, mapping=batch.mapping)
                    except DomainError as exc:
                        messages.warning(request, exc.message)
                    else:
                        _say_if_waiting(request, batch)
                else:
                    messages.info(request, _("Choose which column holds what, then check the rows."))
                return redirect("collection:import_detail", pk=batch.pk)
    return render(request, "collection/import_new.html", {"form": form})


@require_http_methods(GET)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview: the column mapping, then each row's verdict before anything is saved."""
    user = request.user
    batch = selectors.import_for_user(user=user, pk=pk)
    can_manage = selectors.can_manage_import(user, batch)
    initial = {k: ("" if v is None else str(v)) for k, v in (batch.mapping or {}).items()}
    ctx: dict[str, Any] = {
        "batch": batch,
        "can_manage": can_manage,
        "mapping_form": MappingForm(headers=batch.headers, initial=initial),
        "previous": (previous := selectors.previous_import(batch)),
        # R6.4: who imported it and the link only when the user may open that import.
        "previous_visible": previous is not None and selectors.imports_visible_to(user).filter(pk=previous.pk).exists(),
        "verdicts": Verdict.choices,
        "large_rows": services.LARGE_ROWS,
    }
    if batch.status in (ImportStatus.CHECKED, ImportStatus.DONE):
        verdict = verdict_param(request.GET.get("verdict"))
        rows = batch.rows.select_related("customer").order_by("number")
        if verdict:
            rows = rows.filter(verdict=verdict)
        page = capped_page(request, rows, default_size=50)
        visible = set(
            customers_visible_to(user)
            .filter(
                pk__in={r.duplicate_customer_id for r in page if r.duplicate_customer_id}
                | {r.customer_id for r in page if r.customer_id}
            )
            .values_list("pk", flat=True)
        )
        mapped = [(f, parsing.FIELDS[f]) for f in parsing.FIELDS if (batch.mapping or {}).get(f) is not None]
        industries = dict(Industry.choices)
        for row in page:
            row.cells = [
                (f, industries.get(row.data.get(f), "") if f == "industry" else row.data.get(f, "")) for f, _l in mapped
            ]
        ctx.update(page_obj=page, verdict=verdict, visible_ids=visible, mapped=mapped)
    if batch.is_running:
        ctx.update(_progress_context(batch))
    return render(request, "collection/import_detail.html", ctx)


@passive
@require_http_methods(GET)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx every second; when the work is over the page reloads."""
    batch = selectors.import_for_user(user=request.user, pk=pk)
    if not batch.is_running:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "collection/_import_progress.html", {"batch": batch, **_progress_context(batch)})


@require_POST
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.import_for_user(user=request.user, pk=pk)
    form = MappingForm(request.POST, headers=batch.headers)
    form.is_valid()
    try:
        batch = services.import_check(batch=batch, user=request.user, mapping=form.mapping())
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _say_if_waiting(request, batch)
    return redirect("collection:import_detail", pk=batch.pk)


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.import_for_user(user=request.user, pk=pk)
    try:
        batch = services.import_start(batch=batch, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if batch.status == ImportStatus.DONE:
            messages.success(request, _("%(n)d customers imported into the pool.") % {"n": batch.imported_count})
        elif batch.error:
            messages.error(request, batch.error)
        else:
            _say_if_waiting(request, batch)
    return redirect("collection:import_detail", pk=batch.pk)


@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.import_for_user(user=request.user, pk=pk)
    try:
        services.import_cancel(batch=batch, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Import cancelled; the uploaded file is deleted."))
    return redirect("collection:imports")


@require_http_methods(GET)
def import_rejected(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The rows not imported, with why (R1.2), as .xlsx or .csv."""
    batch = selectors.import_for_user(user=request.user, pk=pk)
    if fmt not in FORMATS or batch.status not in (ImportStatus.CHECKED, ImportStatus.DONE):
        raise Http404
    header = [_("Row"), _("Verdict"), _("Reason"), *batch.headers]
    name = f"rejected-rows-{batch.pk}.{fmt}"
    if fmt == "csv":
        return csv_response(filename=name, header=header, rows=services.rejected_rows(batch))
    return xlsx_response(filename=name, title=_("Rejected rows"), header=header, rows=services.rejected_rows(batch))


# --- Customer export (R6.4: for managers) ---------------------------------------------------------


def _primary(field: str) -> Subquery:
    return Subquery(Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "id").values(field)[:1])


@require_http_methods(GET)
def customer_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The customer list (its filters, what the user sees) as .xlsx or .csv, for managers and
    admins. Every text cell that a spreadsheet would read as a formula is escaped."""
    user = request.user
    if not selectors.can_export_customers(user):
        raise PermissionDenied(_("Exports are for managers."))
    if fmt not in FORMATS:
        raise Http404
    base = (
        customers_visible_to(user)
        .select_related("owner", "department")
        .annotate(contact_name=_primary("name"), contact_phone=_primary("phone"), contact_email=_primary("email"))
        .order_by("-created_at", "-id")
    )
    filterset = CustomerFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs[:EXPORT_MAX_ROWS]
    header = [
        _("Customer"),
        _("Unified social credit code"),
        _("Department"),
        _("Owner"),
        _("Basis"),
        _("Tier"),
        _("Industry"),
        _("Province"),
        _("City"),
        _("Address"),
        _("Source"),
        _("Source details"),
        _("Payment credit"),
        _("Problem customer"),
        _("Deadline"),
        _("Last contact"),
        _("Created"),
        _("Contact"),
        _("Phone"),
        _("Email"),
    ]
    yes, no, pool = _("Yes"), _("No"), _("In the pool")

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [
                c.name,
                c.credit_code or "",
                str(c.department),
                str(c.owner) if c.owner_id else pool,
                c.get_owner_basis_display() if c.owner_id else c.get_release_reason_display(),
                str(c.get_tier_display()),
                str(c.get_industry_display()),
                c.province,
                c.city,
                c.address,
                str(c.get_source_display()),
                c.source_detail,
                str(c.get_credit_status_display()),
                yes if c.shows_as_problem else no,
                c.deadline,
                c.last_contact_at,
                c.created_at,
                c.contact_name or "",
                c.contact_phone or "",
                c.contact_email or "",
            ]

    name = f"customers-{local_today():%Y%m%d}.{fmt}"
    if fmt == "csv":
        return csv_response(filename=name, header=header, rows=rows())
    return xlsx_response(filename=name, title=_("Customers"), header=header, rows=rows())


# --- Information reports (R1.3) --------------------------------------------------------------------


@require_http_methods(GET)
def reports(request: HttpRequest) -> HttpResponse:
    """The archive: published and archived reports, searchable by category, date and text; the
    drafts the user may see on top."""
    user = request.user
    visible = selectors.reports_visible_to(user)
    form = ReportSearchForm(request.GET or None)
    qs = visible.select_related("author").order_by("-published_at", "-id")
    if form.is_bound and not form.is_valid():
        qs = qs.none()
    else:
        c = form.cleaned_data if form.is_bound else {}
        status = c.get("status") or ""
        qs = qs.filter(status=status) if status else qs.exclude(status=ReportStatus.DRAFT)
        if c.get("category"):
            qs = qs.filter(category=c["category"])
        if c.get("q"):
            text = c["q"]
            qs = qs.filter(
                Q(title__icontains=text)
                | Q(summary__icontains=text)
                | Q(needs_direction__icontains=text)
                | Q(information_needed__icontains=text)
                | Q(work_plan__icontains=text)
                | Q(category__icontains=text)
            )
        if c.get("date_from"):
            qs = qs.filter(published_at__gte=start_of_local_day(c["date_from"]))
        if c.get("date_to"):
            qs = qs.filter(published_at__lt=start_of_local_day(c["date_to"] + timedelta(days=1)))
    drafts = visible.filter(status=ReportStatus.DRAFT).select_related("author").order_by("-updated_at")[:50]
    return render(
        request,
        "collection/reports.html",
        {
            "form": form,
            "page_obj": capped_page(request, qs),
            "drafts": drafts,
            "categories": selectors.report_categories(user),
            "tasks": selectors.my_open_tasks(user) if user.is_salesperson else [],
            "can_create": bool(user.department_id and (user.is_salesperson or user.is_manager or user.is_admin_role)),
        },
    )


def _category_options(user: User) -> list[str]:
    return sorted({c for c, _n in selectors.report_categories(user)} | {str(label) for _v, label in Industry.choices})


@require_http_methods(GET_POST)
def report_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.department_id and (user.is_salesperson or user.is_manager or user.is_admin_role)):
        raise PermissionDenied(_("Only members of a sales department write information reports."))
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.report_create(user=user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Draft report created: assign tasks and link customers."))
            return redirect("collection:report_detail", pk=report.pk)
    return render(
        request, "collection/report_form.html", {"form": form, "report": None, "categories": _category_options(user)}
    )


def _report_context(request: HttpRequest, report, *, task_form=None) -> dict[str, Any]:
    user = request.user
    can_edit = selectors.can_edit_report(user, report)
    links = list(report.links.select_related("customer", "customer__owner").order_by("customer__name"))
    visible = set(
        customers_visible_to(user).filter(pk__in=[link.customer_id for link in links]).values_list("pk", flat=True)
    )
    tasks = list(report.tasks.select_related("assignee"))
    for task in tasks:
        task.can_write = selectors.can_write_findings(user, task, report)
        task.form = FindingsForm(initial={"findings": task.findings}, prefix=f"t{task.pk}") if task.can_write else None
    search_results: list[Customer] = []
    q = (request.GET.get("q") or "").strip()[:100]
    if can_edit and q and "\x00" not in q:
        author = User.objects.get(pk=report.author_id)
        search_results = list(
            customers_visible_to(user)
            .filter(pk__in=customers_visible_to(author).values("pk"))
            .filter(customer_search_q(q, user=user))
            .exclude(pk__in=[link.customer_id for link in links])
            .select_related("owner")
            .order_by("name", "id")[:10]
        )
    salespeople = selectors.report_assignees(report)
    return {
        "report": report,
        "can_edit": can_edit,
        "can_publish": selectors.can_publish_report(user, report),
        "can_archive": selectors.can_archive_report(user, report),
        "links": [link for link in links if link.customer_id in visible],
        "hidden_links": sum(1 for link in links if link.customer_id not in visible),
        "tasks": tasks,
        "task_form": task_form or (TaskForm(salespeople=salespeople) if can_edit else None),
        "events": report.events.select_related("actor"),
        "q": q,
        "search_results": search_results,
    }


@require_http_methods(GET)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_for_user(user=request.user, pk=pk)
    return render(request, "collection/report_detail.html", _report_context(request, report))


def _editable_report(request: HttpRequest, pk: int):
    report = selectors.report_for_user(user=request.user, pk=pk)
    if not selectors.can_edit_report(request.user, report):
        raise PermissionDenied(_("Only the author and the managers change a draft report."))
    return report


@require_http_methods(GET_POST)
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    report = _editable_report(request, pk)
    form = ReportForm(request.POST or None, instance=report)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_update(report=report, user=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Report saved."))
            return redirect("collection:report_detail", pk=report.pk)
    return render(
        request,
        "collection/report_form.html",
        {"form": form, "report": report, "categories": _category_options(request.user)},
    )


@require_POST
def task_add(request: HttpRequest, pk: int) -> HttpResponse:
    report = _editable_report(request, pk)
    salespeople = selectors.report_assignees(report)
    form = TaskForm(request.POST, salespeople=salespeople)
    if form.is_valid():
        try:
            services.report_task_add(
                report=report, user=request.user, assignee=form.cleaned_data["assignee"], text=form.cleaned_data["text"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Task assigned."))
            return redirect("collection:report_detail", pk=report.pk)
    return render(request, "collection/report_detail.html", _report_context(request, report, task_form=form))


def _task(report, tid: int) -> InfoTask:
    task = InfoTask.objects.filter(pk=tid, report=report).select_related("report").first()
    if task is None:
        raise Http404
    return task


@require_POST
def task_remove(request: HttpRequest, pk: int, tid: int) -> HttpResponse:
    report = _editable_report(request, pk)
    task = _task(report, tid)
    services.report_task_remove(task=task, user=request.user)
    messages.success(request, _("Task removed."))
    return redirect("collection:report_detail", pk=report.pk)


@require_POST
def task_findings(request: HttpRequest, pk: int, tid: int) -> HttpResponse:
    report = selectors.report_for_user(user=request.user, pk=pk)
    task = _task(report, tid)
    form = FindingsForm(request.POST, prefix=f"t{task.pk}")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("collection:report_detail", pk=report.pk)
    try:
        services.task_findings_save(task=task, user=request.user, findings=form.cleaned_data["findings"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Findings saved."))
    return redirect("collection:report_detail", pk=report.pk)


@require_POST
def report_link(request: HttpRequest, pk: int) -> HttpResponse:
    report = _editable_report(request, pk)
    customer_id = id_param(request.POST.get("customer"))
    customer = customers_visible_to(request.user).filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise Http404
    try:
        services.report_link_customer(report=report, user=request.user, customer=customer)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s linked.") % {"name": customer.name})
    return redirect("collection:report_detail", pk=report.pk)


@require_POST
def report_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    report = _editable_report(request, pk)
    customer_id = id_param(request.POST.get("customer"))
    if customer_id is None:
        raise Http404
    services.report_unlink_customer(report=report, user=request.user, customer_id=customer_id)
    return redirect("collection:report_detail", pk=report.pk)


@require_POST
def report_publish(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_for_user(user=request.user, pk=pk)
    try:
        services.report_publish(report=report, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Report published: the department's salespeople are notified."))
    return redirect("collection:report_detail", pk=report.pk)


@require_POST
def report_archive(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_for_user(user=request.user, pk=pk)
    try:
        services.report_archive(report=report, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Report archived."))
    return redirect("collection:report_detail", pk=report.pk)
