from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.errors import DomainError

from . import roles


class Department(models.Model):
    """A sales department (销售二部 …): it has its own pool and its own rule settings."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text=_("Every salesperson and manager belongs to one department; admins may have none."),
    )
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    is_probation = models.BooleanField(
        _("on probation"), default=False, help_text=_("Probation staff own fewer customers.")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def delete(self, *args, **kwargs):
        # History points at users: someone who leaves is deactivated (is_active), never deleted.
        # On PostgreSQL a trigger refuses a DELETE from any client (accounts migration 0004).
        raise DomainError(str(_("Users are deactivated, never deleted: their history keeps pointing at them.")))

    @cached_property
    def role_names(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or roles.ADMIN in self.role_names

    @property
    def is_manager(self) -> bool:
        return roles.MANAGER in self.role_names

    @property
    def is_finance(self) -> bool:
        return roles.FINANCE in self.role_names

    @property
    def is_salesperson(self) -> bool:
        return roles.SALESPERSON in self.role_names

    @property
    def role_label(self) -> str:
        if self.is_admin_role:
            return str(_("Admin"))
        if self.is_manager:
            return str(_("Manager"))
        if self.is_finance:
            return str(_("Finance"))
        if self.is_salesperson:
            return str(_("Salesperson (probation)")) if self.is_probation else str(_("Salesperson"))
        return str(_("No role"))
