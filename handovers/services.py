"""R7.1 resignation and R7.2 transfer handovers. Each public service is one transaction that locks
what it changes, checks its preconditions, writes, and appends a HandoverEvent; notifications are
stored in the transaction and mailed after its commit.

Ownership moves only through ownership.services (customers_enter_handover, customers_leave_handover,
customers_hand_over); the commission hold through sales.services; the account through
accounts.services. Lock order (docs/decisions.md, "Handovers"): customers first (ascending ids),
then the handover row and its items (FOR NO KEY UPDATE: rows referring to users), then user rows
(never plainly).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import roles
from accounts.models import User
from accounts.services import user_deactivate
from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from customers.models import Customer
from customers.selectors import expiring_documents_of
from followups.selectors import planned_this_month
from notifications.services import Message, notify_many
from ownership import services as ownership
from sales.models import HoldSource
from sales.selectors import open_sales_of_customers
from sales.services import commission_hold_release, commission_hold_set
from service.selectors import open_requests_of_customers
from service.services import requests_handover_helpers

from .models import DONE_Q, EventKind, Handover, HandoverEvent, HandoverItem, Kind, Reason, State

NOTE_MAX = 2000
CANCEL_MAX = 2000
BATCH = 1000


# --- Helpers ------------------------------------------------------------------------------------


def _clean(value: Any, *, limit: int = NOTE_MAX) -> str:
    # PostgreSQL stores no NUL character; notes are free text from a form.
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise DomainError(_("At most %(n)d characters per field.") % {"n": limit})
    return text


def manages(user: User, handover: Handover) -> bool:
    """A manager of the handover's department, or an admin."""
    if not user.is_active:
        return False
    if user.is_admin_role:
        return True
    return user.is_manager and user.department_id is not None and user.department_id == handover.department_id


def _require_manager(user: User, handover: Handover) -> None:
    if not manages(user, handover):
        raise PermissionDenied(_("Only a manager of this department runs its handovers."))


def _require_open(handover: Handover) -> None:
    if handover.state != State.OPEN:
        raise DomainError(
            _("This handover is %(state)s; nothing more changes.") % {"state": handover.get_state_display()}
        )


def _lock(handover: Handover) -> Handover:
    return Handover.objects.select_for_update(no_key=True, of=("self",)).get(pk=handover.pk)


def _event(handover: Handover, kind: str, actor: User | None, at: datetime, **fields: Any) -> HandoverEvent:
    return HandoverEvent.objects.create(handover=handover, kind=kind, actor=actor, at=at, **fields)


def _url(handover: Handover) -> str:
    return reverse("handovers:detail", args=[handover.pk])


def label(handover: Handover) -> str:
    """How a handover is named in history rows and notifications: "Handover #12 (Resignation)"."""
    return _("Handover #%(id)d (%(reason)s)") % {"id": handover.pk, "reason": handover.get_reason_display()}


def has_open_resignation(user_id: int) -> bool:
    return Handover.objects.filter(leaver_id=user_id, kind=Kind.RESIGNATION, state=State.OPEN).exists()


def _check_receiver(handover: Handover, receiver: User) -> None:
    if not (receiver.is_active and receiver.is_salesperson and receiver.department_id == handover.department_id):
        raise DomainError(_("Send customers only to an active salesperson of the department."))
    if receiver.pk == handover.leaver_id:
        raise DomainError(_("%(who)s is the one handing these customers over.") % {"who": receiver})
    if has_open_resignation(receiver.pk):
        raise DomainError(
            _("%(who)s is leaving (a resignation handover is open): choose someone else.") % {"who": receiver}
        )


def _managers_to_tell(handover: Handover) -> list[int]:
    """The manager who opened the handover; the department's managers if that one has left."""
    opener = handover.opened_by
    if opener.is_active:
        return [opener.pk]
    return list(
        User.objects.filter(
            is_active=True, department_id=handover.department_id, groups__name=roles.MANAGER
        ).values_list("pk", flat=True)
    )


# --- What an item carries (read through the other apps' selectors) --------------------------------


