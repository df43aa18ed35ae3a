"""Reads of handovers, always scoped to the requesting user.

A manager sees its department's handovers, an admin all of them; a salesperson those it hands
over (the leaver) and those with items sent to it, where it sees only the items sent to it;
finance sees none (it reads a handover hold's progress on the commission statement)."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import salespeople_visible_to
from sales.models import CommissionHold

from .models import DONE_Q, Handover, HandoverItem, Kind, State

ITEM_STATUSES = ("all", "no_note", "unsent", "awaiting", "confirmed", "pool")


def _manages_q(user: User) -> Q | None:
    if user.is_admin_role:
        return Q()
    if user.is_manager and user.department_id:
        return Q(department_id=user.department_id)
    return None


def handovers_visible_to(user: User) -> QuerySet[Handover]:
    """The one rule of who sees which handover (lists, details, the report, the export, the
    dashboard of issue 13)."""
    qs = Handover.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    managed = _manages_q(user)
    if managed is not None:
        return qs.filter(managed)
    if user.is_salesperson:
        received = HandoverItem.objects.filter(handover=OuterRef("pk"), receiver=user)
        return qs.filter(Q(leaver=user) | Q(Exists(received)))
    return qs.none()


def handover_for_user(*, user: User, pk: int) -> Handover:
    try:
        return (
            handovers_visible_to(user)
            .select_related("department", "leaver", "opened_by", "completed_by", "cancelled_by", "hold")
            .get(pk=pk)
        )
    except (Handover.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def manages(user: User, handover: Handover) -> bool:
    if not user.is_active:
        return False
    return user.is_admin_role or (
        user.is_manager and user.department_id is not None and user.department_id == handover.department_id
    )


def items_visible_to(user: User, handover: Handover) -> QuerySet[HandoverItem]:
    """All items for the managers and the leaver; a receiver sees only the items sent to it."""
    qs = HandoverItem.objects.filter(handover=handover)
    if manages(user, handover) or handover.leaver_id == user.pk:
        return qs
    if user.is_active and user.is_salesperson:
        return qs.filter(receiver=user)
    return qs.none()


def item_for_user(*, user: User, handover_pk: int, pk: int) -> HandoverItem:
    handover = handover_for_user(user=user, pk=handover_pk)
    try:
        item = (
            items_visible_to(user, handover)
            .select_related("customer", "receiver", "sent_by", "confirmed_by")
            .get(pk=pk)
        )
    except (HandoverItem.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc
    item.handover = handover
    return item


def filter_items(qs: QuerySet[HandoverItem], *, status: str = "all", q: str = "", receiver: str = "") -> QuerySet:
    """The item list's filters (the manager's bulk assignment applies to all items they find)."""
    if status == "no_note":
        qs = qs.filter(note_written_at__isnull=True)
    elif status == "unsent":
        qs = qs.filter(receiver__isnull=True, to_pool=False)
    elif status == "awaiting":
        qs = qs.filter(receiver__isnull=False, to_pool=False, confirmed_at__isnull=True)
    elif status == "confirmed":
        qs = qs.filter(confirmed_at__isnull=False)
    elif status == "pool":
        qs = qs.filter(to_pool=True)
    q = (q or "").strip()
    if q:
        qs = qs.filter(customer__name__icontains=q[:100])
    if receiver == "pool":
        qs = qs.filter(to_pool=True)
    elif receiver.isdigit():
        qs = qs.filter(receiver_id=int(receiver))
    return qs


@dataclass
class Progress:
    total: int
    noted: int
    sent: int
    done: int

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


def progress_of(handovers: list[Handover]) -> dict[int, Progress]:
    """Items, notes written, sent and done per handover, in one query."""
    rows = (
        HandoverItem.objects.filter(handover__in=[h.pk for h in handovers])
        .order_by()
        .values("handover_id")
        .annotate(
            total=Count("id"),
            noted=Count("id", filter=Q(note_written_at__isnull=False)),
            sent=Count("id", filter=Q(to_pool=True) | Q(receiver__isnull=False)),
            done=Count("id", filter=DONE_Q),
        )
    )
    found = {r["handover_id"]: Progress(r["total"], r["noted"], r["sent"], r["done"]) for r in rows}
    return {h.pk: found.get(h.pk, Progress(0, 0, 0, 0)) for h in handovers}


def receivers_for(*, user: User, department_id: int | None, leaver_id: int) -> QuerySet[User]:
    """Who a manager may send items to: active salespeople of the department, not the leaver, not
    anyone leaving (an open resignation)."""
    if department_id is None:
        return User.objects.none()
    leaving = Handover.objects.filter(leaver=OuterRef("pk"), kind=Kind.RESIGNATION, state=State.OPEN)
    return (
        salespeople_visible_to(user).filter(department_id=department_id).exclude(pk=leaver_id).exclude(Exists(leaving))
    )


def leavers_for(user: User) -> QuerySet[User]:
    """Whose handover a manager may open: the active salespeople it manages."""
    if not (user.is_manager or user.is_admin_role):
        return User.objects.none()
    return salespeople_visible_to(user).select_related("department")


def pending_for(user: User) -> dict[str, int]:
    """For the navigation, in one query: a salesperson's items waiting for its confirmation, its own
    items still without a note, and how many items of open handovers involve it at all."""
    out = {"to_confirm": 0, "to_write": 0, "involved": 0}
    if not user.is_authenticated or not user.is_active or not user.is_salesperson:
        return out
    mine = Q(receiver=user) | Q(handover__leaver=user)
    counts = HandoverItem.objects.filter(mine, handover__state=State.OPEN).aggregate(
        to_confirm=Count("id", filter=Q(receiver=user, to_pool=False, confirmed_at__isnull=True)),
        to_write=Count("id", filter=Q(handover__leaver=user, note_written_at__isnull=True)),
        involved=Count("id"),
    )
    return {key: counts[key] or 0 for key in out}


def open_counts_by_department(user: User) -> list[dict]:
    """For the dashboard (issue 13): per department the user may see, the open handovers, their
    items and how many are done. Two queries."""
    visible = handovers_visible_to(user).filter(state=State.OPEN)
    per_dept = {
        row["department_id"]: {
            "department_id": row["department_id"],
            "department": row["department__name"],
            "handovers": row["n"],
            "items": 0,
            "items_done": 0,
        }
        for row in visible.order_by().values("department_id", "department__name").annotate(n=Count("id"))
    }
    items = (
        HandoverItem.objects.filter(handover__in=visible)
        .order_by()
        .values("handover__department_id")
        .annotate(n=Count("id"), done=Count("id", filter=DONE_Q))
    )
    for row in items:
        entry = per_dept.get(row["handover__department_id"])
        if entry is not None:
            entry["items"] = row["n"]
            entry["items_done"] = row["done"]
    return sorted(per_dept.values(), key=lambda r: r["department"])


def hold_progress(holds: list[CommissionHold]) -> dict[int, str]:
    """The commission statement's words on a handover hold: which handover and how far it is."""
    handovers = list(Handover.objects.filter(hold__in=[h.pk for h in holds]))
    progress = progress_of(handovers)
    out = {}
    for h in handovers:
        p = progress[h.pk]
        if h.hold_id is None:
            continue
        out[h.hold_id] = _("Handover #%(id)d (%(reason)s): %(done)d of %(total)d customers confirmed") % {
            "id": h.pk,
            "reason": h.get_reason_display(),
            "done": p.done,
            "total": p.total,
        }
    return out


