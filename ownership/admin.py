from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.admin import ReadOnlyAdmin

from .models import MissingReleaseNote, NightlyRun, OwnershipEvent, PoolSettings, ReleaseNote
from .monitoring import nightly_status


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
    """Every run of the nightly job, with the state of the last success on top (ownership.monitoring)."""

    list_display = (
        "as_of",
        "started_at",
        "finished_at",
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

    def changelist_view(self, request, extra_context=None):
        status = nightly_status()
        if status.last is not None and status.last.finished_at is not None:
            text = _(
                "Last successful run: as of %(as_of)s, finished %(time)s; %(n)d customers returned to the pool."
            ) % {
                "as_of": status.last.as_of.isoformat(),
                "time": timezone.localtime(status.last.finished_at).strftime("%Y-%m-%d %H:%M"),
                "n": status.last.released,
            }
        else:
            text = _("No run has completed yet.")
        if status.state == "stale":
            text += " " + _(
                "No run has succeeded for more than %(hours)d hours: the admins are notified every day until one does."
            ) % {"hours": status.stale_hours}
            self.message_user(request, text, messages.ERROR)
        else:
            self.message_user(request, text, messages.INFO)
        return super().changelist_view(request, extra_context)


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

    # A department's settings are created by ownership.services with their defaults and changed
    # here or on the pool settings page; deleting them would silently reset its limits.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
