"""R6.1 in the browser: a salesperson takes a complaint about a colleague's customer, finds it in
the request form (search as you type, htmx; a plain reload without JavaScript), logs it and stays
responsible; the owner sees it on the customer's file. In Chinese, at desktop and phone size."""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from crm.dates import local_today
from service.models import ServiceRequest
from tests.factories import ContactFactory
from tests.helpers import owned_customer

from .conftest import login

pytestmark = pytest.mark.browser

PHONE = "13566667777"


def _context_page(browser: Browser, *, width: int, height: int, javascript: bool = True) -> Page:
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": width, "height": height},
        is_mobile=width < 500,
        java_script_enabled=javascript,
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def _no_horizontal_overflow(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_r6_1_log_a_complaint_about_a_colleagues_customer(browser: Browser, live_server, owner, teammate, size):
    customer = owned_customer(owner, since=local_today() - timedelta(days=15), name="绍兴柯桥恒远纺织印染有限公司")
    ContactFactory(customer=customer, name="沈经理", phone=PHONE)
    page = _context_page(browser, width=size[0], height=size[1])
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        login(page, live_server, teammate)
        page.goto(live_server.url + reverse("service:new"))
        # Search as you type: the choices appear without a reload.
        page.locator("#id_q").press_sequentially("恒远纺织", delay=30)
        choice = page.locator("#customer-pick label", has_text="绍兴柯桥恒远纺织印染有限公司")
        expect(choice).to_be_visible()
        expect(choice).to_contain_text("张伟")  # the owner's name, nothing else of the file
        expect(page.locator("#customer-pick")).not_to_contain_text(PHONE)
        expect(page.locator("#customer-pick")).not_to_contain_text("沈经理")
        assert page.url.endswith(reverse("service:new"))  # no reload happened
        assert _no_horizontal_overflow(page)
        choice.locator("input[type=radio]").check()

        page.locator("#id_kind").select_option("complaint")
        page.locator("#id_channel").select_option("phone")
        page.locator("#id_text").fill("投诉：上批布料色差明显，要求退换。")
        with page.expect_navigation():
            page.locator("#log-request").click()

        req = ServiceRequest.objects.get()
        assert (req.customer, req.responsible) == (customer, teammate)
        assert page.url.endswith(reverse("service:detail", args=[req.pk]))
        expect(page.locator("main")).to_contain_text("绍兴柯桥恒远纺织印染有限公司")
        expect(page.locator(f"a[href='{reverse('customers:detail', args=[customer.pk])}']")).to_have_count(0)
        assert _no_horizontal_overflow(page)
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    finally:
        page.context.close()

    # The owner sees the request on the customer's file.
    owner_page = _context_page(browser, width=1280, height=900)
    try:
        login(owner_page, live_server, owner)
        owner_page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
        expect(owner_page.locator(f"a[href='{reverse('service:detail', args=[req.pk])}']")).to_be_visible()
    finally:
        owner_page.context.close()


def test_r6_1_the_search_works_without_javascript(browser: Browser, live_server, owner, teammate):
    customer = owned_customer(owner, since=local_today() - timedelta(days=15), name="嘉兴秀洲宏图包装材料有限公司")
    ContactFactory(customer=customer, phone=PHONE)
    page = _context_page(browser, width=390, height=844, javascript=False)
    try:
        login(page, live_server, teammate)
        page.goto(live_server.url + reverse("service:new"))
        page.locator("#id_q").fill(PHONE)  # the whole number of the caller
        with page.expect_navigation():
            page.locator("form[role=search] button[type=submit]").click()
        choice = page.locator("#customer-pick label", has_text="嘉兴秀洲宏图包装材料有限公司")
        expect(choice).to_be_visible()
        choice.locator("input[type=radio]").check()
        page.locator("#id_kind").select_option("consultation")
        page.locator("#id_channel").select_option("phone")
        page.locator("#id_text").fill("咨询：能否加急发货。")
        with page.expect_navigation():
            page.locator("#log-request").click()
        req = ServiceRequest.objects.get()
        assert (req.customer, req.responsible) == (customer, teammate)
        assert _no_horizontal_overflow(page)
    finally:
        page.context.close()
