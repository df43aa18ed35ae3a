"""R3 follow-ups: the only writer of visit plans, visits, reports and report comments.

A visit is follow-up activity: it moves the customer's "last contact" and next follow-up date
through customers.services.customer_record_contact, never the ownership clocks (R5.2, R5.4)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from crm.dates import local_today, start_of_local_day
from crm.errors import DomainError, PermissionDenied
from customers.models import Contact, Customer
from customers.services import customer_record_contact
from notifications.services import notify

from .models import Channel, Report, ReportComment, ReportKind, ReportStatus, Visit, VisitPlan, VisitPlanCustomer
from .selectors import can_record_visit, manages, plannable_customers

MAX_TARGET = 999
MAX_TEXT = 5000
MAX_COMMENT = 2000
# A visit is something that happened: a few minutes of clock skew, not the future.
FUTURE_TOLERANCE = timedelta(minutes=10)
# How far back a visit may be recorded; older ones would rewrite history no one reads any more.
MAX_BACKDATE_DAYS = 366
MAX_FOLLOW_UP_DAYS = 366
CONTENT_VERSION = 1


# --- Periods (Asia/Shanghai days, weeks Monday to Sunday) --------------------------------------


def report_period(*, kind: str, day: date) -> tuple[date, date]:
    """The first and last day of the daily or weekly report that contains `day`."""
    if kind == ReportKind.DAILY:
        return day, day
    if kind == ReportKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    raise DomainError(_("Unknown kind of report."))


def _local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end): the period as aware datetimes."""
    return start_of_local_day(start), start_of_local_day(end + timedelta(days=1))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


# --- Plans (R3.1) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanProgress:
    month: date
    has_plan: bool
    target: int
    visits_done: int
    customers_planned: int
    customers_visited: int

    @property
    def visits_percent(self) -> int:
        return min(100, round(100 * self.visits_done / self.target)) if self.target else 0

    @property
    def customers_percent(self) -> int:
        return min(100, round(100 * self.customers_visited / self.customers_planned)) if self.customers_planned else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.isoformat(),
            "has_plan": self.has_plan,
            "target": self.target,
            "visits_done": self.visits_done,
            "customers_planned": self.customers_planned,
            "customers_visited": self.customers_visited,
        }


def plan_progress(*, salesperson: User, month: date, until: date | None = None) -> PlanProgress:
    """Progress against the month's plan (R3.1, R3.3): visits done / target and planned customers
    visited / planned, counting the salesperson's visits of that month up to `until` inclusive."""
    return plans_progress(salespeople=[salesperson], month=month, until=until)[salesperson.pk]


def plans_progress(*, salespeople: list[User], month: date, until: date | None = None) -> dict[int, PlanProgress]:
    """plan_progress of several salespeople in three queries (the managers' team page)."""
    month = _month_start(month)
    last = _next_month(month) - timedelta(days=1)
    if until is not None:
        last = min(last, until)
    ids = [person.pk for person in salespeople]
    plans = {p.salesperson_id: p for p in VisitPlan.objects.filter(salesperson_id__in=ids, month=month)}
    planned: dict[int, set[int]] = {pk: set() for pk in ids}
    for person_id, customer_id in VisitPlanCustomer.objects.filter(plan__in=plans.values()).values_list(
        "plan__salesperson_id", "customer_id"
    ):
        planned[person_id].add(customer_id)
    done: dict[int, int] = dict.fromkeys(ids, 0)
    visited: dict[int, set[int]] = {pk: set() for pk in ids}
    if last >= month:
        start, end = _local_bounds(month, last)
        for person_id, customer_id in Visit.objects.filter(
            salesperson_id__in=ids, visited_at__gte=start, visited_at__lt=end
        ).values_list("salesperson_id", "customer_id"):
            done[person_id] += 1
            visited[person_id].add(customer_id)
    return {
        pk: PlanProgress(
            month=month,
            has_plan=pk in plans,
            target=plans[pk].target_count if pk in plans else 0,
            visits_done=done[pk],
            customers_planned=len(planned[pk]),
            customers_visited=len(planned[pk] & visited[pk]),
        )
        for pk in ids
    }


def _require_plan_setter(user: User, salesperson: User) -> None:
    if user.pk == salesperson.pk and user.is_salesperson:
        return
    if manages(user, salesperson):
        return
    raise PermissionDenied(_("Only the salesperson or its manager sets its visit plan."))


