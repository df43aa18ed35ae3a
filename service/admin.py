from django.contrib import admin

from crm.admin import ReadOnlyAdmin

from .models import RequestEvent, RequestHelper, ServiceRequest, ServiceSettings


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "customer", "caller_company", "responsible", "status", "outcome", "due_on")
    list_filter = ("kind", "status", "outcome")
    search_fields = ("customer__name", "caller_company", "caller_phone")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "responsible")
    raw_id_fields = ("customer", "responsible")


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "request", "kind", "actor")
    list_filter = ("kind",)
    date_hierarchy = "at"
    list_select_related = ("request", "actor")


@admin.register(RequestHelper)
class RequestHelperAdmin(ReadOnlyAdmin):
    list_display = ("added_at", "request", "user", "added_by")
    list_select_related = ("request", "user", "added_by")


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(ReadOnlyAdmin):
    list_display = ("department", "visit_days", "call_days", "consultation_days", "complaint_days")
