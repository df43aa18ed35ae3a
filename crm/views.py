import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_manager or user.is_admin_role:
        return redirect("ownership:pool")
    if user.is_finance:
        return redirect("customers:list")
    return redirect("customers:mine")


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For compose and load balancers: 200 when the database (and Redis, if configured) answer."""
    checks: dict[str, str] = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        log.exception("health check: database")
        checks["database"] = "error"
        ok = False
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception:
            log.exception("health check: redis")
            checks["redis"] = "error"
            ok = False
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)