# --- The report (managers and admins) ---------------------------------------------------------------


@dataclass
class ReportFilter:
    department_id: int | None = None
    person_id: int | None = None
    state: str = ""
    kind: str = ""
    opened_from: date | None = None
    opened_to: date | None = None


def report_handovers(*, user: User, f: ReportFilter) -> QuerySet[Handover]:
    """Every open and completed (and cancelled) handover the user manages, filtered by
    department, person (the leaver or a receiver), state, kind and opening date."""
    if not (user.is_manager or user.is_admin_role):
        return Handover.objects.none()
    qs = handovers_visible_to(user)
    if f.department_id:
        qs = qs.filter(department_id=f.department_id)
    if f.person_id:
        received = HandoverItem.objects.filter(handover=OuterRef("pk"), receiver_id=f.person_id)
        qs = qs.filter(Q(leaver_id=f.person_id) | Q(Exists(received)))
    if f.state in State.values:
        qs = qs.filter(state=f.state)
    if f.kind in Kind.values:
        qs = qs.filter(kind=f.kind)
    tz = timezone.get_current_timezone()
    if f.opened_from:
        qs = qs.filter(opened_at__gte=datetime.combine(f.opened_from, time.min, tzinfo=tz))
    if f.opened_to:
        qs = qs.filter(opened_at__lt=datetime.combine(f.opened_to, time.max, tzinfo=tz))
    return qs.select_related("department", "leaver", "opened_by", "completed_by", "cancelled_by").order_by(
        "-opened_at", "-id"
    )


def report_items(handovers: list[Handover]) -> QuerySet[HandoverItem]:
    return (
        HandoverItem.objects.filter(handover__in=[h.pk for h in handovers])
        .select_related("customer", "receiver", "sent_by", "confirmed_by")
        .order_by("handover_id", "customer__name", "id")
    )


def people_for_report(user: User) -> QuerySet[User]:
    """The person filter: salespeople of the departments the user manages, former ones included
    (a report is about the past too)."""
    from accounts import roles

    qs = User.objects.filter(groups__name=roles.SALESPERSON).order_by("username")
    if user.is_admin_role:
        return qs
    if user.is_manager and user.department_id:
        return qs.filter(department_id=user.department_id)
    return qs.none()
