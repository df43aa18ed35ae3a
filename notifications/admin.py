from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "text", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("text", "recipient__username", "recipient__display_name")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    readonly_fields = ("recipient", "kind", "text", "url", "created_at", "read_at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