SUMMARY_FIELDS = [
    "receivable_total",
    "receivable_orders",
    "open_orders",
    "open_orders_total",
    "open_requests",
    "planned_this_month",
    "expiring_documents",
    "next_follow_up_on",
    "deadline_before",
    "details",
    "summary_at",
]


def _refresh_summaries(items: list[HandoverItem], *, user: User, now: datetime) -> None:
    """Read and store what each customer carries (one bulk update)."""
    _read_summaries(items, user=user, now=now)
    HandoverItem.objects.bulk_update(items, SUMMARY_FIELDS, batch_size=BATCH)


def _read_summaries(items: list[HandoverItem], *, user: User, now: datetime) -> None:
    """Read what each customer carries, as `user` (the manager) sees it, onto the items (not
    saved): open orders and receivables, open service requests, this month's visit plans, the next
    follow-up, documents expiring soon. A constant number of queries whatever the number."""
    if not items:
        return
    today = local_today(now)
    ids = [item.customer_id for item in items]
    customers = {
        c.pk: c for c in Customer.objects.filter(pk__in=ids).only("pk", "next_follow_up_on", "deadline", "owner_id")
    }
    sales = open_sales_of_customers(user=user, customer_ids=ids)
    requests = open_requests_of_customers(user=user, customer_ids=ids)
    plans = planned_this_month(user=user, customer_ids=ids, month=today)
    documents = expiring_documents_of(user=user, customer_ids=ids, today=today)
    for item in items:
        customer = customers.get(item.customer_id)
        open_sales = sales.get(item.customer_id)
        receivables = open_sales.receivables if open_sales else []
        awaiting = open_sales.awaiting if open_sales else []
        reqs = requests.get(item.customer_id, [])
        docs = documents.get(item.customer_id, [])
        item.receivable_total = sum((o.outstanding for o in receivables), Decimal(0))
        item.receivable_orders = len(receivables)
        item.open_orders = len(awaiting)
        item.open_orders_total = sum((o.amount for o in awaiting), Decimal(0))
        item.open_requests = len(reqs)
        item.planned_this_month = bool(plans.get(item.customer_id))
        item.expiring_documents = len(docs)
        if customer is not None and customer.owner_id is not None:
            item.next_follow_up_on = customer.next_follow_up_on
            item.deadline_before = customer.deadline
        item.details = {
            "receivables": [
                {
                    "id": o.pk,
                    "amount": str(o.amount),
                    "due": str(o.outstanding),
                    "confirmed_on": o.confirmed_on.isoformat() if o.confirmed_on else "",
                    "salesperson": str(o.salesperson),
                }
                for o in receivables
            ],
            "awaiting": [{"id": o.pk, "amount": str(o.amount), "deal_date": o.deal_date.isoformat()} for o in awaiting],
            "requests": [
                {
                    "id": r.pk,
                    "kind": r.kind,
                    "due_on": r.due_on.isoformat(),
                    "responsible": str(r.responsible),
                    "outcome": r.outcome,
                }
                for r in reqs
            ],
            "planned_by": [str(u) for u in plans.get(item.customer_id, [])],
            "documents": [
                {"kind": d.kind, "number": d.number, "valid_until": d.valid_until.isoformat() if d.valid_until else ""}
                for d in docs
            ],
        }
        item.summary_at = now


def _create_items(
    handover: Handover, customers: Iterable[Customer], *, manager: User, now: datetime
) -> list[HandoverItem]:
    items = HandoverItem.objects.bulk_create(
        [HandoverItem(handover=handover, customer=c) for c in customers], batch_size=BATCH
    )
    _refresh_summaries(items, user=manager, now=now)
    return items


def _hold_reason(handover: Handover, count: int) -> str:
    return ngettext(
        "%(handover)s: %(n)d customer being handed over.",
        "%(handover)s: %(n)d customers being handed over.",
        count,
    ) % {"handover": label(handover), "n": count}


# --- Opening ------------------------------------------------------------------------------------


