"""Issue 2's journey in a real browser: a salesperson registers a customer (R5.1), finds it in
"my customers" with its basis and deadline (R5.2), is refused a duplicate naming the owner or
the pool, and another salesperson cannot open it (R6.4: 404)."""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, Page, expect

from crm.dates import add_months, local_today
from customers.models import Basis, Customer
from customers.services import Duplicate
from tests.factories import make_credit_code
from tests.helpers import pool_customer

from .conftest import login

pytestmark = pytest.mark.browser

# The browser asks for zh-CN, which Django serves as zh-hans; expected texts come from the same
# catalogue the server uses, so the test holds whether or not a string is translated yet.
LANG = "zh-hans"
REGISTER_SUBMIT = "form:has(#id_contact_name) [type=submit]"


def zh(text: str, **values) -> str:
    with translation.override(LANG):
        message = gettext(text)
    return message % values if values else message


def fill_register_form(page: Page, *, name: str, code: str, phone: str) -> None:
    page.fill("#id_name", name)
    page.fill("#id_credit_code", code)
    page.select_option("#id_industry", "energy")
    page.select_option("#id_source", "association")
    page.fill("#id_province", "山东省")
    page.fill("#id_city", "青岛市")
    page.fill("#id_contact_name", "孙经理")
    page.fill("#id_contact_phone", phone)


def test_register_see_in_my_customers_and_duplicates_are_refused(
    page: Page, browser: Browser, live_server, owner, teammate, department
) -> None:
    name = "青岛海纳新能源有限公司"
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("ownership:register"))
    fill_register_form(page, name=name, code=make_credit_code(), phone="13611112222")
    with page.expect_navigation():
        page.click(REGISTER_SUBMIT)

    customer = Customer.objects.get(name=name)
    assert page.url == live_server.url + reverse("customers:detail", args=[customer.pk])
    assert customer.owner == owner

    # My customers: basis first inquiry, owned since today, deadline 2 months on (R5.1, R5.2).
    page.goto(live_server.url + reverse("customers:mine"))
    row = page.locator("tbody tr", has_text=name)
    expect(row).to_have_count(1)
    with translation.override(LANG):
        basis = str(Basis.FIRST_INQUIRY.label)
    today = local_today()
    expect(row).to_contain_text(basis)
    expect(row).to_contain_text(today.isoformat())
    expect(row).to_contain_text(add_months(today, 2).isoformat())

    # The same company again, with another code and phone: refused, naming the owner.
    page.goto(live_server.url + reverse("ownership:register"))
    fill_register_form(page, name=name, code=make_credit_code(), phone="13700001111")
    with page.expect_navigation():
        page.click(REGISTER_SUBMIT)
    alert = page.locator(".alert-danger")
    with translation.override(LANG):
        refusal = Duplicate(customer, "name").message()
    expect(alert).to_contain_text(refusal)
    expect(alert).to_contain_text(str(owner))
    assert Customer.objects.filter(name=name).count() == 1

    # A company in the pool: the refusal says so and links to its pool card.
    in_pool = pool_customer(department, name="苏州嘉禾食品有限公司")
    page.goto(live_server.url + reverse("ownership:register"))
    fill_register_form(page, name=in_pool.name, code=make_credit_code(), phone="13700002222")
    with page.expect_navigation():
        page.click(REGISTER_SUBMIT)
    with translation.override(LANG):
        refusal = Duplicate(in_pool, "name").message()
    expect(alert).to_contain_text(refusal)
    expect(alert.locator("a", has_text=zh("Open it in the pool to claim it"))).to_have_attribute(
        "href", reverse("ownership:pool_detail", args=[in_pool.pk])
    )
    assert Customer.objects.count() == 2

    # Another salesperson opening the first one's customer gets the 404 page.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        other = context.new_page()
        login(other, live_server, teammate)
        response = other.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
        assert response is not None and response.status == 404
        expect(other.locator("h1")).to_have_text(zh("Page not found"))
        expect(other.locator("body")).not_to_contain_text(name)
    finally:
        context.close()
