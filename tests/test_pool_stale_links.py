"""Stale pool links: a notification or a colleague's link to a pool customer that someone has
claimed since answers with a page saying it is no longer in the pool (410), not a bare 404, and
shows nothing of the customer (R6.4: no card, no owner)."""

from datetime import date

import pytest
from django.urls import reverse

from ownership.services import customer_claim
from tests.factories import ContactFactory
from tests.helpers import at, owned_customer, pool_customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def claimed(department, teammate):
    customer = pool_customer(department, name="温州瓯海兴达鞋业有限公司")
    customer.contacts.update(phone="13822223333", phone_digits="13822223333")
    customer_claim(customer=customer, user=teammate, now=at(date(2026, 11, 20)))
    return customer


@pytest.mark.parametrize("url_name", ["ownership:pool_detail", "customers:detail"])
def test_r6_4_a_link_to_a_customer_claimed_since_says_it_left_the_pool(client_for, owner, teammate, claimed, url_name):
    response = client_for(owner).get(reverse(url_name, args=[claimed.pk]))
    page = response.content.decode()
    assert response.status_code == 410
    assert "no longer in the pool" in page and reverse("ownership:pool") in page
    for secret in (claimed.name, str(teammate), "13822223333", claimed.credit_code):
        assert secret not in page, secret


def test_the_claimer_and_the_manager_get_the_customer_page(client_for, teammate, manager, claimed):
    for user in (teammate, manager):
        response = client_for(user).get(reverse("ownership:pool_detail", args=[claimed.pk]))
        assert response.status_code == 302 and response.url == reverse("customers:detail", args=[claimed.pk])


def test_other_customers_stay_a_plain_404(client_for, owner, teammate, outsider, claimed):
    never_pooled = owned_customer(teammate, since=date(2026, 11, 1), name="台州路桥鸿运机电有限公司")
    ContactFactory(customer=never_pooled)
    for url_name in ("ownership:pool_detail", "customers:detail"):
        # Another department's salesperson: the customer was never in its pool.
        assert client_for(outsider).get(reverse(url_name, args=[claimed.pk])).status_code == 404
        # A colleague's customer that was never in the pool: nothing to say about it.
        assert client_for(owner).get(reverse(url_name, args=[never_pooled.pk])).status_code == 404
        assert client_for(owner).get(reverse(url_name, args=[999_999_999])).status_code == 404
