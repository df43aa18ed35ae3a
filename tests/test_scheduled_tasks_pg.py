"""Several workers (and, by mistake, two beats) against one database: each scheduled task run twice
at the same moment acts once. For real on PostgreSQL: both runs are made to wait on the same rows,
then let go together.

The nightly job is exclusive through its advisory lock (test_ownership_pg.py); the reminders of
R4.1 and R6.3 lock the rows they notify and PostgreSQL re-checks "not yet notified" after the wait;
the nightly-overdue reminder takes an advisory lock (test_nightly_monitoring.py); the stalled-import
sweep skips rows a worker holds (test_broker_outage.py)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from crm.dates import local_today
from customers.models import Customer, CustomerDocument
from customers.services import documents_notify_expiring
from notifications.models import Notification
from service import services as service_services
from service.models import ServiceRequest

from .helpers import at, owned_customer
from .test_documents import PDF, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _twice_at_once(run, lock_rows) -> list:
    """Hold the rows `lock_rows` selects, start two runs, wait until both are blocked on them, let
    go; returns both runs' results."""
    results: list = []
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                list(lock_rows().select_for_update())
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def worker() -> None:
        try:
            results.append(run())
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(timeout=30)
    threads += [threading.Thread(target=worker) for _ in range(2)]
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= 2:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the two runs never both waited on the rows")
    release.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(isinstance(r, Exception) for r in results), results
    return results


def test_expiring_documents_run_twice_at_once_notify_once(settings, tmp_path, client_for, owner):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    mine = owned_customer(owner, since=local_today() - timedelta(days=5))
    for days in (3, 10):
        upload(client_for(owner), mine, PDF, valid_until=(mine.owned_since + timedelta(days=days)).isoformat())
    results = _twice_at_once(lambda: documents_notify_expiring(), lambda: CustomerDocument.objects.all())
    assert sorted(results) == [0, 2]
    assert Notification.objects.filter(recipient=owner, kind="document_expiring").count() == 2


def test_overdue_requests_run_twice_at_once_notify_once(owner, manager):
    customer = owned_customer(owner, since=local_today())
    day = customer.owned_since
    for text in ("货物破损", "发票错误"):
        service_services.request_log(
            user=owner,
            data=service_services.RequestInput(kind="complaint", channel="phone", text=text),
            customer=Customer.objects.get(pk=customer.pk),
            now=at(day, 10),
        )
    late = day + timedelta(days=10)
    results = _twice_at_once(
        lambda: service_services.requests_notify_overdue(as_of=late), lambda: ServiceRequest.objects.all()
    )
    assert sorted(results) == [0, 2]
    assert Notification.objects.filter(recipient=owner, kind="service_overdue").count() == 2
    assert Notification.objects.filter(recipient=manager, kind="service_overdue").count() == 1
