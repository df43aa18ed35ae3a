"""R5.1 near duplicates: "深圳市X有限公司" and "深圳X有限公司" are possibly the same company.

Refusing on such a near match would be wrong (two companies may really differ only there), so
registration WARNS, naming what R5.1 says of a duplicate (name, owner or pool; a link only to what
the user may open), and registers after an explicit confirmation; an import shows the near match
in the row's verdict ("possible duplicate of …") and imports the row. The key is an indexed column
(`Customer.name_near_key`), checked with EXPLAIN on PostgreSQL."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.urls import reverse

from collection import services as collection_services
from collection.models import ImportRow, Verdict
from customers.models import Customer
from customers.services import SimilarCustomers, customer_find_similar
from customers.validators import company_near_key
from ownership.models import OwnershipEvent
from ownership.services import customer_register
from service.models import ServiceRequest

from .collection_helpers import csv_bytes
from .factories import ContactFactory, CustomerFactory
from .helpers import owned_customer, pool_customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


# --- The key --------------------------------------------------------------------------------------

SAME_COMPANY = [
    ("深圳市华强电子有限公司", "深圳华强电子有限公司"),
    ("北京市海淀区中关村科技发展有限责任公司", "北京海淀中关村科技发展有限公司"),
    ("广东省深圳市南山区腾飞软件有限公司", "深圳市南山区腾飞软件股份有限公司"),
    ("腾讯科技（深圳市）有限公司", "腾讯科技(深圳)有限公司"),
    ("上海浦东发展银行股份有限公司", "上海浦东发展银行"),
    ("杭州阿里巴巴网络科技有限公司", "杭州市阿里巴巴网络科技公司"),
    ("ABC Trading Co., Ltd.", "ABC Trading Company Limited"),
    ("新疆维吾尔自治区乌鲁木齐市天山区恒信商贸有限公司", "乌鲁木齐市天山区恒信商贸有限公司"),
    ("苏州工业园区恒润精密机械有限公司", "苏州工业园恒润精密机械有限公司"),
    ("宁波市鄞州区东方印刷厂有限公司", "宁波鄞州东方印刷厂有限责任公司"),
]
OTHER_COMPANIES = [
    ("深圳市华强电子有限公司", "上海市华强电子有限公司"),  # another city
    ("深圳市华强电子有限公司", "深圳市华强科技有限公司"),  # another trade
    ("深圳市华强电子有限公司", "深圳市华强电子有限公司东莞分公司"),  # a branch
    ("中国平安（上海）有限公司", "中国平安（北京）有限公司"),  # bracketed places
    ("深圳华强集团有限公司", "深圳华强有限公司"),  # a group and its company
    ("华为技术有限公司", "华为终端有限公司"),
    ("广东美的电器有限公司", "美的电器有限公司"),  # a province alone is part of the name
    ("北京市海淀区中关村科技发展有限公司", "海淀区中关村科技发展有限公司"),
]


@pytest.mark.parametrize(("a", "b"), SAME_COMPANY)
def test_r5_1_near_key_meets_for_the_same_company_written_another_way(a, b):
    assert company_near_key(a) and company_near_key(a) == company_near_key(b)


@pytest.mark.parametrize(("a", "b"), OTHER_COMPANIES)
def test_r5_1_near_key_keeps_other_companies_apart(a, b):
    assert company_near_key(a) != company_near_key(b)


@pytest.mark.parametrize("name", ["有限公司", "公司", "", "   ", "X公司"])
def test_r5_1_near_key_of_almost_nothing_compares_with_nothing(name):
    assert len(company_near_key(name)) != 1  # empty, or at least two characters


def test_r5_1_near_key_is_kept_on_every_save_and_bulk_create(department, owner):
    c = CustomerFactory(department=department, name="深圳市华强电子有限公司")
    assert Customer.objects.get(pk=c.pk).name_near_key == "深圳华强电子"
    c.name = "深圳市华强科技有限公司"
    c.save()
    assert Customer.objects.get(pk=c.pk).name_near_key == "深圳华强科技"
    from customers.services import customers_bulk_create

    [bulk] = customers_bulk_create(
        rows=[{"name": "广州市天河区远航物流有限公司", "source": "other"}],
        department_id=department.pk,
        created_by=owner,
    )
    assert Customer.objects.get(pk=bulk.pk).name_near_key == "广州天河远航物流"


# --- Registration warns, then registers on confirmation -------------------------------------------


@pytest.fixture
def huaqiang(teammate):
    c = owned_customer(teammate, since=date(2026, 11, 1), name="深圳市华强电子有限公司")
    ContactFactory(customer=c, phone="13955556666", email="secret@huaqiang.cn")
    return c


def _data(name="深圳华强电子有限公司"):
    return {"name": name, "source": "other", "industry": "electronics"}


def test_r5_1_near_duplicate_warns_and_registers_nothing_until_confirmed(owner, huaqiang):
    before = (Customer.objects.count(), OwnershipEvent.objects.count())
    with pytest.raises(SimilarCustomers) as caught:
        customer_register(data=_data(), contacts=[{"name": "王工", "phone": "13800001111"}], user=owner)
    assert caught.value.matches == [huaqiang]
    assert "深圳市华强电子有限公司" in caught.value.message and "李娜" in caught.value.message
    assert "13955556666" not in caught.value.message
    assert (Customer.objects.count(), OwnershipEvent.objects.count()) == before

    created = customer_register(
        data=_data(), contacts=[{"name": "王工", "phone": "13800001111"}], user=owner, confirmed_similar=True
    )
    assert created.owner == owner and created.name_near_key == huaqiang.name_near_key


def test_r5_1_an_exact_duplicate_is_still_refused_whatever_is_confirmed(owner, huaqiang):
    from customers.services import DuplicateCustomer

    with pytest.raises(DuplicateCustomer):
        customer_register(data=_data("深圳市华强电子有限公司"), contacts=[], user=owner, confirmed_similar=True)


def test_r5_1_similar_lookup_skips_exact_names_and_the_customer_itself(huaqiang, department):
    pool = pool_customer(department, name="深圳华强电子有限责任公司")
    assert customer_find_similar(name="深圳华强电子有限公司") == [huaqiang, pool]
    assert customer_find_similar(name="深圳市华强电子有限公司") == [pool]  # the exact one is R5.1's refusal
    assert customer_find_similar(name="深圳市华强电子有限公司", exclude_pk=pool.pk) == []


def _register_post(client, **extra):
    data = {
        "name": "深圳华强电子有限公司",
        "source": "other",
        "industry": "electronics",
        "contact_name": "王工",
        "contact_phone": "13800001111",
        **extra,
    }
    return client.post(reverse("ownership:register"), data)


def test_r5_1_register_page_warns_names_only_what_it_may_and_goes_on_when_confirmed(client_for, owner, huaqiang):
    client = client_for(owner)
    response = _register_post(client)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="similar-warning"' in page
    assert "Possibly the same company as" in page and "深圳市华强电子有限公司 (owned by 李娜)" in page
    # Another salesperson's customer: no link to it, nothing of its file.
    assert reverse("customers:detail", args=[huaqiang.pk]) not in page
    for secret in ("13955556666", "secret@huaqiang.cn", huaqiang.credit_code):
        assert secret not in page
    assert 'name="confirm_different"' in page and 'type="checkbox"' in page
    assert not Customer.objects.filter(name="深圳华强电子有限公司").exists()

    # Not ticked: warned again. Ticked: registered.
    key = huaqiang.name_near_key
    assert _register_post(client, similar_key=key).status_code == 200
    response = _register_post(client, similar_key=key, confirm_different="on")
    created = Customer.objects.get(name="深圳华强电子有限公司")
    assert response.status_code == 302 and created.owner == owner


def test_r5_1_a_confirmation_holds_only_for_the_name_warned_about(client_for, owner, huaqiang, department):
    pool_customer(department, name="广州市天河区远航物流有限公司")
    client = client_for(owner)
    response = _register_post(
        client, name="广州天河远航物流有限公司", similar_key=huaqiang.name_near_key, confirm_different="on"
    )
    assert (
        response.status_code == 200
        and "广州市天河区远航物流有限公司 (in the pool of 销售二部)" in response.content.decode()
    )
    assert not Customer.objects.filter(name="广州天河远航物流有限公司").exists()


def test_r5_1_a_near_duplicate_in_its_own_pool_is_linked(client_for, owner, department):
    pooled = pool_customer(department, name="深圳市华强电子有限公司")
    page = _register_post(client_for(owner)).content.decode()
    assert reverse("customers:detail", args=[pooled.pk]) in page


def test_r5_1_registering_from_a_service_request_warns_too(client_for, owner, huaqiang):
    data = {
        "kind": "complaint",
        "channel": "phone",
        "text": "投诉：货物破损",
        "register": "on",
        "reg-name": "深圳华强电子有限公司",
        "reg-source": "other",
        "reg-industry": "electronics",
        "reg-contact_name": "王工",
        "reg-contact_phone": "13800001111",
    }
    client = client_for(owner)
    page = client.post(reverse("service:new"), data).content.decode()
    assert 'id="similar-warning"' in page and "深圳市华强电子有限公司 (owned by 李娜)" in page
    assert ServiceRequest.objects.count() == 0
    response = client.post(
        reverse("service:new"),
        {**data, "reg-similar_key": huaqiang.name_near_key, "reg-confirm_different": "on"},
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().customer.name == "深圳华强电子有限公司"


# --- Imports show the near match and import the row -----------------------------------------------


def test_r5_1_import_verdicts_show_possible_duplicates_and_import_them(owner, huaqiang, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    rows = [
        ["深圳华强电子有限公司"],  # near the teammate's customer
        ["杭州市西湖区云栖软件有限公司"],
        ["杭州西湖云栖软件有限责任公司"],  # near the row before
        ["苏州嘉禾食品有限公司"],  # nothing near
    ]
    batch = collection_services.import_upload(
        user=owner, file_name="名单.csv", data=csv_bytes(rows, header=["公司名称"]), source="association", language="en"
    )
    batch = collection_services.import_check(batch=batch, user=owner, mapping=batch.mapping)
    verdicts = {r.number: r for r in ImportRow.objects.filter(batch=batch)}
    assert [verdicts[n].verdict for n in (2, 3, 4, 5)] == [Verdict.NEW] * 4
    assert verdicts[2].reason.startswith("Possible duplicate of 深圳市华强电子有限公司 (owned by 李娜)")
    assert verdicts[2].duplicate_customer == huaqiang
    assert "row 3 of this file" in verdicts[4].reason
    assert verdicts[3].reason == verdicts[5].reason == ""
    assert "13955556666" not in verdicts[2].reason

    batch = collection_services.import_start(batch=batch, user=owner)
    assert batch.imported_count == 4
    assert Customer.objects.filter(name_near_key=huaqiang.name_near_key).count() == 2


# --- Indexed (PostgreSQL) --------------------------------------------------------------------------


@pytest.mark.postgres
def test_r5_1_near_duplicate_lookup_uses_its_index(huaqiang, department):
    for i in range(200):
        CustomerFactory(department=department, name=f"测试{i:03d}号贸易有限公司")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    qs = Customer.objects.filter(name_near_key=company_near_key("深圳华强电子有限公司")).exclude(
        name_key="深圳华强电子有限公司"
    )
    sql, params = qs.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cust_name_near_key" in plan, plan
    assert list(qs) == [huaqiang]


def test_r5_1_the_migration_fills_the_key_of_existing_customers(department, monkeypatch):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("customers.migrations.0010_customer_name_near_key")
    monkeypatch.setattr(migration, "BATCH", 2)
    customers = [CustomerFactory(department=department, name=f"深圳市{w}电子有限公司") for w in "甲乙丙丁戊"]
    Customer.objects.update(name_near_key="")  # as the rows were before the migration
    migration.fill_near_keys(apps, None)
    assert {c.name_near_key for c in Customer.objects.filter(pk__in=[c.pk for c in customers])} == {
        f"深圳{w}电子" for w in "甲乙丙丁戊"
    }
