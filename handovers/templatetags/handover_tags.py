from django import template

from handovers.selectors import pending_for

register = template.Library()


@register.simple_tag(takes_context=True)
def handover_nav(context) -> dict:
    """What the navigation shows: the entry for managers and admins (no query) and for
    salespeople involved in an open handover, with a badge of what waits for them (one query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False, "badge": 0}
    if user.is_manager or user.is_admin_role:
        return {"show": True, "badge": 0}
    pending = pending_for(user)
    return {"show": bool(pending["involved"]), "badge": pending["to_confirm"] + pending["to_write"]}
