"""Dates as the department lives them: Asia/Shanghai days and calendar months."""

from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from django.utils import timezone


def local_today(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai (the active time zone), at `now` or at the current moment."""
    return timezone.localdate(now or timezone.now())


def add_months(day: date, months: int) -> date:
    """Calendar-month arithmetic with end-of-month clamping: 31 Jan + 1 month = 28/29 Feb."""
    return day + relativedelta(months=months)


def start_of_local_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())
