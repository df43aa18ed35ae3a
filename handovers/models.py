"""R7.1 resignation and R7.2 transfer handovers.

Written only by handovers/services.py. Who owns a customer stays ownership's state: a handover
holds its customers (Customer.handover_ref, written by ownership's services) and, once every item
is confirmed, moves them through ownership.services.customers_hand_over."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Department
from customers.models import Customer
from sales.models import CommissionHold


class Kind(models.TextChoices):
    RESIGNATION = "resignation", _("Resignation handover")
    TRANSFER = "transfer", _("Transfer")


class Reason(models.TextChoices):
    RESIGNATION = "resignation", _("Resignation")
    POSITION = "position", _("Change of position")
    CUSTOMER_REQUEST = "customer_request", _("At the customer's request")


class State(models.TextChoices):
    OPEN = "open", pgettext_lazy("handover state", "Open")
    COMPLETED = "completed", pgettext_lazy("handover state", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("handover state", "Cancelled")


class Handover(models.Model):
    """One handover run by a manager: the leaver's customers (all of them for a resignation,
    chosen ones for a transfer), each an item."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="handovers"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    leaver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handing over"),
        on_delete=models.PROTECT,
        related_name="handovers_given",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"))
    note = models.TextField(_("manager's note"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    hold = models.OneToOneField(
        CommissionHold,
        verbose_name=_("commission hold"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handover",
    )
    # When every item was last found done (the manager is told once; a re-sent item clears it).
    all_done_at = models.DateTimeField(_("all confirmed"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.TextField(_("why cancelled"), blank=True)
    deactivated_at = models.DateTimeField(_("account deactivated"), null=True, blank=True)
    # The day the leaver was last reminded of its missing notes (the daily reminder is safe twice).
    nagged_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["department", "state", "-opened_at"], name="handover_dept_state"),
            models.Index(fields=["leaver", "state"], name="handover_leaver_state"),
        ]
        constraints = [
            # A salesperson resigns once at a time.
            models.UniqueConstraint(
                fields=["leaver"], condition=Q(state="open", kind="resignation"), name="handover_one_open_resignation"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.leaver}"

    @property
    def is_open(self) -> bool:
        return self.state == State.OPEN

    @property
    def is_resignation(self) -> bool:
        return self.kind == Kind.RESIGNATION


class HandoverItem(models.Model):
    """One customer of a handover: the leaver's note, where the manager sends it, the receiver's
    confirmation, and what the customer carried (read through the other apps' selectors when the
    handover opened, when a manager refreshes it, and frozen at completion)."""

    handover = models.ForeignKey(Handover, on_delete=models.PROTECT, related_name="items")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="handover_items"
    )
    # The leaver's note (R7.1): situation, key contacts, stage, receivables, promises.
    situation = models.TextField(_("situation"), blank=True)
    key_contacts = models.TextField(_("key contacts"), blank=True)
    stage = models.TextField(_("stage reached"), blank=True)
    receivables_note = models.TextField(_("receivables status"), blank=True)
    promises = models.TextField(_("what was promised"), blank=True)
    note_written_at = models.DateTimeField(_("note written"), null=True, blank=True)
    # Where the manager sends it: a receiving salesperson, or the pool.
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("receiver"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handover_items_received",
    )
    to_pool = models.BooleanField(_("to the pool"), default=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What the customer carried.
    receivable_total = models.DecimalField(_("receivables"), max_digits=14, decimal_places=2, default=Decimal(0))
    receivable_orders = models.PositiveIntegerField(_("orders with receivables"), default=0)
    open_orders = models.PositiveIntegerField(_("orders awaiting payment"), default=0)
    open_orders_total = models.DecimalField(
        _("amount awaiting payment"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    open_requests = models.PositiveIntegerField(_("open service requests"), default=0)
    planned_this_month = models.BooleanField(_("in this month's visit plan"), default=False)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    expiring_documents = models.PositiveIntegerField(_("documents expiring soon"), default=0)
    deadline_before = models.DateField(_("deadline before the handover"), null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    summary_at = models.DateTimeField(_("as of"), null=True, blank=True)
    new_deadline = models.DateField(_("receiver's deadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("handover item")
        verbose_name_plural = _("handover items")
        ordering = ["handover_id", "id"]
        constraints = [models.UniqueConstraint(fields=["handover", "customer"], name="handover_item_once")]
        indexes = [
            models.Index(fields=["receiver", "handover"], name="handover_item_receiver"),
            models.Index(fields=["handover"], name="handover_item_no_note", condition=Q(note_written_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.handover_id}: {self.customer_id}"

    @property
    def has_note(self) -> bool:
        return self.note_written_at is not None

    @property
    def is_sent(self) -> bool:
        return self.to_pool or self.receiver_id is not None

    @property
    def is_done(self) -> bool:
        """Sent to the pool, or confirmed by its receiver."""
        return self.to_pool or (self.receiver_id is not None and self.confirmed_at is not None)


DONE_Q = Q(to_pool=True) | Q(receiver__isnull=False, confirmed_at__isnull=False)


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    CUSTOMERS_ADDED = "customers_added", _("Customers added")
    NOTE = "note", _("Note written")
    SENT = "sent", _("Sent to a receiver")
    SENT_TO_POOL = "sent_to_pool", _("Sent to the pool")
    CONFIRMED = "confirmed", _("Confirmed by the receiver")
    ALL_CONFIRMED = "all_confirmed", _("Every item confirmed")
    REFRESHED = "refreshed", _("Figures refreshed")
    COMPLETED = "completed", _("Completed")
    DEACTIVATED = "deactivated", _("Account deactivated")
    CANCELLED = "cancelled", _("Cancelled")


class HandoverEvent(models.Model):
    """What happened to a handover, by whom and when. Append-only."""

    handover = models.ForeignKey(Handover, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("what"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("time"))
    count = models.PositiveIntegerField(_("customers"), default=0)
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    item = models.ForeignKey(HandoverItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    text = models.TextField(blank=True)

    class Meta:
        verbose_name = _("handover event")
        verbose_name_plural = _("handover events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.handover_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Handover events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Handover events are append-only.")
