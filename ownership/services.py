"""Every change of who owns a customer (R5, R7.3). Each public service is one transaction that
locks what it changes, checks its precondition, writes, and appends one history row.

Only this module writes the ownership columns of customers.Customer.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from crm.dates import add_months, local_today, start_of_local_day
from crm.errors import DomainError, PermissionDenied
from customers.models import Basis, CreditStatus, Customer, ReleaseReason
from customers.services import customer_create, customer_set_credit_status, duplicate_keys_lock
from customers.services import customers_import_lock as _customers_import_lock
from notifications.services import Message, notify, notify_many

from .models import Action, MissingReleaseNote, OwnershipEvent, PoolSettings, ReleaseNote, Rule
from .selectors import cooloff, may_own_by_first_order, problem_flag_is_bad_credit_only


class AlreadyTaken(DomainError):
    """Someone else claimed the customer first (R5.7)."""


class ClaimRefused(DomainError):
    """A limit of R5.8 refuses the claim."""


def pool_settings_for(department_id: int) -> PoolSettings:
    obj, _created = PoolSettings.objects.get_or_create(department_id=department_id)
    return obj


def compute_deadline(*, owned_since: date, sold_in_ownership: bool, last_sale_on: date | None) -> date:
    """R5.2 / R5.4: the last day the owner keeps the customer without (another) sale.

    A sale during this ownership starts the 3-month rule. Before one, the owner has 2 months
    from the day it became owner, unless the customer's last confirmed sale (under any owner)
    plus 3 months falls later: an active buyer keeps its 3-month rhythm.
    """
    if sold_in_ownership and last_sale_on:
        return add_months(last_sale_on, PoolSettings.NO_SALE_MONTHS)
    deadline = add_months(owned_since, PoolSettings.DEAL_MONTHS)
    if last_sale_on:
        deadline = max(deadline, add_months(last_sale_on, PoolSettings.NO_SALE_MONTHS))
    return deadline


def claims_today(*, user: User, now: datetime | None = None) -> int:
    since = start_of_local_day(local_today(now))
    return OwnershipEvent.objects.filter(actor=user, action=Action.CLAIMED, at__gte=since).count()


def unsold_count(*, user: User) -> int:
    return Customer.objects.filter(owner=user, sold_in_ownership=False).count()


def unsold_limit(*, user: User, settings: PoolSettings) -> int:
    return settings.max_unsold_probation if user.is_probation else settings.max_unsold


def _take(customer: Customer, *, user: User, basis: str, today: date, introduced_by: str = "") -> int:
    """Make `user` the owner if the customer is still ownerless. The WHERE owner IS NULL is the
    guard of R5.7: of simultaneous claimants exactly one UPDATE matches."""
    # R7: a customer held by an open handover is never taken (handover_ref IS NULL).
    return Customer.objects.filter(pk=customer.pk, owner__isnull=True, handover_ref__isnull=True).update(
        owner=user,
        owner_basis=basis,
        owned_since=today,
        deadline=compute_deadline(owned_since=today, sold_in_ownership=False, last_sale_on=customer.last_sale_on),
        sold_in_ownership=False,
        deadline_extended=False,
        warned_for_deadline=None,
        introduced_by=introduced_by,
        updated_at=timezone.now(),
    )


def _event(customer: Customer, **fields: Any) -> OwnershipEvent:
    return OwnershipEvent.objects.create(customer=customer, **fields)


def _lock_customer(customer: Customer | int) -> Customer:
    pk = customer if isinstance(customer, int) else customer.pk
    return Customer.objects.select_for_update(no_key=True).get(pk=pk)


def _refuse_in_handover(customer: Customer) -> None:
    """R7: while an open handover holds a customer, only the handover moves it."""
    if customer.handover_ref is not None:
        raise DomainError(
            _("%(name)s is in a handover: it changes hands only through that handover (or after it is cancelled).")
            % {"name": customer.name}
        )


def _advisory_lock(key: str) -> None:
    """Serialise work on one key across connections (PostgreSQL); SQLite serialises writes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


# --- R5.1 first inquiry -----------------------------------------------------------------------


def customer_register(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    user: User,
    now: datetime | None = None,
    confirmed_similar: bool = False,
) -> Customer:
    """R5.1: the salesperson who first receives a new customer registers it and owns it
    (basis first inquiry, since today). A manager or admin registers it into the pool. A name
    that is possibly an existing company written another way (深圳市X / 深圳X) raises
    SimilarCustomers until the user confirms it is another company (confirmed_similar)."""
    now = now or timezone.now()
    today = local_today(now)
    if not user.department_id:
        raise PermissionDenied(_("Only members of a sales department register customers."))
    if not (user.is_salesperson or user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("Your role does not register customers."))
    with transaction.atomic():
        # Two people registering the same company (same name, credit code or contact phone) at
        # the same moment: one waits for the other, then finds the duplicate.
        duplicate_keys_lock(
            name=data.get("name", ""),
            credit_code=data.get("credit_code"),
            phones=[c.get("phone") or "" for c in contacts],
        )
        customer = customer_create(
            data=data,
            contacts=contacts,
            department_id=user.department_id,
            created_by=user,
            check_similar=not confirmed_similar,
        )
        if user.is_salesperson:
            # R5.8 "owns at most N customers without a confirmed sale" holds for first inquiries
            # too (a directory registered row by row is hoarding as much as claims are). Checked
            # after the duplicate check, so a duplicate is named first; the refusal rolls back.
            User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
            limit = unsold_limit(user=user, settings=pool_settings_for(user.department_id))
            if unsold_count(user=user) >= limit:
                raise ClaimRefused(
                    _(
                        "You own %(n)d customers without a confirmed sale, the limit: close a deal or "
                        "release a customer before registering another, or ask your manager to register it "
                        "into the pool."
                    )
                    % {"n": limit}
                )
            _take(customer, user=user, basis=Basis.FIRST_INQUIRY, today=today)
            customer.refresh_from_db()
            _event(
                customer,
                action=Action.REGISTERED,
                to_owner=user,
                basis=Basis.FIRST_INQUIRY,
                actor=user,
                deadline=customer.deadline,
                at=now,
            )
        else:
            Customer.objects.filter(pk=customer.pk).update(released_at=now, release_reason=ReleaseReason.REGISTERED)
            customer.refresh_from_db()
            _event(customer, action=Action.REGISTERED, reason=ReleaseReason.REGISTERED, actor=user, at=now)
    return customer


# --- R5.7 / R5.8 claims -----------------------------------------------------------------------


