from django.contrib import admin

from crm.admin import ReadOnlyAdmin

from .models import Handover, HandoverEvent, HandoverItem


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "reason", "department", "leaver", "opened_by", "opened_at", "state", "completed_at")
    list_filter = ("kind", "state", "department")
    date_hierarchy = "opened_at"
    list_select_related = ("department", "leaver", "opened_by")
    raw_id_fields = ("leaver", "opened_by", "completed_by", "cancelled_by", "hold")


@admin.register(HandoverItem)
class HandoverItemAdmin(ReadOnlyAdmin):
    list_display = ("handover", "customer", "receiver", "to_pool", "note_written_at", "confirmed_at")
    list_filter = ("to_pool",)
    search_fields = ("customer__name",)
    list_select_related = ("handover", "customer", "receiver")
    raw_id_fields = ("handover", "customer", "receiver", "sent_by", "confirmed_by")


@admin.register(HandoverEvent)
class HandoverEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "handover", "kind", "actor", "count", "receiver")
    list_filter = ("kind",)
    date_hierarchy = "at"
    raw_id_fields = ("handover", "actor", "receiver", "item")
