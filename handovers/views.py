"""Handover pages (R7.1, R7.2). Thin: selector (404 for what the user may not see) → form → service
→ message → redirect. DomainError → its message; PermissionDenied goes on to Django (403)."""

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Department, User
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from crm.pagination import capped_page, id_param
from crm.spreadsheets import xlsx_response
from customers.models import Customer
from customers.selectors import customer_for_user, customers_visible_to
from followups.selectors import draft_reports_count
from service.models import RequestKind

from . import selectors, services
from .forms import CancelForm, NoteForm, OpenForm, ReportFilterForm, StartForm
from .models import Handover, HandoverItem, Kind, State

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]
LIST_STATES = ("open", "completed", "cancelled", "all")
EXPORT_CAP = 100_000


def _require_manager(user: User, handover: Handover | None = None) -> None:
    allowed = selectors.manages(user, handover) if handover is not None else (user.is_manager or user.is_admin_role)
    if not allowed:
        raise PermissionDenied(_("Only a manager of this department runs its handovers."))


def _item_filters(data) -> dict[str, str]:
    status = data.get("status") or "all"
    return {
        "status": status if status in selectors.ITEM_STATUSES else "all",
        "q": (data.get("q") or "").strip()[:100],
        "receiver": (data.get("receiver") or "").strip()[:20],
    }


def _back(handover: Handover, filters: dict[str, str] | None = None) -> HttpResponse:
    url = reverse("handovers:detail", args=[handover.pk])
    query = {k: v for k, v in (filters or {}).items() if v and v != "all"}
    return redirect(f"{url}?{urlencode(query)}" if query else url)


def _ids(values: list[str]) -> list[int]:
    return [pk for pk in (id_param(v) for v in values) if pk is not None]


# --- Lists --------------------------------------------------------------------------------------


@require_http_methods(GET)
def handover_list(request: HttpRequest) -> HttpResponse:
    """Managers: the department's handovers; salespeople: those they hand over or receive from."""
    user = request.user
    state = request.GET.get("state") or "open"
    if state not in LIST_STATES:
        state = "open"
    qs = selectors.handovers_visible_to(user).select_related("department", "leaver", "opened_by")
    if state != "all":
        qs = qs.filter(state=state)
    page = capped_page(request, qs.order_by("-opened_at", "-id"))
    progress = selectors.progress_of(list(page))
    for h in page:
        h.progress = progress[h.pk]
    return render(
        request,
        "handovers/list.html",
        {
            "page_obj": page,
            "state": state,
            "states": [*((s.value, s.label) for s in State), ("all", _("All"))],
            "can_open": user.is_manager or user.is_admin_role,
            "pending": selectors.pending_for(user),
        },
    )


# --- Opening ------------------------------------------------------------------------------------


@require_http_methods(GET_POST)
def handover_new(request: HttpRequest) -> HttpResponse:
    """Step one picks the salesperson and the kind (GET); step two lists its customers (a
    transfer chooses some) and opens the handover (POST). From a customer's page
    (?customer=<id>) it is a transfer of that customer."""
    user = request.user
    _require_manager(user)
    leavers = selectors.leavers_for(user)
    params = request.GET.copy()
    preselected: list[str] = []
    customer_pk = id_param(params.get("customer"))
    if customer_pk:
        customer = customer_for_user(user=user, pk=customer_pk)
        if customer.owner_id is None:
            raise Http404
        params["leaver"] = str(customer.owner_id)
        params["kind"] = Kind.TRANSFER
        preselected = [str(customer.pk)]
    start = StartForm(params if params.get("leaver") else None, leavers=leavers)
    ctx: dict[str, Any] = {"start": start}
    if not start.is_valid():
        return render(request, "handovers/new.html", ctx)
    leaver: User = start.cleaned_data["leaver"]
    kind = start.cleaned_data["kind"]
    own = customers_visible_to(user).filter(owner=leaver)
    free = own.filter(handover_ref__isnull=True).order_by("name", "pk")
    form = OpenForm(
        request.POST if request.method == "POST" else None,
        initial={"customers": preselected},
        kind=kind,
        customer_choices=[(c.pk, c.name) for c in free.only("pk", "name")] if kind == Kind.TRANSFER else [],
        receivers=selectors.receivers_for(user=user, department_id=leaver.department_id, leaver_id=leaver.pk),
    )
    if request.method == "POST" and form.is_valid():
        try:
            handover = services.handover_open(
                kind=kind,
                leaver=leaver,
                manager=user,
                reason=form.cleaned_data.get("reason") or "",
                customer_ids=form.customer_ids(),
                note=form.cleaned_data["note"],
                receiver=form.cleaned_data.get("receiver"),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("%(handover)s opened; %(who)s writes a note per customer, then send them to their receivers.")
                % {"handover": services.label(handover), "who": leaver},
            )
            return redirect("handovers:detail", pk=handover.pk)
    ctx.update(
        form=form,
        leaver=leaver,
        kind=kind,
        kind_label=Kind(kind).label,
        owned_count=own.count(),
        held_count=own.filter(handover_ref__isnull=False).count(),
    )
    return render(request, "handovers/new.html", ctx)


