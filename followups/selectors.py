"""Reads of follow-ups, always scoped to the requesting user (R6.4): a salesperson sees its own
plans, visits and reports; a manager its department's; admins all."""

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from accounts.selectors import salespeople_visible_to
from customers.models import Customer
from customers.selectors import customers_visible_to
from ownership.selectors import pool_visible_to

from .models import Report, ReportStatus, Visit, VisitPlan

if TYPE_CHECKING:
    from .services import PlanProgress


def _scope(user: User) -> Q | None:
    """The condition on `salesperson` for what `user` may read, or None for nothing."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_admin_role:
        return Q()
    if user.is_manager:
        return Q(salesperson__department_id=user.department_id) if user.department_id else None
    if user.is_salesperson:
        return Q(salesperson=user)
    return None


def manages(user: User, salesperson: User) -> bool:
    """A manager of the salesperson's department, or an admin."""
    if user.is_admin_role:
        return True
    return user.is_manager and user.department_id is not None and user.department_id == salesperson.department_id


def visits_visible_to(user: User) -> QuerySet[Visit]:
    scope = _scope(user)
    if scope is None:
        return Visit.objects.none()
    return Visit.objects.filter(scope)


def visit_for_user(*, user: User, pk: int) -> Visit:
    try:
        return visits_visible_to(user).select_related("customer", "contact", "salesperson").get(pk=pk)
    except (Visit.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def plans_visible_to(user: User) -> QuerySet[VisitPlan]:
    scope = _scope(user)
    if scope is None:
        return VisitPlan.objects.none()
    return VisitPlan.objects.filter(scope)


def reports_visible_to(user: User) -> QuerySet[Report]:
    """A salesperson's own reports, drafts included; managers and admins read submitted ones."""
    scope = _scope(user)
    if scope is None:
        return Report.objects.none()
    qs = Report.objects.filter(scope)
    if not (user.is_salesperson and not user.is_manager and not user.is_admin_role):
        qs = qs.filter(Q(status=ReportStatus.SUBMITTED) | Q(salesperson=user))
    return qs


def report_for_user(*, user: User, pk: int) -> Report:
    try:
        return reports_visible_to(user).select_related("salesperson", "salesperson__department").get(pk=pk)
    except (Report.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def team_of(user: User) -> QuerySet[User]:
    """The salespeople whose plans and reports a manager (its department) or an admin (all) reads."""
    if not (user.is_manager or user.is_admin_role):
        return User.objects.none()
    return salespeople_visible_to(user).select_related("department")


def team_member_for_user(*, user: User, pk: int) -> User:
    try:
        return team_of(user).get(pk=pk)
    except (User.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def can_record_visit(user: User, customer: Customer) -> bool:
    """Its owner records visits; so does any salesperson of the department tracking a pool customer
    before a claim (docs/decisions.md, "Follow-ups")."""
    if not user.is_salesperson or not user.is_active:
        return False
    if customer.owner_id is not None:
        return customer.owner_id == user.pk
    return user.department_id is not None and customer.department_id == user.department_id


def plannable_customers(salesperson: User) -> QuerySet[Customer]:
    """What a plan may name: the salesperson's customers and its department's pool."""
    if not salesperson.department_id:
        return Customer.objects.filter(owner=salesperson)
    return Customer.objects.filter(
        Q(owner=salesperson) | Q(owner__isnull=True, department_id=salesperson.department_id)
    )


def plan_of(*, user: User, salesperson: User, month: date) -> VisitPlan | None:
    return plans_visible_to(user).filter(salesperson=salesperson, month=month.replace(day=1)).first()


def follow_ups_due(*, user: User, today: date) -> QuerySet[Customer]:
    """Due today or overdue: my customers whose next follow-up date has come, and the pool
    customers I track whose latest visit of mine set a date that has come."""
    if not user.is_salesperson:
        return Customer.objects.none()
    mine = customers_visible_to(user).filter(owner=user, next_follow_up_on__lte=today)
    my_latest = (
        Visit.objects.filter(customer=OuterRef("pk"), salesperson=user)
        .order_by("-visited_at", "-id")
        .values("next_follow_up_on")[:1]
    )
    tracked = (
        pool_visible_to(user)
        .filter(visits__salesperson=user)
        .annotate(my_next=Subquery(my_latest))
        .filter(my_next__lte=today)
        .values("pk")
    )
    return (
        customers_visible_to(user)
        .filter(Q(pk__in=mine.values("pk")) | Q(pk__in=tracked))
        .annotate(my_next=Subquery(my_latest))
        .select_related("owner")
    )


# --- Handovers (R7) -----------------------------------------------------------------------------

# Actions after which the customer is no longer the one handed over to its current owner.
_OWNER_CHANGES = (
    "registered",
    "claimed",
    "assigned",
    "relationship",
    "first_order",
    "released",
    "problem",
    "handed_over",
)


def customer_visits_for(*, user: User, customer: Customer) -> QuerySet[Visit]:
    """The customer page's timeline. Besides what `visits_visible_to` gives, the owner of a
    customer it received in a handover (R7) sees the visits recorded before that handover, by
    whoever recorded them: the visit history travels with the customer. A claim from the pool
    does not carry it (the release note does, R7.3)."""
    from ownership.models import Action, OwnershipEvent

    own = visits_visible_to(user).filter(customer=customer)
    if not user.is_salesperson or customer.owner_id != user.pk:
        return own
    handed = (
        OwnershipEvent.objects.filter(customer=customer, action=Action.HANDED_OVER, to_owner=user)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    if handed is None:
        return own
    lost_since = (
        OwnershipEvent.objects.filter(customer=customer, at__gt=handed, action__in=_OWNER_CHANGES)
        .exclude(to_owner=user)
        .exists()
    )
    if lost_since:
        return own
    return Visit.objects.filter(customer=customer).filter(Q(salesperson=user) | Q(visited_at__lte=handed))


def planned_this_month(*, user: User, customer_ids: list[int], month: date) -> dict[int, list[User]]:
    """R7 handover items: whose visit plan of `month` (that `user` may read) names each customer."""
    from .models import VisitPlanCustomer

    out: dict[int, list[User]] = {}
    rows = (
        VisitPlanCustomer.objects.filter(
            customer_id__in=customer_ids, plan__month=month.replace(day=1), plan__in=plans_visible_to(user)
        )
        .select_related("plan__salesperson")
        .order_by("customer_id", "plan__salesperson_id")
    )
    for row in rows:
        out.setdefault(row.customer_id, []).append(row.plan.salesperson)
    return out


def draft_reports_count(*, user: User, salesperson: User) -> int:
    """How many of a salesperson's daily and weekly reports are not submitted: a count for its
    manager (R7.1: what a leaver leaves unsubmitted), never their content."""
    if not (user.pk == salesperson.pk or manages(user, salesperson)):
        return 0
    return Report.objects.filter(salesperson=salesperson, status=ReportStatus.DRAFT).count()


def plan_progress_visible_to(
    *,
    user: User,
    month: date,
    until: date | None = None,
    salesperson_id: int | None = None,
    department_ids: list[int] | None = None,
) -> dict[int, "PlanProgress"]:
    """Progress against the month's plan (R3.1) of every salesperson whose plans and visits `user`
    reads, as services.plans_progress computes it, but counted in the database: three grouped
    queries whatever the size of the team (the managers' dashboard). Salespeople with neither a
    plan nor a visit that month are absent."""
    from .services import PlanProgress, _local_bounds, _month_start, _next_month

    month = _month_start(month)
    last = _next_month(month) - timedelta(days=1)
    if until is not None:
        last = min(last, until)
    plans = plans_visible_to(user).filter(month=month)
    visits = visits_visible_to(user)
    if salesperson_id is not None:
        plans = plans.filter(salesperson_id=salesperson_id)
        visits = visits.filter(salesperson_id=salesperson_id)
    if department_ids is not None:
        plans = plans.filter(salesperson__department_id__in=department_ids)
        visits = visits.filter(salesperson__department_id__in=department_ids)
    targets = {
        row["salesperson_id"]: (row["target_count"], row["planned"])
        for row in plans.order_by().values("salesperson_id", "target_count").annotate(planned=Count("entries"))
    }
    done: dict[int, int] = {}
    visited: dict[int, int] = {}
    if last >= month:
        start, end = _local_bounds(month, last)
        in_range = visits.filter(visited_at__gte=start, visited_at__lt=end)
        done = dict(
            in_range.order_by().values("salesperson_id").annotate(n=Count("id")).values_list("salesperson_id", "n")
        )
        # Planned customers with at least one visit of their plan's salesperson in the period: a
        # join of the period's visits with the plans' customers (an EXISTS per planned customer
        # probes the visits once per customer: ten times slower for a department). The subquery is
        # the ORM's own SQL of the plans the user reads; every value is a parameter.
        plan_sql, plan_params = plans.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT p.salesperson_id, COUNT(DISTINCT pc.customer_id)
                FROM followups_visitplancustomer pc
                JOIN followups_visitplan p ON p.id = pc.plan_id
                JOIN followups_visit v ON v.customer_id = pc.customer_id AND v.salesperson_id = p.salesperson_id
                WHERE pc.plan_id IN ({plan_sql}) AND v.visited_at >= %s AND v.visited_at < %s
                GROUP BY p.salesperson_id
                """,
                [*plan_params, start, end],
            )
            visited = dict(cursor.fetchall())
    return {
        pk: PlanProgress(
            month=month,
            has_plan=pk in targets,
            target=targets.get(pk, (0, 0))[0],
            visits_done=done.get(pk, 0),
            customers_planned=targets.get(pk, (0, 0))[1],
            customers_visited=visited.get(pk, 0),
        )
        for pk in set(targets) | set(done)
    }