@transaction.atomic
def plan_set(
    *,
    salesperson: User,
    month: date,
    target_count: int,
    customer_ids: list[int] | set[int] | tuple[int, ...],
    user: User,
    now: datetime | None = None,
) -> VisitPlan:
    """R3.1: set (or replace) a salesperson's plan for a month: the customers to visit and a target
    count. The salesperson sets its own; its manager (or an admin) may set it for it."""
    now = now or timezone.now()
    if not salesperson.is_salesperson:
        raise DomainError(_("Visit plans are for salespeople."))
    _require_plan_setter(user, salesperson)
    month = _month_start(month)
    if month < _month_start(local_today(now)):
        raise DomainError(_("The month is over: its plan is kept as it was."))
    if not 0 <= target_count <= MAX_TARGET:
        raise DomainError(_("The target is a number of visits between 0 and %(max)d.") % {"max": MAX_TARGET})
    ids = {int(pk) for pk in customer_ids}
    allowed = set(plannable_customers(salesperson).filter(pk__in=ids).values_list("pk", flat=True))
    # Customers already in this month's plan stay plannable after they change hands (the plan
    # records what was planned; docs/decisions.md, R3.1).
    allowed |= ids & set(
        VisitPlanCustomer.objects.filter(plan__salesperson=salesperson, plan__month=month).values_list(
            "customer_id", flat=True
        )
    )
    if allowed != ids:
        raise DomainError(_("A plan names only the salesperson's own customers and its department's pool."))
    # Serialise plan changes of one salesperson (two tabs, or the salesperson and its manager).
    User.objects.select_for_update(no_key=True).filter(pk=salesperson.pk).first()
    plan = VisitPlan.objects.filter(salesperson=salesperson, month=month).first()
    if plan is None:
        plan = VisitPlan.objects.create(
            salesperson=salesperson, month=month, target_count=target_count, set_by=user, created_at=now, updated_at=now
        )
    else:
        plan.target_count = target_count
        plan.set_by = user
        plan.updated_at = now
        plan.save(update_fields=["target_count", "set_by", "updated_at"])
    current = set(plan.entries.values_list("customer_id", flat=True))
    plan.entries.filter(customer_id__in=current - ids).delete()
    VisitPlanCustomer.objects.bulk_create([VisitPlanCustomer(plan=plan, customer_id=pk) for pk in ids - current])
    return plan


# --- Visits (R3.2) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitInput:
    visited_at: datetime
    channel: str
    discussed: str
    achievements: str = ""
    unsolved_problems: str = ""
    improvements_suggestions: str = ""
    next_follow_up_on: date | None = None
    contact: Contact | None = None


def _clean_visit(data: VisitInput, customer: Customer, now: datetime) -> VisitInput:
    if timezone.is_naive(data.visited_at):
        raise DomainError(_("Give the time of the visit with its time zone."))
    if data.visited_at > now + FUTURE_TOLERANCE:
        raise DomainError(_("A visit is recorded after it happened: the time is in the future."))
    today = local_today(now)
    if local_today(data.visited_at) < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise DomainError(_("Visits older than a year are not recorded."))
    if data.channel not in Channel.values:
        raise DomainError(_("Unknown channel."))
    texts = {
        "discussed": data.discussed.strip(),
        "achievements": data.achievements.strip(),
        "unsolved_problems": data.unsolved_problems.strip(),
        "improvements_suggestions": data.improvements_suggestions.strip(),
    }
    if not texts["discussed"]:
        raise DomainError(_("Write what was discussed."))
    if any(len(t) > MAX_TEXT for t in texts.values()):
        raise DomainError(_("Each text holds at most %(max)d characters.") % {"max": MAX_TEXT})
    follow = data.next_follow_up_on
    if follow is not None:
        visit_day = local_today(data.visited_at)
        if follow < visit_day:
            raise DomainError(_("The next follow-up cannot be before the visit."))
        if follow > visit_day + timedelta(days=MAX_FOLLOW_UP_DAYS):
            raise DomainError(_("Plan the next follow-up within a year."))
    if data.contact is not None and data.contact.customer_id != customer.pk:
        raise DomainError(_("The contact is not one of this customer's."))
    return VisitInput(
        visited_at=data.visited_at,
        channel=data.channel,
        next_follow_up_on=follow,
        contact=data.contact,
        **texts,
    )


