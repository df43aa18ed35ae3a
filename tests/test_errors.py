"""A service's PermissionDenied reaches the user as Django's 403 page with the service's words; no
view converts it by hand. A DomainError stays a rule's refusal that the view shows as a message."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.errors import DomainError, PermissionDenied
from service import services

pytestmark = pytest.mark.django_db


def test_permission_denied_is_not_a_domain_error():
    # Views catch DomainError to show a message; a permission refusal must pass them by.
    assert not issubclass(PermissionDenied, DomainError)
    assert str(PermissionDenied("no")) == "no" == PermissionDenied("no").message


def test_a_services_refusal_is_a_403_page_with_its_words(client_for, owner, manager):
    req = services.request_log(
        user=owner,
        data=services.RequestInput(kind="call", channel="phone", text="询问发票", caller_name="王先生"),
    )
    response = client_for(manager).post(reverse("service:close", args=[req.pk]), {"close-text": "x"})
    assert response.status_code == 403
    with translation.override("zh-hans"):
        words = translation.gettext("Only the responsible person decides how the request ends.")
    assert words in response.content.decode()
