"""Deployment settings, the health check, and login being required everywhere else."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

BASE_DIR = Path(settings.BASE_DIR)
# Variables crm/settings.py reads: a subprocess starts from none of the caller's values.
APP_VARIABLES = {
    "DJANGO_ENV",
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CONN_MAX_AGE",
    "REDIS_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "PRIVATE_MEDIA_ROOT",
    "AXES_FAILURE_LIMIT",
    "AXES_IP_FAILURE_LIMIT",
    "TRUSTED_PROXY_COUNT",
    "SESSION_IDLE_MINUTES",
    "PASSWORD_MIN_LENGTH",
    "CELERY_BROKER_TIMEOUT",
    "IMPORT_STALL_MINUTES",
    "NIGHTLY_STALE_HOURS",
    "BACKUP_DIR",
    "LOG_LEVEL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE comes from the browser tests' conftest; deploy checks reject it.
    dropped = APP_VARIABLES | {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://x@localhost/x",
        "ALLOWED_HOSTS": "crm.example.com",
    }


def dotenv_defines(name: str) -> bool:
    """A developer's .env is read by settings.py and would fill in what the test leaves out."""
    path = BASE_DIR / ".env"
    return path.exists() and any(line.strip().startswith(f"{name}=") for line in path.read_text().splitlines())


# --- Health check ------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_anonymous_with_database_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    if settings.REDIS_URL:
        assert body["redis"] == "ok"
    assert "no-cache" in response.get("Cache-Control", "")


# --- Login required everywhere else -------------------------------------------------------

SAMPLE_ARGS = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000000", "path": "x"}


def _sample_paths(resolver: URLResolver, prefix: str = "") -> list[str]:
    """One concrete path per `path()` pattern, its converters filled with sample values
    (`re_path()` patterns have no sample to build and are left out)."""
    paths: list[str] = []
    for entry in resolver.url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue
        route = str(entry.pattern)
        for name, converter in entry.pattern.converters.items():
            kind = type(converter).__name__.removesuffix("Converter").lower()
            route = re.sub(rf"<(\w+:)?{name}>", SAMPLE_ARGS.get(kind, "1"), route)
        if isinstance(entry, URLResolver):
            paths += _sample_paths(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def _protected_paths() -> list[str]:
    """Every routed path whose view is not marked @login_not_required."""
    return sorted(path for path in _sample_paths(get_resolver()) if getattr(resolve(path).func, "login_required", True))


@pytest.mark.django_db
@pytest.mark.parametrize("path", _protected_paths())
def test_every_other_view_sends_anonymous_users_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302, f"{path} answered {response.status_code} to an anonymous user"
    logins = [resolve_url(settings.LOGIN_URL)]
    if path.startswith("/admin/"):
        logins.append(reverse("admin:login"))
    assert response["Location"].split("?")[0] in logins


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/customers/mine/", "/pool/", "/notifications/"])
def test_main_pages_need_login(client, path):
    try:
        resolve(path)
    except Resolver404:
        pytest.skip(f"{path} is not routed yet")

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={path}"


@pytest.mark.django_db
def test_login_page_itself_is_public(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200


# --- Production settings ------------------------------------------------------------------


def test_deploy_checks_pass_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    if dotenv_defines("SECRET_KEY"):
        pytest.skip(".env defines SECRET_KEY, which settings.py reads")
    env = production_env()
    del env["SECRET_KEY"]

    result = manage("check", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_database_url():
    if dotenv_defines("DATABASE_URL"):
        pytest.skip(".env defines DATABASE_URL, which settings.py reads")
    env = production_env()
    del env["DATABASE_URL"]

    result = manage("check", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr
