"""Redis (the Celery broker) down, and workers that die (R1.2 imports).

The project's real Celery app, with its settings (bounded connection and publish retries, no
result backend), is pointed at a broker on a closed port, or at a listener that hangs up on every
connection and counts them. A request that queues a task answers at once with a translated message
and leaves the import visibly waiting; resume-stalled-imports hands it to a worker once the broker
is back, and hands over any check or import nobody works on any more."""

import io
import socket
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from collection import services
from collection.models import ImportBatch, ImportStatus
from collection.selectors import import_state, progress_key
from collection.tasks import import_check_task
from crm.celery import app
from crm.queue import enqueue
from customers.models import Customer

from .broker_helpers import broker_back, closed_port
from .collection_helpers import csv_bytes, generated_rows

pytestmark = pytest.mark.usefixtures("english")

WAITING = "The background task queue cannot be reached right now."


@pytest.fixture
def media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def large(monkeypatch):
    """Files of 3 rows or more go to the worker, as 10,000-row files do."""
    monkeypatch.setattr(services, "LARGE_ROWS", 3)


# --- Bounded retries --------------------------------------------------------------------------------


def test_the_celery_settings_bound_the_wait_and_drop_the_result_backend():
    # Redis' result backend retried a lost connection 20 times, one second apart, inside the
    # request (the probe's 19 s); nothing reads task results.
    assert not app.conf.result_backend
    assert app.conf.task_ignore_result is True
    assert app.conf.task_publish_retry_policy["max_retries"] <= 2
    assert app.conf.broker_connection_timeout <= 5
    options = app.conf.broker_transport_options
    assert options["socket_connect_timeout"] <= 5 and options["socket_timeout"] <= 5


def test_a_closed_broker_port_is_a_false_not_an_exception(broker_at, caplog):
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    assert enqueue(import_check_task, 1) is False
    record = next(r for r in caplog.records if r.name == "crm.queue")
    assert "not queued, broker unreachable" in record.getMessage() and record.exc_info is None