def handover_open(
    *,
    kind: str,
    leaver: User,
    manager: User,
    reason: str = "",
    customer_ids: list[int] | None = None,
    note: str = "",
    receiver: User | None = None,
    now: datetime | None = None,
) -> Handover:
    """R7.1: a manager opens a resignation handover of every customer the leaver owns; R7.2: a
    transfer of chosen customers, for a change of position or at the customer's request. The
    customers are held from now on (never released, claimed or re-assigned elsewhere), each gets
    an item with what it carries, and the leaver's commission is on hold until the handover is
    done. A transfer may name its receiver at once."""
    now = now or timezone.now()
    if kind not in Kind.values:
        raise DomainError(_("Choose a resignation or a transfer."))
    if kind == Kind.RESIGNATION:
        reason = Reason.RESIGNATION
    elif reason not in (Reason.POSITION, Reason.CUSTOMER_REQUEST):
        raise DomainError(_("Say why the customers are transferred: change of position or the customer's request."))
    if not (manager.is_admin_role or (manager.is_manager and manager.department_id == leaver.department_id)):
        raise PermissionDenied(_("Only a manager of this salesperson's department runs its handovers."))
    if not (leaver.is_active and leaver.is_salesperson and leaver.department_id):
        raise DomainError(_("Handovers are of active salespeople of a department."))
    note = _clean(note)
    if kind == Kind.TRANSFER and not customer_ids:
        raise DomainError(_("Choose the customers to transfer."))
    with transaction.atomic():
        if kind == Kind.RESIGNATION:
            other = Handover.objects.filter(leaver=leaver, state=State.OPEN).first()
            if other is not None:
                raise DomainError(
                    _("%(who)s already has an open handover (#%(id)d): complete or cancel it first.")
                    % {"who": leaver, "id": other.pk}
                )
        elif has_open_resignation(leaver.pk):
            raise DomainError(
                _("%(who)s is leaving: its resignation handover already holds all its customers.") % {"who": leaver}
            )
        try:
            with transaction.atomic():
                handover = Handover.objects.create(
                    department_id=leaver.department_id,
                    kind=kind,
                    reason=reason,
                    leaver=leaver,
                    opened_by=manager,
                    opened_at=now,
                    note=note,
                )
        except IntegrityError as exc:  # a simultaneous resignation of the same salesperson won
            raise DomainError(_("%(who)s already has an open resignation handover.") % {"who": leaver}) from exc
        customers = ownership.customers_enter_handover(
            handover_ref=handover.pk,
            from_user=leaver,
            manager=manager,
            customer_ids=None if kind == Kind.RESIGNATION else list(customer_ids or []),
            note=label(handover),
            now=now,
        )
        items = _create_items(handover, customers, manager=manager, now=now)
        handover.hold = commission_hold_set(
            salesperson=leaver,
            user=manager,
            reason=_hold_reason(handover, len(items)),
            source=HoldSource.HANDOVER,
            now=now,
        )
        handover.save(update_fields=["hold"])
        _event(handover, EventKind.OPENED, manager, now, count=len(items), text=note)
        notify_many(
            messages=[
                Message(
                    leaver.pk,
                    "handover",
                    ngettext(
                        "%(manager)s opened %(handover)s of your %(n)d customer: write a handover note for it.",
                        "%(manager)s opened %(handover)s of your %(n)d customers: write a handover note for each.",
                        len(items),
                    )
                    % {"manager": manager, "handover": label(handover), "n": len(items)},
                    _url(handover),
                )
            ],
            now=now,
        )
        if receiver is not None and items:
            _check_receiver(handover, receiver)
            _send(handover, manager=manager, items=items, receiver=receiver, to_pool=False, now=now)
        elif not items:
            _check_all_done(handover, now)
    return handover


