"""Customer service pages (R6). Thin: selector (404 for what the user may not see) → form →
service → message → redirect. DomainError → its message; PermissionDenied goes on to Django (403)."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core import signing
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Department, User
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from crm.pagination import capped_page, id_param
from crm.sorting import Direction, ordering_param, sort_links
from customers.forms import CustomerRegisterForm
from customers.models import Customer
from customers.selectors import (
    CustomerBrief,
    brief_of,
    customer_for_user,
    customer_to_log_against,
    customers_to_log_against,
    customers_visible_to,
)
from customers.services import SimilarCustomers
from customers.views import similar_rows

from . import selectors, services
from .forms import (
    STATUS_FILTERS,
    CloseForm,
    HelperForm,
    MoveForm,
    NoteForm,
    PlanForm,
    ReferForm,
    RequestForm,
    ServiceSettingsForm,
    SolveForm,
)
from .models import EventKind, Outcome, RequestKind, RequestStatus, ServiceRequest

GET = ["GET", "HEAD"]
GET_POST = ["GET", "HEAD", "POST"]
REGISTER_PREFIX = "reg"


def _can_log(user: User) -> bool:
    return user.is_salesperson or user.is_manager or user.is_finance or user.is_admin_role


# --- Lists -------------------------------------------------------------------------------------

# The list's sortable columns (?ordering=): the request number, when it was logged, when it is
# due and when it was closed. One user's requests are a few hundred; open ones by due day come
# straight out of svc_open_resp_due and svc_open_dept_due.
REQUEST_ORDERINGS: dict[str, tuple] = {
    "due_on": (F("due_on").asc(), F("id").asc()),
    "-due_on": (F("due_on").desc(), F("id").desc()),
    "created_at": (F("created_at").asc(), F("id").asc()),
    "-created_at": (F("created_at").desc(), F("id").desc()),
    "-closed_at": (F("closed_at").desc(nulls_last=True), F("id").desc()),
    "closed_at": (F("closed_at").asc(nulls_last=True), F("id").asc()),
    "id": (F("id").asc(),),
    "-id": (F("id").desc(),),
}
DEFAULT_ORDERING = {"open": "due_on", "overdue": "due_on", "closed": "-closed_at", "all": "-created_at"}
REQUEST_SORT_COLUMNS: dict[str, Direction] = {"id": "desc", "created_at": "desc", "due_on": "asc", "closed_at": "desc"}


@require_http_methods(GET)
def request_list(request: HttpRequest) -> HttpResponse:
    """The requests the user sees; ?status=open|overdue|closed|all, ?kind=."""
    user = request.user
    today = local_today()
    status = request.GET.get("status") or "open"
    if status not in STATUS_FILTERS:
        status = "open"
    kind = request.GET.get("kind") or ""
    if kind not in RequestKind.values:
        kind = ""
    if status == "overdue":
        qs = selectors.overdue_for(user=user, today=today)
    else:
        qs = selectors.requests_visible_to(user)
        if status == "open":
            qs = qs.filter(status=RequestStatus.OPEN)
        elif status == "closed":
            qs = qs.filter(status=RequestStatus.CLOSED)
    ordering = ordering_param(request.GET.get("ordering"), REQUEST_ORDERINGS, DEFAULT_ORDERING[status])
    qs = qs.order_by(*REQUEST_ORDERINGS[ordering])
    if kind:
        qs = qs.filter(kind=kind)
    # ?customer=<id>: one customer's requests, from its page; a customer the user may not see is
    # ignored like any malformed value (R6.4: its name is not shown).
    customer_id = id_param(request.GET.get("customer"))
    customer = customers_visible_to(user).filter(pk=customer_id).first() if customer_id else None
    if customer is not None:
        qs = qs.filter(customer=customer)
    page = capped_page(request, qs.select_related("customer", "responsible", "department"))
    for row in page:
        row.overdue = row.is_open and row.due_on < today
    return render(
        request,
        "service/list.html",
        {
            "page_obj": page,
            "status": status,
            "kind": kind,
            "customer": customer,
            "kinds": RequestKind.choices,
            "statuses": [
                ("open", pgettext("service request status", "Open")),
                ("overdue", _("Overdue")),
                ("closed", _("Closed")),
                ("all", _("All")),
            ],
            "can_log": _can_log(user),
            "today": today,
            "ordering": ordering if "ordering" in request.GET else "",
            "sorts": sort_links(ordering, REQUEST_SORT_COLUMNS, allowed=REQUEST_ORDERINGS),
        },
    )


# --- Logging (R6.1) ----------------------------------------------------------------------------


# A customer picked in the request form's search (R6.1) travels as a token signed for the user:
# a plain id of any customer would let anyone read the company's customers one id after another.
PICK_SALT = "service.customer-pick"
PICK_MAX_AGE = 12 * 3600  # a form left open through a working day


def pick_token(user: User, customer_pk: int) -> str:
    return signing.dumps(customer_pk, salt=f"{PICK_SALT}:{user.pk}")


class PickExpired(Exception):
    pass


def _picked_pk(user: User, token: str) -> int:
    """The customer id a pick token names, for this user; 404 for anything forged."""
    try:
        pk = signing.loads(token, salt=f"{PICK_SALT}:{user.pk}", max_age=PICK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise PickExpired from exc
    except signing.BadSignature as exc:
        raise Http404 from exc
    if not isinstance(pk, int):
        raise Http404
    return pk


@dataclass(frozen=True)
class Chosen:
    """The customer a request is logged against: from its page (`customer=<id>`, a customer the
    user sees) or picked in the search (`customer=<token>`, any customer of the company, shown
    only as its brief unless the user also sees it)."""

    customer: Customer
    brief: CustomerBrief
    token: str  # empty when it came from the customer page


def _chosen(request: HttpRequest, raw: str | None) -> Chosen | None:
    user = request.user
    if not raw:
        return None
    pk = id_param(raw)
    if pk:
        customer = customer_for_user(user=user, pk=pk)
        return Chosen(customer, brief_of(customer), "")
    customer = customer_to_log_against(user=user, pk=_picked_pk(user, raw))
    return Chosen(customer, brief_of(customer), raw)


@dataclass(frozen=True)
class PickRow:
    brief: CustomerBrief
    token: str
    checked: bool


def _pick_rows(user: User, query: str, chosen: Chosen | None) -> tuple[list[PickRow], bool]:
    briefs, more = customers_to_log_against(user=user, query=query) if query else ([], False)
    rows = [PickRow(b, pick_token(user, b.pk), chosen is not None and chosen.customer.pk == b.pk) for b in briefs]
    if chosen is not None and chosen.token and not any(r.checked for r in rows):
        rows.insert(0, PickRow(chosen.brief, chosen.token, True))
    return rows, more


@require_http_methods(GET)
def customer_pick(request: HttpRequest) -> HttpResponse:
    """The request form's customer search (R6.1), answered as the list of choices (htmx)."""
    user = request.user
    if not _can_log(user):
        raise PermissionDenied(_("Your role does not log service requests."))
    query = (request.GET.get("q") or "").strip()[:100]
    rows, more = _pick_rows(user, query, None)
    return render(request, "service/_customer_pick.html", {"query": query, "pick_rows": rows, "pick_more": more})


