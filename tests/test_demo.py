"""`manage.py seed_demo` (what `make run` loads): every capability gets believable data, the
logins of each role exist, and a second run adds nothing."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db

APPS = (
    "accounts",
    "customers",
    "ownership",
    "sales",
    "followups",
    "service",
    "collection",
    "notifications",
    "handovers",
)


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models() if model._meta.app_label in APPS}


def test_seed_demo_fills_every_capability_once(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()
    for username in ("zhangwei", "zhaolei", "manager", "finance", "admin"):
        assert username in out.getvalue()
    assert first["customers.Customer"] >= 300
    for label in (
        "customers.Contact",
        "customers.CustomerDocument",
        "ownership.OwnershipEvent",
        "sales.Order",
        "sales.Payment",
        "followups.Visit",
        "followups.Report",
        "service.ServiceRequest",
        "collection.ImportBatch",
        "collection.InfoReport",
        "notifications.Notification",
        "handovers.Handover",
        "handovers.HandoverItem",
    ):
        assert first[label] > 0, f"the demo has no {label}"
    assert any(tmp_path.rglob("*.pdf")), "demo documents are stored files"
    # R7: one completed resignation (its leaver can no longer log in) and one open transfer.
    from accounts.models import User
    from handovers.models import Handover

    assert sorted(Handover.objects.values_list("kind", "state")) == [("resignation", "completed"), ("transfer", "open")]
    assert not User.objects.get(username="sunyue").is_active

    call_command("seed_demo", stdout=StringIO())
    assert counts() == first