def handover_add_customers(
    *, handover: Handover, manager: User, customer_ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """Customers the leaver came to own after the handover opened (a first order confirmed for
    it, R5.3) join its resignation (`customer_ids` None: all of them); a transfer takes more
    chosen customers. Returns how many joined."""
    now = now or timezone.now()
    _require_manager(manager, handover)
    if handover.kind == Kind.TRANSFER and not customer_ids:
        raise DomainError(_("Choose the customers to add."))
    with transaction.atomic():
        if customer_ids is None:
            customer_ids = list(
                Customer.objects.filter(owner_id=handover.leaver_id, handover_ref__isnull=True).values_list(
                    "pk", flat=True
                )
            )
        if not customer_ids:
            raise DomainError(_("%(who)s owns no customer outside this handover.") % {"who": handover.leaver})
        customers = ownership.customers_enter_handover(
            handover_ref=handover.pk,
            from_user=handover.leaver,
            manager=manager,
            customer_ids=customer_ids,
            note=label(handover),
            now=now,
        )
        current = _lock(handover)
        _require_open(current)
        items = _create_items(current, customers, manager=manager, now=now)
        _event(current, EventKind.CUSTOMERS_ADDED, manager, now, count=len(items))
        _check_all_done(current, now)
    return len(items)


# --- The leaver's notes -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteInput:
    situation: str
    key_contacts: str
    stage: str
    receivables_note: str = ""
    promises: str = ""


def handover_write_note(
    *, item: HandoverItem, user: User, data: NoteInput, now: datetime | None = None
) -> HandoverItem:
    """R7.1: the salesperson handing over writes (or rewrites) the note of one of its items: the
    situation, key contacts, the stage reached, the receivables' status, what was promised. Once
    the receiver has confirmed the item, the note no longer changes."""
    now = now or timezone.now()
    fields = {
        "situation": _clean(data.situation),
        "key_contacts": _clean(data.key_contacts),
        "stage": _clean(data.stage),
        "receivables_note": _clean(data.receivables_note),
        "promises": _clean(data.promises),
    }
    with transaction.atomic():
        handover = _lock(item.handover)
        if handover.leaver_id != user.pk:
            raise PermissionDenied(
                _("Only %(who)s, who hands these customers over, writes their notes.") % {"who": handover.leaver}
            )
        _require_open(handover)
        current = HandoverItem.objects.select_for_update(no_key=True, of=("self",)).get(pk=item.pk, handover=handover)
        if current.confirmed_at is not None:
            raise DomainError(
                _("%(who)s has already confirmed this customer; the note no longer changes.")
                % {"who": current.receiver}
            )
        missing = [
            str(name)
            for key, name in (
                ("situation", _("situation")),
                ("key_contacts", _("key contacts")),
                ("stage", _("stage reached")),
            )
            if not fields[key]
        ]
        if current.receivable_orders and not fields["receivables_note"]:
            missing.append(str(_("receivables status")))
        if missing:
            raise DomainError(_("Write the %(parts)s.") % {"parts": "、".join(missing)})
        for name, value in fields.items():
            setattr(current, name, value)
        current.note_written_at = now
        current.save(update_fields=[*fields, "note_written_at"])
        _event(handover, EventKind.NOTE, user, now, count=1, item=current)
    return current


# --- Sending items to receivers or the pool ---------------------------------------------------------


def _send(
    handover: Handover,
    *,
    manager: User,
    items: Iterable[HandoverItem] | QuerySet[HandoverItem],
    receiver: User | None,
    to_pool: bool,
    now: datetime,
) -> int:
    ids = [item.pk for item in items]
    qs = HandoverItem.objects.filter(handover=handover, pk__in=ids)
    # Items already going there keep their confirmation.
    qs = qs.exclude(to_pool=True) if to_pool else qs.exclude(receiver=receiver, to_pool=False)
    changed = 0
    for start in range(0, len(ids), BATCH):
        changed += qs.filter(pk__in=ids[start : start + BATCH]).update(
            receiver=None if to_pool else receiver,
            to_pool=to_pool,
            sent_at=now,
            sent_by=manager,
            confirmed_at=None,
            confirmed_by=None,
        )
    if not changed:
        return 0
    _event(
        handover,
        EventKind.SENT_TO_POOL if to_pool else EventKind.SENT,
        manager,
        now,
        count=changed,
        receiver=receiver if not to_pool else None,
    )
    if receiver is not None and not to_pool:
        notify_many(
            messages=[
                Message(
                    receiver.pk,
                    "handover",
                    ngettext(
                        "%(manager)s sent you %(n)d customer of %(who)s (%(handover)s): read the note and confirm it.",
                        "%(manager)s sent you %(n)d customers of %(who)s (%(handover)s): read the notes and confirm "
                        "them.",
                        changed,
                    )
                    % {"manager": manager, "n": changed, "who": handover.leaver, "handover": label(handover)},
                    _url(handover),
                )
            ],
            now=now,
        )
    _check_all_done(handover, now)
    return changed


def handover_send(
    *,
    handover: Handover,
    manager: User,
    item_ids: list[int],
    receiver: User | None = None,
    to_pool: bool = False,
    now: datetime | None = None,
) -> int:
    """R7.1: the manager sends items to a receiving salesperson of the department, or to the pool;
    hundreds at once (the page's "all matching" sends every item its filter finds). Sending an
    item elsewhere clears its confirmation. Returns how many items changed destination."""
    now = now or timezone.now()
    _require_manager(manager, handover)
    if to_pool == (receiver is not None):
        raise DomainError(_("Choose a receiving salesperson or the pool."))
    if not item_ids:
        raise DomainError(_("Choose at least one customer."))
    with transaction.atomic():
        current = _lock(handover)
        _require_open(current)
        if receiver is not None:
            _check_receiver(current, receiver)
        items = list(HandoverItem.objects.filter(handover=current, pk__in=item_ids).only("pk"))
        if len(items) != len(set(item_ids)):
            raise DomainError(_("Some of the chosen customers are not in this handover."))
        return _send(current, manager=manager, items=items, receiver=receiver, to_pool=to_pool, now=now)


# --- The receivers' confirmations ---------------------------------------------------------------


def handover_confirm(
    *, handover: Handover, user: User, item_ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """R7.1: the receiver confirms the items sent to it (`item_ids` None: all of them at once),
    having read the notes. When every item is done the manager is told."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(handover)
        if not HandoverItem.objects.filter(handover=current, receiver=user).exists():
            raise PermissionDenied(_("Only the receiver confirms the customers sent to it."))
        _require_open(current)
        qs = HandoverItem.objects.filter(handover=current, receiver=user, to_pool=False, confirmed_at__isnull=True)
        if item_ids is not None:
            qs = qs.filter(pk__in=item_ids)
        count = qs.update(confirmed_at=now, confirmed_by=user)
        if not count:
            raise DomainError(_("Nothing left to confirm."))
        _event(current, EventKind.CONFIRMED, user, now, count=count)
        _check_all_done(current, now)
    return count


def _check_all_done(handover: Handover, now: datetime) -> None:
    """Tell the manager once when every item is done (to the pool, or confirmed); a later change
    that reopens an item clears the mark."""
    waiting = HandoverItem.objects.filter(handover=handover).exclude(DONE_Q).exists()
    if waiting:
        if handover.all_done_at is not None:
            handover.all_done_at = None
            handover.save(update_fields=["all_done_at"])
        return
    if handover.all_done_at is not None:
        return
    handover.all_done_at = now
    handover.save(update_fields=["all_done_at"])
    total = HandoverItem.objects.filter(handover=handover).count()
    _event(handover, EventKind.ALL_CONFIRMED, None, now, count=total)
    text = _("Every customer of %(handover)s of %(who)s is confirmed: complete the handover.") % {
        "handover": label(handover),
        "who": handover.leaver,
    }
    notify_many(messages=[Message(pk, "handover", text, _url(handover)) for pk in _managers_to_tell(handover)], now=now)


# --- Completion ---------------------------------------------------------------------------------


def handover_complete(*, handover: Handover, manager: User, now: datetime | None = None) -> Handover:
    """R7.1 / R7.2: once every item is done, ownership moves for all of them in one transaction
    (basis handed over, or to the pool with the leaver's note as release note), the leaver's open
    service requests of the received customers get their receiver as helper, the commission hold
    ends, and a resignation's account is deactivated with its sessions ended. Nothing is
    half-moved: any refusal or failure rolls everything back. A constant number of queries."""
    now = now or timezone.now()
    _require_manager(manager, handover)
    leaver = handover.leaver
    with transaction.atomic():
        # Read without locks; checked again under the handover's lock once the customers are
        # locked (the lock order: customers first).
        items = list(HandoverItem.objects.filter(handover=handover).order_by("pk").select_related("receiver"))
        _require_open(handover)
        waiting = [item for item in items if not item.is_done]
        if waiting:
            raise DomainError(
                ngettext(
                    "%(n)d customer is not yet sent to the pool or confirmed by its receiver.",
                    "%(n)d customers are not yet sent to the pool or confirmed by their receivers.",
                    len(waiting),
                )
                % {"n": len(waiting)}
            )
        receivers = {item.receiver for item in items if item.receiver is not None and not item.to_pool}
        for receiver in receivers:
            if not (
                receiver.is_active and receiver.is_salesperson and receiver.department_id == handover.department_id
            ):
                raise DomainError(
                    _("%(who)s can no longer receive customers: send them to someone else.") % {"who": receiver}
                )
            if has_open_resignation(receiver.pk):
                raise DomainError(_("%(who)s is leaving: send its customers to someone else.") % {"who": receiver})
        # The final figures of what is handed over, as the manager reads them before the move.
        _read_summaries(items, user=manager, now=now)
        moves = [
            ownership.HandoverMove(
                customer_id=item.customer_id,
                to_user_id=None if item.to_pool else item.receiver_id,
                situation=item.situation,
                contact_details=item.key_contacts,
                communication_level="\n".join(s for s in (item.stage, item.receivables_note, item.promises) if s),
            )
            for item in items
        ]
        result = ownership.customers_hand_over(
            handover_ref=handover.pk, from_user=leaver, manager=manager, moves=moves, note=label(handover), now=now
        )
        current = _lock(handover)
        _require_open(current)
        now_items = list(
            HandoverItem.objects.filter(handover=current)
            .order_by("pk")
            .values_list("pk", "receiver_id", "to_pool", "confirmed_at")
        )
        if now_items != [(i.pk, i.receiver_id, i.to_pool, i.confirmed_at) for i in items]:
            raise DomainError(_("The handover changed meanwhile; reload it and complete it again."))
        for item in items:
            item.new_deadline = result.deadlines.get(item.customer_id)
        HandoverItem.objects.bulk_update(items, [*SUMMARY_FIELDS, "new_deadline"], batch_size=BATCH)
        requests_handover_helpers(
            receivers={item.customer_id: item.receiver_id for item in items if item.receiver_id and not item.to_pool},
            responsible=leaver,
            manager=manager,
            now=now,
        )
        if current.hold_id is not None and current.hold is not None and current.hold.released_at is None:
            commission_hold_release(
                hold=current.hold,
                user=manager,
                note=_("%(handover)s complete.") % {"handover": label(current)},
                by_handover=True,
                now=now,
            )
        current.state = State.COMPLETED
        current.completed_at = now
        current.completed_by = manager
        fields = ["state", "completed_at", "completed_by"]
        _event(current, EventKind.COMPLETED, manager, now, count=len(items))
        if current.kind == Kind.RESIGNATION:
            ended = user_deactivate(
                user=leaver,
                by=manager,
                # Counted under the leaver's lock: a customer it came to own meanwhile (R5.3)
                # refuses the completion instead of staying with a deactivated account.
                owned_count=lambda: Customer.objects.filter(owner_id=leaver.pk).count(),
                now=now,
            )
            current.deactivated_at = now
            fields.append("deactivated_at")
            _event(current, EventKind.DEACTIVATED, manager, now, count=ended)
        current.save(update_fields=fields)
        messages = [
            Message(
                receiver_id,
                "handover",
                ngettext(
                    "%(n)d customer of %(who)s is now yours (%(handover)s).",
                    "%(n)d customers of %(who)s are now yours (%(handover)s).",
                    len(customer_ids),
                )
                % {"n": len(customer_ids), "who": leaver, "handover": label(current)},
                _url(current),
            )
            for receiver_id, customer_ids in result.handed.items()
        ]
        if current.kind == Kind.TRANSFER:
            messages.append(
                Message(
                    leaver.pk,
                    "handover",
                    _("%(handover)s is complete; your commission hold for it is released.")
                    % {"handover": label(current)},
                    _url(current),
                )
            )
        notify_many(messages=messages, now=now)
    return current


# --- Cancelling ---------------------------------------------------------------------------------


def handover_cancel(*, handover: Handover, manager: User, reason: str, now: datetime | None = None) -> Handover:
    """A manager cancels an open handover (opened by mistake, the salesperson stays): its
    customers stay with their owner as they were, the hold ends. A deadline that passed during
    the handover applies at the next nightly run (the handover held the release; it never extended
    a deadline)."""
    now = now or timezone.now()
    _require_manager(manager, handover)
    reason = _clean(reason, limit=CANCEL_MAX)
    if not reason:
        raise DomainError(_("Write why the handover is cancelled."))
    with transaction.atomic():
        ownership.customers_leave_handover(
            handover_ref=handover.pk,
            manager=manager,
            note=_("%(handover)s cancelled: %(reason)s") % {"handover": label(handover), "reason": reason},
            now=now,
        )
        current = _lock(handover)
        _require_open(current)
        if current.hold is not None and current.hold.released_at is None:
            commission_hold_release(hold=current.hold, user=manager, note=reason, by_handover=True, now=now)
        current.state = State.CANCELLED
        current.cancelled_at = now
        current.cancelled_by = manager
        current.cancel_reason = reason
        current.save(update_fields=["state", "cancelled_at", "cancelled_by", "cancel_reason"])
        _event(current, EventKind.CANCELLED, manager, now, text=reason)
        told = {current.leaver_id} | set(
            HandoverItem.objects.filter(handover=current, receiver__isnull=False).values_list("receiver_id", flat=True)
        )
        text = _("%(manager)s cancelled %(handover)s of %(who)s: %(reason)s") % {
            "manager": manager,
            "handover": label(current),
            "who": current.leaver,
            "reason": reason,
        }
        notify_many(messages=[Message(pk, "handover", text, _url(current)) for pk in sorted(told)], now=now)
    return current


def handover_refresh(*, handover: Handover, manager: User, now: datetime | None = None) -> int:
    """Re-read what each item carries (orders paid meanwhile, requests closed, plans changed)."""
    now = now or timezone.now()
    _require_manager(manager, handover)
    with transaction.atomic():
        current = _lock(handover)
        _require_open(current)
        items = list(HandoverItem.objects.filter(handover=current).order_by("pk"))
        _refresh_summaries(items, user=manager, now=now)
        _event(current, EventKind.REFRESHED, manager, now, count=len(items))
    return len(items)


# --- The daily reminder (Celery beat and `nag_handover_notes`) --------------------------------------


def handovers_nag_missing_notes(*, as_of: date | None = None, now: datetime | None = None) -> int:
    """R7.1: each day, a salesperson with items still without a note in an open handover is told
    how many, once per day (`nagged_on`): a second run the same day tells nobody. Returns the
    number of reminders sent."""
    now = now or timezone.now()
    as_of = as_of or local_today(now)
    with transaction.atomic():
        without_note = HandoverItem.objects.filter(handover=OuterRef("pk"), note_written_at__isnull=True)
        handovers = list(
            # Locked, not skipped: a second run at the same moment waits, then PostgreSQL re-checks
            # "not yet reminded today" and finds nothing (a row held by a note being written is
            # reminded once that note is saved, not skipped for the day).
            Handover.objects.select_for_update(no_key=True, of=("self",))
            .filter(Exists(without_note), state=State.OPEN, leaver__is_active=True)
            .exclude(nagged_on=as_of)
            .order_by("pk")
        )
        if not handovers:
            return 0
        counts = dict(
            HandoverItem.objects.filter(handover__in=handovers, note_written_at__isnull=True)
            .order_by()
            .values("handover_id")
            .annotate(n=Count("id"))
            .values_list("handover_id", "n")
        )
        messages = [
            Message(
                h.leaver_id,
                "handover_nag",
                ngettext(
                    "%(n)d customer of %(handover)s still has no handover note: please write it today.",
                    "%(n)d customers of %(handover)s still have no handover note: please write them today.",
                    counts.get(h.pk, 0),
                )
                % {"n": counts.get(h.pk, 0), "handover": label(h)},
                _url(h),
            )
            for h in handovers
        ]
        Handover.objects.filter(pk__in=[h.pk for h in handovers]).update(nagged_on=as_of)
        notify_many(messages=messages, now=now)
    return len(messages)
