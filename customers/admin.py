"""Admin: read-mostly. Registration, duplicates (R5.1) and ownership (R5) go through the app's
services, so the admin neither adds customers nor touches the ownership columns."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Contact, CreditStatusChange, Customer

OWNERSHIP_FIELDS = (
    "owner",
    "owner_basis",
    "owned_since",
    "deadline",
    "sold_in_ownership",
    "deadline_extended",
    "introduced_by",
    "last_sale_on",
    "is_problem",
    "problem_reason",
    "released_at",
    "release_reason",
    "released_from",
    "last_contact_at",
)


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "position", "phone", "email", "wechat", "is_primary")


class CreditStatusChangeInline(admin.TabularInline):
    model = CreditStatusChange
    extra = 0
    fields = ("changed_at", "old_status", "new_status", "changed_by", "note")
    readonly_fields = fields
    can_delete = False
    verbose_name = _("credit status change")
    verbose_name_plural = _("credit status history")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "department",
        "owner",
        "owner_basis",
        "tier",
        "credit_status",
        "is_problem",
        "deadline",
        "city",
    )
    list_filter = ("department", "tier", "credit_status", "is_problem", "owner_basis", "industry", "source")
    search_fields = ("name", "credit_code", "contacts__phone_digits")
    list_select_related = ("department", "owner")
    list_per_page = 50
    show_full_result_count = False
    readonly_fields = (
        "department",
        "credit_code",
        "credit_status",
        "credit_note",
        "tier",
        "tier_amount",
        *OWNERSHIP_FIELDS,
        "created_by",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "credit_code", "department", "industry", "province", "city", "address")}),
        (_("Source"), {"fields": ("source", "source_detail", "is_long_term", "notes")}),
        (_("Tier and credit"), {"fields": ("tier", "tier_amount", "credit_status", "credit_note")}),
        (_("Ownership (read only)"), {"fields": OWNERSHIP_FIELDS}),
        (_("Record"), {"fields": ("created_by", "created_at", "updated_at")}),
    )
    inlines = (ContactInline, CreditStatusChangeInline)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Ownership history and orders refer to customers; a customer is never deleted.
        return False