def customer_claim(*, customer: Customer, user: User, now: datetime | None = None) -> Customer:
    """R5.7: claim a pool customer. Atomic: of simultaneous claimants exactly one wins and the
    others get AlreadyTaken. R5.8's limits and cool-off are checked under the claimer's lock."""
    now = now or timezone.now()
    today = local_today(now)
    if not user.is_salesperson:
        raise PermissionDenied(_("Only salespeople claim customers from the pool."))
    with transaction.atomic():
        # A customer someone owns is refused at once, without waiting for whoever holds it.
        _refuse_claim_of(Customer.objects.select_related("owner").get(pk=customer.pk), user)
        # Then the customer's lock, then the claimer's (docs/decisions.md, "Lock order"). Locked, the
        # customer's sales are read as they are, so the new deadline cannot be computed from a sale
        # a reversal or confirmation is changing at this moment.
        current = (
            Customer.objects.select_for_update(no_key=True, of=("self",)).select_related("owner").get(pk=customer.pk)
        )
        _refuse_claim_of(current, user)
        # One claimer's claims run one at a time, so two tabs cannot both pass the caps.
        User.objects.select_for_update(no_key=True).only("pk").get(pk=user.pk)
        settings = pool_settings_for(current.department_id)
        waits = cooloff(customer=current, user=user, settings=settings)
        if waits and today < waits[1]:
            raise ClaimRefused(
                _("You lost or released %(name)s on %(released)s; you may claim it again from %(date)s.")
                % {"name": current.name, "released": waits[0], "date": waits[1]}
            )
        if claims_today(user=user, now=now) >= settings.daily_claim_cap:
            raise ClaimRefused(
                _("You have claimed %(n)d customers today, the daily limit. Try again tomorrow.")
                % {"n": settings.daily_claim_cap}
            )
        limit = unsold_limit(user=user, settings=settings)
        if unsold_count(user=user) >= limit:
            raise ClaimRefused(
                _(
                    "You own %(n)d customers without a confirmed sale, the limit. Close a deal or "
                    "release a customer first."
                )
                % {"n": limit}
            )
        if not _take(current, user=user, basis=Basis.CLAIMED, today=today):
            raise AlreadyTaken(_("%(name)s has just been claimed by someone else.") % {"name": current.name})
        current.refresh_from_db()
        _event(
            current,
            action=Action.CLAIMED,
            from_owner=None,
            to_owner=user,
            basis=Basis.CLAIMED,
            reason=current.release_reason,
            actor=user,
            deadline=current.deadline,
            at=now,
        )
    return current


def _refuse_claim_of(customer: Customer, user: User) -> None:
    if customer.department_id != user.department_id:
        raise PermissionDenied(_("This customer belongs to another department's pool."))
    if customer.owner_id is not None:
        if customer.owner_id == user.pk:
            raise AlreadyTaken(_("You already own %(name)s.") % {"name": customer.name})
        raise AlreadyTaken(_("%(name)s has just been claimed by someone else.") % {"name": customer.name})


# --- Releases -------------------------------------------------------------------------------


def _release(customer: Customer, *, reason: str, now: datetime, **extra: Any) -> None:
    Customer.objects.filter(pk=customer.pk).update(
        owner=None,
        owner_basis="",
        owned_since=None,
        deadline=None,
        sold_in_ownership=False,
        deadline_extended=False,
        warned_for_deadline=None,
        introduced_by="",
        released_at=now,
        release_reason=reason,
        released_from=customer.owner_id,
        next_follow_up_on=None,  # the previous owner's plan, not the next claimer's
        updated_at=now,
        **extra,
    )


def current_release_note(customer: Customer) -> ReleaseNote | None:
    if customer.owner_id is None or customer.owned_since is None:
        return None
    return ReleaseNote.objects.filter(
        customer=customer, author_id=customer.owner_id, ownership_started=customer.owned_since
    ).first()


