from celery import shared_task


@shared_task(name="service.tasks.notify_overdue_requests")
def notify_overdue_requests(as_of: str | None = None) -> int:
    """Beat runs this at 01:45 Asia/Shanghai (R6.3). Idempotent: each request is notified once per
    due day."""
    from datetime import date

    from .services import requests_notify_overdue

    return requests_notify_overdue(as_of=date.fromisoformat(as_of) if as_of else None)
