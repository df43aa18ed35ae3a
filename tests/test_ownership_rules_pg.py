"""Races of issue 11, for real on PostgreSQL (threads on their own connections): the nightly
warning step against a release and claim (R5.10), simultaneous registrations sharing a phone or a
credit code (R5.1).

Each test forces the interleaving that used to go wrong: it holds one transaction at the exact
statement where the other must slip in, lets the other run until it finishes or waits on a lock,
then lets the first go on.
"""

import threading
import time
from datetime import date

import psycopg
import pytest
from django.db import connection, connections

from notifications.models import Notification
from ownership import services
from ownership.nightly import nightly_release

from .helpers import at, owned_customer, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True)


def run_until_done_or_waiting(target, timeout: float = 15) -> threading.Thread:
    """Start `target` in a thread with its own connection and return once it has finished or is
    waiting on a lock held by the caller."""
    errors: list[BaseException] = []

    def work():
        try:
            target()
        except BaseException as exc:  # reported by the caller through .errors
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    deadline = time.monotonic() + timeout
    with _other_connection() as watcher:
        while thread.is_alive() and time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.02)
    assert thread.is_alive() or not errors, errors
    thread.waited = thread.is_alive()  # type: ignore[attr-defined]
    return thread


class PauseBefore:
    """A database execute wrapper that, the first time a statement beginning with `start` and
    containing `marker` is about to run on this connection, calls `meanwhile()` first."""

    def __init__(self, start: str, marker: str, meanwhile):
        self.start = start
        self.marker = marker
        self.meanwhile = meanwhile
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and sql.lstrip().startswith(self.start) and self.marker in sql:
            self.fired = True
            self.meanwhile()
        return execute(sql, params, many, context)


# --- R5.10: the warning step marks only what it warned about -----------------------------------------


def test_r5_10_a_customer_released_and_claimed_while_the_warnings_run_is_not_marked_warned(owner, teammate):
    """Owner's deadline is 1 Mar; the run as of 25 Feb warns it. Between the run's reading of the
    customers to warn and its marking them warned, the owner releases the customer and the
    teammate claims it (deadline 25 Apr). The teammate's deadline must not be marked warned: it was
    never warned about it."""
    c = owned_customer(owner, since=date(2026, 1, 1))
    services.release_note_write(
        customer=c, user=owner, situation="暂无需求", contact_details="王经理", communication_level="已报价"
    )
    claimed: list[threading.Thread] = []

    def release_and_claim():
        services.customer_release(customer=reload(c), user=owner, now=at(date(2026, 2, 25), 2))
        services.customer_claim(customer=reload(c), user=teammate, now=at(date(2026, 2, 25), 3))

    pause = PauseBefore(
        "UPDATE", '"warned_for_deadline" = ', lambda: claimed.append(run_until_done_or_waiting(release_and_claim))
    )
    with connection.execute_wrapper(pause):
        result = nightly_release(as_of=date(2026, 2, 25), now=at(date(2026, 2, 25), 1))
    claimed[0].join(30)
    assert not claimed[0].errors, claimed[0].errors  # type: ignore[attr-defined]
    c = reload(c)
    assert c.owner == teammate and c.deadline == date(2026, 4, 25)
    assert c.warned_for_deadline is None  # the teammate will be warned before 25 Apr
    assert result.run.warned == 1
    assert Notification.objects.filter(recipient=owner, kind="warning").count() == 1
    assert not Notification.objects.filter(recipient=teammate, kind="warning").exists()
    assert claimed[0].waited  # type: ignore[attr-defined]  # the release waited for the run's lock