def _record_contact(customer: Customer, visit: Visit) -> None:
    """Last contact moves forward (R3, shown in the pool and lists). The next follow-up date on the
    customer row is its owner's schedule: a pool customer's tracker keeps its date on its visits."""
    follow = visit.next_follow_up_on if customer.owner_id == visit.salesperson_id else customer.next_follow_up_on
    customer_record_contact(customer=customer, at=visit.visited_at, next_follow_up_on=follow)


@transaction.atomic
def visit_record(*, customer: Customer, user: User, data: VisitInput, now: datetime | None = None) -> Visit:
    """R3.2: the owner (or a salesperson of the department tracking a pool customer) records a
    visit. The customer row is locked so that a claim or release cannot interleave with the check."""
    now = now or timezone.now()
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    if not can_record_visit(user, customer):
        raise PermissionDenied(_("Visits are recorded by the customer's owner: this customer is not yours."))
    data = _clean_visit(data, customer, now)
    visit = Visit.objects.create(
        customer=customer,
        salesperson=user,
        contact=data.contact,
        visited_at=data.visited_at,
        channel=data.channel,
        discussed=data.discussed,
        achievements=data.achievements,
        unsolved_problems=data.unsolved_problems,
        improvements_suggestions=data.improvements_suggestions,
        next_follow_up_on=data.next_follow_up_on,
        created_at=now,
        updated_at=now,
    )
    _record_contact(customer, visit)
    return visit


@transaction.atomic
def visit_update(*, visit: Visit, user: User, data: VisitInput, now: datetime | None = None) -> Visit:
    """Its author corrects a visit record. A report already submitted keeps what it froze (R3.3)."""
    now = now or timezone.now()
    # The customer before the visit, as every service locks them (docs/decisions.md, "Lock order").
    customer = Customer.objects.select_for_update(no_key=True).get(pk=visit.customer_id)
    visit = Visit.objects.select_for_update(no_key=True).get(pk=visit.pk)
    if visit.salesperson_id != user.pk:
        raise PermissionDenied(_("Only the salesperson who recorded a visit corrects it."))
    data = _clean_visit(data, customer, now)
    visit.contact = data.contact
    visit.visited_at = data.visited_at
    visit.channel = data.channel
    visit.discussed = data.discussed
    visit.achievements = data.achievements
    visit.unsolved_problems = data.unsolved_problems
    visit.improvements_suggestions = data.improvements_suggestions
    visit.next_follow_up_on = data.next_follow_up_on
    visit.updated_at = now
    visit.save()
    if can_record_visit(user, customer):
        _record_contact(customer, visit)
    return visit


# --- Reports (R3.3) ------------------------------------------------------------------------------


def _visit_row(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "customer_id": visit.customer_id,
        "customer": visit.customer.name,
        "contact": visit.contact.name if visit.contact else "",
        "visited_at": timezone.localtime(visit.visited_at).isoformat(),
        "channel": visit.channel,
        "discussed": visit.discussed,
        "achievements": visit.achievements,
        "unsolved_problems": visit.unsolved_problems,
        "improvements_suggestions": visit.improvements_suggestions,
        "next_follow_up_on": visit.next_follow_up_on.isoformat() if visit.next_follow_up_on else None,
    }


def report_compile(*, salesperson: User, kind: str, period_start: date) -> dict[str, Any]:
    """R3.3, read-only: the content of the salesperson's daily or weekly report containing
    `period_start`, as a JSON-ready dict: the visits of the period (Asia/Shanghai days, weeks Monday
    to Sunday), progress against the plan of the month the period ends in (counted to its last
    day), and the achievements, unsolved problems and suggestions of those visits."""
    start, end = report_period(kind=kind, day=period_start)
    lo, hi = _local_bounds(start, end)
    visits = list(
        Visit.objects.filter(salesperson=salesperson, visited_at__gte=lo, visited_at__lt=hi)
        .select_related("customer", "contact")
        .order_by("visited_at", "id")
    )
    rows = [_visit_row(v) for v in visits]

    def items(field: str) -> list[dict[str, str]]:
        return [{"customer": r["customer"], "text": r[field]} for r in rows if r[field]]

    return {
        "version": CONTENT_VERSION,
        "kind": kind,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "visits": rows,
        "totals": {"visits": len(rows), "customers": len({r["customer_id"] for r in rows})},
        "progress": plan_progress(salesperson=salesperson, month=end, until=end).as_dict(),
        "achievements": items("achievements"),
        "unsolved_problems": items("unsolved_problems"),
        "suggestions": items("improvements_suggestions"),
    }


