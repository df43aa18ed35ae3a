import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_checks

log = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For compose, load balancers and monitors (README "Production").

    503 only when the database does not answer: without it this container serves nothing, and a
    restart may help. Redis and the nightly job are reported ("error", "stale") with a 200 and
    "status": "degraded": every web container shares them, so marking the containers unhealthy
    would only restart them in a loop (or take them all out of the load balancer) while pages
    still work. A monitor that wants a failing status for those asks `/healthz?strict=1`."""
    checks: dict[str, Any] = {}
    database_ok = True
    others_ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        log.exception("health check: database")
        checks["database"] = "error"
        database_ok = False
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            log.warning("health check: redis: %s", exc)
            checks["redis"] = "error"
            others_ok = False
    if database_ok:
        for name, check in health_checks().items():
            try:
                ok, fields = check()
            except Exception:
                log.exception("health check: %s", name)
                ok, fields = False, {name: "error"}
            checks.update(fields)
            others_ok = others_ok and ok
    status = "ok" if database_ok and others_ok else ("degraded" if database_ok else "error")
    strict = request.GET.get("strict") not in (None, "", "0")
    healthy = database_ok and (others_ok or not strict)
    return JsonResponse({"status": status, **checks}, status=200 if healthy else 503)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico → the static icon (pages link it; browsers and tools still ask the root)."""
    response = redirect(static("img/favicon.ico"))
    patch_cache_control(response, public=True, max_age=86400)
    return response
