from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("CRM", {"fields": ("department", "display_name", "is_probation")}),
    )
    list_display = ("username", "display_name", "department", "is_probation", "is_active")
    list_filter = ("department", "groups", "is_probation", "is_active")
