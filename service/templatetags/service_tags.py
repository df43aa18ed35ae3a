from django import template

from crm.dates import local_today
from service.selectors import overdue_for

register = template.Library()


@register.simple_tag(takes_context=True)
def service_overdue_count(context) -> int:
    """R6.3: the nav badge, overdue requests shown to their responsible person and the managers."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return overdue_for(user=user, today=local_today()).count()
