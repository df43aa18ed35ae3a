from celery import shared_task


@shared_task(name="customers.tasks.notify_expiring_documents")
def notify_expiring_documents(as_of: str | None = None) -> int:
    """Beat runs this at 01:30 Asia/Shanghai (R4.1). Idempotent: each document and validity date is
    notified once."""
    from datetime import date

    from .services import documents_notify_expiring

    return documents_notify_expiring(as_of=date.fromisoformat(as_of) if as_of else None)
