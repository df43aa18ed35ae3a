"""Reads of the pool and of ownership, always scoped to the requesting user."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, Exists, Max, OuterRef, Q, QuerySet, TextChoices, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from crm.dates import local_today
from customers.models import Customer, ReleaseReason
from customers.selectors import customers_visible_to

from .models import Action, MissingReleaseNote, NightlyRun, OwnershipEvent, PoolSettings, ReleaseNote, Rule

NIGHTLY_HOUR = 1  # 01:00 Asia/Shanghai, as in CELERY_BEAT_SCHEDULE


def pool_settings_of(department_id: int | None) -> PoolSettings:
    """A department's settings for reading: the saved row, or the defaults of docs/rules.md unsaved (a page
    view never creates a row)."""
    if department_id is None:
        return PoolSettings()
    return PoolSettings.objects.filter(department_id=department_id).first() or PoolSettings(department_id=department_id)


# Releases after which the previous owner waits out the cool-off (R5.8). Voluntary releases
# count too, or releasing the day before the deadline and re-claiming would reset the clock.
COOLOFF_REASONS = (ReleaseReason.NO_DEAL, ReleaseReason.NO_SALE, ReleaseReason.VOLUNTARY, ReleaseReason.HANDOVER)


def cooloffs(
    *, user: User, customers: Iterable[Customer], settings: PoolSettings | None = None
) -> dict[int, tuple[date, date]]:
    """R5.8, the one rule the pool page, the customer page and the claim share: for each customer
    `user` lost to R5.2 / R5.4 or released itself, (the day it did, the first day it may claim it
    again). Read from the whole history, not only the last release: a colleague claiming and
    releasing the customer in between does not shorten the user's cool-off. One query for a page."""
    rows = {c.pk: c for c in customers}
    if not rows or not user.is_authenticated:
        return {}
    last: dict[int, datetime] = dict(
        OwnershipEvent.objects.filter(
            customer_id__in=list(rows), from_owner=user, action=Action.RELEASED, reason__in=COOLOFF_REASONS
        )
        .order_by()
        .values("customer_id")
        .annotate(at=Max("at"))
        .values_list("customer_id", "at")
    )
    for c in rows.values():
        # The row's own record of its last release (the same moment as its history row).
        if c.released_from_id == user.pk and c.release_reason in COOLOFF_REASONS and c.released_at:
            last[c.pk] = max(last.get(c.pk, c.released_at), c.released_at)
    days: dict[int, int] = {}
    found = {}
    for pk, released_at in last.items():
        dept = rows[pk].department_id
        if dept not in days:
            days[dept] = (
                settings if settings and settings.department_id == dept else pool_settings_of(dept)
            ).reclaim_cooloff_days
        day = local_today(released_at)
        found[pk] = (day, day + timedelta(days=days[dept]))
    return found


def cooloff(*, customer: Customer, user: User, settings: PoolSettings | None = None) -> tuple[date, date] | None:
    """R5.8 for one customer: (the day `user` lost or released it, the first day it may claim it
    again), or None when no cool-off applies."""
    return cooloffs(user=user, customers=[customer], settings=settings).get(customer.pk)


def cooloff_ends(*, customer: Customer, user: User, settings: PoolSettings | None = None) -> date | None:
    """R5.8: the first day `user` may claim `customer` again, or None when no cool-off applies."""
    found = cooloff(customer=customer, user=user, settings=settings)
    return found[1] if found else None


def pool_visible_to(user: User) -> QuerySet[Customer]:
    """The pool a user may browse: its department's ownerless customers (every department's for
    admins and finance). Always a subset of customers_visible_to (tests/test_pool_views.py checks
    it for every role), written without its OR so PostgreSQL uses the pool's partial indexes."""
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    qs = Customer.objects.filter(owner__isnull=True)
    if user.is_admin_role or user.is_finance:
        return qs
    if (user.is_salesperson or user.is_manager) and user.department_id is not None:
        return qs.filter(department_id=user.department_id)
    return qs.none()