@require_http_methods(GET_POST)
def request_new(request: HttpRequest) -> HttpResponse:
    """Log a visit, call, consultation or complaint: from a customer page (?customer=<id>), for a
    customer of the company found in the form's search (R6.1: whoever owns it), or for an unknown
    caller, who can be registered as a customer in the same step (R5.1)."""
    user = request.user
    if not _can_log(user):
        raise PermissionDenied(_("Your role does not log service requests."))
    params = request.POST if request.method == "POST" else request.GET
    expired = False
    try:
        chosen = _chosen(request, params.get("customer"))
    except PickExpired:
        chosen, expired = None, True
    fixed = chosen is not None and not chosen.token  # from the customer page: no search
    query = (params.get("q") or request.GET.get("q") or "").strip()[:100]
    data = request.POST if request.method == "POST" else None
    can_register = bool(user.department_id and (user.is_salesperson or user.is_manager or user.is_admin_role))
    form = RequestForm(data, known_customer=fixed, can_register=can_register, picked=chosen is not None)
    register_form = CustomerRegisterForm(data, prefix=REGISTER_PREFIX) if not fixed and can_register else None
    if data is not None:
        valid = form.is_valid()
        if expired:
            form.add_error(None, _("The customer you chose has expired: find it again."))
            valid = False
        registering = valid and not fixed and form.cleaned_data.get("register")
        if registering and chosen is not None:
            form.add_error(
                None,
                _("You chose a known customer and ticked “register” too: untick it, or choose “not one of these”."),
            )
            valid = registering = False
        if registering and register_form is not None and not register_form.is_valid():
            valid = False
        if valid:
            registration = None
            if registering and register_form is not None:
                registration = services.Registration(
                    data=register_form.customer_data(),
                    contacts=[register_form.contact_data()],
                    confirmed_similar=register_form.similar_confirmed(),
                )
            try:
                created = services.request_log(
                    user=user,
                    data=form.request_input(),
                    customer=chosen.customer if chosen is not None else None,
                    registration=registration,
                )
            except SimilarCustomers as exc:
                assert register_form is not None
                register_form.warn_similar(near_key=exc.near_key, similar=similar_rows(user, exc.matches))
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if registration is not None:
                    messages.success(
                        request,
                        _("Service request #%(id)d logged and %(name)s registered; you are responsible for both.")
                        % {"id": created.pk, "name": created.customer},
                    )
                else:
                    messages.success(
                        request,
                        _("Service request #%(id)d logged; you are its responsible person.") % {"id": created.pk},
                    )
                return redirect("service:detail", pk=created.pk)
    pick_rows, pick_more = ([], False) if fixed else _pick_rows(user, query, chosen)
    return render(
        request,
        "service/new.html",
        {
            "form": form,
            "register_form": register_form,
            "customer": chosen.customer if fixed else None,
            "query": query,
            "pick_rows": pick_rows,
            "pick_more": pick_more,
        },
    )


