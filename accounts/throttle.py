"""Login throttling (django-axes), two limits on the failures of the last cool-off period:

- AXES_FAILURE_LIMIT failures for one username from one address lock that pair (axes' own rule,
  AXES_LOCKOUT_PARAMETERS): a colleague elsewhere can still log in, and a stranger cannot lock
  someone out from everywhere;
- AXES_IP_FAILURE_LIMIT failures from one address, whatever the usernames, lock the address: one
  address may not try a few passwords on each of many accounts.

The address is `crm.net.client_ip` (AXES_CLIENT_IP_CALLABLE), which trusts X-Forwarded-For only
as far as TRUSTED_PROXY_COUNT says. Axes compares one number with one limit, so the per-address
count is scaled to AXES_FAILURE_LIMIT: floor(f × L / IL) ≥ L exactly when f ≥ IL."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class CrmAxesHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        per_username = super().get_failures(request, credentials)
        ip = getattr(request, "axes_ip_address", None)
        ip_limit = settings.AXES_IP_FAILURE_LIMIT
        if not ip or ip_limit <= 0:
            return per_username
        per_address = (
            AccessAttempt.objects.filter(ip_address=ip, attempt_time__gte=get_cool_off_threshold(request)).aggregate(
                n=Sum("failures_since_start")
            )["n"]
            or 0
        )
        limit = get_failure_limit(request, credentials)
        return max(per_username, per_address * limit // ip_limit)
