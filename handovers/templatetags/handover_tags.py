from django import template

from handovers.selectors import involved, pending_for

register = template.Library()


@register.simple_tag(takes_context=True)
def handover_nav(context) -> dict:
    """What the navigation shows: the entry for managers, admins and salespeople with a handover,
    and a badge of what waits for this user (items to confirm or notes to write)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False, "badge": 0}
    pending = pending_for(user)
    manages = user.is_manager or user.is_admin_role
    badge = pending["to_confirm"] + pending["to_write"]
    return {"show": manages or bool(badge) or (user.is_salesperson and involved(user)), "badge": badge}
