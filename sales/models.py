"""Orders, payments confirmed by finance, tier history, sales settings and commission holds (R8, R2).

Written only by sales/services.py. Money is Decimal (max_digits=14, decimal_places=2), never float.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from customers.models import Customer, Tier


class AppendOnly(models.Model):
    """History rows are written once and never edited or deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__} rows are append-only.")


class OrderStatus(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting payment")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    PAID = "paid", _("Paid")


class Order(models.Model):
    """R8.1: an order recorded by the salesperson who owns the customer. It becomes a confirmed
    sale on the day finance confirms its first payment (`confirmed_on`): that day is its sale date
    for the ownership clocks (R5.2-R5.4) and the tier window (R2); the deal date is for reports."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    # The customer's department, copied when the order is recorded (a customer never changes
    # department): lists and reports scope and group orders by it without joining the customers.
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), on_delete=models.PROTECT, related_name="orders"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    deal_date = models.DateField(_("deal date"))
    description = models.TextField(_("description"))
    # Derived from the payments, maintained by the services in the same transaction.
    paid_amount = models.DecimalField(_("confirmed payments"), default=Decimal(0), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.AWAITING)
    confirmed_on = models.DateField(
        _("sale date"), null=True, blank=True, help_text=_("The day finance confirmed the first payment.")
    )
    created_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            # R2 window sum per customer, R4.4 summary.
            models.Index(fields=["customer", "confirmed_on"], name="order_customer_sale"),
            # The nightly job: sales leaving the window on a given day range.
            models.Index(fields=["confirmed_on"], name="order_sale_date", condition=Q(confirmed_on__isnull=False)),
            # Commission statement: a salesperson's sales of a month.
            models.Index(fields=["salesperson", "confirmed_on"], name="order_salesperson_sale"),
            # A department's sales by month (the dashboard, issue 13).
            models.Index(fields=["department", "confirmed_on"], name="order_department_sale"),
            # Finance's queue: orders not paid in full, oldest first.
            models.Index(fields=["created_at", "id"], name="order_open", condition=~Q(status="paid")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")), name="order_paid_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer_id}"

    def save(self, *args, **kwargs):
        if self.department_id is None and self.customer_id is not None:
            # Always the customer's (customers never change department).
            self.department_id = Customer.objects.values_list("department_id", flat=True).get(pk=self.customer_id)
        super().save(*args, **kwargs)

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount

    @property
    def is_confirmed_sale(self) -> bool:
        return self.confirmed_on is not None


class Payment(models.Model):
    """A payment finance confirmed against an order. Never deleted: a reversal (R8.2) fills the
    reversal fields and keeps the row, so the history shows both events."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("received on"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reverse_reason = models.TextField(_("reason for the reversal"), blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["confirmed_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount}"

    def delete(self, *args, **kwargs):
        raise RuntimeError("Payments are never deleted; reverse them (R8.2).")

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


class SaleEventKind(models.TextChoices):
    ORDER_RECORDED = "order_recorded", _("Order recorded")
    PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
    SALE_CONFIRMED = "sale_confirmed", _("Order became a confirmed sale")
    FIRST_ORDER = "first_order", _("First order: the salesperson became the owner")
    PAYMENT_REVERSED = "payment_reversed", _("Payment confirmation reversed")
    SALE_REVERSED = "sale_reversed", _("Confirmed sale reversed")
    FIRST_SALE_REVERSED = "first_sale_reversed", _("First confirmed sale reversed")


class SaleEvent(AppendOnly):
    """The sales history of a customer (R8.2: confirmations and reversals both stay)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sale_events")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=SaleEventKind.choices)
    amount = models.DecimalField(_("amount"), null=True, blank=True, max_digits=14, decimal_places=2)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("sales history entry")
        verbose_name_plural = _("sales history")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="sale_event_customer"),
            # The dashboard finds the orders whose sale changed since its nightly summary (issue 13).
            models.Index(fields=["at"], name="sale_event_at"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.at:%Y-%m-%d}"


class TierCause(models.TextChoices):
    PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed")
    WINDOW = "window", _("Sales left the window (nightly)")
    LONG_TERM = "long_term", _("Long-term flag changed")
    SETTINGS = "settings", _("Tier settings changed")


class TierChange(AppendOnly):
    """R2.1: every change of a customer's tier, never edited."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tier_changes")
    old_tier = models.CharField(_("from"), max_length=12, choices=Tier.choices)
    new_tier = models.CharField(_("to"), max_length=12, choices=Tier.choices)
    amount = models.DecimalField(_("window amount"), max_digits=14, decimal_places=2)
    cause = models.CharField(_("cause"), max_length=20, choices=TierCause.choices)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"], name="tier_change_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.old_tier} → {self.new_tier}"


class SalesSettings(models.Model):
    """R2.2 and R8.3 settings of one department; the defaults are docs/rules.md's."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="sales_settings")
    vip_threshold = models.DecimalField(
        _("VIP / Special VIP from (¥)"),
        default=Decimal(100000),
        max_digits=14,
        decimal_places=2,
    )
    a_threshold = models.DecimalField(_("tier A from (¥)"), default=Decimal(50000), max_digits=14, decimal_places=2)
    b_threshold = models.DecimalField(_("tier B from (¥)"), default=Decimal(30000), max_digits=14, decimal_places=2)
    window_months = models.PositiveSmallIntegerField(
        _("window (months)"), default=12, help_text=_("Trailing months of confirmed sales that count.")
    )
    commission_rate = models.DecimalField(
        _("commission rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.0300"),
        help_text=_("Share of confirmed sales, e.g. 0.03 for 3%."),
    )
    # The last as-of date the nightly job moved this department's window to (R2.1 catch-up).
    window_applied_on = models.DateField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("sales settings")
        verbose_name_plural = _("sales settings")

    def __str__(self) -> str:
        return str(self.department)


class HoldSource(models.TextChoices):
    MANAGER = "manager", _("Manager")
    HANDOVER = "handover", _("Handover")


class CommissionHold(models.Model):
    """R8.3 / R7.1: while a hold is open, the salesperson's commission is not paid out."""

    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        on_delete=models.PROTECT,
        related_name="commission_holds",
    )
    source = models.CharField(_("source"), max_length=10, choices=HoldSource.choices, default=HoldSource.MANAGER)
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(_("set at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    release_note = models.TextField(_("release note"), blank=True)

    class Meta:
        verbose_name = _("commission hold")
        verbose_name_plural = _("commission holds")
        ordering = ["-set_at", "-id"]
        indexes = [
            models.Index(fields=["salesperson"], name="hold_open", condition=Q(released_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.salesperson_id} ({self.source})"

    @property
    def is_open(self) -> bool:
        return self.released_at is None
