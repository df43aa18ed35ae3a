from django.contrib import admin

from crm.admin import ReadOnlyAdmin

from .models import ImportBatch, InfoReport, InfoReportEvent, InfoTask


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "file_name",
        "department",
        "uploaded_by",
        "source",
        "status",
        "total_rows",
        "new_count",
        "imported_count",
        "duration_ms",
    )
    list_filter = ("status", "source")
    search_fields = ("file_name",)
    date_hierarchy = "created_at"
    list_select_related = ("department", "uploaded_by")
    exclude = ("headers", "mapping")


@admin.register(InfoReport)
class InfoReportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "title", "category", "department", "author", "status", "published_at")
    list_filter = ("status",)
    search_fields = ("title", "category")
    date_hierarchy = "created_at"
    list_select_related = ("department", "author")
    filter_horizontal = ()
    exclude = ("customers",)


@admin.register(InfoTask)
class InfoTaskAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "report", "assignee", "findings_at")
    list_select_related = ("report", "assignee")


@admin.register(InfoReportEvent)
class InfoReportEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "report", "action", "actor")
    list_filter = ("action",)
    list_select_related = ("report", "actor")