def test_connection_attempts_are_bounded(broker_at):
    """A listener that hangs up on every connection: one attempt and the two retries of
    CELERY_TASK_PUBLISH_RETRY_POLICY, not Celery's default of a minute of retries."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        broker_at(f"redis://127.0.0.1:{server.getsockname()[1]}/0")
        assert enqueue(import_check_task, 1) is False
    finally:
        server.close()
        thread.join(timeout=5)
    assert 1 <= len(accepted) <= 1 + app.conf.task_publish_retry_policy["max_retries"]


# --- The request that queues the task -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_upload_with_the_broker_down_answers_at_once_and_waits_visibly(client_for, owner, media, large, broker_at):
    """The probe's case: a large list uploaded while Redis is unreachable gave a 500 after 19 s and
    left the import "checking" with no task. Now: a redirect with a translated message, the page
    says the work waits, and the scheduled task starts it once the broker is back."""
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    client = client_for(owner)
    response = client.post(
        reverse("collection:import_new"),
        {"file": SimpleUploadedFile("list.csv", csv_bytes(generated_rows(5))), "source": "media"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("collection:import_detail", args=[batch.pk])
    assert batch.status == ImportStatus.CHECKING and batch.as_task and batch.is_waiting
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert WAITING in page  # the message
    assert "Waiting for the background worker" in page and 'data-state="waiting"' in page
    poll = client.get(reverse("collection:import_progress", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert poll.status_code == 200 and 'data-state="waiting"' in poll.content.decode()

    # Still down: the scheduled task finds it, fails to queue it, and it keeps waiting.
    assert services.imports_resume_stalled() == [batch.pk]
    batch.refresh_from_db()
    assert batch.is_waiting and batch.resume_count == 1

    broker_back()
    assert services.imports_resume_stalled() == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CHECKED and batch.new_count == 5
    assert services.imports_resume_stalled() == []


@pytest.mark.django_db(transaction=True)
def test_starting_the_import_with_the_broker_down_waits_too(client_for, owner, media, large, broker_at):
    batch = services.import_check(
        batch=services.import_upload(
            user=owner, file_name="l.csv", data=csv_bytes(generated_rows(4)), source="media", language="en"
        ),
        user=owner,
        mapping={"name": 0, "credit_code": 1, "phone": 5},
    )
    batch.refresh_from_db()  # checked by the task, in-process
    assert batch.status == ImportStatus.CHECKED and batch.as_task
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    client = client_for(owner)
    response = client.post(reverse("collection:import_run", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert WAITING in client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.IMPORTING and batch.is_waiting and Customer.objects.count() == 0
    broker_back()
    call_command("imports_resume", "--stalled", stdout=io.StringIO())  # the task's command
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and Customer.objects.count() == 4


@pytest.mark.django_db
def test_the_import_page_survives_the_cache_being_down(settings, client_for, owner, media, large):
    """Progress lives in the cache (Redis in production): without it the page shows the database's
    figures instead of a 500."""
    batch = services.import_upload(
        user=owner, file_name="l.csv", data=csv_bytes(generated_rows(4)), source="media", language="en"
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.CHECKING, queued_at=timezone.now())
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    client = client_for(owner)
    assert client.get(reverse("collection:import_detail", args=[batch.pk])).status_code == 200
    assert client.get(reverse("collection:import_progress", args=[batch.pk])).status_code == 200


# --- Stalled work -------------------------------------------------------------------------------------


def _left_importing(owner, django_capture_on_commit_callbacks, rows: int = 3) -> ImportBatch:
    """A checked file whose import was queued, but the worker died before doing it."""
    batch = services.import_check(
        batch=services.import_upload(
            user=owner, file_name="l.csv", data=csv_bytes(generated_rows(rows)), source="media", language="en"
        ),
        user=owner,
        mapping={"name": 0, "credit_code": 1, "phone": 5},
    )
    with django_capture_on_commit_callbacks(execute=False):  # the queued task never runs
        ImportBatch.objects.filter(pk=batch.pk).update(as_task=True)
        services.import_start(batch=batch, user=owner)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.IMPORTING and batch.queued_at is not None
    return batch


@pytest.mark.django_db
def test_a_stalled_import_shows_stalled_and_is_resumed_automatically(
    client_for, owner, media, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    batch = _left_importing(owner, django_capture_on_commit_callbacks)
    client = client_for(owner)
    url = reverse("collection:import_progress", args=[batch.pk])

    time_machine.shift(timedelta(minutes=4))  # within IMPORT_STALL_MINUTES (5): still running
    assert import_state(batch) == "running"
    assert services.imports_resume_stalled() == []
    assert 'data-state="running"' in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    time_machine.shift(timedelta(minutes=2))
    assert import_state(batch) == "stalled"
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Stalled, resuming: no progress for 5 minutes" in body
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Stalled" not in zh and 'data-state="stalled"' in zh

    with django_capture_on_commit_callbacks(execute=True):  # the task is queued once this commits
        assert services.imports_resume_stalled() == [batch.pk]  # the beat task, every minute
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.resume_count == 1 and Customer.objects.count() == 3
    assert services.imports_resume_stalled() == []  # safe twice
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_recent_progress_means_a_worker_is_on_it(owner, media, django_capture_on_commit_callbacks, time_machine):
    from django.core.cache import cache

    time_machine.move_to(timezone.now(), tick=False)
    batch = _left_importing(owner, django_capture_on_commit_callbacks)
    time_machine.shift(timedelta(minutes=30))
    services._progress(batch.pk, 1, 3)  # what a running transaction publishes
    assert import_state(batch) == "running"
    assert services.imports_resume_stalled() == []
    cache.delete(progress_key(batch.pk))
    assert services.imports_resume_stalled() == [batch.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_a_worker_holds_is_left_to_it(owner, media, time_machine):
    """A worker's check or import holds the batch's row for its whole transaction (and may wait
    there for another import's lock without publishing progress): the sweep skips it."""
    time_machine.move_to(timezone.now(), tick=True)
    batch = services.import_check(
        batch=services.import_upload(
            user=owner, file_name="l.csv", data=csv_bytes(generated_rows(3)), source="media", language="en"
        ),
        user=owner,
        mapping={"name": 0, "credit_code": 1, "phone": 5},
    )
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.IMPORTING, as_task=True, queued_at=timezone.now() - timedelta(hours=1)
    )
    locked, release = threading.Event(), threading.Event()

    def worker() -> None:
        try:
            with transaction.atomic():
                ImportBatch.objects.select_for_update().get(pk=batch.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        assert services.imports_resume_stalled() == []
    finally:
        release.set()
        thread.join(timeout=30)
    assert services.imports_resume_stalled() == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
