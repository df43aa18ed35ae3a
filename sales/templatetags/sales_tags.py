from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def yuan(value) -> str:
    """¥1,234,567.89 (CNY with thousands separators); "—" for nothing."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def percent(value) -> str:
    try:
        return f"{Decimal(value) * 100:.2f}".rstrip("0").rstrip(".") + "%"
    except (InvalidOperation, TypeError, ValueError):
        return "—"
