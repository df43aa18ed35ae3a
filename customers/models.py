from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department

from .validators import company_near_key, normalize_company_name, normalize_phone, validate_credit_code


class Source(models.TextChoices):
    """R1.1: where the customer's information came from."""

    MEDIA = "media", _("News media / online platform")
    AGENCY = "agency", _("Intermediary agency")
    ASSOCIATION = "association", _("Association or group")
    PARTNER = "partner", _("Company with existing business")
    PERSONAL = "personal", _("Personal relationship")
    OTHER = "other", _("Other")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    ELECTRONICS = "electronics", _("Electronics")
    SOFTWARE = "software", _("Software and IT")
    CONSTRUCTION = "construction", _("Construction")
    RETAIL = "retail", _("Retail and wholesale")
    LOGISTICS = "logistics", _("Logistics")
    FOOD = "food", _("Food and beverage")
    CHEMICAL = "chemical", _("Chemicals")
    MEDICAL = "medical", _("Medical and pharmaceutical")
    ENERGY = "energy", _("Energy")
    EDUCATION = "education", _("Education")
    FINANCE = "finance", _("Finance")
    AGRICULTURE = "agriculture", _("Agriculture")
    OTHER = "other", _("Other")


class CreditStatus(models.TextChoices):
    """R4.3 payment credit."""

    GOOD = "good", _("Good")
    WATCH = "watch", _("Watch")
    BAD = "bad", _("Bad")


class Tier(models.TextChoices):
    """R2 tiers; kept on the customer row so the pool filters on it with an index."""

    VIP = "vip", _("VIP")
    SPECIAL_VIP = "special_vip", _("Special VIP")
    A = "a", _("A")
    B = "b", _("B")
    C = "c", _("C")


class Basis(models.TextChoices):
    """R5: on what basis the owner holds the customer."""

    FIRST_INQUIRY = "first_inquiry", _("First inquiry")
    FIRST_ORDER = "first_order", _("First order")
    RELATIONSHIP = "relationship", _("Relationship")
    CLAIMED = "claimed", _("Claimed from the pool")
    ASSIGNED = "assigned", _("Assigned")
    HANDED_OVER = "handed_over", _("Handed over")


class ReleaseReason(models.TextChoices):
    """Why a customer is in the pool."""

    NO_DEAL = "no_deal", _("No deal within 2 months")
    NO_SALE = "no_sale", _("No sales for 3 months")
    PROBLEM = "problem", _("Problem customer")
    VOLUNTARY = "voluntary", _("Released by its owner")
    HANDOVER = "handover", _("Handed over to the pool")
    IMPORTED = "imported", _("Imported from a collected list")
    REGISTERED = "registered", _("Registered into the pool")
    SALE_REVERSED = "sale_reversed", _("First order reversed")