def customer_release(*, customer: Customer, user: User, now: datetime | None = None) -> Customer:
    """The owner hands a customer back to the pool. It must write the release note first (R7.3)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_customer(customer)
        if current.owner_id != user.pk:
            raise PermissionDenied(_("Only the owner releases a customer."))
        _refuse_in_handover(current)  # R7: the handover sends it to the pool if it should go there
        note = current_release_note(current)
        if note is None:
            raise DomainError(_("Write the release note (situation, contacts, how far communication went) first."))
        _release(current, reason=ReleaseReason.VOLUNTARY, now=now)
        _event(
            current,
            action=Action.RELEASED,
            from_owner=user,
            reason=ReleaseReason.VOLUNTARY,
            actor=user,
            deadline=current.deadline,
            release_note=note,
            at=now,
        )
        current.refresh_from_db()
    return current


def release_note_write(
    *,
    customer: Customer,
    user: User,
    situation: str,
    contact_details: str,
    communication_level: str,
    now: datetime | None = None,
) -> ReleaseNote:
    """R7.3: the owner writes (or rewrites) the note for its current ownership before release;
    a former owner whose customer was released without one writes it late, closing the item."""
    now = now or timezone.now()
    fields = {
        "situation": situation.strip(),
        "contact_details": contact_details.strip(),
        "communication_level": communication_level.strip(),
    }
    if not all(fields.values()):
        raise DomainError(_("All three parts of the release note are needed."))
    with transaction.atomic():
        current = _lock_customer(customer)
        if current.owner_id == user.pk and current.owned_since:
            note, _created = ReleaseNote.objects.update_or_create(
                customer=current,
                author=user,
                ownership_started=current.owned_since,
                defaults={**fields, "written_at": now, "late": False},
            )
            return note
        item = (
            MissingReleaseNote.objects.select_for_update(no_key=True)
            .filter(customer=current, former_owner=user, note__isnull=True)
            .order_by("-released_at")
            .first()
        )
        if item is None:
            raise PermissionDenied(
                _("Only the owner, or a former owner asked for a missing note, writes a release note.")
            )
        # A note of that ownership may exist already: written while the nightly job was releasing
        # the customer, it was not seen by the release (R7.3). The late words then complete it.
        note, created = ReleaseNote.objects.get_or_create(
            customer=current,
            author=user,
            ownership_started=item.ownership_started,
            defaults={**fields, "written_at": now, "late": True},
        )
        if not created:
            for name, value in fields.items():
                setattr(note, name, value)
            note.written_at = now
            note.save(update_fields=[*fields, "written_at"])
        item.note = note
        item.save(update_fields=["note"])
        return note


def missing_note_demand(*, item: MissingReleaseNote, manager: User, now: datetime | None = None) -> MissingReleaseNote:
    """R7.3: a manager requires the missing note; the former owner is notified."""
    now = now or timezone.now()
    with transaction.atomic():
        item = (
            MissingReleaseNote.objects.select_for_update(no_key=True, of=("self",))
            .select_related("customer")
            .get(pk=item.pk)
        )
        _require_manager_of(manager, item.customer)
        if item.note_id:
            raise DomainError(_("This release note has already been written."))
        item.demanded_at = now
        item.demanded_by = manager
        item.save(update_fields=["demanded_at", "demanded_by"])
        notify(
            recipient=item.former_owner,
            kind="note_demanded",
            text=_("%(manager)s asks for your release note on %(name)s.")
            % {"manager": manager, "name": item.customer.name},
            url=reverse("ownership:missing_notes"),
            now=now,
        )
    return item


# --- Manager actions --------------------------------------------------------------------------


def _require_manager_of(user: User, customer: Customer) -> None:
    if user.is_admin_role:
        return
    if user.is_manager and user.department_id == customer.department_id:
        return
    raise PermissionDenied(_("Only a manager of this customer's department may do this."))


def customer_assign(
    *,
    customer: Customer,
    manager: User,
    to_user: User,
    relationship: bool = True,
    introduced_by: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Customer:
    """R5.6: a manager hands a pool customer to a salesperson, as a relationship customer (with
    who introduced it) or as a plain assignment. The 2-month rule (R5.2) then runs."""
    now = now or timezone.now()
    today = local_today(now)
    with transaction.atomic():
        current = _lock_customer(customer)
        _require_manager_of(manager, current)
        if not (to_user.is_active and to_user.is_salesperson and to_user.department_id == current.department_id):
            raise DomainError(_("Assign only to an active salesperson of the customer's department."))
        _refuse_in_handover(current)  # R7: not re-assignable elsewhere while a handover holds it
        if current.owner_id is not None:
            raise AlreadyTaken(
                _("%(name)s is owned by %(owner)s; use a handover to move it.")
                % {"name": current.name, "owner": current.owner}
            )
        if relationship and not introduced_by.strip():
            raise DomainError(_("Say who introduced this relationship customer."))
        basis = Basis.RELATIONSHIP if relationship else Basis.ASSIGNED
        if not _take(current, user=to_user, basis=basis, today=today, introduced_by=introduced_by.strip()):
            raise AlreadyTaken(_("%(name)s has just been claimed by someone else.") % {"name": current.name})
        current.refresh_from_db()
        _event(
            current,
            action=Action.RELATIONSHIP if relationship else Action.ASSIGNED,
            to_owner=to_user,
            basis=basis,
            actor=manager,
            deadline=current.deadline,
            note="\n".join(
                s
                for s in [
                    introduced_by.strip() and _("Introduced by %(who)s") % {"who": introduced_by.strip()},
                    note.strip(),
                ]
                if s
            ),
            at=now,
        )
        notify(
            recipient=to_user,
            kind="assigned",
            text=_("%(manager)s assigned %(name)s to you; close a deal by %(deadline)s.")
            % {"manager": manager, "name": current.name, "deadline": current.deadline},
            url=reverse("customers:detail", args=[current.pk]),
            now=now,
        )
    return current


def customer_mark_problem(*, customer: Customer, user: User, reason: str, now: datetime | None = None) -> Customer:
    """R5.5: a manager (or finance, for payment credit) marks a problem customer; it returns to the
    pool at once, flagged, with the reason written."""
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Write why this is a problem customer."))
    with transaction.atomic():
        current = _lock_customer(customer)
        if not user.is_finance:
            _require_manager_of(user, current)
        if current.is_problem:
            raise DomainError(_("%(name)s is already marked as a problem customer.") % {"name": current.name})
        _refuse_in_handover(current)  # R7: the handover sends it to the pool, or is cancelled first
        _mark_problem(current, user=user, reason=reason, now=now)
        current.refresh_from_db()
    return current


def _mark_problem(current: Customer, *, user: User, reason: str, now: datetime, rule: str = "") -> None:
    """R5.5 on a locked customer: an owned customer returns to the pool at once, flagged, with the
    reason written (added to the reason it is flagged for already); a pool customer is flagged."""
    former = current.owner
    problem_reason = f"{current.problem_reason}\n{reason}" if current.is_problem and current.problem_reason else reason
    if former is not None and current.handover_ref is not None:
        # R7: an open handover holds it; only the handover moves it (bad credit arrives by this
        # way only). Flagged now; the managers running the handover send it to the pool.
        Customer.objects.filter(pk=current.pk).update(is_problem=True, problem_reason=problem_reason, updated_at=now)
        _event(
            current,
            action=Action.PROBLEM,
            from_owner=former,
            to_owner=former,
            reason=ReleaseReason.PROBLEM,
            actor=user,
            rule=rule,
            note=reason,
            at=now,
        )
        _tell_managers(
            current,
            kind="problem_in_handover",
            text=_("%(name)s is now a problem customer (%(reason)s) but is in a handover: send it to the pool there.")
            % {"name": current.name, "reason": reason},
            now=now,
        )
        return
    if former is not None:
        _release(current, reason=ReleaseReason.PROBLEM, now=now, is_problem=True, problem_reason=problem_reason)
    else:
        Customer.objects.filter(pk=current.pk).update(is_problem=True, problem_reason=problem_reason, updated_at=now)
    _event(
        current,
        action=Action.PROBLEM,
        from_owner=former,
        reason=ReleaseReason.PROBLEM,
        actor=user,
        rule=rule,
        note=reason,
        at=now,
    )
    if former is not None:
        notify(
            recipient=former,
            kind="released",
            text=_("%(name)s was marked as a problem customer and returned to the pool: %(reason)s")
            % {"name": current.name, "reason": reason},
            now=now,
        )


def _tell_managers(customer: Customer, *, kind: str, text: str, now: datetime) -> None:
    managers = (
        User.objects.filter(is_active=True, department_id=customer.department_id, groups__name=roles.MANAGER)
        .values_list("pk", flat=True)
        .distinct()
    )
    url = reverse("customers:detail", args=[customer.pk])
    notify_many(messages=[Message(pk, kind, text, url) for pk in managers], now=now)


def customer_set_payment_credit(
    *, customer: Customer, user: User, status: str, note: str, now: datetime | None = None
) -> Customer:
    """R4.3 with R2.3 and R5.5, in one transaction: the customers app records the new payment
    credit; bad credit makes a problem customer, which returns to the pool at once, flagged, with
    the reason written (R5.5's second way in: finance, or a manager, for payment credit). Credit
    that recovers from bad lifts the flag when bad credit was all it stood for; a flag a manager
    raised for another reason stays (docs/decisions.md)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_customer(customer)
        was = current.credit_status
        customer_set_credit_status(customer=current, user=user, status=status, note=note, now=now)
        note = note.strip()
        if status == CreditStatus.BAD:
            _mark_problem(
                current, user=user, reason=_("Bad payment credit: %(note)s") % {"note": note}, now=now, rule=Rule.R2_3
            )
        elif was == CreditStatus.BAD and problem_flag_is_bad_credit_only(current):
            Customer.objects.filter(pk=current.pk).update(is_problem=False, problem_reason="", updated_at=now)
            _event(
                current,
                action=Action.PROBLEM_CLEARED,
                actor=user,
                rule=Rule.R2_3,
                note=_("Payment credit %(status)s: %(note)s") % {"status": CreditStatus(status).label, "note": note},
                at=now,
            )
        current.refresh_from_db()
    return current


def customer_clear_problem(*, customer: Customer, user: User, reason: str, now: datetime | None = None) -> Customer:
    now = now or timezone.now()
    if not reason.strip():
        raise DomainError(_("Write why the problem is resolved."))
    with transaction.atomic():
        current = _lock_customer(customer)
        if not user.is_finance:
            _require_manager_of(user, current)
        if not current.is_problem:
            raise DomainError(_("%(name)s is not marked as a problem customer.") % {"name": current.name})
        if current.credit_status == CreditStatus.BAD:
            # R2.3: bad payment credit is a problem customer; the credit changes first.
            raise DomainError(
                _("The payment credit of %(name)s is bad: change the credit status first.") % {"name": current.name}
            )
        Customer.objects.filter(pk=current.pk).update(is_problem=False, problem_reason="", updated_at=now)
        _event(current, action=Action.PROBLEM_CLEARED, actor=user, note=reason.strip(), at=now)
        current.refresh_from_db()
    return current


def customer_extend_deadline(
    *, customer: Customer, manager: User, new_deadline: date, reason: str, now: datetime | None = None
) -> Customer:
    """R5.11: once per ownership, by at most one month, with a reason kept in history."""
    now = now or timezone.now()
    if not reason.strip():
        raise DomainError(_("Write why the deadline is extended."))
    with transaction.atomic():
        current = _lock_customer(customer)
        _require_manager_of(manager, current)
        if current.owner_id is None or current.deadline is None:
            raise DomainError(_("Only an owned customer has a deadline to extend."))
        _refuse_in_handover(current)  # R7: the receiver gets a new deadline at completion
        if current.deadline_extended:
            raise DomainError(_("This customer's deadline has already been extended once during this ownership."))
        latest = add_months(current.deadline, PoolSettings.MAX_EXTENSION_MONTHS)
        if not (current.deadline < new_deadline <= latest):
            raise DomainError(
                _("The new deadline must be after %(old)s and no later than %(latest)s (one month at most).")
                % {"old": current.deadline, "latest": latest}
            )
        old = current.deadline
        Customer.objects.filter(pk=current.pk).update(
            deadline=new_deadline, deadline_extended=True, warned_for_deadline=None, updated_at=now
        )
        _event(
            current,
            action=Action.EXTENDED,
            from_owner=current.owner,
            to_owner=current.owner,
            basis=current.owner_basis,
            actor=manager,
            deadline=new_deadline,
            note=_("Deadline %(old)s → %(new)s: %(reason)s")
            % {"old": old, "new": new_deadline, "reason": reason.strip()},
            at=now,
        )
        current.refresh_from_db()
    return current


def pool_settings_update(*, settings: PoolSettings, user: User, data: dict[str, Any]) -> PoolSettings:
    if not (user.is_admin_role or (user.is_manager and user.department_id == settings.department_id)):
        raise PermissionDenied(_("Only a manager of this department or an admin changes its rules."))
    with transaction.atomic():
        obj = PoolSettings.objects.select_for_update(no_key=True).get(pk=settings.pk)
        for field in (
            "max_unsold",
            "max_unsold_probation",
            "daily_claim_cap",
            "reclaim_cooloff_days",
            "warning_days",
            "mask_pool_contacts",
        ):
            if field in data:
                setattr(obj, field, data[field])
        if obj.max_unsold_probation > obj.max_unsold:
            raise DomainError(_("Probation staff cannot have a higher limit than other salespeople."))
        obj.updated_by = user
        obj.save()
    return obj


# --- Sales move the clocks (called by the sales app) -----------------------------------------


@dataclass(frozen=True)
class SaleOutcome:
    became_owner: bool  # R5.3 made the order's salesperson the owner


def customer_record_sale(
    *, customer: Customer, salesperson: User, sale_date: date, now: datetime | None = None
) -> SaleOutcome:
    """An order of `customer` became a confirmed sale on `sale_date` (finance confirmed its
    first payment, R8.1).

    The customer's first confirmed sale ever makes the order's salesperson the owner on basis
    first order, whoever held it (R5.3), and starts the 3-month clock. Later sales move the clock
    (R5.4), never the owner. Both lock the customer row, so the nightly release and a
    confirmation never interleave: a customer is never released with a confirmed first order.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_customer(customer)
        first_ever = current.last_sale_on is None
        if first_ever:
            # R7: while a handover holds the customer, R5.3 does not take it from its owner for
            # someone else (the handover decides who gets it); the sale counts for the clock.
            held = current.handover_ref is not None and salesperson.pk != current.owner_id
            if not held and _active_under_lock(salesperson) and may_own_by_first_order(salesperson, current):
                return SaleOutcome(
                    customer_first_order(customer=current, salesperson=salesperson, sale_date=sale_date, now=now)
                )
            # The order's salesperson has left (or moved): R5.3 cannot give the customer to an
            # account nobody uses. The sale still counts for the clock; the managers decide.
            _tell_managers_first_order_unowned(current, salesperson, now, in_handover=held)
        last = max(current.last_sale_on or sale_date, sale_date)
        update: dict[str, Any] = {"last_sale_on": last, "updated_at": now}
        if current.owner_id is not None:
            deadline = compute_deadline(
                owned_since=current.owned_since or sale_date, sold_in_ownership=True, last_sale_on=last
            )
            update.update(sold_in_ownership=True, deadline=max(deadline, current.deadline or deadline))
            if update["deadline"] != current.deadline:
                update["warned_for_deadline"] = None
        Customer.objects.filter(pk=current.pk).update(**update)
        return SaleOutcome(False)


def _active_under_lock(user: User) -> bool:
    # R7.1: is_active read under a FOR NO KEY UPDATE lock (taken after the customer's, never
    # plainly): a resignation completing at this moment is waited for, so a first order never
    # gives a customer to an account that is being deactivated.
    user.is_active = bool(
        User.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=user.pk)
        .values_list("is_active", flat=True)
        .first()
    )
    return user.is_active


def _tell_managers_first_order_unowned(
    customer: Customer, salesperson: User, now: datetime, *, in_handover: bool = False
) -> None:
    managers = User.objects.filter(
        is_active=True, department_id=customer.department_id, groups__name=roles.MANAGER
    ).distinct()
    if in_handover:
        text = _(
            "Finance confirmed the first order of %(name)s, recorded by %(who)s, while the customer is in a "
            "handover: the owner is unchanged; send it to %(who)s in the handover if it should be theirs."
        ) % {"name": customer.name, "who": salesperson}
    else:
        text = _(
            "Finance confirmed the first order of %(name)s, recorded by %(who)s, who can no longer own "
            "customers: the owner is unchanged; assign the customer if needed."
        ) % {"name": customer.name, "who": salesperson}
    url = reverse("customers:detail", args=[customer.pk])
    notify_many(messages=[Message(m.pk, "first_order_unowned", text, url) for m in managers], now=now)


def customer_first_order(
    *, customer: Customer, salesperson: User, sale_date: date, now: datetime | None = None
) -> bool:
    """R5.3: the order's salesperson becomes the owner on basis first order. Returns True when the
    owner or basis changed (one history row)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_customer(customer)
        previous = current.owner
        before = _ownership_snapshot(current)
        Customer.objects.filter(pk=current.pk).update(
            owner=salesperson,
            owner_basis=Basis.FIRST_ORDER,
            owned_since=sale_date,
            last_sale_on=sale_date,
            sold_in_ownership=True,
            deadline=compute_deadline(owned_since=sale_date, sold_in_ownership=True, last_sale_on=sale_date),
            deadline_extended=False,
            warned_for_deadline=None,
            introduced_by="" if previous != salesperson else current.introduced_by,
            updated_at=now,
        )
        current.refresh_from_db()
        _event(
            current,
            action=Action.FIRST_ORDER,
            from_owner=previous,
            to_owner=salesperson,
            basis=Basis.FIRST_ORDER,
            rule=Rule.R5_3,
            deadline=current.deadline,
            replaced_ownership=before,
            at=now,
        )
        if previous != salesperson:
            notify(
                recipient=salesperson,
                kind="assigned",
                text=_("Finance confirmed the first order of %(name)s: it is now your customer.")
                % {"name": current.name},
                url=reverse("customers:detail", args=[current.pk]),
                now=now,
            )
        return True


def customer_set_sale_clock(*, customer: Customer, last_sale_on: date | None, now: datetime | None = None) -> Customer:
    """After a reversal (R8.2) the sales app recomputes the customer's last confirmed sale and
    hands it here; the ownership clock follows from the remaining sales."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock_customer(customer)
        update: dict[str, Any] = {"last_sale_on": last_sale_on, "updated_at": now}
        if current.owner_id is not None and current.owned_since:
            sold = last_sale_on is not None and last_sale_on >= current.owned_since
            update["sold_in_ownership"] = sold
            deadline = compute_deadline(
                owned_since=current.owned_since, sold_in_ownership=sold, last_sale_on=last_sale_on
            )
            if current.deadline_extended:
                # A manager's extension during this ownership (R5.11) outlives the reversal.
                extended = (
                    OwnershipEvent.objects.filter(
                        customer=current,
                        action=Action.EXTENDED,
                        to_owner_id=current.owner_id,
                        at__gte=start_of_local_day(current.owned_since),
                    )
                    .order_by("-at")
                    .values_list("deadline", flat=True)
                    .first()
                )
                if extended is not None:
                    deadline = max(deadline, extended)
            update["deadline"] = deadline
            update["warned_for_deadline"] = None
        Customer.objects.filter(pk=current.pk).update(**update)
        current.refresh_from_db()
    return current


# --- R8.2: a reversed first sale undoes its ownership effects --------------------------------


def _ownership_snapshot(customer: Customer) -> dict[str, Any]:
    """What a first order replaces, kept on its history row (R5.9 rows are never edited)."""
    return {
        "owner": customer.owner_id,
        "basis": customer.owner_basis,
        "owned_since": customer.owned_since.isoformat() if customer.owned_since else None,
        "deadline": customer.deadline.isoformat() if customer.deadline else None,
        "deadline_extended": customer.deadline_extended,
        "introduced_by": customer.introduced_by,
    }


# The history rows that start an ownership (R5.9), for first orders written without a snapshot.
_STARTS = (
    Action.REGISTERED,
    Action.CLAIMED,
    Action.ASSIGNED,
    Action.RELATIONSHIP,
    Action.FIRST_ORDER,
    Action.SALE_REVERSED,
)


def _ownership_before_first_order(customer: Customer) -> dict[str, Any] | None:
    """The ownership the current first-order ownership replaced: the snapshot on the history row
    that started it, or, for a row written before snapshots were kept, what the history says (the
    previous owner and the row that started its ownership). None when nothing is known."""
    started = (
        OwnershipEvent.objects.filter(customer=customer, to_owner_id=customer.owner_id, basis=Basis.FIRST_ORDER)
        .filter(action__in=[Action.FIRST_ORDER, Action.SALE_REVERSED])
        .order_by("-id")
        .first()
    )
    if started is None:
        return None
    if started.replaced_ownership is not None:
        return started.replaced_ownership
    if started.from_owner_id is None:
        return {"owner": None}
    start = (
        OwnershipEvent.objects.filter(
            customer=customer, to_owner_id=started.from_owner_id, action__in=_STARTS, id__lt=started.pk
        )
        .order_by("-id")
        .first()
    )
    if start is None:
        return None
    return {
        "owner": start.to_owner_id,
        "basis": start.basis,
        "owned_since": local_today(start.at).isoformat(),
        "deadline": start.deadline.isoformat() if start.deadline else None,
        "deadline_extended": False,
        "introduced_by": customer.introduced_by if start.to_owner_id == customer.owner_id else "",
    }


def _extended_deadline(customer: Customer, owner_id: int, since: date) -> date | None:
    """The latest deadline a manager granted `owner_id` on this customer since `since` (R5.11)."""
    return (
        OwnershipEvent.objects.filter(
            customer=customer, action=Action.EXTENDED, to_owner_id=owner_id, at__gte=start_of_local_day(since)
        )
        .order_by("-id")
        .values_list("deadline", flat=True)
        .first()
    )


@dataclass(frozen=True)
class ConfirmedSale:
    """A confirmed sale of the customer left after a reversal (the sales app's order, by reference)."""

    sale_date: date
    salesperson: User
    ref: int | None = None


@dataclass(frozen=True)
class ReversalOutcome:
    undone: bool  # the reversed sale had made the current owner the owner on basis first order
    changed: bool  # owner, basis or ownership start changed: one SALE_REVERSED history row
    owner: User | None
    first_order: ConfirmedSale | None  # R5.3 applied again to the earliest remaining sale
    summary: str  # what became of the ownership, for the sales history


def customer_reverse_sale(
    *,
    customer: Customer,
    salesperson: User,
    sale_date: date,
    remaining: list[ConfirmedSale],
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> ReversalOutcome:
    """R8.2: finance reversed the confirmation that made `salesperson`'s order a sale on `sale_date`;
    `remaining` are the customer's confirmed sales left, earliest first.

    When that sale had made the current owner the owner on basis first order (R5.3), the ownership
    becomes what it would have been had the sale never been confirmed (docs/decisions.md): R5.3
    applies to the earliest remaining sale if there is one; otherwise the ownership the first order
    replaced comes back (the same owner on its old basis and clock; a previous owner that can still
    own it; else the pool, managers told). Any other reversal only moves the sale clock."""
    now = now or timezone.now()
    today = local_today(now)
    remaining = sorted(remaining, key=lambda s: s.sale_date)
    last = remaining[-1].sale_date if remaining else None
    with transaction.atomic():
        current = _lock_customer(customer)
        undone = (
            current.owner_id == salesperson.pk
            and current.owner_basis == Basis.FIRST_ORDER
            and current.owned_since == sale_date
        )
        before = _ownership_before_first_order(current) if undone else None
        if before is None:
            customer_set_sale_clock(customer=current, last_sale_on=last, now=now)
            return ReversalOutcome(undone, False, current.owner, None, "")
        first = remaining[0] if remaining and may_own_by_first_order(remaining[0].salesperson, current) else None
        target: dict[str, Any]
        if first is not None:
            # R5.3: the earliest remaining sale is the customer's first confirmed sale.
            extended = (
                _extended_deadline(current, salesperson.pk, sale_date)
                if first.salesperson.pk == current.owner_id
                else None
            )
            deadline = compute_deadline(owned_since=first.sale_date, sold_in_ownership=True, last_sale_on=last)
            target = {
                "owner": first.salesperson,
                "owner_basis": Basis.FIRST_ORDER,
                "owned_since": first.sale_date,
                "sold_in_ownership": True,
                "deadline": max(deadline, extended) if extended else deadline,
                "deadline_extended": extended is not None,
                "introduced_by": current.introduced_by if first.salesperson.pk == current.owner_id else "",
            }
            summary = _("The next confirmed sale (%(day)s, %(who)s) is the first order now.") % {
                "day": first.sale_date,
                "who": first.salesperson,
            }
        else:
            target, summary = _restored_ownership(current, before, last=last, today=today)
        owner = target["owner"]
        if current.handover_ref is not None and (owner is None or owner.pk != current.owner_id):
            return _reversal_in_handover(
                current, before=before, summary=summary, last=last, actor=actor, reason=reason, now=now
            )
        old = (current.owner_id, current.owner_basis, current.owned_since)
        if owner is None:
            _release(current, reason=ReleaseReason.SALE_REVERSED, now=now, last_sale_on=last)
        else:
            Customer.objects.filter(pk=current.pk).update(
                **target,
                last_sale_on=last,
                warned_for_deadline=None,
                **({} if owner.pk == current.owner_id else {"next_follow_up_on": None}),
                updated_at=now,
            )
        changed = old != ((owner.pk, target["owner_basis"], target["owned_since"]) if owner else (None, "", None))
        if changed:
            _event(
                current,
                action=Action.SALE_REVERSED,
                from_owner_id=current.owner_id,
                to_owner=owner,
                basis=target.get("owner_basis", ""),
                reason=ReleaseReason.SALE_REVERSED if owner is None else "",
                actor=actor,
                deadline=target.get("deadline"),
                note=f"{reason}\n{summary}",
                replaced_ownership=before if first is not None else None,
                at=now,
            )
            overdue = owner is not None and target["deadline"] < today
            _tell_sale_reversed(current, loser=current.owner, owner=owner, summary=summary, managers=overdue, now=now)
        return ReversalOutcome(True, changed, owner, first, summary)


def _reversal_in_handover(
    current: Customer,
    *,
    before: dict[str, Any],
    summary: str,
    last: date | None,
    actor: User,
    reason: str,
    now: datetime,
) -> ReversalOutcome:
    """R8.2 meets R7: the reversed first sale would give the customer to someone else (its previous
    owner, the salesperson of the next sale) or to the pool, but an open handover holds it and only
    the handover moves a held customer. Its holder keeps it until the handover decides, with the
    clock of the sales that remain; the history says what the reversal would have done (marked by
    reason "first order reversed" on a row that keeps the owner) and the managers are told. If the
    handover is cancelled instead, the customer returns to the pool (customers_leave_handover)."""
    holder = current.owner
    customer_set_sale_clock(customer=current, last_sale_on=last, now=now)
    current.refresh_from_db()
    held = _("%(owner)s keeps it in the handover until the handover decides. Without the handover: %(summary)s") % {
        "owner": holder,
        "summary": summary,
    }
    _event(
        current,
        action=Action.SALE_REVERSED,
        from_owner=holder,
        to_owner=holder,
        basis=current.owner_basis,
        reason=ReleaseReason.SALE_REVERSED,
        actor=actor,
        deadline=current.deadline,
        note=f"{reason}\n{held}",
        replaced_ownership=before,
        at=now,
    )
    text = _(
        "Finance reversed the first confirmed sale of %(name)s while a handover holds it. %(held)s Send it "
        "there in the handover; if the handover is cancelled, the customer returns to the pool."
    ) % {"name": current.name, "held": held}
    recipients = {holder.pk} if holder is not None else set()
    recipients |= set(
        User.objects.filter(is_active=True, department_id=current.department_id, groups__name=roles.MANAGER)
        .values_list("pk", flat=True)
        .distinct()
    )
    url = reverse("customers:detail", args=[current.pk])
    notify_many(messages=[Message(pk, "sale_reversed", text, url) for pk in sorted(recipients)], now=now)
    return ReversalOutcome(True, True, holder, None, held)


def _restored_ownership(
    customer: Customer, before: dict[str, Any], *, last: date | None, today: date
) -> tuple[dict[str, Any], str]:
    """The ownership a first order replaced, with the sale clock of the sales that remain: the same
    owner keeps the customer on its old basis and clock (the nightly job releases it if that clock
    has run out); a previous owner gets it back if it could still own it today; else the pool."""
    previous = User.objects.filter(pk=before["owner"]).first() if before.get("owner") else None
    if previous is None:
        return {"owner": None}, _("It returns to the pool, where it was before the first order.")
    since = date.fromisoformat(before["owned_since"]) if before.get("owned_since") else today
    sold = last is not None and last >= since
    deadline = compute_deadline(owned_since=since, sold_in_ownership=sold, last_sale_on=last)
    extended = _extended_deadline(customer, previous.pk, since)
    target = {
        "owner": previous,
        "owner_basis": before["basis"],
        "owned_since": since,
        "sold_in_ownership": sold,
        "deadline": max(deadline, extended) if extended else deadline,
        "deadline_extended": bool(before.get("deadline_extended")) or extended is not None,
        "introduced_by": before.get("introduced_by", ""),
    }
    values = {
        "who": previous,
        "basis": dict(Basis.choices).get(before["basis"], before["basis"]),
        "deadline": target["deadline"],
    }
    if previous.pk == customer.owner_id:
        return target, _("%(who)s keeps it on its earlier basis (%(basis)s); deadline %(deadline)s.") % values
    settings = pool_settings_for(customer.department_id)
    # The previous owner's row is locked (after the customer's, never plainly) before its limit is
    # counted, as a claim does: a claim of the same salesperson at this moment is waited for, so
    # the two cannot both pass the limit (R5.8); a resignation completing now is waited for too.
    _active_under_lock(previous)
    if not (previous.is_active and previous.is_salesperson and previous.department_id == customer.department_id):
        why = _("the previous owner %(who)s can no longer own customers") % values
    elif target["deadline"] < today:
        why = _("the previous owner %(who)s's deadline (%(deadline)s) has passed") % values
    elif unsold_count(user=previous) >= unsold_limit(user=previous, settings=settings):
        why = _("the previous owner %(who)s is at its limit of customers without a sale") % values
    else:
        return target, _("It returns to %(who)s (%(basis)s); deadline %(deadline)s.") % values
    return {"owner": None}, _("It returns to the pool: %(why)s.") % {"why": why}


def _tell_sale_reversed(
    customer: Customer, *, loser: User | None, owner: User | None, summary: str, managers: bool, now: datetime
) -> None:
    """The one who lost the customer and the one who has it now; the department's managers too
    when nobody has it (they may assign it) or when its restored deadline has already passed (the
    next nightly run releases it)."""
    url = reverse("customers:detail", args=[customer.pk])
    text = _("Finance reversed the first confirmed sale of %(name)s. %(summary)s") % {
        "name": customer.name,
        "summary": summary,
    }
    recipients = {u.pk for u in (loser, owner) if u is not None}
    if owner is None or managers:
        recipients |= set(
            User.objects.filter(is_active=True, department_id=customer.department_id, groups__name=roles.MANAGER)
            .values_list("pk", flat=True)
            .distinct()
        )
    notify_many(messages=[Message(pk, "sale_reversed", text, url) for pk in sorted(recipients)], now=now)


def owned_unsold_q() -> Q:
    return Q(owner__isnull=False, sold_in_ownership=False)


# --- R1.2 imports into the pool ---------------------------------------------------------------


def customers_import_lock() -> None:
    """Hold the import lock until the current transaction ends (PostgreSQL; SQLite serialises
    writes anyway): an import re-checks its rows and inserts them under it, while registrations
    wait (R5.1)."""
    _customers_import_lock()


def customers_import_into_pool(
    *,
    rows: list[dict[str, Any]],
    department_id: int,
    user: User,
    now: datetime | None = None,
    batch_size: int = 1000,
) -> list[int]:
    """R1.2: put checked, new customers of an imported list into the department's pool, in bulk:
    the customers and their contacts (customers.services.customers_bulk_create), the pool columns
    (released now, reason "imported") and one history row each (registered, reason imported,
    by the importer). One transaction: all the rows or none. Returns the new customers' ids in
    the order of `rows`. The caller has checked for duplicates (R5.1); imports run one at a time
    (advisory lock) so two imports of overlapping lists cannot both add the same company."""
    from customers.services import customers_bulk_create

    now = now or timezone.now()
    if user.department_id != department_id and not user.is_admin_role:
        raise PermissionDenied(_("Import only into your own department's pool."))
    if not (user.is_salesperson or user.is_manager or user.is_admin_role):
        raise PermissionDenied(_("Your role does not import customers."))
    with transaction.atomic():
        customers_import_lock()
        customers = customers_bulk_create(
            rows=rows, department_id=department_id, created_by=user, batch_size=batch_size
        )
        ids = [c.pk for c in customers]
        for start in range(0, len(ids), batch_size):
            Customer.objects.filter(pk__in=ids[start : start + batch_size]).update(
                released_at=now, release_reason=ReleaseReason.IMPORTED
            )
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    customer_id=pk, action=Action.REGISTERED, reason=ReleaseReason.IMPORTED, actor=user, at=now
                )
                for pk in ids
            ],
            batch_size=batch_size,
        )
    return ids


