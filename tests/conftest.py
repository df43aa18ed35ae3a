"""Shared fixtures: departments, one user per role, logged-in clients.

Markers (declared in pyproject.toml):
- ``@pytest.mark.postgres``: needs PostgreSQL (row locks, triggers, partial indexes as planned);
  skipped when the default database is not PostgreSQL. `make test` with DATABASE_URL, or
  `.ci/run`, runs them.
- ``@pytest.mark.browser``: Playwright + headless Chromium (fixtures in tests/browser/conftest.py);
  skipped when /usr/bin/chromium is missing.

Time: use time-machine's ``time_machine`` fixture rather than patching ``timezone.now``::

    def test_deadline(time_machine, owner):
        time_machine.move_to(datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI), tick=False)
        ...
        time_machine.shift(timedelta(days=61))

It moves ``datetime.now``, ``date.today``, ``time.time`` and therefore ``django.utils.timezone.now``
for the duration of the test. Give aware datetimes in Asia/Shanghai (``zoneinfo.ZoneInfo
("Asia/Shanghai")``): the rules count calendar days there.

Users: every factory user's password is ``tests.factories.DEFAULT_PASSWORD``. Roles are groups;
the factory re-creates a group a transactional test's flush removed.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from accounts import roles
from accounts.models import Department, User

from .factories import DepartmentFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns once per request handler when STATIC_ROOT (staticfiles/, made by
    # collectstatic) does not exist; tests serve static files from the app directories instead.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning:django.core.handlers.base")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    vendor = connections["default"].vendor  # no connection is opened
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    skip_browser = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if vendor != "postgresql" and item.get_closest_marker("postgres"):
            item.add_marker(skip_pg)
        if not CHROMIUM.exists() and item.get_closest_marker("browser"):
            item.add_marker(skip_browser)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Factories hash a password per user: MD5 instead of 1,000,000 PBKDF2 rounds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process in tests even when REDIS_URL is set (as in CI): no worker runs,
    and a queued task would otherwise never happen."""
    from crm.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def broker_at():
    """`broker_at(url)`: the project's Celery app, with its real settings, publishes to that broker
    (not in-process) until the test ends. tests/broker_helpers.py."""
    from .broker_helpers import broker_at_fixture

    yield from broker_at_fixture()


# --- Departments ---------------------------------------------------------------------------


@pytest.fixture
def department(db) -> Department:
    return DepartmentFactory(name="销售二部", code="sales-2")


@pytest.fixture
def other_department(db) -> Department:
    return DepartmentFactory(name="销售一部", code="sales-1")


# --- One user per role ---------------------------------------------------------------------


@pytest.fixture
def owner(department) -> User:
    """A salesperson in `department`; the usual owner of the customers under test."""
    return UserFactory(username="zhangwei", display_name="张伟", role=roles.SALESPERSON, department=department)


@pytest.fixture
def teammate(department) -> User:
    """Another salesperson in the same department."""
    return UserFactory(username="lina", display_name="李娜", role=roles.SALESPERSON, department=department)


@pytest.fixture
def outsider(other_department) -> User:
    """A salesperson in another department: must not see `department`'s pool or customers."""
    return UserFactory(username="wangfang", display_name="王芳", role=roles.SALESPERSON, department=other_department)


@pytest.fixture
def manager(department) -> User:
    return UserFactory(username="liuqiang", display_name="刘强", role=roles.MANAGER, department=department)


@pytest.fixture
def finance(db) -> User:
    return UserFactory(username="chenjing", display_name="陈静", role=roles.FINANCE, department=None)


@pytest.fixture
def admin_user(db) -> User:
    """The admin role (group) with staff access; not a superuser."""
    return UserFactory(username="admin", display_name="赵敏", role=roles.ADMIN, department=None, is_staff=True)


@pytest.fixture
def probation(department) -> User:
    """A salesperson on probation (R5.8: owns fewer customers)."""
    return UserFactory(
        username="sunli", display_name="孙丽", role=roles.SALESPERSON, department=department, is_probation=True
    )


# --- Clients -------------------------------------------------------------------------------


@pytest.fixture
def client_for(db) -> Callable[[User], Client]:
    """``client_for(owner).get(url)``: a test client logged in as that user (no password, so
    django-axes is not involved)."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def english(settings):
    """Messages in English: for tests that assert on message texts written in English. Pages fall
    back to settings.LANGUAGE_CODE (the test client sends no Accept-Language); services called
    directly use the active language."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
