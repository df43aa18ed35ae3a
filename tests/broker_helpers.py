"""A broker that is down, for tests of the task queue (issue 15). The `broker_at` fixture is in
conftest.py."""

import socket
from collections.abc import Callable, Iterator

from crm.celery import app


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _reset_pools() -> None:
    # The app keeps a connection pool for the URL it first used (Celery internals: no public API
    # rebuilds it for a changed broker_url).
    app._pool = None
    app.amqp._producer_pool = None


def broker_at_fixture() -> Iterator[Callable[[str], None]]:
    """Point the project's Celery app at `url` and really publish (not in-process)."""
    saved = app.conf.broker_url, app.conf.task_always_eager

    def point(url: str) -> None:
        _reset_pools()
        app.conf.broker_url = url
        app.conf.task_always_eager = False

    yield point
    _reset_pools()
    app.conf.broker_url, app.conf.task_always_eager = saved


def broker_back() -> None:
    """The broker answers again; the tests have no worker process, so tasks run in-process."""
    app.conf.task_always_eager = True
