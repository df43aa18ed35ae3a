"""What /healthz reports beside the database and Redis. Higher apps register their checks in their
AppConfig.ready() (crm, floor 0, imports none of them): ownership reports the nightly job."""

from collections.abc import Callable
from typing import Any

# fn() -> (ok, fields to add to the answer)
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
_checks: dict[str, HealthCheck] = {}


def register_health_check(name: str, fn: HealthCheck) -> None:
    _checks[name] = fn


def health_checks() -> dict[str, HealthCheck]:
    return dict(_checks)
