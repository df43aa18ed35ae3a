from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services only: every change there is locked, checked and audited, so
    the admin only reads them (business rules never live in the admin)."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