# --- R7 handovers (called by the handovers app) -----------------------------------------------
#
# Lock order (docs/decisions.md, "Handovers"): customers first, many of them in ascending id
# order; then user rows, FOR NO KEY UPDATE only (a plain FOR UPDATE on a user row conflicts with
# the FOR KEY SHARE every row referring to that user takes at COMMIT).


@dataclass(frozen=True)
class HandoverMove:
    """One customer of a completed handover: to a receiving salesperson, or to the pool
    (`to_user_id` None) with the leaver's note as its release note."""

    customer_id: int
    to_user_id: int | None
    situation: str = ""
    contact_details: str = ""
    communication_level: str = ""


@dataclass
class HandOverResult:
    handed: dict[int, list[int]]  # receiver id -> customer ids
    pooled: list[int]
    deadlines: dict[int, date]  # customer id -> the receiver's deadline


def _lock_customers(ids: list[int]) -> list[Customer]:
    return list(Customer.objects.filter(pk__in=sorted(set(ids))).order_by("pk").select_for_update(no_key=True))


def _names(customers: list[Customer], limit: int = 5) -> str:
    shown = "、".join(c.name for c in customers[:limit])
    return shown + (" …" if len(customers) > limit else "")


def customers_enter_handover(
    *,
    handover_ref: int,
    from_user: User,
    manager: User,
    customer_ids: list[int] | None,
    note: str,
    now: datetime | None = None,
) -> list[Customer]:
    """R7.1 / R7.2: an open handover holds these customers of `from_user` (all of them when
    `customer_ids` is None: a resignation). Its owner keeps them until completion; meanwhile the
    nightly job skips them and nobody claims, assigns or releases them. One history row each."""
    now = now or timezone.now()
    if not (manager.is_admin_role or (manager.is_manager and manager.department_id == from_user.department_id)):
        raise PermissionDenied(_("Only a manager of this salesperson's department may do this."))
    with transaction.atomic():
        if customer_ids is None:
            locked = list(Customer.objects.filter(owner=from_user).order_by("pk").select_for_update(no_key=True))
        else:
            locked = _lock_customers(customer_ids)
            if len(locked) != len(set(customer_ids)):
                raise DomainError(_("Some of the chosen customers no longer exist."))
        not_owned = [c for c in locked if c.owner_id != from_user.pk]
        if not_owned:
            raise DomainError(_("%(who)s no longer owns %(names)s.") % {"who": from_user, "names": _names(not_owned)})
        held = [c for c in locked if c.handover_ref is not None]
        if held:
            raise DomainError(_("Already in a handover: %(names)s.") % {"names": _names(held)})
        other = [c for c in locked if c.department_id != from_user.department_id]
        if other:
            raise DomainError(
                _("%(names)s belong to another department; its manager hands them over.") % {"names": _names(other)}
            )
        ids = [c.pk for c in locked]
        for start in range(0, len(ids), 1000):
            Customer.objects.filter(pk__in=ids[start : start + 1000]).update(handover_ref=handover_ref, updated_at=now)
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    customer=c,
                    action=Action.HANDOVER_OPENED,
                    from_owner=from_user,
                    to_owner=from_user,
                    basis=c.owner_basis,
                    actor=manager,
                    deadline=c.deadline,
                    note=note,
                    at=now,
                )
                for c in locked
            ],
            batch_size=1000,
        )
        for c in locked:
            c.handover_ref = handover_ref
    return locked


