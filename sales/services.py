"""Orders, payments, tiers and commission holds (R8, R5.3, R2). Each public service is one
transaction that locks what it changes, checks its preconditions, writes, and appends history.

Ownership moves only through ownership.services: the first confirmed sale of a customer calls
customer_record_sale (R5.3), a reversal hands the remaining confirmed sales to
customer_reverse_sale (R8.2). Only this module writes Customer.tier and Customer.tier_amount.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from crm.dates import add_months, local_today
from crm.errors import DomainError, PermissionDenied
from customers.models import Customer, Tier
from notifications.services import notify
from ownership.services import ConfirmedSale, customer_record_sale, customer_reverse_sale

from .models import (
    CommissionHold,
    HoldSource,
    Order,
    OrderStatus,
    Payment,
    SaleEvent,
    SaleEventKind,
    SalesSettings,
    TierCause,
    TierChange,
)

# The largest amount an order or payment may have: ¥9,999,999,999.99. The column holds up to
# ¥999,999,999,999.99; anything near that is a typing error in a department's order book.
MAX_AMOUNT = Decimal("9999999999.99")
EARLIEST_DAY = date(2000, 1, 1)
CENT = Decimal("0.01")
BATCH = 1000


def money(value: Decimal) -> str:
    """¥1,234,567.89: how amounts read in messages."""
    return f"¥{value:,.2f}"


# --- Validation shared with the forms ---------------------------------------------------------


def clean_amount(value: Any) -> Decimal:
    """An amount of yuan: an exact Decimal, more than zero, at most two decimal places and not
    absurdly large. Floats are refused: money is never binary floating point."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise DomainError(_("Amounts are exact numbers of yuan, such as 12500.00."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Enter the amount as a number of yuan, such as 12500.00.")) from exc
    if not amount.is_finite():
        raise DomainError(_("Enter the amount as a number of yuan, such as 12500.00."))
    if amount <= 0:
        raise DomainError(_("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        # Not formatted when absurd: "1e999999999" is 11 characters and a billion digits.
        shown = money(amount) if amount.adjusted() <= 30 else str(value).strip()[:40]
        raise DomainError(
            _("%(amount)s is more than any single order or payment can be (at most %(max)s). Check the amount.")
            % {"amount": shown, "max": money(MAX_AMOUNT)}
        )
    if amount != amount.quantize(CENT):
        raise DomainError(_("An amount has at most two decimal places (fen)."))
    return amount.quantize(CENT)


def _check_day(day: date, *, today: date, what: str) -> None:
    if not isinstance(day, date):
        raise DomainError(_("Enter a valid date."))
    if day > today:
        raise DomainError(_("The %(what)s cannot be in the future.") % {"what": what})
    if day < EARLIEST_DAY:
        raise DomainError(_("The %(what)s cannot be before 2000.") % {"what": what})


# --- Settings -------------------------------------------------------------------------------------


def sales_settings_of(department_id: int | None) -> SalesSettings:
    """A department's saved settings, or the defaults of docs/rules.md unsaved."""
    if not department_id:
        return SalesSettings()
    return SalesSettings.objects.filter(department_id=department_id).first() or SalesSettings(
        department_id=department_id
    )


def tier_for(amount: Decimal, *, long_term: bool, settings: SalesSettings) -> str:
    """R2: VIP (long-term) or Special VIP (not long-term) from the VIP threshold, then A, B, C."""
    if amount >= settings.vip_threshold:
        return Tier.VIP if long_term else Tier.SPECIAL_VIP
    if amount >= settings.a_threshold:
        return Tier.A
    if amount >= settings.b_threshold:
        return Tier.B
    return Tier.C


def window_start(as_of: date, months: int) -> date:
    """The trailing window on `as_of` holds sales confirmed after this day, up to `as_of`: a sale
    counts for `months` calendar months and leaves on the same day `months` later."""
    return add_months(as_of, -months)


def validate_sales_settings(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for name in ("vip_threshold", "a_threshold", "b_threshold"):
        if name in out:
            out[name] = clean_amount(out[name])
    vip, a, b = out.get("vip_threshold"), out.get("a_threshold"), out.get("b_threshold")
    if vip is not None and a is not None and b is not None and not (b < a < vip):
        raise DomainError(_("The thresholds must rise from B to A to VIP."))
    window = out.get("window_months")
    if window is not None and not (isinstance(window, int) and 1 <= window <= 60):
        raise DomainError(_("The window is between 1 and 60 months."))
    rate = out.get("commission_rate")
    if rate is not None:
        if not isinstance(rate, Decimal) or not rate.is_finite() or not (Decimal(0) <= rate <= Decimal("0.5")):
            raise DomainError(_("The commission rate is between 0 and 0.5 (50%)."))
        if rate != rate.quantize(Decimal("0.0001")):
            raise DomainError(_("The commission rate has at most four decimal places."))
    return out


SETTINGS_FIELDS = ("vip_threshold", "a_threshold", "b_threshold", "window_months", "commission_rate")


def sales_settings_update(
    *, department: Department, user: User, data: dict[str, Any], now: datetime | None = None
) -> SalesSettings:
    """R2.2: a manager of the department or an admin changes the thresholds, the window or the
    commission rate; the department's tiers follow at once (history cause "settings")."""
    now = now or timezone.now()
    if not (user.is_admin_role or (user.is_manager and user.department_id == department.pk)):
        raise PermissionDenied(_("Only a manager of this department or an admin changes its rules."))
    with transaction.atomic():
        obj, _created = SalesSettings.objects.select_for_update(no_key=True).get_or_create(department=department)
        current = {name: getattr(obj, name) for name in SETTINGS_FIELDS}
        merged = validate_sales_settings({**current, **{k: v for k, v in data.items() if k in SETTINGS_FIELDS}})
        tiers_move = any(merged[n] != current[n] for n in SETTINGS_FIELDS if n != "commission_rate")
        for name in SETTINGS_FIELDS:
            setattr(obj, name, merged[name])
        obj.updated_by = user
        obj.save()
        if tiers_move:
            as_of = local_today(now)
            start = window_start(as_of, obj.window_months)
            ids = (
                Customer.objects.filter(department_id=department.pk)
                .filter(~Q(tier=Tier.C) | Q(tier_amount__gt=0))
                .values_list("id", flat=True)
            )
            with_sales = Order.objects.filter(
                customer__department_id=department.pk, confirmed_on__gt=start, confirmed_on__lte=as_of
            ).values_list("customer_id", flat=True)
            candidates = set(ids) | set(with_sales)
            _recompute_many(candidates, settings=obj, as_of=as_of, now=now, cause=TierCause.SETTINGS)
    return obj


# --- Tiers (R2) ---------------------------------------------------------------------------------


def customer_recompute_tier(*, customer: Customer, cause: str, now: datetime | None = None) -> TierChange | None:
    """R2 / R2.1: the customer's confirmed orders with a sale date in the trailing window give its
    amount and tier. Writes the customer row when either changed and a TierChange row when the
    tier changed. Bad payment credit keeps the computed tier; pages show a problem customer
    instead (Customer.shows_as_problem, R2.3)."""
    now = now or timezone.now()
    as_of = local_today(now)
    with transaction.atomic():
        current = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        settings = sales_settings_of(current.department_id)
        start = window_start(as_of, settings.window_months)
        amount = Order.objects.filter(customer=current, confirmed_on__gt=start, confirmed_on__lte=as_of).aggregate(
            s=Sum("amount")
        )["s"] or Decimal(0)
        tier = tier_for(amount, long_term=current.is_long_term, settings=settings)
        if (tier, amount) != (current.tier, current.tier_amount):
            Customer.objects.filter(pk=current.pk).update(tier=tier, tier_amount=amount)
        if tier == current.tier:
            return None
        return TierChange.objects.create(
            customer=current, old_tier=current.tier, new_tier=tier, amount=amount, cause=cause, at=now
        )


def _recompute_many(
    ids: Iterable[int],
    *,
    settings: SalesSettings,
    as_of: date,
    now: datetime,
    cause: str,
    causes: Mapping[int, str] | None = None,
    dry_run: bool = False,
) -> int:
    """Set-based recomputation of many customers of one department, in batches: lock the batch,
    sum its window with one grouped query, write the changes with one bulk UPDATE and one bulk
    INSERT of history. Returns the number of tier changes."""
    start = window_start(as_of, settings.window_months)
    ordered = sorted(set(ids))
    changed = 0
    for i in range(0, len(ordered), BATCH):
        batch = ordered[i : i + BATCH]
        rows = Customer.objects.filter(pk__in=batch).order_by("pk")
        if not dry_run:
            rows = rows.select_for_update(no_key=True)
        current = list(rows.values_list("id", "tier", "tier_amount", "is_long_term"))
        sums = dict(
            Order.objects.filter(customer_id__in=batch, confirmed_on__gt=start, confirmed_on__lte=as_of)
            .order_by()
            .values("customer_id")
            .annotate(s=Sum("amount"))
            .values_list("customer_id", "s")
        )
        updates, history = [], []
        for pk, tier, amount, long_term in current:
            new_amount = sums.get(pk) or Decimal(0)
            new_tier = tier_for(new_amount, long_term=long_term, settings=settings)
            if (new_tier, new_amount) != (tier, amount):
                updates.append(Customer(pk=pk, tier=new_tier, tier_amount=new_amount))
            if new_tier != tier:
                history.append(
                    TierChange(
                        customer_id=pk,
                        old_tier=tier,
                        new_tier=new_tier,
                        amount=new_amount,
                        cause=(causes or {}).get(pk, cause),
                        at=now,
                    )
                )
        changed += len(history)
        if not dry_run:
            Customer.objects.bulk_update(updates, ["tier", "tier_amount"], batch_size=500)
            TierChange.objects.bulk_create(history, batch_size=500)
    return changed


def tiers_recompute_nightly(*, as_of: date, now: datetime, dry_run: bool = False) -> int:
    """R2.1, a step of the nightly job: recompute only the customers whose window content changed
    since the department's last run (sales that left the window between the two runs' window
    starts, so missed nights are caught up and a second run the same day finds nothing), plus
    customers whose long-term flag no longer matches their VIP / Special VIP tier.

    Tiers are never computed as of a day before the run's own day or before the department's last
    applied window: a catch-up run for a missed night (`--as-of` an earlier day) would otherwise
    drop the sales confirmed since that day, or bring back sales that have left the window, and
    the later nights would not look at those customers again."""
    changed = 0
    saved = {s.department_id: s for s in SalesSettings.objects.all()}
    run_day = max(as_of, local_today(now))
    for dept_id in Department.objects.order_by("pk").values_list("pk", flat=True):
        settings = saved.get(dept_id) or SalesSettings(department_id=dept_id)
        last = settings.window_applied_on
        day = max(run_day, last) if last else run_day
        start = window_start(day, settings.window_months)
        orders = Order.objects.filter(customer__department_id=dept_id, confirmed_on__isnull=False)
        if last is None:
            moved = orders.filter(confirmed_on__lte=start)
        elif last == day:
            moved = orders.none()
        else:
            moved = orders.filter(confirmed_on__gt=window_start(last, settings.window_months), confirmed_on__lte=start)
        window_ids = set(moved.order_by().values_list("customer_id", flat=True).distinct())
        flag_ids = set(
            Customer.objects.filter(department_id=dept_id)
            .filter(Q(tier=Tier.VIP, is_long_term=False) | Q(tier=Tier.SPECIAL_VIP, is_long_term=True))
            .values_list("id", flat=True)
        )
        causes = {pk: TierCause.LONG_TERM for pk in flag_ids - window_ids}
        changed += _recompute_many(
            window_ids | flag_ids,
            settings=settings,
            as_of=day,
            now=now,
            cause=TierCause.WINDOW,
            causes=causes,
            dry_run=dry_run,
        )
        if not dry_run and (last is None or day > last):
            SalesSettings.objects.update_or_create(department_id=dept_id, defaults={"window_applied_on": day})
    return changed


# --- Orders and payments (R8) -----------------------------------------------------------------


def order_create(
    *,
    customer: Customer,
    user: User,
    amount: Decimal,
    deal_date: date,
    description: str,
    now: datetime | None = None,
) -> Order:
    """R8.1: a salesperson records an order for a customer it owns."""
    now = now or timezone.now()
    today = local_today(now)
    if not user.is_salesperson:
        raise PermissionDenied(_("Only salespeople record orders."))
    amount = clean_amount(amount)
    _check_day(deal_date, today=today, what=_("deal date"))
    description = (description or "").strip()
    if not description:
        raise DomainError(_("Describe what was sold (lines or a description)."))
    with transaction.atomic():
        current = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        if current.owner_id != user.pk:
            raise PermissionDenied(_("You can record orders only for customers you own."))
        order = Order.objects.create(
            customer=current,
            department_id=current.department_id,
            salesperson=user,
            amount=amount,
            deal_date=deal_date,
            description=description,
            created_at=now,
        )
        SaleEvent.objects.create(
            customer=current, order=order, kind=SaleEventKind.ORDER_RECORDED, amount=amount, actor=user, at=now
        )
    return order


def _status(order: Order) -> str:
    if order.paid_amount <= 0:
        return OrderStatus.AWAITING
    if order.paid_amount < order.amount:
        return OrderStatus.PARTLY_PAID
    return OrderStatus.PAID


def _require_finance(user: User) -> None:
    if not user.is_finance:
        raise PermissionDenied(_("Only finance confirms or reverses payments."))


@dataclass(frozen=True)
class Confirmation:
    payment: Payment
    became_sale: bool  # this payment made the order a confirmed sale (R8.1)
    became_owner: bool  # R5.3: the order's salesperson became the owner
    tier_change: TierChange | None


def payment_check(*, order: Order, amount: Decimal, received_on: date, today: date) -> None:
    """The payment may be confirmed on the order as it stands: received in the past, not paid in
    full, no overpayment. Also shown on the confirmation step, before finance saves."""
    _check_day(received_on, today=today, what=_("date received"))
    outstanding = order.outstanding
    if outstanding <= 0:
        raise DomainError(_("Order #%(id)s is already paid in full.") % {"id": order.pk})
    if amount > outstanding:
        raise DomainError(
            _(
                "%(amount)s is more than the %(outstanding)s still due on order #%(id)s: overpayment is "
                "not accepted. Confirm at most the amount due."
            )
            % {"amount": money(amount), "outstanding": money(outstanding), "id": order.pk}
        )


def payment_confirm(
    *, order: Order, user: User, amount: Decimal, received_on: date, now: datetime | None = None
) -> Confirmation:
    """R8.1: finance confirms a payment received against an order (partial payments allowed,
    overpayment refused). The first confirmed payment makes the order a confirmed sale today:
    ownership follows in the same transaction (R5.3 / R5.4), then the tier (R2.1)."""
    now = now or timezone.now()
    today = local_today(now)
    _require_finance(user)
    amount = clean_amount(amount)
    with transaction.atomic():
        # The customer first, as the nightly release and ownership services lock it: a
        # confirmation and a release of the same customer never interleave.
        customer = Customer.objects.select_for_update(no_key=True).get(pk=order.customer_id)
        current = (
            Order.objects.select_for_update(no_key=True, of=("self",)).select_related("salesperson").get(pk=order.pk)
        )
        payment_check(order=current, amount=amount, received_on=received_on, today=today)
        payment = Payment.objects.create(
            order=current, amount=amount, received_on=received_on, confirmed_by=user, confirmed_at=now
        )
        became_sale = current.confirmed_on is None
        current.paid_amount += amount
        current.status = _status(current)
        if became_sale:
            current.confirmed_on = today
        current.save(update_fields=["paid_amount", "status", "confirmed_on"])
        SaleEvent.objects.create(
            customer=customer,
            order=current,
            payment=payment,
            kind=SaleEventKind.PAYMENT_CONFIRMED,
            amount=amount,
            actor=user,
            at=now,
        )
        became_owner = False
        if became_sale:
            SaleEvent.objects.create(
                customer=customer,
                order=current,
                kind=SaleEventKind.SALE_CONFIRMED,
                amount=current.amount,
                actor=user,
                at=now,
            )
            outcome = customer_record_sale(customer=customer, salesperson=current.salesperson, sale_date=today, now=now)
            became_owner = outcome.became_owner
            if became_owner:
                SaleEvent.objects.create(
                    customer=customer,
                    order=current,
                    kind=SaleEventKind.FIRST_ORDER,
                    actor=user,
                    at=now,
                    note=str(current.salesperson),
                )
        change = customer_recompute_tier(customer=customer, cause=TierCause.PAYMENT_CONFIRMED, now=now)
        notify(
            recipient=current.salesperson,
            kind="payment",
            text=_("Finance confirmed %(amount)s received on order #%(id)s of %(name)s.")
            % {"amount": money(amount), "id": current.pk, "name": customer.name},
            url=reverse("sales:order_detail", args=[current.pk]),
            now=now,
            email=False,
        )
    return Confirmation(payment=payment, became_sale=became_sale, became_owner=became_owner, tier_change=change)


def payment_reverse(*, payment: Payment, user: User, reason: str, now: datetime | None = None) -> Payment:
    """R8.2: finance reverses a confirmation with a reason. The payment row stays, marked
    reversed. An order left without confirmed payments is no longer a confirmed sale: the
    customer's remaining confirmed sales are handed to the ownership service, which undoes what a
    reversed first sale did to the ownership (R5.3, docs/decisions.md) and moves the clock, then
    the tier follows."""
    now = now or timezone.now()
    _require_finance(user)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Write why the confirmation is reversed."))
    with transaction.atomic():
        order_id = payment.order_id
        customer_id = Order.objects.values_list("customer_id", flat=True).get(pk=order_id)
        customer = Customer.objects.select_for_update(no_key=True).get(pk=customer_id)
        order = (
            Order.objects.select_for_update(no_key=True, of=("self",)).select_related("salesperson").get(pk=order_id)
        )
        current = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        if current.reversed_at is not None:
            raise DomainError(_("This payment confirmation has already been reversed."))
        current.reversed_at, current.reversed_by, current.reverse_reason = now, user, reason
        current.save(update_fields=["reversed_at", "reversed_by", "reverse_reason"])
        SaleEvent.objects.create(
            customer=customer,
            order=order,
            payment=current,
            kind=SaleEventKind.PAYMENT_REVERSED,
            amount=current.amount,
            actor=user,
            note=reason,
            at=now,
        )
        remaining = list(
            Payment.objects.filter(order=order, reversed_at__isnull=True).values_list("confirmed_at", flat=True)
        )
        old_sale_date = order.confirmed_on
        order.paid_amount -= current.amount
        order.status = _status(order)
        order.confirmed_on = min(local_today(at) for at in remaining) if remaining else None
        order.save(update_fields=["paid_amount", "status", "confirmed_on"])
        if order.confirmed_on != old_sale_date:
            if order.confirmed_on is None:
                SaleEvent.objects.create(
                    customer=customer,
                    order=order,
                    kind=SaleEventKind.SALE_REVERSED,
                    amount=order.amount,
                    actor=user,
                    note=reason,
                    at=now,
                )
            sales_left = [
                ConfirmedSale(sale_date=o.confirmed_on, salesperson=o.salesperson, ref=o.pk)
                for o in Order.objects.filter(customer=customer, confirmed_on__isnull=False)
                .select_related("salesperson")
                .order_by("confirmed_on", "pk")
                if o.confirmed_on is not None
            ]
            assert old_sale_date is not None  # the order was a confirmed sale
            outcome = customer_reverse_sale(
                customer=customer,
                salesperson=order.salesperson,
                sale_date=old_sale_date,
                remaining=sales_left,
                actor=user,
                reason=reason,
                now=now,
            )
            if outcome.undone and order.confirmed_on is None:
                SaleEvent.objects.create(
                    customer=customer,
                    order=order,
                    kind=SaleEventKind.FIRST_SALE_REVERSED,
                    actor=user,
                    at=now,
                    note=outcome.summary,
                )
            first = outcome.first_order
            if first is not None and first.ref is not None and first.ref != order.pk:
                SaleEvent.objects.create(
                    customer=customer,
                    order_id=first.ref,
                    kind=SaleEventKind.FIRST_ORDER,
                    actor=user,
                    at=now,
                    note=str(first.salesperson),
                )
        customer_recompute_tier(customer=customer, cause=TierCause.PAYMENT_REVERSED, now=now)
        notify(
            recipient=order.salesperson,
            kind="payment",
            text=_("Finance reversed %(amount)s on order #%(id)s of %(name)s: %(reason)s")
            % {"amount": money(current.amount), "id": order.pk, "name": customer.name, "reason": reason},
            url=reverse("sales:order_detail", args=[order.pk]),
            now=now,
        )
    return current


# --- Commission holds (R8.3, R7) ------------------------------------------------------------


def _require_manager_of(user: User, salesperson: User) -> None:
    if user.is_admin_role:
        return
    if user.is_manager and user.department_id and user.department_id == salesperson.department_id:
        return
    raise PermissionDenied(_("Only a manager of this salesperson's department may do this."))


def commission_hold_set(
    *,
    salesperson: User,
    user: User,
    reason: str,
    source: str = HoldSource.MANAGER,
    now: datetime | None = None,
) -> CommissionHold:
    """Hold a salesperson's commission: set by a manager with a reason, or by a handover (R7.1)
    on behalf of the manager who runs it."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Write why the commission is held."))
    if source not in HoldSource.values:
        raise DomainError(_("Unknown source of a hold."))
    _require_manager_of(user, salesperson)
    with transaction.atomic():
        target = User.objects.select_for_update(no_key=True).get(pk=salesperson.pk)
        if not target.is_salesperson:
            raise DomainError(_("Only a salesperson's commission can be held."))
        if (
            source == HoldSource.MANAGER
            and CommissionHold.objects.filter(
                salesperson=target, source=HoldSource.MANAGER, released_at__isnull=True
            ).exists()
        ):
            raise DomainError(_("%(user)s's commission is already on hold by a manager.") % {"user": target})
        hold = CommissionHold.objects.create(salesperson=target, source=source, reason=reason, set_by=user, set_at=now)
    return hold


def commission_hold_release(
    *, hold: CommissionHold, user: User, note: str = "", by_handover: bool = False, now: datetime | None = None
) -> CommissionHold:
    """A manager releases a hold; a handover's hold (R7.1) is released only by its handover, when
    it is complete or cancelled (`by_handover`)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            CommissionHold.objects.select_for_update(no_key=True, of=("self",))
            .select_related("salesperson")
            .get(pk=hold.pk)
        )
        _require_manager_of(user, current.salesperson)
        if current.released_at is not None:
            raise DomainError(_("This hold has already been released."))
        if current.source == HoldSource.HANDOVER and not by_handover:
            raise DomainError(_("This hold ends when its handover is complete or cancelled."))
        # PostgreSQL stores no NUL character: the note is free text from a form.
        note = (note or "").replace("\x00", "").strip()[:2000]
        current.released_at, current.released_by, current.release_note = now, user, note
        current.save(update_fields=["released_at", "released_by", "release_note"])
    return current


def commission_for(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)
