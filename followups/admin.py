"""Admin: read-only. Plans, visits and reports change through followups.services."""

from django.contrib import admin

from .models import Report, ReportComment, Visit, VisitPlan


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(VisitPlan)
class VisitPlanAdmin(ReadOnlyAdmin):
    list_display = ("salesperson", "month", "target_count", "updated_at")
    list_filter = ("month",)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("visited_at", "salesperson", "customer", "channel", "next_follow_up_on")
    list_filter = ("channel",)
    search_fields = ("customer__name",)
    raw_id_fields = ("customer", "contact", "salesperson")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("salesperson", "kind", "period_start", "status", "submitted_at")
    list_filter = ("kind", "status")


@admin.register(ReportComment)
class ReportCommentAdmin(ReadOnlyAdmin):
    list_display = ("report", "author", "created_at")