# --- One handover -------------------------------------------------------------------------------


@require_http_methods(GET)
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    is_manager = selectors.manages(user, handover)
    is_leaver = handover.leaver_id == user.pk
    filters = _item_filters(request.GET)
    visible = selectors.items_visible_to(user, handover)
    qs = selectors.filter_items(visible, **filters).select_related("customer", "receiver", "confirmed_by")
    page = capped_page(request, qs.order_by("customer__name", "id"), default_size=50, count=False)
    # Exact, for "all N customers this filter finds" (a handover has hundreds, not millions).
    page.count = qs.count()
    progress = selectors.progress_of([handover])[handover.pk]
    ctx: dict[str, Any] = {
        "handover": handover,
        "page_obj": page,
        "filters": filters,
        "matching": page.count,
        "progress": progress,
        "is_manager": is_manager,
        "is_leaver": is_leaver,
        "statuses": [
            ("all", _("All")),
            ("no_note", _("No note yet")),
            ("unsent", _("Not sent")),
            ("awaiting", _("Awaiting confirmation")),
            ("confirmed", _("Confirmed")),
            ("pool", _("To the pool")),
        ],
        "to_confirm": visible.filter(receiver=user, to_pool=False, confirmed_at__isnull=True).count()
        if handover.is_open and user.is_salesperson
        else 0,
        "mine_total": visible.filter(receiver=user).count() if not (is_manager or is_leaver) else 0,
        "today": local_today(),
    }
    if is_manager or is_leaver:
        ctx["events"] = list(handover.events.select_related("actor", "receiver").order_by("-at", "-id")[:30])
    if is_manager:
        ctx["receivers"] = (
            list(selectors.receivers_for(user=user, department_id=handover.department_id, leaver_id=handover.leaver_id))
            if handover.is_open
            else []
        )
        ctx["receiver_filter"] = list(
            User.objects.filter(pk__in=visible.filter(receiver__isnull=False).values("receiver_id")).order_by(
                "username"
            )
        )
        ctx["drafts"] = draft_reports_count(user=user, salesperson=handover.leaver)
        if handover.is_open:
            ctx["outside"] = Customer.objects.filter(owner_id=handover.leaver_id, handover_ref__isnull=True).count()
    return render(request, "handovers/detail.html", ctx)


