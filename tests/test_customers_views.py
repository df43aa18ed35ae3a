"""Customer pages (issue 2): who sees what (R6.4), registration through the browser's forms
(R5.1), and bad input that must never give a 500."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import CreditStatusChange, Customer

from .factories import ContactFactory, make_credit_code
from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(owner):
    c = owned_customer(owner, since=date(2026, 11, 1), name="宁波德润精密机械有限公司")
    ContactFactory(customer=c, phone="13912345678", email="zhao@derun.cn")
    return c


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("teammate", 404), ("outsider", 404), ("manager", 200), ("finance", 200), ("admin_user", 200)],
)
def test_r6_4_my_customer_detail_by_role(request, client_for, mine, who, status):
    user = request.getfixturevalue(who)
    assert client_for(user).get(reverse("customers:detail", args=[mine.pk])).status_code == status


def test_r6_4_other_departments_manager_gets_404(client_for, mine, other_department):
    from accounts import roles

    from .factories import UserFactory

    other = UserFactory(role=roles.MANAGER, department=other_department)
    assert client_for(other).get(reverse("customers:detail", args=[mine.pk])).status_code == 404


def test_r6_4_pool_card_masks_contacts_until_claimed(client_for, teammate, outsider, department):
    c = pool_customer(department)
    contact = c.contacts.get()
    contact.email = "buyer@example.cn"
    contact.save()
    page = client_for(teammate).get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert c.name in page
    assert contact.phone not in page and "buyer@example.cn" not in page
    assert contact.phone[-4:] in page
    assert client_for(outsider).get(reverse("customers:detail", args=[c.pk])).status_code == 404


def test_owner_sees_contacts_in_full(client_for, owner, mine):
    page = client_for(owner).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert "13912345678" in page and "zhao@derun.cn" in page


def test_my_customers_lists_only_mine(client_for, owner, teammate, mine):
    theirs = owned_customer(teammate, since=date(2026, 11, 1), name="厦门蓝海食品有限公司")
    page = client_for(owner).get(reverse("customers:mine")).content.decode()
    assert mine.name in page and theirs.name not in page


def test_my_customers_query_count_does_not_grow_with_rows(client_for, owner):
    client = client_for(owner)
    for _ in range(3):
        owned_customer(owner, since=date(2026, 11, 1))
    client.get(reverse("customers:mine"))  # warm up sessions, settings rows
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("customers:mine")).status_code == 200
    for _ in range(20):
        owned_customer(owner, since=date(2026, 11, 1))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("customers:mine")).status_code == 200
    assert len(many) == len(few)


def test_salesperson_cannot_open_the_department_list(client_for, owner, manager, mine):
    assert client_for(owner).get(reverse("customers:list")).status_code == 403
    assert mine.name in client_for(manager).get(reverse("customers:list")).content.decode()


def test_edit_by_owner_and_refusals(client_for, owner, teammate, mine):
    url = reverse("customers:edit", args=[mine.pk])
    assert client_for(teammate).get(url).status_code == 404
    data = {
        "name": mine.name,
        "credit_code": mine.credit_code,
        "industry": "manufacturing",
        "source": "agency",
        "city": "宁波市",
    }
    response = client_for(owner).post(url, data)
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.source == "agency"
    response = client_for(owner).post(url, {**data, "credit_code": "91350100M000100Y44"})
    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.credit_code != "91350100M000100Y44"


def test_r4_3_credit_status_change_is_kept(client_for, owner, finance, mine):
    url = reverse("ownership:credit_status", args=[mine.pk])
    response = client_for(finance).post(url, {"status": "watch", "note": "逾期30天"})
    assert response.status_code == 302
    change = CreditStatusChange.objects.get(customer=mine)
    assert (change.old_status, change.new_status, change.changed_by) == ("good", "watch", finance)
    response = client_for(finance).post(url, {"status": "watch", "note": "again"})
    assert response.status_code == 200
    assert CreditStatusChange.objects.count() == 1


BAD_QUERIES = [
    "?tier=zzz",
    "?page=abc",
    "?page=99999999999999999999999",
    "?q=%00",
    "?city=%00abc",
    "?owner=99999999999999999999999",
    "?ordering=drop+table",
    "?released_from=2026-13-45&released_to=yesterday",
    "?is_problem=maybe&size=-5",
    "?size=100000000000000000",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("url_name", ["customers:mine", "customers:list", "ownership:pool"])
def test_malformed_query_strings_never_500(client_for, manager, owner, mine, department, query, url_name):
    pool_customer(department)
    user = owner if url_name != "customers:list" else manager
    response = client_for(user).get(reverse(url_name) + query)
    assert response.status_code == 200


def register_post(client, **overrides):
    data = {
        "name": "青岛海纳新能源有限公司",
        "credit_code": make_credit_code(),
        "industry": "energy",
        "province": "山东省",
        "city": "青岛市",
        "source": "association",
        "contact_name": "孙经理",
        "contact_phone": "13611112222",
        **overrides,
    }
    return client.post(reverse("ownership:register"), data)


def test_r5_1_register_page_then_duplicate_refusal(client_for, owner, teammate):
    response = register_post(client_for(teammate))
    assert response.status_code == 302
    customer = Customer.objects.get(name="青岛海纳新能源有限公司")
    assert customer.owner == teammate
    response = register_post(client_for(owner), credit_code=make_credit_code(), contact_phone="13700001111")
    assert response.status_code == 200
    assert "李娜" in response.content.decode()
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"credit_code": "91350100M000100Y44"},
        {"credit_code": "ABC"},
        {"source": "nowhere"},
        {"contact_phone": "", "contact_email": "", "contact_wechat": ""},
        {"contact_phone": "12"},
        {"contact_email": "not-an-email"},
        {"name": "x" * 500},
        {"name": "坏\x00名字"},
    ],
)
def test_register_bad_input_gives_a_message_and_saves_nothing(client_for, owner, overrides):
    response = register_post(client_for(owner), **overrides)
    assert response.status_code == 200
    assert not Customer.objects.exists()


def test_r4_2_contact_needs_a_way_to_reach(client_for, owner, mine):
    url = reverse("customers:contact_add", args=[mine.pk])
    response = client_for(owner).post(url, {"name": "无号码"})
    assert response.status_code == 200
    assert mine.contacts.count() == 1


def test_every_change_is_post_only(client_for, owner, mine):
    contact = mine.contacts.get()
    response = client_for(owner).get(reverse("customers:contact_delete", args=[mine.pk, contact.pk]))
    assert response.status_code == 405
    assert mine.contacts.count() == 1


def test_r1_1_every_customer_has_one_of_the_six_sources(client_for, owner, settings, tmp_path):
    """R1.1: the six sources of the policy, required when registering and when importing a list."""
    from collection import services as collection_services
    from crm.errors import DomainError
    from customers.models import Source

    assert Source.values == ["media", "agency", "association", "partner", "personal", "other"]
    response = register_post(client_for(owner), source="")
    assert response.status_code == 200 and not Customer.objects.exists()
    response = register_post(client_for(owner), source="agency")
    assert response.status_code == 302 and Customer.objects.get().source == Source.AGENCY
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with pytest.raises(DomainError, match="名单来源"):
        collection_services.import_upload(
            user=owner, file_name="list.csv", data="公司名称\n甲公司\n".encode(), source="", language="en"
        )