def customers_leave_handover(
    *, handover_ref: int, manager: User, note: str, customer_ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """A cancelled handover gives its customers back as they were: same owner, same deadline (a
    deadline that passed meanwhile applies at the next nightly run). One history row each.

    What the handover held back and nobody decided then applies: a customer that became a problem
    customer meanwhile (bad credit, R5.5) returns to the pool, flagged; one whose first sale was
    reversed meanwhile and would have gone to someone else or the pool (R8.2) returns to the pool,
    reason "first order reversed", the managers told. One more history row each."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Customer.objects.filter(handover_ref=handover_ref)
        if customer_ids is not None:
            qs = qs.filter(pk__in=customer_ids)
        locked = list(qs.order_by("pk").select_for_update(no_key=True))
        if locked:
            _require_manager_of(manager, locked[0])
        ids = [c.pk for c in locked]
        for start in range(0, len(ids), 1000):
            Customer.objects.filter(pk__in=ids[start : start + 1000]).update(handover_ref=None, updated_at=now)
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    customer=c,
                    action=Action.HANDOVER_CANCELLED,
                    from_owner_id=c.owner_id,
                    to_owner_id=c.owner_id,
                    basis=c.owner_basis,
                    actor=manager,
                    deadline=c.deadline,
                    note=note,
                    at=now,
                )
                for c in locked
            ],
            batch_size=1000,
        )
        _apply_what_the_handover_held_back(locked, manager=manager, now=now)
    return len(locked)


def _apply_what_the_handover_held_back(customers: list[Customer], *, manager: User, now: datetime) -> None:
    """R5.5 and R8.2 after a cancelled handover (see customers_leave_handover). A held customer's
    pending effect is recognised in its history since it entered the handover: a problem mark that
    kept the owner (the last problem row, not cleared since), or a reversal row that kept the owner
    with reason "first order reversed" (the last first-order row, no first order since). Two
    queries whatever the number of customers; the few it finds are released one by one."""
    by_id = {c.pk: c for c in customers if c.owner_id is not None}
    if not by_id:
        return
    opened = dict(
        OwnershipEvent.objects.filter(customer_id__in=list(by_id), action=Action.HANDOVER_OPENED)
        .order_by()
        .values("customer_id")
        .annotate(m=Max("id"))
        .values_list("customer_id", "m")
    )
    last_problem: dict[int, OwnershipEvent] = {}
    last_first_order: dict[int, OwnershipEvent] = {}
    for event in OwnershipEvent.objects.filter(
        customer_id__in=list(opened),
        action__in=[Action.PROBLEM, Action.PROBLEM_CLEARED, Action.FIRST_ORDER, Action.SALE_REVERSED],
    ).order_by("id"):
        if event.id < opened[event.customer_id]:
            continue
        if event.action in (Action.PROBLEM, Action.PROBLEM_CLEARED):
            last_problem[event.customer_id] = event
        else:
            last_first_order[event.customer_id] = event
    for pk, c in by_id.items():
        problem = last_problem.get(pk)
        reversal = last_first_order.get(pk)
        held_problem = problem is not None and problem.action == Action.PROBLEM and problem.to_owner_id == c.owner_id
        held_reversal = (
            reversal is not None
            and reversal.action == Action.SALE_REVERSED
            and reversal.reason == ReleaseReason.SALE_REVERSED
            and reversal.to_owner_id == c.owner_id
            and c.owner_basis == Basis.FIRST_ORDER
        )
        owner = c.owner if (c.is_problem and held_problem) or held_reversal else None
        if owner is None:
            continue
        if c.is_problem and held_problem and problem is not None:
            _release(c, reason=ReleaseReason.PROBLEM, now=now)
            _event(
                c,
                action=Action.PROBLEM,
                from_owner=owner,
                reason=ReleaseReason.PROBLEM,
                actor=manager,
                rule=problem.rule,
                note=problem.note,
                at=now,
            )
            notify(
                recipient=owner,
                kind="released",
                text=_("%(name)s was marked as a problem customer and returned to the pool: %(reason)s")
                % {"name": c.name, "reason": problem.note},
                now=now,
            )
        else:
            _release(c, reason=ReleaseReason.SALE_REVERSED, now=now)
            summary = _(
                "The handover was cancelled: the reversed first sale applies and the customer returns to the pool."
            )
            _event(
                c,
                action=Action.SALE_REVERSED,
                from_owner=owner,
                reason=ReleaseReason.SALE_REVERSED,
                actor=manager,
                note=summary,
                at=now,
            )
            _tell_sale_reversed(c, loser=owner, owner=None, summary=summary, managers=True, now=now)


def customers_hand_over(
    *,
    handover_ref: int,
    from_user: User,
    manager: User,
    moves: list[HandoverMove],
    note: str,
    now: datetime | None = None,
) -> HandOverResult:
    """R7.1 / R7.2 completion: every customer of the handover changes hands at once, or none does.

    A received customer gets basis "handed over" since today and R5.2's deadline: 2 months from
    today or, when later, 3 months after its last confirmed sale (the sale clock carries over).
    Contacts, documents, orders, visits and the next follow-up stay with it. A customer sent to
    the pool is released with reason "handover" and the leaver's note as its release note. One
    history row per customer names both salespeople (from, to), the manager (by) and the
    handover (note). Set-based: a constant number of queries whatever the number of customers."""
    now = now or timezone.now()
    today = local_today(now)
    by_customer = {m.customer_id: m for m in moves}
    if len(by_customer) != len(moves):
        raise DomainError(_("A customer appears twice in the handover."))
    with transaction.atomic():
        locked = _lock_customers(list(by_customer))
        if len(locked) != len(by_customer):
            raise DomainError(_("Some customers of this handover no longer exist."))
        if locked:
            _require_manager_of(manager, locked[0])
        moved_away = [c for c in locked if c.handover_ref != handover_ref or c.owner_id != from_user.pk]
        if moved_away:
            raise DomainError(
                _("%(names)s changed hands outside this handover; reload it.") % {"names": _names(moved_away)}
            )
        receiver_ids = sorted({m.to_user_id for m in moves if m.to_user_id is not None})
        receivers = dict(
            User.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=receiver_ids, is_active=True, groups__name=roles.SALESPERSON)
            .order_by("pk")
            .values_list("pk", "department_id")
        )
        targets = {c.pk: by_customer[c.pk].to_user_id for c in locked}
        wrong = [
            c for c in locked if targets[c.pk] is not None and receivers.get(targets[c.pk] or 0) != c.department_id
        ]
        if wrong:
            raise DomainError(
                _("Send %(names)s only to an active salesperson of the customer's department.")
                % {"names": _names(wrong)}
            )
        result = HandOverResult(handed={}, pooled=[], deadlines={})
        received: list[Customer] = []
        pooled: list[Customer] = []
        for c in locked:
            to_user_id = by_customer[c.pk].to_user_id
            if to_user_id is None:
                pooled.append(c)
                result.pooled.append(c.pk)
                continue
            c.owner_id = to_user_id
            c.owner_basis = Basis.HANDED_OVER
            c.owned_since = today
            c.deadline = compute_deadline(owned_since=today, sold_in_ownership=False, last_sale_on=c.last_sale_on)
            c.sold_in_ownership = False
            c.deadline_extended = False
            c.warned_for_deadline = None
            c.handover_ref = None
            c.updated_at = now
            received.append(c)
            result.handed.setdefault(to_user_id, []).append(c.pk)
            result.deadlines[c.pk] = c.deadline
        Customer.objects.bulk_update(
            received,
            [
                "owner",
                "owner_basis",
                "owned_since",
                "deadline",
                "sold_in_ownership",
                "deadline_extended",
                "warned_for_deadline",
                "handover_ref",
                "updated_at",
            ],
            batch_size=1000,
        )
        notes = _handover_release_notes(pooled, by_customer, from_user, now)
        pool_ids = [c.pk for c in pooled]
        for start in range(0, len(pool_ids), 1000):
            Customer.objects.filter(pk__in=pool_ids[start : start + 1000]).update(
                owner=None,
                owner_basis="",
                owned_since=None,
                deadline=None,
                sold_in_ownership=False,
                deadline_extended=False,
                warned_for_deadline=None,
                introduced_by="",
                released_at=now,
                release_reason=ReleaseReason.HANDOVER,
                released_from=from_user,
                next_follow_up_on=None,  # the leaver's plan, not the next claimer's
                handover_ref=None,
                updated_at=now,
            )
        events = [
            OwnershipEvent(
                customer=c,
                action=Action.HANDED_OVER,
                from_owner=from_user,
                to_owner_id=c.owner_id,
                basis=Basis.HANDED_OVER,
                actor=manager,
                deadline=c.deadline,
                note=note,
                at=now,
            )
            for c in received
        ]
        events += [
            OwnershipEvent(
                customer=c,
                action=Action.RELEASED,
                from_owner=from_user,
                reason=ReleaseReason.HANDOVER,
                actor=manager,
                deadline=c.deadline,
                release_note_id=notes.get(c.pk),
                note=note,
                at=now,
            )
            for c in pooled
        ]
        OwnershipEvent.objects.bulk_create(events, batch_size=1000)
    return result


def _handover_release_notes(
    pooled: list[Customer], moves: dict[int, HandoverMove], leaver: User, now: datetime
) -> dict[int, int]:
    """The leaver's handover note becomes the release note of its ownership (R7.3's three parts);
    a note written earlier for that ownership is completed by it, or kept when the handover note
    is empty. Returns customer id -> release note id."""
    if not pooled:
        return {}
    existing: dict[int, ReleaseNote] = {}
    started = {c.pk: c.owned_since for c in pooled}
    for n in ReleaseNote.objects.filter(customer_id__in=list(started), author=leaver):
        if started.get(n.customer_id) == n.ownership_started:
            existing[n.customer_id] = n
    to_create: list[ReleaseNote] = []
    to_update: list[ReleaseNote] = []
    for c in pooled:
        move = moves[c.pk]
        parts = (move.situation.strip(), move.contact_details.strip(), move.communication_level.strip())
        if not any(parts) or c.owned_since is None:
            continue
        fields = {
            "situation": parts[0] or "—",
            "contact_details": parts[1] or "—",
            "communication_level": parts[2] or "—",
        }
        note = existing.get(c.pk)
        if note is None:
            to_create.append(
                ReleaseNote(
                    customer=c, author=leaver, ownership_started=c.owned_since, written_at=now, late=False, **fields
                )
            )
        else:
            for name, value in fields.items():
                setattr(note, name, value)
            note.written_at = now
            to_update.append(note)
    created = ReleaseNote.objects.bulk_create(to_create, batch_size=1000)
    ReleaseNote.objects.bulk_update(
        to_update, ["situation", "contact_details", "communication_level", "written_at"], batch_size=1000
    )
    found = {n.customer_id: n.pk for n in existing.values()}
    found.update({n.customer_id: n.pk for n in created})
    return found
