"""In-app notifications and mail. Callers are services; mail leaves only after their commit."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .models import Notification

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    recipient_id: int
    kind: str
    text: str
    url: str = ""


def notify_many(*, messages: Iterable[Message], now: datetime | None = None, email: bool = True) -> int:
    """Store notifications in bulk inside the caller's transaction; mail one digest per recipient
    once that transaction commits (so a rolled-back change never mails anyone)."""
    now = now or timezone.now()
    rows = [
        Notification(recipient_id=m.recipient_id, kind=m.kind, text=m.text[:500], url=m.url, created_at=now)
        for m in messages
    ]
    Notification.objects.bulk_create(rows, batch_size=2000)
    if email and rows:
        by_user: dict[int, list[str]] = {}
        for r in rows:
            by_user.setdefault(r.recipient_id, []).append(r.text)
        transaction.on_commit(lambda: _send_digests(by_user))
    return len(rows)


def notify(
    *, recipient: User, kind: str, text: str, url: str = "", now: datetime | None = None, email: bool = True
) -> None:
    notify_many(messages=[Message(recipient.pk, kind, str(text), url)], now=now, email=email)


def _send_digests(by_user: dict[int, list[str]]) -> None:
    from django.utils.translation import gettext as _

    addresses = dict(User.objects.filter(pk__in=by_user, is_active=True).exclude(email="").values_list("pk", "email"))
    for user_id, texts in by_user.items():
        address = addresses.get(user_id)
        if not address:
            continue
        subject = texts[0] if len(texts) == 1 else _("%(n)d CRM notifications") % {"n": len(texts)}
        try:
            send_mail(subject[:150], "\n".join(texts), settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # mail is best effort; the in-app notification is already stored
            log.exception("notification mail to user %s failed", user_id)


def notification_mark_read(*, user: User, notification_id: int | None = None, now: datetime | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=now or timezone.now())
