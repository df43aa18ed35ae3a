from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from customers.models import Basis, Customer, ReleaseReason


class Action(models.TextChoices):
    REGISTERED = "registered", _("Registered (first inquiry)")
    CLAIMED = "claimed", _("Claimed from the pool")
    ASSIGNED = "assigned", _("Assigned by a manager")
    RELATIONSHIP = "relationship", _("Handed over as a relationship customer")
    FIRST_ORDER = "first_order", _("First order confirmed")
    RELEASED = "released", _("Returned to the pool")
    PROBLEM = "problem", _("Marked as a problem customer")
    PROBLEM_CLEARED = "problem_cleared", _("Problem flag cleared")
    EXTENDED = "extended", _("Deadline extended")
    SALE_REVERSED = "sale_reversed", _("First-order ownership reversed")
    # R7 handovers: the owner stays while a handover is open; the receiver takes over at completion.
    HANDOVER_OPENED = "handover_opened", _("Entered a handover")
    HANDOVER_CANCELLED = "handover_cancelled", _("Left a cancelled handover")
    HANDED_OVER = "handed_over", _("Handed over")


class Rule(models.TextChoices):
    """When no person acted, the rule that fired is the actor (R5.9)."""

    R5_2 = "R5.2", _("Rule: no deal within 2 months")
    R5_3 = "R5.3", _("Rule: first confirmed order")
    R5_4 = "R5.4", _("Rule: no sales for 3 months")
    # Beside a person (finance or a manager): the problem marks that bad payment credit made
    # (R2.3, R5.5), so that credit which recovers lifts only the flag it raised.
    R2_3 = "R2.3", _("Bad payment credit")


# Where the rules page (rules:index) explains each rule that acts on its own.
RULE_ANCHORS: dict[str, str] = {
    Rule.R5_2.value: "deal-deadline",
    Rule.R5_3.value: "first-order",
    Rule.R5_4.value: "no-sale-deadline",
}


class OwnershipEvent(models.Model):
    """R5.9: one row per change of owner or basis (and per deadline extension). Rows are never
    updated or deleted: the model refuses it and, on PostgreSQL, so does a trigger."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ownership_events")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to"),
    )
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=ReleaseReason.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    rule = models.CharField(_("rule"), max_length=8, choices=Rule.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    deadline = models.DateField(_("deadline after the change"), null=True, blank=True)
    release_note = models.ForeignKey("ReleaseNote", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The ownership a first order (R5.3) replaced: owner id, basis, owned since, deadline, extended,
    # introduced by. A reversal of that sale (R8.2) restores it (ownership.services.customer_reverse_sale).
    replaced_ownership = models.JSONField(null=True, blank=True, editable=False)
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("ownership history entry")
        verbose_name_plural = _("ownership history")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="own_event_customer"),
            # The daily claim cap (R5.8) counts one user's claims since midnight.
            models.Index(fields=["actor", "action", "-at"], name="own_event_actor"),
            models.Index(fields=["action", "-at"], name="own_event_action"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.action} {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Ownership history is append-only (R5.9).")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Ownership history is append-only (R5.9).")

    @property
    def rule_anchor(self) -> str:
        """The rules page's anchor of the rule that acted, when no person did."""
        return "" if self.actor_id else RULE_ANCHORS.get(self.rule, "")

    @property
    def actor_label(self) -> str:
        if self.actor_id:
            return str(self.actor)
        return str(self.get_rule_display()) if self.rule else ""


class PoolSettings(models.Model):
    """R5.8, R5.10, R6.4 settings of one department; defaults are docs/rules.md's."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="pool_settings")
    max_unsold = models.PositiveIntegerField(
        _("customers without a sale per salesperson"),
        default=200,
        help_text=_("At this number a salesperson claims or registers no more customers until a deal is confirmed."),
    )
    max_unsold_probation = models.PositiveIntegerField(
        _("customers without a sale per probation salesperson"),
        default=50,
        help_text=_("The same limit for salespeople on probation."),
    )
    daily_claim_cap = models.PositiveIntegerField(
        _("claims per salesperson per day"), default=20, help_text=_("Counted from midnight.")
    )
    reclaim_cooloff_days = models.PositiveIntegerField(
        _("days before a previous owner may re-claim"),
        default=30,
        help_text=_("After losing a customer to a deadline or releasing it."),
    )
    warning_days = models.PositiveIntegerField(
        _("warning days before a deadline"),
        default=7,
        help_text=_("The owner is told, and asked for the release note, this many days before the deadline."),
    )
    mask_pool_contacts = models.BooleanField(
        _("mask pool contacts' phone, email and WeChat until claimed"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # The deadlines themselves are the policy's, not settings.
    DEAL_MONTHS = 2
    NO_SALE_MONTHS = 3
    MAX_EXTENSION_MONTHS = 1

    class Meta:
        verbose_name = _("pool settings")
        verbose_name_plural = _("pool settings")

    def __str__(self) -> str:
        return str(self.department)


class ReleaseNote(models.Model):
    """R7.3: before the rules return a customer, its owner writes where things stand."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="release_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="release_notes")
    ownership_started = models.DateField(help_text="owned_since of the ownership the note closes")
    situation = models.TextField(_("customer situation"))
    contact_details = models.TextField(_("contact details"))
    communication_level = models.TextField(_("how far communication went"))
    written_at = models.DateTimeField(_("written"))
    late = models.BooleanField(_("written after the release"), default=False)

    class Meta:
        verbose_name = _("release note")
        verbose_name_plural = _("release notes")
        ordering = ["-written_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "author", "ownership_started"], name="one_note_per_ownership")
        ]

    def __str__(self) -> str:
        return f"{self.customer} / {self.author}"


class MissingReleaseNote(models.Model):
    """R7.3: a customer released without a note leaves an overdue item for the former owner."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="missing_notes")
    former_owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="missing_notes")
    ownership_started = models.DateField()
    released_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=ReleaseReason.choices)
    demanded_at = models.DateTimeField(_("demanded by a manager"), null=True, blank=True)
    demanded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.OneToOneField(ReleaseNote, on_delete=models.PROTECT, null=True, blank=True, related_name="fulfils")

    class Meta:
        verbose_name = _("missing release note")
        verbose_name_plural = _("missing release notes")
        ordering = ["released_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "former_owner", "ownership_started"], name="one_missing_note_per_ownership"
            )
        ]
        indexes = [
            models.Index(fields=["former_owner"], name="missing_note_open", condition=models.Q(note__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.customer} / {self.former_owner}"


class NightlyRun(models.Model):
    """One row per run of the nightly job, dry runs included."""

    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    skipped = models.BooleanField(_("skipped: another run was active"), default=False)
    released_no_deal = models.PositiveIntegerField(_("released, no deal"), default=0)
    released_no_sale = models.PositiveIntegerField(_("released, no sales"), default=0)
    warned = models.PositiveIntegerField(_("warned"), default=0)
    missing_notes = models.PositiveIntegerField(_("released without a note"), default=0)
    tiers_changed = models.PositiveIntegerField(_("tiers changed"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=40, default="schedule")

    class Meta:
        verbose_name = _("nightly run")
        verbose_name_plural = _("nightly runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.as_of} ({timezone.localtime(self.started_at):%H:%M})"

    @property
    def released(self) -> int:
        return self.released_no_deal + self.released_no_sale
