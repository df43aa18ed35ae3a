"""Users, departments and role groups in the Django admin.

Nothing here is ever deleted: history rows (ownership, sales, service, downloads) point at users
and departments, and the role groups carry the CRM's permissions. A person who leaves is
deactivated. An admin cannot take its own rights away either (active, staff, superuser, groups)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group

from . import roles
from .models import Department, User
from .services import deactivation_refusals

# What an admin may not change on its own account.
OWN_RIGHTS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CrmUserChangeForm(UserChangeForm):
    def clean_is_active(self) -> bool:
        active = bool(self.cleaned_data.get("is_active"))
        if self.instance.pk and self.instance.is_active and not active:
            # R7.1: a salesperson who leaves hands its customers over (a resignation handover,
            # which deactivates the account when it is complete); a deactivated account owns nothing.
            refusals = deactivation_refusals(self.instance)
            if refusals:
                raise forms.ValidationError(refusals)
        return active


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = CrmUserChangeForm
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("CRM", {"fields": ("department", "display_name", "is_probation")}),
    )
    list_display = ("username", "display_name", "department", "is_probation", "is_active")
    list_filter = ("department", "groups", "is_probation", "is_active")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deactivate instead (the "active" box): history keeps pointing at the user.
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk == request.user.pk:
            fields += OWN_RIGHTS
        return fields


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """The four role groups are the CRM's roles (accounts/roles.py): kept, and kept by name."""

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name in roles.ALL_ROLES:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in roles.ALL_ROLES:
            fields += ("name",)
        return fields

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset.exclude(name__in=roles.ALL_ROLES))
