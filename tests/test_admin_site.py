"""The Django admin reads the audit and job records of every app (the admin role's view
permissions, accounts migration 0003) and never changes them: changes go through the services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from crm.dates import local_today

from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db

APPS = ("ownership", "sales", "service", "collection")
READ_ONLY = [model for model, model_admin in admin.site._registry.items() if model._meta.app_label in APPS]


def test_the_audit_models_are_registered():
    names = {f"{m._meta.app_label}.{m._meta.model_name}" for m in READ_ONLY}
    assert {
        "ownership.ownershipevent",
        "sales.saleevent",
        "sales.payment",
        "service.requestevent",
        "collection.importbatch",
        "collection.inforeportevent",
    } <= names


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_admin_role_reads_every_record_list(client_for, admin_user, owner, model):
    owned_customer(owner, since=local_today())
    client = client_for(admin_user)
    info = (model._meta.app_label, model._meta.model_name)
    response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
    assert response.status_code == 200
    assert client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m._meta.label)
def test_a_salesperson_does_not_enter_the_admin(client_for, owner, model):
    info = (model._meta.app_label, model._meta.model_name)
    response = client_for(owner).get(reverse("admin:{}_{}_changelist".format(*info)))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_history_row_opens_read_only_without_a_delete_button(client_for, admin_user, owner, department):
    from ownership.models import OwnershipEvent
    from ownership.services import customer_claim

    customer_claim(customer=pool_customer(department), user=owner)
    event = OwnershipEvent.objects.first()
    assert event is not None
    response = client_for(admin_user).get(reverse("admin:ownership_ownershipevent_change", args=[event.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="_save"' not in body
    assert reverse("admin:ownership_ownershipevent_delete", args=[event.pk]) not in body
