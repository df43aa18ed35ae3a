"""Service requests under first-inquiry responsibility (R6.1-R6.3, R6.5).

Each public service is one transaction that locks the request it changes and appends one
RequestEvent. The responsible person (who logged the request) and the submitted text are never
written after the request is created: later words are notes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import roles
from accounts.models import Department, User
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from customers.models import Customer
from customers.selectors import may_log_requests
from notifications.services import Message, notify, notify_many
from ownership.services import customer_register

from . import selectors
from .models import (
    EventKind,
    Outcome,
    RequestChannel,
    RequestEvent,
    RequestHelper,
    RequestKind,
    RequestStatus,
    ServiceRequest,
    ServiceSettings,
)

TEXT_MAX = 5000
NOTE_MAX = 2000
PLAN_HORIZON_DAYS = 366
STANDARD_MAX_DAYS = 60


@dataclass(frozen=True)
class RequestInput:
    kind: str
    channel: str
    text: str
    caller_name: str = ""
    caller_phone: str = ""
    caller_company: str = ""


@dataclass(frozen=True)
class Registration:
    """An unknown caller registered as a customer in the same step (R5.1)."""

    data: dict[str, Any]
    contacts: list[dict[str, Any]]
    confirmed_similar: bool = False  # another company than the near duplicates warned about


def _url(request: ServiceRequest) -> str:
    return reverse("service:detail", args=[request.pk])


def _event(request: ServiceRequest, kind: str, actor: User, at: datetime, **fields: Any) -> RequestEvent:
    return RequestEvent.objects.create(request=request, kind=kind, actor=actor, at=at, **fields)


def _lock(request: ServiceRequest) -> ServiceRequest:
    return ServiceRequest.objects.select_for_update(no_key=True).get(pk=request.pk)


def _required_text(value: str, *, message: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message)
    if len(value) > limit:
        raise DomainError(_("At most %(n)d characters.") % {"n": limit})
    return value


def _require_open(request: ServiceRequest) -> None:
    if request.status != RequestStatus.OPEN:
        raise DomainError(_("This request is closed; add a note instead."))


def _require_responsible(user: User, request: ServiceRequest) -> None:
    if not selectors.decides_outcome(user, request):
        raise PermissionDenied(
            _("Only %(name)s, who received this request first, decides how it ends; add a note instead.")
            % {"name": request.responsible}
        )


# --- Logging (R6.1) ---------------------------------------------------------------------------


def request_log(
    *,
    user: User,
    data: RequestInput,
    customer: Customer | None = None,
    registration: Registration | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """R6.1: whoever first receives a visit, call, consultation or complaint logs it and is its
    responsible person until it is closed. An unknown caller may be registered as a customer in the
    same step (R5.1: duplicate check, first-inquiry ownership); a refused registration logs nothing."""
    now = now or timezone.now()
    if not may_log_requests(user):
        raise PermissionDenied(_("Your role does not log service requests."))
    if data.kind not in RequestKind.values:
        raise DomainError(_("Choose the type of request."))
    if data.channel not in RequestChannel.values:
        raise DomainError(_("Choose how the request came in."))
    text = _required_text(data.text, message=_("Write down what the customer asked for."), limit=TEXT_MAX)
    caller = {
        "caller_name": (data.caller_name or "").strip()[:60],
        "caller_phone": (data.caller_phone or "").strip()[:30],
        "caller_company": (data.caller_company or "").strip()[:200],
    }
    if customer is not None and registration is not None:
        raise DomainError(_("A request is either for a known customer or registers a new one, not both."))
    with transaction.atomic():
        if registration is not None:
            customer = customer_register(
                data=registration.data,
                contacts=registration.contacts,
                user=user,
                now=now,
                confirmed_similar=registration.confirmed_similar,
            )
            contact = registration.contacts[0] if registration.contacts else {}
            caller["caller_company"] = caller["caller_company"] or customer.name
            caller["caller_name"] = caller["caller_name"] or str(contact.get("name") or "")[:60]
            caller["caller_phone"] = caller["caller_phone"] or str(contact.get("phone") or "")[:30]
        elif customer is not None:
            # R6.1: whoever receives a complaint logs it against the customer, whoever owns it
            # (the customer's file stays the owner's: the logger sees its request, not the file).
            customer = Customer.objects.select_related("owner").get(pk=customer.pk)
        elif not any(caller.values()):
            raise DomainError(_("Say who is asking: a customer, or the caller's name, phone or company."))
        department_id = user.department_id or (customer.department_id if customer is not None else None)
        days = selectors.settings_of(department_id).days_for(data.kind)
        request = ServiceRequest.objects.create(
            customer=customer,
            kind=data.kind,
            channel=data.channel,
            text=text,
            responsible=user,
            department_id=department_id,
            standard_days=days,
            due_on=local_today(now) + timedelta(days=days),
            created_at=now,
            **caller,
        )
        _event(request, EventKind.LOGGED, user, now)
        if registration is None and customer is not None and customer.owner_id not in (None, user.pk):
            _tell_owner(request, customer=customer, logger=user, now=now)
    return request


def _tell_owner(request: ServiceRequest, *, customer: Customer, logger: User, now: datetime) -> None:
    """R6.1: a request someone else logged about my customer reaches me (I see it on the
    customer's file); the logger stays responsible for it."""
    assert customer.owner is not None
    notify(
        recipient=customer.owner,
        kind="service_about_customer",
        text=_(
            "%(who)s logged a %(kind)s about your customer %(name)s (service request #%(id)d) and is responsible "
            "for it until it is closed."
        )
        % {"who": logger, "kind": request.get_kind_display(), "name": customer.name, "id": request.pk},
        url=_url(request),
        now=now,
    )


# --- Later words (R6.5) ------------------------------------------------------------------------


def request_add_note(*, request: ServiceRequest, user: User, text: str, now: datetime | None = None) -> RequestEvent:
    """Anyone who sees the request adds a note; the submitted text itself is never edited."""
    now = now or timezone.now()
    text = _required_text(text, message=_("Write the note."), limit=NOTE_MAX)
    with transaction.atomic():
        request = _lock(request)
        if not selectors.can_see(user, request):
            raise PermissionDenied(_("You may not add notes to this request."))
        return _event(request, EventKind.NOTE, user, now, text=text)


def request_add_helper(
    *, request: ServiceRequest, user: User, helper: User, now: datetime | None = None
) -> RequestHelper:
    """The responsible person (or a manager) adds a helper; the responsible person stays."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock(request)
        if not (request.responsible_id == user.pk or selectors.manages_request(user, request)):
            raise PermissionDenied(_("Only the responsible person or a manager adds helpers."))
        _require_open(request)
        if helper.pk == request.responsible_id:
            raise DomainError(_("%(name)s is already responsible for this request.") % {"name": helper})
        if not helper.is_active or not helper.groups.exists():
            raise DomainError(_("Choose an active member of staff."))
        if RequestHelper.objects.filter(request=request, user=helper).exists():
            raise DomainError(_("%(name)s already helps with this request.") % {"name": helper})
        row = RequestHelper.objects.create(request=request, user=helper, added_by=user, added_at=now)
        _event(request, EventKind.HELPER_ADDED, user, now, person=helper)
        notify(
            recipient=helper,
            kind="service_helper",
            text=_("%(name)s asks for your help with service request #%(id)d.") % {"name": user, "id": request.pk},
            url=_url(request),
            now=now,
        )
    return row


# --- The three outcomes (R6.2) -----------------------------------------------------------------


def request_solve(*, request: ServiceRequest, user: User, text: str, now: datetime | None = None) -> ServiceRequest:
    """Solved on the spot: the request closes at once."""
    now = now or timezone.now()
    text = _required_text(text, message=_("Say how the request was solved."), limit=NOTE_MAX)
    with transaction.atomic():
        request = _lock(request)
        _require_responsible(user, request)
        _require_open(request)
        if request.outcome:
            raise DomainError(_("This request already has an outcome; close it when it is solved."))
        request.outcome = Outcome.SOLVED
        request.told_customer = text
        request.status = RequestStatus.CLOSED
        request.closed_at = now
        request.closed_by = user
        request.save(update_fields=["outcome", "told_customer", "status", "closed_at", "closed_by"])
        _event(request, EventKind.SOLVED, user, now, text=text)
    return request


def request_refer(
    *,
    request: ServiceRequest,
    user: User,
    reason: str,
    department: Department | None = None,
    person: User | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """Referred to a department or a person, with the reason told to the customer. The responsible
    person stays responsible until the request is closed (R6.1); a referred person becomes a helper."""
    now = now or timezone.now()
    reason = _required_text(reason, message=_("Write the reason told to the customer."), limit=NOTE_MAX)
    if department is None and person is None:
        raise DomainError(_("Refer the request to a department or a person."))
    with transaction.atomic():
        request = _lock(request)
        _require_responsible(user, request)
        _require_open(request)
        if request.outcome == Outcome.PLAN:
            raise DomainError(_("This request has a handling plan; move its expected date or close it."))
        if person is not None:
            if person.pk == request.responsible_id:
                raise DomainError(_("Refer the request to someone else."))
            if not person.is_active:
                raise DomainError(_("Choose an active member of staff."))
        request.outcome = Outcome.REFERRED
        request.told_customer = reason
        request.handling_department = department or (person.department if person is not None else None)
        request.handling_person = person
        request.save(update_fields=["outcome", "told_customer", "handling_department", "handling_person"])
        _event(request, EventKind.REFERRED, user, now, text=reason, department=department, person=person)
        if person is not None and not RequestHelper.objects.filter(request=request, user=person).exists():
            RequestHelper.objects.create(request=request, user=person, added_by=user, added_at=now)
            notify(
                recipient=person,
                kind="service_referred",
                text=_("%(name)s referred service request #%(id)d to you.") % {"name": user, "id": request.pk},
                url=_url(request),
                now=now,
            )
        elif person is None and department is not None:
            # Referred to a department alone: its managers learn of it (they see it from now on).
            managers = (
                User.objects.filter(is_active=True, department=department, groups__name=roles.MANAGER)
                .exclude(pk=user.pk)
                .distinct()
            )
            text = _("%(name)s referred service request #%(id)d to your department.") % {
                "name": user,
                "id": request.pk,
            }
            notify_many(messages=[Message(m.pk, "service_referred", text, _url(request)) for m in managers], now=now)
    return request


def _check_expected(day: date, *, today: date) -> None:
    if day < today:
        raise DomainError(_("The expected resolution date cannot be in the past."))
    if day > today + timedelta(days=PLAN_HORIZON_DAYS):
        raise DomainError(_("The expected resolution date is at most a year away."))


def request_plan(
    *, request: ServiceRequest, user: User, expected_on: date, told_customer: str, now: datetime | None = None
) -> ServiceRequest:
    """A handling plan with the expected resolution date told to the customer; the request stays
    open, due on that date, and is closed when solved."""
    now = now or timezone.now()
    told = _required_text(told_customer, message=_("Write the plan as told to the customer."), limit=NOTE_MAX)
    _check_expected(expected_on, today=local_today(now))
    with transaction.atomic():
        request = _lock(request)
        _require_responsible(user, request)
        _require_open(request)
        if request.outcome == Outcome.PLAN:
            raise DomainError(_("This request already has a plan; move its expected date with a reason."))
        request.outcome = Outcome.PLAN
        request.told_customer = told
        request.expected_on = expected_on
        request.due_on = expected_on
        request.save(update_fields=["outcome", "told_customer", "expected_on", "due_on"])
        _event(request, EventKind.PLANNED, user, now, text=told, new_date=expected_on)
    return request


def request_move_expected(
    *, request: ServiceRequest, user: User, new_date: date | None, reason: str, now: datetime | None = None
) -> ServiceRequest:
    """R6.3: moving an expected date needs a new date and a reason, both kept in the timeline."""
    now = now or timezone.now()
    if new_date is None:
        raise DomainError(_("Give the new expected date."))
    reason = _required_text(reason, message=_("Say why the expected date moves."), limit=NOTE_MAX)
    _check_expected(new_date, today=local_today(now))
    with transaction.atomic():
        request = _lock(request)
        _require_responsible(user, request)
        _require_open(request)
        if request.outcome != Outcome.PLAN or request.expected_on is None:
            raise DomainError(_("Only a handling plan has an expected date to move."))
        if new_date == request.expected_on:
            raise DomainError(_("The new expected date is the current one."))
        old = request.expected_on
        request.expected_on = new_date
        request.due_on = new_date
        request.save(update_fields=["expected_on", "due_on"])
        _event(request, EventKind.EXPECTED_MOVED, user, now, text=reason, old_date=old, new_date=new_date)
    return request


def request_close(*, request: ServiceRequest, user: User, text: str, now: datetime | None = None) -> ServiceRequest:
    """A referred or planned request is closed by its responsible person once it is solved."""
    now = now or timezone.now()
    text = _required_text(text, message=_("Say how the request was solved."), limit=NOTE_MAX)
    with transaction.atomic():
        request = _lock(request)
        _require_responsible(user, request)
        _require_open(request)
        if request.outcome not in (Outcome.REFERRED, Outcome.PLAN):
            raise DomainError(_("Decide how the request ends first: solved on the spot, referred, or a handling plan."))
        request.status = RequestStatus.CLOSED
        request.closed_at = now
        request.closed_by = user
        request.save(update_fields=["status", "closed_at", "closed_by"])
        _event(request, EventKind.CLOSED, user, now, text=text)
    return request


# --- Time standards (R6.3) ---------------------------------------------------------------------


def service_settings_update(
    *, department: Department, user: User, data: dict[str, int], now: datetime | None = None
) -> ServiceSettings:
    """A department's manager (or an admin) sets the time standards. They apply to requests logged
    from then on: an open request keeps the due day it was given."""
    if not (user.is_admin_role or (user.is_manager and user.department_id == department.pk)):
        raise PermissionDenied(_("Only the department's manager or an admin changes its time standards."))
    values = {}
    for field in ServiceSettings.DEFAULTS:
        try:
            value = int(data[field])
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError(_("Every request type needs a time standard in days.")) from exc
        if not 0 <= value <= STANDARD_MAX_DAYS:
            raise DomainError(_("A time standard is 0 to %(n)d days.") % {"n": STANDARD_MAX_DAYS})
        values[field] = value
    with transaction.atomic():
        obj, _created = ServiceSettings.objects.select_for_update(no_key=True).get_or_create(department=department)
        for field, value in values.items():
            setattr(obj, field, value)
        obj.updated_at = now or timezone.now()
        obj.updated_by = user
        obj.save()
    return obj


# --- Overdue (R6.3) -----------------------------------------------------------------------------


def requests_notify_overdue(*, as_of: date | None = None, now: datetime | None = None) -> int:
    """R6.3: tell each responsible person, once per due day, that an open request is past it, and
    each department's managers how many of theirs newly are. Run nightly; a second run (or a run
    after the date was moved and missed again) only tells what is new."""
    now = now or timezone.now()
    today = as_of or local_today(now)
    with transaction.atomic():
        due = list(
            ServiceRequest.objects.select_for_update(no_key=True, of=("self",))
            .filter(selectors.overdue_q(today))
            .exclude(overdue_notified_for=F("due_on"))
            .select_related("customer")
            .order_by("id")
        )
        messages = []
        per_department: dict[int, int] = {}
        for request in due:
            values = {
                "id": request.pk,
                "kind": request.get_kind_display(),
                "who": request.customer.name if request.customer else request.caller_label,
                "date": request.due_on.isoformat(),
            }
            text = (
                _(
                    "Service request #%(id)d (%(kind)s, %(who)s) was due on %(date)s: close it, or move the "
                    "date with a reason."
                )
                % values
            )
            messages.append(Message(request.responsible_id, "service_overdue", text, _url(request)))
            if request.department_id is not None:  # finance logs without a department
                per_department[request.department_id] = per_department.get(request.department_id, 0) + 1
        managers = User.objects.filter(
            is_active=True, department_id__in=per_department, groups__name=roles.MANAGER
        ).distinct()
        for manager in managers:
            assert manager.department_id is not None  # filtered above
            n = per_department[manager.department_id]
            text = ngettext(
                "%(n)d service request of your department became overdue.",
                "%(n)d service requests of your department became overdue.",
                n,
            ) % {"n": n}
            messages.append(Message(manager.pk, "service_overdue", text, reverse("service:list") + "?status=overdue"))
        ServiceRequest.objects.filter(pk__in=[r.pk for r in due]).update(overdue_notified_for=F("due_on"))
        notify_many(messages=messages, now=now)
    return len(due)


# --- R7 handovers -----------------------------------------------------------------------------


def requests_handover_helpers(
    *, receivers: dict[int, int], responsible: User, manager: User, now: datetime | None = None
) -> int:
    """R7 completion, R6.1: a leaver's open requests about the customers it hands over keep their
    responsible person (never rewritten); the customer's receiver becomes a helper of each, told
    once with a count. `receivers` maps customer id -> receiving salesperson id (customers sent
    to the pool are not in it). A few queries whatever the number of customers."""
    now = now or timezone.now()
    if not receivers:
        return 0
    with transaction.atomic():
        rows = list(
            ServiceRequest.objects.filter(
                customer_id__in=list(receivers), responsible=responsible, status=RequestStatus.OPEN
            )
            .order_by("pk")
            .select_for_update(no_key=True, of=("self",))
            .values_list("pk", "customer_id")
        )
        pairs = {(pk, receivers[customer_id]) for pk, customer_id in rows if customer_id is not None}
        already = set(
            RequestHelper.objects.filter(request_id__in=[p for p, _u in pairs]).values_list("request_id", "user_id")
        )
        new = sorted(pairs - already)
        RequestHelper.objects.bulk_create(
            [RequestHelper(request_id=pk, user_id=user_id, added_by=manager, added_at=now) for pk, user_id in new],
            batch_size=1000,
        )
        RequestEvent.objects.bulk_create(
            [
                RequestEvent(request_id=pk, kind=EventKind.HELPER_ADDED, actor=manager, at=now, person_id=user_id)
                for pk, user_id in new
            ],
            batch_size=1000,
        )
        per_user: dict[int, int] = {}
        for _pk, user_id in new:
            per_user[user_id] = per_user.get(user_id, 0) + 1
        notify_many(
            messages=[
                Message(
                    user_id,
                    "service_helper",
                    ngettext(
                        "You now help with %(n)d open service request of the customers handed over to you; "
                        "%(who)s stays responsible.",
                        "You now help with %(n)d open service requests of the customers handed over to you; "
                        "%(who)s stays responsible.",
                        n,
                    )
                    % {"n": n, "who": responsible},
                    reverse("service:list"),
                )
                for user_id, n in per_user.items()
            ],
            now=now,
        )
    return len(new)
