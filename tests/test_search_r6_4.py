"""R6.4: a customer search matches only on fields the searcher may see.

Finance sees sales and credit, not contacts: it must not find an owned customer by a contact's
phone (which would tell it whose number that is). A pool card masks phones (138****8000): a
salesperson finds a pool customer by the whole number, not by a prefix that would reveal the
hidden digits one at a time. The fix is in `customers.services.customer_search_q`, so every list,
filter and export using it is covered; each is checked here."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.selectors import customers_visible_to
from customers.services import customer_search_q
from ownership.selectors import pool_visible_to
from ownership.services import pool_settings_for
from sales.services import order_create
from tests.factories import ContactFactory
from tests.helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db

OWNED_PHONE = "13912345678"
POOL_PHONE = "13787654321"


@pytest.fixture
def owned(owner):
    customer = owned_customer(owner, since=date(2026, 11, 1), name="常州天宁宏达纺织有限公司")
    ContactFactory(customer=customer, phone=OWNED_PHONE)
    return customer


@pytest.fixture
def pooled(department):
    customer = pool_customer(department, name="无锡滨湖新锐环保科技有限公司")
    customer.contacts.update(phone=POOL_PHONE, phone_digits=POOL_PHONE)
    return customer


def _found(qs, user, query):
    return set(qs.filter(customer_search_q(query, user=user)).values_list("pk", flat=True))


def test_r6_4_finance_does_not_find_an_owned_customer_by_a_contacts_phone(owned, finance):
    visible = customers_visible_to(finance)
    assert _found(visible, finance, OWNED_PHONE) == set()
    assert _found(visible, finance, OWNED_PHONE[:7]) == set()
    # What finance does see still finds it.
    assert _found(visible, finance, "天宁宏达") == {owned.pk}
    assert _found(visible, finance, owned.credit_code[:6]) == {owned.pk}


def test_r6_4_finance_customer_list_and_queue_ignore_contact_phones(client_for, owned, owner, finance):
    page = client_for(finance).get(reverse("customers:list"), {"q": OWNED_PHONE}).content.decode()
    assert owned.name not in page
    assert owned.name in client_for(finance).get(reverse("customers:list"), {"q": "宏达纺织"}).content.decode()

    order_create(
        customer=owned, user=owner, amount=Decimal("5000.00"), deal_date=date(2026, 11, 20), description="棉纱"
    )
    queue = reverse("sales:queue")
    assert owned.name not in client_for(finance).get(queue, {"q": OWNED_PHONE}).content.decode()
    assert owned.name in client_for(finance).get(queue, {"q": "宏达纺织"}).content.decode()


def test_r6_4_who_sees_the_file_finds_by_phone_prefix(client_for, owned, owner, manager, admin_user):
    assert owned.name in client_for(owner).get(reverse("customers:mine"), {"q": OWNED_PHONE[:7]}).content.decode()
    for user in (manager, admin_user):
        page = client_for(user).get(reverse("customers:list"), {"q": OWNED_PHONE[:7]}).content.decode()
        assert owned.name in page, user
    export = client_for(manager).get(reverse("collection:customer_export", args=["csv"]), {"q": OWNED_PHONE[:7]})
    assert owned.name in b"".join(export.streaming_content).decode("utf-8-sig")


def test_r6_4_a_masked_pool_card_is_found_by_the_whole_number_only(client_for, pooled, owner, finance):
    pool = reverse("ownership:pool")
    assert pooled.name not in client_for(owner).get(pool, {"q": POOL_PHONE[:7]}).content.decode()
    assert pooled.name in client_for(owner).get(pool, {"q": POOL_PHONE}).content.decode()
    assert pooled.name in client_for(owner).get(pool, {"q": "137-8765-4321"}).content.decode()
    # Finance sees pool cards masked too.
    page = client_for(finance).get(reverse("customers:list"), {"q": POOL_PHONE[:7]}).content.decode()
    assert pooled.name not in page
    assert pooled.name in client_for(finance).get(reverse("customers:list"), {"q": POOL_PHONE}).content.decode()


def test_r6_4_an_unmasked_pool_is_found_by_phone_prefix(client_for, pooled, owner, department):
    settings = pool_settings_for(department.pk)
    settings.mask_pool_contacts = False
    settings.save()
    assert pooled.name in client_for(owner).get(reverse("ownership:pool"), {"q": POOL_PHONE[:7]}).content.decode()


def test_r6_4_a_teammate_never_finds_anothers_customer_by_phone(owned, teammate):
    assert _found(pool_visible_to(teammate), teammate, OWNED_PHONE) == set()
