from django.db.models import QuerySet

from . import roles
from .models import User


def salespeople_visible_to(user: User) -> QuerySet[User]:
    """Active salespeople a user may pick (assignments, filters): its department, or all for admins."""
    qs = User.objects.filter(is_active=True, groups__name=roles.SALESPERSON).order_by("username")
    if user.is_admin_role:
        return qs
    if user.is_manager or user.is_finance:
        return qs.filter(department_id=user.department_id) if user.department_id else qs.none()
    return qs.filter(pk=user.pk)