class Customer(models.Model):
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="customers"
    )
    name = models.CharField(_("company name"), max_length=200)
    # Matched exactly (R5.1 duplicates, imports): a plain B-tree, not also Django's *_like index.
    name_key = models.CharField(max_length=200, editable=False)
    # The same company written another way (深圳市X有限公司 / 深圳X有限公司): a warning on registration
    # and in import verdicts, never a refusal (validators.company_near_key). Empty: nothing to compare.
    name_near_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_credit_code],
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, default=Industry.OTHER)
    province = models.CharField(_("province"), max_length=30, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    source_detail = models.CharField(_("source details"), max_length=200, blank=True)
    is_long_term = models.BooleanField(
        _("long-term cooperation"), default=False, help_text=_("Separates VIP from Special VIP.")
    )
    credit_status = models.CharField(
        _("payment credit"), max_length=10, choices=CreditStatus.choices, default=CreditStatus.GOOD
    )
    credit_note = models.TextField(_("credit notes"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    # R2 tier, maintained by the sales services.
    tier = models.CharField(_("tier"), max_length=12, choices=Tier.choices, default=Tier.C)
    tier_amount = models.DecimalField(
        _("12-month confirmed amount"), max_digits=14, decimal_places=2, default=Decimal(0)
    )

    # --- Ownership state (R5). Declared here so the pool page and the nightly job scan one
    # indexed table; written only by ownership/services.py. ---
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
    )
    owner_basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices, blank=True)
    owned_since = models.DateField(_("owned since"), null=True, blank=True)
    deadline = models.DateField(
        _("deadline"), null=True, blank=True, help_text=_("Last day before the customer returns to the pool.")
    )
    sold_in_ownership = models.BooleanField(_("sale during this ownership"), default=False)
    deadline_extended = models.BooleanField(_("deadline extended"), default=False)
    warned_for_deadline = models.DateField(null=True, blank=True, editable=False)
    introduced_by = models.CharField(_("introduced by"), max_length=100, blank=True)
    last_sale_on = models.DateField(_("last confirmed sale"), null=True, blank=True)
    is_problem = models.BooleanField(_("problem customer"), default=False)
    problem_reason = models.TextField(_("problem reason"), blank=True)
    released_at = models.DateTimeField(_("entered the pool"), null=True, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=20, choices=ReleaseReason.choices, blank=True)
    released_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("previous owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Follow-up activity (R3), written through customers.services.customer_record_contact.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    # R7: the open handover holding this customer (an id of the handovers app, floor 5, hence no
    # foreign key). While set, the nightly job does not release the customer, nobody claims or
    # assigns it, and its owner does not release it. Written only by ownership/services.py.
    handover_ref = models.PositiveBigIntegerField(_("in handover"), null=True, blank=True, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            # The pool page: a department's ownerless customers, newest releases first. Every pool
            # index ends on the id: a nightly run gives 100k rows the same released_at, and the
            # page's "-released_at, -id" order must come straight out of the index.
            models.Index(
                fields=["department", "-released_at", "-id"], name="cust_pool_recent", condition=Q(owner__isnull=True)
            ),
            models.Index(
                fields=["department", "tier", "-released_at", "-id"],
                name="cust_pool_tier",
                condition=Q(owner__isnull=True),
            ),
            models.Index(
                fields=["department", "industry", "-released_at", "-id"],
                name="cust_pool_industry",
                condition=Q(owner__isnull=True),
            ),
            models.Index(
                fields=["department", "city", "-released_at", "-id"],
                name="cust_pool_city",
                condition=Q(owner__isnull=True),
            ),
            models.Index(
                fields=["department", "source", "-released_at", "-id"],
                name="cust_pool_source",
                condition=Q(owner__isnull=True),
            ),
            models.Index(
                fields=["department", "release_reason", "-released_at", "-id"],
                name="cust_pool_reason",
                condition=Q(owner__isnull=True),
            ),
            models.Index(
                fields=["department", "-released_at", "-id"],
                name="cust_pool_problem",
                condition=Q(owner__isnull=True, is_problem=True),
            ),
            models.Index(fields=["department", "name", "id"], name="cust_pool_name", condition=Q(owner__isnull=True)),
            # The nightly job and the warnings: owned customers by deadline, except those an open
            # handover holds (R7: never released while in a handover).
            models.Index(
                fields=["deadline"],
                name="cust_owned_deadline",
                condition=Q(owner__isnull=False, handover_ref__isnull=True),
            ),
            # "My customers", sorted by days left.
            models.Index(fields=["owner", "deadline", "id"], name="cust_owner_deadline"),
            models.Index(fields=["name_key"], name="cust_name_key"),
            models.Index(fields=["name_near_key"], name="cust_name_near_key", condition=~Q(name_near_key="")),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = normalize_company_name(self.name)
        self.name_near_key = company_near_key(self.name)
        super().save(*args, **kwargs)

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def shows_as_problem(self) -> bool:
        """R2.3: bad payment credit makes a problem customer, shown instead of a tier."""
        return self.is_problem or self.credit_status == CreditStatus.BAD


class Contact(models.Model):
    """R4.2: a person at the customer, reachable at least one way."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=60)
    position = models.CharField(_("position"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    phone_digits = models.CharField(max_length=30, blank=True, db_index=True, editable=False)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=60, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="", email="", wechat=""),
                name="contact_reachable",
                violation_error_message=_("A contact needs a phone, an email or a WeChat ID."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.phone_digits = normalize_phone(self.phone)
        super().save(*args, **kwargs)


class CreditStatusChange(models.Model):
    """R4.3: every change of payment credit, never edited."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_changes")
    old_status = models.CharField(max_length=10, choices=CreditStatus.choices)
    new_status = models.CharField(max_length=10, choices=CreditStatus.choices)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.old_status} → {self.new_status}"


class DocumentKind(models.TextChoices):
    """R4.1: qualification papers of the customer's legal entity."""

    BUSINESS_LICENCE = "business_licence", _("Business licence")
    TAX_REGISTRATION = "tax_registration", _("Tax registration")
    OTHER = "other", _("Other legal-entity paper")


class CustomerDocument(models.Model):
    """R4.1: an uploaded qualification document. The file lives under PRIVATE_MEDIA_ROOT under a
    random name (`stored_name`); the uploader's file name is kept, sanitised, for display only.
    Documents are archived, never deleted, so the download log keeps what it points at."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    number = models.CharField(_("number"), max_length=64, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Empty: long-term."))
    original_name = models.CharField(_("file name"), max_length=150)
    stored_name = models.CharField(max_length=100, unique=True, editable=False)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"))
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The valid-until date the owner was told about (the expiry job notifies once per date).
    notified_for = models.DateField(null=True, blank=True, editable=False)
    # Who was told about `notified_for`: a customer that changes hands is told to its new owner too.
    notified_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        verbose_name = _("customer document")
        verbose_name_plural = _("customer documents")
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            # The nightly expiry job: live documents by validity date.
            models.Index(
                fields=["valid_until"], name="custdoc_live_valid_until", condition=Q(archived_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"


class DocumentDownload(models.Model):
    """R6.4: every download of a document (who, when, from where), never edited."""

    document = models.ForeignKey(CustomerDocument, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.document_id} by {self.user_id} at {self.at:%Y-%m-%d %H:%M}"
