"""Changes to user accounts made by the application (not the Django admin)."""

from collections.abc import Callable
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError, PermissionDenied

from .models import User

# Why an account may not be deactivated by hand (the Django admin's "active" box), registered by
# higher apps in their AppConfig.ready(): fn(user) -> the refusal, or "" (ownership: a deactivated
# account owns nothing, R7.1). Accounts (floor 1) imports none of them.
DeactivationCheck = Callable[[User], str]
_deactivation_checks: dict[str, DeactivationCheck] = {}


def register_deactivation_check(name: str, fn: DeactivationCheck) -> None:
    _deactivation_checks[name] = fn


def deactivation_refusals(user: User) -> list[str]:
    """What stands in the way of deactivating `user` outside a resignation handover."""
    return [text for fn in _deactivation_checks.values() if (text := fn(user))]


def user_deactivate(*, user: User, by: User, owned_count: Callable[[], int], now: datetime | None = None) -> int:
    """R7.1: the account of a salesperson whose resignation handover is complete is deactivated
    and its sessions end at once. `owned_count()` counts the customers it still owns (accounts,
    floor 1, cannot read ownership); it is called once the user row is locked, so a customer
    given to the user concurrently is seen: a deactivated user owns nothing, anything but 0
    refuses.

    Returns the number of sessions ended. The user row is locked FOR NO KEY UPDATE (never plainly:
    that would conflict with the FOR KEY SHARE of every row referring to the user at COMMIT)."""
    now = now or timezone.now()
    if not (by.is_admin_role or (by.is_manager and by.department_id == user.department_id)):
        raise PermissionDenied(_("Only a manager of this salesperson's department may do this."))
    with transaction.atomic():
        current = User.objects.select_for_update(no_key=True, of=("self",)).get(pk=user.pk)
        owned = owned_count()
        if owned:
            raise DomainError(
                _("%(user)s still owns %(n)d customers: a deactivated account owns nothing; add them to the handover.")
                % {"user": current, "n": owned}
            )
        if current.is_active:
            current.is_active = False
            current.save(update_fields=["is_active"])
        ended = _end_sessions(current, now)
    user.is_active = False
    return ended


def _end_sessions(user: User, now: datetime) -> int:
    """Delete the user's stored sessions. Whatever the session engine, a deactivated user's
    session no longer authenticates (ModelBackend refuses inactive users on every request);
    with database-backed sessions the rows themselves go too."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    get_model = getattr(store, "get_model_class", None)
    if get_model is None:
        return 0
    model = get_model()
    ended = []
    for key, data in model.objects.filter(expire_date__gt=now).values_list("session_key", "session_data").iterator():
        if str(store().decode(data).get(SESSION_KEY)) == str(user.pk):
            ended.append(key)
    if ended:
        model.objects.filter(session_key__in=ended).delete()
    return len(ended)
