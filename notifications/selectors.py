from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notified_since(*, user_ids: list[int], kind: str, after: datetime) -> set[int]:
    """Which of these users got a notification of `kind` after that moment (so a periodic reminder
    is sent once, however often its task runs)."""
    return set(
        Notification.objects.filter(recipient_id__in=user_ids, kind=kind, created_at__gt=after).values_list(
            "recipient_id", flat=True
        )
    )