def pool_customer_for_user(*, user: User, pk: int) -> Customer:
    try:
        return pool_visible_to(user).select_related("department", "released_from").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def managed_customer_for_user(*, user: User, pk: int) -> Customer:
    """A customer a manager (its department's) or admin may act on; 404 for everyone else."""
    if not (user.is_manager or user.is_admin_role):
        raise Http404
    try:
        return customers_visible_to(user).select_related("owner", "department").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404 from exc


def history_for(*, user: User, customer: Customer) -> QuerySet[OwnershipEvent]:
    """R5.9 / R5.12: the whole ownership history of a customer the user may see."""
    if not customers_visible_to(user).filter(pk=customer.pk).exists():
        return OwnershipEvent.objects.none()
    return (
        OwnershipEvent.objects.filter(customer=customer)
        .select_related("from_owner", "to_owner", "actor", "release_note")
        .order_by("-at", "-id")
    )


def _entered_pool_q() -> Q:
    """History rows that put an owned customer into the pool: releases (rules, owners), problem
    marks, and a reversed first sale with nobody to take the customer back (R8.2)."""
    return Q(action__in=[Action.RELEASED, Action.PROBLEM]) | Q(action=Action.SALE_REVERSED, to_owner__isnull=True)


def problem_flag_is_bad_credit_only(customer: Customer) -> bool:
    """R2.3 / R5.5: the customer's problem flag stands only because of its bad payment credit:
    every problem mark since the flag was last cleared was made by a credit change."""
    if not customer.is_problem:
        return False
    last_cleared = (
        OwnershipEvent.objects.filter(customer=customer, action=Action.PROBLEM_CLEARED)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    rules = set(
        OwnershipEvent.objects.filter(customer=customer, action=Action.PROBLEM, id__gt=last_cleared or 0).values_list(
            "rule", flat=True
        )
    )
    return rules == {Rule.R2_3}


def last_release_note(customer: Customer) -> ReleaseNote | None:
    """R5.12: the note of the ownership that ended last, shown to whoever looks at the pool card."""
    if customer.released_from_id is None:
        return None
    # The last release itself, not the former owner's newest note: an older ownership's note would
    # otherwise pass for the last one when the last release had none.
    event = (
        OwnershipEvent.objects.filter(customer=customer)
        .filter(_entered_pool_q())
        .select_related("release_note")
        .order_by("-at", "-id")
        .first()
    )
    if event is None:
        return None
    if event.release_note is not None:
        return event.release_note
    late = (
        MissingReleaseNote.objects.filter(
            customer=customer, former_owner_id=event.from_owner_id, released_at=event.at, note__isnull=False
        )
        .select_related("note")
        .first()
    )
    return late.note if late else None


def release_log(*, user: User) -> QuerySet[OwnershipEvent]:
    """Managers: what the rules and people released, newest first."""
    qs = OwnershipEvent.objects.filter(_entered_pool_q()).select_related(
        "customer", "from_owner", "actor", "release_note"
    )
    if user.is_admin_role:
        return qs
    if user.is_manager and user.department_id:
        return qs.filter(customer__department_id=user.department_id)
    return qs.none()


def missing_notes_visible_to(user: User) -> QuerySet[MissingReleaseNote]:
    qs = MissingReleaseNote.objects.filter(note__isnull=True).select_related("customer", "former_owner", "demanded_by")
    if user.is_admin_role:
        return qs
    if user.is_manager and user.department_id:
        return qs.filter(customer__department_id=user.department_id)
    return qs.filter(former_owner=user)


def last_run() -> NightlyRun | None:
    return NightlyRun.objects.filter(dry_run=False, skipped=False).order_by("-started_at").first()


def next_run_dates(*, now: datetime | None = None, count: int = 7) -> list[date]:
    """The as-of dates of the next `count` nightly runs."""
    now = timezone.localtime(now or timezone.now())
    first = now.date() if now.time() < time(NIGHTLY_HOUR) else now.date() + timedelta(days=1)
    return [first + timedelta(days=i) for i in range(count)]


@dataclass
class PreviewDay:
    run_date: date
    rows: list[dict]  # owner_id, owner, sold_in_ownership, n
    total: int


def release_preview(*, user: User, now: datetime | None = None, days: int = 7) -> list[PreviewDay]:
    """R5.11: what each of the next `days` nightly runs will release, per salesperson. A run on
    day d releases deadlines before d (the first run also everything overdue)."""
    runs = next_run_dates(now=now, count=days)
    # R7: customers held by an open handover are not released, so not previewed.
    qs = customers_visible_to(user).filter(owner__isnull=False, handover_ref__isnull=True, deadline__lt=runs[-1])
    grouped = (
        qs.order_by()
        .values("deadline", "owner_id", "owner__username", "owner__display_name", "sold_in_ownership")
        .annotate(n=Count("id"))
    )
    by_day: dict[date, dict[tuple[int, bool], dict]] = {d: {} for d in runs}
    for row in grouped:
        deadline = row["deadline"]
        if deadline is None:  # excluded by the filter; keeps the type checker honest
            continue
        run_day = max(deadline + timedelta(days=1), runs[0])
        key = (row["owner_id"], row["sold_in_ownership"])
        slot = by_day[run_day].setdefault(
            key,
            {
                "owner_id": row["owner_id"],
                "owner": row["owner__display_name"] or row["owner__username"],
                "sold_in_ownership": row["sold_in_ownership"],
                "n": 0,
            },
        )
        slot["n"] += row["n"]
    return [
        PreviewDay(run_date=d, rows=sorted(v.values(), key=lambda r: -r["n"]), total=sum(r["n"] for r in v.values()))
        for d, v in by_day.items()
    ]


def releasing_on(
    *, user: User, run_date: date, owner_id: int | None = None, first_run: date | None = None
) -> QuerySet[Customer]:
    """The customers a given night will release (drill-down of the preview)."""
    qs = customers_visible_to(user).filter(owner__isnull=False, handover_ref__isnull=True).select_related("owner")
    if first_run and run_date <= first_run:
        qs = qs.filter(deadline__lt=run_date)
    else:
        qs = qs.filter(deadline=run_date - timedelta(days=1))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs.order_by("owner_id", "name")


def still_owns_refusal(user: User) -> str:
    """R7.1: a deactivated account owns nothing. Deactivating by hand someone who still owns
    customers would strand them (nobody records their visits or orders; R5.3 skips the account;
    only their deadlines would free them): they go through a resignation handover."""
    owned = Customer.objects.filter(owner_id=user.pk).count()
    if not owned:
        return ""
    return ngettext(
        "%(user)s still owns %(n)d customer: hand it over with a resignation handover, which deactivates the "
        "account when it is complete.",
        "%(user)s still owns %(n)d customers: hand them over with a resignation handover, which deactivates the "
        "account when it is complete.",
        owned,
    ) % {"user": user, "n": owned}


def may_own_by_first_order(user: User, customer: Customer) -> bool:
    """R5.3 gives the customer to the order's salesperson only while it can own customers: an
    active salesperson of the customer's department (one who left stays out; managers decide)."""
    return bool(user.is_active and user.is_salesperson and user.department_id == customer.department_id)


@dataclass(frozen=True)
class SaleEffect:
    """What a confirmed sale of `customer` on `day` would do to its ownership (shown before finance
    saves a first payment, R8.1)."""

    first_order: bool  # the customer's first confirmed sale ever: R5.3 applies
    new_owner: User | None  # who becomes (or stays) the owner on basis first order
    previous_owner: User | None
    owner_blocked: bool  # first order, but its salesperson cannot own customers: the owner stays
    deadline: date | None  # the owner's deadline after the sale
    in_handover: bool = False  # blocked because a handover holds the customer (R7), not by the salesperson


def sale_effect(*, customer: Customer, salesperson: User, day: date) -> SaleEffect:
    """Mirrors services.customer_record_sale, without writing."""
    from .services import compute_deadline

    first = customer.last_sale_on is None
    # R7: a customer held by an open handover goes to no one else by a first order.
    held = customer.handover_ref is not None and salesperson.pk != customer.owner_id
    if first and not held and may_own_by_first_order(salesperson, customer):
        new_deadline = compute_deadline(owned_since=day, sold_in_ownership=True, last_sale_on=day)
        return SaleEffect(True, salesperson, customer.owner, False, new_deadline)
    deadline: date | None = None
    if customer.owner_id is not None:
        last = max(customer.last_sale_on or day, day)
        moved = compute_deadline(owned_since=customer.owned_since or day, sold_in_ownership=True, last_sale_on=last)
        deadline = max(moved, customer.deadline or moved)
    return SaleEffect(first, None, customer.owner, first, deadline, in_handover=first and held)


def days_left(customer: Customer, *, today: date | None = None) -> int | None:
    if customer.deadline is None:
        return None
    return (customer.deadline - (today or local_today())).days


# --- Pool movements (the dashboard's flows) --------------------------------------------------


class PoolFlow(TextChoices):
    """Why a customer entered or left a department's pool, read from its history (R5.9). Every
    change of `owner` to or from empty writes exactly one of these events, so a pool's size at any
    moment is its size now minus the inflows since plus the outflows since."""

    RULE = "rule", _("Released by the rules")
    HAND = "hand", _("Released by the owner")
    PROBLEM = "problem", _("Problem customers")
    HANDOVER = "handover", _("Handed over to the pool")
    IMPORTED = "imported", _("Imported")
    REGISTERED = "registered", _("Registered into the pool")
    SALE_REVERSED = "sale_reversed", _("First order reversed")
    CLAIMED = "claimed", _("Claimed")
    ASSIGNED = "assigned", _("Assigned by a manager")
    FIRST_ORDER = "first_order", _("First order from the pool")


POOL_INFLOWS = (
    PoolFlow.RULE,
    PoolFlow.HAND,
    PoolFlow.PROBLEM,
    PoolFlow.HANDOVER,
    PoolFlow.IMPORTED,
    PoolFlow.REGISTERED,
    PoolFlow.SALE_REVERSED,
)
POOL_OUTFLOWS = (PoolFlow.CLAIMED, PoolFlow.ASSIGNED, PoolFlow.FIRST_ORDER)

# The events of each flow. Released events are split by who acted: a rule (R5.2/R5.4 carry their
# rule id), a handover (R7) or a person. A problem mark or an assignment moves a customer only when
# it had an owner (a pool customer marked as a problem stays where it is).
_RELEASED = Q(action=Action.RELEASED)
POOL_FLOW_Q: dict[str, Q] = {
    PoolFlow.RULE: _RELEASED & ~Q(rule=""),
    PoolFlow.HANDOVER: _RELEASED & Q(rule="", reason=ReleaseReason.HANDOVER),
    PoolFlow.HAND: _RELEASED & Q(rule="") & ~Q(reason=ReleaseReason.HANDOVER),
    # A problem mark on a customer a handover holds keeps its owner (R7): no movement until then.
    PoolFlow.PROBLEM: Q(action=Action.PROBLEM, from_owner__isnull=False, to_owner__isnull=True),
    PoolFlow.IMPORTED: Q(action=Action.REGISTERED, reason=ReleaseReason.IMPORTED),
    PoolFlow.REGISTERED: Q(action=Action.REGISTERED, reason=ReleaseReason.REGISTERED, to_owner__isnull=True),
    # A reversed first sale (R8.2) with no earlier ownership to restore returns the customer to the pool.
    PoolFlow.SALE_REVERSED: Q(action=Action.SALE_REVERSED, to_owner__isnull=True, from_owner__isnull=False),
    PoolFlow.CLAIMED: Q(action=Action.CLAIMED),
    PoolFlow.ASSIGNED: Q(action__in=[Action.ASSIGNED, Action.RELATIONSHIP], from_owner__isnull=True),
    PoolFlow.FIRST_ORDER: Q(action=Action.FIRST_ORDER, from_owner__isnull=True),
}
# The actions involved, first: PostgreSQL then reads each from the (action, -at) index.
POOL_FLOW_ACTIONS = (
    Action.RELEASED,
    Action.PROBLEM,
    Action.REGISTERED,
    Action.CLAIMED,
    Action.ASSIGNED,
    Action.RELATIONSHIP,
    Action.FIRST_ORDER,
    Action.SALE_REVERSED,
)


def pool_flow_case() -> Case:
    """The flow of an event as an SQL CASE (NULL for events that move nothing)."""
    return Case(*(When(q, then=Value(str(flow))) for flow, q in POOL_FLOW_Q.items()), default=Value(None))


def pool_flow_person_q(salesperson_id: int) -> Q:
    """The movements one salesperson made or caused: customers it lost or released, claimed or was
    given, or imported or registered into the pool."""
    return (
        Q(action__in=[Action.RELEASED, Action.PROBLEM, Action.SALE_REVERSED], from_owner_id=salesperson_id)
        | Q(
            action__in=[Action.CLAIMED, Action.ASSIGNED, Action.RELATIONSHIP, Action.FIRST_ORDER],
            to_owner_id=salesperson_id,
        )
        | Q(action=Action.REGISTERED, actor_id=salesperson_id)
    )


def pool_movements_visible_to(user: User) -> QuerySet[OwnershipEvent]:
    """Managers (their department's customers) and admins (all): the history rows that moved a
    customer into or out of a pool, annotated with `flow`."""
    if not user.is_authenticated or not user.is_active:
        return OwnershipEvent.objects.none()
    qs = OwnershipEvent.objects.filter(action__in=POOL_FLOW_ACTIONS)
    if user.is_admin_role:
        pass
    elif user.is_manager and user.department_id:
        qs = qs.filter(customer__department_id=user.department_id)
    else:
        return qs.none()
    return qs.annotate(flow=pool_flow_case()).exclude(flow=None)


# --- Counts for the home pages ----------------------------------------------------------------


def releasing_soon_for(*, user: User, now: datetime | None = None, nights: int = 7) -> QuerySet[Customer]:
    """R5.10 / R7.3: the user's own customers the next `nights` nightly runs will release, soonest
    first, each with `has_note` (its release note for this ownership is written)."""
    runs = next_run_dates(now=now, count=nights)
    has_note = Exists(
        ReleaseNote.objects.filter(
            customer_id=OuterRef("pk"), author_id=OuterRef("owner_id"), ownership_started=OuterRef("owned_since")
        )
    )
    return (
        customers_visible_to(user)
        .filter(owner=user, deadline__lt=runs[-1])
        .annotate(has_note=has_note)
        .order_by("deadline", "id")
    )


@dataclass
class ClaimAllowance:
    """R5.8 as it stands for one salesperson today."""

    claims_today: int
    daily_cap: int
    unsold: int
    unsold_limit: int

    @property
    def claims_left(self) -> int:
        return max(0, self.daily_cap - self.claims_today)

    @property
    def unsold_left(self) -> int:
        return max(0, self.unsold_limit - self.unsold)


def claim_allowance(*, user: User, now: datetime | None = None) -> ClaimAllowance | None:
    """Claims left today and customers without a sale against the limit (R5.8), for a salesperson
    of a department; None for anyone else."""
    from .services import claims_today, unsold_count, unsold_limit

    if not (user.is_salesperson and user.department_id):
        return None
    settings = pool_settings_of(user.department_id)
    return ClaimAllowance(
        claims_today=claims_today(user=user, now=now),
        daily_cap=settings.daily_claim_cap,
        unsold=unsold_count(user=user),
        unsold_limit=unsold_limit(user=user, settings=settings),
    )