# --- One request -------------------------------------------------------------------------------


def _people_for_referral(user: User, req: ServiceRequest):
    return (
        User.objects.filter(is_active=True, groups__isnull=False)
        .exclude(pk=req.responsible_id)
        .distinct()
        .order_by("department__name", "username")
    )


def _detail(request: HttpRequest, req: ServiceRequest, **forms: Any) -> HttpResponse:
    user = request.user
    today = local_today()
    is_responsible = req.responsible_id == user.pk
    decides = selectors.decides_outcome(user, req)
    can_help = is_responsible or selectors.manages_request(user, req)
    ctx: dict[str, Any] = {
        "req": req,
        "customer": selectors.visible_customer(user=user, request=req),
        "events": req.events.select_related("actor", "person", "department"),
        "helpers": [row.user for row in req.helper_rows.select_related("user").order_by("added_at", "id")],
        "is_responsible": is_responsible,
        # The responsible person has left: a manager acts for it (R6.1, R7.1).
        "acting_for": decides and not is_responsible,
        "overdue": req.is_open and req.due_on < today,
        "today": today,
        "note_form": forms.get("note_form") or NoteForm(),
        "EventKind": EventKind,
    }
    if req.is_open and decides:
        if not req.outcome:
            ctx["solve_form"] = forms.get("solve_form") or SolveForm()
        if req.outcome in ("", Outcome.REFERRED):
            ctx["refer_form"] = forms.get("refer_form") or ReferForm(people=_people_for_referral(user, req))
            # Pre-filled with the due day the time standard gives (R6.3), a date the plan may keep.
            ctx["plan_form"] = forms.get("plan_form") or PlanForm(initial={"expected_on": max(req.due_on, today)})
        if req.outcome == Outcome.PLAN:
            ctx["move_form"] = forms.get("move_form") or MoveForm(initial={"new_date": req.expected_on or req.due_on})
        if req.outcome in (Outcome.REFERRED, Outcome.PLAN):
            ctx["close_form"] = forms.get("close_form") or CloseForm()
    if req.is_open and can_help:
        ctx["helper_form"] = forms.get("helper_form") or HelperForm(
            candidates=selectors.helper_candidates(user=user, request=req)
        )
    return render(request, "service/detail.html", ctx)


@require_http_methods(GET)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.request_for_user(user=request.user, pk=pk))