def _locked_report(*, salesperson: User, kind: str, start: date, end: date, now: datetime) -> Report:
    """The salesperson's report row for the period, locked; created as a draft if missing."""
    found = (
        Report.objects.select_for_update(no_key=True)
        .filter(salesperson=salesperson, kind=kind, period_start=start)
        .first()
    )
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Report.objects.create(
                salesperson=salesperson,
                kind=kind,
                period_start=start,
                period_end=end,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # created a moment ago in another tab
        return Report.objects.select_for_update(no_key=True).get(salesperson=salesperson, kind=kind, period_start=start)


def _prepare(*, salesperson: User, kind: str, period_start: date, summary: str, user: User, now: datetime):
    if user.pk != salesperson.pk or not user.is_salesperson:
        raise PermissionDenied(_("Only its salesperson writes a report."))
    start, end = report_period(kind=kind, day=period_start)
    if start > local_today(now):
        raise DomainError(_("This period has not started yet."))
    summary = (summary or "").strip()
    if len(summary) > MAX_TEXT:
        raise DomainError(_("The summary holds at most %(max)d characters.") % {"max": MAX_TEXT})
    report = _locked_report(salesperson=salesperson, kind=kind, start=start, end=end, now=now)
    if report.is_submitted:
        raise DomainError(_("This report is already submitted and is not edited; add a comment instead."))
    return report, summary


@transaction.atomic
def report_save_draft(
    *, salesperson: User, kind: str, period_start: date, summary: str, user: User, now: datetime | None = None
) -> Report:
    now = now or timezone.now()
    report, summary = _prepare(
        salesperson=salesperson, kind=kind, period_start=period_start, summary=summary, user=user, now=now
    )
    report.summary = summary
    report.updated_at = now
    report.save(update_fields=["summary", "updated_at"])
    return report


@transaction.atomic
def report_submit(
    *, salesperson: User, kind: str, period_start: date, summary: str, user: User, now: datetime | None = None
) -> Report:
    """R3.3: the salesperson adds its summary and submits. The compiled content is frozen in the
    report; later edits of the visits do not change it, and the report itself is not edited."""
    now = now or timezone.now()
    report, summary = _prepare(
        salesperson=salesperson, kind=kind, period_start=period_start, summary=summary, user=user, now=now
    )
    if not summary:
        raise DomainError(_("Write a summary before submitting."))
    report.summary = summary
    report.content = report_compile(salesperson=salesperson, kind=report.kind, period_start=report.period_start)
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = now
    report.updated_at = now
    report.save()
    return report


@transaction.atomic
def report_comment(*, report: Report, user: User, text: str, now: datetime | None = None) -> ReportComment:
    """Later words on a submitted report: its salesperson's additions and the manager's comments."""
    now = now or timezone.now()
    report = Report.objects.select_for_update(no_key=True, of=("self",)).select_related("salesperson").get(pk=report.pk)
    is_author = report.salesperson_id == user.pk
    if not (is_author or manages(user, report.salesperson)):
        raise PermissionDenied(_("Only the salesperson and its managers comment on a report."))
    if not report.is_submitted:
        raise DomainError(_("A draft is edited, not commented: comments come after submission."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write a comment."))
    if len(text) > MAX_COMMENT:
        raise DomainError(_("A comment holds at most %(max)d characters.") % {"max": MAX_COMMENT})
    comment = ReportComment.objects.create(report=report, author=user, text=text, created_at=now)
    if not is_author:
        notify(
            recipient=report.salesperson,
            kind="report_comment",
            text=_("%(user)s commented on your %(kind)s of %(day)s.")
            % {"user": user, "kind": report.get_kind_display(), "day": report.period_start.isoformat()},
            url=reverse("followups:report_detail", args=[report.pk]),
            now=now,
        )
    return comment
