from django.contrib import admin

from crm.admin import ReadOnlyAdmin

from .models import MissingReleaseNote, NightlyRun, OwnershipEvent, PoolSettings, ReleaseNote


@admin.register(OwnershipEvent)
class OwnershipEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "customer", "action", "from_owner", "to_owner", "basis", "reason", "actor", "rule")
    list_filter = ("action", "reason", "rule")
    search_fields = ("customer__name",)
    date_hierarchy = "at"
    list_select_related = ("customer", "from_owner", "to_owner", "actor")
    raw_id_fields = ("customer", "from_owner", "to_owner", "actor", "release_note")


@admin.register(NightlyRun)
class NightlyRunAdmin(ReadOnlyAdmin):
    list_display = (
        "as_of",
        "started_at",
        "dry_run",
        "skipped",
        "released_no_deal",
        "released_no_sale",
        "warned",
        "missing_notes",
        "tiers_changed",
        "duration_ms",
        "triggered_by",
    )
    list_filter = ("dry_run", "skipped", "triggered_by")
    date_hierarchy = "started_at"


@admin.register(ReleaseNote)
class ReleaseNoteAdmin(ReadOnlyAdmin):
    list_display = ("written_at", "customer", "author", "ownership_started", "late")
    list_filter = ("late",)
    search_fields = ("customer__name",)
    list_select_related = ("customer", "author")
    raw_id_fields = ("customer", "author")


@admin.register(MissingReleaseNote)
class MissingReleaseNoteAdmin(ReadOnlyAdmin):
    list_display = ("released_at", "customer", "former_owner", "reason", "demanded_at", "note")
    list_filter = ("reason",)
    search_fields = ("customer__name",)
    list_select_related = ("customer", "former_owner")
    raw_id_fields = ("customer", "former_owner", "demanded_by", "note")


@admin.register(PoolSettings)
class PoolSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "department",
        "max_unsold",
        "max_unsold_probation",
        "daily_claim_cap",
        "reclaim_cooloff_days",
        "warning_days",
        "mask_pool_contacts",
        "updated_at",
        "updated_by",
    )
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
