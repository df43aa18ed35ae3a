"""Reads of service requests, always scoped to the requesting user (R6.1, R6.4).

A request is seen by its responsible person, its helpers, the managers of its department, of
the department handling it and of its customer's department, the current owner of its customer,
and admins."""

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import User
from customers.models import Customer
from customers.selectors import customers_visible_to

from .models import RequestHelper, RequestStatus, ServiceRequest, ServiceSettings


def _scope(user: User) -> Q | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_admin_role:
        return Q()
    helped = Exists(RequestHelper.objects.filter(request=OuterRef("pk"), user=user))
    cond = Q(responsible=user) | Q(helped) | Q(customer__owner=user)
    if user.is_manager and user.department_id:
        cond |= Q(department_id=user.department_id) | Q(handling_department_id=user.department_id)
        # R6.1: a complaint someone in another department logged about one of its customers.
        cond |= Q(customer__department_id=user.department_id)
    return cond


def requests_visible_to(user: User) -> QuerySet[ServiceRequest]:
    scope = _scope(user)
    if scope is None:
        return ServiceRequest.objects.none()
    return ServiceRequest.objects.filter(scope)


def request_for_user(*, user: User, pk: int) -> ServiceRequest:
    """A request the user may see, or 404."""
    try:
        return (
            requests_visible_to(user)
            .select_related("customer", "responsible", "department", "handling_department", "handling_person")
            .get(pk=pk)
        )
    except (ServiceRequest.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def manages_request(user: User, request: ServiceRequest) -> bool:
    """A manager of the request's (or the handling) department, or an admin."""
    if user.is_admin_role:
        return True
    return (
        user.is_manager
        and user.department_id is not None
        and user.department_id in (request.department_id, request.handling_department_id)
    )


def decides_outcome(user: User, request: ServiceRequest) -> bool:
    """R6.1: the responsible person decides how its request ends. When that person has left (an
    inactive account, R7.1), the responsibility stays on the request and a manager of the
    request's department, or an admin, acts for it; otherwise the request would stay open and
    overdue for ever."""
    if request.responsible_id == user.pk:
        return True
    if request.responsible.is_active:
        return False
    if user.is_admin_role:
        return True
    return user.is_manager and user.department_id is not None and user.department_id == request.department_id


def is_helper(user: User, request: ServiceRequest) -> bool:
    return RequestHelper.objects.filter(request=request, user=user).exists()


def can_see(user: User, request: ServiceRequest) -> bool:
    return requests_visible_to(user).filter(pk=request.pk).exists()


def overdue_q(today: date) -> Q:
    """R6.3: open past its due day (the due day itself is not overdue)."""
    return Q(status=RequestStatus.OPEN, due_on__lt=today)


def overdue_for(*, user: User, today: date) -> QuerySet[ServiceRequest]:
    """R6.3: overdue requests are shown to their responsible person and to the managers."""
    if not user.is_authenticated or not user.is_active:
        return ServiceRequest.objects.none()
    qs = ServiceRequest.objects.filter(overdue_q(today))
    if user.is_admin_role:
        return qs
    cond = Q(responsible=user)
    if user.is_manager and user.department_id:
        cond |= Q(department_id=user.department_id) | Q(handling_department_id=user.department_id)
    return qs.filter(cond)


def visible_customer(*, user: User, request: ServiceRequest) -> Customer | None:
    """The request's customer if the user may open it; otherwise None, and pages show only the
    name written on the request (R6.4: no contacts, credit or file)."""
    if request.customer_id is None:
        return None
    return customers_visible_to(user).filter(pk=request.customer_id).first()


def settings_of(department_id: int | None) -> ServiceSettings:
    """A department's time standards; the defaults (unsaved) when it has none yet."""
    if department_id:
        found = ServiceSettings.objects.filter(department_id=department_id).first()
        if found:
            return found
    return ServiceSettings(**ServiceSettings.DEFAULTS)  # unsaved: the defaults


def helper_candidates(*, user: User, request: ServiceRequest) -> QuerySet[User]:
    """Active staff with a role, other than the responsible person and current helpers."""
    return (
        User.objects.filter(is_active=True, groups__isnull=False)
        .exclude(pk=request.responsible_id)
        .exclude(pk__in=RequestHelper.objects.filter(request=request).values("user_id"))
        .distinct()
        .order_by("department__name", "username")
    )


def open_requests_of_customers(*, user: User, customer_ids: list[int]) -> dict[int, list[ServiceRequest]]:
    """R7 handover items: the open requests of each of these customers that `user` may see, in one
    query (customer id -> requests, oldest due first)."""
    out: dict[int, list[ServiceRequest]] = {}
    qs = (
        requests_visible_to(user)
        .filter(customer_id__in=customer_ids, status=RequestStatus.OPEN)
        .select_related("responsible")
        .order_by("due_on", "id")
    )
    for req in qs:
        if req.customer_id is not None:
            out.setdefault(req.customer_id, []).append(req)
    return out


def open_requests_of(*, user: User, department_ids: list[int] | None) -> QuerySet[ServiceRequest]:
    """The open requests logged in these departments (None: all), for the team figures of a manager
    of them or an admin: the part of what they see (`requests_visible_to`) that is their
    department's, without its conditions on helpers and customers' owners."""
    if not user.is_authenticated or not user.is_active:
        return ServiceRequest.objects.none()
    qs = ServiceRequest.objects.filter(status=RequestStatus.OPEN)
    if user.is_admin_role:
        return qs if department_ids is None else qs.filter(department_id__in=department_ids)
    if user.is_manager and user.department_id:
        mine = (
            [user.department_id] if department_ids is None else [d for d in department_ids if d == user.department_id]
        )
        return qs.filter(department_id__in=mine)
    return qs.none()
