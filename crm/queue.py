"""Handing a task to the Celery broker from a web request or a service.

The broker (Redis) may be down. The request must not wait for it nor fail with a 500: the
connection and publish retries are bounded in settings (CELERY_BROKER_*, one attempt of a couple
of seconds and two quick retries), and `enqueue` answers False instead of raising, so the caller
can leave its job in a visible waiting state that a scheduled task picks up once the broker is
back (collection: imports)."""

import logging
from typing import Any

from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any) -> bool:
    """`task.delay(*args)`; False when the broker could not be reached (logged, one line)."""
    if task.app.conf.task_always_eager:
        # In-process (development, tests): the task's own errors are not the broker's.
        task.delay(*args)
        return True
    try:
        task.delay(*args)
    except (OperationalError, OSError) as exc:
        log.warning("task %s not queued, broker unreachable: %s", task.name, exc)
        return False
    return True
