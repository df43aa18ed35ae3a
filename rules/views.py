"""The rules page: the department's policy in plain words, as the CRM applies it, with the
settings in force for the reader's department (docs/rules.md is the same for developers)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.models import Department
from collection.parsing import MAX_FILE_BYTES, MAX_ROWS
from crm.pagination import id_param
from customers.selectors import EXPIRY_WARNING_DAYS
from ownership.models import PoolSettings
from ownership.selectors import NIGHTLY_HOUR, pool_settings_of
from sales.services import sales_settings_of
from service.selectors import settings_of as service_settings_of


def _department(request: HttpRequest) -> tuple[Department | None, list[Department] | None]:
    """The reader's own department; admins and finance, who work across departments, pick one
    (?department=), their own or the first by default."""
    user = request.user
    if not (user.is_admin_role or user.is_finance):
        return user.department, None
    departments = list(Department.objects.order_by("name"))
    wanted = id_param(request.GET.get("department")) or user.department_id
    chosen = next((d for d in departments if d.pk == wanted), None)
    return chosen or (departments[0] if departments else None), departments


@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    department, departments = _department(request)
    department_id = department.pk if department else None
    context: dict[str, Any] = {
        "department": department,
        "departments": departments,
        "pool": pool_settings_of(department_id),
        "sales": sales_settings_of(department_id),
        "service": service_settings_of(department_id),
        "deal_months": PoolSettings.DEAL_MONTHS,
        "no_sale_months": PoolSettings.NO_SALE_MONTHS,
        "max_extension_months": PoolSettings.MAX_EXTENSION_MONTHS,
        "expiry_warning_days": EXPIRY_WARNING_DAYS,
        "nightly_time": f"{NIGHTLY_HOUR:02d}:00",
        "import_max_rows": MAX_ROWS,
        "import_max_mb": MAX_FILE_BYTES // (1024 * 1024),
    }
    return render(request, "rules/index.html", context)