@require_POST
def handover_send(request: HttpRequest, pk: int) -> HttpResponse:
    """The manager's (bulk) assignment: the ticked items, or every item the filter finds."""
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    _require_manager(user, handover)
    filters = _item_filters(request.POST)
    if request.POST.get("all_matching"):
        item_ids = list(
            selectors.filter_items(selectors.items_visible_to(user, handover), **filters).values_list("pk", flat=True)
        )
    else:
        item_ids = _ids(request.POST.getlist("items"))
    destination = request.POST.get("destination") or ""
    receiver = None
    if destination != "pool":
        receiver_pk = id_param(destination)
        receiver = (
            selectors.receivers_for(user=user, department_id=handover.department_id, leaver_id=handover.leaver_id)
            .filter(pk=receiver_pk or 0)
            .first()
        )
        if receiver is None:
            messages.error(request, _("Choose a receiving salesperson of the department, or the pool."))
            return _back(handover, filters)
    try:
        changed = services.handover_send(
            handover=handover, manager=user, item_ids=item_ids, receiver=receiver, to_pool=receiver is None
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        where = receiver if receiver is not None else _("the pool")
        messages.success(
            request,
            ngettext("%(n)d customer sent to %(where)s.", "%(n)d customers sent to %(where)s.", changed)
            % {"n": changed, "where": where},
        )
    return _back(handover, filters)


@require_POST
def handover_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The receiver confirms the ticked items, one item (from its page), or all of its items."""
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    item_ids = None if request.POST.get("all") else _ids(request.POST.getlist("items"))
    try:
        count = services.handover_confirm(handover=handover, user=user, item_ids=item_ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(n)d customer confirmed.", "%(n)d customers confirmed.", count) % {"n": count},
        )
    return _back(handover)


@require_POST
def handover_complete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    _require_manager(user, handover)
    try:
        done = services.handover_complete(handover=handover, manager=user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if done.kind == Kind.RESIGNATION:
            messages.success(
                request,
                _("%(handover)s is complete: the customers have changed hands and %(who)s's account is deactivated.")
                % {"handover": services.label(done), "who": done.leaver},
            )
        else:
            messages.success(
                request,
                _("%(handover)s is complete: the customers have changed hands.") % {"handover": services.label(done)},
            )
    return _back(handover)


@require_http_methods(GET_POST)
def handover_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    _require_manager(user, handover)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.handover_cancel(handover=handover, manager=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("%(handover)s is cancelled.") % {"handover": services.label(handover)})
            return _back(handover)
    overdue = Customer.objects.filter(handover_ref=handover.pk, deadline__lt=local_today()).count()
    return render(request, "handovers/cancel.html", {"handover": handover, "form": form, "overdue": overdue})


@require_POST
def handover_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A resignation takes the leaver's customers not yet in it; a transfer the ticked ones."""
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    _require_manager(user, handover)
    ids = None if handover.kind == Kind.RESIGNATION else _ids(request.POST.getlist("customers"))
    try:
        count = services.handover_add_customers(handover=handover, manager=user, customer_ids=ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(n)d customer added.", "%(n)d customers added.", count) % {"n": count},
        )
    return _back(handover)


@require_POST
def handover_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    handover = selectors.handover_for_user(user=user, pk=pk)
    _require_manager(user, handover)
    try:
        services.handover_refresh(handover=handover, manager=user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Orders, service requests, plans and documents re-read."))
    return _back(handover)


# --- One item -----------------------------------------------------------------------------------


def _kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in RequestKind.choices}


@require_http_methods(GET_POST)
def item_detail(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """An item: what the customer carries, the leaver's note (written here by the leaver), the
    receiver's confirmation."""
    user = request.user
    item = selectors.item_for_user(user=user, handover_pk=pk, pk=item_pk)
    handover = item.handover
    is_leaver = handover.leaver_id == user.pk
    can_write = handover.is_open and is_leaver and item.confirmed_at is None
    form = None
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.handover_write_note(item=item, user=user, data=services.NoteInput(**form.cleaned_data))
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Note on %(name)s saved.") % {"name": item.customer.name})
                following = (
                    HandoverItem.objects.filter(handover=handover, note_written_at__isnull=True)
                    .order_by("customer__name", "id")
                    .first()
                )
                if following is not None:
                    return redirect("handovers:item", pk=handover.pk, item_pk=following.pk)
                return _back(handover)
        elif not is_leaver:
            # An invalid form from someone who may not write notes: the refusal, not the errors.
            raise PermissionDenied(
                _("Only %(who)s, who hands these customers over, writes their notes.") % {"who": handover.leaver}
            )
    elif can_write:
        form = NoteForm(
            initial={
                "situation": item.situation,
                "key_contacts": item.key_contacts,
                "stage": item.stage,
                "receivables_note": item.receivables_note,
                "promises": item.promises,
            }
        )
    details = item.details or {}
    kinds = _kind_labels()
    requests_ = [
        {**r, "kind_label": kinds.get(r.get("kind", ""), r.get("kind", ""))} for r in details.get("requests", [])
    ]
    remaining = (
        HandoverItem.objects.filter(handover=handover, note_written_at__isnull=True).count() if is_leaver else None
    )
    return render(
        request,
        "handovers/item.html",
        {
            "handover": handover,
            "item": item,
            "form": form if (can_write or request.method == "POST") else None,
            "is_leaver": is_leaver,
            "is_receiver": item.receiver_id == user.pk,
            "is_manager": selectors.manages(user, handover),
            "details": details,
            "requests": requests_,
            "remaining": remaining,
            "customer_link": customers_visible_to(user).filter(pk=item.customer_id).exists(),
        },
    )


# --- The report (managers and admins) -------------------------------------------------------------


def _report_filter(request: HttpRequest) -> tuple[ReportFilterForm, selectors.ReportFilter]:
    user = request.user
    form = ReportFilterForm(
        request.GET or None,
        departments=Department.objects.order_by("name") if user.is_admin_role else None,
        people=selectors.people_for_report(user),
    )
    f = selectors.ReportFilter()
    if form.is_valid():
        data = form.cleaned_data
        f = selectors.ReportFilter(
            department_id=data["department"].pk if data.get("department") else None,
            person_id=data["person"].pk if data.get("person") else None,
            state=data.get("state") or "",
            kind=data.get("kind") or "",
            opened_from=data.get("opened_from"),
            opened_to=data.get("opened_to"),
        )
    return form, f


@require_http_methods(GET)
def report(request: HttpRequest) -> HttpResponse:
    """Every handover with its items, notes, receivables and who confirmed what and when;
    printable (a print stylesheet) and exported to Excel with the same filters."""
    user = request.user
    _require_manager(user)
    form, f = _report_filter(request)
    qs = selectors.report_handovers(user=user, f=f)
    page = capped_page(request, qs, default_size=10, sizable=False)
    handovers = list(page)
    progress = selectors.progress_of(handovers)
    grouped: dict[int, list[HandoverItem]] = {h.pk: [] for h in handovers}
    for item in selectors.report_items(handovers):
        grouped[item.handover_id].append(item)
    for h in handovers:
        h.progress = progress[h.pk]
        h.report_items = grouped[h.pk]
    return render(
        request,
        "handovers/report.html",
        {"form": form, "page_obj": page, "handovers": handovers, "query": request.GET.urlencode()},
    )


def _report_rows(items: QuerySet[HandoverItem], handovers: dict[int, Handover]):
    for item in items.iterator(chunk_size=2000):
        h = handovers[item.handover_id]
        yield [
            h.pk,
            h.get_kind_display(),
            h.get_reason_display(),
            str(h.department),
            str(h.leaver),
            str(h.opened_by),
            h.opened_at,
            h.get_state_display(),
            h.completed_at,
            item.customer.name,
            item.receivable_total,
            item.receivable_orders,
            item.open_orders,
            item.open_requests,
            _("yes") if item.planned_this_month else "",
            item.next_follow_up_on,
            item.expiring_documents,
            item.situation,
            item.key_contacts,
            item.stage,
            item.receivables_note,
            item.promises,
            item.note_written_at,
            _("the pool") if item.to_pool else (str(item.receiver) if item.receiver_id else ""),
            item.sent_at,
            str(item.sent_by) if item.sent_by_id else "",
            item.confirmed_at,
            str(item.confirmed_by) if item.confirmed_by_id else "",
            item.new_deadline,
        ]


@require_http_methods(GET)
def report_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    _form, f = _report_filter(request)
    handovers = {h.pk: h for h in selectors.report_handovers(user=user, f=f)}
    items = selectors.report_items(list(handovers.values()))[:EXPORT_CAP]
    header = [
        _("Handover"),
        pgettext("handover", "Kind"),
        _("Reason"),
        _("Department"),
        _("Handing over"),
        _("Opened by"),
        _("Opened"),
        _("State"),
        _("Completed"),
        _("Customer"),
        _("Receivables"),
        _("Orders with receivables"),
        _("Orders awaiting payment"),
        _("Open service requests"),
        _("In this month's visit plan"),
        _("Next follow-up"),
        _("Documents expiring soon"),
        _("Situation"),
        _("Key contacts"),
        _("Stage reached"),
        _("Receivables status"),
        _("What was promised"),
        _("Note written"),
        _("Sent to"),
        _("Sent"),
        _("Sent by"),
        _("Confirmed"),
        _("Confirmed by"),
        _("Receiver's deadline"),
    ]
    return xlsx_response(
        filename=f"handovers-{local_today():%Y%m%d}.xlsx",
        title=_("Handovers"),
        header=header,
        rows=_report_rows(items, handovers),
    )