def _act(request: HttpRequest, pk: int, *, form_name: str, form: Any, call, done: str) -> HttpResponse:
    req = selectors.request_for_user(user=request.user, pk=pk)
    if form.is_valid():
        try:
            call(req, form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, done)
            return redirect("service:detail", pk=req.pk)
    return _detail(request, req, **{form_name: form})


@require_POST
def request_note(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form_name="note_form",
        form=NoteForm(request.POST),
        call=lambda req, c: services.request_add_note(request=req, user=request.user, text=c["text"]),
        done=_("Note added."),
    )


def _require_responsible(request: HttpRequest, pk: int) -> ServiceRequest:
    req = selectors.request_for_user(user=request.user, pk=pk)
    if not selectors.decides_outcome(request.user, req):
        raise PermissionDenied(_("Only the responsible person decides how the request ends."))
    return req


@require_POST
def request_solve(request: HttpRequest, pk: int) -> HttpResponse:
    _require_responsible(request, pk)
    return _act(
        request,
        pk,
        form_name="solve_form",
        form=SolveForm(request.POST),
        call=lambda req, c: services.request_solve(request=req, user=request.user, text=c["text"]),
        done=_("Solved on the spot; the request is closed."),
    )


@require_POST
def request_refer(request: HttpRequest, pk: int) -> HttpResponse:
    req = _require_responsible(request, pk)
    return _act(
        request,
        pk,
        form_name="refer_form",
        form=ReferForm(request.POST, people=_people_for_referral(request.user, req)),
        call=lambda req, c: services.request_refer(
            request=req, user=request.user, reason=c["reason"], department=c.get("department"), person=c.get("person")
        ),
        done=_("Request referred; you stay responsible until it is closed."),
    )


@require_POST
def request_plan(request: HttpRequest, pk: int) -> HttpResponse:
    _require_responsible(request, pk)
    return _act(
        request,
        pk,
        form_name="plan_form",
        form=PlanForm(request.POST),
        call=lambda req, c: services.request_plan(
            request=req, user=request.user, expected_on=c["expected_on"], told_customer=c["told_customer"]
        ),
        done=_("Handling plan recorded."),
    )


@require_POST
def request_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_responsible(request, pk)
    return _act(
        request,
        pk,
        form_name="move_form",
        form=MoveForm(request.POST),
        call=lambda req, c: services.request_move_expected(
            request=req, user=request.user, new_date=c["new_date"], reason=c["reason"]
        ),
        done=_("Expected date moved."),
    )


@require_POST
def request_close(request: HttpRequest, pk: int) -> HttpResponse:
    _require_responsible(request, pk)
    return _act(
        request,
        pk,
        form_name="close_form",
        form=CloseForm(request.POST),
        call=lambda req, c: services.request_close(request=req, user=request.user, text=c["text"]),
        done=_("Request closed."),
    )


@require_POST
def request_add_helper(request: HttpRequest, pk: int) -> HttpResponse:
    req = selectors.request_for_user(user=request.user, pk=pk)
    if not (req.responsible_id == request.user.pk or selectors.manages_request(request.user, req)):
        raise PermissionDenied(_("Only the responsible person or a manager adds helpers."))
    return _act(
        request,
        pk,
        form_name="helper_form",
        form=HelperForm(request.POST, candidates=selectors.helper_candidates(user=request.user, request=req)),
        call=lambda req, c: services.request_add_helper(request=req, user=request.user, helper=c["helper"]),
        done=_("Helper added."),
    )


# --- Time standards (R6.3) ---------------------------------------------------------------------


@require_http_methods(GET_POST)
def service_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("This page is for managers."))
    departments = Department.objects.order_by("name")
    if user.is_admin_role:
        raw = request.POST.get("department") if request.method == "POST" else request.GET.get("department")
        pk = id_param(raw)
        department = departments.filter(pk=pk).first() or (
            departments.filter(pk=user.department_id).first() if user.department_id else departments.first()
        )
    else:
        department = departments.filter(pk=user.department_id).first()
    if department is None:
        raise Http404
    current = selectors.settings_of(department.pk)
    form = ServiceSettingsForm(request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_settings_update(department=department, user=user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Time standards of %(dept)s saved.") % {"dept": department})
            return redirect(f"{request.path}?department={department.pk}")
    return render(
        request,
        "service/settings.html",
        {"form": form, "department": department, "departments": departments if user.is_admin_role else None},
    )
