from datetime import date

from django import template

register = template.Library()


@register.filter
def days_from(day: date | None, today: date) -> int | None:
    """Calendar days from `today` to `day` (negative: past)."""
    if day is None or today is None:
        return None
    return (day - today).days


@register.filter
def days_since(day: date | None, today: date) -> int | None:
    if day is None or today is None:
        return None
    return (today - day).days


@register.filter
def industry_label(value: str) -> str:
    from customers.models import Industry

    return str(dict(Industry.choices).get(value, value))
